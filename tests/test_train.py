"""dualad.train and dualad.optim: exact and forward gradients, the tutorials, the digits MLP."""
import builtins

import numpy as np
import pytest

import dualad as ad
from dualad import optim, train
from _fd import fd_jacobian
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
    # house prices: the tutorial's data, trained to convergence = the least-squares solution
    rng = np.random.default_rng(7)
    size, rooms = rng.uniform(0.5, 3.0, 200), rng.integers(1, 6, 200).astype(float)
    price = 50 + 120 * size + 15 * rooms + rng.normal(0, 5, 200)
    A = np.column_stack([np.ones(200), size, rooms])
    assert numbers(got["house prices: intercept, per 100 m², per room"]) == pytest.approx(
        np.linalg.lstsq(A, price, rcond=None)[0], **f32)


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


def _flat(tree):
    return np.concatenate([np.ravel(a) for a in tree])


def _fd_grad(loss, params, *batch):
    """The gradient of ``loss`` (plain numpy, float64) at ``params`` (a list), flattened, by
    central finite differences: an oracle independent of dualad's rule table."""
    splits = np.cumsum([p.size for p in params])[:-1]
    return fd_jacobian(lambda v: loss([a.reshape(p.shape) for a, p in
                                       zip(np.split(v, splits), params)], *batch), _flat(params))


def _drawn_tangents(params, k, seed):
    """The forward gradient's tangents, flattened to (n_params, k): the documented draws from
    ``np.random.default_rng(seed)``, one leaf after the other."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.standard_normal(p.shape + (k,)).reshape(-1, k) for p in params])


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
    assert _flat(g) == pytest.approx(_fd_grad(loss, params, X), rel=1e-7, abs=1e-9)
    assert [np.shape(a) for a in g] == [p.shape for p in params]


@pytest.mark.parametrize("k, seed", [(1, 5), (3, 1), (20000, 0)])
def test_forward_grad_is_unbiased(k, seed):
    # E[(g.v) v] = g for v ~ N(0, I): the estimate must be exactly the sample mean of (g.v) v
    # over the tangents it drew (g from finite differences). Compared with g itself, the
    # sampling error |g| / sqrt(K) would hide a bias of a few percent; compared with the
    # sample mean, only rounding is left.
    params, X, loss = _toy()
    g = _fd_grad(loss, params, X)
    V = _drawn_tangents(params, k, seed)
    value, est = train.forward_grad(loss, params, X, k=k, rng=seed)
    assert value == pytest.approx(loss(params, X), rel=1e-14)
    assert _flat(est) == pytest.approx(V @ (V.T @ g) / k, rel=1e-7, abs=1e-9 * np.linalg.norm(g))


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


def _numpy_mlp_loss(params, X, labels):
    """MLP.loss written independently: ReLU layers, mean softmax cross-entropy."""
    h = X
    for W, b in zip(params[:-2:2], params[1:-2:2]):
        h = np.maximum(h @ W + b, 0.0)
    z = h @ params[-2] + params[-1]
    return np.mean(np.log(np.sum(np.exp(z), axis=1)) - z[np.arange(len(z)), labels])


def test_mlp_gradients_match_finite_differences():
    model, params, X, y = _mlp_case((3, 4, 2), batch=5)
    # no ReLU kink within the stencil's reach (3 h |x| for a weight, h = 1e-3)
    assert np.min(np.abs(X @ params[0] + params[1])) > 3e-3 * max(1.0, np.max(np.abs(X)))
    want = _fd_grad(_numpy_mlp_loss, params, X, y)
    tol = dict(rel=1e-7, abs=1e-9 * np.linalg.norm(want))
    for value, g in (model.exact_grad(params, X, y),
                     train.exact_grad(train.MLP.loss, params, X, y)):
        assert value == pytest.approx(_numpy_mlp_loss(params, X, y), rel=1e-13)
        assert _flat(g) == pytest.approx(want, **tol)
    V = _drawn_tangents(params, 3, 4)
    for _, g in (model.forward_grad(params, X, y, k=3, rng=4),
                 train.forward_grad(train.MLP.loss, params, X, y, k=3, rng=4)):
        assert _flat(g) == pytest.approx(V @ (V.T @ want) / 3, **tol)


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


def test_fit_calls_the_callback_after_every_epoch():
    calls = []

    def callback(epoch, history):  # what history holds when it runs
        calls.append((epoch, history, len(history.epoch_losses), len(history.epoch_times),
                      len(history.losses)))
    x = np.arange(1.0, 6.0)
    hist = train.fit(lambda p, x, y: np.mean((p[0] * x - y) ** 2), [np.zeros(1)],
                     optim.SGD(0.01), data=(x, 2 * x), epochs=4, batch_size=2, progress=False,
                     callback=callback)
    assert [c[0] for c in calls] == [1, 2, 3, 4] and all(c[1] is hist for c in calls)
    # 5 samples in batches of 2: 3 steps an epoch, all recorded before the callback runs
    assert [c[2:] for c in calls] == [(e, e, 3 * e) for e in (1, 2, 3, 4)]


def test_grad_fn_replaces_the_gradient():
    loss = lambda p, x: np.sum((p["w"] * x) ** 2)  # noqa: E731 -- gradient 2 w x^2, not 1
    x, calls = np.array([1.0, -2.0]), []

    def ones(params, *batch):
        calls.append(batch)
        return 7.0, {"w": np.ones(2)}
    params = {"w": np.array([0.25, 3.0])}
    assert train.step(loss, params, optim.SGD(0.1), x, grad_fn=ones) == 7.0
    assert params["w"] == pytest.approx([0.25 - 0.1, 3.0 - 0.1], rel=1e-15)
    assert len(calls) == 1 and calls[0][0] is x
    params = {"w": np.array([0.25, 3.0])}  # fit: 3 epochs of 2 batches, 6 steps of -0.1
    hist = train.fit(loss, params, optim.SGD(0.1), data=(x,), epochs=3, batch_size=1,
                     grad_fn=ones, progress=False)
    assert params["w"] == pytest.approx([0.25 - 0.6, 3.0 - 0.6], rel=1e-14)
    assert hist.losses == [7.0] * 6 and len(calls) == 7


# --- optimizers: Keras formulas written out ------------------------------------------------
def _keras_sgd(p, grads, lr, momentum, nesterov):
    """Keras' SGD in float64: v = momentum v - lr g; p += v (Nesterov: momentum v - lr g)."""
    p, v = p.astype(np.float64), np.zeros(p.shape)
    for g in grads:
        v = momentum * v - lr * g
        p = p + (momentum * v - lr * g if nesterov else v)
    return p


def _keras_adam(p, grads, lr, b1, b2, eps):
    """Keras' Adam in float64, epsilon added to sqrt(v) (optim.Adam's docstring)."""
    p, m, v = p.astype(np.float64), np.zeros(p.shape), np.zeros(p.shape)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return p


def _run(opt, steps=4):
    """``steps`` updates of float32 and float64 parameters by changing gradients; returns
    [(parameter after, start, gradients)] per parameter."""
    rng = np.random.default_rng(6)
    start = {"a": rng.standard_normal((2, 3)).astype(np.float32), "b": rng.standard_normal(4),
             "c": np.array(rng.standard_normal(), np.float32), "d": rng.standard_normal((3, 1))}
    grads = [{name: rng.standard_normal(p.shape) for name, p in start.items()}
             for _ in range(steps)]
    params = {name: p.copy() for name, p in start.items()}
    for g in grads:
        opt.step(params, g)
    assert [p.dtype for p in params.values()] == [np.float32, np.float64] * 2
    return [(params[k], start[k], [g[k] for g in grads]) for k in start]


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.6, False),
                                                (0.9, True), (0.6, True)])
def test_sgd_momentum_and_nesterov_follow_keras(momentum, nesterov):
    for got, start, grads in _run(optim.SGD(0.07, momentum, nesterov)):
        want = _keras_sgd(start, grads, 0.07, momentum, nesterov)
        assert got == pytest.approx(want, rel=1e-6 if got.dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("hyper", [None, (0.05, 0.6, 0.8, 0.3), (0.2, 0.0, 0.5, 1e-3)])
def test_adam_keras_formula_and_dtype(hyper):
    opt = optim.Adam() if hyper is None else optim.Adam(*hyper)
    hyper = hyper or (0.001, 0.9, 0.999, 1e-7)  # the documented defaults
    for got, start, grads in _run(opt):
        want = _keras_adam(start, grads, *hyper)
        assert got == pytest.approx(want, rel=1e-6 if got.dtype == np.float32 else 1e-14)


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
     r"batch_size \(None: the whole data\) must be a positive integer, got 0"),
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
