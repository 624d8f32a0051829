"""Special functions that numpy lacks (erf, erfc, gamma, lgamma, digamma, polygamma).

They are numba-vectorized ufuncs (``_compile.LazyUfunc``): plain arrays run compiled code,
and a DualNumber argument reaches ``DualNumber.__array_ufunc__`` with the function as its
ufunc, so their derivative rules live in the one rule table. numba is imported, and each one
compiled (or loaded from the disk cache), the first time one runs on plain data: importing
them costs nothing, and a rule applied to a dual computes its value on plain data.

>>> float(erf(0.5)) == __import__("math").erf(0.5)
True
"""
import math

from .._compile import jit, vectorize

# float32 first: a DUFunc takes the first signature its inputs cast to safely, and float32
# casts safely to float64 (float32 in must stay float32 out)
_SIGS = ["float32(float32)", "float64(float64)"]
_SIGS2 = ["float32(float32, float32)", "float64(float64, float64)"]

# Bernoulli numbers B_2 .. B_16 for the asymptotic series.
_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_SHIFT = 15.0  # recurrence moves x above this before the series is used


@jit()
def _digamma_scalar(x):
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    acc = 0.0
    while x < _SHIFT:  # psi(x) = psi(x + 1) - 1/x
        acc -= 1.0 / x
        x += 1.0
    x2 = 1.0 / (x * x)
    series = 0.0
    xp = x2
    for k in range(len(_B2K)):
        series += _B2K[k] / (2 * (k + 1)) * xp
        xp *= x2
    return acc + math.log(x) - 0.5 / x - series


@jit()
def _polygamma_scalar(n, x):
    # psi^(n) for n >= 1 via psi^(n)(x+1) = psi^(n)(x) + (-1)^n n! / x^(n+1)
    if n < 1.0 or n != math.floor(n):
        return math.nan
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    sign = 1.0 if int(n) % 2 == 1 else -1.0  # (-1)^(n+1)
    fact_n = math.gamma(n + 1.0)
    acc = 0.0
    while x < _SHIFT:
        acc += sign * fact_n / x ** (n + 1.0)
        x += 1.0
    total = math.gamma(n) / x**n + fact_n / (2.0 * x ** (n + 1.0))
    for k in range(len(_B2K)):
        two_k = 2.0 * (k + 1)
        total += (_B2K[k] * math.gamma(two_k + n) / math.gamma(two_k + 1.0)
                  / x ** (two_k + n))
    return acc + sign * total


# One named def each, not a loop over lambdas: numba keys its disk cache by function name and
# line, so generated lambdas would share (and overwrite) one cache entry.
@vectorize(_SIGS)
def erf(x):
    """Error function, elementwise."""
    return math.erf(x)


@vectorize(_SIGS)
def erfc(x):
    """Complementary error function, elementwise."""
    return math.erfc(x)


@vectorize(_SIGS)
def gamma(x):
    """Gamma function, elementwise."""
    return math.gamma(x)


@vectorize(_SIGS)
def lgamma(x):
    """Log of the absolute value of the gamma function, elementwise."""
    return math.lgamma(x)


@vectorize(_SIGS)
def digamma(x):
    """Digamma function psi = d/dx lgamma, elementwise."""
    return _digamma_scalar(x)


@vectorize(_SIGS2)
def polygamma(n, x):
    """Polygamma function psi^(n)(x) for integer n >= 1, elementwise."""
    return _polygamma_scalar(n, x)


# stand-ins of numba DUFuncs: a DualNumber argument is routed to DualNumber.__array_ufunc__
SPECIAL = {"erf": erf, "erfc": erfc, "gamma": gamma, "lgamma": lgamma,
           "digamma": digamma, "polygamma": polygamma}
