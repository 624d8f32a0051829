"""Sets of integers, one per array element, stored as CSR rows: the algebra of sparsity
detection (``detect.py``).

A ``Sets`` is ``(ptr, idx)``: row ``r`` (one array element) holds the sorted, unique integers
``idx[ptr[r]:ptr[r + 1]]`` (input indices for Jacobians, pair keys ``i * n + j`` with
``i <= j`` for Hessians). Every operation works on whole arrays of rows at once: a row list
``src`` picks rows (``-1``: an empty row), a union concatenates the members and groups them
by row (``_group``, compiled: a counting sort by row, then each short row sorted), a cross
product enumerates the pairs of two rows per output row. There is no loop over rows in
Python.

>>> s = from_rows([[0, 2], [1]], 3)
>>> t = union([(s, np.array([0, 1])), (s, np.array([1, -1]))], 2, 3)
>>> rows(t)
[[0, 1, 2], [1]]
>>> keys = cross(s, np.array([0]), s, np.array([1]), 3)
>>> rows(union([], 1, 9, [keys]))
[[1, 5]]
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .._compile import jit

_NONE = np.zeros(0, dtype=np.int64)


class Sets(NamedTuple):
    ptr: np.ndarray  # int64, one more than the rows
    idx: np.ndarray  # int64, sorted and unique within each row

    @property
    def nrows(self) -> int:
        return len(self.ptr) - 1


Entries = Tuple[np.ndarray, np.ndarray]  # (row of each member, member): unsorted, repeats


def empty(nrows: int) -> Sets:
    return Sets(np.zeros(nrows + 1, dtype=np.int64), _NONE)


def singletons(n: int) -> Sets:
    """Row ``i`` holds ``{i}``: the input's own sets."""
    return Sets(np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64))


def from_rows(members: Sequence[Sequence[int]], width: int) -> Sets:
    """A ``Sets`` from Python lists (tests and examples)."""
    lengths = np.array([len(m) for m in members], dtype=np.int64)
    rows_ = np.repeat(np.arange(len(members), dtype=np.int64), lengths)
    flat = np.array([v for m in members for v in m], dtype=np.int64)
    return build((rows_, flat), len(members), width)


def rows(s: Sets) -> List[List[int]]:
    """The rows as Python lists (tests and examples)."""
    return [s.idx[a:b].tolist() for a, b in zip(s.ptr[:-1], s.ptr[1:])]


def is_empty(s: Sets) -> bool:
    return s.idx.size == 0


def _segments(s: Sets, src: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """How many members each picked row has, and the members of the rows ``src`` (``None``:
    every row in order; ``-1``: an empty row) one after another."""
    if src is None:
        return np.diff(s.ptr), s.idx
    src = np.asarray(src, dtype=np.int64)
    start = s.ptr[src]
    count = s.ptr[src + 1] - start
    if src.size and src.min() < 0:
        count[src < 0] = 0
    total = int(count.sum())
    if total == 0:
        return count, _NONE
    first = np.cumsum(count) - count  # where each picked row starts in the output
    return count, s.idx[np.repeat(start - first, count) + np.arange(total, dtype=np.int64)]


def take(s: Sets, src: Optional[np.ndarray]) -> Sets:
    """Row ``k`` of the result is row ``src[k]`` of ``s`` (``-1``: empty)."""
    if src is None:
        return s
    count, members = _segments(s, src)
    ptr = np.zeros(len(count) + 1, dtype=np.int64)
    np.cumsum(count, out=ptr[1:])
    return Sets(ptr, members)


def entries(s: Sets, src: Optional[np.ndarray], out: Optional[np.ndarray] = None) -> Entries:
    """The members of rows ``src`` of ``s``, each with its output row: ``out[k]`` for the
    members of ``src[k]`` (``None``: ``k``)."""
    count, members = _segments(s, src)
    where = np.arange(len(count), dtype=np.int64) if out is None else \
        np.asarray(out, dtype=np.int64)
    return np.repeat(where, count), members


def build(parts: Entries, nrows: int, width: int) -> Sets:
    """The ``Sets`` holding member ``m[k]`` in row ``r[k]`` for ``(r, m) = parts``
    (members in ``[0, width)``)."""
    r, m = parts
    if m.size == 0:
        return empty(nrows)
    ptr, idx = _group(np.ascontiguousarray(r, dtype=np.int64),
                      np.ascontiguousarray(m, dtype=np.int64), nrows)
    return Sets(ptr, idx)


@jit(nogil=True)
def _group(r, m, nrows):  # pragma: no cover (compiled)
    # a counting sort by row, then each (short) row sorted and its repeats dropped: no global
    # sort of all the keys
    ptr = np.zeros(nrows + 1, dtype=np.int64)
    for k in range(r.size):
        ptr[r[k] + 1] += 1
    for i in range(nrows):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    out = np.empty(r.size, dtype=np.int64)
    for k in range(r.size):
        out[fill[r[k]]] = m[k]
        fill[r[k]] += 1
    new = np.zeros(nrows + 1, dtype=np.int64)
    w = 0
    for i in range(nrows):
        a, b = ptr[i], ptr[i + 1]
        if b - a > 32:
            out[a:b] = np.sort(out[a:b])
        else:  # insertion sort: rows are short
            for k in range(a + 1, b):
                v = out[k]
                j = k - 1
                while j >= a and out[j] > v:
                    out[j + 1] = out[j]
                    j -= 1
                out[j + 1] = v
        prev = -1
        for k in range(a, b):
            v = out[k]
            if v != prev:
                out[w] = v
                w += 1
                prev = v
        new[i + 1] = w
    return new, out[:w].copy()


def union(parts: Sequence[Tuple[Sets, Optional[np.ndarray]]], nrows: int, width: int,
          extra: Sequence[Entries] = ()) -> Sets:
    """Row ``k`` is the union over ``(s, src)`` in ``parts`` of row ``src[k]`` of ``s``
    (``src`` of length ``nrows``; ``None``: row ``k``), and of the ``extra`` entries."""
    parts = [(s, src) for s, src in parts if not is_empty(s)]
    extra = [e for e in extra if e[1].size]
    if not extra:
        if not parts:
            return empty(nrows)
        if len(parts) == 1:
            return take(*parts[0])
        first = parts[0]
        if all(s is first[0] and _same(src, first[1]) for s, src in parts[1:]):
            return take(*first)  # (x * x, x + x: one operand twice)
    pieces = [entries(s, src) for s, src in parts] + list(extra)
    return build((np.concatenate([p[0] for p in pieces]),
                  np.concatenate([p[1] for p in pieces])), nrows, width)


def _same(a: Optional[np.ndarray], b: Optional[np.ndarray]) -> bool:
    return a is b or (a is not None and b is not None and a.shape == b.shape
                      and bool(np.array_equal(a, b)))


def gather_union(s: Sets, out: np.ndarray, src: np.ndarray, nrows: int, width: int) -> Sets:
    """Row ``r`` is the union of the rows ``src[k]`` of ``s`` over every ``k`` with
    ``out[k] == r`` (reductions, products with constant matrices)."""
    if is_empty(s):
        return empty(nrows)
    return build(entries(s, src, out), nrows, width)


def cross(a: Sets, ra: np.ndarray, b: Sets, rb: np.ndarray, n: int,
          out: Optional[np.ndarray] = None) -> Entries:
    """The pairs ``(i, j)`` with ``i`` in row ``ra[k]`` of ``a`` and ``j`` in row ``rb[k]`` of
    ``b``, as entries ``(out[k], min(i, j) * n + max(i, j))`` (``out`` None: ``k``): the
    second-derivative pairs a product of the two rows can touch."""
    ra = np.asarray(ra, dtype=np.int64)
    rb = np.asarray(rb, dtype=np.int64)
    sa, ca = a.ptr[ra], a.ptr[ra + 1] - a.ptr[ra]
    sb, cb = b.ptr[rb], b.ptr[rb + 1] - b.ptr[rb]
    ca[ra < 0] = 0
    cb[rb < 0] = 0
    m = ca * cb
    total = int(m.sum())
    where = np.arange(len(ra), dtype=np.int64) if out is None else np.asarray(out, np.int64)
    if total == 0:
        return _NONE, _NONE
    first = np.cumsum(m) - m
    t = np.arange(total, dtype=np.int64) - np.repeat(first, m)
    cbr = np.repeat(cb, m)
    ia = t // cbr
    ib = t - ia * cbr
    i = a.idx[np.repeat(sa, m) + ia]
    j = b.idx[np.repeat(sb, m) + ib]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return np.repeat(where, m), lo * n + hi


def concat(parts: Sequence[Sets]) -> Sets:
    """The rows of ``parts`` one after another."""
    if len(parts) == 1:
        return parts[0]
    sizes = [len(p.idx) for p in parts]
    starts = np.cumsum([0] + sizes[:-1])
    ptr = np.concatenate([np.zeros(1, dtype=np.int64)]
                         + [p.ptr[1:] + s for p, s in zip(parts, starts)])
    return Sets(ptr, np.concatenate([p.idx for p in parts]) if parts else _NONE)
