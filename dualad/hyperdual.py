"""HyperDual: exact second derivatives in one pass, the symmetric part stored once.

A hyper-dual array carries, for ``n`` directions, the value (shape S), the gradient part
(S + (n,)) and the upper triangle of the Hessian part (S + (n(n+1)/2,), pairs i <= j in
``np.triu_indices(n)`` order). Elementwise functions come from the one rule table: the first
derivative is the rule, the second is the rule's derivative, obtained by running the rule on a
DualNumber (no second table). Functions linear in their array arguments (reshape, sum,
concatenate, a product with a constant matrix, ...) act on the gradient and Hessian parts
alike through the DualNumber machinery; products of two hyper-duals carry the cross term;
everything else runs on the equivalent dual of duals, so nothing the core supports is lost.

>>> import numpy as np
>>> x = HyperDual.seed(np.array([3.0, 4.0]))
>>> y = x[0] ** 2 * x[1] + x[1] + 2
>>> y.value.item(), y.grad.tolist(), y.hessian().tolist()
(42.0, [24.0, 10.0], [[8.0, 6.0], [6.0, 0.0]])
"""
import dis
import functools

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from . import _functions, _ufunc, kernels
from ._bilinear import contract
from ._partials import primal, through_stacked
from ._rules import RULES
from ._tags import fresh
from .dual import DualNumber, _partials_index, _plain_index, make
from .taylor import PerturbationMix, Taylor


def _pairs(n):
    return np.triu_indices(n)


class HyperDual(NDArrayOperatorsMixin):
    """Vectorized hyper-dual array: ``value``, ``grad`` (n directions), packed ``hess``.

    >>> x = HyperDual.seed(np.array([1.0, 2.0]))
    >>> (x[0] * x[1] ** 2).hessian().tolist()      # d2/dx2 of x0 x1^2
    [[0.0, 4.0], [4.0, 2.0]]
    """

    # _stacked: when not None, one buffer S + (n + n(n+1)/2,) whose views are grad and hess,
    # so functions linear in their arguments take both parts without a concatenation
    __slots__ = ("value", "grad", "_hess", "_stacked")
    __hash__ = None

    def __init__(self, value, grad, hess=None):
        value = np.asarray(value, dtype=np.result_type(np.asarray(value).dtype, np.float64)
                           if np.asarray(value).dtype.kind != "f" else None)
        grad = np.asarray(grad, dtype=value.dtype)
        if grad.shape[:-1] != value.shape or grad.ndim != value.ndim + 1:
            raise ValueError(f"dualad: HyperDual grad must have shape {value.shape} + (n,), "
                             f"got {grad.shape}")
        n = grad.shape[-1]
        m = n * (n + 1) // 2
        if hess is not None:
            hess = np.asarray(hess, dtype=value.dtype)
            if hess.shape != value.shape + (m,):
                raise ValueError(f"dualad: HyperDual hess must have shape "
                                 f"{value.shape + (m,)} (upper triangle of {n}x{n}), "
                                 f"got {hess.shape}")
        self.value, self.grad, self._hess, self._stacked = value, grad, hess, None

    @classmethod
    def seed(cls, x):
        """Seed every element of ``x`` as its own direction (gradient part = identity)."""
        x = np.asarray(x, dtype=np.result_type(np.asarray(x).dtype, np.float32)
                       if np.asarray(x).dtype.kind == "f" else np.float64)
        n = x.size
        return cls(x, np.eye(n, dtype=x.dtype).reshape(x.shape + (n,)))

    @staticmethod
    def _new(value, grad, hess, stacked=None):
        h = object.__new__(HyperDual)
        h.value, h.grad, h._hess, h._stacked = np.asarray(value), grad, hess, stacked
        return h

    @staticmethod
    def _from_stacked(value, stacked, n):
        return HyperDual._new(value, stacked[..., :n], stacked[..., n:], stacked)

    def _stacked_parts(self):
        """grad and hess on one trailing axis (a view when they already share a buffer)."""
        if self._stacked is not None:
            return self._stacked
        return np.concatenate([self.grad, self.hess], axis=-1)

    @property
    def hess(self):
        """Packed upper triangle of the Hessian part, shape S + (n(n+1)/2,)."""
        if self._hess is None:  # zero until a nonlinear operation (seeds are linear)
            n = self.n_directions
            return np.zeros(self.shape + (n * (n + 1) // 2,), dtype=self.dtype)
        return self._hess

    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    size = property(lambda self: self.value.size)
    dtype = property(lambda self: self.value.dtype)
    n_directions = property(lambda self: self.grad.shape[-1])
    T = property(lambda self: np.transpose(self))

    def hessian(self):
        """The full symmetric Hessian part, shape S + (n, n)."""
        n = self.n_directions
        i, j = _pairs(n)
        full = np.zeros(self.shape + (n, n), dtype=self.dtype)
        full[..., i, j] = self.hess
        full[..., j, i] = self.hess
        return full

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __getitem__(self, index):
        index = _plain_index(index)
        pidx = _partials_index(index)
        if self._stacked is not None:
            return HyperDual._from_stacked(self.value[index], self._stacked[pidx],
                                           self.n_directions)
        return HyperDual._new(self.value[index], self.grad[pidx],
                              None if self._hess is None else self._hess[pidx])

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def transpose(self, *axes):
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def __float__(self):
        # PerturbationMix (a TypeError): hessian() redoes the work with nested duals, so code
        # calling dualad.math (which takes floats through math) still gets its Hessian
        raise PerturbationMix("dualad: converting a HyperDual to float would drop its "
                              "derivatives; use .value")

    __int__ = __complex__ = __index__ = __float__

    def __array__(self, dtype=None, copy=None):
        # PerturbationMix: a helper nested in hessian() that gets a HyperDual as its x
        raise PerturbationMix("dualad: converting a HyperDual to a plain array would drop its "
                              "derivatives; use .value")

    def __bool__(self):
        return bool(self.value)

    def __repr__(self):
        return f"HyperDual(value={self.value!r}, grad={self.grad!r}, hess={self.hess!r})"

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _check_no_dual(inputs)
        if method != "__call__" or kwargs:
            return _via_nested(getattr(ufunc, method), inputs, kwargs)
        rule = RULES.get(ufunc)
        if rule is not None:
            return _apply_rule(ufunc, rule, inputs)
        if ufunc in _ufunc.PRIMAL:
            return ufunc(*(_primal(a) for a in inputs))
        if ufunc is np.matmul:
            return _matmul(*inputs)
        return _via_nested(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any(issubclass(t, (DualNumber, Taylor)) for t in types):
            raise PerturbationMix(f"dualad: numpy.{func.__name__} of a HyperDual and a "
                                  "DualNumber or Taylor; use nested duals")
        if not all(issubclass(t, (HyperDual, DualNumber, np.ndarray)) for t in types):
            return NotImplemented
        category = _functions.CATEGORY.get(func)
        if category == "primal":
            return func(*(_primal(a) for a in args), **kwargs)
        if category in ("structural", "linear"):
            return _as_stacked(func, args, kwargs)
        if func in (np.dot, np.tensordot, np.inner, np.einsum):
            return _bilinear(func, args, kwargs)
        return _via_nested(func, args, kwargs)


def _primal(a):
    return a.value if isinstance(a, HyperDual) else primal(a)


def _check_no_dual(inputs):
    # hessian() and derivative() catch PerturbationMix and redo the work with nested duals
    if any(isinstance(a, (DualNumber, Taylor)) for a in inputs):
        raise PerturbationMix("dualad: HyperDual cannot be mixed with DualNumber or Taylor in "
                              "one operation; use nested duals (derivative(..., order=2))")


def _parts(a):
    if isinstance(a, HyperDual):
        return a.value, a.grad, a._hess
    return a, None, None


def _n(inputs):
    ns = {a.n_directions for a in inputs if isinstance(a, HyperDual)}
    if len(ns) > 1:
        raise ValueError(f"dualad: cannot combine HyperDuals with {sorted(ns)} directions")
    return ns.pop()


def _sum(*terms):
    total = None
    for t in terms:
        if t is not None:
            total = t if total is None else total + t
    return total


def _second_derivatives(ufunc, rule, values, live):
    """First derivatives and the Hessian of ``ufunc`` in its live arguments, from the rule.

    The rule's derivative functions are run on DualNumbers seeded in the live arguments: the
    values are the first derivatives, the partials the second.
    """
    k = len(live)
    with fresh() as tag:  # live: a rule may call a helper
        seeded = list(values)
        for slot, arg in enumerate(live):
            v = np.asarray(values[arg])
            seed = np.zeros(v.shape + (k,), dtype=np.result_type(v, np.float32))
            seed[..., slot] = 1.0
            seeded[arg] = make(v, seed, tag)
        # the output as a dual only where a derivative reads it (exp, tanh, sqrt, ...)
        if any(_reads_output(rule.derivs[arg]) for arg in live):
            ans = ufunc(*seeded)
        else:
            ans = ufunc(*values)
        firsts, seconds = [], []
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for arg in live:
                d = rule.derivs[arg](*seeded, ans)
                if isinstance(d, DualNumber) and d._tag == tag:
                    firsts.append(d.value)
                    seconds.append([d.partials[..., s] for s in range(k)])
                else:  # the derivative does not depend on the arguments
                    firsts.append(d)
                    seconds.append([0.0] * k)
        return firsts, seconds


@functools.lru_cache(maxsize=None)
def _reads_output(d):
    """Whether the derivative function ``d(*args, ans)`` uses its last argument."""
    code = getattr(d, "__code__", None)
    if code is None or code.co_argcount == 0:
        return True
    name = code.co_varnames[code.co_argcount - 1]
    return any(ins.opname.startswith("LOAD_") and ins.argval == name
               for ins in dis.get_instructions(code))


def _flat(x, shape, dtype, width=None):
    """``x`` broadcast to ``shape`` (+ a trailing axis), contiguous, as a 2-D kernel operand."""
    if x is None:
        return np.empty((int(np.prod(shape, dtype=np.int64)), 0), dtype=dtype)
    target = shape if width is None else shape + (width,)
    x = np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), target))
    return x.reshape(-1) if width is None else x.reshape(-1, width)


def _apply_rule(ufunc, rule, inputs):
    _check_no_dual(inputs)
    n = _n(inputs)
    values, grads, hesses = zip(*(_parts(a) for a in inputs))
    ans = np.asarray(ufunc(*values))
    shape, dtype = ans.shape, ans.dtype
    m = n * (n + 1) // 2
    if rule.kind == "linear":
        hyper = [a for a in inputs if isinstance(a, HyperDual)]
        if all(a._stacked is not None for a in hyper):
            st = _sum(*(_ufunc._scaled(a._stacked, c) if isinstance(a, HyperDual) else None
                        for a, c in zip(inputs, rule.derivs)))
            return HyperDual._from_stacked(ans, np.broadcast_to(st, shape + st.shape[-1:]), n)
        g = _sum(*(_ufunc._scaled(gr, c) for gr, c in zip(grads, rule.derivs)))
        h = _sum(*(_ufunc._scaled(he, c) for he, c in zip(hesses, rule.derivs)))
        return _result(ans, g, h)
    if rule.kind == "zero":
        return HyperDual._new(ans, np.zeros(shape + (n,), dtype), None)
    live = [i for i, g in enumerate(grads) if g is not None]
    if any(rule.derivs[i] is None for i in live):
        raise TypeError(f"dualad: numpy.{ufunc.__name__} cannot be differentiated with "
                        "respect to this argument; pass a constant")
    firsts, seconds = _second_derivatives(ufunc, rule, values, live)
    buf = np.empty(shape + (n + m,), dtype)
    flat = buf.reshape(-1, n + m)
    og, oh = flat[:, :n], flat[:, n:]
    guard = not rule.bounded
    if len(live) == 1:
        a = live[0]
        kernels.hyper_chain1(_flat(grads[a], shape, dtype, n), _flat(hesses[a], shape, dtype, m),
                             _flat(firsts[0], shape, dtype), _flat(seconds[0][0], shape, dtype),
                             guard, og, oh)
    else:
        x, y = live
        kernels.hyper_chain2(
            _flat(grads[x], shape, dtype, n), _flat(hesses[x], shape, dtype, m),
            _flat(grads[y], shape, dtype, n), _flat(hesses[y], shape, dtype, m),
            _flat(firsts[0], shape, dtype), _flat(firsts[1], shape, dtype),
            _flat(seconds[0][0], shape, dtype), _flat(seconds[0][1], shape, dtype),
            _flat(seconds[1][1], shape, dtype), guard, og, oh)
    return HyperDual._from_stacked(ans, buf, n)


def _result(value, g, h):
    shape = np.shape(value)
    return HyperDual._new(value, np.broadcast_to(g, shape + g.shape[-1:]),
                          None if h is None else np.broadcast_to(h, shape + h.shape[-1:]))


# --- linear functions: gradient and Hessian parts travel as one stacked partials axis ----
def _as_stacked(func, args, kwargs):
    hyper = [a for a in _walk((args, kwargs)) if isinstance(a, HyperDual)]
    n = hyper[0].n_directions
    with_hess = any(a._hess is not None for a in hyper)  # zero Hessian parts stay unmade
    return through_stacked(
        func, args, kwargs, HyperDual,
        lambda a: (a.value, a._stacked_parts() if with_hess else a.grad),
        lambda v, p: HyperDual._from_stacked(v, p, n) if with_hess else HyperDual._new(v, p, None))


def _walk(obj):
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _walk(o)
    else:
        yield obj


# --- products: linear when one side is constant, plus the cross term when both vary ------
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _tensordot_spec(na, nb, axes):
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = list(range(na - axes, na)), list(range(axes))
    else:
        ax_a, ax_b = ([x % nd for x in np.atleast_1d(ax)] for ax, nd in zip(axes, (na, nb)))
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for x, y in zip(ax_a, ax_b):
        sb[y] = sa[x]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + \
        [c for k, c in enumerate(sb) if k not in ax_b]
    return f"{''.join(sa)},{''.join(sb)}->{''.join(out)}"


def _product_spec(func, args, kwargs):
    """The einsum spec of a product of two operands (None if it is not one)."""
    if func is np.einsum:
        spec = args[0].replace(" ", "")
        if len(args) != 3 or kwargs or "..." in spec:
            return None
        if "->" not in spec:
            from ._bilinear import _implicit_output
            spec = spec + "->" + _implicit_output(spec)
        return spec
    a, b = args[0], args[1]
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0 or kwargs:
        return None
    if func is np.matmul:
        if na > 2 or nb > 2:
            return None
        return {(1, 1): "i,i->", (1, 2): "i,ij->j", (2, 1): "ij,j->i",
                (2, 2): "ij,jk->ik"}[(na, nb)]
    if func is np.dot:
        return _tensordot_spec(na, nb, ([na - 1], [0 if nb == 1 else nb - 2]))
    if func is np.inner:
        return _tensordot_spec(na, nb, ([na - 1], [nb - 1]))
    if func is np.tensordot:
        return _tensordot_spec(na, nb, args[2] if len(args) > 2 else 2)
    return None


def _bilinear(func, args, kwargs):
    operands = args[1:] if func is np.einsum else args[:2]
    if sum(isinstance(a, HyperDual) for a in operands) <= 1:
        return _as_stacked(func, args, kwargs)  # linear in the one varying operand
    spec = _product_spec(func, args, kwargs)
    if spec is None:
        return _via_nested(func, args, kwargs)
    return _product(spec, *operands)


def _matmul(a, b):
    return _bilinear(np.matmul, (a, b), {})


def _product(spec, a, b):
    """Value, gradient and packed Hessian of the product ``einsum(spec, a, b)``."""
    _check_no_dual((a, b))
    n = _n((a, b))
    i, j = _pairs(n)
    with fresh() as tag:
        with_hess = a._hess is not None or b._hess is not None

        def stacked(h):
            return make(h.value, h._stacked_parts() if with_hess else h.grad, tag)
        # the gradient and Hessian parts of each side enter linearly: the dual product rule
        lin = np.einsum(spec, stacked(a), stacked(b))
        # the cross term g_a,p g_b,q + g_a,q g_b,p: all pairs (p, q) in one contraction (a GEMM
        # for the usual specs), then the symmetric part packed
        ins, out = spec.split("->")
        sa, sb = ins.split(",")
        p_, q_ = [c for c in _LETTERS.upper() if c not in spec][:2]
        full = contract(f"{sa}{p_},{sb}{q_}->{out}{p_}{q_}", a.grad, b.grad)
        cross = full[..., i, j] + full[..., j, i]
        p = lin.partials
        buf = np.empty(np.shape(lin.value) + (n + len(i),), dtype=np.result_type(p, cross))
        buf[..., :n] = p[..., :n]
        if with_hess:
            np.add(p[..., n:], cross, out=buf[..., n:])
        else:
            buf[..., n:] = cross
        return HyperDual._from_stacked(lin.value, buf, n)


# --- everything else: the equivalent dual of duals ---------------------------------------
def _via_nested(func, args, kwargs):
    with fresh(2) as (inner, outer):  # live: func may call helpers
        n = None

        def to_nested(a):
            nonlocal n
            if isinstance(a, HyperDual):
                n = a.n_directions
                full = a.hessian()
                return make(make(a.value, a.grad, inner), make(a.grad, full, inner), outer)
            if isinstance(a, (list, tuple)):
                return type(a)(to_nested(b) for b in a)
            return a

        args = [to_nested(a) for a in args]
        kwargs = {k: to_nested(v) for k, v in kwargs.items()}
        out = func(*args, **kwargs)
        i, j = _pairs(n)

        def back(d):
            if isinstance(d, (list, tuple)):
                return type(d)(back(e) for e in d)
            if isinstance(d, DualNumber) and d._tag == outer:
                value = d.value.value if isinstance(d.value, DualNumber) else d.value
                grad = d.partials.value if isinstance(d.partials, DualNumber) else d.partials
                if isinstance(d.partials, DualNumber) and d.partials._tag == inner:
                    full = d.partials.partials
                else:
                    full = np.zeros(np.shape(value) + (n, n), dtype=np.result_type(value))
                return HyperDual._new(value, np.asarray(grad), full[..., i, j])
            if isinstance(d, DualNumber):  # constant in the outer perturbation
                return HyperDual._new(d.value, d.partials, np.zeros(d.shape + (len(i),),
                                                                     d.partials.dtype))
            return d
        return back(out)
