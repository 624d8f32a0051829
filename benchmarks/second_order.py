"""dualad second-order benchmarks: Hessians and high-order derivatives, side by side in one run.

    python benchmarks/second_order.py            # full run (a few minutes)
    python benchmarks/second_order.py --quick    # smoke run: n = 10, k <= 5, few repeats

(a) the Hessian of the chained Rosenbrock function
    f(x) = Σ_i 100 (x[i+1] − x[i]²)² + (1 − x[i])², and of g(x) = x·Ax/2 + Σ sin(x)
    (A symmetric), at n = 10, 50, 200, with
      - dualad, HyperDual:  ``ad.hessian(f, x)``            (the baseline of the ratios),
      - dualad, nested:     ``ad.hessian(f, x, method='nested')`` (dual of dual),
      - ``jax.jit(jax.hessian(f))``, ``jax.jit(jax.jacfwd(jax.jacfwd(f)))`` (when JAX is
        installed: ``pip install "dualad[bench]"``),
      - ``torch.func.hessian(f)`` (eager; when PyTorch is installed — by hand, it is not in
        the ``bench`` extra: ``pip install torch``).
    A ratio is the contender's time divided by HyperDual's: above 1, HyperDual is faster.
(b) ``derivative(f, x, order=k)`` for k = 2..10 of f(x) = exp(sin(x)) / (1 + x²) at x = 0.7:
    Taylor mode (``ad.Taylor``, what ``derivative`` uses for k >= 3) against nested duals
    (``derivative(·, order=1)`` composed k times). Taylor's cost per operation is O(k²)
    (vectorized over k, so the Python overhead grows about linearly); nested duals double
    their work with every order.

Method: the process is pinned to one core and every BLAS/OpenMP/XLA/torch thread pool to one
thread (set before numpy, jax or torch are imported). Each contender gets a loop count so that
one repeat lasts at least ``--min-time`` seconds; the repeats of the contenders of one row are
interleaved (A B C A B C ...). A time is the median over repeats; a ratio is the median over
repeats of the ratio within each repeat. Every Hessian is checked against a closed form and
every contender against the others before anything is timed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy, jax or torch: importing the harness sets every thread pool to one thread
from _harness import (CorrectnessError, check as _check, fmt_ratio, fmt_time,  # noqa: E402
                      load_peers, measure, print_table, setup)

ARGS = setup(__doc__, "quick", "core", "repeats", "min-time", "no-peers",  # and pins one core
             quick="smoke run: n = 10 and k <= 5, few short repeats (numbers not meaningful)",
             no_peers="do not import JAX or PyTorch even when installed")

import platform  # noqa: E402

import numpy as np  # noqa: E402

import dualad as ad  # noqa: E402

CORE = ARGS.core
QUICK = ARGS.quick
REPEATS = ARGS.repeats or (3 if QUICK else 5)
MIN_TIME = ARGS.min_time or (0.002 if QUICK else 0.2)
SIZES = (10,) if QUICK else (10, 50, 200)
ORDERS = range(2, 6) if QUICK else range(2, 11)
X_TAYLOR = 0.7


# --- optional peers ------------------------------------------------------------------------
def _load_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def _load_torch():
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set (only allowed once per process)
        pass
    import torch.func
    return torch, torch.func


PEERS, PEER_NOTES = load_peers({"jax": (_load_jax, 'pip install "dualad[bench]"'),
                                "torch": (_load_torch, "pip install torch")}, ARGS.no_peers)


def check(name, got, want, rtol=1e-10, atol=1e-10):
    """The harness's check, with ``atol`` relative to the largest entry of ``want``."""
    want = np.asarray(want, dtype=np.float64)
    scale = 1.0 + np.max(np.abs(want)) if want.size else 1.0
    _check(name, got, want, rtol, atol * scale, reference="the reference")


# --- (a) Hessians ----------------------------------------------------------------------------
def rosenbrock(x, lib=np):
    return lib.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = x.size
    a, b = x[:-1], x[1:]
    H = np.zeros((n, n))
    H[np.arange(n - 1), np.arange(n - 1)] += 1200.0 * a * a - 400.0 * b + 2.0
    H[np.arange(1, n), np.arange(1, n)] += 200.0
    H[np.arange(n - 1), np.arange(1, n)] = -400.0 * a
    H[np.arange(1, n), np.arange(n - 1)] = -400.0 * a
    return H


def _spd(n):
    m = np.random.default_rng(1000 + n).standard_normal((n, n)) / np.sqrt(n)
    return m @ m.T + np.eye(n)


def quad_sin(A, lib=np):
    return lambda x: x @ (A @ x) / 2.0 + lib.sum(lib.sin(x))


def quad_sin_hessian(A, x):
    return A - np.diag(np.sin(x))


PROBLEMS = ("chained Rosenbrock", "x·Ax/2 + Σ sin(x)")
COLUMNS = (("hyper", "dualad HyperDual"), ("nested", "dualad nested"),
           ("jax_hessian", "jax.jit(jax.hessian)"),
           ("jax_jacfwd2", "jax.jit(jacfwd(jacfwd))"),
           ("torch", "torch.func.hessian"))


def hessian_contenders(problem, n):
    """{name: callable} for one problem and size, each checked before it is returned."""
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    if problem == PROBLEMS[0]:
        f, want = rosenbrock, rosenbrock_hessian(x)
        f_lib = lambda lib: (lambda v: rosenbrock(v, lib))  # noqa: E731
    else:
        A = _spd(n)
        f, want = quad_sin(A), quad_sin_hessian(A, x)
        f_lib = None
    hyper = ad.hessian(f, x)
    check(f"HyperDual Hessian, {problem}, n={n}", hyper, want)
    check(f"nested Hessian, {problem}, n={n}", ad.hessian(f, x, method="nested"), hyper,
          rtol=1e-12, atol=1e-12)
    check(f"HyperDual Hessian symmetry, {problem}, n={n}", hyper, hyper.T, rtol=0, atol=0)
    contenders = {"hyper": lambda: ad.hessian(f, x),
                  "nested": lambda: ad.hessian(f, x, method="nested")}
    if "jax" in PEERS:
        jax, jnp = PEERS["jax"]
        fj = f_lib(jnp) if f_lib else quad_sin(jnp.asarray(A), jnp)
        xj = jax.device_put(x)
        for name, compiled in (("jax_hessian", jax.jit(jax.hessian(fj))),
                               ("jax_jacfwd2", jax.jit(jax.jacfwd(jax.jacfwd(fj))))):
            check(f"{name}, {problem}, n={n}", jax.block_until_ready(compiled(xj)), hyper)
            contenders[name] = (lambda c: lambda: jax.block_until_ready(c(xj)))(compiled)
    if "torch" in PEERS:
        torch, tfunc = PEERS["torch"]
        ft = f_lib(torch) if f_lib else quad_sin(torch.from_numpy(A), torch)
        xt = torch.from_numpy(x.copy())
        hess_t = tfunc.hessian(ft)
        check(f"torch.func.hessian, {problem}, n={n}", hess_t(xt).numpy(), hyper)
        contenders["torch"] = lambda: hess_t(xt)
    return contenders


def bench_hessians():
    header = ["problem", "n", "HyperDual"] + \
        [f"{label} (×)" for key, label in COLUMNS[1:]]
    rows, ratios = [], {}
    for problem in PROBLEMS:
        for n in SIZES:
            contenders = hessian_contenders(problem, n)
            samples = measure(contenders, REPEATS, MIN_TIME)
            row = [problem, str(n), fmt_time(samples.time("hyper"))]
            for key, _ in COLUMNS[1:]:
                if key in samples:
                    r = samples.ratio(key, "hyper")
                    ratios[(problem, n, key)] = r
                    row.append(f"{fmt_time(samples.time(key))} ({fmt_ratio(r)})")
                else:
                    row.append("skipped")
            rows.append(row)
    print("(a) Hessian: time per call, and in parentheses the ratio to HyperDual's time "
          "(above 1: HyperDual is faster)")
    print()
    print_table(header, rows)
    return ratios


# --- (b) derivative of order k: Taylor mode vs nested duals ---------------------------------
def composite(x):
    return np.exp(np.sin(x)) / (1.0 + x * x)


def taylor_derivative(k):
    return lambda: float(composite(ad.Taylor.variable(X_TAYLOR, k)).derivatives()[..., k])


def nested_derivative(k):
    def nest(f, j):
        return f if j == 0 else nest(lambda t, g=f: ad.derivative(g, t), j - 1)
    g = nest(composite, k)
    return lambda: g(X_TAYLOR)


def cauchy_derivative(f, x, k, r=0.6, n=512):
    """An independent reference: the Cauchy integral formula on a circle (complex numpy)."""
    theta = 2 * np.pi * np.arange(n) / n
    c = np.fft.fft(f(x + r * np.exp(1j * theta))) / n
    return float((c[k] / r ** k).real * np.prod(np.arange(1, k + 1, dtype=float)))


def bench_orders():
    rows, times = [], {}
    for k in ORDERS:
        taylor, nested = taylor_derivative(k), nested_derivative(k)
        want = cauchy_derivative(composite, X_TAYLOR, k)
        check(f"Taylor derivative of order {k}", taylor(), want, rtol=1e-10, atol=0)
        check(f"nested derivative of order {k}", nested(), want, rtol=1e-10, atol=0)
        if k >= 3:
            check(f"derivative(order={k})", ad.derivative(composite, X_TAYLOR, order=k), want,
                  rtol=1e-10, atol=0)
        samples = measure({"taylor": taylor, "nested": nested}, REPEATS, MIN_TIME)
        times[k] = (samples.time("taylor"), samples.time("nested"))
        rows.append([str(k), fmt_time(times[k][0]), fmt_time(times[k][1]),
                     fmt_ratio(samples.ratio("nested", "taylor"))])
    k0 = min(ORDERS)
    for row, k in zip(rows, ORDERS):
        row.insert(2, fmt_ratio(times[k][0] / times[k0][0]))
        row.append(fmt_ratio(times[k][1] / times[k0][1]))
    print(f"(b) derivative(f, x, order=k) of exp(sin(x))/(1+x²) at x = {X_TAYLOR}: Taylor mode "
          "vs k nested duals")
    print()
    print_table(["k", "Taylor", f"Taylor t(k)/t({k0})", "nested duals",
                 "nested / Taylor", f"nested t(k)/t({k0})"], rows)
    return times


def main():
    print("dualad second-order benchmarks" + (" (--quick: numbers are not meaningful)"
                                              if QUICK else ""))
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"dualad {ad.__version__}"]
    if "jax" in PEERS:
        versions.append(f"jax {PEERS['jax'][0].__version__}")
    if "torch" in PEERS:
        versions.append(f"torch {PEERS['torch'][0].__version__}")
    print(", ".join(versions) + f"; pinned to core {CORE}, one thread; "
          f"{REPEATS} interleaved repeats of >= {MIN_TIME:g} s, medians")
    for note in PEER_NOTES:
        print(note)
    print()
    ratios = bench_hessians()
    print()
    times = bench_orders()
    print()
    print("correctness: ok (every Hessian against its closed form and the other contenders, "
          "every derivative against the Cauchy integral formula)")
    if not QUICK:
        print()
        for n in SIZES:
            r = ratios.get((PROBLEMS[0], n, "nested"))
            print(f"nested / HyperDual, chained Rosenbrock, n = {n}: {fmt_ratio(r)}")
        kmax = max(ORDERS)
        print(f"order {kmax}: Taylor {fmt_time(times[kmax][0])}, nested duals "
              f"{fmt_time(times[kmax][1])}")


if __name__ == "__main__":
    try:
        main()
    except CorrectnessError as err:
        print(f"correctness: FAILED: {err}")
        sys.exit(1)
