"""dualad's tunables and caches, in one place.

Every tunable is a module attribute read when it is used, so changing it takes effect at
once (``dualad.config.CHUNK_BUDGET_BYTES = 64 * 2**20``). None of them changes a result: they
choose between routes that give the same numbers (kernel or numpy, chunk sizes, ...).

Caches (compiled kernels, calibrations, traced programs, shared identities) register here
when their module loads; ``clear_caches()`` empties all of them, ``forget(ufunc)`` drops what
was derived from one rule (``unregister`` calls it).

>>> import dualad
>>> dualad.config.clear_caches()
>>> sorted(dualad.config.caches())[:2]
['accel.chains', 'accel.fused']
"""
import os
from typing import Any, Callable, Dict, Optional, Tuple

# --- helpers ------------------------------------------------------------------------------
#: memory budget (bytes) for the partials of one Jacobian or Hessian chunk, times a factor
#: for temporaries; ``chunk_size=None`` is chosen from it
CHUNK_BUDGET_BYTES = 256 * 2**20
#: with an executor (``executor=``), ``chunk_size=None`` splits the directions into about
#: this many tasks (into more where the memory budget asks for smaller chunks)
EXECUTOR_TASKS = 16

# --- numba fast paths (dualad.accel) --------------------------------------------------------
#: fewest partials entries for which the chain-rule kernels replace numpy's passes
CHAIN_KERNEL_MIN_SIZE = 1 << 14
#: fewest elements for which a rule's fused kernel (value, derivative, chain rule) is used
FUSED_MIN_SIZE = 4096
#: elements (one direction) on which a fused kernel is timed once against the numpy path
FUSED_PAY_SIZE = 1 << 15
#: fewest elements for which an elementwise rule's partials are deferred into a chain
DEFER_MIN_SIZE = 4096
#: deferred (chained) partials need at least this many elements times directions
DEFER_MIN_WORK = 1 << 16
#: at most this many rules in one deferred chain
DEFER_MAX_NODES = 32
#: at most this many chain passes are compiled per process: numba keeps each one's machine
#: code (3-5 MiB) until the process ends, whatever is cleared; later chains run rule by rule
#: (the same bits)
DEFER_MAX_KERNELS = 64

# --- HyperDual ------------------------------------------------------------------------------
#: a seed's identity gradient part is shared (and recognised) up to this many directions
HYPERDUAL_IDENTITY_MAX_N = 512
#: Hessians of at least this many directions keep products as terms (low-rank pieces)
HYPERDUAL_TERMS_MIN_N = 16
#: ... as long as the packed Hessian part has at most this many entries per element
HYPERDUAL_TERMS_MAX_PACKED = 4096
#: ... and at most this many terms
HYPERDUAL_MAX_TERMS = 12

# --- einsum ---------------------------------------------------------------------------------
#: up to this many multiply-adds, a two-operand contraction of duals that is not one matrix
#: product runs numpy's C einsum loop instead of einsum's path search
SMALL_EINSUM = 100_000

# --- scalar duals ---------------------------------------------------------------------------
#: DUALAD_PURE_PYTHON=1 in the environment runs scalar duals without their C operators
#: (read once, when dualad is imported)
PURE_PYTHON = os.environ.get("DUALAD_PURE_PYTHON", "") not in ("", "0")

# --- the cache registry ---------------------------------------------------------------------
_CACHES: Dict[str, Tuple[Callable[[], None], Optional[Callable[[Any], None]]]] = {}


def register_cache(name: str, clear: Callable[[], None],
                   forget: Optional[Callable[[Any], None]] = None) -> None:
    """Register a cache: ``clear()`` empties it; ``forget(ufunc)``, if given, drops what it
    holds for one rule."""
    _CACHES[name] = (clear, forget)


def caches() -> Tuple[str, ...]:
    """The names of the registered caches."""
    return tuple(_CACHES)


def clear_caches(*names: str) -> None:
    """Empty every cache dualad keeps, or the ones ``names`` (see ``caches()``); kernels
    compile again when next needed."""
    unknown = set(names) - set(_CACHES)
    if unknown:
        raise ValueError(f"dualad: no cache named {sorted(unknown)}; caches are {caches()}")
    for name, (clear, _) in list(_CACHES.items()):
        if not names or name in names:
            clear()


def forget(ufunc: Any) -> None:
    """Drop what the caches derived from ``ufunc``'s rule (it was replaced or removed)."""
    for _, drop in list(_CACHES.values()):
        if drop is not None:
            drop(ufunc)
