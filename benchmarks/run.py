"""dualad benchmarks: cost ratios measured side by side in one run, on one core.

    python benchmarks/run.py            # full run (about a minute)
    python benchmarks/run.py --quick    # smoke run: small sizes, few repeats

(a) a jvp (one direction) through y = sin(x)·exp(−x·x) + sqrt(1 + x·x) on 10⁶ float64
    elements, divided by the time of plain numpy evaluating the same expression;
(b) the gradient of the chained Rosenbrock function
    f(x) = Σ_i 100 (x[i+1] − x[i]²)² + (1 − x[i])² at n = 100 and 1000, divided by one plain
    evaluation of f, by JAX's jit-compiled ``jax.jacfwd`` and by autograd's ``grad`` (the last
    two when installed: ``pip install "dualad[bench]"``; their columns are skipped otherwise).

Method: the process is pinned to one core and every BLAS/OpenMP/XLA thread pool to one thread
(set before numpy or jax are imported). Each contender gets a loop count, timeit style, so that
one repeat lasts at least ``--min-time`` seconds; the repeats of the contenders of one row are
interleaved (A B C A B C ...), so that slow phases of a shared machine hit all of them alike.
A time is the median over repeats of the time per call; a ratio is the median over repeats of
the ratio within each repeat. Results are checked once against closed-form derivatives before
anything is timed, so a fast but wrong result is never reported.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy or jax: importing the harness sets every thread pool to one thread
from _harness import (CorrectnessError, check, fmt_ratio, fmt_time, load_average,  # noqa: E402
                      load_peers, measure, print_table, setup)

ARGS = setup(__doc__, "quick", "core", "repeats", "min-time",  # and pins to one core
             ("size", dict(type=int, default=None,
                           help="number of elements in benchmark (a) (default 10**6)")),
             "no-peers",
             quick="smoke run: small (a), few short repeats (numbers are not meaningful)",
             no_peers="do not import JAX or autograd even when installed")

import platform  # noqa: E402

import numpy as np  # noqa: E402

import dualad as ad  # noqa: E402

CORE = ARGS.core
QUICK = ARGS.quick
REPEATS = ARGS.repeats or (3 if QUICK else 15)
MIN_TIME = ARGS.min_time or (0.002 if QUICK else 0.2)
SIZE_A = ARGS.size or (10_000 if QUICK else 1_000_000)
ROSENBROCK_N = (100, 1000)


# --- optional peers ------------------------------------------------------------------------
def _load_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def _load_autograd():
    import autograd
    import autograd.numpy as anp
    return autograd, anp


_BENCH = 'pip install "dualad[bench]"'
PEERS, PEER_NOTES = load_peers({"jax": (_load_jax, _BENCH),
                                "autograd": (_load_autograd, _BENCH)}, ARGS.no_peers)


# --- (a) jvp through an elementwise expression ---------------------------------------------
def expr(x):
    return np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x)


def expr_prime(x):
    e = np.exp(-x * x)
    return np.cos(x) * e - 2.0 * x * np.sin(x) * e + x / np.sqrt(1.0 + x * x)


def bench_jvp():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3.0, 3.0, SIZE_A)
    v = rng.standard_normal(SIZE_A)

    value, tangent = ad.jvp(expr, x, v)
    check("dualad jvp value", value, expr(x))
    check("dualad jvp tangent", tangent, expr_prime(x) * v, rtol=1e-10, atol=1e-12)
    contenders = {"numpy": lambda: expr(x), "dualad": lambda: ad.jvp(expr, x, v)}
    labels = {"numpy": "numpy, value only (baseline)", "dualad": "dualad.jvp"}

    if "jax" in PEERS:
        jax, jnp = PEERS["jax"]

        def expr_jax(t):
            return jnp.sin(t) * jnp.exp(-t * t) + jnp.sqrt(1.0 + t * t)

        jvp_jax = jax.jit(lambda a, b: jax.jvp(expr_jax, (a,), (b,)))
        xj, vj = jax.device_put(x), jax.device_put(v)
        jax.block_until_ready(jvp_jax(xj, vj))  # compile
        check("jax jvp tangent", jvp_jax(xj, vj)[1], expr_prime(x) * v, rtol=1e-10, atol=1e-12)
        contenders["jax"] = lambda: jax.block_until_ready(jvp_jax(xj, vj))
        labels["jax"] = "reference: jax.jit(jax.jvp)"
    if "autograd" in PEERS:
        autograd, anp = PEERS["autograd"]

        def expr_ag(t):
            return anp.sin(t) * anp.exp(-t * t) + anp.sqrt(1.0 + t * t)

        jvp_ag = lambda: autograd.make_jvp(expr_ag)(x)(v)  # noqa: E731
        check("autograd jvp tangent", jvp_ag()[1], expr_prime(x) * v, rtol=1e-10, atol=1e-12)
        contenders["autograd"] = jvp_ag
        labels["autograd"] = "reference: autograd.make_jvp"

    timings = measure(contenders, REPEATS, MIN_TIME)
    print(f"(a) jvp of sin(x)*exp(-x*x) + sqrt(1 + x*x), {SIZE_A:,} float64 elements, "
          "one direction")
    print()
    print_table(["method", "time", "ratio to numpy"],
                [[labels[k], fmt_time(timings.time(k)), fmt_ratio(timings.ratio(k, "numpy"))]
                 for k in contenders])
    return timings.ratio("dualad", "numpy")


# --- (b) gradient of the chained Rosenbrock function ---------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    a, b = x[:-1], x[1:]
    g[:-1] = -400.0 * a * (b - a * a) - 2.0 * (1.0 - a)
    g[1:] += 200.0 * (b - a * a)
    return g


def bench_rosenbrock():
    rows = []
    for n in ROSENBROCK_N:
        x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
        want = rosenbrock_grad(x)
        check(f"dualad gradient (n={n})", ad.gradient(rosenbrock, x), want, rtol=1e-11)
        contenders = {"f": lambda: rosenbrock(x), "dualad": lambda: ad.gradient(rosenbrock, x)}

        if "jax" in PEERS:
            jax, jnp = PEERS["jax"]

            def rosenbrock_jax(t):
                return jnp.sum(100.0 * (t[1:] - t[:-1] ** 2) ** 2 + (1.0 - t[:-1]) ** 2)

            grad_jax = jax.jit(jax.jacfwd(rosenbrock_jax))
            xj = jax.device_put(x)
            check(f"jax jacfwd (n={n})", jax.block_until_ready(grad_jax(xj)), want, rtol=1e-11)
            contenders["jax"] = lambda: jax.block_until_ready(grad_jax(xj))
        if "autograd" in PEERS:
            autograd, anp = PEERS["autograd"]

            def rosenbrock_ag(t):
                return anp.sum(100.0 * (t[1:] - t[:-1] ** 2) ** 2 + (1.0 - t[:-1]) ** 2)

            grad_ag = autograd.grad(rosenbrock_ag)
            check(f"autograd grad (n={n})", grad_ag(x), want, rtol=1e-11)
            contenders["autograd"] = lambda: grad_ag(x)

        t = measure(contenders, REPEATS, MIN_TIME)
        row = [n, fmt_time(t.time("f")), fmt_time(t.time("dualad")),
               fmt_ratio(t.ratio("dualad", "f"))]
        for peer in ("jax", "autograd"):
            if peer in contenders:
                row += [fmt_time(t.time(peer)), fmt_ratio(t.ratio("dualad", peer))]
            else:
                row += ["skipped", "-"]
        rows.append(row)
    print("(b) gradient of the chained Rosenbrock function "
          "sum(100*(x[i+1] - x[i]**2)**2 + (1 - x[i])**2)")
    print()
    print_table(["n", "f(x) numpy", "dualad.gradient", "gradient / f(x)",
                 "jax.jacfwd (jit)", "dualad / jax", "autograd.grad", "dualad / autograd"],
                rows)


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "?"


def main():
    mode = "QUICK smoke run: the numbers are not meaningful" if QUICK else "full run"
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"dualad {ad.__version__}"]
    for name in ("jax", "autograd"):
        if name in PEERS:
            versions.append(f"{name} {_version(name)}")
    print(f"dualad benchmarks ({mode})")
    print(f"{', '.join(versions)}; {platform.machine()}")
    print(f"pinned to core {CORE}, 1 thread; {REPEATS} interleaved repeats of at least "
          f"{MIN_TIME:g} s each, medians; load average {load_average()}")
    for note in PEER_NOTES:
        print(f"note: {note}")
    print()
    try:
        bench_jvp()
        print()
        bench_rosenbrock()
    except CorrectnessError as err:
        print(f"correctness check FAILED, no timings reported: {err}", file=sys.stderr)
        return 1
    print()
    print("correctness: ok (dualad, and each peer timed, match the closed-form derivatives)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
