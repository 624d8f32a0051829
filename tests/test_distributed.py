"""executor=: Jacobians and Hessians computed as tasks of a Dask LocalCluster, a process pool
and a thread pool, compared bit for bit with the local helpers (the oracle: the same chunks
computed in this process), and against closed forms; errors naming the chunk, unpicklable
functions named, a killed worker costing a retry, nothing left running after an error.

Marked ``distributed`` (run by default; ``-m "not distributed"`` deselects them).
"""
import concurrent.futures as cf
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

import dualad as ad

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
scipy = pytest.importorskip("scipy")

pytestmark = pytest.mark.distributed

# the workers unpickle this module's functions by value: they cannot import a test module
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    import dask
    environ = dict(os.environ)  # (Dask's nanny sets its workers' variables here too)
    # (Dask's default MALLOC_TRIM_THRESHOLD_ slows dualad's passes down: warm_up warns)
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=":0") as cluster:
            with distributed.Client(cluster) as c:
                yield c
    os.environ.clear()
    os.environ.update(environ)


@pytest.fixture(scope="module")
def process_pool():
    # (spawn: the Dask client's threads run in this process, and forking them is unsafe)
    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


@pytest.fixture(scope="module")
def thread_pool():
    with cf.ThreadPoolExecutor(2) as pool:
        yield pool


@pytest.fixture(params=["dask", "process", "thread"])
def executor(request):
    if request.param == "dask":
        return request.getfixturevalue("client").get_executor()
    return request.getfixturevalue(f"{request.param}_pool")


def elementwise(x):
    return np.sin(x) * np.exp(-x * x) + x[::-1] * x + np.tanh(np.cumsum(x))


def with_blas(x):
    m = x.reshape(3, 4)
    return np.tanh(m @ m.T).ravel() @ np.ones(9) * m + np.linalg.norm(x)


def scalar(x):
    m = x.reshape(3, 4)
    return np.sum(np.tanh(m @ m.T)) + np.sum(np.sin(x) * x[::-1]) + np.prod(x[:3]) ** 2


def writes_in_place(x):  # (HyperDual refuses it: the Hessian takes nested duals)
    y = x * 1.0
    y[0] = y[0] * y[1]
    return np.sum(y ** 3) + np.sum(np.exp(y))


X = np.linspace(-1.0, 2.0, 12)


# --- results bit for bit ---------------------------------------------------------------------
# chunk_size=None on an executor: about config.EXECUTOR_TASKS (16) tasks, here 12 chunks of 1
# direction for the Jacobian, 6 blocks of 2 (21 passes) for the Hessian
@pytest.mark.parametrize("chunk", [None, 1, 5, 12])
def test_jacobian_is_the_local_one(executor, chunk):
    for f in (elementwise, with_blas):
        local = ad.jacobian(f, X, chunk_size=1 if chunk is None else chunk)
        there = ad.jacobian(f, X, chunk_size=chunk, executor=executor)
        assert there.shape == local.shape and there.dtype == local.dtype
        assert np.array_equal(there, local), (f.__name__, chunk)
    # without a product of matrices, the chunk size does not change a bit
    assert np.array_equal(ad.jacobian(elementwise, X, chunk_size=chunk, executor=executor),
                          ad.jacobian(elementwise, X))


def test_jacobian_against_closed_form(executor):
    x = np.linspace(0.5, 2.0, 7)
    expected = np.diag(np.cos(x) * x[::-1]) + np.fliplr(np.diag(np.sin(x)))
    got = ad.jacobian(lambda v: np.sin(v) * v[::-1], x, chunk_size=2, executor=executor)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_jacobian_over_arguments_and_trees(executor):
    params = {"w": np.arange(1.0, 5.0).reshape(2, 2), "b": np.array([0.5, -1.0])}

    def model(p, v):
        return np.tanh(p["w"] @ v + p["b"])
    v = np.array([0.3, -0.7])
    local = ad.jacobian(model, params, v, chunk_size=2)
    there = ad.jacobian(model, params, v, chunk_size=2, executor=executor)
    assert np.array_equal(there["w"], local["w"]) and np.array_equal(there["b"], local["b"])
    local = ad.jacobian(model, params, v, argnums=1)
    assert np.array_equal(ad.jacobian(model, params, v, argnums=1, executor=executor), local)


@pytest.mark.parametrize("chunk", [None, 1, 5, 12])
def test_hessian_is_the_local_one(executor, chunk):
    local = ad.value_grad_hessian(scalar, X, chunk_size=2 if chunk is None else chunk)
    there = ad.value_grad_hessian(scalar, X, chunk_size=chunk, executor=executor)
    assert there[0] == local[0]
    assert np.array_equal(there[1], local[1]) and np.array_equal(there[2], local[2])
    assert np.array_equal(there[2], there[2].T)


def test_hessian_against_closed_form(client):
    x = np.array([0.3, -1.2, 2.0, 0.7, 1.1])
    # f = Σ x_i³ + x_0 x_4: H = diag(6 x) + e_0 e_4ᵀ + e_4 e_0ᵀ
    expected = np.diag(6 * x)
    expected[0, 4] = expected[4, 0] = 1.0
    got = ad.hessian(lambda v: np.sum(v ** 3) + v[0] * v[4], x, chunk_size=2, executor=client)
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_hessian_of_a_function_that_hyperdual_refuses(executor):
    local = ad.hessian(writes_in_place, X[:6], chunk_size=2)
    assert np.array_equal(ad.hessian(writes_in_place, X[:6], chunk_size=2, executor=executor),
                          local)


def brusselator(u):
    n = u.size // 2
    a, b = u[:n], u[n:]
    lap = lambda w: np.concatenate([[w[1] - 2 * w[0]], w[:-2] - 2 * w[1:-1] + w[2:],  # noqa: E731
                                    [w[-2] - 2 * w[-1]]])
    return np.concatenate([1 + a * a * b - 4 * a + lap(a), 3 * a - a * a * b + lap(b)])


@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_sparse_jacobian_is_the_local_one(executor, chunk):
    u = np.linspace(0.5, 1.5, 40)
    for pattern in (None, ad.jacobian_sparsity(brusselator, u)):  # (given: a probe direction)
        J = ad.SparseJacobian(brusselator, u, pattern, chunk_size=chunk)
        local, there = J(u), J(u, executor=executor)
        assert np.array_equal(there.indices, local.indices)
        assert np.array_equal(there.data, local.data)
    dense = ad.jacobian(brusselator, u)
    there = ad.jacobian(brusselator, u, sparse=True, chunk_size=chunk, executor=executor)
    assert np.array_equal(there.toarray(), dense)


@pytest.mark.parametrize("chunk", [1, 2])
def test_a_pattern_missing_a_nonzero_is_refused_in_chunks(executor, chunk):
    u = np.linspace(0.5, 1.5, 20)
    pattern = ad.jacobian_sparsity(brusselator, u).tolil()
    pattern[3, 4] = False  # (u_3 and u_4 meet in the Laplacian: a column outside its row)
    with pytest.raises(ValueError, match="outside the pattern"):
        ad.SparseJacobian(brusselator, u, pattern.tocsr(), chunk_size=chunk)(u, executor=executor)

    def g(x):  # the identity as pattern: one color, J[i, i-1] hidden behind J[i, i]
        return x * x + np.concatenate([[0.0], x[:-1]])
    with pytest.raises(ValueError, match="outside the pattern"):  # (the probe sees it)
        ad.jacobian(g, u, sparse=np.eye(20, dtype=bool), chunk_size=chunk, executor=executor)


def sums_meet(x):  # (an array not yet summed meets a sum: the sparse Hessian's dense route)
    return np.sum(x[1:] * x[:-1] * np.sum(x)) + np.sum(np.cos(x))


def test_sparse_hessian_dense_route_is_the_local_one(executor, monkeypatch):
    monkeypatch.setattr(ad.config, "CHUNK_BUDGET_BYTES", 3000)  # blocks of 3: 10 passes
    x = np.linspace(-1.0, 1.0, 10)
    H = ad.SparseHessian(sums_meet, x)
    local = H(x)
    assert H._plan.fallback is not None  # (the route under test)
    there = H(x, executor=executor)
    assert np.array_equal(there.data, local.data) and np.array_equal(there.indices,
                                                                      local.indices)
    np.testing.assert_allclose(there.toarray(), ad.hessian(sums_meet, x), rtol=1e-13,
                               atol=1e-13)


def test_sparse_hessian_colored(client):
    rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)  # noqa: E731
    x = np.linspace(-1.0, 1.5, 30)
    local = ad.hessian(rosen, x, sparse=True)
    there = ad.hessian(rosen, x, sparse=True, executor=client)
    assert np.array_equal(there.data, local.data)


# --- errors ----------------------------------------------------------------------------------
def _fails_in_chunk_0(folder):
    def f(x):
        if isinstance(x, ad.DualNumber) and x.partials[0, 0] == 1.0:  # the first direction
            raise ZeroDivisionError("boom")
        name = os.path.join(folder, f"{os.getpid()}-{threading.get_ident()}-{time.time_ns()}")
        open(name + ".start", "w").close()
        time.sleep(0.3)
        open(name + ".end", "w").close()
        return np.sin(x)
    return f


def _count(folder, ext):
    return sum(1 for n in os.listdir(folder) if n.endswith(ext))


def test_an_error_in_a_task_is_raised_with_its_chunk_and_stops_the_rest(executor, tmp_path):
    f = _fails_in_chunk_0(str(tmp_path))
    t0 = time.perf_counter()
    with pytest.raises(ZeroDivisionError, match="boom") as info:
        ad.jacobian(f, np.ones(20), chunk_size=1, executor=executor)
    assert any("chunk 1 of 20 (directions 0 to 0 of 20)" in n for n in info.value.__notes__)
    # the other 19 tasks of 0.3 s each would take 3 s on two workers: cancelled instead
    assert time.perf_counter() - t0 < 2.5
    if isinstance(executor, cf.ThreadPoolExecutor | cf.ProcessPoolExecutor):
        assert _count(tmp_path, ".start") == _count(tmp_path, ".end")  # none runs on
    deadline = time.time() + 5
    while _count(tmp_path, ".start") != _count(tmp_path, ".end") and time.time() < deadline:
        time.sleep(0.05)  # (a Dask worker thread finishes the task it runs, result dropped)
    assert _count(tmp_path, ".start") == _count(tmp_path, ".end") < 19


def test_nothing_is_left_on_the_scheduler(client, tmp_path):
    with pytest.raises(ZeroDivisionError):
        ad.jacobian(_fails_in_chunk_0(str(tmp_path)), np.ones(8), chunk_size=1, executor=client)
    ad.jacobian(np.sin, np.ones(8), executor=client)
    deadline = time.time() + 10
    while time.time() < deadline:
        left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
        if left == 0:
            break
        time.sleep(0.1)
    assert left == 0, client.run_on_scheduler(lambda dask_scheduler: [  # (what, and for whom)
        (str(k), t.state, [str(w) for w in t.who_wants]) for k, t in dask_scheduler.tasks.items()])


def test_an_unpicklable_function_is_named(executor):
    lock = threading.Lock()

    def f(x):
        with lock:
            return np.sin(x)
    if isinstance(executor, cf.ThreadPoolExecutor):  # (threads pickle nothing)
        assert np.array_equal(ad.jacobian(f, X, executor=executor), ad.jacobian(f, X))
        return
    with pytest.raises(TypeError, match=r"cannot send f \(its closure variable 'lock', a "
                                        r"lock object, cannot be pickled\).*cloudpickle"):
        ad.jacobian(f, X, executor=executor)


def test_derivatives_of_an_enclosing_helper_are_refused(process_pool):
    with pytest.raises(TypeError, match="executor="):  # the enclosing derivative's dual
        ad.derivative(lambda a: ad.jacobian(lambda v: a * v, X, executor=process_pool)[0, 0],
                      2.0)
    with pytest.raises(TypeError, match="plain point"):  # x itself a dual
        ad.jacobian(lambda v: ad.jacobian(np.sin, v, executor=process_pool), X[:3])
    with pytest.raises(TypeError, match="plain point"):  # inside a HyperDual pass
        ad.hessian(lambda v: np.sum(ad.jacobian(np.sin, v, executor=process_pool)), X[:3])


def test_a_bad_executor_is_refused():
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        ad.jacobian(np.sin, X, executor=4)


def test_a_dead_process_pool_names_the_chunk():
    def f(x):
        os.kill(os.getpid(), signal.SIGKILL)
    with cf.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(BrokenProcessPool) as info:
            ad.jacobian(f, X, chunk_size=6, executor=pool)
    assert any("a worker process died" in n for n in info.value.__notes__)


def test_a_killed_dask_worker_costs_a_retry_not_the_result(client, tmp_path):
    mark = str(tmp_path / "killed")

    def f(x):  # the first task to run kills its worker process, mid-run
        if not os.path.exists(mark):
            open(mark, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return elementwise(x)
    got = ad.jacobian(f, X, chunk_size=2, executor=client)
    assert os.path.exists(mark)
    assert np.array_equal(got, ad.jacobian(elementwise, X, chunk_size=2))
    client.wait_for_workers(2, timeout=30)  # (the nanny restarts it)


# --- progress, warm-up, import ---------------------------------------------------------------
def test_progress_counts_the_tasks(thread_pool, capsys):
    ad.jacobian(np.sin, X, chunk_size=3, executor=thread_pool, progress=True)
    assert "4/4" in capsys.readouterr().err
    ad.jacobian(np.sin, X, chunk_size=3, executor=thread_pool)
    assert capsys.readouterr().err == ""


def test_warm_up_runs_on_every_worker_with_this_process_cache(client, recwarn):
    from dualad._compile import cache_dir
    info = ad.distributed.warm_up(client, elementwise, X, directions=3)
    assert sorted(info) == sorted(client.scheduler_info()["workers"])
    assert len({v["pid"] for v in info.values()} - {os.getpid()}) == 2
    assert all(v["cache_dir"] == cache_dir() for v in info.values())
    assert all(v["malloc_trim_threshold"] is None for v in info.values()) and not recwarn


def test_warm_up_warns_of_a_malloc_trim_threshold(thread_pool, monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with pytest.warns(RuntimeWarning, match="MALLOC_TRIM_THRESHOLD_"):
        ad.distributed.warm_up(thread_pool)


def test_import_dualad_does_not_import_dask():
    code = ("import sys, dualad; print(sorted(m for m in ('dask', 'distributed', "
            "'cloudpickle', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


# --- the example -----------------------------------------------------------------------------
def test_example_small_against_the_dense_jacobian():
    import importlib.util
    from _scripts import ROOT, run_script
    out = run_script("examples/distributed_jacobian.py", "--small", timeout=300)
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    spec = importlib.util.spec_from_file_location("distributed_jacobian",
                                                  ROOT / "examples" / "distributed_jacobian.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    step, y0 = example.brusselator_step(16, 2)
    dense = ad.jacobian(step, y0)  # (512 directions: another route, the dense one)
    assert lines["bit for bit the local call"] == "True"
    assert f"{np.count_nonzero(dense)} nonzeros" in out
    assert float(lines["sum of the entries"]) == pytest.approx(dense.sum(), rel=1e-13)


def _jitted_records(token, dask_worker=None):
    revived = sys.modules["dualad.jit"]._REVIVED  # (the module: ad.jit is the function)
    return sorted((len(j.programs), id(j)) for (t, _), j in revived.items() if t == token)


def test_a_jitted_function_keeps_its_records_on_the_workers_across_calls(client):
    g = ad.jit(brusselator)
    x = np.linspace(0.5, 1.5, 40)
    expect = ad.jacobian(brusselator, x, chunk_size=4)
    seen = None
    for _ in range(3):
        np.testing.assert_array_equal(ad.jacobian(g, x, chunk_size=4, executor=client), expect)
        records = client.run(_jitted_records, g._token)
        # (a worker that ran tasks: one object for g, with its records, the same next call)
        assert any(records.values()) and all(
            len(r) <= 1 and all(n >= 1 for n, _ in r) for r in records.values())
        for worker, r in (seen or {}).items():
            assert not r or records[worker][0][1] == r[0][1]
        seen = records
