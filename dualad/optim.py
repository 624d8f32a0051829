"""Optimizers with Keras semantics, on parameter pytrees (list, tuple or dict of arrays).

``step(params, grads)`` updates the array leaves in place (as Keras' ``assign``) and returns
``params``; float32 parameters stay float32.

>>> import numpy as np
>>> w = [np.array([1.0, 2.0])]
>>> SGD(lr=0.1).step(w, [np.array([1.0, -1.0])])[0].tolist()
[0.9, 2.1]
"""
import numbers
from typing import Any, Callable, Optional, Tuple

import numpy as np

from .core.pytree import is_tree

__all__ = ["SGD", "Adam"]


def _real(name: str, x: Any, lo: float, hi: float, hi_open: bool = True,
          lo_open: bool = False) -> float:
    """``x`` as a float after checking it is a real number (not a bool) in the interval."""
    if not isinstance(x, numbers.Real) or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"dualad: {name} must be a real number, got {x!r}")
    x = float(x)
    if not ((lo < x if lo_open else lo <= x) and (x < hi if hi_open else x <= hi)):
        raise ValueError(f"dualad: {name} must be in {'(' if lo_open else '['}{lo}, {hi}"
                         f"{')' if hi_open else ']'}, got {x!r}")
    return x


def _bool(name: str, x: Any) -> bool:
    # a string such as "no" would otherwise count as True
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"dualad: {name} must be a bool, got {x!r}")
    return bool(x)


def _describe(t: Any) -> str:
    if isinstance(t, dict):
        return f"a dict with keys {list(t)}"
    if is_tree(t):
        return f"a {type(t).__name__} of {len(t)}"
    return "an array" if isinstance(t, np.ndarray) else type(t).__name__


def _pair(p: Any, g: Any, ps: list[Any], gs: list[Any]) -> Any:
    """Append the leaves of the parameters ``p`` and the gradients ``g`` to ``ps``, ``gs``,
    pairing dict entries by key (not by insertion order); returns ``p``'s structure (dict keys
    and nesting), which the optimizer's state is bound to."""
    if isinstance(p, dict):
        if not isinstance(g, dict) or g.keys() != p.keys():
            raise _mismatch(p, g)
        return tuple((k, _pair(v, g[k], ps, gs)) for k, v in p.items())
    if is_tree(p):
        if not isinstance(g, (list, tuple)) or len(g) != len(p):
            raise _mismatch(p, g)
        return tuple(_pair(v, w, ps, gs) for v, w in zip(p, g))
    if is_tree(g):
        raise _mismatch(p, g)
    ps.append(p)
    gs.append(g)
    return None


def _mismatch(p: Any, g: Any) -> ValueError:
    return ValueError(f"dualad: gradients must have the parameters' structure: parameters "
                      f"{_describe(p)}, got {_describe(g)}")


class _Optimizer:
    _slots: Optional[list[Any]]
    _layout: Any
    _update: Callable[[np.ndarray, np.ndarray, Any], None]  # (each optimizer's)

    def __init__(self, lr: float) -> None:
        self.lr = _real("learning rate", lr, 0, np.inf, lo_open=True)
        self.iterations = 0
        self._slots = self._layout = None

    def step(self, params: Any, grads: Any) -> Any:
        """Apply one update to ``params`` from ``grads`` (same structure; dicts are paired
        by key); returns params."""
        ps: list[Any] = []
        gs: list[Any] = []
        structure = _pair(params, grads, ps, gs)
        for i, (p, g) in enumerate(zip(ps, gs)):
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                what = f"an array of dtype {p.dtype}" if isinstance(p, np.ndarray) \
                    else type(p).__name__
                raise TypeError(f"dualad: optimizer parameters must be float ndarrays, got {what}")
            gs[i] = g = np.asarray(g)
            if g.dtype.kind not in "biuf":  # casting would drop imaginary parts or parse text
                raise TypeError(f"dualad: gradients must be real numbers, got dtype {g.dtype}")
            if g.shape != p.shape:
                raise ValueError(f"dualad: gradient of shape {g.shape} for a parameter "
                                 f"of shape {p.shape}")
        layout = structure, [(p.shape, p.dtype) for p in ps]
        if self._slots is None:
            self._slots, self._layout = [self._init_slot(p) for p in ps], layout
        elif layout != self._layout:  # the state (momenta, moments) belongs to other arrays
            raise ValueError(_layout_error(self._layout, layout))
        self.iterations += 1
        for p, g, slot in zip(ps, gs, self._slots):
            self._update(p, g.astype(p.dtype, copy=False), slot)
        return params

    def _init_slot(self, p: np.ndarray) -> Any:
        return None


def _layout_error(built: Tuple[Any, Any], got: Tuple[Any, Any]) -> str:
    (structure, arrays), (new_structure, new_arrays) = built, got
    shapes, new_shapes = [s for s, _ in arrays], [s for s, _ in new_arrays]
    if structure != new_structure and len(shapes) == len(new_shapes):
        what = "another structure (containers, dict keys or their order)"
    elif shapes != new_shapes:
        what = f"parameters {shapes}, got {new_shapes}"
    else:
        what = f"dtypes {[str(d) for _, d in arrays]}, got {[str(d) for _, d in new_arrays]}"
    return f"dualad: this optimizer's state was built for {what}; use one optimizer per " \
           "set of parameters"


class SGD(_Optimizer):
    """Gradient descent, with Keras' momentum and Nesterov momentum.

    ``m = momentum * m - lr * g``; then ``p += m`` (or ``p += momentum * m - lr * g``).

    >>> opt, w = SGD(lr=0.1, momentum=0.9), [np.array([1.0])]
    >>> [float(opt.step(w, [np.array([1.0])])[0][0]) for _ in range(2)]   # m = -0.1, -0.19
    [0.9, 0.71]
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, nesterov: bool = False) -> None:
        super().__init__(lr)
        self.momentum = _real("momentum", momentum, 0, 1)
        self.nesterov = _bool("nesterov", nesterov)

    def _init_slot(self, p: np.ndarray) -> Any:
        return np.zeros_like(p) if self.momentum else None

    def _update(self, p: np.ndarray, g: np.ndarray, m: Any) -> None:
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

    def __init__(self, lr: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7) -> None:
        super().__init__(lr)
        self.beta_1, self.beta_2 = _real("beta_1", beta_1, 0, 1), _real("beta_2", beta_2, 0, 1)
        self.epsilon = _real("epsilon", epsilon, 0, np.inf)

    def _init_slot(self, p: np.ndarray) -> Any:
        return np.zeros_like(p), np.zeros_like(p)

    def _update(self, p: np.ndarray, g: np.ndarray, slot: Any) -> None:
        m, v = slot
        t = self.iterations
        dt = p.dtype.type
        one, b1, b2 = dt(1), dt(self.beta_1), dt(self.beta_2)
        # in the parameters' precision throughout, as Keras computes it
        alpha = dt(self.lr) * np.sqrt(one - b2 ** dt(t)) / (one - b1 ** dt(t))
        m += (g - m) * (one - b1)
        v += (g * g - v) * (one - b2)
        p -= (m * alpha) / (np.sqrt(v) + dt(self.epsilon))
