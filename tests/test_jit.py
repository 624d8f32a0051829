"""ad.jit: a replayed (and compiled) record gives the ordinary route's numbers, or the
ordinary route runs. Oracles: the same function without jit, closed forms, and finite
differences for the random programs."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dualad as ad
from dualad.jit import program as _program

HELPERS = {"gradient": ad.gradient, "jacobian": ad.jacobian, "hessian": ad.hessian}


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def bruss(x):
    n = x.shape[0] // 2
    u, v = x[:n], x[n:]
    lap_u = np.concatenate([u[1:2] - u[0:1], u[2:] - 2 * u[1:-1] + u[:-2], u[-2:-1] - u[-1:]])
    lap_v = np.concatenate([v[1:2] - v[0:1], v[2:] - 2 * v[1:-1] + v[:-2], v[-2:-1] - v[-1:]])
    return np.concatenate([1.0 + u * u * v - 4.0 * u + 0.02 * lap_u,
                           3.0 * u - u * u * v + 0.02 * lap_v])


def _rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def _calls(helper, f, points):
    return [helper(f, x) for x in points]


@pytest.fixture
def compile_at_once(monkeypatch):
    monkeypatch.setattr(_program, "_COMPILE_AFTER", 1)


@pytest.mark.parametrize("compiled", [False, True])
def test_rosenbrock_gradient_is_the_ordinary_one_and_the_closed_form(compiled, monkeypatch):
    monkeypatch.setattr(_program, "_COMPILE_AFTER", 1 if compiled else 10 ** 9)
    g = ad.jit(rosen)
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.uniform(-2, 2, 30)
        got = ad.gradient(g, x)
        assert np.array_equal(got, ad.gradient(rosen, x))  # the same arithmetic, bit for bit
        np.testing.assert_allclose(got, _rosen_grad(x), rtol=1e-12, atol=1e-12)
    program, = g.programs
    assert bool(program.compiled) is compiled


def test_brusselator_jacobian_compiled_bit_for_bit(compile_at_once):
    f = ad.jit(bruss)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.uniform(0.5, 2.0, 20)
        assert np.array_equal(ad.jacobian(f, x), ad.jacobian(bruss, x))
    assert f.programs[0].compiled


@pytest.mark.parametrize("name", ["gradient", "hessian"])
def test_hessian_and_gradient_of_the_appendix_function(name):
    f = ad.jit(lambda v: v[0] ** 2 * v[1] + v[1] + 2)
    for x in ([3.0, 4.0], [1.0, -2.0], [0.5, 0.25], [3.0, 4.0]):
        x = np.array(x)
        expect = (np.array([2 * x[0] * x[1], x[0] ** 2 + 1]) if name == "gradient" else
                  np.array([[2 * x[1], 2 * x[0]], [2 * x[0], 0.0]]))
        np.testing.assert_array_equal(HELPERS[name](f, x), expect)


def test_a_branch_on_a_value_is_a_guard(compile_at_once):
    def f(x):
        if x[0] > 0:
            return np.sum(np.sin(x) * x)
        return np.sum(np.exp(x))
    g = ad.jit(f)
    points = [np.array([1.0, 2.0]), np.array([-1.0, 2.0]), np.array([0.5, 1.0]),
              np.array([-0.5, 3.0]), np.array([2.0, 2.0])]
    for x in points * 2:
        assert np.array_equal(ad.gradient(g, x), ad.gradient(f, x))
    assert len(g.programs) == 2  # one record per branch, each replayed


def test_more_branches_than_max_traces_take_the_ordinary_route():
    def f(x):
        return np.sum(x if x[0] > 0 else -x) * 2
    g = ad.jit(f, max_traces=1)
    for x in (1.0, -1.0, 2.0, -3.0):
        assert ad.gradient(g, np.array([x])).tolist() == [2.0 if x > 0 else -2.0]
    assert "max_traces" in g.explain()


def test_where_and_comparisons_follow_new_values(compile_at_once):
    def f(x):
        return np.sum(np.where(x > 0.5, x ** 3, -x))
    g = ad.jit(f)
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = rng.uniform(0, 1, 8)
        np.testing.assert_array_equal(ad.gradient(g, x), np.where(x > 0.5, 3 * x ** 2, -1.0))
    assert len(g.programs) == 1


def test_a_matrix_product_with_a_constant(compile_at_once):
    a = np.random.default_rng(3).normal(size=(4, 6))

    def f(x):
        return np.tanh(a @ x)
    g = ad.jit(f)
    for s in range(4):
        x = np.linspace(-1, 1, 6) * (s + 1)
        expect = (1 - np.tanh(a @ x) ** 2)[:, None] * a
        np.testing.assert_allclose(ad.jacobian(g, x), expect, rtol=1e-13, atol=1e-15)
        # (tanh from LLVM's math library: the last bit may differ from numpy's)
        np.testing.assert_allclose(ad.jacobian(g, x), ad.jacobian(f, x), rtol=1e-14)


@pytest.mark.parametrize("body", [
    "x[0] = 1.0; return x.sum()",                 # a write into an argument
    "return np.sum(x.value) * x[0]",              # a private attribute
    "y = x * 1.0; y += 2.0; return y.sum()",       # in place
    "return ad.math.sin(x[0]) * x[1]",            # a library that converts to float
    "return np.sum(np.asarray(x.value)) + x[0]",
])
def test_what_a_record_cannot_follow_gives_the_ordinary_result(body):
    ns = {"np": np, "ad": ad}
    exec(f"def f(x):\n    {body}", ns)
    f = ns["f"]
    g = ad.jit(f)
    for x in (np.array([0.3, 0.7]), np.array([1.5, -0.2]), np.array([0.3, 0.7])):
        try:
            expect = ad.gradient(f, x)
        except Exception as err:  # the ordinary route refuses: so does the jitted one
            with pytest.raises(type(err)):
                ad.gradient(g, x)
        else:
            np.testing.assert_array_equal(ad.gradient(g, x), expect)
    assert "ordinary route" in g.explain() or not g.programs


def test_an_exception_caught_inside_f_keeps_the_ordinary_route():
    def f(x):
        try:
            return np.linalg.solve(np.array([[x[0] * 0 + 1.0, 1.0], [1.0, 1.0]]) * 1.0, x)
        except Exception:
            return x * 2.0
    g = ad.jit(f)
    for x in (np.array([1.0, 2.0]), np.array([3.0, 4.0])):
        # (tanh from LLVM's math library: the last bit may differ from numpy's)
        np.testing.assert_allclose(ad.jacobian(g, x), ad.jacobian(f, x), rtol=1e-14)


def test_rebinding_a_global_records_again():
    ns = {"np": np, "data": np.array([1.0, 2.0, 3.0])}
    exec("def loss(w):\n    return np.sum((data * w - 1.0) ** 2)", ns)
    g = ad.jit(ns["loss"])
    w = np.array([0.5, 0.5, 0.5])
    for data in (np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0]), np.array([-1.0, 0.0, 2.0])):
        ns["data"] = data  # a new batch, as a training loop rebinds it
        for _ in range(3):
            np.testing.assert_allclose(ad.gradient(g, w), 2 * (data * w - 1.0) * data,
                                       rtol=1e-15)


def test_closure_variables_and_in_place_updates_of_captured_arrays():
    scale = np.array([1.0, 2.0])

    def make(c):
        def f(x):
            return np.sum(scale * c * x ** 2)
        return f
    g = ad.jit(make(3.0))
    x = np.array([1.0, 1.0])
    for _ in range(3):
        np.testing.assert_array_equal(ad.gradient(g, x), 6.0 * scale * x)
    scale[:] = [5.0, 7.0]  # an update in place: the replay reads the same array
    for _ in range(3):
        np.testing.assert_array_equal(ad.gradient(g, x), 6.0 * scale * x)


def test_static_python_arguments_are_part_of_the_key():
    def f(x, sign):
        return x * math.copysign(1.0, sign)
    g = ad.jit(f)
    for s in (0.0, -0.0, 2.0, -0.0, 0.0):
        assert ad.derivative(lambda x: g(x, s), 1.5) == math.copysign(1.0, s)


def test_plain_arguments_and_plain_results():
    g = ad.jit(lambda x, y: np.sin(x) * y)
    for k in range(4):
        x, y = np.linspace(0, 1, 3) + k, np.arange(3.0) - k
        np.testing.assert_array_equal(g(x, y), np.sin(x) * y)
        np.testing.assert_array_equal(ad.jacobian(g, x, y), np.diag(np.cos(x) * y))


def test_nested_helpers_take_the_ordinary_route():
    g = ad.jit(lambda x: np.sum(np.sin(x) ** 3))
    x = np.array([0.3, 0.9])
    h = ad.hessian(g, x, method="nested")
    np.testing.assert_allclose(h, ad.hessian(lambda x: np.sum(np.sin(x) ** 3), x,
                                             method="nested"), rtol=1e-15)


def test_bad_arguments():
    with pytest.raises(TypeError, match="function"):
        ad.jit(3)
    with pytest.raises(ValueError, match="max_traces"):
        ad.jit(np.sin, max_traces=0)


# --- random programs --------------------------------------------------------------------------
UNARY = [np.sin, np.cos, np.tanh, np.exp, np.square, np.negative, np.arctan,
         lambda a: np.sqrt(a * a + 1.0), lambda a: np.log1p(a * a), lambda a: a ** 3,
         lambda a: np.abs(a), lambda a: np.maximum(a, 0.1)]
BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (b * b + 1.0),
          lambda a, b: np.hypot(a, b), lambda a, b: np.where(a > b, a, b * 2.0)]
STRUCT = [lambda a: np.concatenate([a[1:], a[:1]]), lambda a: np.roll(a, -1, 0),
          lambda a: a[::-1], lambda a: a * np.sum(a),
          lambda a: np.mean(a) + a, lambda a: np.cumsum(a)]

op = st.one_of(st.tuples(st.just("u"), st.integers(0, len(UNARY) - 1), st.integers(0, 3)),
               st.tuples(st.just("b"), st.integers(0, len(BINARY) - 1), st.integers(0, 3),
                         st.integers(0, 3)),
               st.tuples(st.just("s"), st.integers(0, len(STRUCT) - 1), st.integers(0, 3)),
               st.tuples(st.just("if"), st.integers(0, 3), st.floats(-1, 1), st.integers(0, 3)))


def _program_of(ops, vector):
    def f(x):
        stack = [x, x * 0.5, x[::-1], x + 1.0]
        for o in ops:
            if o[0] == "u":
                stack.append(UNARY[o[1]](stack[-1 - o[2]]))
            elif o[0] == "b":
                stack.append(BINARY[o[1]](stack[-1 - o[2]], stack[-1 - o[3]]))
            elif o[0] == "s":
                stack.append(STRUCT[o[1]](stack[-1 - o[2]]))
            else:  # a branch on a value
                a = stack[-1 - o[1]]
                stack.append(np.sin(a) if a[0] > o[2] else UNARY[o[3]](a))
        return stack[-1] if vector else np.sum(stack[-1] * stack[-2])
    return f


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=8), st.booleans(),
       st.lists(st.floats(-1.5, 1.5), min_size=4, max_size=4), st.integers(0, 2 ** 32 - 1))
def test_random_programs_replay_the_ordinary_route(ops, vector, x0, seed):
    # interpreted replays: the ordinary route's numpy calls, so its bits
    _program._COMPILE_AFTER, before = 10 ** 9, _program._COMPILE_AFTER
    try:
        f = _program_of(ops, vector)
        g = ad.jit(f)
        rng = np.random.default_rng(seed)
        points = [np.array(x0)] + [rng.uniform(-1.5, 1.5, 4) for _ in range(4)] + [np.array(x0)]
        for x in points:  # (new points flip branches and where-conditions)
            with np.errstate(all="ignore"):
                expect = ad.jacobian(f, x)
                got = ad.jacobian(g, x)
                value = g(x)
            np.testing.assert_array_equal(got, expect)
            np.testing.assert_array_equal(value, f(x))
            if not vector:
                with np.errstate(all="ignore"):
                    np.testing.assert_array_equal(ad.hessian(g, x), ad.hessian(f, x))
    finally:
        _program._COMPILE_AFTER = before


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.tuples(st.just("u"), st.sampled_from([0, 1, 2, 3, 4, 5, 6, 9]),
                                    st.integers(0, 3)),
                          st.tuples(st.just("b"), st.integers(0, 3), st.integers(0, 3),
                                    st.integers(0, 3)),
                          st.tuples(st.just("s"), st.integers(0, 1), st.integers(0, 3))),
                min_size=1, max_size=6),
       st.integers(0, 2 ** 32 - 1))
def test_random_programs_compiled_agree_with_the_ordinary_route(ops, seed):
    _program._COMPILE_AFTER, before = 1, _program._COMPILE_AFTER
    try:
        f = _program_of(ops, False)
        g = ad.jit(f)
        rng = np.random.default_rng(seed)
        for _ in range(3):
            x = rng.uniform(-1.5, 1.5, 4)
            with np.errstate(all="ignore"):
                expect, got = ad.gradient(f, x), ad.gradient(g, x)
                expect_h, got_h = ad.hessian(f, x), ad.hessian(g, x)
            # (transcendental values from LLVM's math library, sums in another order: the
            # last bits may differ)
            for a, b in ((got, expect), (got_h, expect_h)):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
                assert np.array_equal(np.isnan(a), np.isnan(b))
        assert all(p.compiled is not None for p in g.programs)
    finally:
        _program._COMPILE_AFTER = before


def test_sparse_prepared_objects_of_a_jitted_function(compile_at_once):
    pytest.importorskip("scipy")
    x = np.random.default_rng(5).uniform(0.5, 1.5, 40)
    J, Jj = ad.SparseJacobian(bruss, x), ad.SparseJacobian(ad.jit(bruss), x)
    H, Hj = ad.SparseHessian(rosen, x), ad.SparseHessian(ad.jit(rosen), x)
    for k in range(4):
        y = x + 0.1 * k
        assert (J(y) != Jj(y)).nnz == 0
        a, b = H(y).toarray(), Hj(y).toarray()
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-12)
        # against the closed form: diagonal, and the band -400 x_i
        np.testing.assert_allclose(np.diag(b, 1), -400.0 * y[:-1], rtol=1e-14)
        np.testing.assert_allclose(np.diag(b)[-1], 200.0, rtol=1e-14)
    # the compiled record without its final sum gives the elements (sparse Hessians use it)
    assert any(p.prefix for p in Hj.f.programs if p.prefix is not None)


def test_python_loops_indices_and_iteration_are_recorded():
    def f(x):
        total = x[0] * 0.0
        for i in range(len(x) - 1):         # len: a guard on the shape
            total = total + x[i] * x[i + 1]
        k = int(np.argmax(np.abs(x)))  # a value-dependent index: a guard
        return total + sum(v ** 2 for v in x) + x[k] + x[np.arange(len(x))[::-1]][0]
    g = ad.jit(f)
    rng = np.random.default_rng(6)
    for _ in range(5):
        x = rng.uniform(-1, 1, 5)
        np.testing.assert_array_equal(ad.gradient(g, x), ad.gradient(f, x))
    with pytest.raises(TypeError):  # operator.index of a dual: refused as without jit
        ad.gradient(ad.jit(lambda x: x[x[0].__index__()]), np.ones(2))


def test_scalar_and_0d_arguments():
    g = ad.jit(lambda x: np.sin(x) * x)
    for x in (0.5, 1.5, 0.5):
        assert ad.derivative(g, x) == pytest.approx(np.sin(x) + x * np.cos(x), rel=1e-15)
        np.testing.assert_allclose(ad.derivative(g, np.float64(x), order=2),
                                   2 * np.cos(x) - x * np.sin(x), rtol=1e-14)
        np.testing.assert_array_equal(ad.gradient(lambda v: g(v[0]) * v[1], [x, 2.0]),
                                      ad.gradient(lambda v: np.sin(v[0]) * v[0] * v[1],
                                                  [x, 2.0]))


def test_a_jitted_function_pickles_without_its_records():
    import pickle
    g = ad.jit(rosen)
    x = np.linspace(0.1, 1.0, 5)
    for _ in range(4):
        ad.gradient(g, x)
    h = pickle.loads(pickle.dumps(g))
    assert h.programs == [] and h.f is rosen
    np.testing.assert_array_equal(ad.gradient(h, x), ad.gradient(rosen, x))


def test_pairwise_sum_is_numpys():
    from dualad.accel.program import _pairwise
    rng = np.random.default_rng(8)
    for n in list(range(0, 260)) + [1000, 4097, 65_537]:
        a = rng.normal(size=n) * 10.0 ** rng.uniform(-8, 8, n)
        assert _pairwise(a) == np.sum(a)
        assert _pairwise(a[::3]) == np.sum(a[::3])


SCRIPT = """
import numpy as np, dualad as ad
from dualad.jit import program
program._COMPILE_AFTER = 1
g = ad.jit(lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))
x = np.linspace(0.2, 1.4, 12)
for _ in range(3):
    ad.hessian(g, x)
    grad = ad.gradient(g, x)
hits = sum(sum(p.compiled.kernel.stats.cache_hits.values()) for p in g.programs if p.compiled)
print(hits, repr(grad.tolist()))
"""


def test_compiled_programs_are_cached_on_disk_for_the_next_process(tmp_path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                           text=True, timeout=600) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr[-2000:]
    (first_hits, first), (second_hits, second) = (r.stdout.split(" ", 1) for r in runs)
    assert int(first_hits) == 0 and int(second_hits) >= 2  # the gradient and Hessian records
    assert first == second


def test_a_tracer_kept_beyond_its_call_is_refused_and_callbacks_are_not_replayed():
    kept = []

    def f(x):
        kept.append(x)
        return np.sum(x * x)
    g = ad.jit(f)
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(ad.gradient(g, x), 2 * x)
    with pytest.raises(TypeError, match="after the call"):
        kept[0] * 2.0

    def h(x):  # numpy calls back into f's Python with a traced value in its closure
        rows = np.apply_along_axis(lambda r: r * x[0], 1, np.ones((2, 2)))
        return np.sum(rows * x)
    gh = ad.jit(h)
    for x in (np.array([1.0, 2.0]), np.array([3.0, -1.0]), np.array([0.5, 0.5])):
        with pytest.raises(TypeError) as ordinary:  # numpy makes a plain array of duals
            ad.gradient(h, x)
        with pytest.raises(TypeError, match=str(ordinary.value)[:40].replace("(", ".")):
            ad.gradient(gh, x)


def test_a_jitted_function_on_an_executor():
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    x = np.linspace(0.3, 1.3, 12)
    expect = ad.jacobian(bruss, x, chunk_size=4)
    for pool in (ThreadPoolExecutor(2), ProcessPoolExecutor(2)):
        with pool:
            g = ad.jit(bruss)
            for _ in range(2):  # (the workers record their own copies)
                np.testing.assert_array_equal(
                    ad.jacobian(g, x, chunk_size=4, executor=pool), expect)


def test_a_periodic_stencil_with_roll_compiles_bit_for_bit(compile_at_once):
    def step(y):
        u = y.reshape(6, 6)
        for _ in range(2):
            lap = np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, axis=1) \
                + np.roll(u, -2, 1) - 4.0 * u
            u = u + 0.01 * (u * u - u + lap)
        return u.ravel()
    g = ad.jit(step)
    rng = np.random.default_rng(9)
    for _ in range(3):
        y = rng.uniform(0.5, 1.5, 36)
        np.testing.assert_array_equal(ad.jacobian(g, y), ad.jacobian(step, y))
    assert g.programs[0].compiled


def _source(g):
    from dualad.accel.program import _generate
    p = g.programs[0]
    return _generate(p.description, p.meta, p.n_inputs)[0]


def test_rolls_read_by_elementwise_steps_make_no_copies(compile_at_once):
    # rolls of rolls, of an input and of what the loop before computed; a roll also indexed
    # and one reshaped (those are made)
    def f(y):
        u = y.reshape(5, 7)
        v = np.roll(np.roll(u, 2, 0), -3, 1) * u + np.roll(u, 1, 1)
        w = np.sin(v) + np.roll(v, -1, 0) * np.roll(np.roll(v, 3, 1), 1, 1)
        s = np.roll(w, 2, 1)
        return np.concatenate([np.roll(w * s, 1, 0).ravel(), s[0]]) * np.sum(s[1])
    g = ad.jit(f)
    rng = np.random.default_rng(12)
    for _ in range(3):
        y = rng.uniform(-1.0, 1.0, 35)
        J = ad.jacobian(g, y)
        np.testing.assert_allclose(J, ad.jacobian(f, y), rtol=1e-13, atol=1e-14)
    assert g.programs[0].compiled
    source = _source(g)
    # (made: s and the roll of w * s, values and partials, and the concatenation)
    assert source.count("np.concatenate") == 2 * 2 + 2
    # the Jacobian of the rolls alone: a permutation, entries exactly 1
    h = ad.jit(lambda y: np.roll(np.roll(y.reshape(5, 7), 2, 0) + 0.0, -3, 1).ravel() * 1.0)
    for _ in range(3):
        P = ad.jacobian(h, rng.uniform(size=35))
    np.testing.assert_array_equal(
        P, np.roll(np.roll(np.eye(35).reshape(5, 7, 35), 2, 0), -3, 1).reshape(35, 35))


def test_a_jitted_function_sent_again_is_the_same_object_in_the_worker():
    import pickle
    cloudpickle = pytest.importorskip("cloudpickle")
    g = ad.jit(rosen)
    first, again = pickle.loads(pickle.dumps(g)), pickle.loads(pickle.dumps(g))
    assert again is first and first is not g  # (a worker keeps its records across calls)
    assert pickle.loads(pickle.dumps(ad.jit(rosen))) is not first  # (another jit of rosen)
    scale = [2.0]

    def scaled(x):
        return scale[0] * np.sum(x ** 2)
    h = ad.jit(scaled)
    one = pickle.loads(cloudpickle.dumps(h))
    x = np.arange(3.0)
    assert ad.gradient(one, x).tolist() == [0.0, 4.0, 8.0]
    scale[0] = 3.0  # (changed where it was pickled: the worker must not reuse its records)
    two = pickle.loads(cloudpickle.dumps(h))
    assert two is not one and ad.gradient(two, x).tolist() == [0.0, 6.0, 12.0]


@pytest.mark.parametrize("before", [False, True])
def test_a_long_record_compiles_when_its_replays_have_cost_its_compile_time(before, monkeypatch):
    from dualad import _compile
    monkeypatch.setattr(_program, "SHORT_STEPS", 2)  # (this record: 5 steps, "long")
    monkeypatch.setattr(_program, "COMPILE_SECONDS_PER_STEP", 0.004)
    monkeypatch.setattr(_compile, "compiled_before", lambda *args: before)
    g = ad.jit(lambda x: np.sin(x) * x + np.cos(x) * 0.5 - x)
    x = np.linspace(-1.0, 1.0, 40)
    expect = np.diag(np.sin(x) + x * np.cos(x) - 0.5 * np.sin(x) - 1.0)
    calls = 0
    while calls < 20000 and not (g.programs and g.programs[0].compiled):
        np.testing.assert_allclose(ad.jacobian(g, x), expect, rtol=1e-14, atol=1e-15)
        calls += 1
    program = g.programs[0]
    assert program.compiled
    if before:  # (in the disk cache: compiled after _COMPILE_AFTER replays, as short ones)
        assert program.replays == _program._COMPILE_AFTER
    else:  # (replayed interpreted until that took the compile time expected, 5 x 4 ms)
        assert program.interpreted >= 0.02 and program.replays > 2 * _program._COMPILE_AFTER
    np.testing.assert_allclose(ad.jacobian(g, x), expect, rtol=1e-14, atol=1e-15)


def test_a_global_rebound_to_an_equal_number_keeps_the_records():
    # (a worker unpickling the same function again rebinds its module's globals to equal,
    # new objects; a different value must drop the records)
    space = {"np": np}
    exec("def f(x):\n    return np.sin(x) * SCALE\n", space)
    space["SCALE"] = first = 2.5
    g = ad.jit(space["f"])
    x = np.linspace(0.0, 1.0, 5)
    for _ in range(3):
        ad.jacobian(g, x)
    program = g.programs[0]
    space["SCALE"] = float("2.5")
    assert space["SCALE"] is not first  # (an equal, new object)
    np.testing.assert_allclose(ad.jacobian(g, x), np.diag(2.5 * np.cos(x)), rtol=1e-15)
    assert g.programs[0] is program
    for new in (3.0, -0.0, 2):
        space["SCALE"] = new
        np.testing.assert_allclose(ad.jacobian(g, x), np.diag(new * np.cos(x)), rtol=1e-15)
        assert g.programs[0] is not program
        program = g.programs[0]
