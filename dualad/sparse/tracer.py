"""The sparsity tracer: an array whose every element carries the set of inputs it depends
on (and, for Hessians, the set of input pairs its second derivative can touch).

It is one more number type of dualad: its ufuncs are driven by the rule table's kinds
(``rules/table.py``) and its numpy functions by rules registered per ``__array_function__``
category of ``core/functions.py`` (``functions.py`` here):

* ufuncs: ``zero`` rules give empty sets; ``linear`` ones the union of their arguments' sets
  (pairs: the union, nothing new); ``unary`` ones the argument's set, pairs plus ``g x g``;
  ``binary`` ones the union, pairs plus the products their second derivatives can touch
  (``_SECOND``: a product only ``g_a x g_b``, a quotient ``g_a x g_b`` and ``g_b x g_b``;
  maximum, abs and the other piecewise linear rules nothing);
* structural functions (reshape, indexing, concatenate, roll, ...) run on arrays of element
  ids, and the sets move with the ids; numpy's own views stay views (writes reach the base);
* reductions, scans, products and linear algebra: ``functions.py``.

Two modes, as in SparseConnectivityTracer.jl: ``"global"`` carries no values and gives a
pattern valid for every ``x`` (a comparison, ``bool()`` or ``if`` on a traced value raises);
``"local"`` carries the values too and gives the pattern at this ``x`` (comparisons use the
values, ``maximum``/``where``/``sort``/``max`` keep only the branch taken). A function that no
rule covers raises a TypeError naming it: a pattern is never missing a nonzero silently.

The sets are CSR rows (``sets.py``): no Python loop over elements.
"""
import math
import numbers
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..core.functions import CATEGORY, nested_items
from ..core.functions import lookup as _lookup
from ..errors import foreign, ufunc_name
from ..rules import RULES, Rule
from ..rules.scipy_special import rule_for
from ..rules.ufuncs import CUSTOM, PRIMAL, UNSUPPORTED
from . import sets
from .sets import Sets

MODES = ("global", "local")
_NoValue = np._NoValue

# --- per-rule structure beyond the rule kind ---------------------------------------------
# binary rules: can the second derivative (d2/dx2, d2/dxdy, d2/dy2) be nonzero? (default:
# all three). Piecewise linear rules have none.
_NONE3 = (False, False, False)
_SECOND: Dict[Any, Tuple[bool, bool, bool]] = {
    np.multiply: (False, True, False),
    np.divide: (False, True, True),
    np.true_divide: (False, True, True),
    np.maximum: _NONE3, np.minimum: _NONE3, np.fmax: _NONE3, np.fmin: _NONE3,
    np.remainder: _NONE3, np.mod: _NONE3, np.fmod: _NONE3,  # x - floor(x / y) * y
    np.copysign: _NONE3, np.nextafter: _NONE3, np.heaviside: _NONE3,
    np.ldexp: _NONE3,  # x * 2**i, i an integer constant
}
# unary rules with no second derivative (piecewise linear)
_UNARY_LINEAR = frozenset({np.absolute, np.fabs})
# arguments whose first derivative is identically zero (copysign(x, y) moves with x only)
_FIRST: Dict[Any, Tuple[bool, bool]] = {
    np.copysign: (True, False), np.nextafter: (True, False), np.heaviside: (False, True),
}
# rules that select an argument: in local mode the derivatives at x say which one
_SELECT = frozenset({np.maximum, np.minimum, np.fmax, np.fmin})


def _branch_error(what: str) -> ValueError:
    return ValueError(
        f"dualad: f branches on the values of x ({what}); global sparsity detection computes "
        "a pattern valid for every x and has no values. Use mode='local' for the pattern at "
        "this x, or pass a known pattern (sparse=pattern)")


def _unsupported(what: str, why: str = "") -> TypeError:
    return TypeError(
        f"dualad: sparsity detection does not support {what}" + (f" ({why})" if why else "")
        + "; pass a known pattern (sparse=pattern) or use the dense helpers "
        "(dualad.jacobian, dualad.hessian)")


class _Run:
    """One detection: the number of inputs, the mode, whether pairs are tracked, and the
    counter of element ids (id 0 is the zero of fill values; every array gets its own
    range, so that ids of different arrays never collide)."""

    __slots__ = ("n", "local", "second", "dtype", "next_id")

    def __init__(self, n: int, local: bool, second: bool, dtype: Any) -> None:
        self.n, self.local, self.second, self.dtype = n, local, second, dtype
        self.next_id = 1

    def ids(self, size: int) -> int:
        start = self.next_id
        self.next_id += size
        return start


class Tracer(NDArrayOperatorsMixin):
    """An array of index sets (see the module docstring). A root owns its sets (``_g``: input
    indices, ``_h``: pair keys ``i * n + j``, or None for Jacobians) and, in local mode, its
    values ``_v``; a view (``_base`` set) holds the ids of its base's elements (``_rid``, a
    numpy view of the base's id array made by numpy itself, so that views and copies are
    exactly numpy's) and reads and writes through them."""

    __slots__ = ("shape", "_run", "_g", "_h", "_v", "_off", "_ids", "_base", "_rid")

    shape: Tuple[int, ...]
    _run: _Run
    _g: Sets
    _h: Optional[Sets]
    _v: Any
    _off: int
    _ids: Any
    _base: Optional["Tracer"]
    _rid: Any

    # --- array attributes ---------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> np.dtype:
        return _val(self).dtype if self._run.local else np.dtype(self._run.dtype)

    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    @property
    def real(self) -> "Tracer":
        return self

    @property
    def imag(self) -> Any:
        return np.zeros_like(self)

    @property
    def value(self) -> np.ndarray:
        """The values (local mode): like a dual's ``.value``, they carry no dependence."""
        if not self._run.local:
            raise _branch_error("x.value")
        return _val(self).copy()

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    def __repr__(self) -> str:
        mode = "local" if self._run.local else "global"
        return f"SparsityTracer(shape={self.shape}, mode={mode})"

    __str__ = __repr__

    # --- conversions that would drop the dependence ------------------------------------
    def __bool__(self) -> bool:
        if not self._run.local:
            raise _branch_error("bool() or an if on a traced value")
        return bool(_val(self))

    def _refuse(self, what: str) -> TypeError:
        return TypeError(f"dualad: converting a traced array to {what} would drop its "
                         "dependence on x; keep numpy operations on it (np.sin(x), not "
                         "math.sin(x); np.stack([...]) instead of np.array([...]); "
                         "out = np.zeros_like(x) instead of np.zeros(n))")

    def __float__(self) -> float:
        raise self._refuse("float")

    def __int__(self) -> int:
        raise self._refuse("int")

    def __complex__(self) -> complex:
        raise self._refuse("complex")

    def __index__(self) -> int:
        raise TypeError("dualad: a traced array cannot be an index (indices carry no "
                        "derivative; compute them from plain numbers)")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise self._refuse("a plain numpy array")

    def item(self, *args: Any) -> Any:
        raise self._refuse("a Python number (.item())")

    def tolist(self) -> Any:
        raise self._refuse("a list (.tolist())")

    # --- numpy protocols ----------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _array_function(func, types, args, kwargs)

    def __getitem__(self, index: Any) -> Any:
        _plain_index(index)
        return _from_ids(self._run, np.asarray(_idview(self)[index]), [self], [])

    def __setitem__(self, index: Any, item: Any) -> None:
        _plain_index(index)
        ids = _idview(self)
        if not ids.flags.writeable:
            raise ValueError("dualad: assignment destination is read-only")
        base = _root(self)
        _write(base, np.asarray(ids[index]) - base._off, item)

    def __copy__(self) -> Any:
        return self.copy()

    def __deepcopy__(self, memo: Any) -> Any:
        return self.copy()

    # --- methods, as numpy's --------------------------------------------------------------
    def reshape(self, *shape: Any, order: Any = "C") -> Any:
        return np.reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def ravel(self, order: Any = "C") -> Any:
        return np.ravel(self, order=order)

    def flatten(self, order: Any = "C") -> Any:
        return np.ravel(self, order=order).copy()

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis=axis)

    def swapaxes(self, a: int, b: int) -> Any:
        return np.swapaxes(self, a, b)

    def copy(self, order: str = "C") -> Any:
        return np.copy(self)

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        me: Any = self
        return np.astype(me, dtype, copy=copy)

    def conj(self) -> Any:
        return self

    conjugate = conj

    def fill(self, value: Any) -> None:
        self[...] = value

    def sort(self, axis: int = -1, kind: Any = None, order: Any = None) -> None:
        self[...] = np.sort(self, axis=axis)

    def dot(self, b: Any) -> Any:
        return np.dot(self, b)

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, keepdims=keepdims)

    def ptp(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.ptp(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis: Any = None) -> Any:
        return np.argmax(self, axis=axis)

    def argmin(self, axis: Any = None) -> Any:
        return np.argmin(self, axis=axis)

    def argsort(self, axis: int = -1) -> Any:
        return np.argsort(self, axis=axis)

    def nonzero(self) -> Any:
        return np.nonzero(self)

    def all(self, axis: Any = None) -> Any:
        return np.all(self, axis=axis)

    def any(self, axis: Any = None) -> Any:
        return np.any(self, axis=axis)

    def cumsum(self, axis: Any = None) -> Any:
        return np.cumsum(self, axis=axis)

    def cumprod(self, axis: Any = None) -> Any:
        return np.cumprod(self, axis=axis)

    def var(self, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis: Any = None, ddof: float = 0, keepdims: bool = False) -> Any:
        return np.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def clip(self, min: Any = None, max: Any = None) -> Any:
        return np.clip(self, min, max)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.trace(self, offset, axis1, axis2)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.diagonal(self, offset, axis1, axis2)

    def take(self, indices: Any, axis: Any = None, mode: Any = "raise") -> Any:
        return np.take(self, indices, axis=axis, mode=mode)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return np.repeat(self, repeats, axis=axis)

    def round(self, decimals: int = 0) -> Any:
        return np.round(self, decimals)


# =========================================================================================
# storage: roots, views, rows, values
# =========================================================================================
def _make(run: _Run, shape: Tuple[int, ...], g: Sets, h: Optional[Sets],
          value: Any = None) -> Tracer:
    t = object.__new__(Tracer)
    t.shape = tuple(int(s) for s in shape)
    t._run, t._g, t._h = run, g, h
    t._v = None if value is None else _own(value)
    t._off = run.ids(math.prod(t.shape))
    t._ids = None
    t._base = t._rid = None
    return t


def _own(value: Any) -> np.ndarray:
    """``value`` as an array of its own (writes into a traced array write into it: never
    into an array of the caller's or of numpy's views)."""
    v = np.asarray(value)
    if v.base is not None or not v.flags.writeable or not v.flags.c_contiguous:
        v = v.copy(order="C")
    return v


def _view(base: Tracer, rid: np.ndarray) -> Tracer:
    t = object.__new__(Tracer)
    t.shape = rid.shape
    t._run, t._base, t._rid = base._run, base, rid
    return t


def _root(t: Tracer) -> Tracer:
    return t if t._base is None else t._base


def _idview(t: Tracer) -> np.ndarray:
    """The ids of ``t``'s elements, as numpy arranges them (a view of the base's ids)."""
    if t._base is not None:
        return t._rid
    if t._ids is None:
        t._ids = np.arange(t._off, t._off + t.size, dtype=np.int64).reshape(t.shape)
    return t._ids


def _rows(t: Tracer) -> Optional[np.ndarray]:
    """The rows of ``t``'s elements in its root's sets, flat (None: all, in order)."""
    if t._base is None:
        return None
    return (t._rid - t._base._off).reshape(-1)


def _grid(t: Tracer) -> np.ndarray:
    """The rows of ``t``'s elements in its root's sets, in ``t``'s shape."""
    if t._base is None:
        return np.arange(t.size, dtype=np.int64).reshape(t.shape)
    return t._rid - t._base._off


def _full(rows: Optional[np.ndarray], size: int) -> np.ndarray:
    return np.arange(size, dtype=np.int64) if rows is None else rows


def _val(t: Tracer) -> np.ndarray:
    base = _root(t)
    if base._v is None:
        raise RuntimeError("dualad: internal error: a traced array without values in "
                           "local mode")
    if t._base is None:
        return t._v
    return base._v.reshape(-1)[_rows(t)].reshape(t.shape)


def _materialize(t: Tracer) -> Tuple[Sets, Optional[Sets]]:
    """The sets of ``t``'s own elements, in order."""
    base, rows = _root(t), _rows(t)
    return sets.take(base._g, rows), None if base._h is None else sets.take(base._h, rows)


def _copy(t: Any) -> Tracer:
    g, h = _materialize(t)
    return _make(t._run, t.shape, g, h, _val(t).copy() if t._run.local else None)


def _empty(run: _Run, shape: Tuple[int, ...], value: Any = None) -> Tracer:
    size = math.prod(shape)
    return _make(run, shape, sets.empty(size), sets.empty(size) if run.second else None,
                 value)


def _width2(run: _Run) -> int:
    return run.n * run.n


# =========================================================================================
# operands
# =========================================================================================


def _run_of(*objs: Any) -> _Run:
    runs = {id(t._run): t._run for o in objs for t in nested_items(o) if isinstance(t, Tracer)}
    if not runs:
        raise RuntimeError("dualad: internal error: no traced array among the arguments")
    if len(runs) != 1:
        raise ValueError("dualad: traced arrays of two different sparsity detections met "
                         "(nested detection is not supported)")
    return next(iter(runs.values()))


def _const(a: Any, what: str = "an operand") -> Any:
    """A constant operand: a real number or array (Python scalars stay as they are)."""
    if type(a) in (float, int, bool):
        return a
    err = foreign(a, what)
    if err is not None:
        raise err
    if isinstance(a, numbers.Number) and not isinstance(a, numbers.Real):
        raise TypeError(f"dualad: sparsity detection supports real numbers only; got "
                        f"{type(a).__name__} as {what}")
    if not isinstance(a, (np.ndarray, np.generic, numbers.Real, list, tuple)):
        raise TypeError(f"dualad: sparsity detection got {type(a).__name__} as {what}; "
                        "expected a traced array, a real number or a numpy array")
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"dualad: sparsity detection supports real numbers only; got dtype "
                        f"{arr.dtype} as {what}")
    return a if isinstance(a, (np.ndarray, np.generic)) else arr


def _operand(a: Any, what: str = "an operand") -> Any:
    return a if isinstance(a, Tracer) else _const(a, what)


def _vals(obj: Any) -> Any:
    """``obj`` with traced arrays replaced by their values (nested lists and tuples)."""
    if isinstance(obj, Tracer):
        return _val(obj)
    if isinstance(obj, list):
        return [_vals(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_vals(o) for o in obj)
    return obj


def _plain_index(index: Any) -> None:
    for i in nested_items(index):
        if isinstance(i, Tracer):
            raise TypeError("dualad: a traced array cannot be an index; use plain integer "
                            "or boolean arrays")


def _brows(t: Tracer, shape: Tuple[int, ...]) -> Optional[np.ndarray]:
    """The rows of ``t`` broadcast to ``shape``, flat."""
    if t.shape == shape:
        return _rows(t)
    return np.broadcast_to(_grid(t), shape).reshape(-1)


def _mask(m: Any) -> np.ndarray:
    """The structural nonzeros of a constant (nan counts)."""
    return np.asarray(m) != 0


# =========================================================================================
# ufuncs
# =========================================================================================
_DEFAULTS = {"casting": "same_kind", "order": "K", "dtype": None, "subok": True,
             "signature": None}


def _array_ufunc(ufunc: Any, method: str, inputs: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    kwargs = dict(kwargs)
    out = kwargs.pop("out", None)
    where = kwargs.pop("where", True)
    for key, val in kwargs.items():
        default = _DEFAULTS.get(key, _NoValue)
        if default is _NoValue or val is not default and not (type(val) is str
                                                              and val == default):
            raise _unsupported(f"{ufunc_name(ufunc)}(..., {key}=...)")
    if where is not True and (out is None or method != "__call__"):
        raise _unsupported(f"{ufunc_name(ufunc)}(..., where=) without out=")
    if method == "__call__":
        res = _call(ufunc, inputs)
    elif method == "reduce":
        res = _reduce_method(ufunc, *inputs, **kwargs)
    elif method == "accumulate":
        res = _accumulate_method(ufunc, *inputs, **kwargs)
    elif method == "outer" and len(inputs) == 2:
        a, b = inputs
        res = _call(ufunc, [np.reshape(a, np.shape(a) + (1,) * np.ndim(b)), b])
    else:
        raise _unsupported(f"{ufunc_name(ufunc)}.{method}")
    if out is None:
        return res
    outs = out if isinstance(out, tuple) else (out,)
    results = res if isinstance(res, tuple) else (res,)
    for o, r in zip(outs, results):
        if o is None:
            continue
        if not isinstance(o, Tracer):
            raise TypeError(f"dualad: {ufunc_name(ufunc)}(..., out=) into a plain array (or "
                            "a += x with a plain a) would drop the dependence on x; write "
                            "a = a + x, or make a traced array with np.zeros_like(x)")
        o[...] = r if where is True else np.where(_plain_condition(where, "where="), r, o)
    final = tuple(r if o is None else o for o, r in zip(outs, results))
    return final if isinstance(res, tuple) else final[0]


def _call(ufunc: Any, inputs: Sequence[Any]) -> Any:
    run = _run_of(inputs)
    ops = [_operand(a) for a in inputs]
    rule = RULES.get(ufunc)
    if rule is None and ufunc not in PRIMAL and ufunc not in CUSTOM:
        rule = rule_for(ufunc)  # scipy.special's rules enter the table on first use
    if rule is not None:
        return _apply_rule(ufunc, rule, ops, run)
    if ufunc in PRIMAL:
        if not run.local:
            raise _branch_error(ufunc_name(ufunc))
        return ufunc(*_vals(ops))
    handler = UFUNCS.get(ufunc)
    if handler is not None:
        return handler(*ops)
    why = UNSUPPORTED.get(ufunc)
    raise _unsupported(ufunc_name(ufunc), f"it {why}" if why else "no derivative rule")


def _apply_rule(ufunc: Any, rule: Rule, ops: Sequence[Any], run: _Run) -> Any:
    shape = np.broadcast_shapes(*(np.shape(o) for o in ops))
    size = math.prod(shape)
    value = None
    if run.local:
        with np.errstate(all="ignore"):
            value = np.asarray(ufunc(*_vals(ops)))
    if rule.kind == "zero":
        return _empty(run, shape, value)
    first = _FIRST.get(ufunc, (True,) * len(ops))
    active: List[int] = []
    for k, o in enumerate(ops):
        if not isinstance(o, Tracer):
            continue
        if rule.kind != "linear" and rule.derivs[k] is None:
            raise TypeError(f"dualad: {ufunc_name(ufunc)} cannot be differentiated with "
                            "respect to this argument; pass a constant")
        if first[k]:
            active.append(k)
    rows: Dict[int, Optional[np.ndarray]] = {k: _brows(ops[k], shape) for k in active}
    if run.local and ufunc in _SELECT:  # the derivatives at x say which argument is taken
        vals = _vals(ops)
        for k in active:
            with np.errstate(all="ignore"):
                d = rule.derivs[k](*vals, value)  # type: ignore[misc]
            off = np.broadcast_to(np.asarray(d) == 0, shape).reshape(-1)
            if off.any():
                rows[k] = np.where(off, -1, _full(rows[k], size))
    base = {k: _root(ops[k]) for k in active}
    g = sets.union([(base[k]._g, rows[k]) for k in active], size, run.n)
    h = None
    if run.second:
        extra: List[sets.Entries] = []
        pairs: List[Tuple[int, int]] = []
        if rule.kind == "unary" and ufunc not in _UNARY_LINEAR:
            pairs = [(k, k) for k in active]
        elif rule.kind == "binary":
            xx, xy, yy = _SECOND.get(ufunc, (True, True, True))
            pairs = [(a, b) for (a, b), on in (((0, 0), xx), ((0, 1), xy), ((1, 1), yy))
                     if on and a in base and b in base]
        for a, b in pairs:
            ra, rb = _full(rows[a], size), _full(rows[b], size)
            extra.append(sets.cross(base[a]._g, ra, base[b]._g, rb, run.n))
        h = sets.union([(base[k]._h, rows[k]) for k in active],  # type: ignore[misc]
                       size, _width2(run), extra)
    return _make(run, shape, g, h, value)


def _plain_condition(cond: Any, what: str) -> Any:
    """A condition (np.where, select, where=): a plain array, or a traced one's values in
    local mode."""
    if isinstance(cond, Tracer):
        if not cond._run.local:
            raise _branch_error(what)
        return _val(cond)
    if isinstance(cond, (list, tuple)):
        return type(cond)(_plain_condition(c, what) for c in cond)
    return cond


_REDUCTIONS: Dict[Any, Callable[..., Any]] = {
    np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min,
    np.fmax: np.nanmax, np.fmin: np.nanmin}
# ufuncs beyond the rule table (several outputs, core signatures) and ufunc.accumulate:
# filled by functions.py
UFUNCS: Dict[Any, Callable[..., Any]] = {}
ACCUMULATE: Dict[Any, Callable[[Any, Any], Any]] = {}


def _reduce_method(ufunc: Any, x: Any, axis: Any = 0, dtype: Any = None,
                   keepdims: bool = False, **kw: Any) -> Any:
    impl = _REDUCTIONS.get(ufunc)
    if ufunc in PRIMAL and isinstance(x, Tracer):
        if not x._run.local:
            raise _branch_error(f"{ufunc_name(ufunc)}.reduce")
        return ufunc.reduce(_val(x), axis=axis, keepdims=keepdims, **kw)
    if impl is None or kw or dtype is not None:
        raise _unsupported(f"{ufunc_name(ufunc)}.reduce" + (f" with {', '.join(kw)}" if kw
                                                             else ""))
    return impl(x, axis=axis, keepdims=keepdims)


def _accumulate_method(ufunc: Any, x: Any, axis: Any = 0, dtype: Any = None, **kw: Any) -> Any:
    if kw or dtype is not None:
        raise _unsupported(f"{ufunc_name(ufunc)}.accumulate with {', '.join(kw) or 'dtype'}")
    impl = ACCUMULATE.get(ufunc)
    if impl is None:
        raise _unsupported(f"{ufunc_name(ufunc)}.accumulate")
    return impl(x, axis)


def _unary_like(x: Tracer, kind: str, value: Any = None) -> Tracer:
    """The result of an elementwise function of ``x`` alone: ``"same"`` (derivative the
    identity or piecewise constant: sets and pairs as x's), ``"nonlinear"`` (pairs plus
    g x g)."""
    run = x._run
    g, h = _materialize(x)
    if run.second and kind == "nonlinear":
        h = sets.union([(h, None)], x.size, _width2(run),  # type: ignore[list-item]
                       [sets.cross(g, np.arange(x.size), g, np.arange(x.size), run.n)])
    return _make(run, x.shape, g, h, value)


# =========================================================================================
# structural functions: run on arrays of element ids
# =========================================================================================
def _map_data(obj: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(obj, (list, tuple)) and not isinstance(obj, np.ndarray):
        return type(obj)(_map_data(o, fn) for o in obj)
    return fn(obj)


def _structural(func: Any, data: Sequence[Any],
                conditions: Sequence[Any] = ()) -> Callable[..., Any]:
    """The implementation of ``func``, whose data arguments are at ``data`` (positions or
    keywords; a data argument may be a nested sequence of arrays). ``conditions`` name the
    arguments that are conditions (np.where's first): a traced one branches on values."""
    def impl(*args: Any, **kwargs: Any) -> Any:
        run = _run_of(args, tuple(kwargs.values()))
        largs, kwargs = list(args), dict(kwargs)
        tracers: List[Tracer] = []
        consts: List[Tuple[int, np.ndarray]] = []

        def to_ids(leaf: Any) -> Any:
            if isinstance(leaf, Tracer):
                tracers.append(leaf)
                return _idview(leaf)
            arr = np.asarray(_const(leaf, f"an argument of {_name(func)}"))
            start = run.ids(arr.size)
            consts.append((start, arr))
            return np.arange(start, start + arr.size, dtype=np.int64).reshape(arr.shape)

        for d in data:
            box: Any = largs if isinstance(d, int) else kwargs
            if (isinstance(d, int) and d < len(largs)) or (isinstance(d, str) and d in kwargs):
                box[d] = _map_data(box[d], to_ids)
        for c in conditions:
            box = largs if isinstance(c, int) else kwargs
            if (isinstance(c, int) and c < len(largs)) or (isinstance(c, str) and c in kwargs):
                box[c] = _plain_condition(box[c], f"the condition of {_name(func)}")
        if any(isinstance(t, Tracer) for t in nested_items((largs, tuple(kwargs.values())))):
            raise TypeError(f"dualad: {_name(func)} got a traced array where it needs plain "
                            "numbers (an index, a shape, a count); compute those from plain "
                            "numbers")
        out = func(*largs, **kwargs)
        return _map_data(out, lambda o: _from_ids(run, np.asarray(o), tracers, consts))
    return impl


def _from_ids(run: _Run, ids: np.ndarray, tracers: Sequence[Tracer],
              consts: Sequence[Tuple[int, np.ndarray]]) -> Any:
    """The array whose elements are those with the ids ``ids`` (0: a zero): a view where
    numpy made ``ids`` a view of a traced array's ids, a plain array where no element is
    traced, else a new traced array."""
    if ids.dtype.kind not in "iu":  # (a function that computes, not moves)
        raise RuntimeError("dualad: internal error: a structural function computed values")
    roots: Dict[int, Tracer] = {}
    for t in tracers:
        base = _root(t)
        roots[id(base)] = base
        if base._ids is not None and np.may_share_memory(ids, base._ids):
            return _view(base, ids)
    flat = ids.reshape(-1)
    sources = sorted([(b._off, b.size, b) for b in roots.values()]
                     + [(start, arr.size, arr) for start, arr in consts], key=lambda s: s[0])
    starts = np.array([s[0] for s in sources], dtype=np.int64)
    which = np.searchsorted(starts, flat, side="right") - 1  # -1: the zero fill
    traced = [k for k, s in enumerate(sources) if isinstance(s[2], Tracer)]
    used = np.zeros(len(sources) + 1, dtype=bool)
    used[which + 1] = True
    if not any(used[k + 1] for k in traced):
        if not run.local and not consts:  # (nothing traced, nothing known: zeros)
            return np.zeros(ids.shape)
        values = _gather_values(run, flat, which, sources, plain_only=True)
        return values.reshape(ids.shape)
    if len(traced) == 1 and not used[0] and used[1:].sum() == 1:  # one traced array
        only: Any = sources[traced[0]][2]
        rows = flat - only._off
        g, h = sets.take(only._g, rows), None if only._h is None else sets.take(only._h, rows)
    else:
        tables_g: List[Sets] = []
        tables_h: List[Any] = []
        row0: List[int] = []
        offset = 0
        for start, size, src in sources:
            row0.append(offset)
            offset += size
            if isinstance(src, Tracer):
                tables_g.append(src._g)
                tables_h.append(src._h)
            else:
                tables_g.append(sets.empty(size))
                tables_h.append(sets.empty(size))
        rows = np.where(which >= 0, flat - starts[which] + np.asarray(row0)[which], -1)
        g = sets.take(sets.concat(tables_g), rows)
        h = sets.take(sets.concat(tables_h), rows) if run.second else None
    value = _gather_values(run, flat, which, sources).reshape(ids.shape) if run.local else None
    return _make(run, ids.shape, g, h, value)


def _gather_values(run: _Run, flat: np.ndarray, which: np.ndarray, sources: Sequence[Any],
                   plain_only: bool = False) -> np.ndarray:
    pieces = []
    for start, size, src in sources:
        if isinstance(src, Tracer):
            pieces.append(src._v.reshape(-1) if run.local else np.zeros(size))
        else:
            pieces.append(np.asarray(src).reshape(-1))
    dtype = np.result_type(*pieces) if pieces else np.float64
    table = np.concatenate([np.zeros(1, dtype=dtype)] + [p.astype(dtype) for p in pieces])
    starts = np.array([s[0] for s in sources], dtype=np.int64)
    row0 = np.cumsum([0] + [s[1] for s in sources])[:-1]
    pos = np.where(which >= 0, flat - starts[which] + row0[which] + 1, 0) if len(sources) \
        else np.zeros_like(flat)
    return table[pos]


def _write(base: Tracer, rows_grid: np.ndarray, item: Any) -> None:
    """``base``'s elements at rows ``rows_grid`` take the sets (and values) of ``item``,
    broadcast as numpy's assignment does."""
    run = base._run
    shape = rows_grid.shape
    rows = rows_grid.reshape(-1)
    if isinstance(item, Tracer):
        if item._run is not run:
            _run_of(base, item)
        src = _fit(_grid(item), shape).reshape(-1)
        iroot = _root(item)
        ig = sets.take(iroot._g, src)
        ih = sets.take(iroot._h, src) if run.second else None  # type: ignore[arg-type]
        ivalue: Any = _val(item) if run.local else None
    else:
        ivalue = np.asarray(_const(item, "an assigned value"))
        ig = sets.empty(rows.size)
        ih = sets.empty(rows.size) if run.second else None
    if run.local:
        base._v.reshape(-1)[rows] = _fit(ivalue, shape).reshape(-1)
    if sets.is_empty(ig) and sets.is_empty(base._g) and (ih is None or (
            sets.is_empty(ih) and sets.is_empty(base._h))):  # type: ignore[arg-type]
        return
    mapping = np.arange(base.size, dtype=np.int64)
    mapping[rows] = base.size + np.arange(rows.size, dtype=np.int64)
    base._g = sets.take(sets.concat([base._g, ig]), mapping)
    if run.second:
        base._h = sets.take(sets.concat([base._h, ih]), mapping)  # type: ignore[list-item]


def _fit(a: np.ndarray, target: Tuple[int, ...]) -> np.ndarray:
    """``a`` broadcast to ``target`` as numpy's assignment does: leading length-1 axes of
    the value are dropped first."""
    shape = np.shape(a)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    return np.broadcast_to(np.reshape(a, shape), target)


# =========================================================================================
# __array_function__
# =========================================================================================
_HANDLERS: Dict[Any, Tuple[Callable[..., Any], bool]] = {}  # func -> (impl, direct)


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "numpy"
    public = [p for p in module.split(".") if not p.startswith("_")][:2]
    if public[:2] == ["numpy", "lib"]:
        public = ["numpy"]
    return ".".join(public + [getattr(func, "__name__", repr(func))])


def _handles(*names: str,
             direct: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``impl`` for the numpy functions ``names``. A ``direct`` implementation
    builds the sets only; the values (local mode) come from numpy's own function on the
    values. Otherwise the implementation composes numpy calls on traced arrays (values
    included) or builds them itself."""
    def register(impl: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            func = _lookup(name)
            if func is not None:
                _HANDLERS[func] = (impl, direct)
        return impl
    return register


def _array_function(func: Any, types: Any, args: Any, kwargs: Dict[str, Any]) -> Any:
    entry = _HANDLERS.get(func)
    if entry is None:
        # (functions dualad differentiates but no rule here covers: fft (complex), eig, ...)
        raise _unsupported(_name(func), "no sparsity rule for it" if func in CATEGORY
                           else "dualad does not differentiate it")
    for t in types:
        if not issubclass(t, (Tracer, np.ndarray)):
            raise TypeError(f"dualad: {_name(func)} got a {t.__name__} together with a traced "
                            "array; sparsity detection takes plain arrays and numbers besides")
    impl, direct = entry
    res = impl(*args, **kwargs)
    if direct:
        run = _run_of(args, tuple(kwargs.values()))
        if run.local:
            with np.errstate(all="ignore"):
                value = func(*_vals(args), **{k: _vals(v) for k, v in kwargs.items()})
            _attach(res, value)
    return res


def _attach(res: Any, value: Any) -> None:
    if isinstance(res, Tracer):
        if res._base is None and res._v is None:
            value = np.asarray(value)
            if value.shape != res.shape:
                raise RuntimeError(f"dualad: internal error: shape {res.shape} against "
                                   f"numpy's {value.shape}")
            res._v = _own(value)
    elif isinstance(res, (list, tuple)):
        for r, v in zip(res, value):
            _attach(r, v)
