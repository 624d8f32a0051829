"""Fused per-rule kernels: value, derivative and chain rule in one pass over memory.

For every ``unary`` and ``binary`` rule of the table, a numba kernel is generated from the
rule's own scalar functions — the numpy ufunc and the derivative lambda(s), compiled by numba
for scalars — and loops once over the elements: ``ans = f(x)``, ``d = f'(x, ans)``,
``out[i, :] = p[i, :] * d`` (with the 0 * inf guard), so ``np.sqrt`` costs one pass instead
of numpy's sqrt, divide and multiply passes with their temporaries.

The numpy path's value of sin and cos on large float64 arrays is ``value``'s: ``_vmath``'s
vectorized kernels (within 1 ulp of libm's), so those two rules are ``"derivative"`` ones.

Bit-for-bit equal to the numpy path, by construction: the first time a rule is used on a
large float64 array, its kernel is *calibrated* against the numpy path on a fixed sample
(domain points, wide ranges, 0, ±inf, nan, ...):

- value and derivative equal: the kernel computes both (``"fused"``);
- only the derivative equal (numpy's value comes from a SIMD library, SVML's ``exp``, that
  libm does not reproduce): numpy computes the value, the kernel the derivative and the
  chain rule (``"derivative"``);
- otherwise, or where numba cannot compile the rule: the numpy path (``"numpy"``), with the
  reason in ``FALLBACK``.

A calibrated kernel also runs only where it is faster: ``pays`` times it once per rule
against the numpy path (cheap rules such as multiply lose to numpy's SIMD loops). The
chain passes of ``_lazy`` use every calibrated rule either way.

Kernels compile lazily on first use: closure-generated kernels cannot be cached on disk by
numba (their cache key changes every run), so each (rule, layout) pays its compile once per
process; ``benchmarks/kernels.py`` measures it. Only float64 data of at least ``MIN_SIZE``
elements takes this route: numpy's float32 loops are SIMD code that numba's libm calls do not
reproduce bit for bit.
"""
import re
import threading
import types as _pytypes
import time
import warnings
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import config
from ..core.partials import chain, chain_same, chain_sum, derivative, times
from ..rules.table import RULES
from . import vmath as _vmath

# sizes: config.FUSED_MIN_SIZE, config.FUSED_PAY_SIZE

#: rule name -> why it stays on the numpy path (filled as rules are first used; see
#: ``calibrate_all``)
FALLBACK: dict[str, str] = {}

_MODES: dict[Any, str] = {}  # ufunc -> "fused" | "derivative" | "numpy"
_KERNELS: dict[Any, Any] = {}  # (ufunc, fuse_value, wide, case) -> numba dispatcher
_DERIVS: dict[Any, Any] = {}  # ufunc -> its derivatives compiled for scalars
# ufunc -> its value-and-derivative kernel where that pass pays, else None
_SHARES: dict[Any, Any] = {}
# ufunc -> its derivative with _vmath's sin and cos: (fast, any, array), or None
_VDERIVS: dict[Any, Any] = {}
_PAYS: dict[Any, bool] = {}  # ufunc -> whether its kernel beat the numpy path when timed (see pays)
_LOCK = threading.Lock()


# --- scalar helpers usable inside the kernels ----------------------------------------------
def as_float(v):
    return float(v)


@overload(as_float)
def as_float_impl(v):
    if isinstance(v, types.Array):
        return lambda v: float(v.item())
    if isinstance(v, types.Boolean):
        return lambda v: 1.0 if v else 0.0
    return lambda v: float(v)


def add(a, b):
    return a + b


@overload(add)
def add_impl(a, b):
    # np.add of two bool derivatives (maximum(x, x)) is a logical or, as on the numpy path
    if isinstance(a, types.Boolean) and isinstance(b, types.Boolean):
        return lambda a, b: 1.0 if (a or b) else 0.0
    return lambda a, b: as_float(a) + as_float(b)


#: THE guarded product of the chain rule (dualad.core.partials.times), compiled: every kernel
#: here and every chain pass of chains.py multiplies through it
guarded_times = numba.njit(nogil=True, inline="always", error_model="numpy")(times)


# --- kernel generation --------------------------------------------------------------------
# Everything that selects a code path is a closure constant, so that numba compiles one
# straight loop per case (LLVM drops the dead branches): the ufunc, the derivative(s),
# fuse_value, guard, wide (n > 1: p and out are (m, n)), and for binary rules which
# argument(s) vary (0 both, 1 x only, 2 y only, 3 x and y are the same dual) and whether x
# and y are arrays (1) or broadcast scalars held in 1-element arrays (0).
def _unary_kernel(ufunc, d, fuse_value, guard, wide):
    @numba.njit(nogil=True, error_model="numpy")
    def kernel(x, p, ans, out):
        for i in range(x.shape[0]):
            xi = x[i]
            if fuse_value:
                a = ufunc(xi)
                ans[i] = a
            else:
                a = ans[i]
            di = as_float(d(xi, a))
            if wide:
                for k in range(p.shape[1]):
                    out[i, k] = guarded_times(p[i, k], di, guard)
            else:
                out[i] = guarded_times(p[i], di, guard)
    return kernel


def _binary_kernel(ufunc, dx, dy, fuse_value, guard, wide, which, sx, sy):
    @numba.njit(nogil=True, error_model="numpy")
    def kernel(x, y, p, q, ans, out):
        for i in range(ans.shape[0]):
            xi = x[i] if sx else x[0]
            yi = y[i] if sy else y[0]
            if fuse_value:
                a = ufunc(xi, yi)
                ans[i] = a
            else:
                a = ans[i]
            if which == 0:
                u = as_float(dx(xi, yi, a))
                w = as_float(dy(xi, yi, a))
                if wide:
                    for k in range(p.shape[1]):
                        out[i, k] = guarded_times(p[i, k], u, guard) + guarded_times(q[i, k], w, guard)
                else:
                    out[i] = guarded_times(p[i], u, guard) + guarded_times(q[i], w, guard)
            else:
                if which == 1:
                    u = as_float(dx(xi, yi, a))
                elif which == 2:
                    u = as_float(dy(xi, yi, a))
                else:
                    u = add(dx(xi, yi, a), dy(xi, yi, a))
                r = q if which == 2 else p
                if wide:
                    for k in range(r.shape[1]):
                        out[i, k] = guarded_times(r[i, k], u, guard)
                else:
                    out[i] = guarded_times(r[i], u, guard)
    return kernel


def _value_derivative_kernel(ufunc, d):
    @numba.njit(nogil=True, error_model="numpy")
    def kernel(x, ans, der):
        for i in range(x.shape[0]):
            a = ufunc(x[i])
            ans[i] = a
            der[i] = as_float(d(x[i], a))
    return kernel


@numba.njit(nogil=True, error_model="numpy")
def _never(x, y, a):
    # stands for the derivative of an argument that must be constant (never called)
    return np.nan


def scalar_derivs(ufunc):
    """``ufunc``'s derivative functions compiled by numba for float64 scalars (cached)."""
    derivs = _DERIVS.get(ufunc)
    if derivs is None:
        derivs = _DERIVS[ufunc] = _compile_derivs(RULES[ufunc])
    return derivs


def _compile_derivs(rule):
    """The rule's derivative functions compiled by numba for float64 scalars.

    Raises NumbaError when numba cannot compile one, ValueError when one returns an array
    (``np.where`` on scalars allocates a 0-d array per element inside numba).
    """
    out = []
    nargs = 2 if rule.kind == "unary" else 3
    for d in rule.derivs:
        if d is None:
            out.append(_never)
            continue
        disp = numba.njit(nogil=True, error_model="numpy")(d)
        args = (types.float64,) * nargs
        disp.compile(args)
        if isinstance(disp.overloads[args].signature.return_type, types.Array):
            raise ValueError("its derivative returns an array (np.where on scalars), "
                             "which allocates per element in numba")
        out.append(disp)
    return out


def vector_derivs(ufunc):
    """A unary rule's derivative compiled with ``_vmath``'s vectorizable sin and cos in place
    of numpy's, or None when its derivative calls neither (or is not plain numpy code).

    Returns ``(fast, any, array)``: scalar functions ``(x, ans)`` for arguments within
    ``accel.vmath.LIMIT`` and for any argument (the same result where both apply), and a kernel
    ``(x, ans, der)`` writing the derivative of flat arrays, vectorized. Within 1 ulp of
    numpy's cos and sin; used only for deferred partials (``_lazy``).
    """
    if ufunc in _VDERIVS:
        return _VDERIVS[ufunc]
    rule = RULES.get(ufunc)
    d = rule.derivs[0] if rule is not None and rule.kind == "unary" else None
    code = getattr(d, "__code__", None)
    found = None
    if (code is not None and d.__globals__.get("np") is np and not code.co_freevars
            and _vmath.REPLACED & set(code.co_names)):
        fast, any_ = (numba.njit(inline="always", error_model="numpy")(
            _pytypes.FunctionType(code, dict(d.__globals__, np=mod), d.__name__, d.__defaults__))
            for mod in (_vmath.NP_FAST, _vmath.NP_ANY))

        @numba.njit(nogil=True, error_model="numpy")
        def array(x, ans, der):
            big = 0
            for i in range(x.shape[0]):  # vectorized
                der[i] = as_float(fast(x[i], ans[i]))
                big += abs(x[i]) > _vmath.LIMIT
            if big:  # then the arguments beyond LIMIT (or inf) again, with libm
                for i in range(x.shape[0]):
                    if abs(x[i]) > _vmath.LIMIT:
                        der[i] = as_float(any_(x[i], ans[i]))
        try:  # compiled now: a rule numba cannot compile this way keeps libm's derivative
            flat = types.float64[::1]
            array.compile((flat, flat, flat))
            found = (fast, any_, array)
        except (numba.core.errors.NumbaError, ValueError, TypeError):
            found = None
    with _LOCK:
        _VDERIVS[ufunc] = found
    return found


def _kernel(ufunc, rule, fuse_value, wide, case=None):
    """The kernel for one rule and case, generated and compiled on first use."""
    key = (ufunc, fuse_value, wide, case)
    k = _KERNELS.get(key)
    if k is None:
        derivs = scalar_derivs(ufunc)
        guard = not rule.bounded
        if rule.kind == "unary":
            k = _unary_kernel(ufunc, derivs[0], fuse_value, guard, wide)
        else:
            k = _binary_kernel(ufunc, derivs[0], derivs[1], fuse_value, guard, wide, *case)
        _KERNELS[key] = k
    return k


# --- calibration: the kernel must reproduce the numpy path exactly ------------------------
_SPECIALS = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, np.inf, -np.inf, np.nan,
                      1e-300, -1e-300, 1e300, -1e300, 5e-324, 710.0, -745.0])


def _sample(domain, rng, size=4096):
    lo, hi = domain
    parts = [rng.uniform(lo, hi, size // 2), rng.uniform(-10.0, 10.0, size // 4),
             rng.standard_normal(size // 4) * 1e3, _SPECIALS]
    return np.concatenate(parts)


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def value(ufunc, values):
    """``ufunc(*values)``: the value of a rule on dual data. sin and cos of float64 arrays of
    at least MIN_SIZE elements come from ``_vmath``'s vectorized kernels, within 1 ulp of
    numpy's (whose float64 sin and cos are libm's scalar code: ``benchmarks/kernels.py`` (f)
    times both); numpy computes the arguments beyond ``accel.vmath.LIMIT``, inf and nan."""
    kernel = _vmath.ARRAY.get(ufunc)
    if kernel is not None and len(values) == 1:
        x = values[0]
        if type(x) is np.ndarray and x.dtype == np.float64 and x.size >= config.FUSED_MIN_SIZE:
            out = np.empty(x.shape)
            if kernel(np.ascontiguousarray(x).reshape(-1), out.reshape(-1)):
                beyond = ~(np.abs(x) <= _vmath.LIMIT)
                out[beyond] = ufunc(x[beyond])
            return out
    return ufunc(*values)


def numpy_path(ufunc, rule, values, partials, ans=None):
    """What _ufunc.apply_rule's numpy route computes, on plain arrays (for calibration, and
    for _lazy, which gives the value ``ans``)."""
    guard = not rule.bounded
    with np.errstate(all="ignore"):
        ans = value(ufunc, values) if ans is None else ans
        if rule.kind == "unary":
            return ans, chain(partials[0], rule.derivs[0](values[0], ans), guard)
        dx, dy = rule.derivs
        if partials[0] is partials[1]:
            return ans, chain_same(partials[0], derivative(dx, values, ans),
                                   derivative(dy, values, ans), guard)
        d = [None if p is None else derivative(f, values, ans)
             for p, f in zip(partials, (dx, dy))]
        if partials[0] is None:
            return ans, chain(partials[1], d[1], guard)
        return ans, chain_sum(partials[0], d[0], partials[1], d[1], guard)


def _calibrate(ufunc, rule):
    name = ufunc.__name__
    rng = np.random.default_rng(20240521)
    if rule.kind == "unary":
        xs = [_sample(rule.domain[0], rng)]
    else:
        xs = [_sample(rule.domain[0], rng), _sample(rule.domain[1], rng)]
        xs[1] = rng.permutation(xs[1])
    m = xs[0].size
    cases = []
    # the flat kernels of the main cases: the other cases run the same scalar code
    if rule.kind == "unary":
        whiches = (0,)
    elif rule.derivs[0] is None:
        whiches = (2,)
    elif rule.derivs[1] is None:
        whiches = (1,)
    else:
        whiches = (0, 3)
    for which in whiches:
        p = rng.standard_normal((m, 1))
        p[::7] = 0.0  # zero tangents exercise the 0 * inf guard
        q = rng.standard_normal((m, 1))
        q[::5] = 0.0
        if rule.kind == "unary":
            parts = (p,)
        else:
            parts = {0: (p, q), 1: (p, None), 2: (None, q), 3: (p, p)}[which]
        vals = (xs[0], xs[0]) if which == 3 else tuple(xs)
        cases.append((vals, parts))
    # the kernel computing everything first (one compile where it matches, as for most rules);
    # else numpy computes the value and the kernel the rest; else the numpy path
    reason = "numba's derivative differs from numpy's in the last bit"
    for fuse_value in (True, False):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if all(_matches(ufunc, rule, vals, parts, fuse_value) for vals, parts in cases):
                    return "fused" if fuse_value else "derivative"
        except numba.core.errors.NumbaError as err:
            reason = "numba cannot compile its derivative (" + _first_line(err) + ")"
        except ValueError as err:
            reason = str(err)
        except TypeError:  # ldexp: numpy takes no float64 exponent
            reason = "numpy refuses float64 for its integer argument"
    FALLBACK[name] = reason
    return "numpy"


def _first_line(err):
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # numba colours its messages
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    msg = next((ln for ln in lines if "Failed in" not in ln and "Unknown attribute" in ln
                or "No implementation" in ln or "Untyped global" in ln), lines[-1] if lines
               else type(err).__name__)
    return msg[:100]


def _matches(ufunc, rule, vals, parts, fuse_value):
    want_ans, want_p = numpy_path(ufunc, rule, vals, parts)
    got = _run(ufunc, rule, vals, parts, fuse_value)
    return got is not None and _same(got[0], want_ans) and _same(got[1], want_p)


def mode(ufunc):
    """How ``ufunc`` runs on large float64 duals: 'fused', 'derivative' or 'numpy'."""
    m = _MODES.get(ufunc)
    if m is None:
        rule = RULES.get(ufunc)
        if rule is None or rule.kind not in ("unary", "binary"):
            return "numpy"
        with _LOCK:
            m = _MODES.get(ufunc)
            if m is None:
                m = _calibrate(ufunc, rule)
                _MODES[ufunc] = m
    return m


def shared_pass(ufunc):
    """A kernel ``(x, ans, der)`` writing a unary rule's value and derivative in one loop,
    where that is measurably cheaper than a value pass plus a derivative pass (as libm's
    ``sincos`` would be for sin); None otherwise, for rules whose value numpy must compute,
    and for rules whose derivative the chain pass computes vectorized (``vector_derivs``).

    Decided once per rule, by timing the kernel against numpy's value and derivative passes
    on the in-domain part of the calibration sample: the result is the same either way.
    """
    if ufunc in _SHARES:
        return _SHARES[ufunc]
    rule = RULES.get(ufunc)
    if (rule is None or rule.kind != "unary" or mode(ufunc) != "fused"
            or vector_derivs(ufunc) is not None):  # the chain pass computes those cheaper
        _SHARES[ufunc] = None
        return None
    with _LOCK:
        if ufunc in _SHARES:
            return _SHARES[ufunc]
        kernel = _value_derivative_kernel(ufunc, scalar_derivs(ufunc)[0])
        x = _sample(rule.domain[0], np.random.default_rng(1))[:2048]
        ans, der = np.empty_like(x), np.empty_like(x)
        with np.errstate(all="ignore"):
            kernel(x, ans, der)  # compiles
            one = _best(lambda: kernel(x, ans, der))
            apart = (_best(lambda: ufunc(x, out=ans))
                     + _best(lambda: rule.derivs[0](x, ans)))
        # the shared pass also writes the derivative and the chain pass reads it back
        if one > 0.8 * apart:
            kernel = None
        _SHARES[ufunc] = kernel
    return kernel


def pays(ufunc):
    """Whether ``ufunc``'s per-rule kernel is faster than the numpy path, timed once per rule
    on config.FUSED_PAY_SIZE elements with one direction (the results are the same bits either way).

    The kernel is one pass of scalar code; the numpy path is several SIMD passes with
    temporaries. For a rule with a costly value or derivative (sin: one ``sincos``) the pass
    wins at every size; for a cheap one (multiply, exp) numpy's SIMD loops win above a few
    thousand elements (``benchmarks/kernels.py`` (b)).
    """
    if ufunc in _PAYS:
        return _PAYS[ufunc]
    rule = RULES[ufunc]
    m = mode(ufunc)
    rng = np.random.default_rng(3)
    values = tuple(rng.uniform(lo, hi, config.FUSED_PAY_SIZE) for lo, hi in rule.domain)
    partials = tuple(None if d is None else rng.standard_normal((config.FUSED_PAY_SIZE, 1))
                     for d in rule.derivs)
    with np.errstate(all="ignore"):
        _run(ufunc, rule, values, partials, m == "fused")  # compiles
        # loops of calls, as a program makes them: single calls would also time the first
        # touch of the numpy path's temporaries
        fused = _best(lambda: _run(ufunc, rule, values, partials, m == "fused"), number=10)
        plain = _best(lambda: numpy_path(ufunc, rule, values, partials), number=10)
    with _LOCK:  # a clear win only: near a tie, noise would decide from run to run
        _PAYS[ufunc] = fused < 0.9 * plain
    return _PAYS[ufunc]


def _best(f, repeats=5, number=1):
    """Seconds per call: the best of ``repeats`` loops of ``number`` calls."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            f()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def forget(ufunc):
    """Forget the calibration and kernels of ``ufunc`` (its rule was replaced or removed)."""
    with _LOCK:
        _MODES.pop(ufunc, None)
        _DERIVS.pop(ufunc, None)
        _SHARES.pop(ufunc, None)
        _VDERIVS.pop(ufunc, None)
        _PAYS.pop(ufunc, None)
        FALLBACK.pop(getattr(ufunc, "__name__", None), None)
        for key in [k for k in _KERNELS if k[0] is ufunc]:
            del _KERNELS[key]


def calibrate_all():
    """Decide the mode of every unary and binary rule now; returns ``{name: mode}``."""
    return {u.__name__: mode(u) for u, r in RULES.items() if r.kind in ("unary", "binary")}


# --- the dispatch entry point -------------------------------------------------------------
def operand(v):
    """(array, stride) of a float64 operand, or None when the kernel cannot take it."""
    if isinstance(v, np.ndarray):
        if v.dtype != np.float64:
            return None
        if v.ndim == 0:
            return v.reshape(1), 0
        if not v.flags.c_contiguous:
            return None
        return v.reshape(-1), 1
    if isinstance(v, (float, int)) and not isinstance(v, bool):
        return np.array([v], dtype=np.float64), 0
    if isinstance(v, np.floating) and v.dtype == np.float64:
        return np.array([v]), 0
    return None


def _run(ufunc, rule, values, partials, fuse_value):
    """Run the kernel; ``(ans, partials)`` or None when the data does not fit it.

    ``fuse_value=False``: numpy computes the value, the kernel the rest.
    """
    shape = None
    ops = []
    for v in values:
        o = operand(v)
        if o is None:
            return None
        if o[1] == 1:
            if shape is not None and np.shape(v) != shape:
                return None  # general broadcasting: numpy's job
            shape = np.shape(v)
        ops.append(o)
    if shape is None:
        return None
    n = None
    for p in partials:
        if p is not None:
            if (not isinstance(p, np.ndarray) or p.dtype != np.float64 or p.ndim != len(shape) + 1
                    or p.shape[:-1] != shape or not p.flags.c_contiguous):
                return None
            n = p.shape[-1]
    m = int(np.prod(shape, dtype=np.int64))
    if fuse_value:
        ans = np.empty(shape, dtype=np.float64)
    else:
        ans = value(ufunc, values)
        if not (isinstance(ans, np.ndarray) and ans.dtype == np.float64 and ans.shape == shape
                and ans.flags.c_contiguous):
            return None
    out = np.empty(shape + (n,), dtype=np.float64)
    wide = n != 1
    shaped = (lambda a: a.reshape(m, n)) if wide else (lambda a: a.reshape(m))
    if rule.kind == "unary":
        _kernel(ufunc, rule, fuse_value, wide)(ops[0][0], shaped(partials[0]), ans.reshape(m),
                                               shaped(out))
        return ans, out
    p, q = partials
    if p is not None and q is not None:
        which = 3 if p is q else 0
    else:
        which = 1 if q is None else 2
    dummy = shaped(out)  # never read for the argument that is constant
    kernel = _kernel(ufunc, rule, fuse_value, wide, (which, ops[0][1], ops[1][1]))
    kernel(ops[0][0], ops[1][0], dummy if p is None else shaped(p),
           dummy if q is None else shaped(q), ans.reshape(m), shaped(out))
    return ans, out


def apply(ufunc, rule, values, partials):
    """``(ans, partials)`` by the fused kernel, or None for the numpy path.

    Called by ``core.ufunc.apply_rule`` for unary and binary rules; cheap when it says no.
    """
    v0 = values[0]
    size = v0.size if isinstance(v0, np.ndarray) else (
        values[-1].size if isinstance(values[-1], np.ndarray) else 0)
    if size < config.FUSED_MIN_SIZE:
        return None
    if rule.kind == "binary":
        for d, p in zip(rule.derivs, partials):
            if d is None and p is not None:
                return None  # the numpy path raises the TypeError
    m = mode(ufunc)
    if m == "numpy" or not pays(ufunc):
        return None
    return _run(ufunc, rule, values, partials, m == "fused")


def _clear():
    with _LOCK:
        for table in (_MODES, _KERNELS, _DERIVS, _SHARES, _VDERIVS, _PAYS, FALLBACK):
            table.clear()


config.register_cache("accel.fused", _clear, forget)
