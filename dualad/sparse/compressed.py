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

from ..core.seed import plain, push
from . import coloring, detect
from .hessian import HessianPlan, plain_point

__all__ = ["jacobian_sparsity", "hessian_sparsity", "SparseJacobian", "SparseHessian"]


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
    return coloring.Pattern(*detect.jacobian_pattern(f, plain_point(x), mode)).to_scipy()


def hessian_sparsity(f: Callable[[Any], Any], x: Any, mode: str = "global") -> Any:
    """The sparsity pattern of the Hessian of the scalar ``f`` at ``x`` (inputs flattened),
    a symmetric boolean ``scipy.sparse.csr_array``.

    >>> import numpy as np
    >>> hessian_sparsity(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3)).toarray().tolist()
    [[False, True, False], [True, False, True], [False, True, False]]
    """
    return coloring.Pattern(*detect.hessian_pattern(f, plain_point(x), mode)).to_scipy()


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
        x = plain_point(x)
        self.f, self.shape = f, x.shape
        if pattern is None:
            self._pattern = coloring.Pattern(*detect.jacobian_pattern(f, x, mode))
        else:
            p = coloring.as_pattern(pattern)
            self._pattern = _pattern(p, (p.shape[0], x.size), "Jacobian")
        self.colors = coloring.column_coloring(self._pattern, order)
        self.n_colors = int(self.colors.max()) + 1 if self.colors.size else 0
        seed = coloring.seed_matrix(self.colors, x.size).astype(x.dtype)
        # a given pattern, or a local one used at another point, may lack a nonzero: one
        # more direction, a fixed random probe r, must see J r equal to the recovered matrix
        # times r (a missing entry sharing its color with one in the pattern would otherwise
        # be added to it unseen)
        self._probe = (np.random.default_rng(0x5EED).uniform(0.5, 1.5, x.size).astype(x.dtype)
                       if pattern is not None or mode == "local" else None)
        if self._probe is not None:
            seed = np.concatenate([seed, self._probe[:, None]], axis=1)
        self._seed = seed.reshape(x.shape + (seed.shape[1],))
        self._recovery = coloring.column_recovery(self._pattern, self.colors)
        # (row, color) pairs that hold no pattern entry: their compressed value must be 0
        m = self._pattern.shape[0]
        used = np.zeros((m, self.n_colors), dtype=bool)
        used[self._pattern.rows(), self.colors[self._pattern.indices]] = True
        self._empty = ~used

    @property
    def pattern(self) -> Any:
        """The sparsity pattern used, a boolean ``scipy.sparse.csr_array``."""
        return self._pattern.to_scipy()

    def __call__(self, x: Any) -> Any:
        return self.value_and_jacobian(x)[1]

    def value_and_jacobian(self, x: Any) -> tuple:
        """``(f(x), Jacobian)``; the Jacobian a ``scipy.sparse.csr_array``."""
        x = plain_point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseJacobian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        m, n = self._pattern.shape
        if self._seed.shape[-1] == 0:  # no input reaches an output (a detected pattern)
            return plain(self.f(x)), _csr(np.zeros(0, dtype=x.dtype), self._pattern)
        value, partials = push(self.f, [x], [self._seed])
        value = plain(value)
        if np.size(value) != m:
            raise ValueError(f"dualad: f returned {np.size(value)} values at this x; the "
                             f"pattern has {m} rows")
        compressed = np.reshape(plain(partials), (m, self._seed.shape[-1]))
        outside = self._empty & (compressed[:, :self.n_colors] != 0)
        if np.any(outside):
            i, k = np.argwhere(outside)[0]
            _missing(f"row {i}, an input of color {k}")
        data = compressed[:, :self.n_colors].ravel().take(self._recovery)
        if self._probe is not None:
            self._check_probe(data, self._probe, compressed[:, -1])
        return value, _csr(data, self._pattern)

    def _check_probe(self, data: np.ndarray, r: np.ndarray, probe: np.ndarray) -> None:
        rows, m = self._pattern.rows(), self._pattern.shape[0]
        terms = data * r[self._pattern.indices]
        recovered = np.bincount(rows, terms, minlength=m)
        # rounding of two sums of the same terms in other orders
        scale = np.bincount(rows, np.abs(terms), minlength=m) + np.abs(probe)
        count = np.bincount(rows, minlength=m) + 2
        tol = 4.0 * np.finfo(probe.dtype).eps * count * scale
        with np.errstate(invalid="ignore"):
            bad = (np.abs(recovered - probe) > tol) | (np.isfinite(recovered)
                                                       != np.isfinite(probe))
        if np.any(bad):
            _missing(f"row {int(np.argmax(bad))}")


def _missing(where: str) -> None:
    raise ValueError(f"dualad: the Jacobian has a nonzero outside the pattern ({where}): a "
                     "given pattern must contain every nonzero, and a local one holds only "
                     "where f takes the same branches; detect a global one with "
                     "jacobian_sparsity(f, x)")


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
        x = plain_point(x)
        self.f, self.shape = f, x.shape
        if pattern is not None:
            pattern = _pattern(pattern, (x.size, x.size), "Hessian")
        self._plan = HessianPlan(f, x, pattern, mode=mode, order=order)
        self.colors, self.n_colors = self._plan.colors, self._plan.n_colors

    @property
    def pattern(self) -> Any:
        """The sparsity pattern used, a symmetric boolean ``scipy.sparse.csr_array``."""
        return self._plan.pattern.to_scipy()

    def __call__(self, x: Any) -> Any:
        return self.value_grad_hessian(x)[2]

    def value_grad_hessian(self, x: Any) -> tuple:
        """``(f(x), gradient, Hessian)``; the Hessian a ``scipy.sparse.csr_array``."""
        x = plain_point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseHessian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        value, grad, data = self._plan(x)
        return value, grad, _csr(data, self._plan.pattern)


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
