"""dualad sparse benchmarks: Jacobians and Hessians from colourings, side by side in one run.

    python benchmarks/sparse.py            # full run (a few minutes)
    python benchmarks/sparse.py --quick    # smoke run: small n, few short repeats

(a) the Jacobian of the 1-D Brusselator (Hairer & Wanner II, IV.1: u, v on N interior points,
    u(0) = u(1) = 1, v(0) = v(1) = 3, α = 1/50; n = 2N unknowns, 4 nonzeros per row) at
    n = 500, 10⁴, 10⁵, with
      - dualad, prepared:      ``J = ad.SparseJacobian(f, x)`` once, then ``J(x)`` (pattern,
                               colouring and seed reused; the baseline of the ratios),
      - the same of ``ad.jit(f)`` (the compressed pass a compiled replay: no per-operation
                               dispatch),
      - dualad, ``sparse=True``: ``ad.jacobian(f, x, sparse=True)`` (detection, colouring and
                               the compressed pass, every call),
      - detection alone (``ad.jacobian_sparsity``) and colouring alone
        (``ad.SparseJacobian(f, x, pattern)``: colouring, seed and recovery index),
      - dualad, dense:         ``ad.jacobian(f, x)`` (n directions; up to n = 10⁴),
      - ``jax.jit(jax.jacfwd(f))`` (dense; up to n = 10⁴, where its n x n result takes 0.8 GB),
      - ``sparsejac.jacfwd`` and ``asdex.jacobian`` under ``jax.jit``, when importable
        (neither is a dependency of anything here).
    The exponent a of time ∝ n^a is fitted to the prepared calls (least squares in log-log).
(b) the Hessians of the chained Rosenbrock function and of x·Ax/2 + Σ sin(x) with a banded
    symmetric A (half-width 5, written with slices: a dense n x n A would not fit at 10⁴) at
    n = 200 and 10⁴: ``ad.SparseHessian`` prepared (the baseline), the same of ``ad.jit(f)``,
    ``ad.hessian(f, x,
    sparse=True)``, the dense ``ad.hessian`` (n = 200), ``jax.jit(jax.hessian)`` (reverse over
    forward; up to 10⁴) and ``jax.jit(jax.jacfwd(jax.jacfwd))`` (n = 200: its cost grows
    like n³).
A ratio is the contender's time divided by the prepared dualad object's: above 1, the prepared
sparse dualad call is faster.

Method: pinned to one core, every thread pool at one thread (set before numpy and jax are
imported); each contender gets a loop count so that one repeat lasts at least ``--min-time``
seconds, the repeats of one row are interleaved, times are medians over repeats and ratios
medians of the ratios within each repeat. Every result is checked against the hand-written
derivative (and the contenders against each other) before anything is timed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy or jax: importing the harness sets every thread pool to one thread
from _harness import (CorrectnessError, check as _check, fmt_ratio, fmt_time,  # noqa: E402
                      load_average, load_peers, measure, print_table, setup)

ARGS = setup(__doc__, "quick", "core", "repeats", "min-time", "no-peers",  # and pins one core
             quick="smoke run: small n, few short repeats (numbers not meaningful)",
             no_peers="do not import JAX, sparsejac or asdex even when installed")

import platform  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse as sp  # noqa: E402

import dualad as ad  # noqa: E402

CORE = ARGS.core
QUICK = ARGS.quick
REPEATS = ARGS.repeats or (3 if QUICK else 7)
MIN_TIME = ARGS.min_time or (0.002 if QUICK else 0.2)
JAC_SIZES = (100, 400) if QUICK else (500, 10_000, 100_000)
HESS_SIZES = (50, 400) if QUICK else (200, 10_000)
DENSE_MAX = 10_000       # dense n x n results: 0.8 GB at 10⁴, 80 GB at 10⁵
JACFWD2_MAX = 2_000      # jacfwd(jacfwd) of a scalar costs n³
ALPHA, BAND = 1.0 / 50.0, 5


# --- optional peers ------------------------------------------------------------------------
def _load_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


def _load_sparsejac():
    import sparsejac
    return sparsejac


def _load_asdex():
    import asdex
    return asdex


PEERS, PEER_NOTES = load_peers({"jax": (_load_jax, 'pip install "dualad[bench]"'),
                                "sparsejac": (_load_sparsejac, "not a dependency; optional"),
                                "asdex": (_load_asdex, "not a dependency; optional")},
                               ARGS.no_peers)


def check(name, got, want, rtol=1e-12, atol=1e-12):
    """The harness's check on dense arrays or sparse matrices (compared entry by entry),
    ``atol`` relative to the largest entry of ``want``."""
    if sp.issparse(got) or sp.issparse(want):
        got, want = sp.csr_array(got), sp.csr_array(want)
        scale = 1.0 + (abs(want).max() if want.nnz else 0.0)
        diff = abs(got - want)
        err = diff.max() if diff.nnz else 0.0
        if got.shape != want.shape or err > atol * scale + rtol * scale:
            raise CorrectnessError(f"{name}: result differs from the reference (max error "
                                   f"{err})")
        return
    want = np.asarray(want, dtype=np.float64)
    scale = 1.0 + np.max(np.abs(want)) if want.size else 1.0
    _check(name, got, want, rtol, atol * scale, reference="the reference")


def to_scipy(result):
    """A peer's sparse result (jax BCOO, scipy, dense) as a scipy CSR array."""
    if sp.issparse(result):
        return sp.csr_array(result)
    if hasattr(result, "indices") and hasattr(result, "data") and hasattr(result, "shape"):
        idx = np.asarray(result.indices)  # BCOO: (nnz, 2) coordinates
        return sp.csr_array(sp.coo_array((np.asarray(result.data), (idx[:, 0], idx[:, 1])),
                                         shape=result.shape))
    return sp.csr_array(np.asarray(result))


# --- (a) the 1-D Brusselator Jacobian ------------------------------------------------------
def brusselator(y, lib=np):
    """u' = 1 + u²v - 4u + c Δu, v' = 3u - u²v + c Δv; y = [u, v], c = α (N + 1)²."""
    N = y.shape[0] // 2
    u, v = y[:N], y[N:]
    c = ALPHA * (N + 1) ** 2
    up = lib.concatenate([lib.ones(1), u, lib.ones(1)])
    vp = lib.concatenate([3.0 * lib.ones(1), v, 3.0 * lib.ones(1)])
    uuv = u * u * v
    du = 1.0 + uuv - 4.0 * u + c * (up[:-2] - 2.0 * u + up[2:])
    dv = 3.0 * u - uuv + c * (vp[:-2] - 2.0 * v + vp[2:])
    return lib.concatenate([du, dv])


def brusselator_jacobian(y):
    """The Jacobian by hand: reaction terms plus c times the second-difference matrix."""
    N = y.size // 2
    u, v = y[:N], y[N:]
    c = ALPHA * (N + 1) ** 2
    lap = c * sp.diags_array([np.ones(N - 1), -2.0 * np.ones(N), np.ones(N - 1)],
                             offsets=[-1, 0, 1])
    d = sp.diags_array
    return sp.block_array([[d(2 * u * v - 4.0) + lap, d(u * u)],
                           [d(3.0 - 2 * u * v), d(-u * u) + lap]], format="csr")


JAC_COLUMNS = (("jit", "prepared, ad.jit(f)"), ("sparse_true", "sparse=True"), ("dense", "dense ad.jacobian"),
               ("jax", "jax.jit(jacfwd)"), ("sparsejac", "sparsejac"), ("asdex", "asdex"))


def jacobian_contenders(n):
    x = np.random.default_rng(n).uniform(0.5, 3.0, n)
    want = brusselator_jacobian(x)
    J = ad.SparseJacobian(brusselator, x)
    check(f"prepared SparseJacobian, n={n}", J(x), want)
    check(f"prepared SparseJacobian at another x, n={n}", J(x[::-1].copy()),
          brusselator_jacobian(x[::-1].copy()))
    check(f"jacobian(sparse=True), n={n}", ad.jacobian(brusselator, x, sparse=True), want)
    pattern = ad.jacobian_sparsity(brusselator, x)
    if pattern.nnz != want.nnz or (pattern != (want != 0)).nnz:
        raise CorrectnessError(f"detected pattern, n={n}: not the Brusselator's 4 per row")
    Jj = ad.SparseJacobian(ad.jit(brusselator), x)
    for _ in range(6):  # the record, then replays until the compiled one is in place
        check(f"prepared SparseJacobian of ad.jit(f), n={n}", Jj(x), want)
    contenders = {"prepared": lambda: J(x), "jit": lambda: Jj(x),
                  "sparse_true": lambda: ad.jacobian(brusselator, x, sparse=True),
                  "detect": lambda: ad.jacobian_sparsity(brusselator, x),
                  "color": lambda: ad.SparseJacobian(brusselator, x, pattern)}
    notes = {}
    if n <= DENSE_MAX:
        check(f"dense jacobian, n={n}", ad.jacobian(brusselator, x), want.toarray())
        contenders["dense"] = lambda: ad.jacobian(brusselator, x)
    if "jax" in PEERS:
        jax, jnp = PEERS["jax"]
        xj = jax.device_put(x)
        fj = lambda y: brusselator(y, jnp)  # noqa: E731
        if n <= DENSE_MAX:
            jac = jax.jit(jax.jacfwd(fj))
            check(f"jax.jit(jacfwd), n={n}", np.asarray(jac(xj)), want.toarray())
            contenders["jax"] = lambda: jax.block_until_ready(jac(xj))
        for name, make in (("sparsejac", _sparsejac), ("asdex", _asdex)):
            if name in PEERS:
                try:
                    fn = make(PEERS[name], jax, fj, xj, pattern)
                    check(f"{name}, n={n}", to_scipy(fn()), want)
                    contenders[name] = fn
                except CorrectnessError:
                    raise
                except Exception as err:  # an API this script does not know: say so, skip
                    notes[name] = f"{type(err).__name__}: {err}"
    return J, contenders, notes


def _sparsejac(sparsejac, jax, fj, xj, pattern):
    from jax.experimental.sparse import BCOO
    sparsity = BCOO.from_scipy_sparse(sp.coo_array(pattern.astype(np.float64)))
    jac = jax.jit(sparsejac.jacfwd(fj, sparsity=sparsity))
    return lambda: jax.block_until_ready(jac(xj))


def _asdex(asdex, jax, fj, xj, pattern):
    jac = jax.jit(asdex.jacobian(fj, xj))  # detection and colouring happen here, once
    return lambda: jax.block_until_ready(jac(xj))


def bench_jacobians():
    header = ["n", "colors", "prepared J(x)", "detection", "coloring"] + \
        [f"{label} (×)" for _, label in JAC_COLUMNS]
    rows, times, notes = [], {}, {}
    for n in JAC_SIZES:
        J, contenders, row_notes = jacobian_contenders(n)
        notes.update(row_notes)
        samples = measure(contenders, REPEATS, MIN_TIME)
        times[n] = {k: samples.time(k) for k in samples}
        times[n].update({f"{k}/prepared": samples.ratio(k, "prepared") for k in samples})
        times[n].update({f"{k}/jit": samples.ratio(k, "jit") for k in samples})
        row = [str(n), str(J.n_colors), fmt_time(samples.time("prepared")),
               fmt_time(samples.time("detect")), fmt_time(samples.time("color"))]
        for key, _ in JAC_COLUMNS:
            if key in samples:
                row.append(f"{fmt_time(samples.time(key))} "
                           f"({fmt_ratio(samples.ratio(key, 'prepared'))})")
            else:
                row.append("skipped")
        rows.append(row)
    print("(a) Jacobian of the 1-D Brusselator: time per call; in parentheses the ratio to the "
          "prepared call (above 1: prepared dualad is faster)")
    print()
    print_table(header, rows)
    for name, note in notes.items():
        print(f"note: {name} skipped: {note}")
    ns = np.array(JAC_SIZES, dtype=float)
    for key, label in (("prepared", "prepared J(x)"), ("jit", "prepared, ad.jit(f)"),
                       ("sparse_true", "sparse=True"), ("detect", "detection")):
        ts = [times[n][key] for n in JAC_SIZES]
        slope = np.polyfit(np.log(ns), np.log(ts), 1)[0]
        # a fixed cost per call flattens the fit at small n: the two largest sizes alone
        last = np.log(ts[-1] / ts[-2]) / np.log(ns[-1] / ns[-2])
        times[f"exponent {key}"], times[f"last exponent {key}"] = slope, last
        print(f"{label}: time ∝ n^{slope:.2f} (fit over n = "
              f"{', '.join(str(n) for n in JAC_SIZES)}); n^{last:.2f} from n = "
              f"{JAC_SIZES[-2]} to {JAC_SIZES[-1]}")
    return times


# --- (b) Hessians -----------------------------------------------------------------------------
def rosenbrock(x, lib=np):
    return lib.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    a, b = x[:-1], x[1:]
    main = np.zeros(x.size)
    main[:-1] += 1200.0 * a * a - 400.0 * b + 2.0
    main[1:] += 200.0
    return sp.diags_array([-400.0 * a, main, -400.0 * a], offsets=[-1, 0, 1], format="csr")


def band(n):
    """The diagonals d[k] (k = 0..BAND) of a symmetric band matrix A, A[i, i+k] = d[k][i]."""
    rng = np.random.default_rng(7 + n)
    return [rng.uniform(-1.0, 1.0, n - k) + (2.0 * BAND + 2.0 if k == 0 else 0.0)
            for k in range(BAND + 1)]


def quad_sin(d, lib=np):
    """x·Ax/2 + Σ sin(x), the band written with slices."""
    def f(x):
        quad = lib.sum(d[0] * x * x) / 2.0
        for k in range(1, BAND + 1):
            quad = quad + lib.sum(d[k] * x[:-k] * x[k:])
        return quad + lib.sum(lib.sin(x))
    return f


def quad_sin_hessian(d, x):
    offsets = [0] + [s * k for k in range(1, BAND + 1) for s in (1, -1)]
    diags = [d[0] - np.sin(x)] + [d[k] for k in range(1, BAND + 1) for _ in (1, -1)]
    return sp.diags_array(diags, offsets=offsets, format="csr")


PROBLEMS = ("chained Rosenbrock", "x·Ax/2 + Σ sin(x), band 5")
HESS_COLUMNS = (("jit", "prepared, ad.jit(f)"), ("sparse_true", "sparse=True"), ("dense", "dense ad.hessian"),
                ("jax_hessian", "jax.jit(jax.hessian)"),
                ("jax_jacfwd2", "jax.jit(jacfwd(jacfwd))"))


def hessian_contenders(problem, n):
    x = np.random.default_rng(n).uniform(-1.5, 1.5, n)
    if problem == PROBLEMS[0]:
        f, want = rosenbrock, rosenbrock_hessian(x)
        f_lib = lambda lib: (lambda v: rosenbrock(v, lib))  # noqa: E731
    else:
        d = band(n)
        f, want = quad_sin(d), quad_sin_hessian(d, x)
        f_lib = lambda lib: quad_sin(d, lib)  # noqa: E731
    H = ad.SparseHessian(f, x)
    check(f"prepared SparseHessian, {problem}, n={n}", H(x), want, rtol=1e-10, atol=1e-10)
    check(f"hessian(sparse=True), {problem}, n={n}", ad.hessian(f, x, sparse=True), want,
          rtol=1e-10, atol=1e-10)
    Hj = ad.SparseHessian(ad.jit(f), x)
    for _ in range(6):  # the record, then replays until the compiled one is in place
        check(f"prepared SparseHessian of ad.jit(f), {problem}, n={n}", Hj(x), want,
              rtol=1e-10, atol=1e-10)
    contenders = {"prepared": lambda: H(x), "jit": lambda: Hj(x),
                  "sparse_true": lambda: ad.hessian(f, x, sparse=True)}
    if n <= JACFWD2_MAX:
        check(f"dense hessian, {problem}, n={n}", ad.hessian(f, x), want.toarray(),
              rtol=1e-10, atol=1e-10)
        contenders["dense"] = lambda: ad.hessian(f, x)
    if "jax" in PEERS:
        jax, jnp = PEERS["jax"]
        xj = jax.device_put(x)
        fj = f_lib(jnp)
        kinds = [("jax_hessian", jax.hessian)] if n <= DENSE_MAX else []
        if n <= JACFWD2_MAX:
            kinds.append(("jax_jacfwd2", lambda g: jax.jacfwd(jax.jacfwd(g))))
        for name, transform in kinds:
            compiled = jax.jit(transform(fj))
            check(f"{name}, {problem}, n={n}", np.asarray(compiled(xj)), want.toarray(),
                  rtol=1e-10, atol=1e-10)
            contenders[name] = (lambda c: lambda: jax.block_until_ready(c(xj)))(compiled)
    return H, contenders


def bench_hessians():
    header = ["problem", "n", "colors", "prepared H(x)"] + \
        [f"{label} (×)" for _, label in HESS_COLUMNS]
    rows, ratios = [], {}
    for problem in PROBLEMS:
        for n in HESS_SIZES:
            H, contenders = hessian_contenders(problem, n)
            samples = measure(contenders, REPEATS, MIN_TIME)
            ratios[(problem, n, "prepared")] = samples.time("prepared")
            row = [problem, str(n), str(H.n_colors), fmt_time(samples.time("prepared"))]
            for key, _ in HESS_COLUMNS:
                if key in samples:
                    r = samples.ratio(key, "prepared")
                    ratios[(problem, n, key)] = r
                    ratios[(problem, n, key, "jit")] = samples.ratio(key, "jit")
                    row.append(f"{fmt_time(samples.time(key))} ({fmt_ratio(r)})")
                else:
                    row.append("skipped")
            rows.append(row)
    print("(b) Hessian: time per call; in parentheses the ratio to the prepared "
          "ad.SparseHessian (above 1: prepared dualad is faster)")
    print()
    print_table(header, rows)
    return ratios


def _version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return "?"


def main():
    mode = "QUICK smoke run: the numbers are not meaningful" if QUICK else "full run"
    versions = [f"python {platform.python_version()}", f"numpy {np.__version__}",
                f"scipy {scipy.__version__}", f"dualad {ad.__version__}"]
    versions += [f"{name} {_version(name)}" for name in ("jax", "sparsejac", "asdex")
                 if name in PEERS]
    print(f"dualad sparse benchmarks ({mode})")
    print(f"{', '.join(versions)}; {platform.machine()}")
    print(f"pinned to core {CORE}, 1 thread; {REPEATS} interleaved repeats of at least "
          f"{MIN_TIME:g} s each, medians; load average {load_average()}")
    for note in PEER_NOTES:
        print(f"note: {note}")
    print()
    try:
        times = bench_jacobians()
        print()
        ratios = bench_hessians()
    except CorrectnessError as err:
        print(f"correctness check FAILED, no timings reported: {err}", file=sys.stderr)
        return 1
    print()
    print("correctness: ok (every Jacobian and Hessian against the hand-written one, the "
          "detected patterns against the known structure)")
    if not QUICK and "jax" in PEERS:
        n0 = JAC_SIZES[0]
        print(f"Brusselator n = {n0}: jax.jit(jacfwd) / prepared = "
              f"{fmt_ratio(times[n0]['jax/prepared'])}; prepared time ∝ "
              f"n^{times['exponent prepared']:.2f} (n^{times['last exponent prepared']:.2f} "
              f"between the two largest n)")
        print(f"Brusselator n = {n0}: jax.jit(jacfwd) / prepared ad.jit(f) = "
              f"{fmt_ratio(times[n0]['jax/jit'])}; prepared ad.jit(f) time ∝ "
              f"n^{times['exponent jit']:.2f} (n^{times['last exponent jit']:.2f} between "
              "the two largest n)")
        r = ratios.get((PROBLEMS[0], HESS_SIZES[0], "jax_hessian"))
        if r is not None:
            print(f"chained Rosenbrock n = {HESS_SIZES[0]}: jax.jit(jax.hessian) / prepared = "
                  f"{fmt_ratio(r)}, / prepared ad.jit(f) = "
                  f"{fmt_ratio(ratios[(PROBLEMS[0], HESS_SIZES[0], 'jax_hessian', 'jit')])}; "
                  f"n = {HESS_SIZES[-1]}: prepared "
                  f"{fmt_time(ratios[(PROBLEMS[0], HESS_SIZES[-1], 'prepared')])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
