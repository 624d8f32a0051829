"""``__array_function__``: numpy functions on duals, registered in explicit categories.

- ``structural``: the result rearranges, repeats or selects elements of the inputs (reshape,
  concatenate, take, tril, ...). One generic mechanism serves them all: the function is run
  once on the values and once on arrays of element indices, and the partials are gathered
  with the resulting indices (index 0 is a zero row, for constants and fill values).
- ``linear``: the function is linear in its array argument (sum, mean, cumsum, diff, trace):
  it is applied to the partials with the axes mapped.
- ``custom``: an own derivative rule or a composition of supported operations (prod,
  interp, var, sort, max, the linear algebra in ``core/linalg.py``, the products in
  ``core/bilinear.py``).
- ``primal``: results that do not depend differentiably on the input (argmax, shape,
  isclose, ...); the function is applied to the plain values.
- ``UNSUPPORTED``: everything else numpy can hand us, with the reason; calling one raises a
  TypeError that names it. A derivative is never dropped silently.
"""
import importlib
import inspect
import math
import warnings
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from ..errors import foreign
from ..rules.ufuncs import custom_ufunc
from . import hooks
from .dual import DualNumber, make
from .partials import (accumulate, map_leaves, n_directions, primal, result, split, split_all,
                       tag_of, top_tag, zeros_partials)

HANDLED: dict[Any, Callable[..., Any]] = {}  # numpy function -> implementation
CATEGORY: dict[Any, str] = {}  # numpy function -> category name
UNSUPPORTED: dict[Any, str] = {}  # numpy function -> reason
_NoValue = np._NoValue


def lookup(name: str) -> Any:
    """The numpy function of a dotted name (``"linalg.solve"``), or None."""
    obj: Any = np
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def implements(category: str, *names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` for the numpy functions ``names`` (missing ones are skipped); a
    function registered later than its module's blanket refusal leaves ``UNSUPPORTED``."""
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            func = lookup(name)
            if func is not None:
                HANDLED[func] = impl
                CATEGORY[func] = category
                UNSUPPORTED.pop(func, None)
        return impl
    return register


def unsupported(reason: str, *names: str) -> None:
    for name in names:
        func = lookup(name)
        if func is not None:
            UNSUPPORTED[func] = reason


def array_function(func: Any, types: Any, args: Any, kwargs: dict[str, Any]) -> Any:
    impl = HANDLED.get(func)
    if impl is None:
        why = UNSUPPORTED.get(func)
        raise TypeError(f"dualad: {_qualname(func)} is not supported for DualNumber"
                        + (f" ({why})" if why else "")
                        + "; apply it to x.value if the derivative is not needed")
    if not all(issubclass(t, (DualNumber, np.ndarray)) for t in types):
        return NotImplemented
    refuse_foreign(func, args, kwargs)
    slot: Any = _OUT_SLOTS.get(func, _UNSEEN)
    if slot is _UNSEEN:
        slot = out_slot(func)
    if slot is not None and (kwargs.get("out") is not None
                             or -1 < slot < len(args) and args[slot] is not None):
        return _into_out(func, impl, slot, args, kwargs)
    return impl(*args, **kwargs)


def out_slot(func: Any) -> Optional[int]:
    """The position of ``func``'s out= (-1: keyword-only; None: it has none)."""
    slot = _OUT_SLOTS.get(func, _UNSEEN)
    if slot is _UNSEEN:
        slot = _OUT_SLOTS[func] = _out_slot(func)
    return slot  # type: ignore[return-value]


def writes_out(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> bool:
    """Whether the call ``func(*args, **kwargs)`` passes an out= (by keyword or position):
    HyperDual and Taylor numbers, which write in place through nested duals, ask."""
    slot = out_slot(func)
    return kwargs.get("out") is not None or slot is not None and -1 < slot < len(args) \
        and args[slot] is not None


_UNSEEN = object()
_OUT_SLOTS: dict[Any, Optional[int]] = {}  # numpy function -> position of its out= (-1:
#                                            keyword-only; None: it has no out=)


def _out_slot(func: Any) -> Optional[int]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # (no signature: out=, if any, reaches the implementation)
        return None
    for i, prm in enumerate(params):
        if prm.name == "out":
            return i if prm.kind in (prm.POSITIONAL_ONLY, prm.POSITIONAL_OR_KEYWORD) else -1
    return None


def _into_out(func: Any, impl: Callable[..., Any], slot: int, args: Any,
              kwargs: dict[str, Any]) -> Any:
    """``func(..., out=out)``: the result computed as without out, then written into ``out``
    (a dual: value and partials, through ``__setitem__``, so that a view passes the write on
    to the dual it views), as numpy does; ``out`` is returned. The result is complete before
    the write, so out may alias an input (``np.clip(x, 0, 1, out=x)``)."""
    kwargs = dict(kwargs)
    out = kwargs.pop("out", None)
    if out is None:
        args = list(args)
        out, args[slot] = args[slot], None
    if type(out) is tuple and len(out) == 1:  # (as ufuncs take it)
        out = out[0]
    name = _qualname(func)
    if _dual_leaves((args, tuple(kwargs.values()))):
        res = impl(*args, **kwargs)
    else:  # only out is a dual: numpy's own function on the plain inputs
        res = func(*args, **kwargs)
    if isinstance(res, tuple) or not isinstance(out, (DualNumber, np.ndarray)):
        raise TypeError(f"dualad: {name}(..., out=) takes one array for its one result; "
                        "assign the result instead")
    if isinstance(res, DualNumber) and not isinstance(out, DualNumber):
        raise TypeError(f"dualad: {name}(..., out=ndarray) would drop the derivative; pass "
                        "a DualNumber as out (np.zeros_like(x) of a dual x is one), or no out")
    if np.shape(res) != np.shape(out):
        raise ValueError(f"dualad: {name} gives shape {np.shape(res)}, which does not fit "
                         f"out= of shape {np.shape(out)}")
    out[...] = res
    return out


_PLAIN = frozenset({DualNumber, np.ndarray, float, int, bool, str, type(None)})


def refuse_foreign(func: Any, args: Any, kwargs: dict[str, Any]) -> None:
    """Raise the TypeError naming a masked array, np.matrix or pandas object among the
    arguments of ``func`` (``errors.foreign``): read as a plain array, it would lose its
    meaning. (pandas' types are not in ``types``: they have no __array_function__.)"""
    for a in args:  # (the usual arguments, cheaply: every numpy call on a dual comes here)
        if type(a) not in _PLAIN:
            break
    else:
        for a in kwargs.values():
            if type(a) not in _PLAIN:
                break
        else:
            return
    if foreign(args) is not None or kwargs and foreign(tuple(kwargs.values())) is not None:
        raise foreign((args, tuple(kwargs.values())),  # type: ignore[misc]
                      f"an argument of {_qualname(func)}")


def _qualname(func: Any) -> str:
    # the public path: numpy._core.fromnumeric.sum -> numpy.sum, numpy.fft._pocketfft.fft ->
    # numpy.fft.fft, numpy.lib._function_base_impl.diff -> numpy.diff
    public = []
    for part in (getattr(func, "__module__", None) or "numpy").split("."):
        if part.startswith("_"):
            break
        public.append(part)
    if public == ["numpy", "lib"]:
        public = ["numpy"]
    return ".".join(public + [func.__name__])


def _no_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(f"dualad: numpy.{name}(..., out=) is not supported for DualNumber; "
                        "assign the result instead")


def _dual_leaves(obj: Any) -> bool:
    """True if a (nested) list/tuple holds a DualNumber."""
    if isinstance(obj, DualNumber):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_dual_leaves(o) for o in obj)
    return False


def nested_items(obj: Any) -> Iterator[Any]:
    """The items of nested lists and tuples, in order (a numpy function's operands)."""
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from nested_items(o)
    else:
        yield obj


def _map_out(value: Any, index: Any, fn: Callable[[Any, Any], Any]) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(fn(v, i) for v, i in zip(value, index))
    return fn(value, index)


# =========================================================================================
# structural: one gather mechanism
# =========================================================================================
def gather(func: Callable[..., Any], data: Sequence[Any],
           index_kwargs: Optional[dict[str, Any]] = None) -> Callable[..., Any]:
    """Implementation of a structural ``func`` whose data arguments are at ``data``.

    ``data`` holds positions of positional arguments or names of keyword arguments; a data
    argument may be a (nested) sequence of arrays. ``index_kwargs`` overrides keywords for
    the index pass (a fill value must be 0 there, the zero row).
    """
    def impl(*args, **kwargs):  # (out=: array_function writes the result into it)
        args = list(args)
        slots = [(args, d) for d in data if isinstance(d, int) and d < len(args)]
        slots += [(kwargs, d) for d in data if isinstance(d, str) and d in kwargs]
        tag = top_tag(leaf for c, k in slots for leaf in nested_items(c[k]))
        n = n_directions(*(leaf.partials for c, k in slots for leaf in nested_items(c[k])
                           if tag_of(leaf) == tag))
        vargs, vkw = list(args), dict(kwargs)
        for c, k in slots:
            target = vargs if c is args else vkw
            target[k] = map_leaves(c[k], lambda x: split(x, tag)[0])
        value = func(*vargs, **vkw)

        pieces, offset = [], [1]

        def to_index(x):
            if tag_of(x) == tag:
                idx = np.arange(offset[0], offset[0] + x.size).reshape(x.shape)
                offset[0] += x.size
                pieces.append(x.partials.reshape(x.size, n))
                return idx
            return np.zeros(np.shape(x), dtype=np.intp)

        iargs, ikw = list(args), dict(kwargs, **(index_kwargs or {}))
        for c, k in slots:
            target = iargs if c is args else ikw
            target[k] = map_leaves(c[k], to_index)
        index = func(*iargs, **ikw)
        dtype = np.result_type(*(primal(p) for p in pieces))
        table = np.concatenate([np.zeros((1, n), dtype=dtype)] + pieces)
        out = _map_out(value, index, lambda v, i: result(v, table[i], tag))
        if slots == [(args, 0)] and isinstance(args[0], DualNumber) and args[0]._tag == tag:
            _link_views(out, args[0], lambda a: func(a, *args[1:], **kwargs),
                        lambda b: impl(b, *args[1:], **kwargs))
        return out
    return impl


def _link_views(out: Any, source: DualNumber, func: Callable[[Any], Any],
                again: Callable[[Any], Any]) -> None:
    """Results that numpy made views of ``source``'s value (ravel, swapaxes, split, ...) get
    partials that view ``source``'s partials the same way, and a link to ``source``, so that
    a write into them reaches it as in numpy (``_assign``). ``func(a)`` makes the views;
    ``again(source)`` makes the results anew (after ``source`` is promoted)."""
    views = [(k, o) for k, o in enumerate(nested_items(out))
             if isinstance(o, DualNumber) and _shares(o.value, source.value)]
    if not views:
        return
    try:
        twins = _twins(func, source.partials, source.ndim)
    except ValueError:  # partials numpy cannot view per element: writes into them raise
        twins = None
    for k, o in views:
        if twins is None:
            o._base = (source, None)
        else:
            o._p = twins[k]
            o._base = (source, lambda b, k=k: list(nested_items(again(b)))[k])


def _twins(func: Callable[[Any], Any], p: Any, lead: int) -> list[Any]:
    """The leaves of ``func`` applied to ``p`` (``lead`` axes of the value, then each
    element's directions) as it was to the value: each element's directions are one record,
    so that func views them as it views the value. ValueError where no view is possible."""
    if isinstance(p, DualNumber):  # (nested duals: partials that are duals themselves)
        return [make(v, q, p._tag) for v, q in zip(_twins(func, p.value, lead),
                                                      _twins(func, p.partials, lead))]
    tail = p.shape[lead:]
    flat = np.reshape(p, p.shape[:lead] + (math.prod(tail),), copy=False)
    records = flat.view(np.dtype([("p", p.dtype, flat.shape[-1:])]))[..., 0]
    return [r["p"].reshape(r.shape + tail) for r in nested_items(func(records))]


def _shares(a: Any, b: Any) -> bool:
    while isinstance(a, DualNumber) and isinstance(b, DualNumber):
        a, b = a.value, b.value
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and \
        np.may_share_memory(a, b)


def _structural(data: Sequence[Any], *names: str,
                index_kwargs: Optional[dict[str, Any]] = None) -> None:
    for name in names:
        func = lookup(name)
        if func is not None:
            implements("structural", name)(gather(func, data, index_kwargs))


_structural((0,), "ravel", "swapaxes", "moveaxis", "rollaxis", "squeeze",
            "expand_dims", "broadcast_to", "diagonal", "linalg.diagonal", "diag", "diagflat",
            "tril", "triu", "flip", "fliplr", "flipud", "rot90", "roll", "take",
            "take_along_axis", "repeat", "tile", "resize", "delete", "matrix_transpose",
            "linalg.matrix_transpose", "split", "array_split", "hsplit", "vsplit", "dsplit",
            "unstack", "lib.stride_tricks.sliding_window_view")
_structural((0,), "concatenate", "stack", "hstack", "vstack", "column_stack", "dstack",
            "block")
_structural(tuple(range(32)), "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays",
            "meshgrid")
_structural((0, 1), "append")
_structural((0, 2, "values"), "insert")
_structural((1,), "compress", "extract", "choose")
_structural((1, 2, "default"), "select")


@implements("structural", "reshape")
def _reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None,
             copy: Optional[bool] = None) -> Any:
    shape = newshape if shape is None else shape
    if order != "C":
        return gather(np.reshape, (0,))(a, shape, order=order)
    value = np.reshape(a.value, shape, copy=copy)  # (copy=False refused where numpy does)
    partials = a.partials.reshape(value.shape + a.partials.shape[-1:])
    out = make(value, partials.copy() if copy else partials, a._tag)
    if _shares(value, a.value):  # a view, as numpy's: writes into it must reach a
        out._base = (a, lambda b: _reshape(b, shape))
    return out


@implements("structural", "transpose", "permute_dims")
def _transpose(a: Any, axes: Any = None) -> DualNumber:
    nd = a.ndim
    axes = tuple(range(nd))[::-1] if axes is None else normalize_axis_tuple(axes, nd)
    out = make(np.transpose(a.value, axes), a.partials.transpose(axes + (nd,)), a._tag)
    out._base = (a, lambda b: _transpose(b, axes))  # a view, as numpy's
    return out


@implements("structural", "where")
def _where(condition: Any, x: Any = _NoValue, y: Any = _NoValue) -> Any:
    if x is _NoValue and y is _NoValue:
        return np.where(primal(condition))
    if not _dual_leaves((x, y)):  # only the condition is a dual: its value selects
        return np.where(primal(condition), x, y)
    # the branch not taken contributes nothing, even where it is inf or nan
    return gather(np.where, (1, 2))(primal(condition), x, y)


@implements("custom", "copy")
def _copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    return a.copy()


@implements("custom", "astype")
def _astype(x: Any, dtype: Any, /, *, copy: bool = True, device: Any = None) -> Any:
    return x.astype(dtype, copy=copy)


# --- *_like: a dual with zero partials, so preallocated outputs accept dual items ---------
def _like(maker: Callable[..., Any]) -> Callable[..., Any]:
    def impl(a, *args, dtype=None, shape=None, **kwargs):
        fill = args[0] if maker is np.full_like else None
        base = primal(a)
        if dtype is not None and np.dtype(dtype).kind != "f":
            return maker(base, *args, dtype=dtype, shape=shape, **kwargs)
        value = maker(base, *((0.0,) if fill is not None else ()), dtype=dtype, shape=shape,
                      **kwargs)
        out = make(value, zeros_partials(value, a.n_directions if isinstance(a, DualNumber)
                                         else 1), max(tag_of(a), 0))
        if fill is not None:
            out[...] = fill
        return out
    return impl


for _maker in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
    implements("custom", _maker.__name__)(_like(_maker))


# =========================================================================================
# linear: applied to the partials with the axes mapped
# =========================================================================================
def _axes(axis: Any, ndim: int) -> Tuple[int, ...]:
    return tuple(range(ndim)) if axis is None else normalize_axis_tuple(axis, ndim)


def _expand_where(where: Any) -> Any:
    return where if where is True else np.asarray(primal(where))[..., None]


def _float_dtype(dtype: Any, name: str) -> None:
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise TypeError(f"dualad: numpy.{name}(..., dtype={dtype}) would drop the derivative")


def _linear_reduction(func: Callable[..., Any]) -> Callable[..., Any]:
    def impl(a, axis=None, dtype=None, out=None, keepdims=False, where=True, **kw):
        _no_out(out, func.__name__)
        _float_dtype(dtype, func.__name__)
        tag = top_tag((a,))
        v, p = split(a, tag)
        value = func(v, axis=axis, dtype=dtype, keepdims=keepdims, where=where, **kw)
        partials = func(p, axis=_axes(axis, np.ndim(v)), dtype=dtype, keepdims=keepdims,
                        where=_expand_where(where))
        return result(value, partials, tag)
    return impl


implements("linear", "sum")(_linear_reduction(np.sum))
implements("linear", "mean")(_linear_reduction(np.mean))


def _scan(func: Callable[..., Any]) -> Callable[..., Any]:
    def impl(a, axis=None, dtype=None, out=None, **kw):
        _no_out(out, func.__name__)
        _float_dtype(dtype, func.__name__)
        tag = top_tag((a,))
        v, p = split(a, tag)
        value = func(v, axis=axis, dtype=dtype, **kw)
        if axis is None:
            p, axis = p.reshape(-1, p.shape[-1]), 0
        else:
            axis = normalize_axis_tuple(axis, np.ndim(v))[0]
        return result(value, func(p, axis=axis, dtype=dtype, **kw), tag)
    return impl


implements("linear", "cumsum")(_scan(np.cumsum))
if hasattr(np, "cumulative_sum"):
    implements("linear", "cumulative_sum")(_scan(np.cumulative_sum))


@implements("linear", "pad")
def _pad(array: Any, pad_width: Any, mode: Any = "constant", **kwargs: Any) -> Any:
    # every mode but the order statistics is affine in the array: the partials are padded
    # the same way with zero constants (and nothing added along the direction axis)
    if callable(mode) or mode in ("maximum", "minimum", "median"):
        raise TypeError(f"dualad: numpy.pad(..., mode={mode!r}) is not supported for "
                        "DualNumber")
    tag = top_tag((array,))
    v, p = split(array, tag)
    value = np.pad(v, pad_width, mode, **kwargs)
    nd = np.ndim(v)
    if isinstance(pad_width, dict):  # {axis: width}, numpy >= 2.3
        width = np.zeros((nd, 2), dtype=np.intp)
        for ax, w in pad_width.items():
            width[normalize_axis_tuple(ax, nd)[0]] = np.broadcast_to(w, (2,))
    else:
        width = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (nd, 2))
    pkw = {k: (0.0 if k in ("constant_values", "end_values") else val)
           for k, val in kwargs.items()}
    if pkw.get("stat_length") is not None:
        stat = np.broadcast_to(np.asarray(pkw["stat_length"], dtype=np.intp), (nd, 2))
        pkw["stat_length"] = np.concatenate([stat, [[1, 1]]])
    if mode == "empty":
        mode, pkw = "constant", {}
    partials = np.pad(p, np.concatenate([width, [[0, 0]]]), mode, **pkw)
    return result(value, partials, tag)


@implements("linear", "linalg.trace")
def _linalg_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    return _trace(x, offset, -2, -1, dtype)


@implements("linear", "trace")
def _trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
           out: Any = None) -> Any:
    _no_out(out, "trace")
    tag = top_tag((a,))
    v, p = split(a, tag)
    ax1, ax2 = normalize_axis_tuple((axis1, axis2), np.ndim(v))
    return result(np.trace(v, offset, ax1, ax2, dtype),
                  np.trace(p, offset, ax1, ax2, dtype), tag)


def with_ends(a: Any, axis: int, prepend: Any = _NoValue, append: Any = _NoValue) -> Any:
    """``a`` with np.diff's ``prepend`` and ``append`` joined along ``axis`` (a scalar end
    broadcast to one slice), as np.diff does before differencing."""
    if prepend is _NoValue and append is _NoValue:
        return a
    ax = normalize_axis_tuple(axis, np.ndim(a))[0]
    parts = []
    for extra in (prepend, a, append):
        if extra is _NoValue:
            continue
        if np.ndim(extra) == 0:
            shape = list(np.shape(a))
            shape[ax] = 1
            extra = np.broadcast_to(extra, tuple(shape))
        parts.append(extra)
    return np.concatenate(parts, axis=ax)


@implements("linear", "diff")
def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = _NoValue,
          append: Any = _NoValue) -> Any:
    a = with_ends(a, axis, prepend, append)
    tag = top_tag((a,))
    v, p = split(a, tag)
    ax = normalize_axis_tuple(axis, np.ndim(v))[0]
    return result(np.diff(v, n, ax), np.diff(p, n, ax), tag)


# =========================================================================================
# custom rules and compositions
# =========================================================================================
def _to_last(x: Any, axis: Any) -> Tuple[Any, Tuple[int, ...]]:
    """Move the ``axis`` (None/int/tuple) axes of ``x`` to one trailing axis."""
    axes = _axes(axis, x.ndim)
    keep = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, keep + list(axes))
    lead = tuple(x.shape[i] for i in keep)
    return np.reshape(moved, lead + (-1,)), axes


def _restore(r: Any, shape: Tuple[int, ...], axes: Tuple[int, ...], keepdims: bool) -> Any:
    if not keepdims:
        return r
    return np.reshape(r, tuple(1 if i in axes else s for i, s in enumerate(shape)))


@implements("custom", "prod")
def _prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
          initial: Any = _NoValue, where: Any = True) -> Any:
    _no_out(out, "prod")
    _float_dtype(dtype, "prod")
    if initial is not _NoValue or where is not True:
        raise TypeError("dualad: numpy.prod(..., initial=, where=) is not supported for "
                        "DualNumber")
    tag = top_tag((a,))
    v, p = split(a, tag)
    flat_v, axes = _to_last(v, axis)
    flat_p, _ = _to_last(np.moveaxis(p, -1, 0), tuple(i + 1 for i in axes))
    # product of all other factors, without dividing (exact when a factor is 0)
    ones = np.ones_like(flat_v[..., :1])
    left = np.cumprod(np.concatenate([ones, flat_v[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat_v[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = left * right
    value = np.prod(v, axis=axis, keepdims=keepdims)
    partials = np.moveaxis(np.sum(flat_p * others, axis=-1), 0, -1)
    if keepdims:
        partials = partials.reshape(np.shape(value) + partials.shape[-1:])
    return result(value, partials, tag)


@implements("custom", "cumprod", "cumulative_prod")
def _cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             include_initial: bool = False) -> Any:
    _no_out(out, "cumprod")
    _float_dtype(dtype, "cumprod")
    if include_initial:
        raise TypeError("dualad: cumulative_prod(..., include_initial=True) is not supported")
    if axis is None:
        a, axis = np.ravel(a), 0
    tag = top_tag((a,))
    v, p = split(a, tag)
    ax = normalize_axis_tuple(axis, np.ndim(v))[0]
    vm, pm = np.moveaxis(v, ax, -1), np.moveaxis(p, ax, -2)
    c = np.cumprod(vm, axis=-1)
    dc = None
    vp = primal(vm)
    # dividing by v is exact enough only for normal numbers (1/v of a subnormal overflows)
    if np.all(np.abs(vp) >= np.finfo(vp.dtype).tiny):
        with np.errstate(over="ignore", invalid="ignore"):
            dc = c[..., None] * np.cumsum(pm / vm[..., None], axis=-2)
        if not np.all(np.isfinite(primal(dc))):
            dc = None  # an overflow (or inf/nan inputs): take the division-free path
    if dc is None:
        # with zeros: dc_j = sum_{i<=j} (prod_{l<i} v_l)(prod_{i<l<=j} v_l) dv_i
        k = vm.shape[-1]
        later = np.arange(k)[None, :] > np.arange(k)[:, None]
        span = np.cumprod(np.where(later, vm[..., None, :], 1.0), axis=-1)
        span = np.where(later | np.eye(k, dtype=bool), span, 0.0)
        prefix = np.concatenate([np.ones_like(vm[..., :1]), c[..., :-1]], axis=-1)
        dc = np.einsum("...ij,...i,...in->...jn", span, prefix, pm)
    return result(np.moveaxis(c, -1, ax), np.moveaxis(dc, -2, ax), tag)


def _pick(x: Any, axis: Any, keepdims: bool, argfunc: Callable[..., Any]) -> Any:
    """The elements of ``x`` that ``argfunc`` selects along ``axis`` (with their partials)."""
    if x.size == 0:
        raise ValueError("dualad: zero-size array to a reduction with no identity")
    flat, axes = _to_last(x, axis)
    idx = argfunc(primal(flat), axis=-1)[..., None]
    picked = np.take_along_axis(flat, idx, axis=-1)[..., 0]
    return _restore(picked, x.shape, axes, keepdims)


def _extremum(argfunc: Callable[..., Any], name: str) -> Callable[..., Any]:
    def impl(a, axis=None, out=None, keepdims=False, initial=_NoValue, where=_NoValue):
        _no_out(out, name)
        if initial is not _NoValue or where is not _NoValue:
            raise TypeError(f"dualad: numpy.{name}(..., initial=, where=) is not supported "
                            "for DualNumber")
        return _pick(a, axis, keepdims, argfunc)  # ties: the first occurrence
    return impl


implements("custom", "max", "amax")(_extremum(np.argmax, "max"))
implements("custom", "min", "amin")(_extremum(np.argmin, "min"))
implements("custom", "nanmax")(_extremum(np.nanargmax, "nanmax"))
implements("custom", "nanmin")(_extremum(np.nanargmin, "nanmin"))


@implements("custom", "ptp")
def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    _no_out(out, "ptp")
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def running_extremum(x: Any, axis: Any, ufunc: Any) -> Any:
    """``maximum.accumulate`` / ``minimum.accumulate``: partials of the running winner."""
    ax = normalize_axis_tuple(axis, x.ndim)[0]
    v = primal(x)
    run = ufunc.accumulate(v, axis=ax)
    prev = np.concatenate([np.take(v, [0], axis=ax), np.take(run, np.arange(v.shape[ax] - 1),
                                                             axis=ax)], axis=ax)
    better = (v > prev) if ufunc is np.maximum else (v < prev)
    pos = np.arange(v.shape[ax]).reshape((-1,) + (1,) * (v.ndim - ax - 1))
    winner = np.maximum.accumulate(np.where(better, pos, 0), axis=ax)
    return np.take_along_axis(x, winner, axis=ax)


@implements("custom", "sort")
def _sort(a: Any, axis: Optional[int] = -1, kind: Any = None, order: Any = None, *,
          stable: Optional[bool] = None) -> Any:
    if order is not None:
        raise TypeError("dualad: numpy.sort(..., order=) applies to structured arrays only")
    if axis is None:
        a, axis = np.ravel(a), 0
    idx = np.argsort(primal(a), axis=axis, kind="stable")  # ties keep their order
    return np.take_along_axis(a, idx, axis=axis)


@implements("custom", "partition")
def _partition(a: Any, kth: Any, axis: Optional[int] = -1, kind: str = "introselect",
               order: Any = None) -> Any:
    if axis is None:
        a, axis = np.ravel(a), 0
    return np.take_along_axis(a, np.argpartition(primal(a), kth, axis=axis), axis=axis)


@implements("custom", "clip")
def _clip(a: Any, a_min: Any = _NoValue, a_max: Any = _NoValue, out: Any = None, *,
          min: Any = _NoValue, max: Any = _NoValue, **kwargs: Any) -> Any:
    _no_out(out, "clip")
    lo = a_min if a_min is not _NoValue else (min if min is not _NoValue else None)
    hi = a_max if a_max is not _NoValue else (max if max is not _NoValue else None)
    # at the bounds the derivative is the input's (maximum/minimum ties: first argument)
    if lo is not None:
        a = np.maximum(a, lo)
    if hi is not None:
        a = np.minimum(a, hi)
    # numpy returns a new array even without bounds: writes into it must not reach the input
    return np.copy(a) if lo is None and hi is None else a


def _register_clip_ufunc() -> None:
    clip_ufunc = getattr(np._core.umath, "clip", None)  # type: ignore[attr-defined]
    if clip_ufunc is not None:
        custom_ufunc(clip_ufunc)(lambda a, lo, hi: _clip(a, lo, hi))


_register_clip_ufunc()


@implements("custom", "var")
def _var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: bool = False, *, where: Any = _NoValue, mean: Any = _NoValue,
         correction: Any = _NoValue) -> Any:
    _no_out(out, "var")
    _float_dtype(dtype, "var")
    if where is not _NoValue:
        raise TypeError("dualad: numpy.var(..., where=) is not supported for DualNumber")
    if correction is not _NoValue:
        ddof = correction
    axes = _axes(axis, np.ndim(a))
    count = int(np.prod([np.shape(a)[i] for i in axes]))
    m = np.mean(a, axis=axes, keepdims=True) if mean is _NoValue else mean
    dev = a - m
    dof = max(count - ddof, 0)
    if dof == 0:  # numpy's warning, then inf or nan: a 0-d divisor divides as numpy does
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        dof = np.zeros((), dtype=np.result_type(primal(a), np.float32))
    return np.sum(dev * dev, axis=axes, keepdims=keepdims) / dof


@implements("custom", "std")
def _std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
         keepdims: bool = False, **kwargs: Any) -> Any:
    # sqrt at a zero variance with a zero tangent gives 0 (the NaN-safe chain rule)
    return np.sqrt(_var(a, axis, dtype, out, ddof, keepdims, **kwargs))


@implements("custom", "average")
def _average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
             keepdims: bool = False) -> Any:
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        scale = np.asarray(primal(a).size / max(np.size(primal(avg)), 1), dtype=float)
        total = np.broadcast_to(scale, np.shape(avg)).copy()
    else:
        w = weights
        if np.ndim(w) != np.ndim(a):
            if axis is None or np.ndim(w) != 1:
                raise ValueError("dualad: average: 1-D weights need an int axis")
            ax = normalize_axis_tuple(axis, np.ndim(a))[0]
            w = np.reshape(w, (1,) * ax + (-1,) + (1,) * (np.ndim(a) - ax - 1))
        w = w + np.zeros_like(primal(a))
        total = np.sum(w, axis=axis, keepdims=keepdims)
        avg = np.sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


@implements("custom", "interp")
def _interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
            period: Any = None) -> Any:
    if period is not None or left is not None or right is not None:
        raise TypeError("dualad: numpy.interp with left/right/period is not supported for "
                        "DualNumber")
    if isinstance(xp, DualNumber):
        raise TypeError("dualad: numpy.interp: derivatives with respect to xp are not "
                        "supported; pass xp as a plain array")
    xp = np.asarray(xp, dtype=float)
    xv = primal(x)
    # segment of each point; at a breakpoint the segment to its right (the last one at the end)
    i = np.clip(np.searchsorted(xp, xv, side="right") - 1, 0, len(xp) - 2)
    lo, hi = xp[i], xp[i + 1]
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)  # clipped: constant outside [xp0, xp-1]
    f_lo, f_hi = np.take(fp, i), np.take(fp, i + 1)
    return f_lo + t * (f_hi - f_lo)


@implements("custom", "polyval")
def _polyval(p: Any, x: Any) -> Any:
    if isinstance(p, np.poly1d):  # (its p[i] is the coefficient of x**i, as numpy knows)
        p = p.coeffs
    y = np.zeros_like(x) if isinstance(x, DualNumber) else np.zeros(np.shape(x))
    for c in (p[i] for i in range(len(p))):  # Horner: one step per coefficient
        y = y * x + c
    return y


# --- convolution, covariance, gradient, polynomials -------------------------------------
def _numpy_valued(func: Callable[..., Any], composed: Callable[..., Any], *args: Any,
                  **kwargs: Any) -> Any:
    """``composed(*args, **kwargs)``, a composition of differentiable operations equal to
    ``func``, with numpy's own ``func`` of the values as its value (numpy's bits; nested
    duals recurse): its tangent is the composition's."""
    tag = top_tag(list(nested_items((args, tuple(kwargs.values())))))
    value = func(*map_leaves(args, lambda a: split(a, tag)[0]),
                 **{k: map_leaves(v, lambda a: split(a, tag)[0]) for k, v in kwargs.items()})
    with np.errstate(divide="ignore", invalid="ignore"):  # (numpy's call has warned)
        composed_result = composed(*args, **kwargs)
    return result(value, split(composed_result, tag)[1], tag)


def _correlate_full(a: Any, v: Any) -> Any:
    """``c[k] = sum_j a[k + j - (M - 1)] v[j]`` for every k (the full correlation) of a 1-d
    ``a`` and ``v`` of length M, one of them with a trailing direction axis: a contraction
    over sliding windows of ``a`` zero-padded by M - 1 on both sides (no loop)."""
    m = np.shape(v)[0]
    pad = [(m - 1, m - 1)] + [(0, 0)] * (np.ndim(a) - 1)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(a, pad), m, axis=0)
    if np.ndim(a) == 2:  # (K, n, M) windows of partials, v plain
        return np.einsum("knm,m->kn", windows, v)
    return np.matmul(windows, v)  # (K, M) @ (M[, n])


_MODES = {0: "valid", 1: "same", 2: "full"}


def _correlation(func: Callable[..., Any], flip: bool) -> Callable[..., Any]:
    """np.correlate (``flip`` False) and np.convolve (``flip``: v reversed): bilinear, so the
    tangent is the full correlation of each operand's partials with the other's value, cut
    as numpy cuts the value for ``mode``."""
    def impl(a, v, mode="valid" if not flip else "full"):
        tag, (av, vv), (ap, vp) = split_all(a, v)
        value = func(av, vv, mode=mode)  # numpy's checks (1-d, not empty, mode) first
        # (numpy also takes 0, 1, 2; older ones read a string's first letter)
        mode = _MODES[int(mode)] if isinstance(mode, (int, np.integer)) else \
            _MODES[{"v": 0, "s": 1, "f": 2}[mode.lower()[0]]]
        if flip:
            vv, vp = vv[::-1], None if vp is None else vp[::-1]
        n, m = np.shape(av)[0], np.shape(vv)[0]
        terms = []
        if ap is not None:
            terms.append(_correlate_full(ap, vv))
        if vp is not None:
            terms.append(_correlate_full(av, vp))
        full = accumulate(*terms)
        short = min(n, m)
        # where numpy's result starts in the full one (numpy swaps the operands so that the
        # longer comes first, and for correlate reverses the result back)
        if mode == "full":
            start = 0
        elif mode == "valid":
            start = short - 1
        else:
            start = (short - 1) // 2 if flip or n >= m else n // 2
        return result(value, full[start:start + np.shape(value)[0]], tag)
    return impl


implements("custom", "correlate")(_correlation(np.correlate, False))
implements("custom", "convolve")(_correlation(np.convolve, True))


def _plain_weights(name: str, **weights: Any) -> None:
    for key, w in weights.items():
        if _dual_leaves(w):
            raise TypeError(f"dualad: numpy.{name}(..., {key}=) takes plain (constant) "
                            f"weights; pass {key}=w.value, or write the weighted sums with "
                            "np.average(..., weights=w)")


def _cov_composed(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False,
                  ddof: Any = None, fweights: Any = None, aweights: Any = None, *,
                  dtype: Any = None) -> Any:
    """numpy's np.cov (its own steps) with differentiable operations; numpy's call on the
    values has checked the arguments."""
    def rows(a: Any) -> Any:
        a = np.reshape(a, (1,) * (2 - np.ndim(a)) + np.shape(a))
        return a if dtype is None else a.astype(dtype) if isinstance(a, DualNumber) else \
            np.asarray(a, dtype=dtype)
    x = rows(m)
    if not rowvar and np.ndim(m) != 1:
        x = np.transpose(x)
    if y is not None:
        y2 = rows(y)
        if not rowvar and y2.shape[0] != 1:
            y2 = np.transpose(y2)
        x = np.concatenate((x, y2), axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = np.asarray(fweights, dtype=float)
    if aweights is not None:
        aw = np.asarray(aweights, dtype=float)
        w = aw if w is None else w * aw
    avg, w_sum = np.average(x, axis=1, weights=w, returned=True)
    w_sum = primal(w_sum)[0]
    if w is None:
        fact = x.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * aw) / w_sum
    fact = max(fact, 0.0)
    xc = x - avg[:, None]
    c = np.dot(xc, np.transpose(xc if w is None else xc * w))
    return np.squeeze(c * np.true_divide(1, fact))


@implements("custom", "cov")
def _cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
         fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    _plain_weights("cov", fweights=fweights, aweights=aweights)
    _float_dtype(dtype, "cov")
    return _numpy_valued(np.cov, _cov_composed, m, y, rowvar, bias, ddof, fweights, aweights,
                         dtype=dtype)


def _corrcoef_composed(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None,
                       **ignored: Any) -> Any:
    c = _cov_composed(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return c / c
    std = np.sqrt(np.diagonal(c))
    return np.clip(c / std[:, None] / std[None, :], -1, 1)


@implements("custom", "corrcoef")
def _corrcoef(x: Any, y: Any = None, rowvar: bool = True, bias: Any = _NoValue,
              ddof: Any = _NoValue, *, dtype: Any = None) -> Any:
    _float_dtype(dtype, "corrcoef")
    extra = {k: v for k, v in (("bias", bias), ("ddof", ddof)) if v is not _NoValue}
    return _numpy_valued(np.corrcoef, _corrcoef_composed, x, y, rowvar, dtype=dtype, **extra)


@implements("linear", "gradient")
def _gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    # linear in f for given spacing: numpy's own gradient of the partials, axes kept
    if _dual_leaves(varargs):
        raise TypeError("dualad: numpy.gradient with DualNumber spacing or coordinates is "
                        "not supported (the derivative with respect to f is); pass them as "
                        "plain arrays (x.value)")
    tag = top_tag((f,))
    v, p = split(f, tag)
    gradient: Any = np.gradient  # (numpy's overloads do not know duals)
    value = gradient(v, *varargs, axis=axis, edge_order=edge_order)
    partials = gradient(p, *varargs, axis=_axes(axis, np.ndim(v)), edge_order=edge_order)
    if isinstance(value, (tuple, list)):
        return type(value)(result(a, b, tag) for a, b in zip(value, partials))
    return result(value, partials, tag)


def _coefficients(p: Any, name: str) -> Any:
    if isinstance(p, np.poly1d):  # (a poly1d holds plain numbers only)
        raise TypeError(f"dualad: numpy.{name} of a numpy.poly1d and a DualNumber: a poly1d "
                        "cannot hold derivatives; pass its coefficients p.coeffs (the "
                        "result is an array of coefficients)")
    return np.atleast_1d(p)


@implements("custom", "polyder")
def _polyder(p: Any, m: int = 1) -> Any:
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coefficients(p, "polyder")
    for _ in range(m):  # numpy's steps: the same products
        p = p[:-1] * np.arange(len(p) - 1, 0, -1)
    return p


@implements("custom", "polyint")
def _polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    if isinstance(k, (list, tuple)):  # (may hold duals: numpy's atleast_1d would not see them)
        k = np.stack(k)
    k = np.zeros(m) if k is None else np.atleast_1d(k)
    if len(k) == 1 and m > 1:
        k = k[0] * np.ones(m)
    if len(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coefficients(p, "polyint")
    for i in range(m):
        p = np.concatenate((p / np.arange(len(p), 0, -1), np.reshape(k[i], (1,))))
    return p


def _poly_sum(sign: float, name: str) -> Callable[..., Any]:
    def impl(a1, a2):
        a1, a2 = _coefficients(a1, name), _coefficients(a2, name)
        diff = len(a2) - len(a1)  # the shorter is padded with leading zeros, as numpy does
        if diff > 0:
            a1 = np.concatenate((np.zeros(diff), a1))
        elif diff < 0:
            a2 = np.concatenate((np.zeros(-diff), a2))
        return a1 + a2 if sign > 0 else a1 - a2
    return impl


implements("custom", "polyadd")(_poly_sum(1.0, "polyadd"))
implements("custom", "polysub")(_poly_sum(-1.0, "polysub"))


@implements("custom", "polymul")
def _polymul(a1: Any, a2: Any) -> Any:
    return np.convolve(_coefficients(a1, "polymul"), _coefficients(a2, "polymul"))


@implements("custom", "polydiv")
def _polydiv(u: Any, v: Any) -> Tuple[Any, Any]:
    u = _coefficients(u, "polydiv") + 0.0
    v = _coefficients(v, "polydiv") + 0.0
    w = u[0] + v[0]  # (a dual: at least one of u, v is)
    m, n = len(u) - 1, len(v) - 1
    scale = 1.0 / v[0]
    q = np.zeros_like(w, shape=(max(m - n + 1, 1),))
    r = np.zeros_like(w, shape=u.shape)
    r[...] = u
    for k in range(m - n + 1):  # numpy's long division, step for step
        d = scale * r[k]
        q[k] = d
        r[k:k + n + 1] -= d * v
    while np.allclose(primal(r[0]), 0, rtol=1e-14) and r.shape[-1] > 1:
        r = r[1:]
    return q, r


@implements("custom", "poly")
def _poly(seq_of_zeros: Any) -> Any:
    zeros = np.atleast_1d(seq_of_zeros)
    if zeros.ndim != 1:
        raise TypeError("dualad: numpy.poly of a matrix of duals needs its eigenvalues "
                        "(complex in general); pass the roots, e.g. "
                        "np.poly(np.linalg.eigvalsh(a)) for a symmetric a")
    a: Any = np.ones(1)
    for z in zeros:  # numpy's steps: one convolution with (1, -z) per root
        a = np.convolve(a, np.stack([np.ones_like(z), -z]))
    return a if len(zeros) else 1.0


def _power_series(x: Any, c: Any, tensor: bool = True) -> Any:
    """numpy.polynomial.polynomial.polyval, step for step, where x or c may be a dual: with
    ``tensor`` a dual x counts as an array (numpy treats objects that are not ndarrays as
    scalars)."""
    c = np.atleast_1d(c)
    if not isinstance(c, DualNumber) and c.dtype.kind in "biu":
        c = c + 0.0
    if isinstance(x, (tuple, list)):
        x = np.asarray(x)
    if isinstance(x, (np.ndarray, DualNumber)) and tensor:
        c = np.reshape(c, np.shape(c) + (1,) * np.ndim(x))
    c0 = c[-1] + x * 0
    for i in range(2, len(c) + 1):
        c0 = c[-i] + c0 * x
    return c0


@implements("custom", "polynomial.polynomial.polyval2d")
def _polyval2d(x: Any, y: Any, c: Any) -> Any:
    if np.shape(x) != np.shape(y):
        raise ValueError("x, y are incompatible")
    return _power_series(y, _power_series(x, c), tensor=False)


@implements("custom", "polynomial.polynomial.polygrid2d")
def _polygrid2d(x: Any, y: Any, c: Any) -> Any:
    return _power_series(y, _power_series(x, c))


@implements("custom", "round", "around")
def _round(a: Any, decimals: int = 0, out: Any = None) -> DualNumber:
    _no_out(out, "round")
    return _zero_derivative(a, np.round(primal_top(a), decimals))


@implements("custom", "fix")
def _fix(x: Any, out: Any = None) -> Any:
    _no_out(out, "fix")
    return np.trunc(x)


def primal_top(a: Any) -> Any:
    return split(a, top_tag((a,)))[0]


def with_value(res: Any, value: Any) -> Any:
    """``res`` (a dual computed by composition, for its partials) with numpy's own ``value``
    of the same function: compositions round differently in the last bits."""
    if not isinstance(res, DualNumber):
        return value
    tag = top_tag((res,))
    return result(value, split(res, tag)[1], tag)


def _zero_derivative(a: Any, value: Any) -> DualNumber:
    tag = top_tag((a,))
    # under nested duals the value is itself a dual (of the inner tag): keep it
    value = value if isinstance(value, DualNumber) else np.asarray(value)
    return make(value, zeros_partials(value, a.partials.shape[-1]), tag)


@implements("custom", "real", "real_if_close")
def _real(val: Any, *args: Any, **kwargs: Any) -> Any:
    return val


@implements("custom", "imag")
def _imag(val: Any) -> DualNumber:
    return _zero_derivative(val, np.imag(primal_top(val)))


@implements("custom", "angle")
def _angle(z: Any, deg: bool = False) -> DualNumber:
    return _zero_derivative(z, np.angle(primal_top(z), deg))  # 0 or pi for real numbers


@implements("custom", "nan_to_num")
def _nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Optional[float] = None,
                neginf: Optional[float] = None) -> Any:
    tag = top_tag((x,))
    v, p = split(x, tag)
    value = np.nan_to_num(v, copy=True, nan=nan, posinf=posinf, neginf=neginf)
    return result(value, np.where(np.isfinite(primal(v))[..., None], p, 0.0), tag)


#: sinc's Taylor series in (πx)², highest power first, to (πx)^30: exact to rounding for
#: |πx| < 2, where the quotient's derivatives cancel (and at 0 it is 0/0)
_SINC_SERIES = np.array([(-1) ** k / math.factorial(2 * k + 1) for k in range(16)][::-1])


@implements("custom", "sinc")
def _sinc(x: Any) -> Any:
    px = np.pi * x
    near = np.abs(primal(px)) < 2.0
    safe = np.where(near, 2.0, px)
    return np.where(near, np.polyval(_SINC_SERIES, px * px), np.sin(safe) / safe)


@implements("custom", "unwrap")
def _unwrap(p: Any, discont: Optional[float] = None, axis: int = -1, *,
            period: float = 2 * np.pi) -> Any:
    # unwrap adds piecewise-constant multiples of the period
    v = primal_top(p)
    return p + (np.unwrap(primal(v), discont, axis, period=period) - primal(v))


@implements("custom", "median")
def _median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
            keepdims: bool = False) -> Any:
    _no_out(out, "median")
    return _quantile(a, 0.5, axis, None, False, "linear", keepdims)


@implements("custom", "quantile", "percentile")
def _quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
              method: str = "linear", keepdims: bool = False, *, weights: Any = None,
              interpolation: Any = None) -> Any:
    _no_out(out, "quantile")
    if weights is not None or interpolation is not None:
        raise TypeError("dualad: quantile(..., weights=/interpolation=) is not supported")
    if isinstance(q, DualNumber):
        raise TypeError("dualad: quantile: q must be a plain number or array")
    q = np.asarray(q, dtype=float)
    if not np.all((q >= 0) & (q <= 1)):  # (also nan) as numpy checks
        raise ValueError("dualad: quantiles must be in the range [0, 1]")
    flat, axes = _to_last(a, axis)
    k = flat.shape[-1]
    s = np.sort(flat, axis=-1)
    pos = q * (k - 1)
    if method == "linear":
        lo = np.floor(pos).astype(np.intp)
        frac = (pos - lo).astype(np.result_type(primal(a), np.float32))  # float32 stays
        hi = np.minimum(lo + 1, k - 1)
        out_val = np.take(s, lo, axis=-1) * (1 - frac) + np.take(s, hi, axis=-1) * frac
    elif method in ("lower", "higher", "nearest", "midpoint"):
        lo, hi = np.floor(pos).astype(np.intp), np.ceil(pos).astype(np.intp)
        pick = {"lower": lo, "higher": hi, "nearest": np.around(pos).astype(np.intp)}
        if method == "midpoint":
            out_val = (np.take(s, lo, axis=-1) + np.take(s, hi, axis=-1)) * 0.5
        else:
            out_val = np.take(s, pick[method], axis=-1)
    else:
        raise TypeError(f"dualad: quantile method {method!r} is not supported for DualNumber")
    # numpy puts the quantile axes first
    out_val = np.moveaxis(out_val, tuple(range(out_val.ndim - q.ndim, out_val.ndim)),
                          tuple(range(q.ndim))) if q.ndim else out_val
    if keepdims:
        shape = tuple(1 if i in axes else s_ for i, s_ in enumerate(np.shape(a)))
        out_val = np.reshape(out_val, q.shape + shape)
    return out_val


def _percentile_wrapper() -> None:
    base = HANDLED[np.quantile]

    def percentile(a, q, *args, **kwargs):
        if isinstance(q, DualNumber):
            raise TypeError("dualad: percentile: q must be a plain number or array")
        q = np.asarray(q, dtype=float)
        if not np.all((q >= 0) & (q <= 100)):
            raise ValueError("dualad: percentiles must be in the range [0, 100]")
        return base(a, q / 100.0, *args, **kwargs)
    HANDLED[np.percentile] = percentile


_percentile_wrapper()


def _nan_variant(func: Callable[..., Any], fill: float) -> Callable[..., Any]:
    def impl(a, *args, **kwargs):
        return func(np.where(np.isnan(primal(a)), fill, a), *args, **kwargs)
    return impl


implements("custom", "nansum")(_nan_variant(np.sum, 0.0))
implements("custom", "nanprod")(_nan_variant(np.prod, 1.0))
implements("custom", "nancumsum")(_nan_variant(np.cumsum, 0.0))
implements("custom", "nancumprod")(_nan_variant(np.cumprod, 1.0))


@implements("custom", "nanmean")
def _nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **kw: Any) -> Any:
    ok = ~np.isnan(primal(a))
    return (np.nansum(a, axis=axis, keepdims=keepdims)
            / np.sum(ok, axis=axis, keepdims=keepdims))


@implements("custom", "nanvar")
def _nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, *, where: Any = _NoValue, mean: Any = _NoValue,
            correction: Any = _NoValue) -> Any:
    _no_out(out, "nanvar")
    _float_dtype(dtype, "nanvar")
    if where is not _NoValue or mean is not _NoValue:
        raise TypeError("dualad: numpy.nanvar(..., where=/mean=) is not supported for "
                        "DualNumber")
    if correction is not _NoValue:
        ddof = correction
    ok = ~np.isnan(primal(a))
    count = np.sum(ok, axis=axis, keepdims=True)
    dev = np.where(ok, a - np.nansum(a, axis=axis, keepdims=True) / count, 0.0)
    var = np.sum(dev * dev, axis=axis, keepdims=True) / np.maximum(count - ddof, 0)
    return var if keepdims else np.squeeze(var, axis=_axes(axis, np.ndim(ok)))


@implements("custom", "nanstd")
def _nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: Any = 0,
            keepdims: bool = False, **kwargs: Any) -> Any:
    return np.sqrt(_nanvar(a, axis, dtype, out, ddof, keepdims, **kwargs))


@implements("custom", "linspace")
def _linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
              dtype: Any = None, axis: int = 0, *, device: Any = None) -> Any:
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    start = start if isinstance(start, DualNumber) else np.asarray(start, dtype=float)
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    t = np.reshape(t, (-1,) + (1,) * len(shape))
    out = start + t * (stop - start)
    if axis != 0:
        out = np.moveaxis(out, 0, axis)
    step = (stop - start) / max(num - 1 if endpoint else num, 1)
    tag = top_tag((start, stop))
    values, step_value = np.linspace(split(start, tag)[0], split(stop, tag)[0], num,
                                     endpoint=endpoint, retstep=True, axis=axis)
    out, step = with_value(out, values), with_value(step, step_value)
    return (out, step) if retstep else out


@implements("custom", "vander")
def _vander(x: Any, N: Optional[int] = None, increasing: bool = False) -> Any:
    n = len(x) if N is None else N
    powers = np.arange(n, dtype=float)
    if not increasing:
        powers = powers[::-1]
    return np.power(np.reshape(x, (-1, 1)), powers)


@implements("custom", "cross", "linalg.cross")
def _cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
           axis: Optional[int] = None) -> Any:
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    if np.shape(a)[-1] != 3 or np.shape(b)[-1] != 3:
        raise TypeError("dualad: numpy.cross on DualNumber supports 3-vectors only")
    a0, a1, a2 = (a[..., i] for i in range(3))
    b0, b1, b2 = (b[..., i] for i in range(3))
    c = np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)
    return np.moveaxis(c, -1, axisc)


@implements("custom", "piecewise")
def _piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    cond = [np.asarray(primal(c), dtype=bool) for c in
            (condlist if isinstance(condlist, list) else [condlist])]
    if len(funclist) == len(cond) + 1:
        cond.append(~np.any(cond, axis=0))
    out = np.zeros_like(x)
    for c, f in zip(cond, funclist):
        out[c] = f(x[c], *args, **kw) if callable(f) else f
    return out


@implements("custom", "apply_along_axis")
def _apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Any, *args: Any,
                      **kwargs: Any) -> Any:
    moved = np.moveaxis(arr, axis, -1)
    lead = moved.shape[:-1]
    rows = [func1d(moved[i], *args, **kwargs) for i in np.ndindex(*lead)]
    out = np.stack(rows) if rows else np.zeros_like(moved[..., :0])
    out = np.reshape(out, lead + np.shape(rows[0]) if rows else out.shape)
    return np.moveaxis(out, tuple(range(len(lead))),
                       tuple(i if i < axis else i + out.ndim - len(lead) for i in
                             range(len(lead)))) if out.ndim > len(lead) else out


@implements("custom", "trapezoid")
def _trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    y = np.moveaxis(y, axis, -1)
    mids = (y[..., 1:] + y[..., :-1]) * 0.5
    if x is None:
        return np.sum(mids, axis=-1) * dx
    widths = np.diff(np.moveaxis(x, axis, -1) if np.ndim(x) > 1 else x, axis=-1)
    return np.sum(mids * widths, axis=-1)


@implements("custom", "bincount")
def _bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    if isinstance(x, DualNumber):
        raise TypeError("dualad: numpy.bincount counts integers; x cannot be a DualNumber")
    tag = top_tag((weights,))
    v, p = split(weights, tag)
    value = np.bincount(x, primal(v) if not isinstance(v, DualNumber) else None, minlength)
    if isinstance(v, DualNumber):
        raise TypeError("dualad: numpy.bincount with nested dual weights is not supported")
    partials = np.zeros(value.shape + p.shape[-1:], dtype=p.dtype)
    np.add.at(partials, np.asarray(x), p)
    return result(value, partials, tag)


@implements("custom", "unique")
def _unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
            return_counts: bool = False, axis: Any = None, *, equal_nan: bool = True,
            sorted: bool = True) -> Any:
    if axis is not None:
        raise TypeError("dualad: numpy.unique(..., axis=) is not supported for DualNumber")
    flat = np.ravel(ar)
    vals, first, inverse, counts = np.unique(primal(flat), return_index=True,
                                             return_inverse=True, return_counts=True,
                                             equal_nan=equal_nan, sorted=sorted)
    out: Tuple[Any, ...] = (np.take(flat, first),)
    out += (first,) * return_index + (inverse,) * return_inverse + (counts,) * return_counts
    return out if len(out) > 1 else out[0]


# as numpy defines it: every nan its own value
implements("custom", "unique_values")(lambda x: _unique(x, equal_nan=False, sorted=False))
implements("custom", "array2string", "array_str")(lambda a, *args, **kwargs: str(a))
implements("custom", "array_repr")(lambda a, *args, **kwargs: repr(a))


@implements("custom", "copyto")
def _copyto(dst: Any, src: Any, casting: str = "same_kind", where: Any = True) -> None:
    if not isinstance(dst, DualNumber):
        raise TypeError("dualad: numpy.copyto into a plain array would drop the derivative")
    dst[...] = np.where(primal(where), src, dst) if where is not True else src


def _inplace(func: Callable[..., Any], pos: int, name: str) -> Callable[..., Any]:
    """put, putmask, place, fill_diagonal, put_along_axis: numpy itself decides, on arrays of
    indices, which value lands where (repetition, negative indices, modes, wrap)."""
    def impl(a, *args, **kwargs):
        if not isinstance(a, DualNumber):
            raise TypeError(f"dualad: numpy.{func.__name__} into a plain array would drop the "
                            "derivative; make the target a DualNumber (np.zeros_like(x))")
        args, kwargs = list(args), dict(kwargs)
        holder, key = (args, pos) if pos < len(args) else (kwargs, name)
        values = holder[key]
        holder[key] = np.arange(np.size(values)).reshape(np.shape(values))
        target = np.full(a.shape, -1, dtype=np.intp)  # -1: not written
        func(target, *[primal(x) for x in args], **{k: primal(x) for k, x in kwargs.items()})
        hit = target >= 0
        a[hit] = np.take(np.ravel(values), target[hit])
    return impl


implements("custom", "put")(_inplace(np.put, 1, "v"))
implements("custom", "putmask")(_inplace(np.putmask, 1, "values"))
implements("custom", "place")(_inplace(np.place, 1, "vals"))
implements("custom", "fill_diagonal")(_inplace(np.fill_diagonal, 0, "val"))
implements("custom", "put_along_axis")(_inplace(np.put_along_axis, 1, "values"))


# =========================================================================================
# primal: applied to the plain values
# =========================================================================================
def _primal_impl(func: Callable[..., Any]) -> Callable[..., Any]:
    def impl(*args, **kwargs):
        return func(*[primal(a) for a in args], **{k: primal(v) for k, v in kwargs.items()})
    return impl


for _name in ("argmax", "argmin", "nanargmax", "nanargmin", "argsort", "argpartition",
              "argwhere", "nonzero", "flatnonzero", "count_nonzero", "searchsorted",
              "digitize", "lexsort", "shape", "ndim", "size", "isclose", "allclose",
              "array_equal", "array_equiv", "isneginf", "isposinf", "isin", "iscomplex",
              "isreal", "iscomplexobj", "isrealobj", "all", "any", "may_share_memory",
              "shares_memory", "result_type", "can_cast", "min_scalar_type", "common_type",
              "einsum_path", "diag_indices_from", "tril_indices_from", "triu_indices_from",
              "linalg.matrix_rank"):
    _f = lookup(_name)
    if _f is not None:
        implements("primal", _name)(_primal_impl(_f))


# =========================================================================================
# unsupported, with the reason
# =========================================================================================
unsupported("creates arrays from shapes or files; build them with plain numpy and combine",
            "arange", "array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray",
            "require", "empty", "zeros", "ones", "full", "eye", "identity", "tri",
            "frombuffer", "fromfile", "fromfunction", "fromiter", "fromstring", "loadtxt",
            "genfromtxt", "logspace", "geomspace")
unsupported("writes files; save x.value and x.partials", "save", "savez",
            "savez_compressed", "savetxt")
unsupported("dates and times are not differentiable", "busday_count", "busday_offset",
            "is_busday", "datetime_as_string")
unsupported("bit and index arithmetic on integers", "packbits", "unpackbits",
            "ravel_multi_index", "unravel_index", "ix_")
unsupported("bin edges depend on the data range; use it on x.value", "histogram",
            "histogram2d", "histogramdd", "histogram_bin_edges")
unsupported("complex-valued", "sort_complex", "roots")
unsupported("set operations on values; use np.unique", "intersect1d", "union1d",
            "setdiff1d", "setxor1d", "unique_all", "unique_counts", "unique_inverse",
            "trim_zeros")
unsupported("not implemented yet", "i0", "apply_over_axes", "ediff1d",
            "nanmedian", "nanquantile", "nanpercentile")


def _unsupported_module(reason: str, module: str) -> None:
    """Every numpy-dispatched function of ``module`` (fft, strings: nothing differentiable)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return
    for obj in vars(mod).values():
        if hasattr(obj, "_implementation") and obj not in HANDLED:
            UNSUPPORTED[obj] = reason


_structural((0,), "fft.fftshift", "fft.ifftshift")  # permutations of real elements
_unsupported_module("complex-valued", "numpy.fft")
_unsupported_module("string functions hold no derivatives", "numpy._core.strings")
_unsupported_module("string functions hold no derivatives", "numpy._core.defchararray")
# np.eye(..., like=x) and friends dispatch through private twins of the public functions
for _name in ("eye", "tri", "ones", "full", "identity", "fromfunction", "require", "loadtxt",
              "genfromtxt"):
    _f = lookup(_name)
    _twin = getattr(_f, "__globals__", {}).get(f"_{_name}_with_like")
    if _twin is not None and _f in UNSUPPORTED:
        UNSUPPORTED[_twin] = UNSUPPORTED[_f]
for _name in ("append_fields", "apply_along_fields", "assign_fields_by_name", "drop_fields",
              "find_duplicates", "join_by", "merge_arrays", "rec_append_fields",
              "rec_drop_fields", "rec_join", "recursive_fill_fields", "rename_fields",
              "repack_fields", "require_fields", "stack_arrays", "structured_to_unstructured",
              "unstructured_to_structured"):
    import numpy.lib.recfunctions as _rf
    if hasattr(_rf, _name):
        UNSUPPORTED[getattr(_rf, _name)] = "structured arrays hold no derivatives"
import numpy.lib.scimath as _sm  # noqa: E402

for _name in ("arccos", "arcsin", "arctanh", "log", "log10", "log2", "logn", "power", "sqrt"):
    UNSUPPORTED[getattr(_sm, _name)] = ("may return complex values; use the numpy function "
                                        "of the same name")

hooks.array_function = array_function
