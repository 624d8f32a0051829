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
import copy
from typing import Any, Callable, Dict, Optional

import numpy as np

from ..core.seed import plain, push
from ..distributed import tasks
from ..errors import whole
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
    """A new ``csr_array`` of ``data`` on ``p``, with its own index arrays. scipy's
    constructor checks the format (9 µs, a quarter of a small prepared Hessian's call): a
    shallow copy of a checked result of this pattern is made instead, given new arrays."""
    template = None
    for indptr, indices, made in _TEMPLATES:
        if indptr is p.indptr and indices is p.indices:  # (held here: ids cannot be reused)
            template = made
            break
    if template is None:
        import scipy.sparse  # (optional dependency: only here)
        template = scipy.sparse.csr_array((np.zeros(len(p.indices)), p.indices.copy(),
                                           p.indptr.copy()), shape=p.shape)
        _TEMPLATES.insert(0, (p.indptr, p.indices, template))
        del _TEMPLATES[8:]
    out = copy.copy(template)
    out.data, out.indices, out.indptr = data, template.indices.copy(), template.indptr.copy()
    return out


_TEMPLATES: list = []  # (indptr, indices, checked csr_array) of the latest patterns


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
    order ("smallest_last", "largest_first", "natural", "incidence_degree"). ``chunk_size``
    colors travel per pass (all of them when None); a call's ``executor`` (as in
    ``dualad.jacobian``) computes each chunk of colors as a task (about
    ``config.EXECUTOR_TASKS`` of them when ``chunk_size`` is None).

    >>> import numpy as np
    >>> J = SparseJacobian(lambda x: np.sin(x[1:]) * x[:-1], np.ones(1000))
    >>> J.n_colors, J(np.zeros(1000)).nnz
    (2, 1998)
    """

    def __init__(self, f: Callable[[Any], Any], x: Any, pattern: Any = None, *,
                 mode: str = "global", order: Any = "smallest_last",
                 chunk_size: Optional[int] = None) -> None:
        x = plain_point(x)
        self.f, self.shape = f, x.shape
        self.chunk_size = None if chunk_size is None else whole(chunk_size, "chunk_size", 1)
        if pattern is None:
            self._pattern = coloring.Pattern(*detect.jacobian_pattern(f, x, mode))
        else:
            p = coloring.as_pattern(pattern)
            self._pattern = _pattern(p, (p.shape[0], x.size), "Jacobian")
        self.colors = coloring.column_coloring(self._pattern, order)
        self.n_colors = int(self.colors.max()) + 1 if self.colors.size else 0
        # a given pattern, or a local one used at another point, may lack a nonzero: one
        # more direction, a fixed random probe r, must see J r equal to the recovered matrix
        # times r (a missing entry sharing its color with one in the pattern would otherwise
        # be added to it unseen)
        self._probe = (np.random.default_rng(0x5EED).uniform(0.5, 1.5, x.size).astype(x.dtype)
                       if pattern is not None or mode == "local" else None)
        self._width = self.n_colors + (self._probe is not None)  # directions of a call
        self._seed = seed_columns(self.colors, self._probe, 0, self._width, x.shape, x.dtype)
        self._recovery = coloring.column_recovery(self._pattern, self.colors)
        # (row, color) pairs that hold no pattern entry: their compressed value must be 0
        m = self._pattern.shape[0]
        used = np.zeros((m, self.n_colors), dtype=bool)
        used[self._pattern.rows(), self.colors[self._pattern.indices]] = True
        self._empty = ~used
        self._reads: tuple = (None, [])  # (chunk size, where each chunk's entries are)

    @property
    def pattern(self) -> Any:
        """The sparsity pattern used, a boolean ``scipy.sparse.csr_array``."""
        return self._pattern.to_scipy()

    def __call__(self, x: Any, *, executor: Any = None, progress: bool = False) -> Any:
        return self.value_and_jacobian(x, executor=executor, progress=progress)[1]

    def value_and_jacobian(self, x: Any, *, executor: Any = None,
                           progress: bool = False) -> tuple:
        """``(f(x), Jacobian)``; the Jacobian a ``scipy.sparse.csr_array``. ``executor``
        and ``progress`` as in ``dualad.jacobian``."""
        x = plain_point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseJacobian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        m, n = self._pattern.shape
        width = self._width
        if width == 0:  # no input reaches an output (a detected pattern)
            return plain(self.f(x)), _csr(np.zeros(0, dtype=x.dtype), self._pattern)
        chunk = self.chunk_size or (width if executor is None else tasks.chunk_size(width, width))
        if chunk >= width and executor is None and not progress:
            value, partials = push(self.f, [x], [self._seed])
            _check_rows(np.size(value), m)
            compressed = np.reshape(plain(partials), (m, width))
            _check_empty(compressed[:, :self.n_colors], self._empty, 0)
            data: Any = compressed[:, :self.n_colors].ravel().take(self._recovery)
            probe: Any = compressed[:, -1]
        else:  # each task reads its colors' entries back: the call puts them in place
            problem = {"f": self.f, "x": x, "colors": self.colors, "probe": self._probe,
                       "width": width, "chunk": chunk, "rows": m, "n_colors": self.n_colors}
            chunks = self._chunks(chunk)
            data = probe = None
            for i, (value_i, entries, probe_i) in tasks.run(
                    executor, _columns_task, problem, [(lo, empty) for lo, empty, _ in chunks],
                    lambda c: f"colors {c[0]} to {min(c[0] + chunk, width) - 1} of {width}",
                    progress, "sparse jacobian"):
                if data is None:
                    data = np.empty(self._pattern.nnz, dtype=entries.dtype)
                if not entries.flags.aligned:  # (received in a message's buffer: copied,
                    entries = entries.copy()  # the scatter below runs 3 times faster)
                data[chunks[i][2]] = entries
                if probe_i is not None:
                    probe = probe_i
                if i == len(chunks) - 1:
                    value = value_i  # (the value of the last chunk, as the dense jacobian)
        value = plain(value)
        if self._probe is not None:
            self._check_probe(data, self._probe, probe)
        return value, _csr(data, self._pattern)

    def _chunks(self, chunk: int) -> list:
        """``(lo, empty, where)`` of each chunk of ``chunk`` directions: its first color,
        the bits of ``_empty`` for its colors (the (row, color) pairs outside the pattern),
        and the positions in the CSR data of its colors' entries, in the order of their
        (row, color): the order in which the task hands them back. Kept for calls with the
        same chunk size."""
        if self._reads[0] != chunk:
            c = max(self.n_colors, 1)
            color, rows = self._recovery % c, self._recovery // c
            reads = []
            for lo in range(0, self._width, chunk):
                where = np.flatnonzero((color >= lo) & (color < lo + chunk))
                where = where[np.argsort(rows[where] * c + color[where], kind="stable")]
                reads.append((lo, np.packbits(self._empty[:, lo:lo + chunk]), where))
            self._reads = (chunk, reads)
        return self._reads[1]

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


def seed_columns(colors: np.ndarray, probe: Optional[np.ndarray], lo: int, hi: int,
                 shape: tuple, dtype: Any) -> np.ndarray:
    """Directions ``lo`` to ``hi - 1`` of a compressed pass, shape ``shape + (hi - lo,)``:
    the indicator of each color, then the probe (after the last color), when there is one.

    >>> seed_columns(np.array([0, 1, 0]), None, 0, 2, (3,), np.float64).tolist()
    [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    n, k = colors.size, hi - lo
    block = np.zeros((n, k), dtype=dtype)
    c = colors - lo
    inside = (c >= 0) & (c < k)
    block[np.flatnonzero(inside), c[inside]] = 1.0
    n_colors = int(colors.max()) + 1 if n else 0
    if probe is not None and lo <= n_colors < hi:
        block[:, n_colors - lo] = probe
    return block.reshape(shape + (k,))


def _columns_task(problem: Dict[str, Any], chunk: tuple) -> tuple:
    """One chunk of colors (on an executor's worker): the columns ``lo`` on of ``J S`` for
    the seed ``S``, checked to be zero outside the pattern (``empty``: packed bits), as
    ``(f(x) for the last chunk, else None; the pattern's entries in the order of their
    (row, color); the probe column or None)``."""
    (lo, empty), x, m = chunk, problem["x"], problem["rows"]
    hi = min(lo + problem["chunk"], problem["width"])
    seed = seed_columns(problem["colors"], problem["probe"], lo, hi, x.shape, x.dtype)
    value, partials = push(problem["f"], [x], [seed])
    _check_rows(np.size(partials) // (hi - lo), m)
    block = np.reshape(plain(partials), (m, hi - lo))
    colored = block[:, :max(min(hi, problem["n_colors"]) - lo, 0)]
    outside = np.unpackbits(empty, count=colored.size).reshape(colored.shape).view(bool)
    _check_empty(colored, outside, lo)
    probe = block[:, -1].copy() if problem["probe"] is not None and hi == problem["width"] \
        else None
    return value if hi == problem["width"] else None, colored[~outside], probe


def _check_empty(colored: np.ndarray, empty: np.ndarray, lo: int) -> None:
    """The compressed columns ``colored`` (colors ``lo`` on) are zero where ``empty``: where
    the pattern has no entry of their color."""
    outside = empty & (colored != 0)
    if np.any(outside):
        i, k = np.argwhere(outside)[0]
        _missing(f"row {i}, an input of color {lo + k}")


def _check_rows(rows: int, m: int) -> None:
    if rows != m:
        raise ValueError(f"dualad: f returned {rows} values at this x; the pattern has {m} "
                         "rows")


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

    def __call__(self, x: Any, *, executor: Any = None, progress: bool = False) -> Any:
        return self.value_grad_hessian(x, executor=executor, progress=progress)[2]

    def value_grad_hessian(self, x: Any, *, executor: Any = None, progress: bool = False) -> tuple:
        """``(f(x), gradient, Hessian)``; the Hessian a ``scipy.sparse.csr_array``.

        The colored pass is one pass (it runs here); where the dense route takes over, its
        passes (pairs of blocks of directions) are the tasks of ``executor``."""
        x = plain_point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this SparseHessian was prepared for x of shape "
                             f"{self.shape}, got {x.shape}")
        value, grad, data = self._plan(x, executor=executor, progress=progress)
        return value, grad, _csr(data, self._plan.pattern)


def sparse_jacobian(f: Callable[[Any], Any], x: Any, sparse: Any,
                    chunk_size: Optional[int] = None, executor: Any = None,
                    progress: bool = False) -> Any:
    """``jacobian(f, x, sparse=True | pattern)``."""
    return SparseJacobian(f, x, None if sparse is True else sparse, chunk_size=chunk_size)(
        x, executor=executor, progress=progress)


def sparse_hessian(f: Callable[[Any], Any], x: Any, sparse: Any, executor: Any = None,
                   progress: bool = False) -> Any:
    """``hessian(f, x, sparse=True | pattern)``."""
    return SparseHessian(f, x, None if sparse is True else sparse)(
        x, executor=executor, progress=progress)


def wanted(sparse: Optional[Any]) -> bool:
    """Whether a helper's ``sparse=`` argument asks for the sparse route."""
    if sparse is None or sparse is False:
        return False
    return True
