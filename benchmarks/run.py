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
import argparse
import os
import sys

# --- one core, one thread: before numpy, numba or jax are imported --------------------------
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_ONE_THREAD).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def _parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: small (a), few short repeats (numbers are not meaningful)")
    p.add_argument("--core", type=int, default=None,
                   help="CPU core to pin to (default: the last core this process may use)")
    p.add_argument("--repeats", type=int, default=None, help="repeats per contender")
    p.add_argument("--min-time", type=float, default=None,
                   help="minimum seconds per repeat (sets the loop count)")
    p.add_argument("--size", type=int, default=None,
                   help="number of elements in benchmark (a) (default 10**6)")
    p.add_argument("--no-peers", action="store_true",
                   help="do not import JAX or autograd even when installed")
    return p.parse_args(argv)


ARGS = _parse_args(sys.argv[1:])
_allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
CORE = ARGS.core if ARGS.core is not None else (_allowed[-1] if _allowed else None)
if CORE is not None and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {CORE})

import gc  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import dualad as ad  # noqa: E402

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


PEERS, PEER_NOTES = {}, []
for _name, _loader in (("jax", _load_jax), ("autograd", _load_autograd)):
    if ARGS.no_peers:
        PEER_NOTES.append(f"{_name}: skipped (--no-peers)")
        continue
    try:
        PEERS[_name] = _loader()
    except Exception as err:  # ImportError, or a broken install: skip the column, say why
        PEER_NOTES.append(f"{_name}: not installed, its columns are skipped "
                          f"({type(err).__name__}: {err}); pip install \"dualad[bench]\"")


# --- timing --------------------------------------------------------------------------------
def _loops(fn, min_time):
    """Calls per repeat so that one repeat lasts at least ``min_time`` (timeit's autorange)."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return number
        # aim a little above min_time, at least doubling
        guess = int(number * 1.2 * min_time / max(elapsed, 1e-9))
        number = max(2 * number, min(guess, 100 * number))


def measure(contenders):
    """Time the contenders, their repeats interleaved; returns a ``Timings``."""
    numbers = {name: _loops(fn, MIN_TIME) for name, fn in contenders.items()}
    samples = {name: [] for name in contenders}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(REPEATS):
            for name, fn in contenders.items():
                number = numbers[name]
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                samples[name].append((time.perf_counter() - t0) / number)
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timings(samples)


class Timings:
    """Per-repeat times of the contenders of one interleaved measurement."""

    def __init__(self, samples):
        self.samples = samples

    def time(self, name):
        """Median time per call."""
        return statistics.median(self.samples[name])

    def ratio(self, name, baseline):
        """Median over repeats of (time of name) / (time of baseline) in the same repeat."""
        return statistics.median(a / b for a, b in zip(self.samples[name],
                                                        self.samples[baseline]))


def fmt_time(t):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def fmt_ratio(r):
    return f"{r:.2f}" if r < 100 else f"{r:.0f}"


class CorrectnessError(AssertionError):
    pass


def check(name, got, want, rtol=1e-12, atol=1e-12):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want)) if got.shape == want.shape else "shape mismatch"
        raise CorrectnessError(f"{name}: result differs from the closed form (max error {err})")


def print_table(header, rows):
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


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

    timings = measure(contenders)
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

        t = measure(contenders)
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
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"pinned to core {CORE}, 1 thread; {REPEATS} interleaved repeats of at least "
          f"{MIN_TIME:g} s each, medians; load average {load}")
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
