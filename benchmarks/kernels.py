"""Fused per-rule kernels: jvp ratios at 1, 8 and 64 directions, threshold, compile cost.

    python benchmarks/kernels.py           # full run
    python benchmarks/kernels.py --quick   # smoke run

(a) jvp_many through y = sin(x)·exp(−x·x) + sqrt(1 + x·x) with n directions, divided by
    plain numpy evaluating y: as dualad runs it (the whole elementwise chain in one pass,
    dualad/accel/chains.py), with the per-rule fused kernels only (chains off; where they pay),
    and with the numpy path only (both off);
(b) one dual op (sin, multiply, exp) by size: its kernel (forced) vs the numpy path, and
    the rules whose kernel dualad/accel/fused.py's pays() timed slower (they skip it);
(c) first-call cost: calibration + compilation of one rule's kernels in a fresh process with
    an empty cache directory (with --quick: the usual one, where they may be on disk);
(d) one direction: single calls against loops of calls, with page faults per call;
(e) one direction by size: where chains start to pay (dualad/accel/chains.py's MIN_WORK);
(f) the values of sin and cos of large float64 arrays: numpy's (libm's scalar code) against
    dualad/accel/vmath.py's vectorized kernels (dualad/accel/fused.py's value), with the largest
    difference in ulps.
One core, medians of interleaved repeats.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy and numba: importing the harness sets every thread pool to one thread
from _harness import ROOT, measure, print_table, setup  # noqa: E402

ARGS = setup(__doc__, "quick")  # and pins to the last core

import numpy as np  # noqa: E402

import dualad as ad  # noqa: E402
from dualad import config  # noqa: E402
from dualad.accel import fused as _fused  # noqa: E402
from dualad.core.dual import make  # noqa: E402

REPEATS = 3 if ARGS.quick else 9


def expr(x):
    return np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x)


def no_fusion(chains_only=False):
    """Switch off the chain passes (``chains_only``) or them and the per-rule kernels."""
    names = ("DEFER_MIN_SIZE",) if chains_only else ("DEFER_MIN_SIZE", "FUSED_MIN_SIZE")
    saved = [getattr(config, n) for n in names]

    class Off:
        def __enter__(self):
            for n in names:
                setattr(config, n, 1 << 62)

        def __exit__(self, *exc):
            for n, v in zip(names, saved):
                setattr(config, n, v)
    return Off()


def bench_directions():
    print("(a) jvp_many of sin(x)*exp(-x*x) + sqrt(1 + x*x), ratio to numpy evaluating it")
    print()
    cases = [(10**6, 1), (10**6, 8), (10**5, 64)] if not ARGS.quick else [(10**4, 1), (10**4, 8)]
    rows = []
    for m, n in cases:
        rng = np.random.default_rng(0)
        x = rng.uniform(-3, 3, m)
        V = rng.standard_normal((m, n))
        chain = lambda: ad.jvp_many(expr, x, V)  # noqa: E731

        def per_rule():
            with no_fusion(chains_only=True):
                ad.jvp_many(expr, x, V)

        def plain():
            with no_fusion():
                ad.jvp_many(expr, x, V)
        a = chain()[1]  # the first time rule by rule, then compiled as one pass
        a2 = chain()[1]
        with no_fusion(chains_only=True):
            b = ad.jvp_many(expr, x, V)[1]
        with no_fusion():
            c = ad.jvp_many(expr, x, V)[1]
        # the chain pass takes sin's derivative, and the kernels' route (not the numpy path
        # only, with MIN_SIZE off) sin's value, from dualad/accel/vmath.py (within 1 ulp of libm)
        assert np.array_equal(a, a2), "the chain's first and compiled runs differ"
        for got in (a, b):
            assert np.allclose(got, c, rtol=1e-14, atol=1e-14 * np.abs(c).max()), "differ"
        t = measure({"numpy": lambda: expr(x), "chain": chain, "per_rule": per_rule,
                     "plain": plain}, REPEATS)
        rows.append([f"{m:,}", n, f"{t.time('numpy') * 1e3:.3g} ms"]
                    + [f"{t.time(k) * 1e3:.3g} ms ({t.ratio(k, 'numpy'):.2f})"
                       for k in ("chain", "per_rule", "plain")])
    print_table(["elements", "directions", "numpy", "dualad (one pass per chain)",
                 "per-rule kernels only", "numpy path only"], rows, align=False)
    print()


def bench_threshold():
    print("(b) one dual op, fused kernel vs numpy path (time ratio; < 1: the kernel wins)")
    print()
    sizes = [256, 1024, 4096, 16384, 65536] if not ARGS.quick else [1024, 4096]
    rows = []
    for name, op in (("sin", np.sin), ("multiply", lambda d: d * d[::-1].copy()),
                     ("exp", np.exp)):
        cells = []
        for s in sizes:
            d = make(np.linspace(-2, 2, s), np.ones((s, 1)), 0)
            saved, saved_pays = config.FUSED_MIN_SIZE, _fused.pays
            config.FUSED_MIN_SIZE = 1
            _fused.pays = lambda u: True  # the kernel, whatever dualad decided for the rule

            def f():
                op(d)

            def g():
                with no_fusion():
                    op(d)
            number = max(1, 200_000 // s)
            t = measure({"fused": f, "plain": g}, REPEATS, number=number)
            config.FUSED_MIN_SIZE, _fused.pays = saved, saved_pays
            cells.append(f"{t.ratio('fused', 'plain'):.2f}")
        rows.append([name] + cells)
    print_table(["op"] + [f"{s:,}" for s in sizes], rows, align=False)
    print(f"\nconfig.FUSED_MIN_SIZE: {config.FUSED_MIN_SIZE}")
    timed = {u.__name__: _fused.pays(u) for u, r in _fused.RULES.items()
             if r.kind in ("unary", "binary") and _fused.mode(u) != "numpy"}
    print(f"rules whose kernel dualad.accel.fused.pays() timed slower than the numpy path here "
          f"(they take the numpy path): {', '.join(k for k, v in timed.items() if not v)}\n")


def bench_first_call():
    code = ("import time, numpy as np, dualad as ad; from dualad.core.dual import make;"
            "d = make(np.linspace(0.1, 2, 8192), np.ones((8192, 1)), 0);"
            "t = time.perf_counter(); {op}; t1 = time.perf_counter() - t;"
            "t = time.perf_counter(); {op}; t2 = time.perf_counter() - t;"
            "print(f'{{t1:.3f}} {{t2 * 1e3:.3f}}')")
    env = dict(os.environ, PYTHONPATH=ROOT)
    empty = [] if ARGS.quick else [tempfile.TemporaryDirectory() for _ in range(2)]
    if empty:  # nothing on disk: what a first use on a machine costs
        env["NUMBA_CACHE_DIR"] = empty[0].name
    print("(c) first call in a fresh process (calibration + compilation), then the second")
    print()
    rows = []
    for label, op in (("np.sin(dual)", "np.sin(d)"), ("dual * dual", "d * d[::-1].copy()"),
                      ("np.exp(dual)", "np.exp(d)")):
        out = subprocess.run([sys.executable, "-c", code.format(op=op)], env=env,
                             capture_output=True, text=True, check=True).stdout.split()
        rows.append([label, f"{float(out[0]):.2f} s", f"{float(out[1]):.3f} ms"])
    print_table(["op", "first call", "second call"], rows, align=False)
    print()
    # a chain inside a helper: the first call runs it rule by rule, the second compiles it
    chain = ("import time, numpy as np, dualad as ad;"
             "f = lambda x: np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x);"
             "x = np.linspace(-2, 2, 100000); V = np.ones((100000, 4)); ts = [];"
             "[(ts.append(time.perf_counter()), ad.jvp_many(f, x, V)) for _ in range(3)];"
             "ts.append(time.perf_counter());"
             "print(' '.join(f'{b - a:.4f}' for a, b in zip(ts, ts[1:])))")
    if empty:
        env["NUMBA_CACHE_DIR"] = empty[1].name
    out = [float(v) for v in subprocess.run([sys.executable, "-c", chain], env=env,
                                            capture_output=True, text=True,
                                            check=True).stdout.split()]
    # 4 directions: 4 * 10^5 elements x directions is above config.DEFER_MIN_WORK, so chains are used
    print("the benchmark chain (jvp_many, 10^5 elements, 4 directions) in a fresh process: "
          "first call "
          f"{out[0]:.2f} s (rule by rule, calibrating its rules), second {out[1]:.2f} s "
          f"(compiling its one-pass kernel), third {out[2] * 1e3:.2f} ms")
    print()


def bench_loops():
    import statistics
    import time
    try:
        import resource  # page-fault counts: Unix only
    except ImportError:
        return
    m = 10**4 if ARGS.quick else 10**6
    print(f"(d) one direction, {m:,} elements: single calls against loops of 10 calls "
          "(medians of interleaved repeats; page faults per call from getrusage)")
    print()
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-3, 3, m), rng.standard_normal(m)
    contenders = {"numpy": lambda: expr(x), "dualad.jvp": lambda: ad.jvp(expr, x, v)}
    faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt  # noqa: E731
    samples = {(how, k): [] for how in ("single", "loop") for k in contenders}
    for f in contenders.values():
        f(), f()  # compile the chain
    for _ in range(REPEATS):
        for how, calls in (("single", 1), ("loop", 10)):
            for k, f in contenders.items():
                f0, t0 = faults(), time.perf_counter()
                for _ in range(calls):
                    f()
                samples[how, k].append(((time.perf_counter() - t0) / calls,
                                        (faults() - f0) / calls))
    med = {key: (statistics.median(t for t, _ in v), statistics.median(p for _, p in v))
           for key, v in samples.items()}
    rows = [[how] + [f"{med[how, k][0] * 1e3:.3g} ms ({med[how, k][1]:.0f} faults)"
                     for k in contenders]
            + [f"{med[how, 'dualad.jvp'][0] / med[how, 'numpy'][0]:.2f}"]
            for how in ("single", "loop")]
    print_table(["calls", "numpy", "dualad.jvp", "ratio"], rows, align=False)
    print()


def bench_min_work():
    print("(e) one direction by size: jvp_many of the expression with chains from any size, "
          "as dualad decides (MIN_WORK), and with no chains; ratio to numpy")
    print()
    sizes = [1 << 12, 1 << 14, 1 << 16, 1 << 17] if not ARGS.quick else [1 << 12]
    rows = []
    for m in sizes:
        x = np.linspace(-2.0, 2.0, m)
        V = np.ones((m, 1))

        def with_work(work):
            def run():
                saved = config.DEFER_MIN_WORK
                config.DEFER_MIN_WORK = work
                try:
                    ad.jvp_many(expr, x, V)
                finally:
                    config.DEFER_MIN_WORK = saved
            return run
        contenders = {"numpy": lambda: expr(x), "always": with_work(1),
                      "dualad": with_work(config.DEFER_MIN_WORK), "never": with_work(1 << 62)}
        for f in contenders.values():
            f(), f()  # compile the chain
        t = measure(contenders, REPEATS, number=max(1, (1 << 17) // m))
        rows.append([f"{m:,}"] + [f"{t.ratio(k, 'numpy'):.2f}"
                                  for k in ("always", "dualad", "never")])
    print_table(["elements", "chains always", f"dualad (MIN_WORK = {config.DEFER_MIN_WORK:,})",
                 "no chains"], rows, align=False)
    print()


def bench_values():
    m = 1_000_000 if not ARGS.quick else 4096
    print(f"(f) values of sin and cos, {m:,} float64 elements in [-10, 10]: numpy against "
          "dualad's vectorized kernels (dualad.accel.fused.value)")
    print()
    x = np.random.default_rng(5).uniform(-10.0, 10.0, m)
    rows = []
    for u in (np.sin, np.cos):
        want, got = u(x), _fused.value(u, (x,))
        ulps = int(np.max(np.abs(got - want) / np.spacing(np.abs(want))))
        t = measure({"numpy": lambda: u(x), "dualad": lambda: _fused.value(u, (x,))},
                    REPEATS, number=10)
        rows.append([u.__name__, f"{t.time('numpy') * 1e3:.2f} ms",
                     f"{t.time('dualad') * 1e3:.2f} ms", f"{t.ratio('dualad', 'numpy'):.2f}",
                     str(ulps)])
    print_table(["function", "numpy", "dualad", "ratio", "largest difference (ulp)"], rows,
                align=False)
    print()


if __name__ == "__main__":
    print(f"dualad fused kernels ({'QUICK' if ARGS.quick else 'full'} run), numpy "
          f"{np.__version__}, one core, median of {REPEATS} interleaved repeats\n")
    bench_directions()
    bench_threshold()
    bench_first_call()
    bench_loops()
    bench_min_work()
    bench_values()
