"""The tangent algebra on the trailing axis of directions.

Rule authors never touch partials: the chain rule (``chain``), the sum of contributions
(``accumulate``), splitting an operand at a tag (``split``) and building results (``make``)
all live here. A partials value of ``None`` means "constant at this tag": constants cost
nothing and no zero partials are materialized for them.
"""
import numpy as np

from .dual import DualNumber, make


def tag_of(x):
    return x._tag if isinstance(x, DualNumber) else -1


def top_tag(args):
    """The youngest tag among ``args`` (-1 when none is a dual)."""
    tag = -1
    for a in args:
        if isinstance(a, DualNumber) and a._tag > tag:
            tag = a._tag
    return tag


def split(x, tag):
    """``(value, partials)`` of ``x`` at ``tag``; partials is None for a constant."""
    if isinstance(x, DualNumber) and x._tag == tag:
        return x.value, x.partials
    return x, None


def primal(x):
    """The plain value under every layer of duals."""
    while isinstance(x, DualNumber):
        x = x.value
    return x


def _expand(d):
    # a derivative of shape S multiplies partials of shape S + (n,)
    if isinstance(d, (np.ndarray, DualNumber)):
        return d[..., None]
    return d


def chain(p, d):
    """``p * d`` on the direction axis: the chain rule for one argument.

    NaN-safe: where the derivative is infinite or nan (sqrt or log at 0) but the incoming
    tangent is exactly zero, the result is zero, not 0 * inf = nan.
    """
    if p is None:
        return None
    out = p * _expand(d)
    finite = np.isfinite(primal(d))
    if not np.all(finite):
        out = np.where(p == 0, 0.0, out)
    return out


def accumulate(*terms):
    """Sum of the non-None partials contributions (None when all are None)."""
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def n_directions(*parts):
    """The common number of directions of the non-None partials; mismatches are an error."""
    n = None
    for p in parts:
        if p is not None:
            m = p.shape[-1]
            if n is None:
                n = m
            elif m != n:
                raise ValueError(
                    f"dualad: cannot combine duals with {n} and {m} directions; "
                    "seed all inputs of one computation with the same number of directions")
    return n


def fit(p, shape):
    """Partials broadcast to a result of value shape ``shape`` (a read-only view if needed)."""
    target = tuple(shape) + p.shape[-1:]
    if p.shape == target:
        return p
    return np.broadcast_to(p, target)


def result(value, partials, tag):
    """A dual of ``tag`` from a value and its (possibly None or unbroadcast) partials."""
    value = np.asarray(value) if not isinstance(value, (np.ndarray, DualNumber)) else value
    if partials is None:
        return value
    return make(value, fit(partials, np.shape(value)), tag)


def zeros_partials(value, n, like=None):
    """Zero partials for ``value`` with ``n`` directions (dtype of ``like`` or of value)."""
    base = primal(value if like is None else like)
    return np.zeros(np.shape(value) + (n,), dtype=np.result_type(base))
