"""Every registered numpy array function, checked against finite differences.

One table of cases: ``C(func, call, inputs..., diff=..., alone=...)``. ``call(func, *inputs)``
runs the function; ``inputs`` are shapes (filled with well-separated random values), fixed
arrays or builders ``rng -> array``; ``diff`` names the differentiated inputs. From each case
two kinds of test are generated:

- all differentiated inputs are duals of one perturbation (``test_all_dual``);
- each input in ``alone`` is the only dual, the others stay plain numpy arrays
  (``test_one_dual``): dual matrix @ plain vector, plain @ dual, ...

The oracle is a 6th-order central difference of the plain numpy function (``_fd.py``).
"""
from typing import Callable, NamedTuple, Tuple

import numpy as np
import pytest

import dualad as ad
from dualad.core import functions as _functions
from dualad.core.dual import DualNumber

from _fd import fd_jacobian, separated

RTOL, ATOL = 1e-6, 1e-7


class C(NamedTuple):
    func: object
    call: Callable
    inputs: Tuple
    diff: Tuple[int, ...]
    alone: Tuple[int, ...]
    id: str


def case(func, call, *inputs, diff=None, alone=None, id=""):
    diff = tuple(range(len(inputs))) if diff is None else diff
    alone = diff if alone is None else alone
    name = f"{getattr(func, '__module__', '')}.{func.__name__}".replace("numpy.", "")
    return C(func, call, inputs, diff, alone, f"{name}{'-' + id if id else ''}")


def build(c, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for spec in c.inputs:
        if isinstance(spec, tuple):
            out.append(separated(rng, spec))
        elif callable(spec):
            out.append(np.asarray(spec(rng), dtype=float))
        else:
            out.append(np.array(spec, dtype=float))
    return out


def flat(y):
    """Outputs made one array: several outputs are raveled and concatenated."""
    if isinstance(y, (tuple, list)):
        return np.concatenate([np.ravel(o) for o in y])
    return y


def inplace(func, *args, **kwargs):
    """``call`` for in-place functions: modify a copy of input 0 and return it."""
    def call(f, a, *rest):
        a = a.copy()
        assert f(a, *[r(rest) if callable(r) else r for r in args], **kwargs) is None
        return a
    return call


def arg(i):
    return lambda rest: rest[i]


def nan_at(shape, *where):
    def make(rng):
        a = separated(rng, shape)
        for w in where:
            a[w] = np.nan
        return a
    return make


def with_zeros(shape, *where):
    def make(rng):
        a = separated(rng, shape)
        for w in where:
            a[w] = 0.0
        return a
    return make


IDX = np.array([[0, 2], [1, 1]])
MASK34 = np.array([[True, False, True, True], [False, False, True, False],
                   [True, True, False, False]])
COND = np.array([True, False, True, False])

la = np.linalg
CASES = [
    # --- structural: shape and axis manipulation ---------------------------------------
    case(np.ravel, lambda f, a: f(a), (2, 3)),
    case(np.ravel, lambda f, a: f(a, order="F"), (2, 3), id="F"),
    case(np.reshape, lambda f, a: f(a, (3, -1)), (2, 3, 2)),
    case(np.reshape, lambda f, a: f(a, (3, 4), order="F"), (2, 6), id="F"),
    case(np.reshape, lambda f, a: a.reshape(4, 3), (2, 6), id="method"),
    case(np.transpose, lambda f, a: f(a), (2, 3, 4)),
    case(np.transpose, lambda f, a: f(a, (1, 0, 2)), (2, 3, 4), id="axes"),
    case(np.transpose, lambda f, a: a.T, (3, 4), id="T"),
    case(np.permute_dims, lambda f, a: f(a, (2, 0, 1)), (2, 3, 4)),
    case(np.swapaxes, lambda f, a: f(a, 0, -1), (2, 3, 4)),
    case(np.moveaxis, lambda f, a: f(a, 0, -1), (2, 3, 4)),
    case(np.moveaxis, lambda f, a: f(a, (0, 1), (2, 0)), (2, 3, 4), id="tuple"),
    case(np.rollaxis, lambda f, a: f(a, 2), (2, 3, 4)),
    case(np.squeeze, lambda f, a: f(a), (1, 3, 1)),
    case(np.squeeze, lambda f, a: f(a, axis=-1), (1, 3, 1), id="axis"),
    case(np.expand_dims, lambda f, a: f(a, (0, 2)), (2, 3)),
    case(np.broadcast_to, lambda f, a: f(a, (2, 3)), (3,)),
    case(np.matrix_transpose, lambda f, a: f(a), (2, 3, 4)),
    case(la.matrix_transpose, lambda f, a: f(a), (2, 3, 4)),
    case(np.atleast_1d, lambda f, a: f(a), ()),
    case(np.atleast_2d, lambda f, a, b: f(a, b), (3,), (2, 2)),
    case(np.atleast_3d, lambda f, a: f(a), (2, 3)),
    case(np.broadcast_arrays, lambda f, a, b: f(a, b), (3, 1), (1, 4)),
    case(np.meshgrid, lambda f, a, b: f(a, b), (3,), (2,)),
    case(np.meshgrid, lambda f, a, b: f(a, b, indexing="ij", sparse=True), (3,), (2,),
         id="ij-sparse"),
    case(np.lib.stride_tricks.sliding_window_view, lambda f, a: f(a, 3), (5,)),
    case(np.lib.stride_tricks.sliding_window_view, lambda f, a: f(a, 2, axis=0), (3, 2),
         id="axis"),
    # --- structural: selection ---------------------------------------------------------
    case(np.diagonal, lambda f, a: f(a, 1), (3, 4)),
    case(np.diagonal, lambda f, a: f(a, 0, 1, 2), (2, 3, 3), id="stacked"),
    case(la.diagonal, lambda f, a: f(a, offset=-1), (2, 3, 3)),
    case(np.diag, lambda f, a: f(a, 1), (3, 4), id="matrix"),
    case(np.diag, lambda f, a: f(a), (3,), id="vector-fill"),
    case(np.diag, lambda f, a: f(a, -1), (3,), id="vector-offset"),
    case(np.diagflat, lambda f, a: f(a, -1), (2, 2)),
    case(np.tril, lambda f, a: f(a), (3, 3)),
    case(np.tril, lambda f, a: f(a, -1), (2, 3, 4), id="stacked"),
    case(np.triu, lambda f, a: f(a, 1), (3, 4)),
    case(np.flip, lambda f, a: f(a), (2, 3)),
    case(np.flip, lambda f, a: f(a, axis=(0, 2)), (2, 3, 2), id="axes"),
    case(np.fliplr, lambda f, a: f(a), (2, 3)),
    case(np.flipud, lambda f, a: f(a), (2, 3)),
    case(np.rot90, lambda f, a: f(a, 3, axes=(0, 1)), (2, 3)),
    case(np.roll, lambda f, a: f(a, 2), (2, 3)),
    case(np.roll, lambda f, a: f(a, (1, -1), axis=(0, 1)), (2, 3), id="axes"),
    case(np.take, lambda f, a: f(a, IDX, axis=1), (2, 3)),
    case(np.take, lambda f, a: f(a, [5, 0, 3, 5]), (2, 3), id="flat"),
    case(np.take, lambda f, a: f(a, [-1, 7], mode="clip"), (2, 3), id="clip"),
    case(np.take_along_axis, lambda f, a: f(a, np.array([[2, 0, 0], [1, 2, 1]]), axis=-1),
         (2, 3)),
    case(np.repeat, lambda f, a: f(a, 2, axis=0), (2, 3)),
    case(np.repeat, lambda f, a: f(a, [1, 0, 2], axis=1), (2, 3), id="counts"),
    case(np.tile, lambda f, a: f(a, (2, 1, 2)), (2, 3)),
    case(np.resize, lambda f, a: f(a, (4, 4)), (2, 3)),
    case(np.delete, lambda f, a: f(a, [0, 2], axis=1), (2, 3)),
    case(np.compress, lambda f, a: f([True, False, True], a, axis=1), (2, 3)),
    case(np.extract, lambda f, a: f(MASK34, a), (3, 4)),
    case(np.choose, lambda f, a, b, c: f(np.array([[0, 2, 1], [1, 0, 2]]), [a, b, c]),
         (2, 3), (2, 3), (3,)),
    case(np.select, lambda f, a, b, c: f([COND, ~COND & np.array([1, 1, 0, 0], bool)], [a, b],
                                         c), (4,), (4,), (4,), alone=(0, 1)),
    # numpy does not dispatch on `default`: a dual default alone raises (test_select_...)
    case(np.select, lambda f, a, b: f([COND], [a], default=b), (4,), (4,), alone=(0,),
         id="default"),
    case(np.select, lambda f, a: f([COND], [a], 2.5), (4,), id="fill"),
    case(np.where, lambda f, a, b: f(COND, a, b), (4,), (2, 4)),
    case(np.where, lambda f, a: f(COND, a, 0.0), (4,), id="fill"),
    case(np.where, lambda f, a: f(a > 0, 1.0, a), (4,), id="cond-from-dual"),
    # --- structural: joining and splitting -----------------------------------------------
    case(np.concatenate, lambda f, a, b: f([a, b], axis=1), (2, 3), (2, 2)),
    case(np.concatenate, lambda f, a, b: f((a, b), axis=None), (2, 3), (2,), id="None"),
    case(np.concatenate, lambda f, a, b: f([a, b, np.ones((1, 3))]), (2, 3), (1, 3),
         id="with-plain"),
    case(np.stack, lambda f, a, b: f([a, b], axis=-1), (2, 3), (2, 3)),
    case(np.hstack, lambda f, a, b: f([a, b]), (2, 3), (2, 1)),
    case(np.vstack, lambda f, a, b: f([a, b]), (3,), (2, 3)),
    case(np.column_stack, lambda f, a, b: f([a, b]), (3,), (3, 2)),
    case(np.dstack, lambda f, a, b: f([a, b]), (2, 3), (2, 3)),
    case(np.block, lambda f, a, b, c, d: f([[a, b], [c, d]]), (2, 2), (2, 1), (1, 2),
         (1, 1)),
    case(np.append, lambda f, a, b: f(a, b), (2, 3), (2,)),
    case(np.append, lambda f, a, b: f(a, b, axis=0), (2, 3), (1, 3), id="axis"),
    case(np.insert, lambda f, a, b: f(a, 1, b, axis=0), (2, 3), (3,)),
    case(np.insert, lambda f, a: f(a, [0, 2], 5.0), (2, 3), id="fill"),
    case(np.insert, lambda f, a, b: f(a, [0, 2], values=b, axis=1), (2, 3), (2, 2),
         id="values-kw"),
    case(np.split, lambda f, a: f(a, 3, axis=1), (2, 3)),
    case(np.split, lambda f, a: f(a, [1, 3]), (4, 2), id="indices"),
    case(np.array_split, lambda f, a: f(a, 4), (7,)),
    case(np.hsplit, lambda f, a: f(a, 2), (3, 4)),
    case(np.vsplit, lambda f, a: f(a, [1]), (3, 4)),
    case(np.dsplit, lambda f, a: f(a, 2), (2, 1, 4)),
    case(np.unstack, lambda f, a: f(a, axis=1), (2, 3)),
    case(np.pad, lambda f, a: f(a, ((1, 0), (2, 1)), constant_values=3.0), (2, 3),
         id="constant-fill"),
    case(np.pad, lambda f, a: f(a, 2, mode="reflect"), (3, 3), id="reflect"),
    case(np.pad, lambda f, a: f(a, (1, 2), mode="symmetric"), (4,), id="symmetric"),
    case(np.pad, lambda f, a: f(a, 1, mode="edge"), (2, 3), id="edge"),
    case(np.pad, lambda f, a: f(a, (2, 3), mode="wrap"), (3,), id="wrap"),
    case(np.pad, lambda f, a: f(a, 2, mode="reflect", reflect_type="odd"), (4,), id="odd"),
    case(np.pad, lambda f, a: f(a, 2, mode="mean"), (2, 3), id="mean"),
    case(np.pad, lambda f, a: f(a, ((1, 2), (0, 1)), mode="mean", stat_length=2), (3, 3),
         id="mean-stat"),
    case(np.pad, lambda f, a: f(a, (2, 1), mode="linear_ramp", end_values=1.0), (4,),
         id="linear_ramp"),
    # --- linear ----------------------------------------------------------------------------
    case(np.sum, lambda f, a: f(a), (2, 3)),
    case(np.sum, lambda f, a: f(a, axis=-1), (2, 3, 2), id="neg-axis"),
    case(np.sum, lambda f, a: f(a, axis=(0, 2), keepdims=True), (2, 3, 2), id="tuple-keep"),
    case(np.sum, lambda f, a: f(a, axis=1, where=MASK34), (3, 4), id="where"),
    case(np.sum, lambda f, a: a.sum(axis=0), (3, 4), id="method"),
    case(np.mean, lambda f, a: f(a), (2, 3)),
    case(np.mean, lambda f, a: f(a, axis=(1, 2)), (2, 3, 2), id="tuple"),
    case(np.mean, lambda f, a: f(a, axis=0, keepdims=True), (2, 3), id="keepdims"),
    case(np.cumsum, lambda f, a: f(a), (2, 3)),
    case(np.cumsum, lambda f, a: f(a, axis=-2), (2, 3, 2), id="axis"),
    case(np.cumulative_sum, lambda f, a: f(a, axis=1, include_initial=True), (2, 3)),
    case(np.trace, lambda f, a: f(a), (3, 3)),
    case(np.trace, lambda f, a: f(a, 1, 1, 2), (2, 3, 4), id="stacked"),
    case(la.trace, lambda f, a: f(a, offset=1), (2, 3, 3)),
    case(np.diff, lambda f, a: f(a), (2, 4)),
    case(np.diff, lambda f, a: f(a, n=2, axis=0), (4, 2), id="n2"),
    case(np.diff, lambda f, a, b: f(a, prepend=b, append=1.5), (4,), (2,), id="pre-append"),
    # --- reductions with custom rules ----------------------------------------------------
    case(np.prod, lambda f, a: f(a), (2, 3)),
    case(np.prod, lambda f, a: f(a, axis=(0, 2), keepdims=True), (2, 3, 2), id="tuple"),
    case(np.prod, lambda f, a: f(a, axis=-1), with_zeros((3, 3), (0, 1), (1, 0), (1, 2)),
         id="zeros"),
    case(np.cumprod, lambda f, a: f(a), (2, 3)),
    case(np.cumprod, lambda f, a: f(a, axis=1), with_zeros((2, 4), (0, 1), (1, 0), (1, 2)),
         id="zeros"),
    case(np.cumulative_prod, lambda f, a: f(a, axis=0), (3, 2)),
    case(np.max, lambda f, a: f(a), (2, 3)),
    case(np.max, lambda f, a: f(a, axis=(0, 2), keepdims=True), (2, 3, 2), id="tuple"),
    case(np.max, lambda f, a: a.max(axis=-1), (2, 3), id="method"),
    case(np.amax, lambda f, a: f(a, axis=0), (2, 3)),
    case(np.min, lambda f, a: f(a, axis=-1), (2, 3)),
    case(np.amin, lambda f, a: f(a, axis=None, keepdims=True), (2, 3)),
    case(np.nanmax, lambda f, a: f(a, axis=1), nan_at((2, 3), (0, 1))),
    case(np.nanmin, lambda f, a: f(a), nan_at((2, 3), (1, 2))),
    case(np.ptp, lambda f, a: f(a, axis=0), (3, 2)),
    case(np.var, lambda f, a: f(a), (2, 3)),
    case(np.var, lambda f, a: f(a, axis=(0, 2), ddof=1, keepdims=True), (2, 3, 2),
         id="ddof"),
    case(np.std, lambda f, a: f(a, axis=-1), (2, 3)),
    case(np.std, lambda f, a: f(a, ddof=1), (4,), id="ddof"),
    case(np.average, lambda f, a: f(a, axis=1), (2, 3)),
    case(np.average, lambda f, a, w: f(a, weights=w), (2, 3), lambda r: r.uniform(1, 2, (2, 3)),
         id="weights"),
    case(np.average, lambda f, a, w: f(a, axis=0, weights=w, returned=True), (3, 2),
         lambda r: r.uniform(1, 2, 3), id="returned"),
    case(np.median, lambda f, a: f(a), (2, 3)),
    case(np.median, lambda f, a: f(a, axis=0, keepdims=True), (3, 2), id="axis"),
    case(np.quantile, lambda f, a: f(a, 0.3, axis=1, keepdims=True), (2, 5)),
    case(np.quantile, lambda f, a: f(a, [0.1, 0.5, 0.95], axis=0), (5, 2), id="q-array"),
    case(np.quantile, lambda f, a: f(a, 0.4, method="midpoint"), (6,), id="midpoint"),
    case(np.quantile, lambda f, a: f(a, [0.3, 0.7], method="nearest"), (6,), id="nearest"),
    case(np.quantile, lambda f, a: f(a, 0.3, method="lower"), (6,), id="lower"),
    case(np.quantile, lambda f, a: f(a, 0.3, method="higher"), (6,), id="higher"),
    case(np.percentile, lambda f, a: f(a, [25, 80], axis=-1), (2, 5)),
    case(np.nansum, lambda f, a: f(a, axis=0), nan_at((2, 3), (0, 1))),
    case(np.nanprod, lambda f, a: f(a), nan_at((2, 3), (1, 1))),
    case(np.nancumsum, lambda f, a: f(a, axis=1), nan_at((2, 3), (0, 0))),
    case(np.nancumprod, lambda f, a: f(a), nan_at((2, 3), (0, 2))),
    case(np.nanmean, lambda f, a: f(a, axis=1), nan_at((2, 3), (0, 1))),
    case(np.nanvar, lambda f, a: f(a, axis=1), nan_at((2, 4), (0, 1))),
    case(np.nanstd, lambda f, a: f(a, ddof=1), nan_at((2, 4), (1, 3))),
    # --- sorting and selection by value --------------------------------------------------
    case(np.sort, lambda f, a: f(a), (3, 4)),
    case(np.sort, lambda f, a: f(a, axis=0), (3, 4), id="axis0"),
    case(np.sort, lambda f, a: f(a, axis=None), (3, 4), id="None"),
    case(np.partition, lambda f, a: f(a, 2), (2, 5)),
    case(np.partition, lambda f, a: f(a, 1, axis=None), (2, 3), id="None"),
    case(np.unique, lambda f, a: f(a), (2, 3)),
    case(np.unique, lambda f, a: f(a, return_counts=True, return_index=True), (5,),
         id="counts"),
    case(np.unique_values, lambda f, a: f(a), (5,)),
    case(np.clip, lambda f, a: f(a, -0.5, 0.5), (3, 4)),
    case(np.clip, lambda f, a, lo, hi: f(a, lo, hi), (2, 3), (3,), (2, 1), id="arrays"),
    case(np.clip, lambda f, a: f(a, max=0.2), (3, 4), id="max-kw"),
    case(np.clip, lambda f, a: a.clip(None, 0.1), (3, 4), id="method"),
    # --- products --------------------------------------------------------------------------
    case(np.dot, lambda f, a, b: f(a, b), (3,), (3,), id="vv"),
    case(np.dot, lambda f, a, b: f(a, b), (2, 3), (3,), id="mv"),
    case(np.dot, lambda f, a, b: f(a, b), (2, 3), (3, 2), id="mm"),
    case(np.dot, lambda f, a, b: f(a, b), (2, 2, 3), (4, 3, 2), id="nd"),
    case(np.dot, lambda f, a, b: f(a, b), (), (2, 3), id="scalar"),
    case(np.dot, lambda f, a, b: a.dot(b), (2, 3), (3, 2), alone=(0,), id="method"),
    case(np.matmul, lambda f, a, b: f(a, b), (2, 3), (3,), id="mv"),
    case(np.matmul, lambda f, a, b: a @ b, (3,), (3, 2), id="vm"),
    case(np.matmul, lambda f, a, b: a @ b, (2, 2, 3), (3, 2), id="stacked"),
    case(np.matmul, lambda f, a, b: a @ b, (2, 2, 3), (1, 3, 2), id="stacked-both"),
    case(np.matmul, lambda f, a, b: a @ b, (3,), (2, 3, 2), id="v-stacked"),
    case(la.matmul, lambda f, a, b: f(a, b), (2, 3), (3, 2)),
    case(np.vdot, lambda f, a, b: f(a, b), (2, 3), (2, 3)),
    case(np.inner, lambda f, a, b: f(a, b), (2, 3), (4, 3)),
    case(np.inner, lambda f, a, b: f(a, b), (), (3,), id="scalar"),
    case(np.outer, lambda f, a, b: f(a, b), (3,), (2, 2)),
    case(la.outer, lambda f, a, b: f(a, b), (3,), (2,)),
    case(np.tensordot, lambda f, a, b: f(a, b, 1), (2, 3), (3, 2)),
    case(np.tensordot, lambda f, a, b: f(a, b), (2, 3, 2), (3, 2, 2), id="axes2"),
    case(np.tensordot, lambda f, a, b: f(a, b, ([1, 0], [0, 2])), (2, 3, 2), (3, 2, 2),
         id="axes-lists"),
    case(la.tensordot, lambda f, a, b: f(a, b, axes=1), (2, 3), (3,)),
    case(np.einsum, lambda f, a, b: f("ij,jk->ik", a, b), (2, 3), (3, 2)),
    case(np.einsum, lambda f, a: f("ii->i", a), (3, 3), id="diag"),
    case(np.einsum, lambda f, a: f("ij->", a), (2, 3), id="sum"),
    case(np.einsum, lambda f, a, b: f("ij,jk", a, b), (2, 3), (3, 2), id="implicit"),
    case(np.einsum, lambda f, a, b: f("...ij,...jk->...ik", a, b), (2, 2, 3), (2, 3, 1),
         id="ellipsis"),
    case(np.einsum, lambda f, a, b, c: f("i,ij,j->", a, b, c), (2,), (2, 3), (3,),
         id="three"),
    case(np.kron, lambda f, a, b: f(a, b), (2, 2), (2, 3)),
    case(np.kron, lambda f, a, b: f(a, b), (2,), (2, 3), id="1d-2d"),
    case(np.cross, lambda f, a, b: f(a, b), (3,), (3,)),
    case(np.cross, lambda f, a, b: f(a, b, axisa=0, axisc=0), (3, 2), (2, 3), id="axes"),
    case(la.cross, lambda f, a, b: f(a, b), (2, 3), (2, 3)),
    case(la.vecdot, lambda f, a, b: f(a, b), (2, 3), (3,)),
    case(la.multi_dot, lambda f, a, b, c: f([a, b, c]), (2, 3), (3, 3), (3, 2)),
    case(la.matrix_power, lambda f, a: f(a, 3), (3, 3)),
    case(la.matrix_power, lambda f, a: f(a, 0), (2, 2), id="0"),
    case(la.matrix_power, lambda f, a: f(a, 2), (2, 3, 3), id="stacked"),
    # --- other functions -----------------------------------------------------------------
    case(np.copy, lambda f, a: f(a), (2, 3)),
    case(np.astype, lambda f, a: f(a, np.float64), (2, 3)),
    case(np.real, lambda f, a: f(a), (2, 3)),
    case(np.real_if_close, lambda f, a: f(a), (2, 3)),
    case(np.imag, lambda f, a: f(a), (2, 3)),
    case(np.angle, lambda f, a: f(a), (2, 3)),
    case(np.round, lambda f, a: f(a, 1), [[0.123, -1.37], [2.71, 0.62]]),
    case(np.around, lambda f, a: f(a), [[0.3, -1.7], [2.2, 0.6]]),
    case(np.fix, lambda f, a: f(a), [[0.3, -1.7], [2.2, 0.6]]),
    case(np.nan_to_num, lambda f, a: f(a, nan=1.0, posinf=9.0),
         [[0.3, np.nan], [np.inf, -np.inf], [-0.2, 1.4]]),
    case(np.sinc, lambda f, a: f(a), [0.0, 0.3, -1.7, 2.5]),
    case(np.unwrap, lambda f, a: f(a), [0.0, 3.0, 6.5, 0.3, -3.5]),
    case(np.interp, lambda f, x, fp: f(x, [0.0, 1.0, 2.5, 3.0], fp),
         [-0.5, 0.2, 1.3, 2.7, 3.5], (4,)),
    case(np.polyval, lambda f, p, x: f(p, x), (4,), (2, 3)),
    case(np.polyval, lambda f, p, x: f(p, x), (3,), (), id="scalar"),
    case(np.polyval, lambda f, x: f(np.poly1d([1.5, -2.0, 0.5]), x), (2, 3), id="poly1d"),
    case(np.vander, lambda f, a: f(a, 4), (3,)),
    case(np.vander, lambda f, a: f(a, increasing=True), (3,), id="increasing"),
    case(np.linspace, lambda f, a, b: f(a, b, 5), (), ()),
    case(np.linspace, lambda f, a, b: f(a, b, 4, endpoint=False, axis=1, retstep=True),
         (2,), (2,), id="arrays"),
    case(np.trapezoid, lambda f, y: f(y, dx=0.5), (2, 5)),
    case(np.trapezoid, lambda f, y, x: f(y, x, axis=0), (4, 2), lambda r: np.sort(
        r.uniform(0, 3, 4)), id="x"),
    case(np.bincount, lambda f, w: f(np.array([0, 2, 2, 4, 0]), weights=w, minlength=6),
         (5,)),
    case(np.piecewise, lambda f, x: f(x, [x < 0, x >= 0], [lambda t: t * t, lambda t: -t]),
         (2, 4)),
    case(np.piecewise, lambda f, x: f(x, [x < -0.5], [lambda t: t ** 3, 2.0]), (6,),
         id="otherwise-constant"),
    case(np.apply_along_axis, lambda f, a: f(lambda r: np.sum(r * r), 1, a), (2, 3)),
    case(np.apply_along_axis, lambda f, a: f(lambda r: r[::-1] * r[0], 0, a), (3, 2, 2),
         id="vector"),
    # --- in place ------------------------------------------------------------------------
    case(np.put, inplace(np.put, [0, 5, 3], arg(0)), (2, 3), (3,), alone=(0,)),
    case(np.put, inplace(np.put, [-1, 2, 4, 0], arg(0)), (2, 3), (2,), alone=(0,),
         id="negative-repeat"),
    case(np.put, inplace(np.put, [7, -9], arg(0), mode="clip"), (2, 3), (2,), alone=(0,),
         id="clip"),
    case(np.put, inplace(np.put, [7, -2], arg(0), mode="wrap"), (2, 3), (2,), alone=(0,),
         id="wrap"),
    case(np.place, inplace(np.place, MASK34, arg(0)), (3, 4), (2,), alone=(0,)),
    case(np.putmask, inplace(np.putmask, MASK34, arg(0)), (3, 4), (3, 4), alone=(0,)),
    case(np.putmask, inplace(np.putmask, MASK34, arg(0)), (3, 4), (5,), alone=(0,),
         id="short-values"),
    case(np.put_along_axis, inplace(np.put_along_axis, np.array([[1], [0], [2]]), arg(0), 1),
         (3, 4), (3, 1), alone=(0,)),
    case(np.put_along_axis, inplace(np.put_along_axis, np.array([[1, 3]]), arg(0), 1),
         (3, 4), (1, 2), alone=(0,), id="broadcast"),
    case(np.put_along_axis, inplace(np.put_along_axis, np.array([[1], [0]]), arg(0), 0),
         (3, 2), (), alone=(0,), id="scalar"),
    case(np.fill_diagonal, inplace(np.fill_diagonal, arg(0)), (3, 3), (), alone=(0,)),
    case(np.fill_diagonal, inplace(np.fill_diagonal, arg(0)), (3, 3), (3,), alone=(0,),
         id="vector"),
    case(np.fill_diagonal, inplace(np.fill_diagonal, arg(0), wrap=True), (7, 3), (),
         alone=(0,), id="wrap"),
    case(np.copyto, inplace(np.copyto, arg(0)), (2, 3), (3,), alone=(0,)),
    case(np.copyto, inplace(np.copyto, arg(0), where=MASK34), (3, 4), (3, 4), alone=(0,),
         id="where"),
    case(np.zeros_like, lambda f, a: f(a), (2, 3)),
    case(np.ones_like, lambda f, a: f(a), (2, 3)),
    case(np.full_like, lambda f, a: f(a, 2.5), (2, 3)),
    # --- convolution, covariance, gradient, polynomials (more in test_idioms.py) ------------
    case(np.convolve, lambda f, a, v: f(a, v), (5,), (3,)),
    case(np.convolve, lambda f, a, v: f(a, v, "same"), (2,), (4,), id="same"),
    case(np.correlate, lambda f, a, v: f(a, v, "valid"), (5,), (3,)),
    case(np.correlate, lambda f, a, v: f(a, v, "full"), (3,), (4,), id="full"),
    case(np.cov, lambda f, a: f(a), (3, 5)),
    case(np.cov, lambda f, a, y: f(a, y, rowvar=False, aweights=[1.0, 2.0, 0.5, 1.5]),
         (4, 2), (4,), id="y-aweights"),
    case(np.corrcoef, lambda f, a: f(a), (3, 5)),
    case(np.gradient, lambda f, a: f(a, 0.5, edge_order=2), (3, 4)),
    case(np.gradient, lambda f, a: f(a, [0.0, 0.5, 1.5, 2.0], axis=-1), (2, 4), id="coords"),
    case(np.fft.fftshift, lambda f, a: f(a), (3, 4)),
    case(np.fft.ifftshift, lambda f, a: f(a, axes=1), (3, 5)),
    case(np.poly, lambda f, r: f(r), (3,)),
    case(np.polyadd, lambda f, a, b: f(a, b), (4,), (2,)),
    case(np.polysub, lambda f, a, b: f(a, b), (2,), (3,)),
    case(np.polymul, lambda f, a, b: f(a, b), (4,), (2,)),
    case(np.polydiv, lambda f, a, b: f(a, b), (5,), (3,)),
    case(np.polyder, lambda f, p: f(p, 2), (5,)),
    case(np.polyint, lambda f, p, k: f(p, 2, k), (4,), (2,), alone=(0,)),  # (numpy
    #  dispatches on p only: a dual k alone reaches no __array_function__)
    case(np.polynomial.polynomial.polyval2d, lambda f, x, y, c: f(x, y, c), (3,), (3,),
         (2, 3)),
    case(np.polynomial.polynomial.polygrid2d, lambda f, x, y, c: f(x, y, c), (2,), (3,),
         (2, 2)),
]
if np.lib.NumpyVersion(np.__version__) >= "2.3.0":  # {axis: width}
    CASES.append(case(np.pad, lambda f, a: f(a, {-1: (1, 2)}, mode="wrap"), (2, 3), id="dict"))


def _pack(inputs, diff):
    return np.concatenate([np.ravel(inputs[i]) for i in diff])


def _unpack(flat_x, inputs, diff):
    out, pos = list(inputs), 0
    for i in diff:
        shape = np.shape(inputs[i])
        size = int(np.prod(shape, dtype=np.int64))
        out[i] = flat_x[pos:pos + size].reshape(shape)
        pos += size
    return out


def _check(c, inputs, diff):
    def g(flat_x):
        return flat(c.call(c.func, *_unpack(flat_x, inputs, diff)))

    x = _pack(inputs, diff)
    value, _ = ad.jvp_many(g, x, np.zeros(x.shape + (1,)))
    expected_value = g(x)
    assert not isinstance(value, DualNumber)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-14)
    jac = ad.jacobian(g, x)
    assert isinstance(jac, np.ndarray) and jac.shape == np.shape(expected_value) + x.shape
    np.testing.assert_allclose(jac, fd_jacobian(g, x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_all_dual(c):
    _check(c, build(c), c.diff)


ONE = [(c, i) for c in CASES if len(c.diff) > 1 for i in c.alone]


@pytest.mark.parametrize("c,i", ONE, ids=[f"{c.id}-arg{i}" for c, i in ONE])
def test_one_dual(c, i):
    _check(c, build(c), (i,))


# =========================================================================================
# coverage: every registered non-primal function has a case
# =========================================================================================
def _is_linalg(func):
    return (getattr(func, "__module__", "") or "").startswith("numpy.linalg")


# checked by the dedicated tests below instead of finite differences
SPECIAL = {np.empty_like, np.array2string, np.array_str, np.array_repr}
# numpy.fft (complex results), polyfit and the complex duals' primitives: tests/test_fft_eig.py
SPECIAL |= {getattr(np.fft, name) for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft",
                                                "fft2", "ifft2", "rfft2", "irfft2", "fftn",
                                                "ifftn", "rfftn", "irfftn")}
SPECIAL |= {f for f in _functions.CATEGORY if f.__module__ == "dualad"} | {np.polyfit}


def test_every_registered_function_has_a_case():
    covered = {c.func for c in CASES} | SPECIAL
    registered = {f for f, cat in _functions.CATEGORY.items()
                  if cat != "primal" and not _is_linalg(f)}
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in registered - covered)
    assert not missing, f"registered functions without a test case: {missing}"


def test_every_case_is_registered():
    # a case for an unregistered function would test nothing of the registry
    unregistered = [c.id for c in CASES
                    if c.func not in _functions.HANDLED and c.func is not np.matmul]
    assert not unregistered


def test_empty_like_has_zero_partials():
    x = ad.DualNumber(np.ones((2, 3)), np.ones((2, 3, 4)))
    y = np.empty_like(x)
    assert isinstance(y, DualNumber) and y.shape == (2, 3) and y.partials.shape == (2, 3, 4)
    assert not np.any(y.partials)
    assert np.empty_like(x, dtype=int).dtype.kind == "i"  # an integer result is plain


@pytest.mark.parametrize("func", [np.array2string, np.array_str, np.array_repr])
def test_printing_functions(func):
    x = ad.DualNumber([1.25, 2.5], [3.0, 4.0])
    s = func(x)
    assert isinstance(s, str) and "1.25" in s and "3." in s


# =========================================================================================
# value-dependent functions at ties: a valid one-sided derivative, not finite differences
# =========================================================================================
def _is_selection(jac):
    """Each output row picks exactly one input with weight 1."""
    return np.all((jac == 0) | (jac == 1)) and np.all(jac.sum(axis=-1) == 1)


def test_sort_with_ties_is_a_permutation():
    x = np.array([2.0, 1.0, 2.0, 1.0, 0.5])
    jac = ad.jacobian(np.sort, x)
    assert _is_selection(jac) and np.all(jac.sum(axis=0) == 1)  # a permutation matrix
    np.testing.assert_array_equal(jac @ x, np.sort(x))
    # ties keep their order (stable): the first 1.0 comes first
    assert jac[1, 1] == 1 and jac[2, 3] == 1


@pytest.mark.parametrize("func", [np.max, np.min, np.amax, np.amin])
def test_extremum_with_ties_picks_one_maximal_element(func):
    x = np.array([1.0, 3.0, -1.0, 3.0, -1.0])
    g = ad.gradient(func, x)
    assert _is_selection(g[None])
    assert x[np.argmax(g)] == func(x)


def test_max_axis_ties():
    x = np.array([[1.0, 1.0], [2.0, 0.0]])
    jac = ad.jacobian(lambda v: np.max(v, axis=1), x).reshape(2, 4)
    assert _is_selection(jac)
    np.testing.assert_array_equal(jac @ x.ravel(), x.max(axis=1))


def test_median_with_ties():
    x = np.array([1.0, 2.0, 2.0, 5.0])
    g = ad.gradient(np.median, x)
    assert g.sum() == pytest.approx(1.0)
    assert g @ x == pytest.approx(np.median(x))
    assert np.all(g[[0, 3]] == 0)


def test_quantile_between_ties():
    x = np.array([3.0, 1.0, 3.0, 0.0])
    g = ad.gradient(lambda v: np.quantile(v, 0.8), x)
    assert g.sum() == pytest.approx(1.0) and g @ x == pytest.approx(np.quantile(x, 0.8))


def test_unique_with_duplicates_picks_one_copy():
    x = np.array([2.0, 1.0, 2.0, 1.0, 3.0])
    jac = ad.jacobian(np.unique, x)
    assert jac.shape == (3, 5) and _is_selection(jac)
    np.testing.assert_array_equal(jac @ x, np.unique(x))


def test_where_branch_not_taken_is_ignored():
    x = np.array([0.0, 4.0])
    g = ad.gradient(lambda v: np.sum(np.where(v > 0, np.sqrt(v), 0.0)), x)
    np.testing.assert_allclose(g, [0.0, 0.25])


# =========================================================================================
# primal functions: plain numpy results, equal to numpy on the values
# =========================================================================================
def _dual(a):
    a = np.asarray(a, dtype=float)
    return ad.DualNumber(a, np.ones(a.shape + (2,)))


A = np.array([[0.5, -1.0, 2.0], [3.0, np.inf, -np.inf]])
B = np.array([[0.5, -1.0, 2.0], [3.0, 0.0, 1.0]])
V = np.array([3.0, 1.0, 2.0, 1.0])
SORTED = np.array([0.0, 1.0, 2.5])
SQ = np.array([[1.0, 2.0], [2.0, 4.0]])

PRIMAL_CASES = [
    (np.argmax, lambda f, a: f(a, axis=1), B),
    (np.argmin, lambda f, a: f(a), B),
    (np.nanargmax, lambda f, a: f(a), np.array([np.nan, 1.0, 3.0])),
    (np.nanargmin, lambda f, a: f(a, axis=0), np.array([np.nan, 1.0, 3.0])),
    (np.argsort, lambda f, a: f(a), V),
    (np.argpartition, lambda f, a: f(a, 1), V),
    (np.argwhere, lambda f, a: f(a), B),
    (np.nonzero, lambda f, a: f(a), B),
    (np.flatnonzero, lambda f, a: f(a), B),
    (np.count_nonzero, lambda f, a: f(a, axis=1), B),
    (np.searchsorted, lambda f, a: f(a, [0.5, 2.5]), SORTED),
    (np.searchsorted, lambda f, a: f(SORTED, a), V),
    (np.digitize, lambda f, a: f(a, SORTED), V),
    (np.lexsort, lambda f, a: f(a), B),
    (np.shape, lambda f, a: f(a), B),
    (np.ndim, lambda f, a: f(a), B),
    (np.size, lambda f, a: f(a), B),
    (np.isclose, lambda f, a: f(a, 2.0), V),
    (np.allclose, lambda f, a: f(a, V), V),
    (np.array_equal, lambda f, a: f(a, V), V),
    (np.array_equiv, lambda f, a: f(a, V[None]), V),
    (np.isneginf, lambda f, a: f(a), A),
    (np.isposinf, lambda f, a: f(a), A),
    (np.isin, lambda f, a: f(a, [1.0, 2.0]), V),
    (np.iscomplex, lambda f, a: f(a), V),
    (np.isreal, lambda f, a: f(a), V),
    (np.iscomplexobj, lambda f, a: f(a), V),
    (np.isrealobj, lambda f, a: f(a), V),
    (np.all, lambda f, a: f(a > 0), V),
    (np.any, lambda f, a: f(a, axis=0), B),
    (np.may_share_memory, lambda f, a: f(a, np.zeros(2)), V),
    (np.shares_memory, lambda f, a: f(a, np.zeros(2)), V),
    (np.result_type, lambda f, a: f(a, np.float32), V),
    (np.can_cast, lambda f, a: f(a, np.float32), V),
    (np.min_scalar_type, lambda f, a: f(a), V),
    (np.common_type, lambda f, a: f(a), V),
    (np.einsum_path, lambda f, a: f("ij,jk->ik", a, a.T), B),
    (np.diag_indices_from, lambda f, a: f(a), SQ),
    (np.tril_indices_from, lambda f, a: f(a, 1), SQ),
    (np.triu_indices_from, lambda f, a: f(a), SQ),
    (la.matrix_rank, lambda f, a: f(a), SQ),
]


def _no_duals(obj):
    if isinstance(obj, DualNumber):
        return False
    if isinstance(obj, (tuple, list)):
        return all(_no_duals(o) for o in obj)
    return True


@pytest.mark.parametrize("func,call,a", PRIMAL_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(PRIMAL_CASES)])
def test_primal_function(func, call, a):
    assert _functions.CATEGORY[func] == "primal"
    got = call(func, _dual(a))
    assert _no_duals(got)
    expected = call(func, a)
    np.testing.assert_equal(got, expected)


def test_every_primal_function_has_a_case():
    primal = {f for f, cat in _functions.CATEGORY.items() if cat == "primal"}
    missing = primal - {f for f, _, _ in PRIMAL_CASES}
    assert not missing, sorted(f.__name__ for f in missing)


def test_where_one_argument_gives_plain_indices():
    got = np.where(_dual(B) > 0)
    assert _no_duals(got)
    np.testing.assert_equal(got, np.where(B > 0))


@pytest.mark.parametrize("func", [np.argmax, np.argmin])
def test_argmax_is_a_plain_int(func):
    r = func(_dual(V))
    assert isinstance(r, (int, np.integer)) and r == func(V)


# =========================================================================================
# issue 2, item 4: the required functions are all handled
# =========================================================================================
REQUIRED = """sum mean prod cumsum cumprod diff dot vdot inner outer matmul tensordot einsum trace
concatenate stack hstack vstack column_stack split array_split reshape ravel transpose swapaxes
moveaxis squeeze expand_dims broadcast_to broadcast_arrays atleast_1d atleast_2d where clip take
take_along_axis diagonal diag tril triu flip roll sort max min amax amin argmax argmin var std
average zeros_like ones_like empty_like full_like copy interp polyval linalg.norm linalg.solve
linalg.inv linalg.det linalg.slogdet linalg.cholesky linalg.eigh""".split()


@pytest.mark.parametrize("name", REQUIRED)
def test_required_function_is_handled(name):
    func = np
    for part in name.split("."):
        func = getattr(func, part)
    if name == "matmul":  # a ufunc: handled by __array_ufunc__
        from dualad.rules import ufuncs as _ufunc
        assert func in _ufunc.CUSTOM
    else:
        assert func in _functions.HANDLED, name
        assert _functions.CATEGORY[func] in ("structural", "linear", "custom", "primal")


# =========================================================================================
# errors: derivatives are never dropped silently
# =========================================================================================
def test_out_argument_raises():
    x = _dual([1.0, 2.0])
    with pytest.raises(TypeError, match="out="):
        np.sum(x, out=np.zeros(()))


def test_integer_dtype_raises():
    x = _dual([1.0, 2.0])
    with pytest.raises(TypeError, match="dtype"):
        np.sum(x, dtype=int)
    with pytest.raises(TypeError, match="astype"):
        np.astype(x, np.int64)


def test_inplace_into_plain_array_raises():
    a = np.zeros(3)
    with pytest.raises(TypeError):
        np.copyto(a, _dual([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError):
        np.put(a, [0], _dual([1.0]))
    assert not np.any(a)


def test_pad_empty_has_zero_partials_in_the_padding():
    y = np.pad(_dual([1.0, 2.0]), (1, 2), mode="empty")
    np.testing.assert_array_equal(y.partials[[0, 3, 4]], 0.0)
    np.testing.assert_array_equal(y.value[1:3], [1.0, 2.0])
    np.testing.assert_array_equal(y.partials[1:3], 1.0)


def test_select_with_only_a_dual_default_raises():
    # numpy's dispatcher ignores `default`, so numpy itself converts it: an error, not a drop
    with pytest.raises(TypeError, match="derivative"):
        np.select([COND], [np.ones(4)], _dual(np.zeros(4)))


@pytest.mark.parametrize("mode", ["maximum", "minimum", "median"])
def test_pad_order_statistics_raise(mode):
    with pytest.raises(TypeError, match=mode):
        np.pad(_dual([1.0, 2.0]), 1, mode=mode)


def test_plain_ndarray_dot_method_raises():
    with pytest.raises(TypeError):
        np.ones((2, 2)).dot(_dual(np.ones((2, 2))))


def test_interp_xp_dual_raises():
    with pytest.raises(TypeError, match="xp"):
        np.interp(0.5, _dual([0.0, 1.0]), [1.0, 2.0])


def test_mismatched_directions_raise():
    a = ad.DualNumber([1.0, 2.0], np.ones((2, 2)))
    b = ad.DualNumber([1.0, 2.0], np.ones((2, 3)))
    with pytest.raises(ValueError, match="directions"):
        np.concatenate([a, b])
    with pytest.raises(ValueError, match="directions"):
        np.dot(a, b)


def test_matmul_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(2, 2\)"):
        _dual(np.ones((2, 3))) @ np.ones((2, 2))
    with pytest.raises(ValueError, match=r"\(2, 2\) and \(3,\)"):
        np.ones((2, 2)) @ _dual(np.ones(3))


def test_float32_stays_float32():
    x = ad.DualNumber(np.ones((2, 3), np.float32), np.ones((2, 3, 2), np.float32))
    for y in (np.sum(x, axis=0), np.concatenate([x, x]), np.tril(x), np.dot(x, x.T),
              np.sort(x), np.max(x, axis=1), np.cumprod(x), np.pad(x, 1)):
        assert y.value.dtype == np.float32 and y.partials.dtype == np.float32, y


@pytest.mark.parametrize("a_shape,b_shape,axes", [
    ((5,), (5,), 1), ((5,), (5, 3), 1), ((4, 5), (5,), 1), ((4, 5), (5, 3), 1),
    ((2, 4, 5), (5, 3), 1), ((2, 4, 5), (4, 5, 3), 2), ((3, 4), (4, 2, 2), 1),
    ((4, 5), (3, 5), ([1], [1])), ((5, 4), (5, 3), ([0], [0]))])
@pytest.mark.parametrize("n", [1, 3])
def test_partials_times_a_plain_operand_equal_one_product_per_direction(a_shape, b_shape,
                                                                       axes, n):
    # oracle: the plain product of each direction's partials, one at a time
    rng = np.random.default_rng(len(a_shape) * 10 + len(b_shape) + n)
    a = DualNumber(rng.normal(size=a_shape), rng.normal(size=a_shape + (n,)))
    b = rng.normal(size=b_shape)
    out = np.tensordot(a, b, axes)
    want = np.stack([np.tensordot(a.partials[..., k], b, axes) for k in range(n)], axis=-1)
    assert out.partials.shape == want.shape
    assert np.allclose(out.partials, want, rtol=1e-13, atol=1e-13)
    assert np.array_equal(out.value, np.tensordot(a.value, b, axes))
    if isinstance(axes, int) and axes == 1 and len(b_shape) <= 2:
        got = a @ b if len(a_shape) <= 2 else np.matmul(a, b)
        want = np.stack([a.partials[..., k] @ b for k in range(n)], axis=-1)
        assert np.allclose(got.partials, want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("x", [0.0, 1e-8, 1e-4, 0.3, 0.6366, 0.64, 2.5, -1.3])
def test_sinc_derivatives_of_every_order_near_and_at_zero(x):
    # sin(πx)/(πx) cancels in its derivatives near 0 (and is 0/0 at 0): mpmath as the oracle
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40

    def sinc(t):
        return mpmath.sin(mpmath.pi * t) / (mpmath.pi * t) if t else mpmath.mpf(1)

    def exact(k):
        return float(mpmath.taylor(sinc, mpmath.mpf(x), k)[k] * mpmath.factorial(k))
    for k in range(7):
        want = exact(k)
        assert ad.derivative(np.sinc, np.float64(x), order=k) == pytest.approx(
            want, rel=1e-12, abs=1e-12), k
