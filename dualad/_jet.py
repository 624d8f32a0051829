"""Jet: a value with k tangents and no tag, to run a rule's derivative function forward once.

``HyperDual`` needs each rule's second derivatives. They come from the rule table itself:
its derivative functions, run on duals seeded in the live arguments (``_second_derivatives``
in ``hyperdual.py``). A ``DualNumber`` would do, but its dispatch (tags, deferral, fused
kernels, broadcasting checks) costs tens of µs per operation on the small arrays of a
Hessian. A jet supports only what derivative functions are made of: the ufuncs of the rule
table, with the same chain rule (``_partials.chain``); anything else raises ``Unsupported``
and the caller takes the ``DualNumber`` route instead. Callers silence floating-point
warnings around it, as ``apply_rule`` does around derivatives (the values warned already).

>>> import numpy as np
>>> x = Jet(np.array([2.0]), np.ones((1, 1)))
>>> y = 3.0 * x ** 2                       # d/dx (3 x^2) = 6 x
>>> float(y.value[0]), float(y.partials[0, 0])
(12.0, 12.0)
"""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ._partials import accumulate, chain
from ._rules import RULES
from ._ufunc import PRIMAL, linear_partials


class Unsupported(Exception):
    """The derivative function used something a jet does not model."""


class Jet(NDArrayOperatorsMixin):
    """``value`` (shape S) and ``partials`` (S + (k,)); only rule-table ufuncs apply."""

    __slots__ = ("value", "partials")

    def __init__(self, value, partials):
        self.value, self.partials = value, partials

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise Unsupported(f"{ufunc.__name__}.{method}")
        values = [a.value if type(a) is Jet else a for a in inputs]
        if ufunc in PRIMAL:  # comparisons, sign, ...: plain results
            return ufunc(*values)
        rule = RULES.get(ufunc)
        if rule is None or rule.kind == "zero" or not all(
                type(v) in (np.ndarray, float, int) or isinstance(v, np.generic)
                for v in values):
            raise Unsupported(ufunc.__name__)
        ans = ufunc(*values)
        parts = [a.partials if type(a) is Jet else None for a in inputs]
        if rule.kind == "linear":  # constant coefficients, as for DualNumber
            partials = linear_partials(rule, parts)
        else:
            if any(d is None for d, p in zip(rule.derivs, parts) if p is not None):
                raise Unsupported(ufunc.__name__)
            partials = accumulate(*(chain(p, np.asarray(d(*values, ans)), not rule.bounded)
                                    for d, p in zip(rule.derivs, parts) if p is not None))
        shape = np.shape(ans)
        if partials.shape[:-1] != shape:
            partials = np.broadcast_to(partials, shape + partials.shape[-1:])
        return Jet(ans, partials)

    def __array_function__(self, func, types, args, kwargs):
        raise Unsupported(func.__name__)

    def __array__(self, dtype=None, copy=None):
        raise Unsupported("conversion to an array")

    def __float__(self):
        raise Unsupported("conversion to float")

    __int__ = __complex__ = __index__ = __bool__ = __float__
