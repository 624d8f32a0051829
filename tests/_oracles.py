"""Derivative oracles that do not use dualad: finite differences and the complex step.

All oracles evaluate plain numpy (or ``math``) functions in float64 / complex128, whatever the
dtype under test: a float32 result is compared against the float64 oracle at the same point.
"""
import numpy as np

#: step of the 4th-order central difference: its error is ~ h**4 f^(5) + eps / h, smallest
#: near eps**(1/5) ~ 1e-3 for functions of unit scale
FD_STEP = 1e-3
#: complex step: f(x + i h).imag / h has no cancellation, so h can be tiny
CS_STEP = 1e-20


def fd(f, x, h=FD_STEP):
    """f'(x) by the 4th-order central stencil (x may be an array: elementwise f)."""
    x = np.asarray(x, dtype=np.float64)
    f1 = np.asarray(f(x + h), dtype=np.float64) - np.asarray(f(x - h), dtype=np.float64)
    f2 = np.asarray(f(x + 2 * h), dtype=np.float64) - np.asarray(f(x - 2 * h),
                                                                   dtype=np.float64)
    return (8.0 * f1 - f2) / (12.0 * h)


def complex_step(f, x, h=CS_STEP):
    """f'(x) = Im f(x + i h) / h, exact to rounding for real-analytic f."""
    x = np.asarray(x, dtype=np.float64)
    return np.imag(f(x + 1j * h)) / h


def fd_jacobian(f, x, h=FD_STEP):
    """Jacobian of a plain function ``f`` at ``x``: shape ``f(x).shape + x.shape``."""
    x = np.array(x, dtype=np.float64)
    cols = []
    for i in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[i] = 1.0
        cols.append(fd(lambda t: f(x + t * e), 0.0, h))
    out_shape = np.shape(f(x))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


#: relative tolerance per (dtype, oracle); the absolute part is the same times 1 + |expected|
TOL = {
    (np.dtype(np.float64), "fd"): 1e-7,
    (np.dtype(np.float64), "cs"): 1e-13,
    (np.dtype(np.float32), "fd"): 1e-5,
    (np.dtype(np.float32), "cs"): 1e-5,
}


def assert_close(actual, expected, dtype=np.float64, oracle="fd", tol=None, what=""):
    """|actual - expected| <= tol * (1 + |expected|) elementwise, with a useful message."""
    tol = TOL[(np.dtype(dtype), oracle)] if tol is None else tol
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape or expected.ndim == 0, \
        f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected)
    bound = tol * (1.0 + np.abs(expected))
    bad = ~(err <= bound)
    if np.any(bad):
        raise AssertionError(
            f"{what}: derivative differs from the {oracle} oracle ({np.dtype(dtype)}, tol {tol})"
            f"\n actual   {actual[bad] if actual.ndim else actual}"
            f"\n expected {np.broadcast_to(expected, bad.shape)[bad]}"
            f"\n max err  {err.max():.3g}")


# --- the rule table as test cases (shared by the second-order and Taylor tests) -----------
def rule_cases():
    """``pytest.param(ufunc, id=name)`` for every rule: adding a rule adds its tests."""
    import pytest
    from dualad.rules.table import RULES
    return [pytest.param(f, id=f.__name__) for f in RULES]


def live_arguments(rule):
    """Argument positions that may vary (a ``None`` derivative marks a constant argument)."""
    if rule.kind in ("linear", "zero"):
        return list(range(len(rule.derivs)))
    return [i for i, d in enumerate(rule.derivs) if d is not None]
