"""Symbolic oracles for the rule table: each rule's function written again in sympy.

Independent of dualad (and of the rule table's derivative formulas): sympy differentiates
these expressions and evaluates the result to 30 digits. Piecewise functions are written as
the smooth branch that holds around the sampled point (``vals``), where they are smooth.

sympy is a test-only dependency (the ``test`` extra); callers ``pytest.importorskip`` it.
"""
import math

import numpy as np


def _branches(S, x, y, v):
    """{ufunc name: expression} around the point ``v`` (a tuple of floats)."""
    v0 = v[0]
    v1 = v[1] if len(v) > 1 else None
    const = S.Integer(0) * x  # piecewise constant: every derivative is 0
    exprs = {
        "add": lambda: x + y, "subtract": lambda: x - y,
        "negative": lambda: -x, "positive": lambda: x, "conjugate": lambda: x,
        "deg2rad": lambda: x * S.pi / 180, "radians": lambda: x * S.pi / 180,
        "rad2deg": lambda: x * 180 / S.pi, "degrees": lambda: x * 180 / S.pi,
        "multiply": lambda: x * y, "divide": lambda: x / y, "true_divide": lambda: x / y,
        "reciprocal": lambda: 1 / x, "square": lambda: x ** 2,
        "sqrt": lambda: S.sqrt(x), "cbrt": lambda: x ** S.Rational(1, 3),
        "exp": lambda: S.exp(x), "exp2": lambda: 2 ** x, "expm1": lambda: S.exp(x) - 1,
        "log": lambda: S.log(x), "log2": lambda: S.log(x) / S.log(2),
        "log10": lambda: S.log(x) / S.log(10), "log1p": lambda: S.log(1 + x),
        "logaddexp": lambda: S.log(S.exp(x) + S.exp(y)),
        "logaddexp2": lambda: S.log(2 ** x + 2 ** y) / S.log(2),
        "sin": lambda: S.sin(x), "cos": lambda: S.cos(x), "tan": lambda: S.tan(x),
        "arcsin": lambda: S.asin(x), "arccos": lambda: S.acos(x), "arctan": lambda: S.atan(x),
        "arctan2": lambda: S.atan2(x, y),
        "sinh": lambda: S.sinh(x), "cosh": lambda: S.cosh(x), "tanh": lambda: S.tanh(x),
        "arcsinh": lambda: S.asinh(x), "arccosh": lambda: S.acosh(x),
        "arctanh": lambda: S.atanh(x),
        "erf": lambda: S.erf(x), "erfc": lambda: S.erfc(x), "gamma": lambda: S.gamma(x),
        "lgamma": lambda: S.loggamma(x), "digamma": lambda: S.polygamma(0, x),
        "polygamma": lambda: S.polygamma(S.Integer(int(round(v0))), y),
        "absolute": lambda: math.copysign(1.0, v0) * x,
        "fabs": lambda: math.copysign(1.0, v0) * x,
        "maximum": lambda: x if v0 >= v1 else y, "fmax": lambda: x if v0 >= v1 else y,
        "minimum": lambda: x if v0 <= v1 else y, "fmin": lambda: x if v0 <= v1 else y,
        "hypot": lambda: S.sqrt(x ** 2 + y ** 2),
        "copysign": lambda: math.copysign(1.0, v0) * math.copysign(1.0, v1) * x,
        "remainder": lambda: x - math.floor(v0 / v1) * y,
        "mod": lambda: x - math.floor(v0 / v1) * y,
        "fmod": lambda: x - math.trunc(v0 / v1) * y,
        "ldexp": lambda: x * S.Integer(2) ** int(v1),
        "nextafter": lambda: x,
        "power": lambda: x ** y, "float_power": lambda: x ** y,
        "heaviside": lambda: const,
    }
    for name in ("sign", "floor", "ceil", "trunc", "rint", "spacing", "floor_divide"):
        exprs[name] = lambda: const
    return exprs


def has_oracle(name):
    import sympy
    x, y = sympy.symbols("x y", real=True)
    return name in _branches(sympy, x, y, (0.5, 0.5))


def symbolic_derivatives(name, point, wrt):
    """All derivatives of order ``len(wrt[0])`` in the listed argument positions.

    ``wrt`` is a list of tuples of argument positions, e.g. ``[(0, 0), (0, 1), (1, 1)]`` for a
    Hessian; returns their values at ``point`` as floats.
    """
    import sympy
    x, y = sympy.symbols("x y", real=True)
    syms = (x, y)
    expr = _branches(sympy, x, y, tuple(float(p) for p in point))[name]()
    subs = {s: sympy.Float(float(p), 40) for s, p in zip(syms, point)}
    out = []
    for positions in wrt:
        d = expr
        for p in positions:
            d = sympy.diff(d, syms[p])
        out.append(float(sympy.N(d.subs(subs), 30)))
    return np.array(out)
