"""``__array_ufunc__``: look a ufunc up in the rule table and apply the chain rule once.

Every ufunc numpy can hand us is in exactly one category: a rule in ``RULES``; ``PRIMAL``
(comparisons and predicates: they act on values and return plain arrays); ``CUSTOM``
(several outputs or a core signature: matmul, modf, ...); or ``UNSUPPORTED`` (integer, bit and
string ufuncs). ``scipy.special``'s ufuncs get their rules on first use
(``rules/scipy_special.py``); anything else raises a TypeError naming it and saying how to
add a rule.
"""
import numbers
import sys
from typing import Any, Callable, Sequence, Tuple

import numpy as np

from .. import config
from ..errors import checked, foreign, int_too_large, not_real, ufunc_name, unsupported_ufunc
from ..rules import RULES, Rule
from ..rules.scipy_special import rule_for
from ..rules.ufuncs import CUSTOM, PRIMAL, UNSUPPORTED, custom_ufunc
from . import hooks
from .dual import DualNumber, make
from .functions import running_extremum
from .partials import (accumulate, chain, chain_same, chain_sum, derivative, n_directions,
                       primal, result, split, top_tag, zeros_partials)
from .tags import _running

_INT_LIMIT = 2 ** 1024  # Python ints beyond this do not fit float64


def real_operand(a: Any, what: str = "operand") -> Any:
    """Operands we understand, with lists made arrays; None means 'not ours'. Numbers that are
    not real (complex, a Fraction, str or object arrays) raise a TypeError naming them: numpy
    would drop an imaginary part or compute an object array that fails later. So do array
    types whose meaning a plain array would lose (a numpy.ma masked array, np.matrix, pandas
    objects: ``errors.foreign``)."""
    t = type(a)
    if t is DualNumber or t is float:  # the usual operands, cheaply
        return a
    if t is int:  # (beyond float64, numpy would raise OverflowError deep inside)
        if -_INT_LIMIT < a < _INT_LIMIT:
            return a
        raise int_too_large(a, "an operand of a dual" if what == "operand" else what)
    if isinstance(a, (DualNumber, int, float)):  # bool, np.float64: python scalars stay
        return a                                 # weakly typed (float32 duals stay float32)
    if t is not np.ndarray:
        err = foreign(a, "an operand of a dual" if what == "operand" else what)
        if err is not None:
            raise err
    if isinstance(a, (np.ndarray, np.generic)):
        if a.dtype.kind in "biuf":
            return a
        raise not_real(what, a)
    if isinstance(a, numbers.Number):  # complex, Fraction, Decimal
        raise not_real(what, a)
    if isinstance(a, (list, tuple)):
        return real_operand(np.asarray(a), what)
    return None


def apply_rule(ufunc: Any, rule: Rule, inputs: Sequence[Any]) -> Any:
    """Apply ``rule`` for ``ufunc`` to operands of which at least one is a dual."""
    tag = top_tag(inputs)
    # accel's routes (hooks) pay on large data only: small data never calls into them
    size = _size(inputs) if hooks.value is not None else 0
    defer = hooks.defer
    if (defer is not None and size >= config.DEFER_MIN_SIZE and rule.kind != "zero"
            and tag in _running):  # inside a helper: perhaps later, one pass over a chain
        deferred = defer(ufunc, rule, inputs, tag)
        if deferred is not None:
            return deferred
    values, partials = zip(*(split(a, tag) for a in inputs))
    n = n_directions(*partials)
    if size >= config.FUSED_MIN_SIZE:
        fuse = hooks.fused
        if fuse is not None and rule.kind in ("unary", "binary"):  # float64 data: one pass
            fused = fuse(ufunc, rule, values, partials)
            if fused is not None:
                return result(fused[0], fused[1], tag)
        ans = hooks.value(ufunc, values)  # type: ignore[misc]
    else:
        ans = ufunc(*values)
    kind = rule.kind
    if kind == "linear":
        return result(ans, linear_partials(rule, partials), tag)
    if kind == "zero":
        ans = np.asarray(ans) if not isinstance(ans, (np.ndarray, DualNumber)) else ans
        return make(ans, zeros_partials(ans, n), tag)
    guard = not rule.bounded
    try:  # (costs nothing unless it raises: a registered rule's derivative may return anything)
        out = _chained(ufunc, rule, values, partials, ans, guard)
    except (TypeError, ValueError):
        _check_derivatives(ufunc, rule, values, partials, ans)
        raise
    if type(out) is np.ndarray and out.dtype.kind != "f":  # a complex derivative
        _check_derivatives(ufunc, rule, values, partials, ans)
    return result(ans, out, tag)


def _size(inputs: Sequence[Any]) -> int:
    """The most elements of a plain array among ``inputs`` and the values of their duals."""
    size = 0
    for a in inputs:
        v = a.value if type(a) is DualNumber else a
        if type(v) is np.ndarray and v.size > size:
            size = v.size
    return size


def _chained(ufunc: Any, rule: Rule, values: Sequence[Any], partials: Sequence[Any], ans: Any,
             guard: bool) -> Any:
    """The result's partials: the chain rule over the rule's derivatives."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if len(partials) == 2 and partials[0] is partials[1] and None not in rule.derivs:
            # f(x, x): one chain rule with the summed derivative (x * x costs one product)
            dx, dy = rule.derivs
            return chain_same(partials[0], derivative(dx, values, ans),
                              derivative(dy, values, ans), guard)
        derivs = []
        for d, p in zip(rule.derivs, partials):
            if p is not None and d is None:
                raise TypeError(f"dualad: {ufunc_name(ufunc)} cannot be differentiated "
                                "with respect to this argument; pass a constant")
            derivs.append(None if p is None else derivative(d, values, ans))
    if len(partials) == 2:
        return chain_sum(partials[0], derivs[0], partials[1], derivs[1], guard)
    d = derivs.pop()
    # refcount 2 (d and the call's argument): a fresh temporary, not an input or the output
    return chain(partials[0], d, guard, scratch=sys.getrefcount(d) == 2)


def _check_derivatives(ufunc: Any, rule: Rule, values: Sequence[Any], partials: Sequence[Any],
                       ans: Any) -> None:
    """Raise the error naming a derivative of ``rule`` that returned what is not real numbers
    of the result's shape (a registered rule's: the table's own are correct)."""
    for i, (d, p) in enumerate(zip(rule.derivs, partials)):
        if d is not None and p is not None:
            with np.errstate(all="ignore"):
                g = d(*values, ans)
            checked(g, f"derivative {i} of {ufunc_name(ufunc)}", np.shape(ans))


def linear_partials(rule: Rule, partials: Sequence[Any]) -> Any:
    """The partials of a linear rule: the coefficient-scaled sum of its arguments' partials
    (read-only where that is an argument's own array or a one-argument rule's)."""
    total = accumulate(*(scaled(p, c) for c, p in zip(rule.derivs, partials)))
    if len(partials) == 1 or any(total is p for p in partials):
        total = _readonly(total)  # shared with an input: setitem must copy first
    return total


def scaled(p: Any, c: Any) -> Any:
    if p is None or c == 1.0:
        return p
    return -p if c == -1.0 else p * c


def _readonly(p: Any) -> Any:
    if isinstance(p, np.ndarray) and p.flags.writeable:
        p = p.view()
        p.flags.writeable = False
    return p


def call(ufunc: Any, inputs: Sequence[Any]) -> Any:
    operands = [real_operand(a) for a in inputs]
    if any(a is None for a in operands):
        return NotImplemented
    rule = RULES.get(ufunc)
    if rule is not None:
        return apply_rule(ufunc, rule, operands)
    if ufunc in PRIMAL:
        return ufunc(*(primal(a) for a in operands))
    if ufunc in CUSTOM:
        return CUSTOM[ufunc](*operands)
    rule = rule_for(ufunc)  # scipy.special's rules go into the table on first use
    if rule is not None:
        return apply_rule(ufunc, rule, operands)
    raise unsupported_ufunc(ufunc, UNSUPPORTED.get(ufunc))


# --- ufunc methods -----------------------------------------------------------------------
def _reduce(ufunc: Any, x: Any, axis: Any = 0, dtype: Any = None, keepdims: bool = False,
            **kw: Any) -> Any:
    impl: dict[Any, Callable[..., Any]] = {np.add: np.sum, np.multiply: np.prod,
                                           np.maximum: np.max, np.minimum: np.min}
    if ufunc not in impl or kw or dtype is not None:
        raise TypeError(f"dualad: {ufunc_name(ufunc)}.reduce"
                        + (f" with {', '.join(kw)}" if kw else "")
                        + " is not supported for DualNumber")
    return impl[ufunc](x, axis=axis, keepdims=keepdims)


def _accumulate(ufunc: Any, x: Any, axis: Any = 0, dtype: Any = None, **kw: Any) -> Any:
    if kw or dtype is not None:
        raise TypeError(f"dualad: {ufunc_name(ufunc)}.accumulate with "
                        f"{', '.join(kw) or 'dtype'} is not supported for DualNumber")
    if ufunc is np.add:
        return np.cumsum(x, axis=axis)
    if ufunc is np.multiply:
        return np.cumprod(x, axis=axis)
    if ufunc in (np.maximum, np.minimum):
        return running_extremum(x, axis, ufunc)
    raise TypeError(f"dualad: {ufunc_name(ufunc)}.accumulate is not supported "
                    "for DualNumber")


_GUFUNC_AXES = {"axis", "axes", "keepdims"}
_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None,
             "subok": True, "signature": None}


def array_ufunc(ufunc: Any, method: str, inputs: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    out = kwargs.pop("out", None)
    # where= with out=: the result is computed everywhere and written where the mask is
    # true (np.divide(a, b, out=np.zeros_like(a), where=b != 0)); numpy's warnings would
    # come from the elements it skips
    where = kwargs.pop("where", True) if out is not None and method == "__call__" else True
    if where is not True:
        with np.errstate(all="ignore"):
            res = array_ufunc(ufunc, method, inputs, kwargs)
        return res if res is NotImplemented else _write_out(ufunc, out, res, where, inputs)
    if method == "__call__":
        if ufunc in CUSTOM and set(kwargs) <= _GUFUNC_AXES and all(
                real_operand(a) is not None for a in inputs):
            # a generalized ufunc's own axes (np.vecdot(a, b, axis=0)): its implementation
            # takes or refuses them
            res = CUSTOM[ufunc](*inputs, **kwargs)
            return res if out is None else _write_out(ufunc, out, res, True, inputs)
        for key, val in kwargs.items():
            # (only strings compare with ==: an array, where=mask, has no truth value)
            default = _DEFAULTS.get(key)
            if key not in _DEFAULTS or val is not default and not (type(val) is str
                                                                   and val == default):
                raise TypeError(f"dualad: {ufunc_name(ufunc)}(..., {key}=...) is not "
                                "supported for DualNumber")
        res = call(ufunc, inputs)
    elif method == "reduce":
        res = _reduce(ufunc, *inputs, **kwargs)
    elif method == "accumulate":
        res = _accumulate(ufunc, *inputs, **kwargs)
    else:
        raise TypeError(f"dualad: {ufunc_name(ufunc)}.{method} is not supported "
                        "for DualNumber")
    if out is None or res is NotImplemented:
        return res
    return _write_out(ufunc, out, res, True, inputs)


_IN_PLACE = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
             np.floor_divide: "//", np.power: "**", np.remainder: "%", np.matmul: "@"}


def _write_out(ufunc: Any, out: Any, res: Any, where: Any = True,
               inputs: Sequence[Any] = ()) -> Any:
    """Write ``res`` into ``out`` (a tuple for several results) where ``where`` is true, as
    numpy does, through ``__setitem__`` (views pass the write on to the dual they view)."""
    outs = out if isinstance(out, tuple) else (out,)
    results = res if isinstance(res, tuple) else (res,)
    for o, r in zip(outs, results):
        if o is None:
            continue
        if isinstance(r, DualNumber) and not isinstance(o, DualNumber):
            if any(o is a for a in inputs):  # a += x, a *= x with a a plain array
                op = _IN_PLACE.get(ufunc)
                raise TypeError(f"dualad: {ufunc_name(ufunc)} in place into a plain ndarray "
                                f"({f'a {op}= x' if op else 'out=a'} with x a dual) would "
                                "drop the derivative; write a = "
                                f"{f'a {op} x' if op else f'np.{ufunc.__name__}(a, x)'} (a "
                                "new dual), or make a a dual first (a = a + 0 * x)")
            raise TypeError(f"dualad: {ufunc_name(ufunc)}(..., out=ndarray) would drop "
                            "the derivative; pass a DualNumber as out (np.zeros_like(x) of "
                            "a dual x is one), or no out")
        _check_out_shape(ufunc, o, r)
        if where is True:
            o[...] = r
        else:
            o[...] = np.where(primal(where), r, o)
    final = tuple(r if o is None else o for o, r in zip(outs, results))
    return final if isinstance(res, tuple) else final[0]


def _check_out_shape(ufunc: Any, o: Any, r: Any) -> None:
    # as numpy: a result may broadcast into out elementwise, never through a gufunc (a @= b)
    if np.shape(r) == np.shape(o):
        return
    try:
        fits = ufunc.signature is None and np.broadcast_shapes(np.shape(r),
                                                                np.shape(o)) == np.shape(o)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"dualad: {ufunc_name(ufunc)} gives shape {np.shape(r)}, which "
                         f"does not fit out= of shape {np.shape(o)}")


# --- ufuncs with several outputs ---------------------------------------------------------
@custom_ufunc(np.modf)
def _modf(x: Any) -> Tuple[Any, Any]:
    tag = top_tag((x,))
    v, p = split(x, tag)
    frac, whole = np.modf(v)
    return result(frac, p, tag), result(whole, zeros_partials(whole, p.shape[-1]), tag)


@custom_ufunc(np.frexp)
def _frexp(x: Any) -> Tuple[Any, Any]:
    tag = top_tag((x,))
    v, p = split(x, tag)
    mant, expo = np.frexp(v)
    return result(mant, chain(p, np.ldexp(1.0, -expo).astype(primal(mant).dtype)), tag), expo


@custom_ufunc(np.divmod)
def _divmod(x: Any, y: Any) -> Tuple[Any, Any]:
    return np.floor_divide(x, y), np.remainder(x, y)


hooks.array_ufunc = array_ufunc
