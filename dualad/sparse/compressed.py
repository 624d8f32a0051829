"""Sparse Jacobians and Hessians: patterns, colorings and compressed forward passes.

A Jacobian with a column coloring of ``c`` colors costs one forward pass with ``c``
directions (the seed ``S``: column ``k`` is the sum of the unit vectors of the inputs of color
``k``) instead of ``n``: no two inputs of one color meet in an output, so every entry of
``J S`` is one entry of ``J`` (plus exact zeros), read back by ``coloring.column_recovery``.
A prepared object (``SparseJacobian``, ``SparseHessian``) keeps the pattern, coloring and seed
for calls at new points.

>>> import numpy as np
>>> J = SparseJacobian(lambda x: x[1:] * x[:-1], np.ones(5))
>>> J.colors.max() + 1, J(np.arange(5.0)).toarray().tolist()[0]
(np.int64(2), [1.0, 0.0, 0.0, 0.0, 0.0])
"""
from typing import Any, Callable, Optional

import numpy as np

from ..core.dual import DualNumber
from ..core.seed import plain, push
from ..errors import foreign
from . import coloring, detect
from .hessian import HessianPlan

__all__ = ["jacobian_sparsity", "hessian_sparsity", "SparseJacobian", "SparseHessian"]


def _point(x: Any) -> np.ndarray:
    err = foreign(x, "x")
    if err is not None:
        raise err
    if isinstance(x, DualNumber):
        raise TypeError("dualad: sparse Jacobians and Hessians take a plain point x (not a "
                        "DualNumber: nested differentiation is not supported here)")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"dualad: x must be a real number or array, got {arr.dtype}")
    return arr.astype(np.result_type(arr, np.float32), copy=False)


def _pattern(pattern: Any, shape: tuple, what: str) -> coloring.Pattern:
    """A user's pattern (scipy sparse, dense boolean, Pattern), checked against the shape."""
    p = coloring.as_pattern(pattern)
    if tuple(p.shape) != tuple(shape):
        raise ValueError(f"dualad: the {what} pattern has shape {tuple(p.shape)}, the "
                         f"{what} has shape {tuple(shape)}")
    return p


def _csr(data: np.ndarray, p: coloring.Pattern) -> Any:
    import scipy.sparse  # (optional dependency: only here)
    return scipy.sparse.csr_array((data, p.indices.copy(), p.indptr.copy()), shape=p.shape)


def jacobian_sparsity(f: Callable[[Any], Any], x: Any, mode: str = "global") -> Any:
    """The sparsity pattern of the Jacobian of ``f`` at ``x`` (outputs and inputs
    flattened), as a boolean ``scipy.sparse.csr_array``.

    ``mode="global"``: valid at every x (``f`` may not branch on values); ``"local"``: at
    this x.

    >>> import numpy as np
    >>> jacobian_sparsity(lambda x: x[1:] - x[:-1], np.ones(3)).toarray().tolist()
    [[True, True, False], [False, True, True]]
    """
    return coloring.Pattern(*detect.jacobian_pattern(f, _point(x), mode)).to_scipy()


def hessian_sparsity(f: Callable[[Any], Any], x: Any, mode: str = "global") -> Any:
    """The sparsity pattern of the Hessian of the scalar ``f`` at ``x`` (inputs flattened),
    a symmetric boolean ``scipy.sparse.csr_array``.

    >>> import numpy as np
    >>> hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3)).toarray().tolist()
    [[False, True, False], [True, False, True], [False, True, False]]
    """
    return coloring.Pattern(*detect.hessian_pattern(f, _point(x), mode)).to_scipy()


class SparseJacobian:
    """The Jacobian of ``f`` as a ``scipy.sparse.csr_array``, callable at new points: the
    pattern (detected at ``x``, or given), its column coloring and the seed are kept.

    ``pattern`` must contain every nonzero of the Jacobian at every point it is called at (a
    detected global pattern does); where the compressed pass shows a nonzero outside it, the
    call raises instead of returning a wrong matrix. ``order`` is the coloring's vertex
    order ("smallest_last", "largest_first", "natural", "incidence_degree").

    >>> import numpy as np
    >>> J = SparseJacobian(lambda x: np.sin(x[1:]) * x[:-1], np.ones(1000))
    >>> J.n_colors, J(np.zeros(1000)).nnz
    (2, 1998)
    """

    def __init__(self, f: Callable[[Any], Any], x: Any, pattern: Any = None, *,
                 mode: str = "global", order: Any = "smallest_last") -> None:
        x = _point(x)
        self.f, self.shape = f, x.shape
        if pattern is None:
            self.pattern = coloring.Pattern(*detect.jacobian_pattern(f, x, mode))
        else:
            p = coloring.as_pattern(pattern)
            self.pattern = _pattern(p, (p.shape[0], x.size), "Jacobian")
        self.colors = coloring.column_coloring(self.pattern, order)
        self.n_colors = int(self.colors.max()) + 1 if self.colors.size else 0
        seed = coloring.seed_matrix(self.colors, x.size).astype(x.dtype)
        self._seed = seed.reshape(x.shape + (self.n_colors,))
        self._recovery = coloring.column_recovery(self.pattern, self.colors)
        # (row, color) pairs that hold no pattern entry: their compressed value must be 0
        m = self.pattern.shape[0]
        used = np.zeros((m, self.n_colors), dtype=bool)
        used[self.pattern.rows(), self.colors[self.pattern.indices]] = True
        self._empty = ~used

    def __call__(self, x: Any) -> Any:
        value, compressed = self.value_and_jacobian(x)
        return compressed

    def value_and_jacobian(self, x: Any) -> tuple:
        """``(f(x), Jacobian)``; the Jacobian a ``scipy.sparse.csr_array``."""
        x = _point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseJacobian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        m, n = self.pattern.shape
        if self.n_colors == 0:  # no input reaches an output
            value = plain(self.f(x))
            return value, _csr(np.zeros(0, dtype=x.dtype), self.pattern)
        value, partials = push(self.f, [x], [self._seed])
        value = plain(value)
        if np.size(value) != m:
            raise ValueError(f"dualad: f returned {np.size(value)} values at this x; the "
                             f"pattern has {m} rows")
        compressed = np.reshape(plain(partials), (m, self.n_colors))
        outside = self._empty & (compressed != 0)
        if np.any(outside):
            i, k = np.argwhere(outside)[0]
            raise ValueError(f"dualad: the Jacobian has a nonzero outside the given pattern "
                             f"(row {i}, an input of color {k}); the pattern must contain "
                             "every nonzero: detect it with jacobian_sparsity(f, x)")
        return value, _csr(compressed.ravel().take(self._recovery), self.pattern)


class SparseHessian:
    """The Hessian of the scalar ``f`` as a ``scipy.sparse.csr_array``, callable at new
    points; the pattern (detected at ``x``, or given), the coloring and the seed are kept.

    For sums of element functions (``np.sum``, ``mean``, dot products and functions of them)
    one HyperDual pass with as many directions as colors gives the Hessian exactly (the
    scheme: docs/dev/sparse.md); other functions take a dense route, exact and slower.

    >>> import numpy as np
    >>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    >>> H = SparseHessian(rosen, np.ones(1000))
    >>> H.n_colors, H(np.ones(1000)).nnz
    (2, 2998)
    """

    def __init__(self, f: Callable[[Any], Any], x: Any, pattern: Any = None, *,
                 mode: str = "global", order: Any = "smallest_last") -> None:
        x = _point(x)
        self.f, self.shape = f, x.shape
        if pattern is not None:
            pattern = _pattern(pattern, (x.size, x.size), "Hessian")
        self._plan = HessianPlan(f, x, pattern, mode=mode, order=order)
        self.pattern, self.colors = self._plan.pattern, self._plan.colors
        self.n_colors = self._plan.n_colors

    def __call__(self, x: Any) -> Any:
        return self.value_grad_hessian(x)[2]

    def value_grad_hessian(self, x: Any) -> tuple:
        """``(f(x), gradient, Hessian)``; the Hessian a ``scipy.sparse.csr_array``."""
        x = _point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseHessian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        value, grad, data = self._plan(x)
        return value, grad, _csr(data, self.pattern)


def sparse_jacobian(f: Callable[[Any], Any], x: Any, sparse: Any) -> Any:
    """``jacobian(f, x, sparse=True | pattern)``."""
    return SparseJacobian(f, x, None if sparse is True else sparse)(x)


def sparse_hessian(f: Callable[[Any], Any], x: Any, sparse: Any) -> Any:
    """``hessian(f, x, sparse=True | pattern)``."""
    return SparseHessian(f, x, None if sparse is True else sparse)(x)


def wanted(sparse: Optional[Any]) -> bool:
    """Whether a helper's ``sparse=`` argument asks for the sparse route."""
    if sparse is None or sparse is False:
        return False
    return True
