"""Stress: the helpers give the same bits from 8 threads at once, and in worker processes
(fork and spawn), as from one thread.

Problem sizes take every route: large float64 arrays (numba's fused per-rule kernels for a
jvp of 20,000 elements; deferred chains compiled into one pass for jvp, gradient and
jacobian with 2**16 or more elements times directions), small ones (Rosenbrock gradient and
HyperDual Hessian, with and without product terms; a nested-duals Hessian; Taylor mode for
``derivative(order=8)`` at a float and at a 0-d array). The threads start cold (caches
cleared: calibration, the one-off timings of ``accel.fused.pays`` and
``shared_pass``, compiles and first rule-by-rule runs of chains all happen concurrently) and
each runs every job several times, in an order of its own.

Results are compared bit for bit: shape, dtype, ``np.array_equal(..., equal_nan=True)`` and
the sign of every zero.
"""
import concurrent.futures
import multiprocessing
import sys
import threading

import numpy as np
import pytest

import dualad as ad

pytestmark = pytest.mark.stress

THREADS = 8
ITERATIONS = 3
TIMEOUT = 120  # seconds: a thread or worker still running then is taken for a deadlock

# --- the problems (module level: they pickle by reference for the worker processes) -------
_T = np.linspace(-3.0, 3.0, 20_000)
_X_FUSED = np.linspace(-2.0, 2.0, 20_000)  # jvp, one direction: per-rule fused kernels
_X_CHAIN = np.linspace(-2.0, 2.0, 1 << 17)  # jvp, one direction: a deferred chain pass
_P = np.array([0.7, -0.2, 1.3, 0.5])  # gradient: 20,000 elements x 4 directions
_Q = np.linspace(0.5, 1.5, 8)  # jacobian: 8 x 4,000 elements x 8 directions


def elementwise(x):
    return np.sin(x) * np.exp(-x * x) + np.sqrt(1 + x * x)


def big_scalar(p):
    return np.sum(elementwise(p[0] * _T + p[1]) * p[2] + p[3])


def big_vector(p):
    return elementwise(p[:, None] * _T[None, :4000])


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def taylor_f(x):
    return np.exp(np.sin(x)) / (1 + x * x)


def _rosen_x(n):
    return np.linspace(-1.2, 1.5, n)


def _jvp_fused():
    return ad.jvp(elementwise, _X_FUSED, np.cos(_X_FUSED))


def _jvp_chain():
    return ad.jvp(elementwise, _X_CHAIN, np.cos(_X_CHAIN))


def _gradient_big():
    return ad.gradient(big_scalar, _P)


def _jacobian_big():
    return ad.jacobian(big_vector, _Q)


def _gradient_rosen(n):
    return ad.gradient(rosenbrock, _rosen_x(n))


def _hessian_rosen(n):
    return ad.hessian(rosenbrock, _rosen_x(n))


def _hessian_nested():
    return ad.hessian(rosenbrock, _rosen_x(12), method="nested")


def _derivative8_float():
    return ad.derivative(taylor_f, 0.3, order=8)


def _derivative8_0d():
    return ad.derivative(taylor_f, np.array(-0.7), order=8)


JOBS = {
    "jvp fused 20k": (_jvp_fused, ()),
    "jvp chain 128k": (_jvp_chain, ()),
    "gradient 20k x 4": (_gradient_big, ()),
    "jacobian 32k x 8": (_jacobian_big, ()),
    **{f"gradient rosenbrock {n}": (_gradient_rosen, (n,)) for n in (10, 20, 50)},
    **{f"hessian rosenbrock {n}": (_hessian_rosen, (n,)) for n in (10, 20, 50)},
    "hessian nested": (_hessian_nested, ()),
    "derivative 8 float": (_derivative8_float, ()),
    "derivative 8 0-d": (_derivative8_0d, ()),
}
NAMES = list(JOBS)


def run_job(name):
    f, args = JOBS[name]
    return f(*args)


def run_all(iterations=1):
    """Every job ``iterations`` times, in a rotated order per iteration: ``{name: [result,
    ...]}`` (module level, for the worker processes)."""
    out = {name: [] for name in NAMES}
    for it in range(iterations):
        for name in NAMES[it:] + NAMES[:it]:
            out[name].append(run_job(name))
    return out


# --- bit-for-bit comparison ---------------------------------------------------------------
def _arrays(result):
    return list(result) if isinstance(result, tuple) else [result]


def _differences(name, got, want):
    """What differs between two results of job ``name`` (empty: the same bits)."""
    got, want = _arrays(got), _arrays(want)
    if len(got) != len(want):
        return [f"{name}: {len(got)} parts, expected {len(want)}"]
    out = []
    for k, (g, w) in enumerate(zip(got, want)):
        if type(g) is not type(w):
            out.append(f"{name}[{k}]: type {type(g).__name__}, expected {type(w).__name__}")
            continue
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape or g.dtype != w.dtype:
            out.append(f"{name}[{k}]: {g.dtype}{g.shape}, expected {w.dtype}{w.shape}")
        elif not np.array_equal(g, w, equal_nan=True):
            bad = ~((g == w) | (np.isnan(g) & np.isnan(w)))
            out.append(f"{name}[{k}]: {int(bad.sum())} of {g.size} entries differ, largest by "
                       f"{np.nanmax(np.abs(g[bad] - w[bad]))!r}")
        elif not np.array_equal(np.signbit(g), np.signbit(w)):
            out.append(f"{name}[{k}]: signs of zeros differ")
    return out


def _compare(results, reference, where):
    """``results``: ``{name: [result, ...]}``; every result equal to ``reference[name]``."""
    problems = []
    for name, want in reference.items():
        for i, got in enumerate(results[name]):
            problems += [f"{where}, run {i}: {p}" for p in _differences(name, got, want)]
    assert not problems, "results differ from the single-threaded ones:\n" + \
        "\n".join(problems[:20])


@pytest.fixture(scope="module")
def reference():
    """The single-threaded results, computed cold (every cache empty) and checked against a
    warm second run."""
    ad.config.clear_caches()
    cold = run_all()  # the first run of a deferred chain goes rule by rule ...
    warm = run_all()  # ... the second runs its compiled pass
    ref = {name: cold[name][0] for name in NAMES}
    _compare(warm, ref, "single thread, warm")
    return ref


def test_results_are_finite_and_plausible(reference):
    # (a sanity check that the problems compute what they claim)
    n = 20
    x = _rosen_x(n)
    H = reference[f"hessian rosenbrock {n}"]
    assert H.shape == (n, n) and np.array_equal(H, H.T)
    np.testing.assert_allclose(reference["hessian nested"], ad.hessian(rosenbrock, _rosen_x(12)),
                               rtol=1e-12)
    g = reference[f"gradient rosenbrock {n}"]
    np.testing.assert_allclose(g[0], -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]))
    value, tangent = reference["jvp fused 20k"]
    assert value.shape == tangent.shape == (20_000,)
    assert reference["gradient 20k x 4"].shape == (4,)
    assert reference["jacobian 32k x 8"].shape == (8, 4000, 8)
    for name in NAMES:
        for part in _arrays(reference[name]):
            assert np.all(np.isfinite(part)), name


# --- threads ------------------------------------------------------------------------------
def test_eight_threads_at_once_give_the_single_threaded_bits(reference):
    ad.config.clear_caches()  # cold: calibrations, timings and compiles race too
    barrier = threading.Barrier(THREADS, timeout=TIMEOUT)
    results = [None] * THREADS
    errors = []

    def work(k):
        try:
            barrier.wait()
            out = {name: [] for name in NAMES}
            for it in range(ITERATIONS):
                # an order of its own per thread and iteration: different jobs overlap
                start = (k * 5 + it) % len(NAMES)
                for name in NAMES[start:] + NAMES[:start]:
                    out[name].append(run_job(name))
            results[k] = out
        except BaseException as err:  # noqa: BLE001  (reported below)
            errors.append((k, err))
            barrier.abort()

    threads = [threading.Thread(target=work, args=(k,), daemon=True, name=f"stress-{k}")
               for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    hung = [t.name for t in threads if t.is_alive()]
    assert not hung, f"threads still running after {TIMEOUT} s (a deadlock?): {hung}"
    if errors:
        k, err = errors[0]
        raise AssertionError(f"thread {k} raised {type(err).__name__}: {err}") from err
    for k, out in enumerate(results):
        _compare(out, reference, f"thread {k}")


# --- processes ----------------------------------------------------------------------------
@pytest.mark.parametrize("method", [
    pytest.param("fork", marks=pytest.mark.skipif(sys.platform == "win32",
                                                  reason="no fork on Windows")),
    "spawn"])
def test_worker_processes_give_the_parents_bits(reference, method):
    ctx = multiprocessing.get_context(method)
    # a spawned worker imports dualad and compiles its kernels anew (seconds): one run each
    iterations = 1 if method == "spawn" else 2
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        futures = [pool.submit(run_all, iterations) for _ in range(2)]
        try:
            outs = [f.result(timeout=TIMEOUT) for f in futures]
        except concurrent.futures.TimeoutError:
            for p in list(getattr(pool, "_processes", {}).values()):
                p.kill()
            raise AssertionError(f"a {method} worker did not finish in {TIMEOUT} s")
    for i, out in enumerate(outs):
        _compare(out, reference, f"{method} worker task {i}")
