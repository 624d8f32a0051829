"""Build the optional C fast path of dualad's scalar duals (metadata is in pyproject.toml).

Without a C compiler the extension is skipped and dualad runs its pure-Python operators.
"""
import sys

from setuptools import Extension, setup

# no FMA contraction: the C operators must round exactly as Python's float arithmetic does
FLAGS = [] if sys.platform == "win32" else ["-ffp-contract=off"]

setup(ext_modules=[Extension("dualad.scalar._cscalar", ["dualad/scalar/_cscalar.c"], optional=True,
                             extra_compile_args=FLAGS)])
