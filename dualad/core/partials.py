"""The tangent algebra on the trailing axis of directions.

Rule authors never touch partials: the chain rule (``chain``), the sum of contributions
(``accumulate``), splitting an operand at a tag (``split``) and building results (``make``)
all live here. A partials value of ``None`` means "constant at this tag": constants cost
nothing and no zero partials are materialized for them.
"""
import math
from typing import Any, Callable, Sequence, Tuple

import numpy as np

from .. import config
from . import hooks
from .dual import DualNumber, make, primal
from .tags import fresh


def tag_of(x: Any) -> int:
    return x._tag if isinstance(x, DualNumber) else -1


def top_tag(args: Sequence[Any]) -> int:
    """The youngest tag among ``args`` (-1 when none is a dual)."""
    tag = -1
    for a in args:
        if isinstance(a, DualNumber) and a._tag > tag:
            tag = a._tag
    return tag


def split(x: Any, tag: int) -> Tuple[Any, Any]:
    """``(value, partials)`` of ``x`` at ``tag``; partials is None for a constant."""
    if isinstance(x, DualNumber) and x._tag == tag:
        return x.value, x.partials
    return x, None


def split_all(*operands: Any) -> Tuple[int, Tuple[Any, ...], Tuple[Any, ...]]:
    """``(tag, values, partials)`` of several operands at their youngest tag."""
    tag = top_tag(operands)
    values, partials = zip(*(split(o, tag) for o in operands))
    n_directions(*partials)
    return tag, values, partials


def _expand(d: Any) -> Any:
    # a derivative of shape S multiplies partials of shape S + (n,)
    if isinstance(d, (np.ndarray, DualNumber)):
        return d[..., None]
    return d


# --- THE chain rule ----------------------------------------------------------------------
# ``times`` is the one definition of the guarded product. Every route computes exactly this,
# elementwise: ``chain`` below with numpy (``np.where``: +0.0 where p == 0 and d is not
# finite), dualad.accel's kernels by compiling ``times`` itself with numba, the scalar duals
# and HyperDual by calling it or its numpy form. tests/test_chain_rule.py compares their bits
# on the grid p, d in {±0, ±inf, nan, normal}.
def times(p: Any, d: Any, guard: bool = True) -> Any:
    """``p * d``, except that a zero tangent stays (+0.0) zero where the derivative ``d`` is
    inf or nan: 0 * inf would be nan (sqrt or log at 0 with a constant input).

    >>> times(0.0, float("inf")), times(-0.0, float("inf")), times(2.0, 3.0)
    (0.0, 0.0, 6.0)
    """
    # (d - d == 0 is isfinite(d), also for scalar duals, whose comparisons read values)
    if guard and p == 0.0 and not d - d == 0:
        return 0.0
    return p * d


def chain(p: Any, d: Any, guard: bool = True, scratch: bool = False) -> Any:
    """``p * d`` on the direction axis: the chain rule for one argument.

    NaN-safe: where the derivative is infinite or nan (sqrt or log at 0) but the incoming
    tangent is exactly zero, the result is zero, not 0 * inf = nan. ``guard=False`` skips
    the check for derivatives known to be finite; ``scratch=True`` says ``d`` is a temporary
    the caller gives up, so its memory may hold the result.
    """
    if p is None:
        return None
    kernels = hooks.chain_kernels
    if kernels is not None and _large(p) and kernels.fusable((p,), (d,)):
        n = p.shape[-1]
        # a derivative array nobody else holds can take the result when n == 1
        out = d[..., None] if n == 1 and scratch else np.empty_like(p)
        kernels.chain1(p.reshape(-1, n), d.reshape(-1), guard, out.reshape(-1, n))
        return out
    if not guard:
        return p * _expand(d)
    return times_array(p, _expand(d))


def _large(p: Any) -> bool:
    # enough partials for the chain-rule kernels (accel): below, numpy's passes are cheaper
    return type(p) is np.ndarray and p.size >= config.CHAIN_KERNEL_MIN_SIZE


def times_array(p: Any, d: Any) -> Any:
    """``times`` elementwise on (broadcasting) arrays: +0.0 where p == 0 and d is not
    finite, else ``p * d``."""
    with np.errstate(invalid="ignore"):  # 0 * inf: repaired just below, not an error
        out = p * d
    if not all_finite(d):
        out = np.where((p == 0) & ~np.isfinite(primal(d)), 0.0, out)
    return out


def all_finite(d: Any) -> bool:
    # one cheap reduction: a sum is finite only if every term is (an overflowing sum just
    # takes the exact path, which is also correct)
    if isinstance(d, (float, np.floating)):  # (np.float64 is a float)
        return math.isfinite(d)
    d = primal(d)
    if type(d) is np.ndarray:
        total = np.add.reduce(d, axis=None)
        return math.isfinite(total) if d.dtype.kind == "f" else bool(np.isfinite(total))
    return bool(np.isfinite(np.sum(d)))


def chain_same(p: Any, dx: Any, dy: Any, guard: bool = True) -> Any:
    """``chain(p, dx + dy)``: a binary rule applied to one dual twice (x * x)."""
    kernels = hooks.chain_kernels
    if kernels is not None and _large(p) and kernels.fusable((p,), (dx, dy)):
        out = np.empty_like(p)
        n = p.shape[-1]
        kernels.chain_same(p.reshape(-1, n), dx.reshape(-1), dy.reshape(-1), guard,
                           out.reshape(-1, n))
        return out
    return chain(p, np.add(dx, dy), guard)


def chain_sum(p: Any, dx: Any, q: Any, dy: Any, guard: bool = True) -> Any:
    """``chain(p, dx) + chain(q, dy)``: both arguments of a binary rule, fused when possible."""
    kernels = hooks.chain_kernels
    if (kernels is not None and _large(p) and q is not None
            and kernels.fusable((p, q), (dx, dy))):
        out = np.empty_like(p)
        n = p.shape[-1]
        kernels.chain2(p.reshape(-1, n), dx.reshape(-1), q.reshape(-1, n), dy.reshape(-1),
                       guard, out.reshape(-1, n))
        return out
    return accumulate(chain(p, dx, guard), chain(q, dy, guard), fresh=True)


def derivative(d: Any, values: Sequence[Any], ans: Any) -> Any:
    """``d(*values, ans)``, a rule's derivative; a plain 0 constant that its formula divides
    by (``1.0 / y``) divides as numpy does (inf), not with Python's ZeroDivisionError."""
    try:
        return d(*values, ans)
    except ZeroDivisionError:
        return d(*[np.float64(v) if type(v) in (int, float) else v for v in values], ans)


def accumulate(*terms: Any, fresh: bool = False) -> Any:
    """Sum of the non-None partials contributions (None when all are None).

    ``fresh`` says the terms are new arrays owned by the caller, so the sum may be taken in
    place (one allocation less per binary rule).
    """
    total = None
    for t in terms:
        if t is None:
            continue
        if total is None:
            total = t
        elif fresh and isinstance(total, np.ndarray) and isinstance(t, np.ndarray) and (
                (total.shape == t.shape and total.dtype == t.dtype)  # the usual case, cheaply
                or (total.shape == np.broadcast_shapes(total.shape, t.shape)
                    and total.dtype == np.result_type(total, t))):
            total += t
        else:
            total = total + t
    return total


def n_directions(*parts: Any) -> Any:
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


def fit(p: Any, shape: Sequence[int]) -> Any:
    """Partials broadcast to a result of value shape ``shape`` (a read-only view if needed)."""
    if p.shape[:-1] == shape:
        return p
    return np.broadcast_to(p, tuple(shape) + p.shape[-1:])


def result(value: Any, partials: Any, tag: int) -> Any:
    """A dual of ``tag`` from a value and its (possibly None or unbroadcast) partials."""
    value = np.asarray(value) if not isinstance(value, (np.ndarray, DualNumber)) else value
    if partials is None:
        return value
    if (isinstance(partials, np.ndarray) and isinstance(value, np.ndarray)
            and partials.dtype != value.dtype and value.dtype.kind == "f"):
        # a derivative formula computed in float64 (np.where(c, 1.0, -1.0), a 0-d constant):
        # the partials take the dtype numpy chose for the value (float32 stays float32)
        partials = partials.astype(value.dtype)
    return make(value, fit(partials, np.shape(value)), tag)


def zeros_partials(value: Any, n: int, like: Any = None) -> np.ndarray:
    """Zero partials for ``value`` with ``n`` directions (dtype of ``like`` or of value)."""
    base = primal(value if like is None else like)
    return np.zeros(np.shape(value) + (n,), dtype=np.result_type(base))


def map_leaves(x: Any, fn: Callable[[Any], Any]) -> Any:
    """``fn`` applied to every leaf of nested lists and tuples, every level kept as a list or
    tuple (also lists without duals: ``np.block([[dual, a], [b, c]])`` keeps its structure).

    Module level, not a recursive closure: such a closure is a reference cycle, and it would
    keep what it captured (arrays) alive until the garbage collector runs.
    """
    if isinstance(x, (list, tuple)):
        leaves = [map_leaves(e, fn) for e in x]
        if hasattr(x, "_fields"):  # a named tuple (np.linalg.eigh's EighResult, ...)
            return type(x)(*leaves)
        return type(x)(leaves)
    rebuild = CONTAINERS.get(type(x))
    if rebuild is not None:  # (a complex dual: fn maps its real and imaginary parts)
        return rebuild(x, fn)
    return fn(x)


#: types whose objects hold duals as parts, which map_leaves maps (core/complexdual.py's
#: ComplexDual): ``{type: rebuild(obj, fn)}``, the object of ``fn`` of each part
CONTAINERS: dict = {}


def through_stacked(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any],
                    kind: type, to_parts: Callable[[Any], Tuple[Any, Any]],
                    from_parts: Callable[[Any, Any], Any]) -> Any:
    """Run ``func`` (linear in its array arguments) on numbers of type ``kind`` whose non-value
    parts transform like partials (HyperDual's gradient and Hessian parts, Taylor's higher
    coefficients): each such leaf travels as a dual of a fresh tag with those parts stacked
    on the direction axis. ``to_parts(leaf) -> (value, stacked)``;
    ``from_parts(value, stacked)`` rebuilds a result.
    """
    with fresh() as tag:
        def to_dual(a):
            return make(*to_parts(a), tag) if isinstance(a, kind) else a

        def back(d):
            if isinstance(d, DualNumber) and d._tag == tag:
                return from_parts(d.value, d.partials)
            return d
        out = func(*[map_leaves(a, to_dual) for a in args],
                   **{k: map_leaves(v, to_dual) for k, v in kwargs.items()})
        return map_leaves(out, back)
