"""Training with forward-mode gradients: exact (chunked) and forward gradients.

A loss is a function ``loss(params, *batch)`` of a parameter pytree (a list, tuple or dict of
float arrays) returning a scalar; it is ordinary numpy code. Two ways to get its gradient:

- ``exact_grad``: the true gradient by chunked forward mode, one direction per parameter
  (``chunk_size`` directions per pass) — for small and medium models.
- ``forward_grad``: the forward gradient of Baydin et al. 2022 ("Gradients without
  Backpropagation"): ``g = (1/K) sum_k (grad L . v_k) v_k`` for K standard-normal tangents
  ``v_k``, an unbiased estimate of the gradient from one jvp with K directions — for larger
  models.

``step(loss, params, optimizer, *batch)`` computes one of them and applies the optimizer
(``dualad.optim``) in place; ``fit`` loops over epochs and mini-batches with a progress bar
(tqdm when installed, else one plain line per epoch) and saves a loss-curve PNG when
matplotlib is installed.

``MLP`` is a dense ReLU network with a softmax cross-entropy loss whose exact gradient uses the
layers' structure: the tangent of ``z = h W + b`` along the direction ``W_ij`` is ``h_i e_j``,
so instead of one direction per weight (2410 for a 64-32-10 network) only one direction per
pre-activation unit travels (42), seeded at each layer's ``z`` and pushed forward through the
rest of the network in one GEMM per layer; then ``dL/dW_ij = sum_batch h_i (dL/dz_j)``.
``MLP.forward_grad`` is ``forward_grad`` of ``MLP.loss`` (the same tangents and estimate) with
the values and tangents of each layer pushed through BLAS GEMMs and one numba pass
(``dualad._mlp``) instead of one dual operation at a time; ``MLP.value`` is the loss through
the same code with no tangents.

>>> import numpy as np
>>> from dualad import optim
>>> X, Y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
>>> loss = lambda p, x, y: np.sum((y - p["a"] * x) ** 2)
>>> params = {"a": np.array(0.0)}
>>> value, grads = exact_grad(loss, params, X, Y)
>>> value, float(grads["a"])
(56.0, -56.0)
"""
import sys
import time
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import numpy as np

from . import _mlp
from .api import _jvp_leaves, _value_and_jacobian, jvp_many
from .core.pytree import flatten, leaves, rebuild
from .errors import whole

__all__ = ["exact_grad", "forward_grad", "step", "fit", "History", "MLP"]


def _leaf_arrays(params: Any) -> list[Any]:
    out = leaves(params)
    for p in out:
        if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
            raise TypeError("dualad: parameters must be float ndarrays (in a list, tuple or "
                            f"dict), got {type(p).__name__}")
    if not out:
        raise ValueError("dualad: params has no arrays (an empty dict)")
    return out


def _scalar(value: Any) -> float:
    if np.ndim(value) != 0:
        raise ValueError(f"dualad: the loss must return a scalar, got shape {np.shape(value)}")
    return float(value)


def exact_grad(loss: Callable[..., Any], params: Any, *batch: Any,
               chunk_size: Optional[int] = None) -> Tuple[float, Any]:
    """``(loss value, gradient pytree)`` by forward mode, ``chunk_size`` parameters a pass
    (from ``jacobian``'s memory budget when None).

    >>> loss = lambda p, x: np.sum((p["w"] * x - 1.0) ** 2)
    >>> value, g = exact_grad(loss, {"w": np.array([2.0])}, np.array([1.0, 2.0]))
    >>> value, g["w"].tolist()                     # 2*1*1 + 2*3*2
    (10.0, [14.0])
    """
    _leaf_arrays(params)
    vector, unflatten = flatten(params)
    value, grad = _value_and_jacobian(lambda v: loss(unflatten(v), *batch), vector,
                                      chunk_size)
    return _scalar(value), unflatten(grad)


def forward_grad(loss: Callable[..., Any], params: Any, *batch: Any, k: int = 1,
                 rng: Any = None) -> Tuple[float, Any]:
    """``(loss value, unbiased gradient estimate)`` from ``k`` random tangents (one jvp).

    ``E[(grad . v) v] = grad`` for ``v ~ N(0, I)`` (Baydin et al. 2022); ``k`` directions
    travel together and are averaged.

    >>> loss = lambda p: np.sum(p[0] ** 2)        # gradient (2, -2) at (1, -1)
    >>> value, g = forward_grad(loss, [np.array([1.0, -1.0])], k=4000, rng=0)
    >>> value, np.allclose(g[0], [2.0, -2.0], atol=0.2)
    (2.0, True)
    """
    _check_k(k)
    arrays, tangents = _draw_tangents(_leaf_arrays(params), k, rng)
    # one dual per leaf (no flattening and slicing of duals): one jvp along all tangents
    value, partials = _jvp_leaves(lambda *duals: loss(rebuild(params, duals), *batch), arrays,
                                  tangents)
    return _scalar(value), rebuild(params, _estimate(arrays, tangents, partials))


def _check_k(k: Any) -> None:
    whole(k, "k (the number of tangents)", 1)


def _draw_tangents(arrays: Sequence[np.ndarray], k: int,
                   rng: Any) -> Tuple[list[np.ndarray], list[np.ndarray]]:
    """``(arrays, tangents)``: the leaves in one float dtype (as flatten would) and a
    standard-normal tangent ``a.shape + (k,)`` per leaf, drawn in leaf order from
    ``np.random.default_rng(rng)`` — the draws every forward gradient shares."""
    rng = np.random.default_rng(rng)
    arrays = _one_dtype(arrays)
    return arrays, [rng.standard_normal(a.shape + (k,)).astype(a.dtype, copy=False)
                    for a in arrays]


def _one_dtype(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    dtype = np.result_type(*(a.dtype for a in arrays))
    return [a.astype(dtype, copy=False) for a in arrays]


def _estimate(arrays: Sequence[np.ndarray], tangents: Sequence[np.ndarray],
              partials: Any) -> list[np.ndarray]:
    """The forward gradient ``(1/k) sum_i d_i v_i`` per leaf, from the k directional
    derivatives ``partials`` along the ``tangents``."""
    k = tangents[0].shape[-1]
    d = np.asarray(partials).reshape(k)
    if k == 1:  # one product per entry: a matmul's call costs more than that on small leaves
        return [(t[..., 0] * d[0]).astype(a.dtype, copy=False) for t, a in zip(tangents, arrays)]
    return [(t.reshape(-1, k) @ d / k).astype(a.dtype, copy=False).reshape(a.shape)
            for t, a in zip(tangents, arrays)]


def step(loss: Callable[..., Any], params: Any, optimizer: Any, *batch: Any, method: str = "exact",
         k: int = 1, rng: Any = None, chunk_size: Optional[int] = None,
         grad_fn: Optional[Callable[..., Any]] = None) -> Any:
    """One training step: gradient by ``method`` ('exact' or 'forward'), optimizer update.

    Updates ``params`` in place and returns the loss value before the update. ``grad_fn``
    replaces the generic gradient (e.g. ``MLP.exact_grad``).

    >>> from dualad.optim import SGD
    >>> params = [np.array([3.0])]
    >>> step(lambda p: np.sum(p[0] ** 2), params, SGD(lr=0.25)), params[0].tolist()
    (9.0, [1.5])
    """
    # checked before the gradient, which may take long
    if isinstance(optimizer, type) or not callable(getattr(optimizer, "step", None)):
        raise TypeError("dualad: optimizer must be an optimizer instance with a step(params, "
                        f"grads) method, such as optim.SGD(0.01), got {optimizer!r}")
    if grad_fn is not None:
        value, grads = grad_fn(params, *batch)
    elif method == "exact":
        value, grads = exact_grad(loss, params, *batch, chunk_size=chunk_size)
    elif method == "forward":
        value, grads = forward_grad(loss, params, *batch, k=k, rng=rng)
    else:
        raise ValueError(f"dualad: method must be 'exact' or 'forward', got {method!r}")
    optimizer.step(params, grads)
    return value


class History:
    """Losses of a ``fit`` run: ``losses`` per step, ``epoch_losses`` (mean per epoch),
    ``epoch_times`` (seconds), ``plot`` (the PNG written, or None).

    >>> History()
    History(0 epochs, 0 steps, last -)
    """

    losses: list[Any]
    epoch_losses: list[float]
    epoch_times: list[float]
    plot: Optional[str]

    def __init__(self) -> None:
        self.losses, self.epoch_losses, self.epoch_times, self.plot = [], [], [], None

    def __repr__(self) -> str:
        last = f"{self.epoch_losses[-1]:.6g}" if self.epoch_losses else "-"
        return f"History({len(self.epoch_losses)} epochs, {len(self.losses)} steps, last {last})"


def _batches(n: int, batch_size: Any, rng: Any) -> Iterator[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


class _Progress:
    """tqdm when installed and asked for, else one plain line per epoch (or nothing)."""

    bar: Any  # a tqdm progress bar, or None

    def __init__(self, total: int, enabled: bool, desc: str) -> None:
        self.bar, self.enabled = None, enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=desc, leave=True, file=sys.stderr)
            except ImportError:
                pass

    def update(self, epoch: int, epochs: int, loss: float, seconds: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix(loss=f"{loss:.5g}")
            self.bar.update(1)
        elif self.enabled:
            print(f"epoch {epoch}/{epochs}: loss {loss:.6g} ({seconds:.2f} s)",
                  file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fit(loss: Callable[..., Any], params: Any, optimizer: Any, data: Sequence[Any] = (),
        epochs: int = 1, batch_size: Optional[int] = None, method: str = "exact", k: int = 1,
        seed: Any = 0, grad_fn: Optional[Callable[..., Any]] = None,
        chunk_size: Optional[int] = None, progress: bool = True, plot: Any = None,
        callback: Optional[Callable[[int, History], Any]] = None) -> History:
    """Train ``params`` in place; returns a ``History``.

    ``data``: a tuple of arrays whose first axis indexes samples, sliced into shuffled
    mini-batches of ``batch_size`` (the whole data set, unshuffled, when None) and passed to
    ``loss(params, *batch)``. ``plot``: a PNG path for the loss curve (written only when
    matplotlib is installed). ``callback(epoch, history)`` runs after every epoch.

    >>> from dualad.optim import Adam
    >>> params = [np.zeros(1)]
    >>> x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    >>> hist = fit(lambda p, x, y: np.mean((p[0] * x - y) ** 2), params, Adam(0.1),
    ...            data=(x, y), epochs=300, progress=False)
    >>> round(float(params[0][0]), 3), len(hist.epoch_losses)
    (2.0, 300)
    """
    n = _samples(data)
    data = tuple(np.asarray(d) for d in data)
    rng = np.random.default_rng(seed)
    shuffle = batch_size is not None
    if shuffle:
        whole(batch_size, "batch_size (None: the whole data)", 1)
    else:
        batch_size = n
    history = History()
    bar = _Progress(epochs, progress, method)
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            epoch_losses: list[float] = []
            for idx in _batches(n, batch_size, rng if shuffle else None):
                batch = tuple(d[idx] for d in data)
                value = step(loss, params, optimizer, *batch, method=method, k=k, rng=rng,
                             chunk_size=chunk_size, grad_fn=grad_fn)
                history.losses.append(value)
                epoch_losses.append(value)
            history.epoch_times.append(time.perf_counter() - t0)
            history.epoch_losses.append(float(np.mean(epoch_losses)))
            bar.update(epoch, epochs, history.epoch_losses[-1], history.epoch_times[-1])
            if callback is not None:
                callback(epoch, history)
    finally:
        bar.close()
    if plot is not None:
        history.plot = save_loss_curve(history, plot)
    return history


def _samples(data: Any) -> int:
    """The number of samples in ``fit``'s ``data`` (1 when there is no data), checked."""
    if not isinstance(data, (tuple, list)):
        raise TypeError("dualad: data must be a tuple of arrays (X, y, ...), got "
                        f"{type(data).__name__}")
    lengths = []
    for i, d in enumerate(data):
        if np.ndim(d) == 0:
            raise ValueError(f"dualad: data[{i}] has no sample axis (a 0-d array)")
        lengths.append(len(d))
    if len(set(lengths)) > 1:  # zipping them would drop samples silently
        raise ValueError("dualad: the arrays in data must have the same number of samples "
                         f"(first axis), got {lengths}")
    if data and lengths[0] == 0:
        raise ValueError("dualad: data has no samples")
    return lengths[0] if data else 1


def save_loss_curve(history: History, path: Any,
                    title: str = "training loss") -> Optional[str]:
    """Write the loss curve to ``path`` (PNG); returns the path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(np.arange(1, len(history.losses) + 1), history.losses, lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if min(history.losses) > 0 and max(history.losses) / min(history.losses) > 50:
        ax.set_yscale("log")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


# --- a dense ReLU network with softmax cross-entropy ---------------------------------------
class MLP:
    """Dense layers with ReLU between them and a softmax cross-entropy loss.

    ``params`` is a list ``[W1, b1, W2, b2, ...]``; ``loss(params, X, labels)`` is the mean
    cross-entropy (plain numpy code, so every dualad helper applies to it);
    ``exact_grad(params, X, labels)`` is its exact gradient by structured forward mode.

    >>> model = MLP([4, 3, 2])
    >>> params = model.init(seed=0)
    >>> X, labels = np.ones((5, 4)), np.array([0, 1, 0, 1, 1])
    >>> value, grads = model.exact_grad(params, X, labels)
    >>> from dualad.api import gradient
    >>> generic = gradient(lambda p: MLP.loss(p, X, labels), params)
    >>> all(np.allclose(g, h) for g, h in zip(grads, generic)), model.n_params
    (True, 23)
    """

    sizes: Tuple[int, ...]
    dtype: np.dtype

    def __init__(self, sizes: Sequence[int], dtype: Any = np.float64) -> None:
        if len(sizes) < 2:
            raise ValueError("dualad: an MLP needs at least an input and an output size")
        self.sizes, self.dtype = tuple(int(s) for s in sizes), np.dtype(dtype)

    def init(self, seed: Any = 0) -> list[np.ndarray]:
        """He-initialized weights and zero biases."""
        rng = np.random.default_rng(seed)
        params = []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            params.append((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in))
                          .astype(self.dtype))
            params.append(np.zeros(fan_out, dtype=self.dtype))
        return params

    @property
    def n_params(self) -> int:
        return sum(a * b + b for a, b in zip(self.sizes[:-1], self.sizes[1:]))

    @staticmethod
    def logits(params: Sequence[Any], X: Any) -> Any:
        h = X
        for layer in range(0, len(params) - 2, 2):
            h = np.maximum(h @ params[layer] + params[layer + 1], 0.0)
        return h @ params[-2] + params[-1]

    @classmethod
    def loss(cls, params: Sequence[Any], X: Any, labels: Any) -> Any:
        z = cls.logits(params, X)
        return np.mean(cls._ce_rows(z, _labels(labels, len(z), z.shape[-1])))

    def predict(self, params: Sequence[Any], X: Any) -> np.ndarray:
        return np.argmax(self.logits(params, X), axis=1)

    def accuracy(self, params: Sequence[Any], X: Any, labels: Any) -> float:
        return float(np.mean(self.predict(params, X) == labels))

    def exact_grad(self, params: Sequence[Any], X: Any, labels: Any) -> Tuple[float, list[Any]]:
        """``(loss, gradient)`` exactly, by forward mode seeded at each layer's output.

        For layer l, the directions are the unit vectors of its pre-activation ``z_l``
        (one per unit), pushed through the rest of the network as duals — one GEMM per
        layer for all of them — giving ``G_l = dL/dz_l`` (batch x units). The chain rule for
        ``z_l = h W_l + b_l`` along ``W_l[i, j]`` (tangent ``h_i e_j``) then gives
        ``dL/dW_l = h^T G_l`` and ``dL/db_l = sum_batch G_l``.
        """
        params = self._leaves(params)
        X, labels = self._batch(X, labels)
        n_layers = len(params) // 2
        hs, zs = [X.astype(params[0].dtype, copy=False)], []
        for layer in range(n_layers):
            z = hs[-1] @ params[2 * layer] + params[2 * layer + 1]
            zs.append(z)
            if layer < n_layers - 1:
                hs.append(np.maximum(z, 0.0))
        value: Any = None
        grads: list[Any] = [None] * len(params)
        for layer in range(n_layers):
            rest = params[2 * layer + 2:]
            relu = layer < n_layers - 1

            def tail(z, rest=rest, relu=relu):
                h = np.maximum(z, 0.0) if relu else z
                for j in range(0, len(rest), 2):
                    h = h @ rest[j] + rest[j + 1]
                    if j + 2 < len(rest):
                        h = np.maximum(h, 0.0)
                return self._ce_rows(h, labels)
            G, value = self._grad_at(tail, zs[layer])
            grads[2 * layer] = hs[layer].T @ G
            grads[2 * layer + 1] = G.sum(axis=0)
        return value, grads

    def forward_grad(self, params: Sequence[Any], X: Any, labels: Any, k: int = 1,
                     rng: Any = None) -> Tuple[float, Any]:
        """``(loss, forward gradient)``: ``train.forward_grad(MLP.loss, params, X, labels,
        k=k, rng=rng)`` — the same random tangents, the same estimate — by a structured pass.

        The values and their ``k`` tangents travel together through BLAS GEMMs (two per
        layer, one for the first) and one numba pass per layer for everything elementwise
        (``dualad._mlp``), instead of one dual operation at a time.

        >>> model = MLP([4, 3, 2])
        >>> params = model.init(seed=0)
        >>> X, labels = np.ones((5, 4)), np.array([0, 1, 0, 1, 1])
        >>> value, g = model.forward_grad(params, X, labels, k=2, rng=7)
        >>> generic = forward_grad(MLP.loss, params, X, labels, k=2, rng=7)
        >>> abs(value - generic[0]) < 1e-12 and all(np.allclose(a, b, rtol=1e-12, atol=1e-15)
        ...                                          for a, b in zip(g, generic[1]))
        True
        """
        _check_k(k)
        arrays, tangents = _draw_tangents(self._leaves(params), k, rng)
        value, d = self._pass(arrays, tangents, X, labels)
        return value, rebuild(params, _estimate(arrays, tangents, d))

    def value(self, params: Sequence[Any], X: Any, labels: Any) -> float:
        """The mean loss (``MLP.loss``) through the kernels of ``forward_grad``, with no
        tangents: its cost is the denominator of ``forward_grad``'s R_f.

        >>> model = MLP([4, 3, 2])
        >>> params = model.init(seed=0)
        >>> X, labels = np.ones((5, 4)), np.array([0, 1, 0, 1, 1])
        >>> round(model.value(params, X, labels), 12), round(float(MLP.loss(params, X, labels)), 12)
        (0.673145829508, 0.673145829508)
        """
        arrays = _one_dtype(self._leaves(params))
        return self._pass(arrays, [np.empty(a.shape + (0,), a.dtype) for a in arrays], X,
                          labels)[0]

    def _leaves(self, params: Any) -> list[Any]:
        if not isinstance(params, (list, tuple)):
            raise TypeError("dualad: MLP parameters must be a list [W1, b1, W2, b2, ...], got "
                            f"{type(params).__name__}")
        arrays = _leaf_arrays(params)
        shapes = [s for a, b in zip(self.sizes[:-1], self.sizes[1:]) for s in ((a, b), (b,))]
        if [a.shape for a in arrays] != shapes:
            raise ValueError(f"dualad: the parameters of MLP{list(self.sizes)} have shapes "
                             f"{shapes}, got {[a.shape for a in arrays]}")
        return arrays

    def _batch(self, X: Any, labels: Any) -> Tuple[np.ndarray, np.ndarray]:
        """``(X, labels)`` as arrays (labels intp), checked against the network's sizes."""
        X, labels = np.asarray(X), np.asarray(labels)
        if X.dtype.kind not in "iuf" or labels.dtype.kind not in "iu":
            raise TypeError("dualad: X must be a real array and labels integers, got "
                            f"{X.dtype} and {labels.dtype}")
        if X.ndim != 2 or X.shape[1] != self.sizes[0] or len(X) == 0:
            raise ValueError(f"dualad: X must be a non-empty 2-D array with {self.sizes[0]} "
                             f"columns, got shape {X.shape}")
        return X, _labels(labels, len(X), self.sizes[-1])

    def _pass(self, arrays: Sequence[np.ndarray], tangents: Sequence[np.ndarray], X: Any,
              labels: Any) -> Any:
        """``(mean loss, its k directional derivatives)`` along ``tangents`` (leaf shapes
        + (k,), k may be 0), layout as in ``dualad._mlp``."""
        X, labels = self._batch(X, labels)
        dtype = np.result_type(arrays[0].dtype, X.dtype)  # as numpy's X @ W would
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"dualad: MLP.forward_grad computes in float32 or float64, not "
                            f"{dtype}")
        h = X.astype(dtype, copy=False)
        batch, k = len(X), tangents[0].shape[-1]
        n_layers = len(arrays) // 2
        none = np.empty((0, 0, 0), dtype)
        for layer in range(n_layers):
            W, b = (a.astype(dtype, copy=False) for a in arrays[2 * layer:2 * layer + 2])
            V, db = (t.astype(dtype, copy=False) for t in tangents[2 * layer:2 * layer + 2])
            n_in, n_out = W.shape
            Vt = V.transpose(0, 2, 1)  # (in, k, out): h @ Vt is direction-major like G
            if layer == 0:  # X has no tangent: [value | parameter terms] in one GEMM
                Wv = np.concatenate([W[:, None, :], Vt], axis=1) if k else W
                G, P = (h @ Wv.reshape(n_in, -1)).reshape(batch, 1 + k, n_out), none
            else:  # [value; propagated terms] @ W, and the parameter terms h @ Vt
                G = (h.reshape(-1, n_in) @ W).reshape(batch, 1 + k, n_out)
                P = (h[:, 0, :] @ Vt.reshape(n_in, -1)).reshape(batch, k, n_out) if k \
                    else none
            dbt = np.ascontiguousarray(db.T)
            propagated = P is not none
            if layer == n_layers - 1:
                value, d = _mlp.output_pass(G, P, b, dbt, propagated, labels)
                return value, d.astype(dtype, copy=False)
            _mlp.hidden_pass(G, P, b, dbt, propagated)
            h = G

    @staticmethod
    def _ce_rows(z: Any, labels: np.ndarray) -> Any:
        """Cross-entropy of each row (sample) of the logits ``z``; the callers check the
        labels (``_labels``): indexing would take -1 as the last class."""
        zv = z.value if hasattr(z, "value") else z
        z = z - np.max(zv, axis=1, keepdims=True)
        return np.log(np.sum(np.exp(z), axis=1)) - z[np.arange(len(labels)), labels]

    @staticmethod
    def _grad_at(tail: Callable[..., Any], z: np.ndarray) -> Tuple[Any, float]:
        """``(dL/dz, L)`` for ``L = mean(tail(z))``, one direction per unit of ``z``.

        Row b of ``tail(z)`` depends on row b of ``z`` only, so the unit vector e_j is
        seeded in every row at once: the row-b partials along it are ``d tail_b / dz_bj``.
        """
        batch, units = z.shape
        seed = np.ascontiguousarray(np.broadcast_to(np.eye(units, dtype=z.dtype),
                                                    (batch, units, units)))
        rows, partials = jvp_many(tail, z, seed)
        return partials / batch, float(np.mean(rows))


def _labels(labels: Any, rows: int, n_classes: int) -> np.ndarray:
    """``labels`` as a contiguous intp array, checked: integers, one per row, each in
    [0, n_classes) (numpy indexing would take -1 as the last class)."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"dualad: labels must be integers (class indices), got {labels.dtype}")
    if labels.shape != (rows,):
        raise ValueError(f"dualad: labels must have one entry per row of X, shape ({rows},), "
                         f"got {labels.shape}")
    labels = np.ascontiguousarray(labels, dtype=np.intp)
    bad = _mlp.first_bad_label(labels, n_classes)  # compiled: runs on every loss evaluation
    if bad >= 0:
        raise ValueError(f"dualad: labels must be in [0, {n_classes}), got {labels[bad]} at "
                         f"row {bad}")
    return labels
