"""Builds lloyd's Python package: the extension lloyd._core over the headers in
../include (the repository's), with Debian's pybind11, NumPy and setuptools; offline:

    python3 -m venv --system-site-packages venv && . venv/bin/activate
    pip install --no-build-isolation ./python

The extension is compiled for this machine's instruction set (-march=native), as the
C++ benchmarks are; set LLOYD_PORTABLE=1 to build for the compiler's default target
(for a package copied to other machines).
"""
import os

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "..", "include")
if not os.path.isdir(os.path.join(INCLUDE, "lloyd")):
    raise RuntimeError(f"lloyd's headers not found at {INCLUDE}: build from the repository's python/ directory")

flags = ["-O3", "-DNDEBUG"]
if os.environ.get("LLOYD_PORTABLE", "0") in ("", "0"):
    flags.append("-march=native")

setup(
    ext_modules=[
        Pybind11Extension(
            "lloyd._core",
            [os.path.join("src", "_core.cpp")],
            include_dirs=[INCLUDE],
            cxx_std=17,
            extra_compile_args=flags,
            extra_link_args=["-pthread"],
        )
    ],
    cmdclass={"build_ext": build_ext},
)
