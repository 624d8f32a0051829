"""Fuzz: random numpy programs, differentiated by dualad and by independent oracles.

Hypothesis draws a small expression tree (depth <= 4, every intermediate at most 2-d with
dims <= 4 and at most 12 elements, inputs and constants in [-2, 2]) built from

* leaves: the input ``x`` itself, a gather ``x[rows, cols]`` (fancy indexing), a constant;
* elementwise functions with safe domains: sin, cos, tanh, exp (of a bounded argument),
  log(1 + a*a), sqrt(1 + a*a), and with broadcasting a + b, a - b, a * b, a / (1 + b*b),
  np.maximum(a, b), np.where(c > t, a, b);
* reductions over an axis (sum, mean, max, prod; keepdims or not; also over all axes);
* integer indexing and slicing (steps 1, 2, -1), ``@``, np.transpose, np.reshape,
  np.concatenate (reductions, transpose and reshape also in their method forms: a.sum(axis),
  a.T, a.reshape(shape)).

The generator works top-down from the shape each node must produce, so every drawn tree is
well formed, and it tracks a bound on |value| per node: exp only sees arguments bounded by 3
(else exp(tanh(.))) and a node whose bound passes 20 is rescaled to 4, so that derivatives
stay of moderate size and the finite-difference truncation error stays below tolerance.

The same tree is evaluated three ways. dualad sees the program as a user writes it
(np.maximum, np.max, np.where(c > t, ...)). The oracles run an "oracle" evaluation of the
same tree on plain float64 or complex128 arrays in which every comparison is made explicit on
real parts (maximum = where(Re a >= Re b, a, b), max = take_along_axis(argmax(Re a))): for a
piecewise-analytic program this is the standard complex-step extension, exact away from ties.
The oracle evaluation records every branch decision; an example is rejected
(``hypothesis.assume``) when a tie is closer than 1e-3 at x, or when any finite-difference
stencil point takes another branch than x (the stencil would straddle a kink).

Oracles and tolerances (both relative to the scale of the compared quantity,
``scale = max(1, max|oracle|)``: inputs are O(1), and an entry that cancels to ~0 carries the
rounding of its O(scale) terms):

* complex step, ``Im P(x + i h v) / h`` with h = 1e-20: no subtractive cancellation, exact to
  a few ulps of every intermediate; RTOL_CS = 1e-12 leaves room for ~1e3 ulps of rounding
  accumulated through depth-4 trees and reductions of up to 12 terms.
* 8th-order central differences, step h = 2e-3 (stencil reach 4h = 8e-3): truncation
  h^8 f^(9) / 630 ~ 4e-25 f^(9) and rounding ~ eps |f| / h ~ 1e-13 |f|, so RTOL_FD = 1e-6 is
  a wide margin (a wrong derivative rule is off by O(1)).
* Hessian: 8th-order central differences (h = 2e-3) of the complex-step gradient of
  ``sum(w * P(x))`` (no dualad anywhere); the gradient is exact to rounding, so the error is
  again ~ 1e-13 relative; RTOL_FD, for both methods (hyperdual and nested). Symmetry of
  ad.hessian and ad.gradient against the complex-step gradient: RTOL_CS.

Fixed budget: every test sets max_examples, so the file costs the same with CI=true (the
derandomized "ci" profile) and without.
"""
import math

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import dualad as ad

RTOL_CS = 1e-12
RTOL_FD = 1e-6
CS_STEP = 1e-20
FD_STEP = 2e-3
TIE_GAP = 1e-3
# 8th-order central first-derivative stencil: f'(x) ~ sum_k c_k (f(x + k h) - f(x - k h)) / h
STENCIL = ((1, 4.0 / 5.0), (2, -1.0 / 5.0), (3, 4.0 / 105.0), (4, -1.0 / 280.0))

MAX_DIM, MAX_SIZE, MAX_DEPTH = 4, 12, 4
BOUND_CAP, BOUND_TO = 20.0, 4.0
X_SHAPES = [(), (1,), (3,), (4,), (1, 4), (2, 2), (2, 3), (3, 1), (3, 4)]
SHAPES = [()] + [(n,) for n in range(1, MAX_DIM + 1)] + [
    (m, n) for m in range(1, MAX_DIM + 1) for n in range(1, MAX_DIM + 1) if m * n <= MAX_SIZE]

UNARY = ("sin", "cos", "tanh", "exp", "log1psq", "sqrt1psq")
BINARY = ("add", "sub", "mul", "div", "maximum")
REDUCE = ("sum", "mean", "max", "prod")
SETTINGS = {"deadline": None,
            "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much]}


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _ok(shape):
    return len(shape) <= 2 and all(1 <= d <= MAX_DIM for d in shape) and \
        _size(shape) <= MAX_SIZE


# --- the generator ------------------------------------------------------------------------
# A node is a tuple (op, parameters..., children...); each generator returns (node, bound on
# |value|).
def _broadcast_partner(draw, shape):
    """A shape that broadcasts against ``shape`` to ``shape``."""
    kind = draw(st.sampled_from(["same", "ones", "suffix"]))
    if kind == "same" or not shape:
        return shape
    if kind == "ones":
        return tuple(1 if draw(st.booleans()) else d for d in shape)
    return shape[draw(st.integers(1, len(shape))):]


def _leaf(draw, shape, xshape):
    kinds = ["gather", "gather", "const"] + (["x", "x"] if shape == xshape else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "x":
        return ("x",), 2.0
    if kind == "const":
        values = draw(st.lists(st.floats(-2, 2), min_size=_size(shape), max_size=_size(shape)))
        c = np.array(values, dtype=np.float64).reshape(shape)
        return ("const", c), float(np.max(np.abs(c), initial=0.0))
    if xshape == ():
        return ("gather", (), shape), 2.0  # x + zeros(shape): a broadcast of the 0-d x
    flat = draw(st.lists(st.integers(0, _size(xshape) - 1), min_size=_size(shape),
                         max_size=_size(shape)))
    index = tuple(i.reshape(shape) for i in np.unravel_index(np.array(flat, dtype=np.intp),
                                                             xshape))
    return ("gather", index, shape), 2.0


def _node(draw, shape, depth, xshape, root=False):
    if depth == 0:
        return _leaf(draw, shape, xshape)
    ops = ["unary", "unary", "binary", "binary", "where", "reduce", "reduce", "index",
           "matmul"] + ([] if root else ["leaf"])
    if len(shape) == 2:
        ops += ["transpose"]
    if len(shape) >= 1 and max(shape) >= 2:
        ops += ["concat"]
    if any(_size(s) == _size(shape) and s != shape for s in SHAPES):
        ops += ["reshape"]
    op = draw(st.sampled_from(ops))
    sub = depth - 1
    if op == "leaf":
        node, b = _leaf(draw, shape, xshape)
    elif op == "unary":
        name = draw(st.sampled_from(UNARY))
        a, ba = _node(draw, shape, sub, xshape)
        if name == "exp" and ba > 3.0:
            a, ba = ("u", "tanh", a), 1.0
        node = ("u", name, a)
        b = {"sin": min(1.0, ba), "cos": 1.0, "tanh": min(1.0, ba), "exp": math.exp(ba),
             "log1psq": math.log1p(ba * ba), "sqrt1psq": math.sqrt(1.0 + ba * ba)}[name]
    elif op == "binary":
        name = draw(st.sampled_from(BINARY))
        a, ba = _node(draw, shape, sub, xshape)
        c, bc = _node(draw, _broadcast_partner(draw, shape), sub, xshape)
        if draw(st.booleans()):
            a, ba, c, bc = c, bc, a, ba
        node = ("b", name, a, c)
        b = {"add": ba + bc, "sub": ba + bc, "mul": ba * bc, "div": ba,
             "maximum": max(ba, bc)}[name]
    elif op == "where":
        c, _ = _node(draw, _broadcast_partner(draw, shape), sub, xshape)
        t = draw(st.floats(-1, 1))
        a, ba = _node(draw, shape, sub, xshape)
        e, be = _node(draw, _broadcast_partner(draw, shape), sub, xshape)
        node, b = ("where", c, t, a, e), max(ba, be)
    elif op == "reduce":
        name = draw(st.sampled_from(REDUCE))
        options = []
        for k in range(1, MAX_DIM + 1):
            for p in range(len(shape) + 1):
                child = shape[:p] + (k,) + shape[p:]
                if _ok(child):
                    options.append((child, p, False))
            for p, d in enumerate(shape):
                child = shape[:p] + (k,) + shape[p + 1:]
                if d == 1 and _ok(child):
                    options.append((child, p, True))
        if shape == ():
            options += [(s, None, False) for s in SHAPES if len(s) == 2]
        if not options:  # (a full 2-d shape: no room for another axis)
            return _node(draw, shape, depth, xshape, root)  # (draw again)
        child, axis, keep = draw(st.sampled_from(options))
        a, ba = _node(draw, child, sub, xshape)
        k = _size(child) if axis is None else child[axis]
        node = ("reduce", name, axis, keep, a, draw(st.booleans()))
        b = {"sum": k * ba, "mean": ba, "max": ba, "prod": ba ** k}[name]
    elif op == "index":
        p = draw(st.integers(0, len(shape)))
        options = []
        for k in range(1, MAX_DIM + 1):  # an integer index removes an axis of length k
            child = shape[:p] + (k,) + shape[p:]
            if _ok(child):
                options += [(child, i) for i in range(-k, k)]
        if p < len(shape):  # a slice shortens (or reverses, or strides) axis p
            d = shape[p]
            for big in range(d, MAX_DIM + 1):
                child = shape[:p] + (big,) + shape[p + 1:]
                if not _ok(child):
                    continue
                for start in range(big - d + 1):
                    options.append((child, slice(start, start + d)))
                    options.append((child, slice(start + d - 1, start - 1 if start else None,
                                                 -1)))
                for start in range(big):
                    if start + 2 * (d - 1) < big:
                        options.append((child, slice(start, start + 2 * d - 1, 2)))
        if not options:
            return _node(draw, shape, depth, xshape, root)  # (draw again)
        child, key = draw(st.sampled_from(options))
        a, b = _node(draw, child, sub, xshape)
        node = ("index", (slice(None),) * p + (key,), a)
    elif op == "matmul":
        k = draw(st.integers(1, MAX_DIM))
        if shape == ():
            ls, rs = (k,), (k,)
        elif len(shape) == 1:
            ls, rs = ((shape[0], k), (k,)) if draw(st.booleans()) else ((k,), (k, shape[0]))
        else:
            ls, rs = (shape[0], k), (k, shape[1])
        if not (_ok(ls) and _ok(rs)):
            return _node(draw, shape, depth, xshape, root)  # (draw again)
        a, ba = _node(draw, ls, sub, xshape)
        c, bc = _node(draw, rs, sub, xshape)
        node, b = ("matmul", a, c), k * ba * bc
    elif op == "transpose":
        a, b = _node(draw, shape[::-1], sub, xshape)
        node = ("transpose", a, draw(st.booleans()))
    elif op == "reshape":
        child = draw(st.sampled_from([s for s in SHAPES if _size(s) == _size(shape)
                                      and s != shape]))
        a, b = _node(draw, child, sub, xshape)
        node = ("reshape", shape, a, draw(st.booleans()))
    else:  # concat
        p = draw(st.sampled_from([i for i, d in enumerate(shape) if d >= 2]))
        k1 = draw(st.integers(1, shape[p] - 1))
        a, ba = _node(draw, shape[:p] + (k1,) + shape[p + 1:], sub, xshape)
        c, bc = _node(draw, shape[:p] + (shape[p] - k1,) + shape[p + 1:], sub, xshape)
        node, b = ("concat", p, a, c), max(ba, bc)
    if b > BOUND_CAP:
        node, b = ("scale", BOUND_TO / b, node), BOUND_TO
    return node, b


@st.composite
def programs(draw):
    """(tree, x): a random program of x and a point x in [-2, 2]."""
    xshape = draw(st.sampled_from(X_SHAPES))
    out = draw(st.sampled_from(SHAPES))
    depth = draw(st.integers(1, MAX_DEPTH))
    tree, _ = _node(draw, out, depth, xshape, root=True)
    values = draw(st.lists(st.floats(-2, 2), min_size=_size(xshape), max_size=_size(xshape)))
    return tree, np.array(values, dtype=np.float64).reshape(xshape)


def units(shape):
    """Arrays of ``shape`` with entries in [-1, 1] (directions, weights)."""
    return st.lists(st.floats(-1, 1), min_size=_size(shape), max_size=_size(shape)).map(
        lambda values: np.array(values, dtype=np.float64).reshape(shape))


# --- evaluation ---------------------------------------------------------------------------
def evaluate(node, x, rec=None):
    """The program on ``x``. ``rec is None``: as a user writes it (dualad runs this).
    Otherwise the oracle form on float/complex arrays: comparisons on real parts, each
    branch decision appended to ``rec`` as (decision, gap to the tie)."""
    op = node[0]
    if op == "x":
        return x
    if op == "const":
        return node[1]
    if op == "gather":
        index, shape = node[1], node[2]
        return x[index] if index else x + np.zeros(shape)
    if op == "scale":
        return evaluate(node[2], x, rec) * node[1]
    if op == "u":
        a = evaluate(node[2], x, rec)
        name = node[1]
        if name == "log1psq":
            return np.log(1.0 + a * a)
        if name == "sqrt1psq":
            return np.sqrt(1.0 + a * a)
        return getattr(np, name)(a)
    if op == "b":
        name = node[1]
        a, b = evaluate(node[2], x, rec), evaluate(node[3], x, rec)
        if name == "add":
            return a + b
        if name == "sub":
            return a - b
        if name == "mul":
            return a * b
        if name == "div":
            return a / (1.0 + b * b)
        if rec is None:
            return np.maximum(a, b)
        ra, rb = np.broadcast_arrays(np.real(a), np.real(b))
        rec.append((ra >= rb, np.abs(ra - rb)))
        return np.where(ra >= rb, a, b)
    if op == "where":
        c, t = evaluate(node[1], x, rec), node[2]
        a, b = evaluate(node[3], x, rec), evaluate(node[4], x, rec)
        if rec is None:
            return np.where(c > t, a, b)
        rc = np.real(c)
        rec.append((rc > t, np.abs(rc - t)))
        return np.where(rc > t, a, b)
    if op == "reduce":
        name, axis, keep = node[1], node[2], node[3]
        a = evaluate(node[4], x, rec)
        if node[5]:  # the method form, a.sum(axis=...), on the dual or the oracle's array
            if name != "max" or rec is None:
                return getattr(a, name)(axis=axis, keepdims=keep)
        elif name != "max":
            return getattr(np, name)(a, axis=axis, keepdims=keep)
        elif rec is None:
            return np.max(a, axis=axis, keepdims=keep)
        if axis is None:
            a, axis = np.reshape(a, (-1,)), 0
        ra = np.real(a)
        arg = np.argmax(ra, axis=axis)
        top = np.sort(ra, axis=axis)
        gap = (np.take(top, -1, axis=axis) - np.take(top, -2, axis=axis)
               if ra.shape[axis] > 1 else np.full(arg.shape, np.inf))
        rec.append((arg, gap))
        out = np.take_along_axis(a, np.expand_dims(arg, axis), axis=axis)
        return out if keep else np.squeeze(out, axis=axis)
    if op == "index":
        return evaluate(node[2], x, rec)[node[1]]
    if op == "matmul":
        return evaluate(node[1], x, rec) @ evaluate(node[2], x, rec)
    if op == "transpose":
        a = evaluate(node[1], x, rec)
        return a.T if node[2] else np.transpose(a)
    if op == "reshape":
        a = evaluate(node[2], x, rec)
        return a.reshape(node[1]) if node[3] else np.reshape(a, node[1])
    if op == "concat":
        return np.concatenate([evaluate(node[2], x, rec), evaluate(node[3], x, rec)],
                              axis=node[1])
    raise AssertionError(op)


def oracle(tree, x):
    """(value, branch decisions) of the oracle form at ``x`` (float or complex)."""
    rec = []
    value = np.asarray(evaluate(tree, x, rec))
    return value, [d for d, _ in rec], min((float(np.min(g, initial=np.inf))
                                            for _, g in rec), default=np.inf)


def oracle_of(tree):
    """z -> (value, decisions) of the oracle form: what the oracles below differentiate."""
    return lambda z: oracle(tree, z)[:2]


def smooth_at(tree, x):
    """The value at x, rejecting the example where a tie is within TIE_GAP."""
    value, decisions, gap = oracle(tree, x)
    assume(gap > TIE_GAP)
    return value, decisions


def same_branches(d1, d2):
    return len(d1) == len(d2) and all(np.array_equal(a, b) for a, b in zip(d1, d2))


def cs_directional(f, x, v):
    """d/dt f(x + t v) at 0 by the complex step; ``f`` returns (value, decisions)."""
    value, _ = f(x + 1j * CS_STEP * v)
    return np.imag(value) / CS_STEP


def fd_directional(f, x, v, base):
    """d/dt f(x + t v) at 0 by the 8th-order central stencil; rejects the example when a
    stencil point takes another branch than ``base`` (the decisions at x)."""
    acc = 0.0
    for k, c in STENCIL:
        fp, dp = f(x + k * FD_STEP * v)
        fm, dm = f(x - k * FD_STEP * v)
        assume(same_branches(dp, base) and same_branches(dm, base))
        acc = acc + c * (fp - fm)
    return acc / FD_STEP


def basis(x):
    for i in np.ndindex(*x.shape):
        e = np.zeros(x.shape)
        e[i] = 1.0
        yield e


def assert_close(actual, expected, rtol, what):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    err = float(np.max(np.abs(actual - expected), initial=0.0))
    assert err <= rtol * scale, (f"{what}: max error {err:.3g} > {rtol:g} * scale {scale:.3g}"
                                 f"\nactual\n{actual}\nexpected\n{expected}")


# --- the tests ----------------------------------------------------------------------------
@settings(max_examples=800, **SETTINGS)
@given(programs(), st.data())
def test_jvp_matches_complex_step_and_differences(program, data):
    tree, x = program
    v = data.draw(units(x.shape), label="v")
    value, base = smooth_at(tree, x)
    f = oracle_of(tree)
    y, jv = ad.jvp(lambda z: evaluate(tree, z), x, v)
    assert_close(y, value, RTOL_CS, "jvp value")
    assert_close(jv, cs_directional(f, x, v), RTOL_CS, "jvp vs complex step")
    assert_close(jv, fd_directional(f, x, v, base), RTOL_FD, "jvp vs finite differences")


@settings(max_examples=800, **SETTINGS)
@given(programs())
def test_jacobian_matches_complex_step_and_differences(program):
    tree, x = program
    value, base = smooth_at(tree, x)
    f = oracle_of(tree)
    jac = ad.jacobian(lambda z: evaluate(tree, z), x)
    cs = np.stack([cs_directional(f, x, e) for e in basis(x)], axis=-1)
    fd = np.stack([fd_directional(f, x, e, base) for e in basis(x)], axis=-1)
    shape = value.shape + x.shape
    assert_close(jac, cs.reshape(shape), RTOL_CS, "jacobian vs complex step")
    assert_close(jac, fd.reshape(shape), RTOL_FD, "jacobian vs finite differences")
    assert_close(ad.jacobian(lambda z: evaluate(tree, z), x, chunk_size=1), jac, RTOL_CS,
                 "jacobian in chunks of 1")


@settings(max_examples=500, **SETTINGS)
@given(programs(), st.data())
def test_hessian_matches_differences_of_complex_step_gradient(program, data):
    tree, x = program
    value, base = smooth_at(tree, x)
    w = data.draw(units(value.shape), label="w")

    def scalar(z):  # sum(w * P(z)): the program's scalar reduction, oracle form
        v, d = oracle(tree, z)[:2]
        return np.sum(w * v), d

    def cs_gradient(z):
        g = np.stack([cs_directional(scalar, z, e) for e in basis(x)]).reshape(x.shape)
        return g, oracle(tree, z)[1]

    hess = ad.hessian(lambda z: np.sum(w * evaluate(tree, z)), x)
    n = x.size
    H = np.asarray(hess, dtype=np.float64).reshape(n, n)
    assert_close(H, H.T, RTOL_CS * max(1.0, float(np.max(np.abs(H), initial=0.0))),
                 "hessian symmetry")
    cols = [fd_directional(cs_gradient, x, e, base).reshape(-1) for e in basis(x)]
    oracle_h = np.stack(cols, axis=-1).reshape(x.shape + x.shape) if cols else \
        np.zeros(x.shape + x.shape)
    assert_close(hess, oracle_h, RTOL_FD, "hessian vs differences of complex-step gradient")
    nested = ad.hessian(lambda z: np.sum(w * evaluate(tree, z)), x, method="nested")
    assert_close(nested, oracle_h, RTOL_FD, "nested hessian vs differences of cs gradient")
    grad = ad.gradient(lambda z: np.sum(w * evaluate(tree, z)), x)
    assert_close(grad, cs_gradient(x)[0], RTOL_CS, "gradient vs complex step")
