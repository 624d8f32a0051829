"""Products (matmul, dot, tensordot, einsum, ...): the product rule on stacked partials.

Each contribution is one BLAS-backed contraction over all directions at once: the direction
axis travels as one more free index of ``tensordot`` / ``einsum``, never a per-direction loop.
A plain operand costs nothing extra: only dual operands contribute partials.
"""
import functools
import math
import string
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import config
from ..rules.ufuncs import custom_ufunc
from .functions import implements
from .partials import accumulate, result, split_all


@implements("custom", "tensordot", "linalg.tensordot")
def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    tag, (av, bv), (ap, bp) = split_all(a, b)
    na, nb = np.ndim(av), np.ndim(bv)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ax_a, ax_b = (normalize_axis_tuple(ax, nd) for ax, nd in zip(axes, (na, nb)))
    value = np.tensordot(av, bv, (ax_a, ax_b))
    terms = []
    if ap is not None:
        terms.append(_partials_times(ap, bv, ax_a, ax_b, na))
    if bp is not None:  # (a free..., b free..., n)
        terms.append(np.tensordot(av, bp, (ax_a, ax_b)))
    return result(value, accumulate(*terms), tag)


def tensordot_spec(na: int, nb: int, axes: Any) -> str:
    """The einsum spec of ``np.tensordot`` of arrays of ``na`` and ``nb`` dimensions.

    >>> tensordot_spec(2, 2, 1)
    'ab,bd->ad'
    """
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = tuple(range(na - axes, na)), tuple(range(axes))
    else:
        ax_a, ax_b = (normalize_axis_tuple(ax, nd) for ax, nd in zip(axes, (na, nb)))
    la = list(string.ascii_letters[:na])
    lb = list(string.ascii_letters[na:na + nb])
    for i, j in zip(ax_a, ax_b):
        lb[j] = la[i]
    out = [c for k, c in enumerate(la) if k not in ax_a] + \
        [c for k, c in enumerate(lb) if k not in ax_b]
    return f"{''.join(la)},{''.join(lb)}->{''.join(out)}"


def _partials_times(ap: Any, bv: Any, ax_a: Tuple[int, ...], ax_b: Tuple[int, ...],
                    na: int) -> Any:
    """The partials of ``a`` contracted with the plain ``b``, direction axis last."""
    k = len(ax_a)
    if (isinstance(bv, np.ndarray) and ax_a == tuple(range(na - k, na))
            and ax_b == tuple(range(k))):
        # the usual a @ B: B^T times each (K, n) block of partials, one batched GEMM that
        # leaves the directions last (tensordot would transpose the partials and then back)
        lead, n = ap.shape[:na - k], ap.shape[-1]
        big_k = int(np.prod(ap.shape[na - k:-1], dtype=np.int64))
        b2 = bv.reshape(big_k, -1)
        p2 = ap.reshape(lead + (big_k, n))
        if n == 1:  # one direction: a plain matrix product, no batch of thin GEMMs
            out = np.matmul(p2[..., 0], b2)[..., None]
        else:
            out = np.matmul(b2.T, p2)
        return out.reshape(lead + bv.shape[k:] + (n,))
    t = np.tensordot(ap, bv, (ax_a, ax_b))  # (a free..., n, b free...)
    return np.moveaxis(t, na - k, -1)


@implements("custom", "dot")
def dot(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("dualad: numpy.dot(..., out=) is not supported for DualNumber")
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return tensordot(a, b, ((np.ndim(a) - 1,), (0 if np.ndim(b) == 1 else np.ndim(b) - 2,)))


@implements("custom", "inner")
def inner(a: Any, b: Any) -> Any:
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return tensordot(a, b, ((np.ndim(a) - 1,), (np.ndim(b) - 1,)))


@implements("custom", "outer", "linalg.outer")
def outer(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("dualad: numpy.outer(..., out=) is not supported for DualNumber")
    return np.multiply(np.reshape(a, (-1, 1)), np.reshape(b, (1, -1)))


@implements("custom", "vdot")
def vdot(a: Any, b: Any) -> Any:
    return tensordot(np.ravel(a), np.ravel(b), 1)


def _implicit_output(inputs: str) -> str:
    letters = inputs.replace(",", "").replace(".", "")
    once = sorted(c for c in set(letters) if letters.count(c) == 1)
    return ("..." if "..." in inputs else "") + "".join(once)


# config.SMALL_EINSUM: up to this many multiply-adds a two-operand contraction that is not
# one matrix product of one float dtype runs numpy's C einsum loop: einsum's path search costs
# ~10 us, more than a small product itself (measured crossover)


def contract(spec: str, *operands: Any, optimize: Any = True) -> Any:
    """``np.einsum(spec, *operands)``; two-operand products skip einsum's path search: those
    whose indices make one (batched) matrix product of one float dtype take ``np.matmul``
    directly, at every size (0.8 us against 1.9 for einsum's C loop at 50 x 50, 10 us against
    15 for its own route to BLAS at 50³); other small ones run einsum's C loop. The choice is
    cached per spec, shapes and dtypes.

    >>> a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    >>> bool(np.array_equal(contract("ij,jk->ik", a, b), a @ b))
    True
    """
    if optimize is True and len(operands) == 2:
        a, b = operands
        if type(a) is np.ndarray and type(b) is np.ndarray:
            plan = _plan(spec, a.shape, b.shape, a.dtype == b.dtype and a.dtype.kind == "f")
            if plan is None:
                return np.einsum(spec, a, b, optimize=False)
            if plan is not True:
                perm_a, shape_a, perm_b, shape_b, shape, back = plan
                if perm_a is not None:
                    a = a.transpose(perm_a)
                if shape_a is not None:
                    a = a.reshape(shape_a)
                if perm_b is not None:
                    b = b.transpose(perm_b)
                if shape_b is not None:
                    b = b.reshape(shape_b)
                r = np.matmul(a, b)
                if shape is not None:
                    r = r.reshape(shape)
                return r if back is None else r.transpose(back)
    return np.einsum(spec, *operands, optimize=optimize)


@functools.lru_cache(maxsize=1024)
def _plan(spec: str, shape_a: Tuple[int, ...], shape_b: Tuple[int, ...],
          same_float: bool) -> Any:
    """How ``contract`` runs a two-operand product: None (numpy's C einsum loop, for a small
    product), the matmul arguments (axis orders, operand shapes, output shape, each None where
    nothing is to be done; final transposition), or True (einsum with its path search: an
    ellipsis, other dtypes, ...)."""
    letters = spec.split("->")[0].split(",")
    if "..." in spec or len(letters) != 2 or any(
            len(s) != len(shape) for s, shape in zip(letters, (shape_a, shape_b))):
        return True  # einsum's own checks and messages
    dims: dict[str, int] = {}
    for s, shape in zip(letters, (shape_a, shape_b)):
        dims.update(zip(s, shape))
    plan = _matmul_plan(spec) if same_float else None
    if plan is not None:
        sa, sb, perm_a, perm_b, groups, back = plan
        if any(dims[c] != size for c, size in zip(sa + sb, shape_a + shape_b)):
            plan = None  # sizes that would broadcast: einsum decides
    if plan is None:
        return None if math.prod(dims.values()) <= config.SMALL_EINSUM else True
    batch, left, summed, right = (math.prod([dims[c] for c in g]) for g in groups)
    # no batch: a plain matrix product, and a vector side as 1-d (matrix-vector products)
    target_a = (batch, left, summed) if batch != 1 else (left, summed) if left != 1 else (
        summed,)
    target_b = (batch, summed, right) if batch != 1 else (summed, right) if right != 1 else (
        summed,)
    out = tuple(dims[c] for g in groups[:2] + groups[3:] for c in g)
    natural = (target_a[:-1] if len(target_a) > 1 else ()) + \
        (target_b[-1:] if len(target_b) > 1 else ())  # what np.matmul gives
    # None: nothing to do (no transposition, or already that shape)
    return (None if perm_a == tuple(range(len(perm_a))) else perm_a,
            None if tuple(shape_a[i] for i in perm_a) == target_a else target_a,
            None if perm_b == tuple(range(len(perm_b))) else perm_b,
            None if tuple(shape_b[i] for i in perm_b) == target_b else target_b,
            None if natural == out else out, back)


@functools.lru_cache(maxsize=256)
def _matmul_plan(spec: str) -> Optional[Tuple[Any, ...]]:
    """For ``"<a>,<b>-><out>"`` with no index repeated within an operand and none summed over
    one operand only: the axis orders putting ``a`` as (batch, left, summed) and ``b`` as
    (batch, summed, right), the index groups, and the output's transposition; else None."""
    inputs, arrow, out = spec.partition("->")
    sa, comma, sb = inputs.partition(",")
    if (not arrow or not comma or "," in sb or len(set(sa)) != len(sa)
            or len(set(sb)) != len(sb) or len(set(out)) != len(out)
            or not set(out) <= set(sa + sb)):
        return None
    summed = [c for c in sa if c in sb and c not in out]
    if any(c not in out and c not in summed for c in sa + sb):
        return None
    batch = [c for c in out if c in sa and c in sb]
    left = [c for c in out if c in sa and c not in sb]
    right = [c for c in out if c in sb and c not in sa]
    order = batch + left + right
    return (sa, sb, tuple(sa.index(c) for c in batch + left + summed),
            tuple(sb.index(c) for c in batch + summed + right), (batch, left, summed, right),
            None if order == list(out) else tuple(order.index(c) for c in out))


def _from_sublists(args: Sequence[Any]) -> Tuple[str, Tuple[Any, ...]]:
    """einsum's sublist form ``(a, [0, 1], b, [1, 2][, [0, 2]])`` as its subscripts string
    and operands; labels 0-25 become A-Z and 26-51 a-z, as numpy's C einsum maps them (so
    the implicit output, sorted, keeps their order)."""
    def letters(sub: Any) -> str:
        text = ""
        for s in sub:
            if s is Ellipsis:
                text += "..."
                continue
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s < 52:
                raise ValueError(f"dualad: einsum sublist labels are integers in [0, 52) or "
                                 f"Ellipsis, got {s!r}")
            text += (string.ascii_uppercase + string.ascii_lowercase)[s]
        return text
    pairs = len(args) - len(args) % 2
    spec = ",".join(letters(sub) for sub in args[1:pairs:2])
    if len(args) % 2:
        spec += "->" + letters(args[-1])
    return spec, tuple(args[0:pairs:2])


@implements("custom", "einsum")
def einsum(subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False,
           **kwargs: Any) -> Any:
    if out is not None or kwargs:
        raise TypeError("dualad: numpy.einsum(..., out=/dtype=/...) is not supported for "
                        "DualNumber")
    if not isinstance(subscripts, str):  # the sublist form: a, [0, 1], b, [1, 2], [0, 2]
        subscripts, operands = _from_sublists((subscripts,) + operands)
    subscripts = subscripts.replace(" ", "")
    inputs, _, output = subscripts.partition("->")
    if "->" not in subscripts:
        output = _implicit_output(inputs)
    spec = f"{inputs}->{output}"
    # the value is numpy's own call (its path choice changes the last bits); tangents take
    # the fastest path
    return _bilinear(spec, operands,
                     lambda *values: np.einsum(spec, *values, optimize=optimize))


def _bilinear(spec: str, operands: Sequence[Any], value_of: Callable[..., Any]) -> Any:
    """A product linear in each operand given by einsum's ``spec``: ``value_of(*values)`` and
    one contraction per operand with partials."""
    inputs, _, output = spec.partition("->")
    specs = inputs.split(",")
    tag, values, partials = split_all(*operands)
    free = next(c for c in string.ascii_letters if c not in spec)
    value = value_of(*values)
    terms = []
    for i, p in enumerate(partials):
        if p is None:
            continue
        specs_i = [s + free if j == i else s for j, s in enumerate(specs)]
        ops = [p if j == i else v for j, v in enumerate(values)]
        terms.append(contract(f"{','.join(specs_i)}->{output}{free}", *ops))
    return result(value, accumulate(*terms), tag)


@custom_ufunc(np.matmul)
@implements("custom", "linalg.matmul")
def matmul(a: Any, b: Any, **kwargs: Any) -> Any:
    if kwargs:
        raise TypeError("dualad: numpy.matmul keywords are not supported for DualNumber")
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0:
        raise ValueError("dualad: matmul: input operand does not have enough dimensions")
    k_a, k_b = np.shape(a)[-1], np.shape(b)[0 if nb == 1 else -2]
    if k_a != k_b:
        raise ValueError(f"dualad: matmul: shapes {np.shape(a)} and {np.shape(b)} do not "
                         f"match ({k_a} != {k_b})")
    if nb <= 2:  # one GEMM over all directions
        return tensordot(a, b, ((na - 1,), (0,)))
    sa = "j" if na == 1 else "...ij"
    sb = "j" if nb == 1 else "...jk"
    so = "..." + ("i" if na > 1 else "") + ("k" if nb > 1 else "")
    return _bilinear(f"{sa},{sb}->{so}", (a, b), np.matmul)


@custom_ufunc(getattr(np, "vecdot", None))
@implements("custom", "linalg.vecdot")
def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **kwargs: Any) -> Any:
    if kwargs:
        raise TypeError(f"dualad: numpy.vecdot(..., {', '.join(kwargs)}=...) is not supported "
                        "for DualNumber")
    nd = max(np.ndim(x1), np.ndim(x2))
    axis = normalize_axis_tuple(axis, nd)[0] - nd  # counted from the end, as numpy does
    a, b = np.moveaxis(x1, axis, -1), np.moveaxis(x2, axis, -1)
    # numpy's own value (its loop sums in order; np.sum sums pairwise)
    return _bilinear("...i,...i->...", (a, b), lambda u, v: np.vecdot(u, v))


@custom_ufunc(getattr(np, "matvec", None))
def matvec(x1: Any, x2: Any, **kwargs: Any) -> Any:
    return _bilinear("...ij,...j->...i", (x1, x2), np.matvec)


@custom_ufunc(getattr(np, "vecmat", None))
def vecmat(x1: Any, x2: Any, **kwargs: Any) -> Any:
    return _bilinear("...j,...ji->...i", (x1, x2), np.vecmat)


@implements("custom", "linalg.multi_dot")
def multi_dot(arrays: Sequence[Any], *, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("dualad: multi_dot(..., out=) is not supported for DualNumber")
    tag, values, partials = split_all(*arrays)
    if tag < 0:  # no DualNumber (Taylor's composite route): a chain of its own products
        return functools.reduce(dot, arrays)
    # numpy's own value: it picks the cheapest order of products, which changes the last bits
    value = np.linalg.multi_dot(values)
    if all(p is None for p in partials):
        return value
    _, _, (p,) = split_all(functools.reduce(dot, arrays))
    return result(value, p, tag)


@implements("custom", "linalg.matrix_power")
def matrix_power(a: Any, n: int) -> Any:
    if n < 0:
        a, n = np.linalg.inv(a), -n
    if n == 0:
        return np.zeros_like(a) + np.eye(a.shape[-1])
    # numpy's order of products, so that the value has numpy's bits
    if n == 3:
        return matmul(matmul(a, a), a)
    power: Any = None
    square: Any = None
    while n > 0:
        square = a if square is None else matmul(square, square)
        n, bit = divmod(n, 2)
        if bit:
            power = square if power is None else matmul(power, square)
    return power


@implements("custom", "kron")
def kron(a: Any, b: Any) -> Any:
    nd = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
    sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
    a_exp = np.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b_exp = np.reshape(b, tuple(x for s in sb for x in (1, s)))
    return np.reshape(np.multiply(a_exp, b_exp), tuple(x * y for x, y in zip(sa, sb)))
