"""The rules of numpy functions for the sparsity tracer (``tracer.py``), registered per
``__array_function__`` category of ``core/functions.py``:

* structural functions (reshape, concatenate, take, roll, pad, ...): run on arrays of element
  ids (``tracer._structural``); ``where``/``select``/``compress`` take their conditions as
  plain arrays, or a traced one's values in local mode;
* reductions and scans (sum, mean, prod, cumsum, cumprod, max, sort, quantile, norm):
  every output depends on its lane (prefix, for scans); ``max``/``sort`` pick the element
  (permutation) by value in local mode; products keep only pairs across factors;
* products (matmul, dot, tensordot, einsum, outer, kron, convolve, ...): one ``einsum``
  over sets, contracted two operands at a time, where a constant operand's exact zeros take
  no part (a constant is fixed: the pattern stays valid for every x);
* ``numpy.linalg`` (solve, inv, det, eigh, svd, ...): every output depends on every input
  (a superset); pairs only among the arguments it is not linear in;
* compositions (var, std, diff, gradient, cov, cross, polyval, piecewise, ...) written with
  the functions above, and the in-place writers (put, copyto, fill_diagonal, ...).

Functions that no rule here covers raise the TypeError of ``tracer._array_function``.
"""
import math
import string
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core.bilinear import tensordot_spec
from ..core.functions import nested_items, with_ends
from . import sets
from .sets import Sets
from .tracer import (ACCUMULATE, UFUNCS, Tracer, _branch_error, _copy, _empty, _from_ids,
                     _grid, _handles, _HANDLERS, _idview, _lookup, _make, _mask,
                     _materialize, _name, _NoValue, _operand, _own, _plain_condition, _root,
                     _rows, _Run, _run_of, _structural, _unary_like, _unsupported, _val, _vals,
                     _width2, _write)

# =========================================================================================
# structural functions: their data arguments (positions and keywords), as core/functions.py's
# gather; every other argument must be plain (test_core_categories_are_covered checks that
# every function the core files as structural is here)
# =========================================================================================
for _data, _names in [
        ((0, "a"), "reshape transpose permute_dims ravel swapaxes moveaxis rollaxis squeeze "
                   "expand_dims diagonal linalg.diagonal flip fliplr flipud rot90 roll take "
                   "repeat tile resize delete matrix_transpose linalg.matrix_transpose "
                   "fft.fftshift fft.ifftshift"),
        ((0, "array"), "broadcast_to"),
        ((0, "v"), "diag diagflat"),
        ((0, "m"), "tril triu"),
        ((0, "arr"), "take_along_axis"),
        ((0, "ary"), "split array_split hsplit vsplit dsplit"),
        ((0, "x"), "unstack lib.stride_tricks.sliding_window_view"),
        ((0, "arrays", "tup"), "concatenate stack hstack vstack column_stack dstack"),
        ((0, "arrays"), "block"),
        (tuple(range(32)), "atleast_1d atleast_2d atleast_3d broadcast_arrays meshgrid"),
        ((0, 1, "arr", "values"), "append"),
        ((0, 2, "arr", "values"), "insert"),
        ((1, "a", "arr"), "compress extract"),
        ((1, "choices"), "choose")]:
    for _n in _names.split():
        _f = _lookup(_n)
        if _f is not None:
            cond = (0, "condition") if _n in ("compress", "extract") else ()
            _HANDLERS[_f] = (_structural(_f, _data, cond), False)


@_handles("where")
def _where(condition: Any, x: Any = _NoValue, y: Any = _NoValue) -> Any:
    if x is _NoValue and y is _NoValue:  # np.where(c): the indices where c is true
        return np.nonzero(_plain_condition(condition, "numpy.where"))
    return _structural(np.where, (1, 2, "x", "y"), (0, "condition"))(condition, x, y)


@_handles("select")
def _select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    return _structural(np.select, (1, 2, "choicelist", "default"),
                       (0, "condlist"))(condlist, choicelist, default)


@_handles("copy")
def _copy_fn(a: Any, *args: Any, **kwargs: Any) -> Any:
    return _copy(a)


@_handles("astype")
def _astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dualad: astype({np.dtype(dtype)}) of a traced array would drop its "
                        "dependence on x; only floating dtypes keep it")
    if not x._run.local:
        return _copy(x)
    out = _copy(x)
    out._v = _own(out._v.astype(dtype))
    return out


def _like(kind: str) -> Callable[..., Any]:
    """zeros_like and friends: a traced array with empty sets (elements may be assigned)."""
    names = (["fill_value"] if kind == "full" else []) + ["dtype", "order", "subok", "shape"]

    def impl(a: Any, *args: Any, **kwargs: Any) -> Any:
        run = _run_of(a)
        kw = dict(zip(names, args), **kwargs)
        fill = kw.get("fill_value", 1.0 if kind == "ones" else 0.0)
        dtype, shape = kw.get("dtype"), kw.get("shape")
        shape = a.shape if shape is None else tuple(int(s) for s in np.atleast_1d(shape))
        if dtype is not None and np.dtype(dtype).kind != "f":
            if isinstance(fill, Tracer):
                raise TypeError("dualad: a traced fill value in a non-floating array would "
                                "drop its dependence on x")
            return np.full(shape, fill, dtype=dtype)
        value = None
        if run.local:
            value = np.full(shape, 0.0 if isinstance(fill, Tracer) else fill,
                            dtype=a.dtype if dtype is None else dtype)
        out = _empty(run, shape, value)
        if isinstance(fill, Tracer):
            out[...] = fill
        return out
    return impl


_handles("zeros_like")(_like("zeros"))
_handles("empty_like")(_like("empty"))
_handles("ones_like")(_like("ones"))
_handles("full_like")(_like("full"))


# =========================================================================================
# reductions, scans, selections
# =========================================================================================
def _axes(axis: Any, ndim: int) -> Tuple[int, ...]:
    return tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)


def _lanes(t: Tracer, axis: Any, keepdims: bool) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """The rows of ``t`` with the ``axis`` axes last, as a (lanes, length) matrix, and the
    shape of the reduced result."""
    axes = _axes(axis, t.ndim)
    keep = [i for i in range(t.ndim) if i not in axes]
    grid = np.transpose(_grid(t), keep + list(axes))
    lead = tuple(t.shape[i] for i in keep)
    length = math.prod(t.shape[i] for i in axes)
    shape = tuple(1 if i in axes else s for i, s in enumerate(t.shape)) if keepdims else lead
    return grid.reshape(math.prod(lead), length), shape


def _reduce_sets(t: Tracer, axis: Any, keepdims: bool, kind: str = "linear") -> Tracer:
    """Every output element depends on its lane. ``kind``: ``"linear"`` (pairs: the union),
    ``"nonlinear"`` (also every pair of the lane's inputs), ``"zero"``."""
    run = t._run
    lanes, shape = _lanes(t, axis, keepdims)
    if kind == "zero":
        return _empty(run, shape)
    nout, length = lanes.shape
    base = _root(t)
    out = np.repeat(np.arange(nout, dtype=np.int64), length)
    src = lanes.reshape(-1)
    g = sets.gather_union(base._g, out, src, nout, run.n)
    h = None
    if run.second:
        h = sets.gather_union(base._h, out, src, nout, _width2(run))  # type: ignore[arg-type]
        if kind == "nonlinear":
            every = np.arange(nout, dtype=np.int64)
            h = sets.union([(h, None)], nout, _width2(run),
                           [sets.cross(g, every, g, every, run.n)])
    return _make(run, shape, g, h)


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise _unsupported(f"numpy.{name}(..., out=)", "assign the result instead")


@_handles("sum", "mean", "nansum", "nanmean", direct=True)
def _sum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         **kwargs: Any) -> Any:
    _no_out(out, "sum")
    if kwargs.get("where", True) is not True:
        raise _unsupported("sum/mean(..., where=)")
    return _reduce_sets(a, axis, keepdims)


@_handles("prod", "nanprod", direct=True)
def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
          **kwargs: Any) -> Any:
    _no_out(out, "prod")
    if kwargs.get("initial", _NoValue) is not _NoValue or kwargs.get("where", True) is not True:
        raise _unsupported("prod(..., initial=, where=)")
    res = _reduce_sets(a, axis, keepdims)
    if a._run.second:
        lanes, _ = _lanes(a, axis, False)
        nout, length = lanes.shape
        out = np.repeat(np.arange(nout, dtype=np.int64), length)
        res._h = _product_pairs(_root(a), out, lanes.reshape(-1), res._g)
    return res


def _product_pairs(base: Tracer, out: np.ndarray, src: np.ndarray, g: Sets) -> Sets:
    """The pairs of products: output ``out[k]`` has the factor row ``src[k]`` of ``base``,
    and its sets ``g`` (the union of its factors'). The pairs are the factors' own and (i, j)
    for i in one factor and j in another; g x g would also hold (i, i) and (i, j) where both
    come from one factor only, whose second derivative is zero."""
    run, n = base._run, base._run.n
    nout = g.nrows
    r, m = sets.entries(base._g, src, out)
    factor = np.repeat(src, np.diff(base._g.ptr)[src])
    keys = r * n + m
    order = np.argsort(keys, kind="stable")
    keys, factor = keys[order], factor[order]
    first = np.ones(keys.size, dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    uniq = keys[first]
    count = np.diff(np.append(np.flatnonzero(first), keys.size))
    owner = np.where(count == 1, factor[first], -1)  # the one factor holding it, or -1
    every = np.arange(nout, dtype=np.int64)
    pr, pk = sets.cross(g, every, g, every, n)
    i, j = pk // n, pk % n
    oi = owner[np.searchsorted(uniq, pr * n + i)] if uniq.size else pk
    oj = owner[np.searchsorted(uniq, pr * n + j)] if uniq.size else pk
    keep = (oi < 0) | (oj < 0) | (oi != oj)
    own = sets.gather_union(base._h, out, src, nout, _width2(run))  # type: ignore[arg-type]
    return sets.union([(own, None)], nout, _width2(run), [(pr[keep], pk[keep])])


def _picker(argfunc: Callable[..., Any]) -> Callable[..., Any]:
    def impl(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             initial: Any = _NoValue, where: Any = _NoValue) -> Any:
        _no_out(out, argfunc.__name__)
        if initial is not _NoValue or where is not _NoValue:
            raise _unsupported("max/min(..., initial=, where=)")
        if a.size == 0:
            raise ValueError("dualad: zero-size array to a reduction with no identity")
        if not a._run.local:  # any element may be the extremum
            return _reduce_sets(a, axis, keepdims)
        lanes, shape = _lanes(a, axis, keepdims)
        vlanes, _ = _lanes_values(a, axis)
        pick = argfunc(vlanes, axis=-1)  # ties: the first, as the derivative's convention
        rows = lanes[np.arange(lanes.shape[0]), pick]
        g, h = _take_rows(a, rows)
        return _make(a._run, shape, g, h)
    return impl


def _lanes_values(t: Tracer, axis: Any) -> Tuple[np.ndarray, Tuple[int, ...]]:
    axes = _axes(axis, t.ndim)
    keep = [i for i in range(t.ndim) if i not in axes]
    v = np.transpose(_val(t), keep + list(axes))
    lead = tuple(t.shape[i] for i in keep)
    return v.reshape(math.prod(lead), -1), lead


def _take_rows(t: Tracer, rows: np.ndarray) -> Tuple[Sets, Optional[Sets]]:
    base = _root(t)
    return sets.take(base._g, rows), None if base._h is None else sets.take(base._h, rows)


_handles("max", "amax", direct=True)(_picker(np.argmax))
_handles("min", "amin", direct=True)(_picker(np.argmin))
_handles("nanmax", direct=True)(_picker(np.nanargmax))
_handles("nanmin", direct=True)(_picker(np.nanargmin))


@_handles("ptp")
def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    _no_out(out, "ptp")
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def _scan_sets(t: Any, axis: Any, kind: str) -> Tracer:
    """Element k along the axis depends on elements 0..k (cumsum: ``"linear"``; cumprod:
    ``"product"``, with the pairs of a product of the prefix)."""
    run = t._run
    if axis is None:
        t, axis = np.ravel(t), 0
    ax = normalize_axis_index(axis, t.ndim)
    grid = np.moveaxis(_grid(t), ax, -1)
    moved = grid.shape
    length = moved[-1] if moved else 1
    lanes = grid.reshape(-1, length)
    i, j = np.tril_indices(length)
    out = (np.arange(lanes.shape[0], dtype=np.int64)[:, None] * length + i).reshape(-1)
    src = lanes[:, j].reshape(-1)
    size = t.size
    base = _root(t)
    g = sets.gather_union(base._g, out, src, size, run.n)
    h = None
    if run.second:
        if kind == "product":
            h = _product_pairs(base, out, src, g)
        else:
            h = sets.gather_union(base._h, out, src, size, _width2(run))  # type: ignore[arg-type]
    back = np.moveaxis(np.arange(size, dtype=np.int64).reshape(moved), -1, ax).reshape(-1)
    return _make(run, t.shape, sets.take(g, back), None if h is None else sets.take(h, back))


@_handles("cumsum", "cumulative_sum", "nancumsum", direct=True)
def _cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            include_initial: bool = False) -> Any:
    _no_out(out, "cumsum")
    if include_initial:
        raise _unsupported("cumulative_sum(..., include_initial=True)")
    return _scan_sets(a, axis, "linear")


@_handles("cumprod", "cumulative_prod", "nancumprod", direct=True)
def _cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             include_initial: bool = False) -> Any:
    _no_out(out, "cumprod")
    if include_initial:
        raise _unsupported("cumulative_prod(..., include_initial=True)")
    return _scan_sets(a, axis, "product")


def _running_extremum(x: Any, axis: Any, ufunc: Any) -> Any:
    if not x._run.local:
        return _scan_sets(x, axis, "linear")
    ax = normalize_axis_index(axis, x.ndim)
    v = _val(x)
    run = ufunc.accumulate(v, axis=ax)
    prev = np.concatenate([np.take(v, [0], axis=ax),
                           np.take(run, np.arange(v.shape[ax] - 1), axis=ax)], axis=ax)
    better = (v > prev) if ufunc is np.maximum else (v < prev)
    pos = np.arange(v.shape[ax]).reshape((-1,) + (1,) * (v.ndim - ax - 1))
    winner = np.maximum.accumulate(np.where(better, pos, 0), axis=ax)
    return np.take_along_axis(x, winner, axis=ax)


@_handles("sort")
def _sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *,
          stable: Any = None) -> Any:
    if order is not None:
        raise _unsupported("numpy.sort(..., order=)")
    if axis is None:
        a, axis = np.ravel(a), 0
    if a._run.local:  # ties keep their order, as the derivative's convention
        return np.take_along_axis(a, np.argsort(_val(a), axis=axis, kind="stable"), axis=axis)
    return _lane_union(a, axis)


@_handles("partition")
def _partition(a: Any, kth: Any, axis: Any = -1, kind: str = "introselect",
               order: Any = None) -> Any:
    if axis is None:
        a, axis = np.ravel(a), 0
    if a._run.local:
        return np.take_along_axis(a, np.argpartition(_val(a), kth, axis=axis), axis=axis)
    return _lane_union(a, axis)


def _lane_union(a: Tracer, axis: int) -> Tracer:
    """Every element depends on every element of its lane along ``axis`` (global sort)."""
    ax = normalize_axis_index(axis, a.ndim)
    red = _reduce_sets(a, ax, True)
    g, h = _materialize(red)
    rows = np.broadcast_to(np.arange(red.size, dtype=np.int64).reshape(red.shape),
                           a.shape).reshape(-1)
    out = _make(a._run, a.shape, sets.take(g, rows), None if h is None else sets.take(h, rows))
    if a._run.local:
        out._v = _own(np.sort(_val(a), axis=ax))
    return out


@_handles("median", "quantile", "percentile", direct=True)
def _quantile(a: Any, q: Any = None, axis: Any = None, out: Any = None,
              overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
              **kwargs: Any) -> Any:
    """Every output depends on its lane (order statistics and their interpolation:
    piecewise linear)."""
    _no_out(out, "quantile")
    if isinstance(q, Tracer) or any(isinstance(v, Tracer) for v in kwargs.values()):
        raise _unsupported("a traced q or weights of numpy.quantile")
    red = _reduce_sets(a, axis, keepdims)
    qshape = np.shape(q) if q is not None else ()
    shape = qshape + red.shape
    g, h = _materialize(red)
    rows = np.broadcast_to(np.arange(red.size, dtype=np.int64).reshape(red.shape),
                           shape).reshape(-1)
    return _make(a._run, shape, sets.take(g, rows), None if h is None else sets.take(h, rows))


@_handles("var", "nanvar")
def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: bool = False, **kwargs: Any) -> Any:
    _no_out(out, "var")
    d = a - np.mean(a, axis=axis, keepdims=True)
    res = np.mean(d * d, axis=axis, keepdims=keepdims)
    if a._run.local:
        res._v = _own(np.var(_val(a), axis=axis, ddof=ddof, keepdims=keepdims))
    return res


@_handles("std", "nanstd")
def _std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: bool = False, **kwargs: Any) -> Any:
    _no_out(out, "std")
    return np.sqrt(_var(a, axis=axis, ddof=ddof, keepdims=keepdims))


@_handles("average")
def _average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
             keepdims: bool = False) -> Any:
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        total: Any = np.full(np.shape(avg), np.size(a) / max(np.size(avg), 1))
    else:
        w = weights
        if np.ndim(w) != np.ndim(a):  # 1-D weights along the axis
            shape = [1] * np.ndim(a)
            shape[normalize_axis_index(axis, np.ndim(a))] = -1
            w = np.reshape(w, shape)
        total = np.sum(w + np.zeros(np.shape(a)), axis=axis, keepdims=keepdims)
        avg = np.sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


@_handles("trace")
def _trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
           out: Any = None) -> Any:
    _no_out(out, "trace")
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)


@_handles("linalg.trace")
def _linalg_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    return _trace(x, offset, -2, -1)


@_handles("diff")
def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _NoValue,
          append: Any = _NoValue) -> Any:
    ax = normalize_axis_index(axis, np.ndim(a))
    a = with_ends(a, ax, prepend, append)
    for _ in range(n):
        hi = [slice(None)] * np.ndim(a)
        lo = [slice(None)] * np.ndim(a)
        hi[ax], lo[ax] = slice(1, None), slice(None, -1)
        a = a[tuple(hi)] - a[tuple(lo)]
    return a


@_handles("gradient")
def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Central differences inside (the centre too where the spacing is given by
    coordinates), one-sided ones (``edge_order + 1`` points) at the ends."""
    axes = _axes(axis, f.ndim)
    if any(isinstance(v, Tracer) for v in varargs):
        raise _unsupported("a traced spacing of numpy.gradient")
    uniform = all(np.ndim(v) == 0 for v in varargs)
    outs = []
    for ax in axes:
        n = f.shape[ax]
        if n < edge_order + 1:
            raise ValueError("dualad: numpy.gradient needs at least edge_order + 1 points")

        def part(lo: int, hi: Optional[int], ax: int = ax) -> Any:
            index: List[Any] = [slice(None)] * f.ndim
            index[ax] = slice(lo, hi)
            return f[tuple(index)]
        inner = part(2, None) - part(0, -2)
        if not uniform:
            inner = inner + part(1, -1)
        k = edge_order + 1
        head, tail = part(0, 1), part(n - 1, n)
        for i in range(1, k):
            head = head + part(i, i + 1)
            tail = tail + part(n - 1 - i, n - i)
        outs.append(_copy(np.concatenate([head, inner, tail], axis=ax)))
    if f._run.local:
        gradient: Any = np.gradient
        values = gradient(_val(f), *varargs, axis=axis, edge_order=edge_order)
        for out, v in zip(outs, values if isinstance(values, (list, tuple)) else [values]):
            out._v = _own(v)
    return outs[0] if len(outs) == 1 else tuple(outs)


@_handles("pad")
def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    # the modes that move or copy elements; the others mix them (linear_ramp, mean, odd
    # reflections) or order them (maximum, median)
    if callable(mode) or mode not in ("constant", "edge", "reflect", "symmetric", "wrap",
                                      "empty") or kwargs.get("reflect_type", "even") != "even":
        raise _unsupported(f"numpy.pad(..., mode={mode!r})")
    if any(isinstance(v, Tracer) for v in nested_items(tuple(kwargs.values()))):
        raise _unsupported("traced pad values")
    ids = np.pad(_idview(array), pad_width, "constant" if mode == "empty" else mode,
                 **({} if mode in ("constant", "empty") else kwargs))
    out = _from_ids(array._run, ids, [array], [])
    if array._run.local:
        out._v = _own(np.pad(_val(array), pad_width, mode, **kwargs))
    return out


# =========================================================================================
# products: einsum and everything written with it
# =========================================================================================
_LETTERS = string.ascii_letters


def _einsum_labels(subscripts: Any, operands: Sequence[Any]) -> Tuple[List[str], str, List[Any]]:
    """Per operand its labels (one letter per axis, ellipses expanded) and the output's."""
    if not isinstance(subscripts, str):  # einsum(a, [0, 1], b, [1, 2], [0, 2])
        seq = (subscripts,) + tuple(operands)
        out_list = seq[-1] if len(seq) % 2 else None
        ops = list(seq[0:len(seq) - (len(seq) % 2):2])
        subs = list(seq[1:len(seq) - (len(seq) % 2):2])

        def word(sub: Any) -> str:
            return "".join("..." if s is Ellipsis else _LETTERS[int(s)] for s in sub)
        subscripts = ",".join(word(s) for s in subs) + ("" if out_list is None
                                                       else "->" + word(out_list))
        operands = ops
    spec = subscripts.replace(" ", "")
    ins, out = spec.split("->") if "->" in spec else (spec, None)
    words = ins.split(",")
    if len(words) != len(operands):
        raise ValueError("dualad: einsum subscripts do not match the operands")
    used = set(spec) - set(".,->")
    spare = [c for c in _LETTERS if c not in used]
    ell = max([np.ndim(o) - (len(w) - 3) for w, o in zip(words, operands) if "..." in w],
              default=0)
    fill = "".join(spare[:ell])
    labels = [w.replace("...", fill[ell - (np.ndim(o) - (len(w) - 3)):]) if "..." in w else w
              for w, o in zip(words, operands)]
    if out is None:
        letters = "".join(labels)
        out = fill + "".join(sorted(c for c in set(letters) if letters.count(c) == 1
                                    and c not in fill))
    else:
        out = out.replace("...", fill)
    return labels, out, list(operands)


def _einsum_sets(labels: List[str], out: str, operands: Sequence[Any], run: _Run) -> Tracer:
    sizes: Dict[str, int] = {}
    for lab, op in zip(labels, operands):
        if len(lab) != np.ndim(op):
            raise ValueError("dualad: einsum subscripts do not match the operands' dimensions")
        for c, d in zip(lab, np.shape(op)):
            if sizes.get(c, 1) not in (1, d) and d != 1:
                raise ValueError(f"dualad: einsum: dimension {c} has sizes {sizes[c]} and {d}")
            sizes[c] = max(sizes.get(c, 1), d)
    items: List[Tuple[Any, str]] = [(op if isinstance(op, Tracer) else _mask(op), lab)
                                    for op, lab in zip(operands, labels)]
    while len(items) > 1:
        (a, la), (b, lb) = items[0], items[1]
        later = set("".join(lab for _, lab in items[2:]) + out)
        if len(items) == 2:
            keep = out
        else:
            keep = "".join(dict.fromkeys(c for c in la + lb if c in later))
        items = [(_contract2(a, la, b, lb, keep, sizes, run), keep)] + items[2:]
    t, lab = items[0]
    if not isinstance(t, Tracer):
        raise RuntimeError("dualad: internal error: einsum without a traced operand")
    if lab == out:
        return t
    return _contract1(t, lab, out, sizes)


def _combos(labels: str, sizes: Dict[str, int]) -> Dict[str, np.ndarray]:
    """Every combination of the values of ``labels`` (unique), one array per label."""
    uniq = "".join(dict.fromkeys(labels))
    grids = np.indices(tuple(sizes[c] for c in uniq), dtype=np.int64)
    return {c: grids[k].reshape(-1) for k, c in enumerate(uniq)}


def _flat(labels: str, shape: Tuple[int, ...], vals: Dict[str, np.ndarray],
          count: int) -> np.ndarray:
    """Flat element index in an array of ``shape`` with axes ``labels`` (size-1 axes
    broadcast: index 0)."""
    idx = np.zeros(count, dtype=np.int64)
    for c, d in zip(labels, shape):
        idx = idx * d + (vals[c] if d != 1 else 0)
    return idx


def _contract1(t: Tracer, lab: str, out: str, sizes: Dict[str, int]) -> Tracer:
    vals = _combos(lab, sizes)
    count = len(next(iter(vals.values()))) if vals else 1
    shape = tuple(sizes[c] for c in out)
    return _linear_terms(t, _flat(lab, t.shape, vals, count),
                         _flat(out, shape, vals, count), shape)


def _contract2(a: Any, la: str, b: Any, lb: str, keep: str, sizes: Dict[str, int],
               run: _Run) -> Any:
    shape = tuple(sizes[c] for c in keep)
    if not isinstance(a, Tracer) and not isinstance(b, Tracer):  # two constants' structure
        return np.einsum(f"{la},{lb}->{keep}", a.astype(float), b.astype(float)) != 0
    if not isinstance(a, Tracer):
        a, la, b, lb = b, lb, a, la
    if not isinstance(b, Tracer):
        # the constant's structure, reduced over its labels used nowhere else
        lbu = "".join(c for c in dict.fromkeys(lb) if c in la or c in keep)
        m = np.einsum(f"{lb}->{lbu}", b.astype(float)) != 0 if lbu != lb else b
        # broadcast axes of the constant (length 1 against a longer one) are free
        squeeze = tuple(k for k, c in enumerate(lbu) if m.shape[k] == 1 and sizes[c] > 1)
        if squeeze:
            m = np.squeeze(m, axis=squeeze)
            lbu = "".join(c for k, c in enumerate(lbu) if k not in squeeze)
        nz: Tuple[np.ndarray, ...] = np.nonzero(m) if m.ndim else ()
        nnz = len(nz[0]) if m.ndim else int(bool(m))
        free = "".join(c for c in dict.fromkeys(la + keep) if c not in lbu)
        fvals = _combos(free, sizes)
        nf = math.prod(sizes[c] for c in free)
        vals = {c: np.repeat(nz[k], nf) for k, c in enumerate(lbu)}
        vals.update({c: np.tile(v, nnz) for c, v in fvals.items()})
        count = nnz * nf
        return _linear_terms(a, _flat(la, a.shape, vals, count),
                             _flat(keep, shape, vals, count), shape)
    vals = _combos(la + lb, sizes)
    count = math.prod(sizes[c] for c in dict.fromkeys(la + lb))
    return _bilinear_terms(a, _flat(la, a.shape, vals, count), b, _flat(lb, b.shape, vals, count),
                           _flat(keep, shape, vals, count), shape)


def _linear_terms(a: Any, ia: np.ndarray, out: np.ndarray, shape: Tuple[int, ...]) -> Tracer:
    """Output element ``out[k]`` depends linearly on element ``ia[k]`` of ``a``."""
    run, base, rows = a._run, _root(a), _rows(a)
    src = ia if rows is None else rows[ia]
    nout = math.prod(shape)
    g = sets.gather_union(base._g, out, src, nout, run.n)
    h = None
    if run.second:
        h = sets.gather_union(base._h, out, src, nout, _width2(run))  # type: ignore[arg-type]
    return _make(run, shape, g, h)


def _bilinear_terms(a: Tracer, ia: np.ndarray, b: Tracer, ib: np.ndarray, out: np.ndarray,
                    shape: Tuple[int, ...]) -> Tracer:
    """Output element ``out[k]`` has the term ``a[ia[k]] * b[ib[k]]``."""
    run = a._run
    ba, bb = _root(a), _root(b)
    ra = ia if _rows(a) is None else _rows(a)[ia]  # type: ignore[index]
    rb = ib if _rows(b) is None else _rows(b)[ib]  # type: ignore[index]
    nout = math.prod(shape)
    g = sets.union([], nout, run.n, [sets.entries(ba._g, ra, out), sets.entries(bb._g, rb, out)])
    h = None
    if run.second:
        ha, hb = cast(Sets, ba._h), cast(Sets, bb._h)
        h = sets.union([], nout, _width2(run), [sets.entries(ha, ra, out),
                                                sets.entries(hb, rb, out),
                                                sets.cross(ba._g, ra, bb._g, rb, run.n, out)])
    return _make(run, shape, g, h)


@_handles("einsum", direct=True)
def _einsum(subscripts: Any, *operands: Any, out: Any = None, **kwargs: Any) -> Any:
    _no_out(out, "einsum")
    run = _run_of(subscripts, operands)  # (the interleaved form starts with an operand)
    labels, result, ops = _einsum_labels(subscripts, operands)
    return _einsum_sets(labels, result, [_operand(o) for o in ops], run)


def _product(spec: str, *operands: Any) -> Any:
    """``np.einsum(spec, *operands)`` with the values of numpy's own ``func`` (direct)."""
    run = _run_of(operands)
    labels, result, ops = _einsum_labels(spec, operands)
    return _einsum_sets(labels, result, [_operand(o) for o in ops], run)


def _matmul_spec(na: int, nb: int) -> str:
    if na == 0 or nb == 0:
        raise ValueError("dualad: matmul: an operand has no dimensions (use * for scalars)")
    if na == 1 and nb == 1:
        return "i,i->"
    if na == 1:
        return "j,...jk->...k"
    if nb == 1:
        return "...ij,j->...i"
    return "...ij,...jk->...ik"


def _matmul(a: Any, b: Any) -> Any:
    res = _product(_matmul_spec(np.ndim(a), np.ndim(b)), a, b)
    if res._run.local:
        res._v = _own(np.matmul(_vals(a), _vals(b)))
    return res


_handles("linalg.matmul")(_matmul)


@_handles("tensordot", "linalg.tensordot", direct=True)
def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    return _product(tensordot_spec(np.ndim(a), np.ndim(b), axes), a, b)


@_handles("dot", direct=True)
def _dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_out(out, "dot")
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _strip(np.multiply(a, b))
    return _tensordot(a, b, ((np.ndim(a) - 1,), (0 if np.ndim(b) == 1 else np.ndim(b) - 2,)))


@_handles("inner", direct=True)
def _inner(a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return _strip(np.multiply(a, b))
    return _tensordot(a, b, ((np.ndim(a) - 1,), (np.ndim(b) - 1,)))


def _strip(t: Tracer) -> Tracer:
    t._v = None  # (a direct rule: the values come from numpy's own function)
    return t


@_handles("outer", "linalg.outer", direct=True)
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    _no_out(out, "outer")
    return _product("i,j->ij", np.ravel(a), np.ravel(b))


@_handles("vdot", direct=True)
def _vdot(a: Any, b: Any) -> Any:
    return _product("i,i->", np.ravel(a), np.ravel(b))


@_handles("linalg.vecdot")
def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    return np.sum(x1 * x2, axis=axis)


def _matvec(a: Any, x: Any) -> Any:
    res = _product("...ij,...j->...i", a, x)
    if res._run.local:
        res._v = _own(np.matmul(_vals(a), _vals(x)[..., None])[..., 0])
    return res


def _vecmat(x: Any, a: Any) -> Any:
    res = _product("...i,...ij->...j", x, a)
    if res._run.local:
        res._v = _own(np.matmul(_vals(x)[..., None, :], _vals(a))[..., 0, :])
    return res


@_handles("linalg.multi_dot")
def _multi_dot(arrays: Any, *, out: Any = None) -> Any:
    _no_out(out, "linalg.multi_dot")
    res = arrays[0]
    for nxt in arrays[1:]:
        res = np.matmul(res, nxt)
    return res


@_handles("linalg.matrix_power")
def _matrix_power(a: Any, n: int) -> Any:
    if n == 0:
        return np.broadcast_to(np.eye(a.shape[-1]), a.shape).copy()
    if n < 0:
        a, n = np.linalg.inv(a), -n
    res, base = None, a
    while n:
        if n & 1:
            res = base if res is None else np.matmul(res, base)
        n >>= 1
        if n:
            base = np.matmul(base, base)
    return res


@_handles("kron")
def _kron(a: Any, b: Any) -> Any:
    nd = max(np.ndim(a), np.ndim(b))
    a = np.reshape(a, (1,) * (nd - np.ndim(a)) + np.shape(a))
    b = np.reshape(b, (1,) * (nd - np.ndim(b)) + np.shape(b))
    la, lb = _LETTERS[:nd], _LETTERS[nd:2 * nd]
    out = "".join(x + y for x, y in zip(la, lb))
    prod = np.einsum(f"{la},{lb}->{out}", a, b)
    return np.reshape(prod, tuple(x * y for x, y in zip(np.shape(a), np.shape(b))))


@_handles("cross", "linalg.cross")
def _cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
           axis: Any = None) -> Any:
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    if np.shape(a)[-1] != np.shape(b)[-1] or np.shape(a)[-1] not in (2, 3):
        raise _unsupported("numpy.cross of vectors of different or other lengths than 2 or 3")
    if np.shape(a)[-1] == 2:
        return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    c = np.stack([a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1],
                  a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2],
                  a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]], axis=-1)
    return np.moveaxis(c, -1, axisc)


def _correlation(func: Any, flip: bool) -> Callable[..., Any]:
    """convolve / correlate: output k of the full result holds the terms a[i] v[j] with
    k = i + j (convolve) or k = i - j + len(v) - 1 (correlate); the modes crop it."""
    def impl(a: Any, v: Any, mode: str = "full" if flip else "valid") -> Any:
        a, v = _operand(a), _operand(v)
        if np.ndim(a) != 1 or np.ndim(v) != 1:
            raise ValueError(f"dualad: {_name(func)} takes 1-D arrays")
        na, nv = np.shape(a)[0], np.shape(v)[0]
        i, j = (g.reshape(-1) for g in np.indices((na, nv), dtype=np.int64))
        k = i + j if flip else i - j + nv - 1
        # where numpy's mode crops the full result (checked against numpy for all lengths
        # up to 11: correlate's "same" with the longer v starts one later)
        lo, hi = min(na, nv), max(na, nv)
        start, length = {"full": (0, na + nv - 1), "valid": (lo - 1, hi - lo + 1),
                         "same": ((lo - 1) // 2 if flip or na >= nv else lo // 2, hi)}[mode]
        keep = (k >= start) & (k < start + length)
        i, j, k = i[keep], j[keep], k[keep] - start
        if not isinstance(a, Tracer):
            nzv = _mask(a)[i]
            i, j, k = i[nzv], j[nzv], k[nzv]
            return _linear_terms(v, j, k, (length,))
        if not isinstance(v, Tracer):
            nzv = _mask(v)[j]
            i, j, k = i[nzv], j[nzv], k[nzv]
            return _linear_terms(a, i, k, (length,))
        return _bilinear_terms(a, i, v, j, k, (length,))
    return impl


_handles("convolve", direct=True)(_correlation(np.convolve, True))
_handles("correlate", direct=True)(_correlation(np.correlate, False))


@_handles("polymul")
def _polymul(a1: Any, a2: Any) -> Any:
    return np.convolve(a1, a2)


@_handles("polyval")
def _polyval(p: Any, x: Any) -> Any:
    y = np.zeros_like(x) if isinstance(x, Tracer) else np.zeros(np.shape(x))
    for k in range(len(p)):
        y = y * x + p[k]
    return y


@_handles("trapezoid")
def _trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    ax = normalize_axis_index(axis, np.ndim(y))
    hi = [slice(None)] * np.ndim(y)
    lo = [slice(None)] * np.ndim(y)
    hi[ax], lo[ax] = slice(1, None), slice(None, -1)
    d = dx if x is None else np.diff(x, axis=axis if np.ndim(x) > 1 else -1)
    if x is not None and np.ndim(x) == 1 and np.ndim(y) > 1:
        shape = [1] * np.ndim(y)
        shape[ax] = -1
        d = np.reshape(d, shape)
    return np.sum(d * (y[tuple(hi)] + y[tuple(lo)]) / 2.0, axis=ax)


@_handles("cov")
def _cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
         fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    if fweights is not None or aweights is not None:
        raise _unsupported("numpy.cov(..., fweights=, aweights=)")
    x = np.atleast_2d(m)
    if not rowvar and np.shape(x)[0] != 1:
        x = np.transpose(x)
    if y is not None:
        yy = np.atleast_2d(y)
        if not rowvar and np.shape(yy)[0] != 1:
            yy = np.transpose(yy)
        x = np.concatenate([x, yy], axis=0)
    ddof = (0 if bias else 1) if ddof is None else ddof
    d = x - np.mean(x, axis=1, keepdims=True)
    c = np.matmul(d, np.transpose(d)) / max(np.shape(x)[1] - ddof, 0)
    return np.squeeze(c)


@_handles("corrcoef")
def _corrcoef(x: Any, y: Any = None, rowvar: bool = True, *args: Any, **kwargs: Any) -> Any:
    c = _cov(x, y, rowvar)
    if np.ndim(c) == 0:
        return c / c
    d = np.diagonal(c)
    return c / np.sqrt(np.multiply.outer(d, d))


@_handles("bincount", direct=True)
def _bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    if isinstance(x, Tracer):
        raise _unsupported("numpy.bincount of traced values (bins are integers)")
    if not isinstance(weights, Tracer):
        raise _unsupported("numpy.bincount with these arguments")
    x = np.asarray(x).reshape(-1)
    nout = max(int(x.max()) + 1 if x.size else 0, minlength)
    return _linear_terms(np.ravel(weights), np.arange(x.size), x, (nout,))


@_handles("interp", direct=True)
def _interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
            period: Any = None) -> Any:
    """Piecewise linear in ``x`` and linear in ``fp``: output i depends on x[i] and the two
    fp it interpolates between (local mode), or every fp (global mode)."""
    if any(isinstance(a, Tracer) for a in (xp, left, right, period)):
        raise _unsupported("numpy.interp with traced xp, left, right or period")
    run = _run_of(x, fp)
    x, fp = _operand(x), _operand(fp)
    shape = np.shape(x)
    size = math.prod(shape)
    out = np.arange(size, dtype=np.int64)
    terms: List[Tracer] = []
    if isinstance(x, Tracer):
        terms.append(_linear_terms(x, out, out, shape))
    if isinstance(fp, Tracer):
        nfp = np.shape(fp)[0]
        if run.local and period is None:
            j = np.clip(np.searchsorted(np.asarray(xp), np.ravel(_val(x) if isinstance(x, Tracer)
                                                                 else x), side="right") - 1,
                        0, nfp - 1)
            lo, hi = j, np.minimum(j + 1, nfp - 1)
            terms.append(_linear_terms(fp, np.concatenate([lo, hi]), np.concatenate([out, out]),
                                       shape))
        else:
            terms.append(_linear_terms(fp, np.tile(np.arange(nfp), size),
                                       np.repeat(out, nfp), shape))
    if len(terms) == 1:
        return terms[0]
    a, b = terms
    g = sets.union([(a._g, None), (b._g, None)], size, run.n)
    h = None
    if run.second:
        h = sets.union([(a._h, None), (b._h, None)], size, _width2(run),  # type: ignore[list-item]
                       [sets.cross(a._g, out, b._g, out, run.n)])
    return _make(run, shape, g, h)


# =========================================================================================
# elementwise numpy functions that are not ufuncs
# =========================================================================================
@_handles("round", "around", direct=True)
def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    _no_out(out, "round")
    return _empty(a._run, a.shape)


@_handles("fix", direct=True)
def _fix(x: Any, out: Any = None) -> Any:
    _no_out(out, "fix")
    return _empty(x._run, x.shape)


@_handles("angle", direct=True)
def _angle(z: Any, deg: bool = False) -> Any:
    return _empty(z._run, z.shape)


@_handles("imag", direct=True)
def _imag(val: Any) -> Any:
    return _empty(val._run, val.shape)


@_handles("real", "real_if_close")
def _real(val: Any, *args: Any, **kwargs: Any) -> Any:
    return val


@_handles("nan_to_num", "unwrap", direct=True)
def _same_fn(x: Any, *args: Any, **kwargs: Any) -> Any:
    return _unary_like(x, "same")


@_handles("sinc", direct=True)
def _sinc(x: Any) -> Any:
    return _unary_like(x, "nonlinear")


@_handles("vander")
def _vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    n = len(x) if N is None else N
    cols = [np.ones_like(x)] + [x ** k if k > 1 else x for k in range(1, n)]
    return np.stack(cols if increasing else cols[::-1], axis=1)


@_handles("polyder")
def _polyder(p: Any, m: int = 1) -> Any:
    for _ in range(m):
        n = np.shape(p)[0] - 1
        p = p[:-1] * np.arange(n, 0, -1.0)
    return p


@_handles("polyint")
def _polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    ks = np.zeros(m) if k is None else np.broadcast_to(k, (m,))
    for i in range(m):
        n = np.shape(p)[0]
        p = np.concatenate([p / np.arange(n, 0, -1.0), np.reshape(ks[i], (1,))])
    return p


def _poly_sum(sign: float) -> Callable[..., Any]:
    def impl(a1: Any, a2: Any) -> Any:
        n = max(np.shape(a1)[0], np.shape(a2)[0])
        a1 = np.concatenate([np.zeros(n - np.shape(a1)[0]), a1])
        a2 = np.concatenate([np.zeros(n - np.shape(a2)[0]), a2])
        return a1 + sign * a2
    return impl


_handles("polyadd")(_poly_sum(1.0))
_handles("polysub")(_poly_sum(-1.0))


@_handles("piecewise")
def _piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    conds = _plain_condition(condlist, "the conditions of numpy.piecewise")
    if isinstance(conds, np.ndarray) and conds.ndim == np.ndim(x) and conds.dtype == bool:
        conds = [conds]
    conds = [np.broadcast_to(np.asarray(c, dtype=bool), np.shape(x)) for c in conds]
    if len(funclist) == len(conds) + 1:
        conds.append(~np.any(conds, axis=0))
    y = np.zeros_like(x)
    for cond, func in zip(conds, funclist):
        y[cond] = func(x[cond], *args, **kw) if callable(func) else func
    return y


@_handles("apply_along_axis")
def _apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Any, *args: Any,
                      **kwargs: Any) -> Any:
    ax = normalize_axis_index(axis, np.ndim(arr))
    moved = np.moveaxis(arr, ax, -1)
    lead = np.shape(moved)[:-1]
    outs = [func1d(moved[idx], *args, **kwargs) for idx in np.ndindex(*lead)]
    stacked = np.reshape(np.stack(outs), lead + np.shape(outs[0]))
    nres = np.ndim(outs[0])
    return np.moveaxis(stacked, tuple(range(len(lead), len(lead) + nres)),
                       tuple(range(ax, ax + nres)))


@_handles("clip")
def _clip(a: Any, a_min: Any = _NoValue, a_max: Any = _NoValue, out: Any = None, *,
          min: Any = _NoValue, max: Any = _NoValue, **kwargs: Any) -> Any:
    _no_out(out, "clip")
    lo = a_min if a_min is not _NoValue else (min if min is not _NoValue else None)
    hi = a_max if a_max is not _NoValue else (max if max is not _NoValue else None)
    if lo is not None:
        a = np.maximum(a, lo)  # (ties at the bound: the input's derivative, as the core)
    if hi is not None:
        a = np.minimum(a, hi)
    return a


# --- in place ------------------------------------------------------------------------------
def _write_ids(dst: Any, target_ids: np.ndarray, item: Any) -> None:
    if not isinstance(dst, Tracer):
        raise TypeError("dualad: writing a traced value into a plain array would drop its "
                        "dependence on x; make the array with np.zeros_like(x)")
    base = _root(dst)
    _write(base, np.asarray(target_ids) - base._off, item)


def _cyclic(item: Any, count: int) -> Any:
    """``item`` flattened and repeated to ``count`` elements (numpy's put, place)."""
    flat = np.ravel(item)
    size = np.shape(flat)[0]
    if size == 0:
        raise ValueError("dualad: cannot write from an empty array")
    return flat[np.arange(count) % size] if size != count else flat


@_handles("copyto")
def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    if where is True:
        _write_ids(dst, _idview(dst) if isinstance(dst, Tracer) else np.zeros(0), src)
    else:
        dst[...] = np.where(_plain_condition(where, "where= of numpy.copyto"), src, dst)


@_handles("put")
def _put(a: Any, ind: Any, v: Any, mode: Any = "raise") -> None:
    ids = np.take(_idview(a).reshape(-1), np.ravel(ind), mode=mode)
    _write_ids(a, ids, _cyclic(v, ids.size))


@_handles("putmask")
def _putmask(a: Any, mask: Any, values: Any) -> None:
    m = np.broadcast_to(np.asarray(_plain_condition(mask, "numpy.putmask")), a.shape)
    flat_pos = np.flatnonzero(m)
    vals = _cyclic(values, a.size)
    _write_ids(a, _idview(a).reshape(-1)[flat_pos], vals[flat_pos] if flat_pos.size else vals[:0])


@_handles("place")
def _place(arr: Any, mask: Any, vals: Any) -> None:
    m = np.asarray(_plain_condition(mask, "numpy.place")).reshape(-1)
    pos = np.flatnonzero(m)
    if pos.size:
        _write_ids(arr, _idview(arr).reshape(-1)[pos], _cyclic(vals, pos.size))


@_handles("fill_diagonal")
def _fill_diagonal(a: Any, val: Any, wrap: bool = False) -> None:
    marked = _idview(a).copy()
    np.fill_diagonal(marked, 0, wrap=wrap)
    pos = np.flatnonzero(marked.reshape(-1) == 0)
    _write_ids(a, _idview(a).reshape(-1)[pos], _cyclic(val, pos.size))


@_handles("put_along_axis")
def _put_along_axis(arr: Any, indices: Any, values: Any, axis: Any) -> None:
    if axis is None:
        target = np.take(_idview(arr).reshape(-1), indices)
    else:
        target = np.take_along_axis(_idview(arr), indices, axis=axis)
    _write_ids(arr, target, values)


# --- values and shapes ---------------------------------------------------------------------
def _primal(func: Any, value_free: bool) -> Callable[..., Any]:
    def impl(*args: Any, **kwargs: Any) -> Any:
        run = _run_of(args, tuple(kwargs.values()))
        if run.local:
            return func(*_vals(args), **{k: _vals(v) for k, v in kwargs.items()})
        if not value_free:
            raise _branch_error(_name(func))

        def stand(o: Any) -> Any:  # shape and dtype only
            if isinstance(o, Tracer):
                return np.broadcast_to(np.zeros((), dtype=o.dtype), o.shape)
            if isinstance(o, (list, tuple)):
                return type(o)(stand(e) for e in o)
            return o
        return func(*stand(args), **{k: stand(v) for k, v in kwargs.items()})
    return impl


for _n in ("shape", "ndim", "size", "result_type", "can_cast", "min_scalar_type",
           "common_type", "iscomplexobj", "isrealobj", "iscomplex", "isreal", "einsum_path",
           "diag_indices_from", "tril_indices_from", "triu_indices_from"):
    _handles(_n)(_primal(_lookup(_n), True))
for _n in ("argmax", "argmin", "nanargmax", "nanargmin", "argsort", "argpartition",
           "argwhere", "nonzero", "flatnonzero", "count_nonzero", "searchsorted", "digitize",
           "lexsort", "isclose", "allclose", "array_equal", "array_equiv", "isneginf",
           "isposinf", "isin", "all", "any", "linalg.matrix_rank", "array2string",
           "array_str", "array_repr"):
    if _lookup(_n) is not None:
        _handles(_n)(_primal(_lookup(_n), False))


@_handles("may_share_memory", "shares_memory")
def _shares(a: Any, b: Any, *args: Any, **kwargs: Any) -> bool:
    return isinstance(a, Tracer) and isinstance(b, Tracer) and _root(a) is _root(b)


@_handles("unique", "unique_values")
def _unique(ar: Any, *args: Any, **kwargs: Any) -> Any:
    if not ar._run.local:
        raise _branch_error("numpy.unique")
    if args or any(kwargs.get(k) for k in ("return_index", "return_inverse",
                                           "return_counts")) or kwargs.get("axis") is not None:
        raise _unsupported("numpy.unique with more than the unique values")
    _, first = np.unique(_val(ar), return_index=True)
    return np.ravel(ar)[first]


# =========================================================================================
# linear algebra: every output depends on every input
# =========================================================================================
_DENSE = {  # numpy.linalg functions -> positions of the arguments every output is linear in
    "linalg.solve": (1,), "linalg.tensorsolve": (1,), "linalg.inv": (), "linalg.det": (),
    "linalg.slogdet": (), "linalg.cholesky": (), "linalg.eigh": (), "linalg.eigvalsh": (),
    "linalg.svd": (), "linalg.svdvals": (), "linalg.qr": (), "linalg.pinv": (),
    "linalg.lstsq": (), "linalg.tensorinv": (), "linalg.cond": (), "polyfit": (),
    "poly": (), "polydiv": (),
}


def _standin(o: Any, rng: Optional[np.random.Generator] = None) -> Any:
    """A plain array of ``o``'s shape on which a linear algebra function works (global mode:
    the result's structure only)."""
    if not isinstance(o, Tracer):
        return o
    if rng is not None:
        v = rng.standard_normal(o.shape)
        if o.ndim >= 2:
            v = v + max(o.shape[-2:]) * np.eye(o.shape[-2], o.shape[-1])
        return v
    if o.ndim >= 2:
        return np.broadcast_to(np.eye(o.shape[-2], o.shape[-1]), o.shape).copy()
    return np.arange(1.0, o.size + 1.0).reshape(o.shape)


def _dense(func: Any, linear: Tuple[int, ...]) -> Callable[..., Any]:
    def impl(*args: Any, **kwargs: Any) -> Any:
        run = _run_of(args, tuple(kwargs.values()))
        pos_tracers = [(k, a) for k, a in enumerate(args) if isinstance(a, Tracer)]
        kw_tracers = [a for a in kwargs.values() if isinstance(a, Tracer)]
        if any(isinstance(t, Tracer) and not isinstance(a, Tracer)
               for a in list(args) + list(kwargs.values()) for t in nested_items(a)):
            raise _unsupported(f"{_name(func)} with traced arrays inside lists")
        every = [a for _, a in pos_tracers] + kw_tracers
        nonlin = [a for k, a in pos_tracers if k not in linear] + kw_tracers
        g_all = _union_all(every, run.n)
        h = None
        if run.second:
            g_nl = _union_all(nonlin, run.n)
            hs = [sets.take(_root(t)._h, _rows(t)) for t in every]  # type: ignore[arg-type]
            h_all = sets.build((np.zeros(sum(len(x.idx) for x in hs), dtype=np.int64),
                                np.concatenate([x.idx for x in hs])), 1, _width2(run)) \
                if hs else sets.empty(1)
            h = sets.union([(h_all, None)], 1, _width2(run),
                           [sets.cross(g_nl, np.zeros(1, np.int64), g_all,
                                       np.zeros(1, np.int64), run.n)])
        if run.local:
            with np.errstate(all="ignore"):
                structure = func(*_vals(args), **{k: _vals(v) for k, v in kwargs.items()})
        else:
            try:
                structure = func(*[_standin(a) for a in args],
                                 **{k: _standin(v) for k, v in kwargs.items()})
            except (np.linalg.LinAlgError, ValueError):
                rng = np.random.default_rng(0)
                structure = func(*[_standin(a, rng) for a in args],
                                 **{k: _standin(v, rng) for k, v in kwargs.items()})

        def leaf(v: Any) -> Any:
            v = np.asarray(v)
            rows = np.zeros(v.size, dtype=np.int64)
            if v.dtype.kind not in "f":
                return v if run.local else _empty(run, v.shape)
            return _make(run, v.shape, sets.take(g_all, rows),
                         None if h is None else sets.take(h, rows),
                         v if run.local else None)
        return _map_like(structure, leaf)
    return impl


def _union_all(ts: Sequence[Tracer], n: int) -> Sets:
    """One row: the union of every element's set of the traced arrays ``ts``."""
    parts = [sets.take(_root(t)._g, _rows(t)) for t in ts]
    if not parts:
        return sets.empty(1)
    idx = np.concatenate([p.idx for p in parts])
    return sets.build((np.zeros(idx.size, dtype=np.int64), idx), 1, n)


def _map_like(obj: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # (EighResult, SVDResult, ...)
        return type(obj)(*(_map_like(o, fn) for o in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_like(o, fn) for o in obj)
    return fn(obj)


for _n, _lin in _DENSE.items():
    if _lookup(_n) is not None:
        _handles(_n)(_dense(_lookup(_n), _lin))


def _norm_kind(ord: Any, matrix: bool) -> str:
    if matrix:
        return "piecewise" if ord in (1, -1, np.inf, -np.inf) else "nonlinear"
    if ord == 0:
        return "zero"
    return "piecewise" if ord in (1, np.inf, -np.inf) else "nonlinear"


@_handles("linalg.norm", direct=True)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    nd = x.ndim
    if axis is None:
        matrix = ord is not None and nd == 2
        kind = "nonlinear" if ord is None else _norm_kind(ord, matrix)
        return _reduce_sets(x, None, keepdims, _kind(kind))
    axes = normalize_axis_tuple(axis, nd)
    return _reduce_sets(x, axes, keepdims, _kind(_norm_kind(ord, len(axes) == 2)))


def _kind(kind: str) -> str:
    return "linear" if kind == "piecewise" else kind


@_handles("linalg.vector_norm", direct=True)
def _vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    return _reduce_sets(x, axis, keepdims, _kind(_norm_kind(ord, False)))


@_handles("linalg.matrix_norm", direct=True)
def _matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    return _reduce_sets(x, (-2, -1), keepdims, _kind(_norm_kind(ord, True)))






# --- ufuncs with several outputs -------------------------------------------------------------
def _modf(x: Any) -> Tuple[Any, Any]:
    frac = _unary_like(x, "same", np.modf(_val(x))[0] if x._run.local else None)
    return frac, _empty(x._run, x.shape, np.modf(_val(x))[1] if x._run.local else None)


def _frexp(x: Any) -> Tuple[Any, Any]:
    if x._run.local:
        mant, expo = np.frexp(_val(x))
        return _unary_like(x, "same", mant), expo
    return _unary_like(x, "same"), _empty(x._run, x.shape)


def _divmod(x: Any, y: Any) -> Tuple[Any, Any]:
    return np.floor_divide(x, y), np.remainder(x, y)


def _clip_ufunc(a: Any, lo: Any, hi: Any) -> Any:
    return _clip(a, lo, hi)


# --- ufuncs beyond the rule table, and ufunc.accumulate ---------------------------------------
UFUNCS.update({np.matmul: _matmul, np.modf: _modf, np.frexp: _frexp, np.divmod: _divmod})
if getattr(np, "vecdot", None) is not None:
    UFUNCS[np.vecdot] = lambda a, b: np.sum(a * b, axis=-1)
if getattr(np, "matvec", None) is not None:
    UFUNCS[np.matvec] = _matvec
    UFUNCS[np.vecmat] = _vecmat
_UMATH = getattr(getattr(np, "_core", None), "umath", None)
if _UMATH is not None and getattr(_UMATH, "clip", None) is not None:
    UFUNCS[_UMATH.clip] = _clip_ufunc
ACCUMULATE.update({np.add: lambda x, axis: np.cumsum(x, axis=axis),
                   np.multiply: lambda x, axis: np.cumprod(x, axis=axis),
                   np.maximum: lambda x, axis: _running_extremum(x, axis, np.maximum),
                   np.minimum: lambda x, axis: _running_extremum(x, axis, np.minimum)})
