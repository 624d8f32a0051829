"""Taylor mode: truncated Taylor polynomials for derivatives of high order in O(k^2).

``Taylor`` holds the true Taylor coefficients ``c[..., j] = f^(j)(x) / j!`` along one
direction (not scaled by ``j!``, so high orders do not overflow). Products are Cauchy
products; exp, log, powers, sin/cos, sinh/cosh and division use the standard recurrences;
every other rule of the table is propagated generically from its derivative rule:
``c' = f'(a) a'``, solved order by order, so adding a rule to the table needs nothing here.

>>> t = Taylor.variable(0.0, order=4)          # x = 0 + 1 t
>>> (np.exp(t).coeffs * [1, 1, 2, 6, 24]).tolist()   # derivatives of exp at 0
[1.0, 1.0, 1.0, 1.0, 1.0]
"""
import math

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..core import functions as _functions
from ..core.bilinear import _from_sublists
from ..core.dual import (DualNumber, NoPlainValue, _as_float_array, _partials_index,
                         _plain_index, missing_method, refused_astype)
from ..core.ufunc import real_operand
from ..core.partials import through_stacked
from ..errors import checked, is_ufunc, not_real, ufunc_name, whole
from ..rules.table import RULES
from ..rules.ufuncs import PRIMAL
from .kinds import PerturbationMix, SecondOrder, TaylorUnsupported


def _foreign(values):
    return any(isinstance(a, (DualNumber, SecondOrder)) for a in values)


class Taylor(NoPlainValue, NDArrayOperatorsMixin):
    """Truncated Taylor polynomial per element: ``coeffs`` of shape S + (order + 1,).

    >>> t = Taylor.variable(0.5, order=3)
    >>> np.round(np.sin(t).derivatives(), 6).tolist()   # sin, cos, -sin, -cos at 0.5
    [0.479426, 0.877583, -0.479426, -0.877583]
    """

    __slots__ = ("coeffs",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, coeffs):
        coeffs = _as_float_array(coeffs, "Taylor number")
        if coeffs.ndim < 1:
            raise ValueError("dualad: Taylor coefficients need a trailing axis of orders")
        self.coeffs = coeffs

    @classmethod
    def variable(cls, x, order):
        """The independent variable ``x + t`` truncated at ``order``."""
        order = whole(order, "order", 0)
        x = _as_float_array(x, "value")  # float32 stays float32
        c = np.zeros(x.shape + (order + 1,), dtype=x.dtype)
        c[..., 0] = x
        if order >= 1:
            c[..., 1] = 1.0
        return cls(c)

    order = property(lambda self: self.coeffs.shape[-1] - 1)
    value = property(lambda self: self.coeffs[..., 0])
    shape = property(lambda self: self.coeffs.shape[:-1])
    ndim = property(lambda self: self.coeffs.ndim - 1)
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))
    dtype = property(lambda self: self.coeffs.dtype)
    T = property(lambda self: np.transpose(self))

    def derivatives(self):
        """``f^(j)(x)`` for j = 0..order (coefficients times j!).

        j! itself exceeds float64 from j = 171 on, so it is applied as its mantissa (the
        correctly rounded top 53 bits) times a power of two: a zero coefficient gives exactly
        0 at any order, and a derivative beyond the float range is ±inf with numpy's overflow
        RuntimeWarning. Below 171 this is the same as multiplying by float(j!). (Coefficients
        themselves underflow to 0 where f^(j)(x) / j! is below the float range: for sin or exp
        from about j = 171 on.)
        """
        mant, expo = [], []
        for j in range(self.order + 1):
            f = math.factorial(j)
            e = max(f.bit_length() - 53, 0)
            mant.append(f / (1 << e))  # int / int is correctly rounded
            expo.append(e)
        return np.ldexp(self.coeffs * np.array(mant), np.array(expo))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("dualad: len() of a 0-d Taylor number")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __getitem__(self, index):
        index = _plain_index(index)
        return Taylor(self.coeffs[_partials_index(index)])

    def __setitem__(self, index, item):
        index = _plain_index(index)
        self.coeffs[_partials_index(index)] = _coeffs(item, self.order, self.dtype)

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def __copy__(self):
        # copy.copy and copy.deepcopy copy the coefficients, as numpy's copy.copy(ndarray):
        # writes into the copy (t[i] = ...) stay there
        return Taylor(self.coeffs.copy())

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __getattr__(self, name):
        # TaylorUnsupported: derivative(..., order=k) runs the function with nested duals
        raise missing_method(self, name, TaylorUnsupported)

    def astype(self, dtype, copy=True):
        # a TypeError for int, bool, ...; TaylorUnsupported (nested duals) for floating dtypes
        raise refused_astype(self, dtype, TaylorUnsupported)

    def __float__(self):
        raise TaylorUnsupported("dualad: converting a Taylor number to float would drop its "
                                "derivatives")

    __int__ = __complex__ = __index__ = __float__

    def __array__(self, dtype=None, copy=None):
        raise TaylorUnsupported("dualad: a Taylor number cannot become a plain array")

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"Taylor(coeffs={self.coeffs!r})"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TaylorUnsupported(f"dualad: {ufunc_name(ufunc)}.{method} in Taylor mode")
        if _foreign(inputs):
            raise PerturbationMix("dualad: Taylor numbers and duals cannot be mixed")
        if any(not isinstance(a, Taylor) and real_operand(a) is None for a in inputs):
            return NotImplemented  # (complex, Fraction, str arrays raise a TypeError)
        if ufunc in PRIMAL:
            return ufunc(*(_value(a) for a in inputs))
        if ufunc is np.matmul:
            return _product(ufunc, inputs, {})
        special = _RECURRENCES.get(ufunc)
        if special is not None:
            return _constants_stay(special(*inputs), inputs)
        rule = RULES.get(ufunc)
        if rule is None:
            raise TaylorUnsupported(f"dualad: {ufunc_name(ufunc)} in Taylor mode")
        return _constants_stay(apply_rule(ufunc, rule, inputs), inputs)

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Taylor, np.ndarray)) for t in types):
            raise PerturbationMix(f"dualad: numpy.{func.__name__} of Taylor numbers and duals")
        _functions.refuse_foreign(func, args, kwargs)
        if _functions.writes_out(func, args, kwargs):  # (nested duals write into out=)
            raise TaylorUnsupported(f"dualad: numpy.{func.__name__}(..., out=) in Taylor mode")
        category = _functions.CATEGORY.get(func)
        if category == "primal":
            return func(*(_value(a) for a in args), **kwargs)
        if category in ("structural", "linear"):
            return _as_stacked(func, args, kwargs)
        if func in _PRODUCTS:
            return _product(func, args, kwargs)
        if func in _COMPOSITE:  # written with numpy calls only: they dispatch back here
            return _functions.HANDLED[func](*args, **kwargs)
        if func in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
            return _like(func, *args, **kwargs)
        raise TaylorUnsupported(f"dualad: numpy.{func.__name__} in Taylor mode")


_PRODUCTS = {np.dot, np.tensordot, np.inner, np.einsum, np.linalg.matmul}
_COMPOSITE = {np.var, np.std, np.average, np.clip, np.sort, np.partition, np.max, np.amax,
              np.min, np.amin, np.ptp, np.interp, np.polyval, np.sinc, np.median, np.quantile,
              np.percentile, np.cross, np.vander, np.trapezoid, np.outer, np.vdot, np.kron,
              np.linalg.multi_dot}


def _value(a):
    return a.value if isinstance(a, Taylor) else a


def _coeffs(a, order, dtype):
    """Coefficients of ``a`` (a constant has zeros past the value)."""
    if isinstance(a, Taylor):
        if a.order != order:
            raise ValueError(f"dualad: Taylor numbers of orders {a.order} and {order} mixed")
        return a.coeffs
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":  # as a cast would: drop an imaginary part, None -> nan
        raise not_real("operand", a)
    c = np.zeros(a.shape + (order + 1,), dtype=dtype)
    c[..., 0] = a
    return c


def _common(inputs):
    orders = {a.order for a in inputs if isinstance(a, Taylor)}
    if len(orders) > 1:
        raise ValueError(f"dualad: Taylor numbers of orders {sorted(orders)} mixed")
    order = orders.pop()
    # Python scalars stay weakly typed: float32 Taylor numbers stay float32
    dtype = np.result_type(*(a.coeffs if isinstance(a, Taylor) else
                             a if isinstance(a, (int, float)) else np.asarray(a)
                             for a in inputs), np.float32)
    return order, dtype


def _empty_like_coeffs(*cs):
    shape = np.broadcast_shapes(*(c.shape for c in cs))
    return np.zeros(shape, dtype=np.result_type(*cs))


def _cauchy(a, b):
    """Coefficients of the product: c_k = sum_j a_j b_(k-j)."""
    out = _empty_like_coeffs(a, b)
    for k in range(out.shape[-1]):
        out[..., k] = np.sum(a[..., :k + 1] * b[..., k::-1], axis=-1)
    return out


def _constants_stay(result, inputs):
    """Where no operand moves (all its higher coefficients zero), neither does the result,
    even where a derivative is infinite or nan: the chain rule's 0 · inf = 0 guard, at every
    order (log(0 · t), (-2) ** (0 · t + 3)); finite coefficients are kept as computed. Only a
    result with non-finite higher coefficients is looked at. (A moving operand times an
    infinite one keeps its nan.)"""
    c = result.coeffs
    if c.shape[-1] < 2 or np.isfinite(c[..., 1:]).all():
        return result
    moving = False
    for a in inputs:
        if isinstance(a, Taylor):
            moving = moving | np.any(a.coeffs[..., 1:] != 0, axis=-1)
    # elementwise, as the chain rule's ``times``: +0.0 only where a coefficient is not finite
    higher = c[..., 1:]
    keep = np.broadcast_to(moving, c.shape[:-1])[..., None] | np.isfinite(higher)
    c[..., 1:] = np.where(keep, higher, 0.0)
    return result


def _weighted(a, b, k):
    """sum_{j=1..k} j a_j b_(k-j): the recurrences' common convolution."""
    j = np.arange(1, k + 1)
    return np.sum(j * a[..., 1:k + 1] * b[..., k - 1::-1][..., :k], axis=-1)


# --- dedicated recurrences ----------------------------------------------------------------
def _lift(fn):
    """fn on coefficient arrays -> fn on Taylor/constant operands."""
    def impl(*inputs):
        order, dtype = _common(inputs)
        return Taylor(fn(*(_coeffs(a, order, dtype) for a in inputs)))
    return impl


def _mul(a, b):
    if a is b:
        return _cauchy(a, a)
    return _cauchy(a, b)


def _div(a, b):
    out = _empty_like_coeffs(a, b)
    a = np.broadcast_to(a, out.shape)
    b0 = b[..., 0]
    for k in range(out.shape[-1]):
        acc = a[..., k] - np.sum(b[..., 1:k + 1] * out[..., k - 1::-1][..., :k], axis=-1) \
            if k else a[..., 0]
        out[..., k] = acc / b0
    return out


def _exp_from(a, e0):
    out = np.zeros(np.broadcast_shapes(a.shape, e0.shape + a.shape[-1:]), dtype=a.dtype)
    out[..., 0] = e0
    for k in range(1, out.shape[-1]):
        out[..., k] = _weighted(a, out, k) / k
    return out


def _log_from(a, l0):
    out = np.zeros_like(a)
    out[..., 0] = l0
    a0 = a[..., 0]
    for k in range(1, a.shape[-1]):
        acc = np.sum(np.arange(1, k) * out[..., 1:k] * a[..., k - 1:0:-1], axis=-1) / k \
            if k > 1 else 0.0
        out[..., k] = (a[..., k] - acc) / a0
    return out


def _power_from(a, r, p0):
    """a**r for a constant exponent r, from the value p0 = a_0**r."""
    if not _small_natural(r):
        out = np.zeros(a.shape, dtype=np.result_type(a, p0))
        out[..., 0] = p0
        a0 = a[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):  # a zero base: patched below
            for k in range(1, a.shape[-1]):
                j = np.arange(1, k + 1)
                out[..., k] = np.sum(((np.asarray(r)[..., None] + 1) * j - k)
                                     * a[..., 1:k + 1] * out[..., k - 1::-1][..., :k],
                                     axis=-1) / (k * a0)
        zero = a0 == 0
        if np.any(zero):
            out[..., 1:] = np.where(zero[..., None], _power_at_zero(a, r), out[..., 1:])
        return out
    # a natural power: products by squaring. The recurrence divides by a_0 and starts from
    # p0 = a_0**r, which is wrong at a zero base and where a_0**r underflows (tiny a_0)
    result = np.zeros_like(a)
    result[..., 0] = 1.0
    n, base = int(r), a
    while n:
        if n & 1:
            result = _cauchy(result, base)
        n >>= 1
        if n:
            base = _cauchy(base, base)
    return result


def _power_at_zero(a, r):
    """Coefficients 1.. of a**r at a zero base a_0 (no Taylor series there): the chain rule's
    leading term (r choose k) 0**(r-k) a_1**k, as nested duals give: sqrt at 0 is inf times
    the tangent (README's convention), +inf, -inf, ... at higher orders, and 0 for a zero
    tangent a_1 (the 0 * inf guard)."""
    k = np.arange(1, a.shape[-1])
    r = np.asarray(r)[..., None]
    a1 = a[..., 1:2]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lead = np.cumprod((r - k + 1) / k, axis=-1) * np.power(0.0, r - k) * a1 ** k
    return np.where(a1 == 0, 0.0, lead)


def _small_natural(r):
    r = np.asarray(r)
    return r.ndim == 0 and float(r).is_integer() and 0 <= r <= 64


def _sin_cos(a):
    s, c = np.zeros_like(a), np.zeros_like(a)
    s[..., 0], c[..., 0] = np.sin(a[..., 0]), np.cos(a[..., 0])
    for k in range(1, a.shape[-1]):
        s[..., k] = _weighted(a, c, k) / k
        c[..., k] = -_weighted(a, s, k) / k
    return s, c


def _sinh_cosh(a):
    s, c = np.zeros_like(a), np.zeros_like(a)
    s[..., 0], c[..., 0] = np.sinh(a[..., 0]), np.cosh(a[..., 0])
    for k in range(1, a.shape[-1]):
        s[..., k] = _weighted(a, c, k) / k
        c[..., k] = _weighted(a, s, k) / k
    return s, c


def _power(x, y):
    if isinstance(y, Taylor):
        return _power_of_varying_exponent(x, y)
    order, dtype = _common((x,))
    a = _coeffs(x, order, dtype)
    y = np.asarray(y, dtype=dtype)
    shape = np.broadcast_shapes(a.shape[:-1], y.shape)  # (an array of exponents: vander)
    a = np.broadcast_to(a, shape + a.shape[-1:])
    return Taylor(_power_from(a, np.broadcast_to(y, shape), np.power(a[..., 0], y)))


def _power_of_varying_exponent(x, y):
    """x**y = exp(y log x) for x > 0; at a constant zero base, 0**y is constant in y (the
    rule table's convention d/dy 0**y = 0), so every coefficient past the value is 0."""
    order, dtype = _common((x, y))
    a, b = _coeffs(x, order, dtype), _coeffs(y, order, dtype)
    zero = a[..., 0] == 0
    if not np.any(zero):
        out = np.exp(Taylor(b) * np.log(Taylor(a))).coeffs
    else:
        if np.any(zero & np.any(a[..., 1:] != 0, axis=-1)):
            # no Taylor series of x**y in both at x = 0: nested duals apply the rule table
            raise TaylorUnsupported("dualad: Taylor mode: x**y with a varying base at 0")
        one = np.zeros(order + 1, dtype=dtype)
        one[0] = 1.0
        safe = np.where(zero[..., None], one, a)
        out = np.exp(Taylor(b) * np.log(Taylor(safe))).coeffs
        out = np.where(np.broadcast_to(zero, out.shape[:-1])[..., None], 0.0, out)
    out[..., 0] = np.power(a[..., 0], b[..., 0])  # numpy's own value
    return Taylor(out)


def _with_value(c, value):
    c[..., 0] = value  # the function's own value where it is more accurate (expm1)
    return c


def _unary(fn):
    def impl(x):
        order, dtype = _common((x,))
        return Taylor(fn(_coeffs(x, order, dtype)))
    return impl


_LN2, _LN10 = math.log(2.0), math.log(10.0)
_RECURRENCES = {
    np.multiply: _lift(_mul),
    np.divide: _lift(_div),
    np.true_divide: _lift(_div),
    np.reciprocal: _unary(lambda a: _div(np.eye(1, a.shape[-1], dtype=a.dtype)[0], a)),
    np.square: _unary(lambda a: _cauchy(a, a)),
    np.power: _power,
    np.float_power: _power,
    np.sqrt: _unary(lambda a: _power_from(a, 0.5, np.sqrt(a[..., 0]))),
    np.cbrt: _unary(lambda a: _power_from(a, 1.0 / 3.0, np.cbrt(a[..., 0]))),
    np.exp: _unary(lambda a: _exp_from(a, np.exp(a[..., 0]))),
    np.exp2: _unary(lambda a: _exp_from(a * _LN2, np.exp2(a[..., 0]))),
    np.expm1: _unary(lambda a: _with_value(_exp_from(a, np.exp(a[..., 0])),
                                           np.expm1(a[..., 0]))),
    np.log: _unary(lambda a: _log_from(a, np.log(a[..., 0]))),
    np.log2: _unary(lambda a: _log_from(a, np.log(a[..., 0])) / _LN2),
    np.log10: _unary(lambda a: _log_from(a, np.log(a[..., 0])) / _LN10),
    np.sin: _unary(lambda a: _sin_cos(a)[0]),
    np.cos: _unary(lambda a: _sin_cos(a)[1]),
    np.sinh: _unary(lambda a: _sinh_cosh(a)[0]),
    np.cosh: _unary(lambda a: _sinh_cosh(a)[1]),
}


# --- everything else in the table: c' = sum_i f_i(a, c) a_i', order by order --------------
def apply_rule(ufunc, rule, inputs):
    order, dtype = _common(inputs)
    cs = [_coeffs(a, order, dtype) for a in inputs]
    # constants go in as given: an integer argument (ldexp's exponent) must stay integer
    values = [c[..., 0] if isinstance(a, Taylor) else a for a, c in zip(inputs, cs)]
    name = ufunc_name(ufunc) if is_ufunc(ufunc) else ufunc.__name__  # or custom_jvp
    ans = checked(np.asarray(ufunc(*values)), f"the value of {name}")
    out = np.zeros(ans.shape + (order + 1,), dtype=np.result_type(ans, dtype))
    out[..., 0] = ans
    if rule.kind == "zero" or order == 0:
        return Taylor(out)
    if rule.kind == "linear":
        for coef, c, a in zip(rule.derivs, cs, inputs):
            if isinstance(a, Taylor):
                out[..., 1:] += coef * c[..., 1:]
        return Taylor(out)
    live = [i for i, a in enumerate(inputs) if isinstance(a, Taylor)]
    if any(rule.derivs[i] is None for i in live):
        raise TypeError(f"dualad: {ufunc_name(ufunc)} cannot be differentiated with "
                        "respect to this argument; pass a constant")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for k in range(1, order + 1):
            # the derivatives f_i(a, c) are needed to order k-1, which c already has
            # (at order 0 these are plain values: the first derivative at the point)
            trunc = [Taylor(c[..., :k]) if i in live and k > 1 else values[i]
                     for i, c in enumerate(cs)]
            c_trunc = Taylor(out[..., :k]) if k > 1 else out[..., 0]
            total = 0.0
            for i in live:
                g = checked(rule.derivs[i](*trunc, c_trunc), f"derivative {i} of {name}",
                            ans.shape)
                g = _coeffs(g, k - 1, dtype)
                total = total + _weighted(cs[i], g, k)
            out[..., k] = total / k
    return Taylor(out)


# --- linear functions: the coefficient axis travels as the partials of a dual -------------
def _as_stacked(func, args, kwargs):
    return through_stacked(
        func, args, kwargs, Taylor, lambda a: (a.coeffs[..., 0], a.coeffs[..., 1:]),
        lambda v, p: Taylor(np.concatenate([np.asarray(v)[..., None], p], -1)))


def _product(func, args, kwargs):
    """Bilinear products: linear if one side is constant, else a Cauchy product."""
    if func is np.einsum and not isinstance(args[0], str):  # the sublist form
        spec, sublist_operands = _from_sublists(args)
        args = (spec,) + sublist_operands
    operands = list(args[1:]) if func is np.einsum else list(args[:2])
    rest = args[:1] if func is np.einsum else args[2:]
    if sum(isinstance(a, Taylor) for a in operands) <= 1:
        return _as_stacked(func, args, kwargs)
    if len(operands) != 2:
        raise TaylorUnsupported("dualad: einsum of more than two Taylor operands")
    order, dtype = _common(operands)
    a, b = (_coeffs(o, order, dtype) for o in operands)

    def op(x, y):
        return func(*rest, x, y, **kwargs) if func is np.einsum else func(x, y, *rest, **kwargs)
    terms = [sum(op(a[..., j], b[..., k - j]) for j in range(k + 1)) for k in range(order + 1)]
    return Taylor(np.stack(terms, axis=-1))


def _like(func, a, *args, **kwargs):
    fill = args[0] if func is np.full_like else None
    base = np.zeros_like(a.coeffs) if fill is None else None
    if func is np.ones_like:
        base[..., 0] = 1.0
    if fill is not None:
        base = _coeffs(np.broadcast_to(fill, a.shape), a.order, a.dtype).copy()
    return Taylor(base)
