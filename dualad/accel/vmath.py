"""sin and cos that LLVM can vectorize, for the derivatives inside the chain passes.

numba compiles ``np.cos`` to a call of libm's scalar ``cos``, which no loop vectorizer can
widen; numpy's own float64 sin and cos are that same scalar code. On one core that call is
most of the cost of a dual's ``sin`` (its derivative needs ``cos`` as well as the value).
These versions are branch-free: a Cody-Waite reduction by pi/2 in three parts, with fused
multiply-adds so that the reduced argument is carried as a double-double (far more than 53
correct bits), then Taylor polynomials on [-pi/4, pi/4]. For |x| <= LIMIT they are within 1
ulp of libm's results (and equal to them on about 98 % of arguments; tests/test_vmath.py
measures both against mpmath); above LIMIT, and for inf and nan, the ``*_any`` versions call
libm.

The derivatives of deferred partials use them (``accel.fused.vector_derivs``), and so do the
values of sin and cos of duals on large float64 arrays (``ARRAY``, ``accel.fused.value``): there
``jvp(f, x)[0]`` is within an ulp or two of ``f(x)``, not bit for bit.

>>> import numpy as np, numba
>>> f = numba.njit(lambda x: cos_any(x))
>>> bool(abs(f(1.0) - np.cos(1.0)) <= np.spacing(np.cos(1.0)))
True
"""
import math
import types as _pytypes
from fractions import Fraction

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic

from .._compile import cached

#: the reduction below keeps its accuracy up to here (tests/test_vmath.py checks it)
LIMIT = 2.0 ** 30

# pi/2 = _PIO2_HI + _PIO2_MID + _PIO2_LO to about 160 bits (tests/test_vmath.py checks them)
_PIO2_HI = 1.5707963267948966
_PIO2_MID = 6.123233995736766e-17
_PIO2_LO = -1.4973849048591698e-33
_TWO_OVER_PI = 0.6366197723675814


def _inverse_factorial(n, sign):
    return float(Fraction(sign, math.factorial(n)))  # correctly rounded


# Taylor coefficients: sin r = r + r^3 (S[0] + z S[1] + ...), cos r = 1 - z/2 + z^2 (C[0] + ...)
# with z = r^2; at |r| <= pi/4 the first omitted terms are below 2^-60 relative
_S = tuple(_inverse_factorial(2 * k + 1, (-1) ** k) for k in range(1, 10))
_C = tuple(_inverse_factorial(2 * k, (-1) ** k) for k in range(2, 11))


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c with one rounding (LLVM's fma; one instruction where the CPU has it)."""
    if not all(isinstance(t, types.Float) for t in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)
    return sig, lambda context, builder, signature, args: builder.fma(*args)


@numba.njit(inline="always", error_model="numpy")
def _horner(z, coefs):
    """coefs[0] + z coefs[1] + z^2 coefs[2] + ..., by Horner's rule with fmas."""
    p = coefs[-1]
    for k in range(len(coefs) - 2, -1, -1):
        p = _fma(z, p, coefs[k])
    return p


@numba.njit(inline="always", error_model="numpy")
def _sin_cos_reduced(x):
    """(sin r, cos r, q mod 4) with x = q pi/2 + r, |r| <= pi/4 (|x| <= LIMIT)."""
    q = np.rint(x * _TWO_OVER_PI)
    # x - q*HI is exact (a multiple of ulp(HI) below 1); q*MID is split exactly by the fma
    # and subtracted as a two-sum, so r = r_hi + r_lo to far more than 53 bits
    r1 = x if q == 0.0 else _fma(-q, _PIO2_HI, x)
    p = q * _PIO2_MID
    p_err = _fma(q, _PIO2_MID, -p)
    s = r1 - p
    b = s - r1
    s_err = (r1 - (s - b)) + (-p - b)
    lo = (s_err - p_err) - q * _PIO2_LO
    r = s + lo
    lo = lo - (r - s)
    z = r * r
    hz = 0.5 * z
    ps = _horner(z, _S)
    sn = r + _fma(r * z, ps, lo * (1.0 - hz))  # sin(r + lo) ~ sin r + lo cos r
    pc = _horner(z, _C)
    # 1 - z/2 loses the low bits of z and of 1 - hz: add them back (z_err: r*r - z exactly)
    z_err = _fma(r, r, -z)
    w = 1.0 - hz
    cs = w + (((1.0 - w) - hz) + _fma(z * z, pc, -(0.5 * z_err + r * lo)))
    quadrant = q - 4.0 * np.floor(q * 0.25)  # q mod 4 as a float: no integer conversion
    return sn, cs, quadrant


@numba.njit(inline="always", error_model="numpy")
def sin(x):
    """sin(x) for |x| <= LIMIT, branch-free (vectorizable)."""
    sn, cs, quadrant = _sin_cos_reduced(x)
    v = cs if (quadrant == 1.0 or quadrant == 3.0) else sn
    v = -v if quadrant >= 2.0 else v
    return x if x == 0.0 else v  # sin(-0.0) is -0.0 (the reduction returns +0.0)


@numba.njit(inline="always", error_model="numpy")
def cos(x):
    """cos(x) for |x| <= LIMIT, branch-free (vectorizable)."""
    sn, cs, quadrant = _sin_cos_reduced(x)
    v = sn if (quadrant == 1.0 or quadrant == 3.0) else cs
    return -v if (quadrant == 1.0 or quadrant == 2.0) else v


@numba.njit(inline="always", error_model="numpy")
def sin_any(x):
    """sin(x) for every float: libm's above LIMIT and for inf and nan."""
    return sin(x) if abs(x) <= LIMIT else math.sin(x)


@numba.njit(inline="always", error_model="numpy")
def cos_any(x):
    """cos(x) for every float: libm's above LIMIT and for inf and nan."""
    return cos(x) if abs(x) <= LIMIT else math.cos(x)


@cached(numba.njit, nogil=True, error_model="numpy")
def _array(x, out, want_cos):
    """``out = cos(x)`` or ``sin(x)`` on flat float64 arrays, vectorized (the choice is loop
    invariant); returns how many arguments lie beyond LIMIT (or are inf or nan): the caller
    computes those again with numpy."""
    beyond = 0
    for i in range(x.shape[0]):
        out[i] = cos(x[i]) if want_cos else sin(x[i])
        beyond += not abs(x[i]) <= LIMIT
    return beyond


#: the array kernels of the values of sin and cos (``accel.fused.value``): ``(x, out)``
ARRAY = {np.sin: lambda x, out: _array(x, out, False),
         np.cos: lambda x, out: _array(x, out, True)}


def _numpy_with(**functions):
    """A stand-in for the ``np`` module, with some functions replaced (for numba to compile a
    rule's derivative against)."""
    mod = _pytypes.ModuleType("numpy")
    mod.__dict__.update(np.__dict__)
    mod.__dict__.update(functions)
    return mod


#: inside a block where every argument is within LIMIT (vectorizable), and anywhere
NP_FAST = _numpy_with(sin=sin, cos=cos)
NP_ANY = _numpy_with(sin=sin_any, cos=cos_any)
#: the numpy functions replaced
REPLACED = frozenset({"sin", "cos"})
