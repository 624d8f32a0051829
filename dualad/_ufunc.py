"""``__array_ufunc__``: look a ufunc up in the rule table and apply the chain rule once.

Every ufunc numpy can hand us is in exactly one category: a rule in ``RULES``; ``PRIMAL``
(comparisons and predicates: they act on values and return plain arrays); ``CUSTOM``
(several outputs or a core signature: matmul, modf, ...); or ``UNSUPPORTED`` (integer, bit and
string ufuncs). Anything else raises a TypeError naming it.
"""
import numbers
import sys

import numpy as np

from . import _fused, _lazy
from ._partials import (accumulate, chain, chain_same, chain_sum, n_directions, primal, result,
                        split, top_tag, zeros_partials)
from ._rules import RULES
from ._tags import _running
from .dual import DualNumber, make, not_real

PRIMAL = frozenset([
    np.equal, np.not_equal, np.greater, np.greater_equal, np.less, np.less_equal,
    np.isnan, np.isinf, np.isfinite, np.signbit,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
])

_INTEGER_ONLY = ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_count", "invert",
                 "left_shift", "right_shift", "gcd", "lcm", "isnat")
UNSUPPORTED = {getattr(np, name): "is defined for integers or datetimes only"
               for name in _INTEGER_ONLY if hasattr(np, name)}
_UMATH = np._core.umath if hasattr(np, "_core") else np.core.umath
if hasattr(_UMATH, "_ones_like"):  # a private numeric ufunc numpy lists as overridable
    UNSUPPORTED[_UMATH._ones_like] = "is an internal numpy helper; use np.ones_like"

CUSTOM = {}  # filled by the modules that implement them (_functions, _bilinear)


def custom_ufunc(*ufuncs):
    def register(impl):
        for u in ufuncs:
            if u is not None:  # absent from this numpy version
                CUSTOM[u] = impl
        return impl
    return register


def _is_string_ufunc(ufunc):
    # numpy's string ufuncs (str_len, _center, ...) have only new-style string loops: no
    # legacy type signatures at all, unlike every numeric ufunc (also the private _ones_like)
    return not ufunc.types


def real_operand(a, what="operand"):
    """Operands we understand, with lists made arrays; None means 'not ours'. Numbers that are
    not real (complex, a Fraction, str or object arrays) raise a TypeError naming them: numpy
    would drop an imaginary part or compute an object array that fails later."""
    t = type(a)
    if t is DualNumber or t is float or t is int:  # the usual operands, cheaply
        return a
    if isinstance(a, (DualNumber, int, float)):  # bool, np.float64: python scalars stay
        return a                                 # weakly typed (float32 duals stay float32)
    if isinstance(a, (np.ndarray, np.generic)):
        if a.dtype.kind in "biuf":
            return a
        raise not_real(what, a)
    if isinstance(a, numbers.Number):  # complex, Fraction, Decimal
        raise not_real(what, a)
    if isinstance(a, (list, tuple)):
        return real_operand(np.asarray(a), what)
    return None


def apply_rule(ufunc, rule, inputs):
    """Apply ``rule`` for ``ufunc`` to operands of which at least one is a dual."""
    tag = top_tag(inputs)
    if rule.kind != "zero" and tag in _running:  # inside a helper: perhaps later, fused
        deferred = _lazy.defer(ufunc, rule, inputs, tag)
        if deferred is not None:
            return deferred
    values, partials = zip(*(split(a, tag) for a in inputs))
    n = n_directions(*partials)
    if rule.kind in ("unary", "binary"):  # large float64 data: one fused numba pass
        fused = _fused.apply(ufunc, rule, values, partials)
        if fused is not None:
            return result(fused[0], fused[1], tag)
    ans = _fused.value(ufunc, values)
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


def _chained(ufunc, rule, values, partials, ans, guard):
    """The result's partials: the chain rule over the rule's derivatives."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if len(partials) == 2 and partials[0] is partials[1] and None not in rule.derivs:
            # f(x, x): one chain rule with the summed derivative (x * x costs one product)
            dx, dy = rule.derivs
            return chain_same(partials[0], _fused.derivative(dx, values, ans),
                              _fused.derivative(dy, values, ans), guard)
        derivs = []
        for d, p in zip(rule.derivs, partials):
            if p is not None and d is None:
                raise TypeError(f"dualad: numpy.{ufunc.__name__} cannot be differentiated "
                                "with respect to this argument; pass a constant")
            derivs.append(None if p is None else _fused.derivative(d, values, ans))
    if len(partials) == 2:
        return chain_sum(partials[0], derivs[0], partials[1], derivs[1], guard)
    d = derivs.pop()
    # refcount 2 (d and the call's argument): a fresh temporary, not an input or the output
    return chain(partials[0], d, guard, scratch=sys.getrefcount(d) == 2)


def _check_derivatives(ufunc, rule, values, partials, ans):
    """Raise the error naming a derivative of ``rule`` that returned what is not real numbers
    of the result's shape (a registered rule's: the table's own are correct)."""
    from .custom import checked
    for i, (d, p) in enumerate(zip(rule.derivs, partials)):
        if d is not None and p is not None:
            with np.errstate(all="ignore"):
                g = d(*values, ans)
            checked(g, f"derivative {i} of numpy.{ufunc.__name__}", np.shape(ans))


def linear_partials(rule, partials):
    """The partials of a linear rule: the coefficient-scaled sum of its arguments' partials
    (read-only where that is an argument's own array or a one-argument rule's)."""
    total = accumulate(*(_scaled(p, c) for c, p in zip(rule.derivs, partials)))
    if len(partials) == 1 or any(total is p for p in partials):
        total = _readonly(total)  # shared with an input: setitem must copy first
    return total


def _scaled(p, c):
    if p is None or c == 1.0:
        return p
    return -p if c == -1.0 else p * c


def _readonly(p):
    if isinstance(p, np.ndarray) and p.flags.writeable:
        p = p.view()
        p.flags.writeable = False
    return p


def call(ufunc, inputs):
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
    raise TypeError(f"dualad: numpy.{ufunc.__name__} is not supported for DualNumber"
                    + (f" (it {UNSUPPORTED[ufunc]})" if ufunc in UNSUPPORTED else ""))


# --- ufunc methods -----------------------------------------------------------------------
def _reduce(ufunc, x, axis=0, dtype=None, keepdims=False, **kw):
    impl = {np.add: np.sum, np.multiply: np.prod, np.maximum: np.max, np.minimum: np.min}
    if ufunc not in impl or kw or dtype is not None:
        raise TypeError(f"dualad: numpy.{ufunc.__name__}.reduce"
                        + (f" with {', '.join(kw)}" if kw else "")
                        + " is not supported for DualNumber")
    return impl[ufunc](x, axis=axis, keepdims=keepdims)


def _accumulate(ufunc, x, axis=0, dtype=None, **kw):
    from ._functions import running_extremum
    if kw or dtype is not None:
        raise TypeError(f"dualad: numpy.{ufunc.__name__}.accumulate with "
                        f"{', '.join(kw) or 'dtype'} is not supported for DualNumber")
    if ufunc is np.add:
        return np.cumsum(x, axis=axis)
    if ufunc is np.multiply:
        return np.cumprod(x, axis=axis)
    if ufunc in (np.maximum, np.minimum):
        return running_extremum(x, axis, ufunc)
    raise TypeError(f"dualad: numpy.{ufunc.__name__}.accumulate is not supported "
                    "for DualNumber")


_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "dtype": None,
             "subok": True, "signature": None}


def array_ufunc(ufunc, method, inputs, kwargs):
    out = kwargs.pop("out", None)
    if method == "__call__":
        for key, val in kwargs.items():
            # (only strings compare with ==: an array, where=mask, has no truth value)
            default = _DEFAULTS.get(key)
            if key not in _DEFAULTS or val is not default and not (type(val) is str
                                                                   and val == default):
                raise TypeError(f"dualad: numpy.{ufunc.__name__}(..., {key}=...) is not "
                                "supported for DualNumber")
        res = call(ufunc, inputs)
    elif method == "reduce":
        res = _reduce(ufunc, *inputs, **kwargs)
    elif method == "accumulate":
        res = _accumulate(ufunc, *inputs, **kwargs)
    else:
        raise TypeError(f"dualad: numpy.{ufunc.__name__}.{method} is not supported "
                        "for DualNumber")
    if out is None or res is NotImplemented:
        return res
    return _write_out(ufunc, out, res)


def _write_out(ufunc, out, res):
    outs = out if isinstance(out, tuple) else (out,)
    results = res if isinstance(res, tuple) else (res,)
    for o, r in zip(outs, results):
        if o is None:
            continue
        if isinstance(r, DualNumber) and not isinstance(o, DualNumber):
            raise TypeError(f"dualad: numpy.{ufunc.__name__}(..., out=ndarray) would drop "
                            "the derivative; pass a DualNumber as out, or no out")
        _check_out_shape(ufunc, o, r)
        o[...] = r
    final = tuple(r if o is None else o for o, r in zip(outs, results))
    return final if isinstance(res, tuple) else final[0]


def _check_out_shape(ufunc, o, r):
    # as numpy: a result may broadcast into out elementwise, never through a gufunc (a @= b)
    if np.shape(r) == np.shape(o):
        return
    try:
        fits = ufunc.signature is None and np.broadcast_shapes(np.shape(r),
                                                                np.shape(o)) == np.shape(o)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"dualad: numpy.{ufunc.__name__} gives shape {np.shape(r)}, which "
                         f"does not fit out= of shape {np.shape(o)}")


# --- ufuncs with several outputs ---------------------------------------------------------
@custom_ufunc(np.modf)
def _modf(x):
    tag = top_tag((x,))
    v, p = split(x, tag)
    frac, whole = np.modf(v)
    return result(frac, p, tag), result(whole, zeros_partials(whole, p.shape[-1]), tag)


@custom_ufunc(np.frexp)
def _frexp(x):
    tag = top_tag((x,))
    v, p = split(x, tag)
    mant, expo = np.frexp(v)
    return result(mant, chain(p, np.ldexp(1.0, -expo).astype(primal(mant).dtype)), tag), expo


@custom_ufunc(np.divmod)
def _divmod(x, y):
    return np.floor_divide(x, y), np.remainder(x, y)
