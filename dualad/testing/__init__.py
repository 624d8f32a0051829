"""Check derivatives of your own functions and custom rules: ``check_grads`` and strategies.

``check_grads(f, x)`` compares what dualad computes for ``f`` at ``x`` with oracles that do not
use dualad's rules: first derivatives in random directions against 8th-order central
differences of ``f`` (and against the complex step where ``f`` accepts complex input), second
derivatives (nested duals, ``hvp`` and the HyperDual ``hessian``) against central differences
of the first. Tolerances depend on the dtype of ``x``; a failure raises ``AssertionError``
naming the worst entry.

``dualad.testing.strategies`` holds hypothesis strategies (duals, inputs inside a rule's
domain); it needs ``hypothesis``, this module does not.

>>> import numpy as np, dualad as ad
>>> from dualad.testing import check_grads
>>> check_grads(lambda x: np.sin(x) * np.exp(-x[::-1]), np.array([0.3, -1.2, 2.0]))
>>> bad = ad.custom_jvp(np.sin)
>>> _ = bad.defderiv(lambda x, ans: -np.cos(x))          # the sign is wrong
>>> check_grads(bad, 0.5)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
AssertionError: check_grads: order-1 derivative (dualad jvp vs complex step) differs, ...
  expected  0.8775825618903728
  got       -0.8775825618903728
...
"""
import importlib
import warnings
from typing import NamedTuple

import numpy as np

from ..api import _as_input, derivative, hessian, hvp, jvp, jvp_many

__all__ = ["check_grads", "default_tolerance"]

#: 8th-order central difference: f'(0) ~ sum_k c_k (f(k h) - f(-k h)) / h
_STENCIL = ((1, 4.0 / 5.0), (2, -1.0 / 5.0), (3, 4.0 / 105.0), (4, -1.0 / 280.0))
_FD_STEP = 1e-2  # truncation ~ h**8 f^(9), rounding ~ eps |f| / h: both tiny at unit scale
_CS_STEP = 1e-20
_MODES = ("fd", "cs")

#: default relative tolerance per dtype of x and oracle (the absolute one is the same)
_TOL = {
    np.dtype(np.float64): {"fd": 1e-6, "cs": 1e-8},
    np.dtype(np.float32): {"fd": 2e-3, "cs": 2e-3},
    np.dtype(np.float16): {"fd": 5e-2, "cs": 5e-2},
}


def default_tolerance(dtype, oracle="fd"):
    """The default ``rtol`` (and ``atol``) of ``check_grads`` for inputs of ``dtype``.

    >>> default_tolerance(np.float64), default_tolerance(np.float32)
    (1e-06, 0.002)
    """
    return _TOL.get(np.dtype(dtype), _TOL[np.dtype(np.float64)])[oracle]


class _Check(NamedTuple):
    order: int
    what: str          # e.g. "dualad jvp vs central differences"
    direction: str     # e.g. "u[0]" or "(u[1], w[1])"
    got: np.ndarray
    expected: np.ndarray
    rtol: float
    atol: float
    noise: np.ndarray  # error estimate of the finite-difference oracle (0 for exact ones)
    vectors: tuple = ()  # the direction(s), for the report

    def errors(self):
        got, exp = self.got, self.expected
        both_nan = np.isnan(got) & np.isnan(exp)
        same_inf = np.isinf(got) & (got == exp)
        with np.errstate(invalid="ignore"):
            err = np.where(both_nan | same_inf, 0.0, np.abs(got - exp))
        err = np.where(np.isnan(err), np.inf, err)
        bound = self.atol + self.rtol * np.abs(np.where(np.isfinite(exp), exp, 0.0)) \
            + 2.0 * self.noise
        return err, bound


def check_grads(f, x, order=2, modes=_MODES, rtol=None, atol=None, eps=None, seed=0,
                n_directions=2):
    """Assert that dualad's derivatives of ``f`` at ``x`` agree with independent oracles.

    - order 0: the value of ``f`` on duals equals ``f(x)`` on plain input (a custom rule's
      ``primal_out``);
    - order 1: ``jvp`` along ``n_directions`` random unit directions, against 8th-order central
      differences (``"fd"`` in ``modes``, step ``eps``, 1e-2 by default, shrunk where ``f`` is
      not finite) and the complex step (``"cs"``: exact to rounding, used where ``f`` accepts
      complex input, returns complex output and, with ``"fd"`` also given, agrees with the
      central differences: code using ``abs`` or ``sign`` is not complex-analytic);
    - order 2 (``order=2``): the directional second derivative ``D^2 f(x)[u, w]`` by nested
      duals, and for scalar-valued ``f`` also by ``hvp`` and by the HyperDual ``hessian``,
      against central differences of dualad's first derivative;
    - for a scalar float64 ``x`` also ``derivative(f, float(x))`` at both orders (the
      scalar-dual path that plain-Python code takes).

    The oracles run in float64 whatever the dtype of ``x``; ``rtol`` and ``atol`` default to
    ``default_tolerance(x.dtype)``, and a finite difference's own error estimate (from halving
    the step) is added to the bound. On failure an ``AssertionError`` reports the worst entry:
    which order and method, which direction, expected and computed values, absolute and
    relative error.

    >>> import numpy as np
    >>> check_grads(lambda x: np.linalg.solve(np.eye(2) + np.outer(x, x), x), [0.5, -1.0])
    """
    if order not in (0, 1, 2):
        raise ValueError(f"dualad: check_grads checks orders 0, 1 and 2, got order={order!r}")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    unknown = [m for m in modes if m not in _MODES]
    if unknown or not modes:
        raise ValueError(f"dualad: check_grads modes are {_MODES}, got {modes!r}")
    if not isinstance(n_directions, (int, np.integer)) or n_directions < 1:
        raise ValueError(f"dualad: n_directions must be a positive integer, got "
                         f"{n_directions!r}")
    x = _as_input(x)
    if not isinstance(x, np.ndarray):
        raise TypeError("dualad: check_grads takes a plain number or array x")
    dtype = x.dtype
    x64 = x.astype(np.float64)
    h = _FD_STEP if eps is None else float(eps)
    rng = np.random.default_rng(seed)
    U = _unit_directions(rng, x.shape, n_directions)
    W = _unit_directions(rng, x.shape, n_directions)
    if n_directions > 1:
        W[..., -1] = U[..., -1]  # one pure second derivative d^2/dt^2 f(x + t u)
    checks = []
    scalar_x = x.ndim == 0 and dtype == np.float64
    target = 0.1 * (default_tolerance(np.float64) if rtol is None else float(rtol))

    def tol(oracle):
        r = default_tolerance(dtype, oracle) if rtol is None else float(rtol)
        return r, (r if atol is None else float(atol))

    value, partials = jvp_many(f, x, U.astype(dtype))
    value = np.asarray(value, dtype=np.float64)
    plain = np.asarray(f(x.copy()), dtype=np.float64)
    checks.append(_Check(0, "value of f on duals vs f on plain input", "-", value, plain,
                         *tol("fd"), np.zeros(())))
    if order >= 1:
        partials = np.asarray(partials, dtype=np.float64)
        for k in range(n_directions):
            u = U[..., k]
            got = partials[..., k]
            if "fd" in modes:
                expected, noise = _central(lambda t: _call(f, x64 + t * u), h, target)
                checks.append(_Check(1, "dualad jvp vs central differences", f"u[{k}]", got,
                                     expected, *tol("fd"), noise, (u,)))
            if "cs" in modes:
                exact = _complex_step(f, x64, u)
                if exact is not None and "fd" in modes and not _agree(checks[-1], exact):
                    exact = None  # f is not complex-analytic (abs, sign, ...): fd decides
                if exact is not None:
                    checks.append(_Check(1, "dualad jvp vs complex step", f"u[{k}]", got,
                                         exact, *tol("cs"), np.zeros(()), (u,)))
            if scalar_x and "fd" in modes:  # Python floats take the scalar-dual path
                got = u * np.asarray(derivative(f, float(x)), dtype=np.float64)
                checks.append(_Check(1, "derivative(f, float) vs central differences",
                                     f"u[{k}]", got, expected, *tol("fd"), noise, (u,)))
    if order >= 2:
        scalar = np.ndim(value) == 0
        H = None
        if scalar and x.size <= 64:
            H = np.asarray(hessian(f, x), dtype=np.float64).reshape(x.size, x.size)
        for k in range(n_directions):
            u, w = U[..., k], W[..., k]
            u_x, w_x = u.astype(dtype), w.astype(dtype)
            expected, noise = _central(
                lambda s: np.asarray(jvp(f, x64 + s * u, w)[1], dtype=np.float64), h, target)
            pair = f"(u[{k}], w[{k}])" if k < n_directions - 1 or n_directions == 1 \
                else f"(u[{k}], u[{k}])"
            got = jvp(lambda y: jvp(f, y, w_x)[1], x, u_x)[1]
            checks.append(_Check(2, "nested duals vs central differences of the jvp", pair,
                                 np.asarray(got, dtype=np.float64), expected, *tol("fd"),
                                 noise, (u, w)))
            if scalar_x:
                got = u * w * np.asarray(derivative(f, float(x), order=2), dtype=np.float64)
                checks.append(_Check(2, "derivative(f, float, order=2) vs central differences "
                                     "of the jvp", pair, got, expected, *tol("fd"), noise,
                                     (u, w)))
            if scalar:
                got = np.sum(u * np.asarray(hvp(f, x, w_x), dtype=np.float64))
                checks.append(_Check(2, "hvp vs central differences of the jvp", pair,
                                     np.asarray(got), expected, *tol("fd"), noise, (u, w)))
            if H is not None:
                got = u.reshape(-1) @ H @ w.reshape(-1)
                checks.append(_Check(2, "hessian (HyperDual) vs central differences of the "
                                     "jvp", pair, np.asarray(got), expected, *tol("fd"),
                                     noise, (u, w)))
    _report(checks, x, U, W, seed)


def _agree(fd_check, cs):
    """Whether the complex step agrees with the central differences of ``fd_check``."""
    err, bound = fd_check._replace(got=np.asarray(cs, dtype=np.float64)).errors()
    return bool(np.all(err <= bound))


def _unit_directions(rng, shape, n):
    d = rng.standard_normal(tuple(shape) + (n,))
    norms = np.sqrt(np.sum(d * d, axis=tuple(range(len(shape))), keepdims=True))
    return d / norms


def _call(f, x):
    return np.asarray(f(x), dtype=np.float64)


def _central(g, h, target):
    """g'(0) by the 8th-order stencil at h / 2, and an error estimate (the change from h).

    The step shrinks tenfold (up to three times) while the estimate is above ``target``
    relative to the result, or g is not finite at a stencil point but finite at 0 (a domain
    boundary or a singularity within reach); the step with the smallest estimate wins.
    """
    g0 = g(0.0)
    finite = np.isfinite(g0)
    best = None
    for _ in range(4):
        coarse, fine = _stencil(g, h), _stencil(g, h / 2)
        h /= 10.0
        if not (np.all(np.isfinite(coarse)[finite]) and np.all(np.isfinite(fine)[finite])):
            continue
        with np.errstate(invalid="ignore"):
            noise = np.abs(coarse - fine)
        noise = np.where(np.isfinite(noise), noise, 0.0)
        score = float(np.max(noise / (1.0 + np.abs(np.nan_to_num(fine))), initial=0.0))
        if best is None or score < best[0]:
            best = (score, fine, noise)
        if score <= target:
            break
    if best is None:  # not finite anywhere near: report what the smallest step gives
        return fine, np.zeros(np.shape(fine))
    return best[1], best[2]


def _stencil(g, h):
    total = 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        for k, c in _STENCIL:
            total = total + c * (g(k * h) - g(-k * h))
    return total / h


def _complex_step(f, x64, u):
    """Im f(x + i h u) / h, or None where f does not take or keep complex numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            y = np.asarray(f(x64 + 1j * _CS_STEP * u))
        except Exception:  # noqa: BLE001  (any failure means: no complex support)
            return None
    if not np.iscomplexobj(y):
        return None  # abs, real parts, assignment into a float array: no information
    return np.imag(y) / _CS_STEP


def _report(checks, x, U, W, seed):
    failures, unreliable = [], []
    for c in checks:
        if c.got.shape != c.expected.shape:
            raise AssertionError(
                f"check_grads: order-{c.order} {c.what}: dualad gives shape {c.got.shape}, "
                f"the oracle {c.expected.shape}")
        err, bound = c.errors()
        ratio = np.where(bound > 0, err / np.where(bound > 0, bound, 1.0),
                         np.where(err > 0, np.inf, 0.0))
        if np.any(ratio > 1.0):
            failures.append((float(np.max(ratio)), c, err, bound, ratio))
        elif np.any(c.noise > 0.1 * (1.0 + np.abs(np.nan_to_num(c.expected)))):
            unreliable.append(c)
    if failures:
        _, c, err, bound, ratio = max(failures, key=lambda t: t[0])
        idx = np.unravel_index(np.argmax(ratio), ratio.shape) if ratio.ndim else ()
        got, exp = c.got[idx], c.expected[idx]
        rel = float(err[idx] / abs(exp)) if exp != 0 else float("inf")
        noise = float(np.broadcast_to(c.noise, ratio.shape)[idx])
        where = f" at output index {tuple(int(i) for i in idx)}" if idx else ""
        summary = sorted({(f.order, f.what) for _, f, *_ in failures})
        lines = [
            (f"check_grads: order-{c.order} derivative ({c.what}) differs{where}, "
             f"direction {c.direction}:" if c.order else
             f"check_grads: the {c.what} differs{where}:"),
            f"  expected  {float(exp)!r}",
            f"  got       {float(got)!r}",
            f"  abs error {float(err[idx]):.3g}, rel error {rel:.3g} (rtol {c.rtol:g}, "
            f"atol {c.atol:g}"
            + (f", finite-difference error estimate {noise:.3g}" if noise else "") + ")",
            f"  at x = {_short(x)}"
            + "".join(f"; {name} = {_short(v)}" for name, v in zip(("u", "w"), c.vectors))
            + (f" (random unit directions, seed={seed})" if c.vectors else ""),
            f"  {len(failures)} of {len(checks)} checks failed: "
            + "; ".join(f"order {o}: {w}" for o, w in summary),
        ]
        raise AssertionError("\n".join(lines))
    if unreliable:
        c = unreliable[0]
        raise AssertionError(
            f"check_grads: the finite differences for order {c.order} ({c.what}, direction "
            f"{c.direction}) do not converge at x = {_short(x)}: f has a kink, a jump or a "
            "singularity within the step. Pass a smaller eps= or check another point.")


def _short(a, n=6):
    a = np.asarray(a)
    if a.size <= n:
        return np.array2string(a, precision=4)
    return np.array2string(a.ravel()[:n], precision=4)[:-1] + " ...]"


def __getattr__(name):
    if name == "strategies":  # dualad.testing.strategies without an explicit import
        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
