"""Colorings of sparsity patterns, seed matrices, and the recovery of a sparse matrix from its
compressed product.

A pattern is a ``Pattern(indptr, indices, shape)``: the CSR index arrays of the structurally
nonzero entries (int64, column indices sorted and unique within each row). Every stored entry
counts, a stored zero too: a pattern larger than the true one costs colours, never accuracy.

* ``column_coloring`` colours columns so that no two columns of one colour share a row
  (partial distance-2 colouring of the bipartite graph). With the seed ``S = seed_matrix(c)``
  each row of ``J @ S`` holds every entry of that row of ``J`` in its own column:
  ``J[i, j] = (J S)[i, c[j]]`` (``decompress_columns``).
* ``row_coloring`` is the same on rows: ``J[i, j] = (Sᵀ J)[c[i], j]`` (``decompress_rows``).
* ``star_coloring`` colours the adjacency graph of a symmetric pattern (diagonal ignored) so
  that adjacent vertices differ and every path on four vertices uses at least three colours.
  Then for every off-diagonal ``(i, j)``, ``j`` is the only vertex of its colour in row ``i`` or
  ``i`` the only one of its colour in row ``j``, and ``H[i, j]`` is read directly from
  ``(H S)[i, c[j]]`` or ``(H S)[j, c[i]]``; a diagonal entry is always ``(H S)[i, c[i]]``
  (``decompress_star``).

Decompression only copies numbers, so it is exact; a colouring that does not fit the pattern
is refused (ValueError), never decompressed into wrong numbers. Orderings (the order in which
the greedy colouring visits vertices): "natural", "largest_first", "smallest_last",
"incidence_degree" (degrees in the column intersection graph for column and row colourings, in
the adjacency graph for star colouring), or an explicit permutation. The default,
smallest-last, gave the fewest colours on the standard problems (2-D Brusselator: <= 12 column
colours where natural and largest-first, equal there, need 13 for some grid sizes).

>>> import numpy as np
>>> tridiagonal = Pattern.from_dense(np.abs(np.subtract.outer(np.arange(5), np.arange(5))) <= 1)
>>> colors = column_coloring(tridiagonal)
>>> int(colors.max()) + 1
3
>>> J = np.where(tridiagonal.to_dense(), np.arange(1.0, 26.0).reshape(5, 5), 0.0)
>>> data = decompress_columns(J @ seed_matrix(colors), tridiagonal, colors)
>>> bool(np.array_equal(data, J[tridiagonal.rows(), tridiagonal.indices]))
True
"""
import operator
from typing import Any, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from .._compile import jit

ORDERS = ("natural", "largest_first", "smallest_last", "incidence_degree")
KINDS = ("column", "row", "star")
_NONE = np.zeros(0, dtype=np.int64)  # the unused second level of a one-hop graph


class Pattern(NamedTuple):
    """A sparsity pattern: CSR ``indptr`` and ``indices`` (int64) and ``shape`` ``(m, n)``.

    Build one with ``Pattern.make`` (which checks and sorts), ``from_dense`` or ``from_scipy``.

    >>> p = Pattern.from_dense([[1, 0, 1], [0, 1, 0]])
    >>> p.indptr, p.indices, p.shape
    (array([0, 2, 3]), array([0, 2, 1]), (2, 3))
    >>> p.transpose().indices
    array([0, 1, 0])
    """
    indptr: np.ndarray
    indices: np.ndarray
    shape: Tuple[int, int]

    @classmethod
    def make(cls, indptr: Any, indices: Any, shape: Sequence[int]) -> "Pattern":
        """The pattern of CSR arrays, checked; column indices are sorted and duplicates merged
        within each row."""
        try:
            m, n = (operator.index(s) for s in shape)
        except (TypeError, ValueError):
            raise TypeError(f"dualad: a pattern's shape must be two integers (m, n), got "
                            f"{shape!r}") from None
        if m < 0 or n < 0:
            raise ValueError(f"dualad: a pattern's shape must not be negative, got {(m, n)}")
        indptr, indices = _index_array(indptr, "indptr"), _index_array(indices, "indices")
        counts = np.diff(indptr)
        if (len(indptr) != m + 1 or indptr[0] != 0 or indptr[-1] != len(indices)
                or (counts < 0).any()):
            raise ValueError(f"dualad: indptr must rise from 0 to len(indices) = {len(indices)} "
                             f"in m + 1 = {m + 1} steps, got {len(indptr)} entries from "
                             f"{indptr[:1]} to {indptr[-1:]}")
        if len(indices) and (indices.min() < 0 or indices.max() >= n):
            raise ValueError(f"dualad: column indices must lie in [0, {n}), got "
                             f"{indices.min()} .. {indices.max()}")
        rows = np.repeat(np.arange(m, dtype=np.int64), counts)
        if (np.diff(indices)[rows[1:] == rows[:-1]] <= 0).any():
            key = np.unique(rows * n + indices)  # sorted, without duplicates
            rows, indices = np.divmod(key, n)
            indptr = _indptr(rows, m)
        return cls(indptr, indices, (m, n))

    @classmethod
    def from_dense(cls, mask: Any) -> "Pattern":
        """The pattern of the nonzero entries of a 2-D array (bool or numbers)."""
        a = np.asarray(mask)
        if a.ndim != 2:
            raise ValueError(f"dualad: a pattern needs a 2-D array, got shape {a.shape}")
        rows, cols = np.nonzero(a)
        return cls(_indptr(rows, a.shape[0]), cols.astype(np.int64), a.shape)

    @classmethod
    def from_coo(cls, rows: Any, cols: Any, shape: Sequence[int]) -> "Pattern":
        """The pattern of the entries ``(rows[k], cols[k])``, in any order, repeats merged.

        >>> Pattern.from_coo([1, 0, 1], [0, 2, 0], (2, 3)).to_dense().astype(int)
        array([[0, 0, 1],
               [1, 0, 0]])
        """
        r, c = _index_array(rows, "rows"), _index_array(cols, "cols")
        if r.shape != c.shape:
            raise ValueError(f"dualad: rows and cols must have one length, got {r.shape} and "
                             f"{c.shape}")
        m = operator.index(shape[0])
        if len(r) and (r.min() < 0 or r.max() >= m):
            raise ValueError(f"dualad: row indices must lie in [0, {m}), got "
                             f"{r.min()} .. {r.max()}")
        by_row = np.argsort(r, kind="stable")
        return cls.make(_indptr(r[by_row], m), c[by_row], shape)

    @classmethod
    def from_scipy(cls, matrix: Any) -> "Pattern":
        """The pattern of the stored entries of a scipy.sparse matrix or array (any format)."""
        import scipy.sparse
        if not scipy.sparse.issparse(matrix) or matrix.ndim != 2:
            raise TypeError(f"dualad: from_scipy needs a 2-D scipy.sparse matrix or array, got "
                            f"{type(matrix).__name__}; use Pattern.from_dense for a numpy array")
        csr = matrix.tocsr()
        return cls.make(csr.indptr, csr.indices, csr.shape)

    def to_scipy(self) -> Any:
        """The pattern as a boolean ``scipy.sparse.csr_array``."""
        import scipy.sparse
        return scipy.sparse.csr_array(
            (np.ones(len(self.indices), dtype=bool), self.indices.copy(), self.indptr.copy()),
            shape=self.shape)

    def to_dense(self) -> np.ndarray:
        """The pattern as a boolean 2-D array."""
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows(), self.indices] = True
        return out

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def rows(self) -> np.ndarray:
        """The row index of every entry, aligned with ``indices``."""
        return np.repeat(np.arange(self.shape[0], dtype=np.int64), np.diff(self.indptr))

    def transpose(self) -> "Pattern":
        """The pattern of the transposed matrix (CSR of the transpose, i.e. CSC of this)."""
        rows = self.rows()
        return Pattern(_indptr(self.indices, self.shape[1]),
                       rows[_mirror(self)], (self.shape[1], self.shape[0]))

    def is_symmetric(self) -> bool:
        t = self.transpose()
        return (self.shape[0] == self.shape[1] and np.array_equal(t.indptr, self.indptr)
                and np.array_equal(t.indices, self.indices))

    def symmetrized(self) -> "Pattern":
        """The union of this square pattern and its transpose."""
        _square(self, "symmetrized")
        t = self.transpose()
        rows = np.concatenate([self.rows(), t.rows()])
        by_row = np.argsort(rows, kind="stable")
        return Pattern.make(_indptr(rows[by_row], self.shape[0]),
                            np.concatenate([self.indices, t.indices])[by_row], self.shape)


PatternLike = Union[Pattern, Any]  # a Pattern, a scipy.sparse matrix or a 2-D array


def as_pattern(pattern: PatternLike) -> Pattern:
    """``pattern`` as a checked ``Pattern``: a Pattern, a scipy.sparse matrix or array, or a
    dense 2-D array (its nonzeros)."""
    if isinstance(pattern, Pattern):
        return Pattern.make(*pattern)
    if type(pattern).__module__.startswith("scipy.sparse"):
        return Pattern.from_scipy(pattern)
    if isinstance(pattern, (np.ndarray, list, tuple)):
        return Pattern.from_dense(pattern)
    raise TypeError(f"dualad: a sparsity pattern must be a scipy.sparse matrix, a 2-D boolean "
                    f"array or a Pattern, got {type(pattern).__name__}")


# --- the colourings -----------------------------------------------------------------------


def column_coloring(pattern: PatternLike, order: Any = "smallest_last") -> np.ndarray:
    """Colours 0..c-1 of the columns, no two columns sharing a row with one colour: the seed
    of ``J @ S``.

    >>> column_coloring(np.array([[1, 1, 0], [0, 1, 1]]), order="natural")
    array([0, 1, 0])
    """
    p = as_pattern(pattern)
    t = p.transpose()  # column -> rows, then row -> columns
    return _greedy(p.shape[1], t.indptr, t.indices, p.indptr, p.indices, True, order)


def row_coloring(pattern: PatternLike, order: Any = "smallest_last") -> np.ndarray:
    """Colours 0..c-1 of the rows, no two rows sharing a column with one colour: the seed of
    ``Sᵀ @ J``.

    >>> row_coloring(np.array([[1, 0], [1, 1], [0, 1]]), order="natural")
    array([0, 1, 0])
    """
    p = as_pattern(pattern)
    t = p.transpose()
    return _greedy(p.shape[0], p.indptr, p.indices, t.indptr, t.indices, True, order)


def star_coloring(sym_pattern: PatternLike, order: Any = "smallest_last") -> np.ndarray:
    """Star colouring of the adjacency graph of a symmetric pattern (its diagonal ignored):
    neighbours differ and no path on four vertices has only two colours, so that
    ``decompress_star`` reads every entry of a symmetric ``H`` from ``H @ S``. Greedy, with
    the 2-coloured stars kept as in Gebremedhin, Manne and Pothen (2007), Algorithm 4.1.

    An arrowhead needs two colours where a column colouring needs n:

    >>> arrow = np.eye(5, dtype=bool); arrow[0] = arrow[:, 0] = True
    >>> star_coloring(arrow, order="natural")
    array([0, 1, 1, 1, 1])
    >>> int(column_coloring(arrow).max()) + 1
    5
    """
    p = _symmetric(as_pattern(sym_pattern), "star_coloring")
    g = _without_diagonal(p)
    n = p.shape[0]
    vertices = _order(n, g.indptr, g.indices, _NONE, _NONE, False, order)
    # one id per undirected edge: the position of its copy in the upper or lower triangle
    edge = np.minimum(np.arange(g.nnz, dtype=np.int64), _mirror(g))
    return _star_kernel(vertices, g.indptr, g.indices, edge)


def seed_matrix(colors: Any, n: Optional[int] = None) -> np.ndarray:
    """The seed ``S`` (n, c) of a colouring: ``S[j, k] = 1`` where ``colors[j] == k``.

    >>> seed_matrix([0, 1, 0])
    array([[1., 0.],
           [0., 1.],
           [1., 0.]])
    """
    c = _colors(colors, len(np.asarray(colors)) if n is None else n, "seed_matrix")
    out = np.zeros((len(c), _ncolors(c)))
    out[np.arange(len(c)), c] = 1.0
    return out


# --- recovery ----------------------------------------------------------------------------


def column_recovery(pattern: PatternLike, colors: Any) -> np.ndarray:
    """Where each entry of the pattern sits in ``(J @ S).ravel()``: ``i * c + colors[j]``.
    A prepared Jacobian keeps it; ``decompress_columns`` is one ``take``."""
    p = as_pattern(pattern)
    c = _colors(colors, p.shape[1], "the column colouring")
    k = _ncolors(c)
    unique = _unique_in_rows(p.indptr, p.indices, c, k)
    if not unique.all():
        i, j = p.rows()[~unique][0], p.indices[~unique][0]
        raise ValueError(f"dualad: the column colouring does not fit the pattern: column {j} "
                         f"shares row {i} with another column of colour {c[j]}; colour with "
                         "column_coloring(pattern)")
    return p.rows() * k + c[p.indices]


def row_recovery(pattern: PatternLike, colors: Any) -> np.ndarray:
    """Where each entry of the pattern sits in ``(Sᵀ @ J).ravel()``: ``colors[i] * n + j``."""
    p = as_pattern(pattern)
    c = _colors(colors, p.shape[0], "the row colouring")
    t = p.transpose()
    unique_t = _unique_in_rows(t.indptr, t.indices, c, _ncolors(c))
    unique = np.empty_like(unique_t)
    unique[_mirror(p)] = unique_t  # entry e of t is entry _mirror(p)[e] of p
    if not unique.all():
        i, j = p.rows()[~unique][0], p.indices[~unique][0]
        raise ValueError(f"dualad: the row colouring does not fit the pattern: row {i} "
                         f"shares column {j} with another row of colour {c[i]}; colour with "
                         "row_coloring(pattern)")
    return c[p.rows()] * p.shape[1] + p.indices


def star_recovery(sym_pattern: PatternLike, colors: Any) -> np.ndarray:
    """Where each entry of the symmetric pattern is read in ``(H @ S).ravel()``: from row
    ``i`` at ``colors[j]`` where ``j`` is the only vertex of its colour in row ``i``, else
    from row ``j`` at ``colors[i]`` (``H`` is symmetric)."""
    p = _symmetric(as_pattern(sym_pattern), "star recovery")
    c = _colors(colors, p.shape[0], "the star colouring")
    k = _ncolors(c)
    rows, cols = p.rows(), p.indices
    clash = (rows != cols) & (c[rows] == c[cols])
    if clash.any():
        i, j = rows[clash][0], cols[clash][0]
        raise ValueError(f"dualad: the star colouring does not fit the pattern: neighbours "
                         f"{i} and {j} share colour {c[i]}; colour with star_coloring(pattern)")
    direct = _unique_in_rows(p.indptr, p.indices, c, k)  # diagonal: always, as c is proper
    mirrored = direct[_mirror(p)]
    if not (direct | mirrored).all():
        bad = ~(direct | mirrored)
        i, j = rows[bad][0], cols[bad][0]
        raise ValueError(f"dualad: the colouring is not a star colouring of the pattern: "
                         f"H[{i}, {j}] cannot be read from H @ S (row {i} has another "
                         f"neighbour of colour {c[j]}, row {j} another of colour {c[i]}); "
                         "colour with star_coloring(pattern)")
    return np.where(direct, rows * k + c[cols], cols * k + c[rows])


def decompress_columns(compressed: Any, pattern: PatternLike, colors: Any) -> np.ndarray:
    """The entries of ``J`` (aligned with ``pattern.indices``) from ``J @ S`` (m, c)."""
    p = as_pattern(pattern)
    index = column_recovery(p, colors)
    return _take(compressed, (p.shape[0], _ncolors(np.asarray(colors))), index, "J @ S")


def decompress_rows(compressed: Any, pattern: PatternLike, colors: Any) -> np.ndarray:
    """The entries of ``J`` (aligned with ``pattern.indices``) from ``Sᵀ @ J`` (c, n)."""
    p = as_pattern(pattern)
    index = row_recovery(p, colors)
    return _take(compressed, (_ncolors(np.asarray(colors)), p.shape[1]), index, "Sᵀ @ J")


def decompress_star(compressed: Any, sym_pattern: PatternLike, colors: Any) -> np.ndarray:
    """The entries of a symmetric ``H`` (aligned with ``sym_pattern.indices``, both triangles
    and the diagonal) from ``H @ S`` (n, c)."""
    p = as_pattern(sym_pattern)
    index = star_recovery(p, colors)
    return _take(compressed, (p.shape[0], _ncolors(np.asarray(colors))), index, "H @ S")


def check_coloring(pattern: PatternLike, colors: Any, kind: str) -> bool:
    """Whether ``colors`` is a valid ``kind`` ("column", "row" or "star") colouring of
    ``pattern``, i.e. whether the matching decompression recovers every entry.

    >>> check_coloring(np.ones((2, 2)), [0, 0], "column")
    False
    >>> check_coloring(np.eye(2), [0, 0], "column")
    True
    """
    recovery = {"column": column_recovery, "row": row_recovery, "star": star_recovery}
    if kind not in recovery:
        raise ValueError(f"dualad: kind must be one of {KINDS}, got {kind!r}")
    try:
        recovery[kind](pattern, colors)
    except ValueError as err:
        if "does not fit" in str(err) or "not a star colouring" in str(err):
            return False
        raise
    return True


# --- helpers -----------------------------------------------------------------------------


def _index_array(a: Any, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"dualad: a pattern's {what} must be a 1-D integer array, got "
                        f"{arr.dtype} of shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _indptr(rows: np.ndarray, m: int) -> np.ndarray:
    """The CSR row pointer of entries with these row indices (once sorted by row)."""
    out = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=out[1:])
    return out


def _mirror(p: Pattern) -> np.ndarray:
    """For each entry of the transposed CSR, the entry of ``p`` it comes from; for a symmetric
    pattern, the position of the mirror ``(j, i)`` of each entry ``(i, j)``."""
    return np.argsort(p.indices, kind="stable").astype(np.int64)


def _square(p: Pattern, what: str) -> None:
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"dualad: {what} needs a square pattern, got shape {p.shape}")


def _symmetric(p: Pattern, what: str) -> Pattern:
    _square(p, what)
    if not p.is_symmetric():
        raise ValueError(f"dualad: {what} needs a symmetric pattern (a Hessian's); this one "
                         "has an entry (i, j) without (j, i): pass "
                         "Pattern.symmetrized() of it (or pattern + pattern.T)")
    return p


def _without_diagonal(p: Pattern) -> Pattern:
    keep = p.rows() != p.indices
    return Pattern(_indptr(p.rows()[keep], p.shape[0]), p.indices[keep], p.shape)


def _colors(colors: Any, n: int, what: str) -> np.ndarray:
    c = np.asarray(colors)
    if c.shape != (n,) or (c.size and c.dtype.kind not in "iu"):
        raise ValueError(f"dualad: {what} needs one integer colour per vertex, shape ({n},), "
                         f"got {c.dtype} of shape {c.shape}")
    if c.size and c.min() < 0:
        raise ValueError(f"dualad: {what}: colours must be 0, 1, ..., got {c.min()}")
    return np.ascontiguousarray(c, dtype=np.int64)


def _ncolors(colors: np.ndarray) -> int:
    return int(colors.max()) + 1 if colors.size else 0


def _take(compressed: Any, shape: Tuple[int, int], index: np.ndarray, what: str) -> np.ndarray:
    a = np.asarray(compressed)
    if a.shape != shape:
        raise ValueError(f"dualad: {what} must have shape {shape} (one column per colour), got "
                         f"{a.shape}")
    return a.reshape(-1)[index]


def _order(n: int, ptr1: np.ndarray, idx1: np.ndarray, ptr2: np.ndarray, idx2: np.ndarray,
           twohop: bool, order: Any) -> np.ndarray:
    """The vertices in the order the greedy colouring visits them."""
    if isinstance(order, str):
        if order == "natural" or n == 0:
            return np.arange(n, dtype=np.int64)
        if order == "largest_first":
            return np.argsort(-_degrees(n, ptr1, idx1, ptr2, idx2, twohop), kind="stable")
        if order in ("smallest_last", "incidence_degree"):
            return _dynamic_order(n, ptr1, idx1, ptr2, idx2, twohop, order == "smallest_last")
        raise ValueError(f"dualad: order must be one of {ORDERS} or a permutation of the "
                         f"vertices, got {order!r}")
    perm = np.asarray(order)
    if (perm.shape != (n,) or (n and perm.dtype.kind not in "iu")
            or not np.array_equal(np.sort(perm), np.arange(n))):
        raise ValueError(f"dualad: an explicit order must be a permutation of range({n}), got "
                         f"{perm.dtype} of shape {perm.shape}")
    return np.ascontiguousarray(perm, dtype=np.int64)


def _greedy(n: int, ptr1: np.ndarray, idx1: np.ndarray, ptr2: np.ndarray, idx2: np.ndarray,
            twohop: bool, order: Any) -> np.ndarray:
    vertices = _order(n, ptr1, idx1, ptr2, idx2, twohop, order)
    return _greedy_kernel(vertices, n, ptr1, idx1, ptr2, idx2, twohop)


# --- numba kernels -------------------------------------------------------------------------
# A graph is given by two CSR levels: the neighbours of v are idx1[ptr1[v]:ptr1[v+1]] (one
# hop), or, with twohop, every idx2[ptr2[r]:ptr2[r+1]] for those r (the columns sharing a row
# with column v: the column intersection graph, never built).


@jit(nogil=True)
def _neighbours(v, ptr1, idx1, ptr2, idx2, twohop, mark, out):
    """The distinct neighbours of v (v excluded) into out; returns their number. ``mark``
    holds, per vertex, the last v that listed it."""
    k = 0
    mark[v] = v
    for a in range(ptr1[v], ptr1[v + 1]):
        r = idx1[a]
        if twohop:
            for b in range(ptr2[r], ptr2[r + 1]):
                w = idx2[b]
                if mark[w] != v:
                    mark[w] = v
                    out[k] = w
                    k += 1
        elif mark[r] != v:
            mark[r] = v
            out[k] = r
            k += 1
    return k


@jit(nogil=True)
def _degrees(n, ptr1, idx1, ptr2, idx2, twohop):
    mark = np.full(n, -1, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    deg = np.empty(n, dtype=np.int64)
    for v in range(n):
        deg[v] = _neighbours(v, ptr1, idx1, ptr2, idx2, twohop, mark, buf)
    return deg


@jit(nogil=True)
def _unlink(head, nxt, prv, key, v):
    if prv[v] != -1:
        nxt[prv[v]] = nxt[v]
    else:
        head[key[v]] = nxt[v]
    if nxt[v] != -1:
        prv[nxt[v]] = prv[v]


@jit(nogil=True)
def _push(head, nxt, prv, key, v):
    b = key[v]
    nxt[v] = head[b]
    prv[v] = -1
    if head[b] != -1:
        prv[head[b]] = v
    head[b] = v


@jit(nogil=True)
def _dynamic_order(n, ptr1, idx1, ptr2, idx2, twohop, smallest_last):
    """smallest_last: repeatedly take a vertex of least degree among those left and put it
    last; incidence_degree: repeatedly take the vertex with most neighbours already taken and
    put it next. Degree buckets are linked lists, so each step costs its vertex's degree."""
    deg = _degrees(n, ptr1, idx1, ptr2, idx2, twohop)
    top = deg.max()
    key = deg.copy() if smallest_last else np.zeros(n, dtype=np.int64)
    head = np.full(top + 1, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    prv = np.full(n, -1, dtype=np.int64)
    for v in range(n - 1, -1, -1):  # lowest index at the head of its bucket
        _push(head, nxt, prv, key, v)
    done = np.zeros(n, dtype=np.bool_)
    mark = np.full(n, -1, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    cur = 0
    step = 1 if smallest_last else -1
    for s in range(n):
        while head[cur] == -1:
            cur += step
        v = head[cur]
        _unlink(head, nxt, prv, key, v)
        done[v] = True
        order[n - 1 - s if smallest_last else s] = v
        k = _neighbours(v, ptr1, idx1, ptr2, idx2, twohop, mark, buf)
        for t in range(k):
            w = buf[t]
            if not done[w]:
                _unlink(head, nxt, prv, key, w)
                key[w] -= step
                _push(head, nxt, prv, key, w)
        # the least (greatest) key left is at least cur - 1 (at most cur + 1)
        cur = max(cur - 1, 0) if smallest_last else min(cur + 1, top)
    return order


@jit(nogil=True)
def _greedy_kernel(vertices, n, ptr1, idx1, ptr2, idx2, twohop):
    """Each vertex in turn takes the least colour none of its neighbours has."""
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)  # forbidden[c] == v: c is taken near v
    mark = np.full(n, -1, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    for v in vertices:
        k = _neighbours(v, ptr1, idx1, ptr2, idx2, twohop, mark, buf)
        for t in range(k):
            c = colors[buf[t]]
            if c >= 0:
                forbidden[c] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
    return colors


@jit(nogil=True)
def _forbid_around(w, v, ptr, idx, colors, forbidden, treated):
    for b in range(ptr[w], ptr[w + 1]):
        cx = colors[idx[b]]
        if cx >= 0:
            forbidden[cx] = v
    treated[w] = v


@jit(nogil=True)
def _star_kernel(vertices, ptr, idx, edge):
    """Greedy star colouring keeping the 2-coloured stars (GMP 2007, Algorithm 4.1).

    Each edge between coloured vertices belongs to one 2-coloured star; ``hub[s]`` is the
    centre of star s (-1 while the star is a single edge). Colouring v with colour c must not
    make a 2-coloured path on four vertices. Two cases forbid colours beyond the neighbours':
    (1) v has two neighbours q, w of one colour: v becomes a hub, so no neighbour of q or w
    may share v's colour; (2) v's neighbour w lies in a star whose hub is x: v must not take
    x's colour (it would extend the star's leaf w into a path)."""
    n = len(ptr) - 1
    colors = np.full(n, -1, dtype=np.int64)
    forbidden = np.full(n + 1, -1, dtype=np.int64)
    first_v = np.full(n + 1, -1, dtype=np.int64)  # per colour: the v, w, edge of v's first
    first_w = np.full(n + 1, -1, dtype=np.int64)  # neighbour w with that colour
    first_e = np.full(n + 1, -1, dtype=np.int64)
    treated = np.full(n, -1, dtype=np.int64)
    star = np.full(len(idx), -1, dtype=np.int64)
    hub = np.full(len(idx), -1, dtype=np.int64)
    nstars = 0
    for v in vertices:
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            cw = colors[w]
            if cw < 0:
                continue
            forbidden[cw] = v
            if first_v[cw] == v:  # case 1
                q = first_w[cw]
                if treated[q] != v:
                    _forbid_around(q, v, ptr, idx, colors, forbidden, treated)
                _forbid_around(w, v, ptr, idx, colors, forbidden, treated)
            else:
                first_v[cw] = v
                first_w[cw] = w
                first_e[cw] = edge[a]
                for b in range(ptr[w], ptr[w + 1]):
                    x = idx[b]
                    cx = colors[x]
                    if x != v and cx >= 0 and hub[star[edge[b]]] == x:  # case 2
                        forbidden[cx] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        colors[v] = c
        # v's new edges join the stars they extend, or start their own
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            cw = colors[w]
            if cw < 0:
                continue
            joined = False
            for b in range(ptr[w], ptr[w + 1]):
                x = idx[b]
                if x != v and colors[x] == c:  # v, x leaves of one star around w
                    s = star[edge[b]]
                    hub[s] = w
                    star[edge[a]] = s
                    joined = True
                    break
            if not joined:
                if first_v[cw] == v and first_w[cw] != w:  # w, q leaves of a star around v
                    s = star[first_e[cw]]
                    hub[s] = v
                    star[edge[a]] = s
                else:
                    star[edge[a]] = nstars
                    nstars += 1
    return colors


@jit(nogil=True)
def _unique_in_rows(indptr, indices, colors, ncolors):
    """Per entry (i, j): whether j is the only column of its colour in row i."""
    count = np.zeros(ncolors, dtype=np.int64)
    out = np.empty(len(indices), dtype=np.bool_)
    for i in range(len(indptr) - 1):
        lo, hi = indptr[i], indptr[i + 1]
        for a in range(lo, hi):
            count[colors[indices[a]]] += 1
        for a in range(lo, hi):
            out[a] = count[colors[indices[a]]] == 1
        for a in range(lo, hi):
            count[colors[indices[a]]] = 0
    return out
