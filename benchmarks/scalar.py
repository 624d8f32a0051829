"""dualad's scalar path: ``derivative`` of a pure-Python function of 20 operations.

    python benchmarks/scalar.py            # full run (about half a minute)
    python benchmarks/scalar.py --quick    # smoke run: few short repeats

The function (18 arithmetic operations and 3 calls of ``math``-module functions, written once
and instantiated with ``math``, ``dualad.math``, ``ad.admath`` or ``jax.numpy``)::

    y = x * x + 3.0 * x - 1.0
    z = sin(y) / (1.0 + y * y)
    w = exp(-z) * sqrt(1.0 + x * x)
    return 0.5 * (w * z - y / (2.0 + w)) + x

Contenders, each divided by the time of the same function on a plain float:
``dualad.derivative(f, 0.7)`` (scalar duals), ``dualad.derivative`` of a 0-d float64 array
(the array path, for reference), the PyPI ``ad`` package (``adnumber(x)`` then ``.d(x)``;
``pip install ad``) and ``jax.jit`` of ``jax.jvp`` (both optional: skipped when absent).

Method as in ``run.py``: one core, one thread; each contender gets a loop count so that one
repeat lasts at least ``--min-time`` seconds; the repeats of all contenders are interleaved; a
time is the median over repeats, a ratio the median of the per-repeat ratios. Every contender's
derivative is checked against the closed form before anything is timed.
"""
import argparse
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                           "false intra_op_parallelism_threads=1").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

_p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
_p.add_argument("--quick", action="store_true", help="smoke run (numbers are not meaningful)")
_p.add_argument("--core", type=int, default=None, help="CPU core to pin to (default: the last)")
_p.add_argument("--repeats", type=int, default=None, help="repeats per contender")
_p.add_argument("--min-time", type=float, default=None, help="minimum seconds per repeat")
_p.add_argument("--no-peers", action="store_true", help="do not import ad or jax")
ARGS = _p.parse_args()
_allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
CORE = ARGS.core if ARGS.core is not None else (_allowed[-1] if _allowed else None)
if CORE is not None and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {CORE})

import gc  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import dualad as ad  # noqa: E402

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


# --- timing --------------------------------------------------------------------------------
def loops(fn):
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= MIN_TIME:
            return number
        number = max(2 * number, min(int(number * 1.2 * MIN_TIME / max(elapsed, 1e-9)),
                                     100 * number))


def measure():
    numbers = {name: loops(fn) for name, fn in CONTENDERS.items()}
    samples = {name: [] for name in CONTENDERS}
    gc.disable()
    try:
        for _ in range(REPEATS):
            for name, fn in CONTENDERS.items():
                n = numbers[name]
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - t0) / n)
            gc.collect()
    finally:
        gc.enable()
    return samples


def fmt_time(t):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def main():
    print("dualad scalar benchmark" + (" (--quick: numbers are not meaningful)"
                                       if ARGS.quick else ""))
    print(f"python {platform.python_version()}, numpy {np.__version__}, dualad "
          f"{ad.__version__}; pinned to core {CORE}, one thread; {REPEATS} interleaved "
          f"repeats of >= {MIN_TIME} s, medians")
    for note in NOTES:
        print(note)
    status = check()
    print(f"correctness: {status}")
    if not status.startswith("passed"):
        return 1
    samples = measure()
    base = samples["plain floats (math)"]
    print()
    print("derivative of a 20-operation pure-Python function at x = 0.7")
    print()
    print("| contender | time per call | × plain floats |")
    print("|---|---|---|")
    for name, times in samples.items():
        ratio = statistics.median(t / b for t, b in zip(times, base))
        print(f"| {name} | {fmt_time(statistics.median(times))} | {ratio:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
