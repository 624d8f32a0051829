"""numba fast paths. Importing this package fills the core's hook slots (``core/hooks.py``).

Nothing below it imports it: only ``dualad/__init__`` does. Without it every route runs on
numpy and gives the same numbers (see ``core/hooks.py`` for the one documented exception).
"""
from ..core import hooks
from . import chains, fused, kernels, vmath

__all__ = ["chains", "fused", "kernels", "vmath", "install"]


def install() -> None:
    """Fill the core's hook slots with the numba routes."""
    hooks.defer = chains.defer
    hooks.fused = fused.apply
    hooks.value = fused.value
    hooks.chain_kernels = kernels
    hooks.hyper_kernels = kernels
    hooks.before_write = chains.before_write


def uninstall() -> None:
    """Empty the hook slots: everything runs on numpy (for tests and comparisons)."""
    hooks.defer = hooks.fused = hooks.value = hooks.chain_kernels = None
    hooks.hyper_kernels = hooks.before_write = None


install()
