"""Sparsity detection: the patterns of Jacobians and Hessians from one run of ``f`` on a
sparsity tracer (``tracer.py``; the rules of numpy's functions are in ``functions.py``).

``jacobian_pattern(f, x)`` and ``hessian_pattern(f, x)`` return CSR index arrays
``(indptr, indices, shape)``, inputs and outputs flattened. ``mode="global"`` (default) gives
a pattern valid for every x: ``f`` may not branch on values (a comparison, ``bool()`` or
``if`` on a traced value raises a ValueError that says so); ``mode="local"`` gives the pattern
at this x, following the branches ``f`` takes there. A function without a rule raises a
TypeError naming it: a pattern never misses a nonzero silently.

>>> import numpy as np
>>> indptr, indices, shape = jacobian_pattern(lambda x: x[1:] * x[:-1], np.ones(3))
>>> indptr.tolist(), indices.tolist(), shape
([0, 2, 4], [0, 1, 1, 2], (2, 3))
>>> indptr, indices, shape = hessian_pattern(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3))
>>> indptr.tolist(), indices.tolist()
([0, 1, 3, 4], [1, 0, 2, 1])
"""
import numbers
from typing import Any, Callable, Tuple

import numpy as np

from ..core.functions import nested_items
from ..errors import foreign
from . import functions  # noqa: F401  (registers the rules of numpy's functions)
from . import sets
from .tracer import MODES, Tracer, _make, _materialize, _Run


def _seed(x: Any, mode: str, second: bool) -> Tracer:
    if mode not in MODES:
        raise ValueError(f"dualad: mode must be 'global' or 'local', got {mode!r}")
    if isinstance(x, Tracer):
        raise ValueError("dualad: nested sparsity detection is not supported")
    err = foreign(x, "x")
    if err is not None:
        raise err
    try:
        arr = np.asarray(x)
    except TypeError as exc:
        raise TypeError(f"dualad: x must be a number or an array, got {type(x).__name__}") \
            from exc
    if arr.dtype.kind in "biu":
        arr = arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"dualad: x must be real numbers, got dtype {arr.dtype}")
    n = arr.size
    run = _Run(n, mode == "local", second, arr.dtype)
    return _make(run, arr.shape, sets.singletons(n), sets.empty(n) if second else None,
                 arr.copy() if run.local else None)


def _output(y: Any, run: _Run) -> Any:
    """f's result as a traced array, or None for a constant (with its size)."""
    if isinstance(y, (list, tuple)) and any(isinstance(e, Tracer) for e in nested_items(y)):
        y = np.stack([_output_leaf(e) for e in y])
    if isinstance(y, Tracer):
        if y._run is not run:
            raise ValueError("dualad: f returned a traced array of another detection")
        return y
    if isinstance(y, bool) or not isinstance(y, (numbers.Real, np.ndarray, np.generic,
                                                 list, tuple)):
        raise TypeError(f"dualad: the function must return a real number, an array or a "
                        f"traced array; it returned {type(y).__name__}")
    arr = np.asarray(y)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"dualad: the function must return real numbers, got dtype {arr.dtype}")
    return arr


def _output_leaf(e: Any) -> Any:
    if isinstance(e, (list, tuple)):
        return np.stack([_output_leaf(v) for v in e])
    return e


def jacobian_pattern(f: Callable[[Any], Any], x: Any,
                     mode: str = "global") -> Tuple[np.ndarray, np.ndarray, Tuple[int, int]]:
    """The sparsity pattern of the Jacobian of ``f`` at ``x`` (inputs and outputs flattened):
    ``(indptr, indices, (m, n))``, CSR index arrays with sorted column indices.

    ``mode="global"``: valid for every x (branching on values raises); ``"local"``: at this
    x, comparisons and selections use the values.

    >>> indptr, indices, shape = jacobian_pattern(lambda x: np.cumsum(x), [1.0, 2.0, 3.0])
    >>> indices.tolist(), shape
    ([0, 0, 1, 0, 1, 2], (3, 3))
    """
    t = _seed(x, mode, second=False)
    y = _output(f(t), t._run)
    n = t._run.n
    if not isinstance(y, Tracer):
        return np.zeros(y.size + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), (y.size, n)
    g, _ = _materialize(y)
    return g.ptr, g.idx, (y.size, n)


def hessian_pattern(f: Callable[[Any], Any], x: Any,
                    mode: str = "global") -> Tuple[np.ndarray, np.ndarray, Tuple[int, int]]:
    """The sparsity pattern of the Hessian of the scalar ``f`` at ``x`` (inputs flattened):
    ``(indptr, indices, (n, n))``, symmetric (both triangles), CSR with sorted indices.

    >>> indptr, indices, shape = hessian_pattern(lambda x: x[0] * x[1] + np.sin(x[2]),
    ...                                          [1.0, 2.0, 3.0])
    >>> indptr.tolist(), indices.tolist()
    ([0, 1, 2, 3], [1, 0, 2])
    """
    t = _seed(x, mode, second=True)
    run = t._run
    y = _output(f(t), run)
    n = run.n
    if np.ndim(y) != 0:
        raise ValueError(f"dualad: hessian_pattern needs a scalar-valued function; f returned "
                         f"shape {np.shape(y)}")
    if not isinstance(y, Tracer):
        return np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64), (n, n)
    _, h = _materialize(y)
    keys = h.idx  # type: ignore[union-attr]
    i, j = keys // n, keys % n
    off = i != j
    pattern = sets.build((np.concatenate([i, j[off]]), np.concatenate([j, i[off]])), n, n)
    return pattern.ptr, pattern.idx, (n, n)
