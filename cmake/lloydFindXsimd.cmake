# Finds xsimd for lloyd (used by lloyd's own build and by the installed lloydConfig.cmake).
#
# Debian's xsimd 8.1 package exports INTERFACE_LINK_LIBRARIES "xtl" without finding xtl,
# so linking the xsimd target adds a bare -lxtl that fails to link. xsimd's headers do
# not need xtl (it only adds optional xtensor interop), so when no xtl target exists the
# dangling entry is dropped.
if(NOT TARGET xsimd)
  find_package(xsimd ${LLOYD_XSIMD_FIND_ARGS})
endif()
if(TARGET xsimd AND NOT TARGET xtl)
  find_package(xtl QUIET CONFIG)
  if(NOT TARGET xtl)
    get_target_property(_lloyd_xsimd_libs xsimd INTERFACE_LINK_LIBRARIES)
    if(_lloyd_xsimd_libs)
      list(REMOVE_ITEM _lloyd_xsimd_libs xtl)
      set_target_properties(xsimd PROPERTIES INTERFACE_LINK_LIBRARIES "${_lloyd_xsimd_libs}")
    endif()
    unset(_lloyd_xsimd_libs)
  endif()
endif()
