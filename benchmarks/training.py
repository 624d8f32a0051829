"""Training benchmark: the digits MLP 64-32-10 (2410 parameters) on one core.

    python benchmarks/training.py            # full run (a few minutes with the peers)
    python benchmarks/training.py --quick    # smoke run (numbers not meaningful)

(1) time per epoch (1347 training digits, mini-batches of 64, gradient + Adam update):
    dualad's structured exact forward mode (``MLP.exact_grad``), dualad's generic exact forward
    mode (one direction per parameter, ``train.exact_grad``), a hand-written numpy backprop,
    and, when installed, ``jax.jit(jax.grad)``, ``jax.jit(jax.jacfwd)``,
    ``torch.func.grad`` and ``torch.func.jacfwd``.
(2) R_f = time of one forward-gradient step (a jvp with one random tangent, plus forming
    the estimate) / time of one loss evaluation, on a batch of 64 and on the whole training
    set (Baydin et al. 2022 report R_f ≈ 2.5 for an MNIST MLP in PyTorch), for jax (jit),
    torch.func and dualad: the generic ``train.forward_grad(MLP.loss, ...)`` over the numpy
    loss ``MLP.loss`` (row "dualad"), and the structured ``MLP.forward_grad`` (GEMMs + numba
    passes) over the loss through the same kernels, ``MLP.value``, and over ``MLP.loss``.
    The structured estimate is checked against the generic one (same seed) and both against
    (grad . v) v from numpy backprop before timing.

One core pinned, every thread pool at one thread; each entry is the median of interleaved
repeats. Every gradient is checked against numpy backprop before it is timed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
# first, before numpy, jax or torch: importing the harness sets every thread pool to one thread
from _harness import measure, print_table, setup  # noqa: E402

ARGS = setup(__doc__, "quick", "no-peers", "repeats",  # and pins to the last core
             quick="smoke run: 2 repeats, a short epoch", no_peers="do not import jax or torch")

import numpy as np  # noqa: E402

from dualad import optim, train  # noqa: E402

REPEATS = ARGS.repeats or (2 if ARGS.quick else 7)
BATCH = 64
SIZES = (64, 32, 10)


def load_data():
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        d = load_digits()
        X, y = d.data / 16.0, d.target
        Xtr, _, ytr, _ = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
        return Xtr, ytr, "sklearn load_digits, 1347 training samples"
    except ImportError:
        rng = np.random.default_rng(0)
        return (rng.uniform(0, 1, (1347, 64)), rng.integers(0, 10, 1347),
                "random stand-in data (scikit-learn not installed)")


def numpy_backprop(params, X, y):
    W1, b1, W2, b2 = params
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0.0)
    z = h @ W2 + b2
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e / e.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(e.sum(axis=1)) - z[np.arange(len(y)), y])
    G = s
    G[np.arange(len(y)), y] -= 1.0
    G /= len(y)
    dh = (G @ W2.T) * (z1 > 0)
    return loss, [X.T @ dh, dh.sum(0), h.T @ G, G.sum(0)]


def epoch_runner(grad_fn, params0, X, y, n_batches):
    """One epoch: n_batches mini-batches of 64 (fixed order), gradient + Adam update."""
    def run():
        params = [p.copy() for p in params0]
        opt = optim.Adam(0.005)
        for b in range(n_batches):
            sl = slice(b * BATCH, (b + 1) * BATCH)
            _, g = grad_fn(params, X[sl], y[sl])
            opt.step(params, [np.asarray(a, dtype=np.float64) for a in g])
    return run


def fmt(t):
    return f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s"


def main():
    X, y, source = load_data()
    model = train.MLP(SIZES)
    params = model.init(seed=0)
    n_batches = 3 if ARGS.quick else len(X) // BATCH
    want_v, want_g = numpy_backprop(params, X[:BATCH], y[:BATCH])

    def check(name, g, value=None):
        for a, b in zip(g, want_g):
            if not np.allclose(np.asarray(a), b, rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{name}: gradient differs from numpy backprop")

    grads = {
        "dualad exact, structured forward mode (MLP.exact_grad)": model.exact_grad,
        "dualad exact, one direction per parameter (train.exact_grad)":
            lambda p, a, b: train.exact_grad(train.MLP.loss, p, a, b),
        "numpy backprop (hand-written, reference)": numpy_backprop,
    }
    notes = []
    jax = torch = None
    if not ARGS.no_peers:
        try:
            import jax
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp

            def jloss(p, a, b):
                h = jnp.maximum(a @ p[0] + p[1], 0.0)
                z = h @ p[2] + p[3]
                return jnp.mean(jax.nn.logsumexp(z, axis=1) - z[jnp.arange(a.shape[0]), b])
            jgrad = jax.jit(jax.grad(jloss))
            jfwd = jax.jit(jax.jacfwd(jloss))
            grads["jax.jit(jax.grad)"] = lambda p, a, b: (None, jgrad(p, a, b))
            grads["jax.jit(jax.jacfwd)"] = lambda p, a, b: (None, jfwd(p, a, b))
        except ImportError as err:
            notes.append(f"jax not installed ({err}): its rows are skipped")
        try:
            import torch
            torch.set_num_threads(1)
            from torch.func import grad as tgrad, jacfwd as tjacfwd

            def tloss(p, a, b):
                h = torch.clamp(a @ p[0] + p[1], min=0.0)
                z = h @ p[2] + p[3]
                return torch.mean(torch.logsumexp(z, dim=1) - z[torch.arange(a.shape[0]), b])
            tg, tf = tgrad(tloss), tjacfwd(tloss)

            def torch_fn(f):
                def g(p, a, b):
                    r = f([torch.from_numpy(q) for q in p], torch.from_numpy(a),
                          torch.from_numpy(b))
                    return None, [t.numpy() for t in r]
                return g
            grads["torch.func.grad"] = torch_fn(tg)
            grads["torch.func.jacfwd"] = torch_fn(tf)
        except ImportError as err:
            notes.append(f"torch not installed ({err}): its rows are skipped")
    for name, fn in grads.items():
        check(name, fn(params, X[:BATCH], y[:BATCH])[1])

    print(f"dualad training benchmark ({'QUICK smoke run' if ARGS.quick else 'full run'}); "
          f"{source}")
    print(f"numpy {np.__version__}" + (f", jax {jax.__version__}" if jax else "")
          + (f", torch {torch.__version__}" if torch else "")
          + f"; one core, 1 thread, median of {REPEATS} interleaved repeats")
    for n in notes:
        print("note:", n)
    print()
    runners = {k: epoch_runner(fn, params, X, y, n_batches) for k, fn in grads.items()}
    timings = measure(runners, REPEATS)
    times = {k: timings.time(k) for k in timings}  # ratios below are of these medians
    base = times["numpy backprop (hand-written, reference)"]
    jf = times.get("jax.jit(jax.jacfwd)")
    print(f"(1) time per epoch ({n_batches} mini-batches of {BATCH}, gradient + Adam)")
    print()
    header = ["method", "time per epoch", "/ numpy backprop"] + (["/ jax.jacfwd"] if jf else [])
    rows = [[k, fmt(t), f"{t / base:.3g}"] + ([f"{t / jf:.3g}"] if jf else [])
            for k, t in times.items()]
    print_table(header, rows, align=False)
    print()

    def check_forward_grads(a, b):
        """Structured == generic (same seed) == (grad . v) v with numpy backprop's grad."""
        draw = np.random.default_rng(5)  # forward_grad's draws: leaf after leaf, shape + (k,)
        v = [draw.standard_normal(q.shape + (1,))[..., 0] for q in params]
        loss, grad = numpy_backprop(params, a, b)
        want = [t * sum(np.sum(g * u) for g, u in zip(grad, v)) for t in v]
        value, got = model.forward_grad(params, a, b, k=1, rng=5)
        generic_value, generic = train.forward_grad(train.MLP.loss, params, a, b, k=1, rng=5)
        for name, val, est in (("MLP.forward_grad", value, got),
                               ("train.forward_grad", generic_value, generic)):
            if not (np.isclose(val, loss, rtol=1e-12)
                    and all(np.allclose(e, w, rtol=1e-9, atol=1e-12) for e, w in zip(est, want))):
                raise AssertionError(f"{name}: estimate differs from (grad . v) v")
        if not all(np.allclose(e, w, rtol=1e-10, atol=0) for e, w in zip(got, generic)):
            raise AssertionError("MLP.forward_grad differs from train.forward_grad (same seed)")
        if not np.isclose(model.value(params, a, b), loss, rtol=1e-12):
            raise AssertionError("MLP.value differs from the loss")

    def section_two(size):
        a, b = X[:size], y[:size]
        check_forward_grads(a, b)
        rng = np.random.default_rng(0)
        vec_size = model.n_params
        contenders = {
            "dualad loss": lambda: train.MLP.loss(params, a, b),
            "dualad fwd-grad step": lambda: train.forward_grad(train.MLP.loss, params, a, b, k=1,
                                                               rng=rng),
            "dualad MLP.value": lambda: model.value(params, a, b),
            "dualad MLP.forward_grad": lambda: model.forward_grad(params, a, b, k=1, rng=rng),
        }
        if jax is not None:
            jl = jax.jit(jloss)
            jp = [jnp.asarray(q) for q in params]
            ja, jb = jnp.asarray(a), jnp.asarray(b)

            def jfg(p, v, a_, b_):
                val, d = jax.jvp(lambda q: jloss(q, a_, b_), (p,), (v,))
                return val, jax.tree_util.tree_map(lambda t: t * d, v)
            jfg = jax.jit(jfg)
            key = [jax.random.PRNGKey(0)]

            def jax_step():
                key[0], sub = jax.random.split(key[0])
                ks = jax.random.split(sub, len(jp))
                v = [jax.random.normal(k_, q.shape, q.dtype) for k_, q in zip(ks, jp)]
                jax.block_until_ready(jfg(jp, v, ja, jb))
            contenders["jax loss"] = lambda: jax.block_until_ready(jl(jp, ja, jb))
            contenders["jax fwd-grad step"] = jax_step
        if torch is not None:
            from torch.func import jvp as tjvp
            tp = [torch.from_numpy(q) for q in params]
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)

            def torch_step():
                v = [torch.randn_like(q) for q in tp]
                _, d = tjvp(lambda *q: tloss(list(q), ta, tb), tuple(tp), tuple(v))
                return [t * d for t in v]
            contenders["torch loss"] = lambda: tloss(tp, ta, tb)
            contenders["torch fwd-grad step"] = torch_step
        timings = measure(contenders, REPEATS * 2, 0.02 if ARGS.quick else 0.2)
        print(f"(2) forward gradient (one random tangent, {vec_size} parameters), batch of {size}")
        print()
        rows = {  # row: (loss evaluation, forward-gradient step)
            "dualad": ("dualad loss", "dualad fwd-grad step"),
            "dualad MLP.forward_grad / MLP.value": ("dualad MLP.value", "dualad MLP.forward_grad"),
            "dualad MLP.forward_grad / MLP.loss": ("dualad loss", "dualad MLP.forward_grad"),
            "jax": ("jax loss", "jax fwd-grad step"),
            "torch": ("torch loss", "torch fwd-grad step"),
        }
        print_table(["library", "loss evaluation", "forward-gradient step", "R_f"],
                    [[row, fmt(timings.time(loss)), fmt(timings.time(fg)),
                      f"{timings.ratio(fg, loss):.2f}"]
                     for row, (loss, fg) in rows.items() if loss in timings], align=False)
        print()
    # (2) forward-gradient step / loss evaluation, on a mini-batch and the whole set
    for size in (BATCH, len(X)):
        section_two(size)
    print("correctness: ok (every gradient timed matches numpy backprop; the forward gradients "
          "of dualad match (grad . v) v)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
