# The README's "From Python" install, as a user runs it: a virtual environment over
# Debian's packages (--system-site-packages), `pip install --no-build-isolation` of the
# package, offline; then the README's Python example with that environment's python.
# Works on a copy of python/ and include/ under WORK, so the source tree stays clean.
#   cmake -DPYTHON=... -DSOURCE=<repository> -DWORK=<scratch dir> -P pip_install.cmake
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/src")
file(COPY "${SOURCE}/include" DESTINATION "${WORK}/src")
file(COPY "${SOURCE}/python" DESTINATION "${WORK}/src" PATTERN "__pycache__" EXCLUDE PATTERN "build" EXCLUDE)

file(READ "${SOURCE}/README.md" _readme)
if(NOT _readme MATCHES "```python\n([^`]*)```")
  message(FATAL_ERROR "README.md: no ```python block (the example of 'From Python')")
endif()
file(WRITE "${WORK}/readme_example.py" "${CMAKE_MATCH_1}")

function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${PYTHON} -m venv --system-site-packages "${WORK}/venv")
run("${WORK}/venv/bin/python" -m pip install --no-build-isolation --no-index --no-deps -q "${WORK}/src/python")
run("${WORK}/venv/bin/python" "${WORK}/readme_example.py")
