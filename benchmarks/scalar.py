"""dualad's scalar path: ``derivative`` of a pure-Python function of 20 operations.

    python benchmarks/scalar.py            # full run (about half a minute)
    python benchmarks/scalar.py --quick    # smoke run: few short repeats

The function (18 arithmetic operations and 3 calls of ``math``-module functions, written once
and instantiated with ``math``, ``dualad.math``, ``ad.admath`` or ``jax.numpy``)::

    y = x * x + 3.0 * x - 1.0
    z = sin(y) / (1.0 + y * y)
    w = exp(-z) * sqrt(1.0 + x * x)
    return 0.5 * (w * z - y / (2.0 + w)) + x

The scalar duals use the C operators when they were compiled; ``DUALAD_PURE_PYTHON=1``
measures the pure-Python ones.

Contenders, each divided by the time of the same function on a plain float:
``dualad.derivative(f, 0.7)`` (scalar duals), ``dualad.derivative`` of a 0-d float64 array
(the array path, for reference), the PyPI ``ad`` package (``adnumber(x)`` then ``.d(x)``;
``pip install ad``) and ``jax.jit`` of ``jax.jvp`` (both optional: skipped when absent).

Method as in ``run.py``: one core, one thread; each contender gets a loop count so that one
repeat lasts at least ``--min-time`` seconds; the repeats of all contenders are interleaved; a
time is the median over repeats, a ratio the median of the per-repeat ratios. Every contender's
derivative is checked against the closed form before anything is timed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy or jax: importing the harness sets every thread pool to one thread
from _harness import fmt_time, measure, print_table, setup  # noqa: E402

ARGS = setup(__doc__, "quick", "core", "repeats", "min-time", "no-peers",  # and pins one core
             no_peers="do not import ad or jax")

import math  # noqa: E402
import platform  # noqa: E402

import numpy as np  # noqa: E402

import dualad as ad  # noqa: E402

CORE = ARGS.core
REPEATS = ARGS.repeats or (3 if ARGS.quick else 21)
MIN_TIME = ARGS.min_time or (0.002 if ARGS.quick else 0.1)
X = 0.7


def make(m):
    """The benchmark function on the module ``m`` (math, dualad.math, ad.admath, jax.numpy)."""
    sin, exp, sqrt = m.sin, m.exp, m.sqrt

    def f(x):
        y = x * x + 3.0 * x - 1.0
        z = sin(y) / (1.0 + y * y)
        w = exp(-z) * sqrt(1.0 + x * x)
        return 0.5 * (w * z - y / (2.0 + w)) + x
    return f


def closed_form(x):
    """f'(x) by hand, term by term."""
    y, dy = x * x + 3 * x - 1, 2 * x + 3
    q = 1 + y * y
    z = math.sin(y) / q
    dz = (math.cos(y) * q - math.sin(y) * 2 * y) / (q * q) * dy
    r = math.sqrt(1 + x * x)
    w = math.exp(-z) * r
    dw = math.exp(-z) * (-dz) * r + math.exp(-z) * x / r
    dout = dw * z + w * dz - (dy * (2 + w) - y * dw) / (2 + w) ** 2
    return 0.5 * dout + 1


# --- contenders ----------------------------------------------------------------------------
plain = make(math)
dual_f = make(ad.math)
CONTENDERS = {
    "plain floats (math)": lambda: plain(X),
    "dualad.derivative (scalar duals)": lambda: ad.derivative(dual_f, X),
    "dualad.derivative (0-d arrays)": lambda: ad.derivative(make(np), np.float64(X)),
}
ARRAY_F = make(np)
CONTENDERS["dualad.derivative (0-d arrays)"] = lambda: ad.derivative(ARRAY_F, np.float64(X))
RESULTS = {"dualad.derivative (scalar duals)": lambda: ad.derivative(dual_f, X),
           "dualad.derivative (0-d arrays)": lambda: ad.derivative(ARRAY_F, np.float64(X))}
NOTES = []

if not ARGS.no_peers:
    try:
        from ad import adnumber
        from ad import admath
        ad_f = make(admath)

        def with_ad():
            x = adnumber(X)
            return ad_f(x).d(x)
        CONTENDERS["PyPI ad (adnumber)"] = RESULTS["PyPI ad (adnumber)"] = with_ad
    except Exception as err:
        NOTES.append(f"ad: not installed, skipped ({type(err).__name__}); pip install ad")
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        jax_f = make(jnp)
        jvp = jax.jit(lambda x: jax.jvp(jax_f, (x,), (1.0,))[1])
        x64 = jnp.float64(X)
        jvp(x64).block_until_ready()
        CONTENDERS["jax.jit(jax.jvp)"] = lambda: jvp(x64).block_until_ready()
        RESULTS["jax.jit(jax.jvp)"] = lambda: float(jvp(x64))
    except Exception as err:
        NOTES.append(f"jax: not installed, skipped ({type(err).__name__}); pip install jax")
else:
    NOTES.append("ad, jax: skipped (--no-peers)")


def check():
    want = closed_form(X)
    for name, fn in RESULTS.items():
        got = float(fn())
        if not math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-14):
            return f"FAILED: {name} gives {got!r}, the closed form {want!r}"
    # the scalar path also computes the value exactly as plain floats do
    seen = []
    ad.derivative(lambda x: seen.append(dual_f(x)) or seen[-1], X)
    if seen[0].value != plain(X):
        return "FAILED: the scalar path's value differs from plain floats"
    return "passed (every contender equals the closed-form derivative to 1e-12)"


def main():
    print("dualad scalar benchmark" + (" (--quick: numbers are not meaningful)"
                                       if ARGS.quick else ""))
    print(f"python {platform.python_version()}, numpy {np.__version__}, dualad "
          f"{ad.__version__}; pinned to core {CORE}, one thread; {REPEATS} interleaved "
          f"repeats of >= {MIN_TIME} s, medians")
    from dualad.scalar import number as scalar
    print("scalar-dual operators: " + ("C (dualad.scalar._cscalar)" if scalar._cscalar else
                                       "pure Python (DUALAD_PURE_PYTHON=1 or not compiled)"))
    for note in NOTES:
        print(note)
    status = check()
    print(f"correctness: {status}")
    if not status.startswith("passed"):
        return 1
    samples = measure(CONTENDERS, REPEATS, MIN_TIME)
    print()
    print("derivative of a 20-operation pure-Python function at x = 0.7")
    print()
    print_table(["contender", "time per call", "× plain floats"],
                [[name, fmt_time(samples.time(name)),
                  f"{samples.ratio(name, 'plain floats (math)'):.1f}"] for name in samples],
                align=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
