"""dualad.train and dualad.optim: exact and forward gradients, the tutorials, the digits MLP."""
import builtins

import numpy as np
import pytest

import dualad as ad
from dualad import optim, train
from _scripts import computed_lines, run_script


def run_example(name, *args):
    return run_script(f"examples/{name}", *args, timeout=300)


def computed(out):
    """{label: the 'dualad:' line} of an example's output."""
    return computed_lines(out, sources=("dualad",))


def numbers(text):
    return [float(t) for t in text.split("(")[0].strip().strip("[]").split(",")]


def test_tutorials_reproduce_to_float32_precision():
    got = computed(run_example("training_tutorials.py", "--quick"))
    f32 = dict(rel=3e-7 * 8, abs=1e-7)  # a few float32 ulps
    assert numbers(got["linear regression by hand: a, b after one step"]) == pytest.approx(
        [0.1169, 0.02392], **f32)
    assert numbers(got["linear regression by hand: losses of the next five steps"]) == \
        pytest.approx([8.134604, 4.186867, 2.8102624, 2.330071, 2.1624107], **f32)
    assert numbers(got["linear regression by hand: a, b at the end"]) == pytest.approx(
        [0.2729075, 0.05813503], **f32)
    assert numbers(got["dense layer + Adam(0.07): losses of five steps"]) == pytest.approx(
        [19.457, 10.9911995, 5.402389, 2.5634406, 2.0542033], **f32)
    assert numbers(got["(3a + b - 10)^2 at a = 1, b = 2: gradient"]) == [-30.0, -10.0]
    b, w_size, w_rooms = numbers(got["house prices: intercept, per 100 m², per room"])
    # the generating model is 50 + 120 size + 15 rooms (+ noise): least squares is close
    assert (b, w_size, w_rooms) == pytest.approx((50.85319, 119.14386, 15.01524), rel=1e-4)


def test_pytorch_lesson_gradient_is_exact():
    assert ad.gradient(lambda v: (v[0] * 3 + v[1] - 10) ** 2, [1.0, 2.0]).tolist() == \
        [-30.0, -10.0]
    loss = lambda p: (p["a"] * 3 + p["b"] - 10) ** 2  # noqa: E731
    value, g = train.exact_grad(loss, {"a": np.array(1.0), "b": np.array(2.0)})
    assert value == 25.0 and float(g["a"]) == -30.0 and float(g["b"]) == -10.0


def _toy():
    rng = np.random.default_rng(3)
    params = [rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(())]
    X = rng.standard_normal((5, 3))

    def loss(p, x):
        return np.sum(np.tanh(x @ p[0] + p[1]) ** 2) * p[2]
    return params, X, loss


@pytest.mark.parametrize("chunk", [None, 1, 5, 100])
def test_exact_grad_matches_gradient(chunk):
    params, X, loss = _toy()
    value, g = train.exact_grad(loss, params, X, chunk_size=chunk)
    vec = np.concatenate([p.ravel() for p in params])
    sizes = np.cumsum([0] + [p.size for p in params])

    def flat_loss(v):
        ps = [v[a:b].reshape(p.shape) for p, a, b in zip(params, sizes[:-1], sizes[1:])]
        return loss(ps, X)
    want = ad.gradient(flat_loss, vec)
    assert value == pytest.approx(loss(params, X), rel=1e-14)
    assert np.concatenate([np.ravel(a) for a in g]) == pytest.approx(want, rel=1e-13)
    assert [np.shape(a) for a in g] == [p.shape for p in params]


def test_forward_grad_is_unbiased():
    params, X, loss = _toy()
    _, exact = train.exact_grad(loss, params, X)
    exact = np.concatenate([np.ravel(a) for a in exact])
    _, est = train.forward_grad(loss, params, X, k=20000, rng=0)
    est = np.concatenate([np.ravel(a) for a in est])
    # E[(g.v) v] = g; with K samples the error is about |g| / sqrt(K) per entry
    assert np.max(np.abs(est - exact)) < 5 * np.linalg.norm(exact) / np.sqrt(20000)
    # one tangent: (g.v) v exactly
    rng = np.random.default_rng(5)
    v = rng.standard_normal((exact.size, 1))
    _, one = train.forward_grad(loss, params, X, k=1, rng=5)
    one = np.concatenate([np.ravel(a) for a in one])
    assert one == pytest.approx(v[:, 0] * (exact @ v[:, 0]), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("sizes", [(6, 5, 3), (4, 7, 5, 3)])
def test_mlp_structured_gradient_equals_generic_forward_mode(sizes):
    model = train.MLP(sizes)
    params = model.init(seed=1)
    for i in range(1, len(params), 2):
        params[i] += 0.1  # nonzero biases
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((9, sizes[0])), rng.integers(0, sizes[-1], 9)
    value, g = model.exact_grad(params, X, y)
    want_value, want = train.exact_grad(train.MLP.loss, params, X, y)
    assert value == pytest.approx(want_value, rel=1e-14)
    for a, b in zip(g, want):
        assert a == pytest.approx(b, rel=1e-11, abs=1e-14)
    assert model.n_params == sum(p.size for p in params)


def _mlp_case(sizes, batch=9, seed=2, dtype=np.float64):
    model = train.MLP(sizes, dtype=dtype)
    params = model.init(seed=1)
    for i in range(1, len(params), 2):
        params[i] += dtype(0.1)  # nonzero biases
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    return model, params, X, rng.integers(0, sizes[-1], batch)


@pytest.mark.parametrize("sizes", [(6, 3), (5, 4, 3, 6), (5, 4, 3, 2, 6)])
@pytest.mark.parametrize("k", [1, 3])
def test_mlp_forward_grad_equals_generic_forward_grad(sizes, k):
    model, params, X, y = _mlp_case(sizes)
    value, g = model.forward_grad(params, X, y, k=k, rng=11)
    want_value, want = train.forward_grad(train.MLP.loss, params, X, y, k=k, rng=11)
    assert value == pytest.approx(want_value, rel=1e-13)
    assert isinstance(g, list) and [a.shape for a in g] == [p.shape for p in params]
    for a, b in zip(g, want):
        assert a.dtype == np.float64
        assert a == pytest.approx(b, rel=1e-10, abs=1e-14)
    # the same Generator continues identically: both drew the same numbers
    gen1, gen2 = np.random.default_rng(4), np.random.default_rng(4)
    model.forward_grad(params, X, y, k=k, rng=gen1)
    train.forward_grad(train.MLP.loss, params, X, y, k=k, rng=gen2)
    assert gen1.standard_normal() == gen2.standard_normal()


def test_mlp_forward_grad_float32():
    model, params, X, y = _mlp_case((5, 4, 3, 6), dtype=np.float32)
    value, g = model.forward_grad(params, X, y, k=2, rng=3)
    want_value, want = train.forward_grad(train.MLP.loss, params, X, y, k=2, rng=3)
    assert value == pytest.approx(want_value, rel=1e-5)
    scale = max(np.max(np.abs(b)) for b in want)
    for a, b in zip(g, want):
        assert a.dtype == np.float32 and a.shape == b.shape
        assert np.max(np.abs(a - b)) < 1e-5 * scale
    # float32 parameters, float64 data: numpy computes X @ W in float64, so does the kernel
    value, g = model.forward_grad(params, X.astype(np.float64), y, k=2, rng=3)
    want_value, want = train.forward_grad(train.MLP.loss, params, X.astype(np.float64), y,
                                          k=2, rng=3)
    assert value == pytest.approx(want_value, rel=1e-13)
    assert all(a.dtype == np.float32 and a == pytest.approx(b, rel=1e-6) for a, b in
               zip(g, want))


@pytest.mark.parametrize("k", [1, 3])
def test_mlp_forward_grad_is_the_jvp_along_the_drawn_tangents(k):
    model, params, X, y = _mlp_case((4, 5, 3), batch=7)
    rng = np.random.default_rng(8)  # the documented draws: one leaf after the other
    tangents = [rng.standard_normal(p.shape + (k,)) for p in params]
    flat_v = np.concatenate([t.reshape(-1, k) for t in tangents])
    splits = np.cumsum([p.size for p in params])[:-1]

    def flat_loss(v):
        return train.MLP.loss([a.reshape(p.shape) for a, p in
                               zip(np.split(v, splits), params)], X, y)
    vec = np.concatenate([p.ravel() for p in params])
    d = np.array([ad.jvp(flat_loss, vec, flat_v[:, i])[1] for i in range(k)])
    value, g = model.forward_grad(params, X, y, k=k, rng=8)
    assert value == pytest.approx(train.MLP.loss(params, X, y), rel=1e-14)
    assert np.concatenate([a.ravel() for a in g]) == pytest.approx(flat_v @ d / k, rel=1e-11,
                                                                  abs=1e-14)


@pytest.mark.parametrize("sizes", [(6, 3), (5, 4, 3, 6)])
def test_mlp_value_is_the_loss(sizes):
    model, params, X, y = _mlp_case(sizes, batch=13)
    assert model.value(params, X, y) == pytest.approx(train.MLP.loss(params, X, y), rel=1e-14)
    p32, X32 = [p.astype(np.float32) for p in params], X.astype(np.float32)
    want = train.MLP.loss(p32, X32, y)
    assert want.dtype == np.float32
    assert model.value(p32, X32, y) == pytest.approx(float(want), rel=1e-6)


def test_mlp_forward_grad_is_unbiased():
    model, params, X, y = _mlp_case((3, 4, 2), batch=6)
    _, exact = model.exact_grad(params, X, y)
    exact = np.concatenate([a.ravel() for a in exact])
    _, est = model.forward_grad(params, X, y, k=20000, rng=0)
    est = np.concatenate([a.ravel() for a in est])
    assert np.max(np.abs(est - exact)) < 5 * np.linalg.norm(exact) / np.sqrt(20000)


def test_mlp_forward_grad_relu_tie_passes_the_tangent():
    # all-zero inputs and zero first-layer biases: every hidden pre-activation is exactly 0,
    # where the rule table's derivative of maximum(z, 0) is 1 (ties: the first argument)
    model = train.MLP((3, 4, 2))
    params = model.init(seed=0)
    X = np.zeros((5, 3))
    X[0] = [1.0, -2.0, 0.5]  # one ordinary row among the ties
    y = np.array([0, 1, 1, 0, 1])
    z = X @ params[0] + params[1]
    assert np.count_nonzero(z == 0.0) == 16
    value, g = model.forward_grad(params, X, y, k=2, rng=1)
    want_value, want = train.forward_grad(train.MLP.loss, params, X, y, k=2, rng=1)
    assert value == pytest.approx(want_value, rel=1e-14)
    for a, b in zip(g, want):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    # the tie matters: the same loss with relu'(0) = 0 gives another estimate
    def relu_blocked(params, X, labels):
        z = X @ params[0] + params[1]
        h = np.where(z > 0, z, 0.0)
        return np.mean(train.MLP._ce_rows(h @ params[2] + params[3], labels))
    _, other = train.forward_grad(relu_blocked, params, X, y, k=2, rng=1)
    assert relu_blocked(params, X, y) == pytest.approx(value, rel=1e-14)
    assert not np.allclose(g[1], other[1])


def test_mlp_forward_grad_errors():
    model, params, X, y = _mlp_case((4, 3, 2), batch=5)
    for k in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="^dualad: k"):
            model.forward_grad(params, X, y, k=k)
    with pytest.raises(ValueError, match="^dualad: k"):
        train.forward_grad(train.MLP.loss, params, X, y, k=0)
    with pytest.raises(ValueError, match="4 columns"):
        model.forward_grad(params, X[:, :3], y)
    with pytest.raises(ValueError, match="4 columns"):
        model.value(params, X[0], y)
    with pytest.raises(ValueError, match="one entry per row"):
        model.forward_grad(params, X, y[:4])
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\), got 2 at row 3"):
        model.forward_grad(params, X, np.array([0, 1, 1, 2, 0]))
    with pytest.raises(ValueError, match="in \\[0, 2\\)"):
        model.value(params, X, np.array([0, 1, 1, -1, 0]))
    with pytest.raises(TypeError, match="labels integers"):
        model.forward_grad(params, X, y.astype(float))
    with pytest.raises(TypeError, match="real array"):
        model.forward_grad(params, X.astype(complex), y)
    with pytest.raises(ValueError, match=r"have shapes \[\(4, 3\)"):
        model.forward_grad(params[:2], X, y)
    with pytest.raises(ValueError, match="have shapes"):
        model.forward_grad([params[0].T] + params[1:], X, y)
    with pytest.raises(TypeError, match="must be a list"):
        model.forward_grad({"W": params[0]}, X, y)
    with pytest.raises(TypeError, match="float ndarrays"):
        model.value([params[0].astype(int)] + params[1:], X, y)


def test_fit_without_tqdm_or_matplotlib(monkeypatch, tmp_path, capsys):
    real_import = builtins.__import__

    def no_extras(name, *args, **kw):
        if name.split(".")[0] in ("tqdm", "matplotlib"):
            raise ImportError(f"no {name}")
        return real_import(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", no_extras)
    params = {"w": np.zeros(2)}
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    y = np.array([1.0, -1.0, 0.0])
    hist = train.fit(lambda p, x, t: np.mean((x @ p["w"] - t) ** 2), params, optim.SGD(0.5),
                     data=(X, y), epochs=30, plot=tmp_path / "loss.png")
    assert hist.plot is None and not (tmp_path / "loss.png").exists()
    assert "epoch 30/30: loss" in capsys.readouterr().err  # the plain progress line
    assert params["w"] == pytest.approx([1.0, -1.0], abs=1e-3)
    assert len(hist.losses) == 30 and hist.epoch_losses[-1] < 1e-5


def test_fit_writes_a_png_with_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    params = [np.zeros(1)]
    hist = train.fit(lambda p: np.sum((p[0] - 3.0) ** 2), params, optim.Adam(0.3), epochs=20,
                     progress=False, plot=tmp_path / "loss.png")
    assert hist.plot and (tmp_path / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_forward_method_and_errors():
    params = [np.array([2.0])]
    hist = train.fit(lambda p: np.sum(p[0] ** 2), params, optim.SGD(0.05), epochs=200,
                     method="forward", k=4, progress=False)
    assert abs(params[0][0]) < 1e-3 and hist.losses[0] == 4.0
    with pytest.raises(ValueError, match="method"):
        train.step(lambda p: np.sum(p[0]), params, optim.SGD(0.1), method="backward")
    with pytest.raises(TypeError, match="float ndarrays"):
        train.exact_grad(lambda p: p[0], [[1, 2]])


# --- optimizers: Keras formulas written out ------------------------------------------------
def test_sgd_momentum_and_nesterov_follow_keras():
    g = np.array([0.5, -1.0])
    for nesterov in (False, True):
        p, m, opt = np.array([1.0, 2.0]), np.zeros(2), optim.SGD(0.1, 0.9, nesterov)
        want = p.copy()
        for _ in range(3):
            m = 0.9 * m - 0.1 * g
            want = want + (0.9 * m - 0.1 * g if nesterov else m)
            opt.step([p], [g])
        assert p == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_keras_formula_and_dtype(dtype):
    p = np.array([1.0, -2.0], dtype=dtype)
    opt = optim.Adam(0.1)
    m = v = np.zeros(2)
    want = p.astype(np.float64)
    for t in range(1, 4):
        g = np.array([0.3, -0.7]) * t
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        alpha = 0.1 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        want = want - alpha * m / (np.sqrt(v) + 1e-7)
        opt.step({"w": p}, {"w": g})
    assert p.dtype == dtype
    assert p == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-14)


# --- the digits classifier ------------------------------------------------------------------
def test_digits_mlp_reaches_97_percent():
    pytest.importorskip("sklearn")
    got = computed(run_example("digits_mlp.py"))
    exact = got["digits MLP 64-32-10, exact forward-mode gradients + Adam: test accuracy"]
    assert float(exact.split()[0]) >= 0.97, exact
    fg = got["digits MLP, forward gradients (K = 8 tangents per step) + Adam: test accuracy"]
    assert 0.5 < float(fg.split()[0]) <= 1.0 and "ms per step" in fg


# --- argument errors are named, never a wrong number or a numpy internal -------------------
def test_mlp_labels_out_of_range_or_not_integers():
    model, params, X, y = _mlp_case((4, 3, 2), batch=4)
    for labels in ([0, 1, 0, -1], [0, 1, 0, 2]):
        bad = labels[3]
        for f in (model.exact_grad, train.MLP.loss, model.forward_grad, model.value):
            with pytest.raises(ValueError, match=rf"^dualad: labels must be in \[0, 2\), got "
                                                 rf"{bad} at row 3"):
                f(params, X, labels)
    for f in (model.exact_grad, train.MLP.loss):
        with pytest.raises(TypeError, match="^dualad: .*labels.* integers.*float64"):
            f(params, X, np.array([0.0, 1.0, 0.0, 1.0]))
        with pytest.raises(ValueError, match=r"one entry per row of X, shape \(4,\), got \(3,\)"):
            f(params, X, y[:3])
    # the generic gradient of MLP.loss checks too (on plain labels, before any dual work)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 2\)"):
        train.exact_grad(train.MLP.loss, params, X, [0, 1, 0, -1])


def test_mlp_exact_grad_argument_errors():
    model, params, X, y = _mlp_case((4, 3, 2), batch=5)
    with pytest.raises(ValueError, match=r"4 columns, got shape \(5, 3\)"):
        model.exact_grad(params, X[:, :3], y)
    with pytest.raises(ValueError, match=r"4 columns, got shape \(4,\)"):
        model.exact_grad(params, X[0], y[:1])
    with pytest.raises(ValueError, match=r"non-empty.*got shape \(0, 4\)"):
        model.exact_grad(params, X[:0], y[:0])
    with pytest.raises(ValueError, match="have shapes"):
        model.exact_grad(params[:3], X, y)
    with pytest.raises(TypeError, match="must be a list"):
        model.exact_grad({"W": params[0]}, X, y)
    with pytest.raises(TypeError, match="real array"):
        model.exact_grad(params, X.astype(complex), y)


def test_loss_must_be_scalar_and_params_nonempty():
    for grad in (train.exact_grad, train.forward_grad):
        with pytest.raises(ValueError, match=r"^dualad: the loss must return a scalar, got "
                                             r"shape \(2,\)"):
            grad(lambda p: p[0] * 2.0, [np.ones(2)])
        with pytest.raises(ValueError, match="^dualad: params has no arrays"):
            grad(lambda p: 1.0, {})


@pytest.mark.parametrize("optimizer", [None, optim.SGD, "sgd"])
def test_step_needs_an_optimizer_instance(optimizer):
    params = [np.ones(1)]
    with pytest.raises(TypeError, match="^dualad: optimizer must be an optimizer instance"):
        train.step(lambda p: np.sum(p[0] ** 2), params, optimizer)
    assert params[0].tolist() == [1.0]


@pytest.mark.parametrize("kw, error, match", [
    (dict(data=(np.ones(2), np.ones(3)), batch_size=1), ValueError,
     r"the arrays in data must have the same number of samples.*got \[2, 3\]"),
    (dict(data=(np.ones(2), np.ones(2)), batch_size=0), ValueError,
     "batch_size must be a positive int or None .*, got 0"),
    (dict(data=(np.ones(2), np.ones(2)), batch_size=-1), ValueError, "batch_size"),
    (dict(data=(np.ones(2), np.ones(2)), batch_size=1.5), ValueError, "batch_size"),
    (dict(data=(np.ones(2), np.ones(2)), batch_size=True), ValueError, "batch_size"),
    (dict(data=(np.ones(0), np.ones(0))), ValueError, "data has no samples"),
    (dict(data=(np.ones(0), np.ones(0)), batch_size=1), ValueError, "data has no samples"),
    (dict(data=np.ones(3)), TypeError, "data must be a tuple of arrays.*got ndarray"),
    (dict(data=(np.ones(2), 3.0)), ValueError, r"data\[1\] has no sample axis"),
])
def test_fit_data_and_batch_size_errors(kw, error, match):
    params = [np.zeros(1)]
    with pytest.raises(error, match="^dualad: " + match):
        train.fit(lambda p, x, y: np.sum((p[0] * x - y) ** 2), params, optim.SGD(0.1),
                  progress=False, **kw)
    assert params[0].tolist() == [0.0]


def test_fit_accepts_a_list_of_arrays_and_a_batch_larger_than_the_data():
    params = [np.zeros(1)]
    hist = train.fit(lambda p, x, y: np.mean((p[0] * x - y) ** 2), params, optim.SGD(0.1),
                     data=[[1.0, 2.0], [2.0, 4.0]], batch_size=10, epochs=2, progress=False)
    assert len(hist.losses) == 2 and hist.losses[0] == 10.0
