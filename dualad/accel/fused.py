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
chain passes of ``chains.py`` use every calibrated rule either way.

Kernels come from the one generator of chain-rule loops (``loops.generate``: a per-rule
kernel is a chain of length one that computes the value too) and compile lazily on first
use, into numba's disk cache (``benchmarks/kernels.py`` measures a compile). What the
calibration and the timings decide is kept on disk too, per rule and machine
(``loops.decision``): a new process neither compiles nor times a rule again. Only float64
data of at least ``config.FUSED_MIN_SIZE`` elements takes this route: numpy's float32 loops
are SIMD code that numba's libm calls do not reproduce bit for bit.
"""
import re
import time
import warnings
from typing import Any

import numba
import numpy as np

from .. import config
from ..core.partials import chain, chain_same, chain_sum, derivative
from ..rules.table import RULES
from . import loops
from . import vmath as _vmath
from .loops import ForkSafeLock, decision, vector_derivs

# sizes: config.FUSED_MIN_SIZE, config.FUSED_PAY_SIZE

#: rule name -> why it stays on the numpy path (filled as rules are first used; see
#: ``calibrate_all``)
FALLBACK: dict[str, str] = {}

_MODES: dict[Any, str] = {}  # ufunc -> "fused" | "derivative" | "numpy"
_KERNELS: dict[Any, Any] = {}  # (ufunc, fuse_value, wide, case) -> numba dispatcher
# ufunc -> its value-and-derivative kernel where that pass pays, else None
_SHARES: dict[Any, Any] = {}
_PAYS: dict[Any, bool] = {}  # ufunc -> whether its kernel beat the numpy path when timed (see pays)
_LOCK = ForkSafeLock()


# the varying partials of a binary rule's kernel, by case: 0 both, 1 x only, 2 y only,
# 3 x and y are the same dual
_LIVE = {0: (("l", 0), ("l", 1)), 1: (("l", 0), None), 2: (None, ("l", 0)),
         3: (("l", 0), ("l", 0))}


def _kernel(ufunc, rule, fuse_value, wide, case=None):
    """The kernel for one rule and case: a chain of length one from the one generator
    (``loops.generate``), compiled on first use. Its parameters: the operands (arrays, or
    broadcast scalars in 1-element arrays: ``case``'s strides), the value unless
    ``fuse_value``, the varying partials, ``ans_out`` if ``fuse_value``, and ``out``."""
    key = (ufunc, fuse_value, wide, case)
    k = _KERNELS.get(key)
    if k is None:
        if rule.kind == "unary":
            vals, refs, kind = ((0, True),), (("l", 0),), "u"
        else:
            which, sx, sy = case
            vals, refs, kind = ((0, bool(sx)), (1, bool(sy))), _LIVE[which], which
        ans = None if fuse_value else (len(vals), True)
        k = _KERNELS[key] = loops.generate(((ufunc, vals, ans, refs, kind),), not wide,
                                           fuse_value=fuse_value, vector=False)
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
    at least config.FUSED_MIN_SIZE elements come from ``vmath``'s vectorized kernels, within
    1 ulp of numpy's (whose float64 sin and cos are libm's scalar code:
    ``benchmarks/kernels.py`` (f)
    times both); numpy computes the arguments beyond ``accel.vmath.LIMIT``, inf and nan."""
    kernel = _vmath.ARRAY.get(ufunc)
    if kernel is not None and len(values) == 1:
        x = values[0]
        if type(x) is np.ndarray and x.dtype == np.float64 and x.size >= config.FUSED_MIN_SIZE:
            out = np.empty(x.shape)
            if kernel(loops.readonly(np.ascontiguousarray(x).reshape(-1)), out.reshape(-1)):
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
    """``[mode, why it is "numpy" or None]`` for ``ufunc``'s rule."""
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
    # else numpy computes the value and the kernel the rest; else the numpy path. (sin's and
    # cos's values are _vmath's, which libm's in a kernel cannot match: the second at once)
    reason = "numba's derivative differs from numpy's in the last bit"
    for fuse_value in ((False,) if ufunc in _vmath.ARRAY else (True, False)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                loops.check_derivs(ufunc)
                if all(_matches(ufunc, rule, vals, parts, fuse_value) for vals, parts in cases):
                    return ["fused" if fuse_value else "derivative", None]
        except numba.core.errors.NumbaError as err:
            reason = "numba cannot compile its derivative (" + _first_line(err) + ")"
        except ValueError as err:
            reason = str(err)
        except TypeError:  # ldexp: numpy takes no float64 exponent
            reason = "numpy refuses float64 for its integer argument"
    return ["numpy", reason]


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


def known_mode(ufunc):
    """``mode(ufunc)`` where it is known without calibrating (in this process or on disk),
    else None."""
    m = _MODES.get(ufunc)
    if m is None and ufunc in RULES:
        found = decision("mode", ufunc)
        if found is not None:
            m = mode(ufunc)
    return m


def mode(ufunc):
    """How ``ufunc`` runs on large float64 duals: 'fused', 'derivative' or 'numpy' (decided
    by calibration once per rule and machine, kept on disk)."""
    m = _MODES.get(ufunc)
    if m is None:
        rule = RULES.get(ufunc)
        if rule is None or rule.kind not in ("unary", "binary"):
            return "numpy"
        with _LOCK:
            m = _MODES.get(ufunc)
            if m is None:
                m, reason = decision("mode", ufunc, lambda: _calibrate(ufunc, rule))
                if m == "numpy":
                    FALLBACK[ufunc.__name__] = reason
                _MODES[ufunc] = m
    return m


def shared_pass(ufunc):
    """A kernel ``(x, ans, der)`` writing a unary rule's value and derivative in one loop,
    where that is measurably cheaper than a value pass plus a derivative pass (as libm's
    ``sincos`` would be for sin); None otherwise, for rules whose value numpy must compute,
    and for rules whose derivative the chain pass computes vectorized (``vector_derivs``).

    Decided once per rule and machine (kept on disk), by timing the kernel against numpy's
    value and derivative passes on the in-domain part of the calibration sample: the result
    is the same either way.
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
        kernel = loops.value_derivative(ufunc)

        def faster():
            x = _sample(rule.domain[0], np.random.default_rng(1))[:2048]
            ans, der = np.empty_like(x), np.empty_like(x)
            with np.errstate(all="ignore"):
                kernel(x, ans, der)  # compiles
                one = _best(lambda: kernel(x, ans, der))
                apart = (_best(lambda: ufunc(x, out=ans))
                         + _best(lambda: rule.derivs[0](x, ans)))
            # the shared pass also writes the derivative and the chain pass reads it back
            return one <= 0.8 * apart
        _SHARES[ufunc] = kernel = kernel if decision("shared_pass", ufunc, faster) else None
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

    def faster():
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
        return fused < 0.9 * plain  # a clear win only: near a tie, noise would decide
    pays = decision(f"pays {config.FUSED_PAY_SIZE}", ufunc, faster)
    with _LOCK:
        _PAYS[ufunc] = pays
    return pays


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
    loops.forget(ufunc)
    with _LOCK:
        # FALLBACK is keyed by name: its entry is this ufunc's only if it ran on numpy (a new
        # rule for scipy.special.erf must not drop the reason of dualad's own erf)
        if _MODES.pop(ufunc, None) == "numpy":
            FALLBACK.pop(getattr(ufunc, "__name__", None), None)
        _SHARES.pop(ufunc, None)
        _PAYS.pop(ufunc, None)
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
        kernel = _kernel(ufunc, rule, fuse_value, wide)
        live = [partials[0]]
    else:
        p, q = partials
        if p is not None and q is not None:
            which = 3 if p is q else 0
        else:
            which = 1 if q is None else 2
        kernel = _kernel(ufunc, rule, fuse_value, wide, (which, ops[0][1], ops[1][1]))
        live = [p] if which in (1, 3) else [q] if which == 2 else [p, q]
    args = [loops.readonly(o[0]) for o in ops] + ([] if fuse_value else
                                                  [loops.readonly(ans.reshape(m))])
    args += [loops.readonly(shaped(a)) for a in live] + ([ans.reshape(m)] if fuse_value else [])
    kernel(*args, shaped(out))
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
    loops._clear()
    with _LOCK:
        for table in (_MODES, _KERNELS, _SHARES, _PAYS, FALLBACK):
            table.clear()


config.register_cache("accel.fused", _clear, forget)
