"""Optimizers with Keras semantics, on parameter pytrees (list, tuple or dict of arrays).

``step(params, grads)`` updates the array leaves in place (as Keras' ``assign``) and returns
``params``; float32 parameters stay float32.

>>> import numpy as np
>>> w = [np.array([1.0, 2.0])]
>>> SGD(lr=0.1).step(w, [np.array([1.0, -1.0])])[0].tolist()
[0.9, 2.1]
"""
import numpy as np

from ._pytree import leaves

__all__ = ["SGD", "Adam"]


class _Optimizer:
    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"dualad: learning rate must be positive, got {lr!r}")
        self.lr = lr
        self.iterations = 0
        self._slots = None

    def step(self, params, grads):
        """Apply one update to ``params`` from ``grads`` (same structure); returns params."""
        ps, gs = leaves(params), leaves(grads)
        if len(ps) != len(gs):
            raise ValueError(f"dualad: {len(ps)} parameters but {len(gs)} gradients")
        for p, g in zip(ps, gs):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                what = f"an array of dtype {p.dtype}" if isinstance(p, np.ndarray) \
                    else type(p).__name__
                raise TypeError(f"dualad: optimizer parameters must be float ndarrays, got {what}")
            if np.shape(g) != p.shape:
                raise ValueError(f"dualad: gradient of shape {np.shape(g)} for a parameter "
                                 f"of shape {p.shape}")
        if self._slots is None:
            self._slots = [self._init_slot(p) for p in ps]
        self.iterations += 1
        for p, g, slot in zip(ps, gs, self._slots):
            self._update(p, np.asarray(g, dtype=p.dtype), slot)
        return params

    def _init_slot(self, p):
        return None


class SGD(_Optimizer):
    """Gradient descent, with Keras' momentum and Nesterov momentum.

    ``m = momentum * m - lr * g``; then ``p += m`` (or ``p += momentum * m - lr * g``).

    >>> opt, w = SGD(lr=0.1, momentum=0.9), [np.array([1.0])]
    >>> [float(opt.step(w, [np.array([1.0])])[0][0]) for _ in range(2)]   # m = -0.1, -0.19
    [0.9, 0.71]
    """

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False):
        super().__init__(lr)
        if not 0 <= momentum < 1:
            raise ValueError(f"dualad: momentum must be in [0, 1), got {momentum!r}")
        self.momentum, self.nesterov = momentum, nesterov

    def _init_slot(self, p):
        return np.zeros_like(p) if self.momentum else None

    def _update(self, p, g, m):
        lr = p.dtype.type(self.lr)
        if m is None:
            p -= lr * g
            return
        mom = p.dtype.type(self.momentum)
        m *= mom
        m -= lr * g
        if self.nesterov:
            p += mom * m - lr * g
        else:
            p += m


class Adam(_Optimizer):
    """Adam as in Keras: bias-corrected step size, epsilon added to sqrt(v).

    ``alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``,
    ``p -= alpha * m / (sqrt(v) + epsilon)``.

    >>> w = [np.array([1.0])]
    >>> round(float(Adam(lr=0.1).step(w, [np.array([2.0])])[0][0]), 6)   # first step ~ lr
    0.9
    """

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(lr)
        for name, b in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0 <= b < 1:
                raise ValueError(f"dualad: {name} must be in [0, 1), got {b!r}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _init_slot(self, p):
        return np.zeros_like(p), np.zeros_like(p)

    def _update(self, p, g, slot):
        m, v = slot
        t = self.iterations
        dt = p.dtype.type
        one, b1, b2 = dt(1), dt(self.beta_1), dt(self.beta_2)
        # in the parameters' precision throughout, as Keras computes it
        alpha = dt(self.lr) * np.sqrt(one - b2 ** dt(t)) / (one - b1 ** dt(t))
        m += (g - m) * (one - b1)
        v += (g * g - v) * (one - b2)
        p -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))
