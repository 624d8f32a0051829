"""Hypothesis strategies for property tests of functions and rules (needs ``hypothesis``).

- ``duals(shape=(), n=1, dtype=np.float64)``: DualNumbers with finite values and partials;
- ``arrays_in(domain, shape=(), dtype=np.float64)``: float arrays inside an interval;
- ``well_conditioned(rule_or_ufunc, shape=(), dtype=np.float64)``: one array per argument
  inside the domain the rule table gives the function (``Rule.domain``), integers for the
  arguments that must be constant (the order of ``polygamma``, the exponent of ``ldexp``).

Bounded strategies, no filtering; ``shape`` and ``n`` may be strategies themselves.

>>> import numpy as np, dualad as ad
>>> from hypothesis import given
>>> from dualad.testing import check_grads
>>> from dualad.testing.strategies import well_conditioned
>>> @given(well_conditioned(np.arctanh, shape=(3,)))
... def test_arctanh(args):
...     (x,) = args
...     check_grads(np.arctanh, x, order=1)
>>> test_arctanh()
"""
import numbers

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError("dualad.testing.strategies needs hypothesis: pip install hypothesis "
                      "(dualad.testing.check_grads works without it)") from err

from ..rules.scipy_special import rule_for
from ..rules.table import Rule
from ..core.dual import DualNumber

__all__ = ["arrays_in", "duals", "well_conditioned"]


def _strategy(x):
    return x if isinstance(x, st.SearchStrategy) else st.just(x)


def _shape(shape):
    if isinstance(shape, st.SearchStrategy):
        return shape
    return st.just((shape,) if isinstance(shape, numbers.Integral) else tuple(shape))


def _floats(lo, hi, dtype):
    """Bounded finite floats of ``dtype``, the bounds moved inside to representable values."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dualad: strategies draw floating arrays, got dtype {dtype}")
    lo_t, hi_t = dtype.type(lo), dtype.type(hi)
    if lo_t < lo:
        lo_t = np.nextafter(lo_t, dtype.type(np.inf))
    if hi_t > hi:
        hi_t = np.nextafter(hi_t, dtype.type(-np.inf))
    return st.floats(float(lo_t), float(hi_t), width=dtype.itemsize * 8,
                     allow_nan=False, allow_infinity=False)


def arrays_in(domain, shape=(), dtype=np.float64):
    """Float arrays of ``shape`` and ``dtype`` with every element in ``domain = (lo, hi)``.

    >>> from hypothesis import given
    >>> @given(arrays_in((0.1, 4.0), shape=(2, 3), dtype=np.float32))
    ... def test(x):
    ...     assert x.shape == (2, 3) and x.dtype == np.float32 and x.min() >= 0.1
    >>> test()
    """
    lo, hi = domain
    if not lo < hi:
        raise ValueError(f"dualad: domain must be an interval (lo, hi) with lo < hi, got "
                         f"{domain!r}")
    return hnp.arrays(np.dtype(dtype), _shape(shape), elements=_floats(lo, hi, dtype))


def duals(shape=(), n=1, dtype=np.float64, min_value=-10.0, max_value=10.0):
    """DualNumbers of value shape ``shape`` with ``n`` directions (partials ``shape + (n,)``).

    Values lie in ``[min_value, max_value]``, partials in ``[-10, 10]``.

    >>> from hypothesis import given
    >>> @given(duals(shape=(3,), n=2))
    ... def test(x):   # the product rule, against the partials themselves
    ...     y = x * x
    ...     assert np.allclose(y.partials, 2 * x.value[:, None] * x.partials)
    >>> test()
    """
    @st.composite
    def draw_dual(draw):
        s = draw(_shape(shape))
        k = draw(_strategy(n))
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"dualad: n must be a positive integer, got {k!r}")
        value = draw(hnp.arrays(np.dtype(dtype), s,
                                elements=_floats(min_value, max_value, dtype)))
        partials = draw(hnp.arrays(np.dtype(dtype), s + (k,),
                                   elements=_floats(-10.0, 10.0, dtype)))
        return DualNumber(value, partials)
    return draw_dual()


def _rule_of(rule_or_ufunc):
    if isinstance(rule_or_ufunc, Rule):
        return rule_or_ufunc
    rule = getattr(rule_or_ufunc, "rule", None)  # a custom_jvp with defderiv
    if isinstance(rule, Rule):
        return rule
    try:
        rule = rule_for(rule_or_ufunc)  # (also scipy.special's, installed on first use)
    except TypeError:  # unhashable
        rule = None
    if rule is None:
        name = getattr(rule_or_ufunc, "__name__", repr(rule_or_ufunc))
        raise ValueError(f"dualad: {name} has no rule in the table (nor a defderiv rule); "
                         "pass a Rule or use arrays_in with an explicit domain")
    return rule


def well_conditioned(rule_or_ufunc, shape=(), dtype=np.float64):
    """A tuple of arrays, one per argument, inside the domain of a rule.

    ``rule_or_ufunc``: a ``Rule``, a ufunc of the rule table (also one added with
    ``register_ufunc``, or a ``scipy.special`` ufunc with a rule), or a ``custom_jvp``
    function with a ``defderiv`` rule. Arguments whose derivative is ``None`` (constants)
    are drawn as integers in their interval.

    >>> from hypothesis import given
    >>> @given(well_conditioned(np.log, shape=(4,)))
    ... def test(args):
    ...     assert np.all(args[0] > 0)
    >>> test()
    """
    rule = _rule_of(rule_or_ufunc)
    parts = []
    for deriv, (lo, hi) in zip(rule.derivs, rule.domain):
        if deriv is None and rule.kind in ("unary", "binary", "nary"):
            ints = st.integers(int(np.ceil(lo)), int(np.floor(hi)))
            parts.append(hnp.arrays(np.int64, _shape(shape), elements=ints))
        else:
            parts.append(arrays_in((lo, hi), shape, dtype))
    return st.tuples(*parts)
