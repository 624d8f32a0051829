"""numba fast paths, loaded by the first operation large enough to use them.

Importing this package imports no numba: ``install()`` fills the core's hook slots
(``core/hooks.py``) with thin stand-ins. The core calls a slot only on large data (its size
checks come first; HyperDual's packed kernels likewise), so the first large operation is what
imports the numba routes (``chains``, ``fused``, ``kernels``: the documented lazy load of
``load()``) and puts them in the slots. Small problems never load numba.

Nothing below it imports it: only ``dualad/__init__`` does. Without it every route runs on
numpy and gives the same numbers (see ``core/hooks.py`` for the one documented exception).
"""
import os
import threading
from typing import Any

import numpy as np

from .. import _compile, config
from ..core import hooks

__all__ = ["install", "load", "loaded", "uninstall"]

_ROUTES: Any = None  # (chains, fused, kernels) once loaded
_installed = False
_LOCK = threading.RLock()


def _renew_lock() -> None:  # a forked child: another thread of the parent may have held it
    global _LOCK
    _LOCK = threading.RLock()


os.register_at_fork(after_in_child=_renew_lock)


def load() -> Any:
    """Import the numba routes (once) and, if installed, put them in the hook slots; returns
    the modules ``(chains, fused, kernels)``. The first large operation calls it; a program
    may call it early to move that cost."""
    global _ROUTES
    if _ROUTES is None:
        with _LOCK:
            if _ROUTES is None:
                _compile.numba_module()  # numba's typing learns dualad's stand-ins first
                from . import chains, fused, kernels  # the documented lazy load (numba)
                _reuse_large_blocks()
                _ROUTES = (chains, fused, kernels)
                if _installed:
                    _fill()
    return _ROUTES


def _reuse_large_blocks() -> None:
    # glibc's malloc maps every block above a threshold afresh, and a program working on large
    # arrays then page-faults its temporaries in on every call (at 10^6 elements, twice the
    # time of a jvp), until a large block is freed: that raises the threshold. numba's compiler
    # did so as a side effect; a process that loads every kernel from the disk cache compiles
    # nothing, so free one untouched block just below glibc's largest threshold (32 MiB) here.
    # (Elsewhere this costs a few microseconds and changes nothing.)
    np.empty((32 << 20) - (64 << 10), dtype=np.uint8)


def loaded() -> bool:
    """Whether the numba routes have been imported."""
    return _ROUTES is not None


def _fill() -> None:
    chains, fused, kernels = _ROUTES
    hooks.defer = chains.defer
    hooks.fused = fused.apply
    hooks.value = fused.value
    hooks.chain_kernels = kernels
    hooks.hyper_kernels = kernels
    hooks.before_write = chains.before_write


# --- the stand-ins: each loads the routes and hands its call over ---------------------------
def _defer(*args: Any) -> Any:
    return load()[0].defer(*args)


def _fused(*args: Any) -> Any:
    return load()[1].apply(*args)


def _value(*args: Any) -> Any:
    return load()[1].value(*args)


def _before_write(arr: Any) -> None:
    if _ROUTES is not None:  # (before the routes load, no partials can be pending)
        _ROUTES[0].before_write(arr)


def _compile_program(*args: Any, **kwargs: Any) -> Any:
    # ad.jit's compiler (numba), loaded by the first program replayed often enough
    from . import program  # the documented lazy load (numba)
    return program.compile_program(*args, **kwargs)


class _Kernels:
    """Stands for ``accel.kernels`` in ``chain_kernels`` and ``hyper_kernels``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(load()[2], name)


def install() -> None:
    """Fill the core's hook slots with the numba routes (stand-ins until they load)."""
    global _installed
    _installed = True
    hooks.compile_program = _compile_program
    if _ROUTES is not None:
        _fill()
        return
    hooks.defer, hooks.fused, hooks.value = _defer, _fused, _value
    hooks.chain_kernels = hooks.hyper_kernels = _Kernels()
    hooks.before_write = _before_write


def uninstall() -> None:
    """Empty the hook slots: everything runs on numpy (for tests and comparisons)."""
    global _installed
    _installed = False
    hooks.defer = hooks.fused = hooks.value = hooks.chain_kernels = None
    hooks.hyper_kernels = hooks.before_write = hooks.compile_program = None


def _nothing_yet(ufunc: Any = None) -> None:
    """The accel caches before the routes load: nothing to clear (they replace it)."""


for _name in ("accel.fused", "accel.chains"):
    config.register_cache(_name, _nothing_yet, _nothing_yet)

install()
