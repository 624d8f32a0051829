"""HyperDual: exact second derivatives in one pass, the symmetric part stored once.

A hyper-dual array carries, for ``n`` directions, the value (shape S), the gradient part
(S + (n,)) and the upper triangle of the Hessian part (S + (n(n+1)/2,), pairs i <= j in
``np.triu_indices(n)`` order). Elementwise functions come from the one rule table: the first
derivative is the rule, the second is the rule's derivative, obtained by running the rule on a
DualNumber (no second table). Functions linear in their array arguments (reshape, sum,
concatenate, a product with a constant matrix, ...) act on the gradient and Hessian parts
alike through the DualNumber machinery; products of two hyper-duals carry the cross term;
everything else runs on the equivalent dual of duals, so nothing the core supports is lost.

Outer-product terms: an elementwise function adds f''·g gᵀ to every element's Hessian part,
n² numbers per element although they are the outer product of the n-vector g. With enough
directions (``config.HYPERDUAL_TERMS_MIN_N``), or few elements
(``config.HYPERDUAL_TERMS_MAX_PACKED``: a Hessian of a few variables), such contributions
stay unexpanded as terms ``(c, U, W)`` meaning ``c · U Wᵀ`` per element (their sum is
symmetric): later elementwise functions only scale ``c``, structural functions (indexing,
reshape, concatenate, ...) move ``c``, ``U`` and ``W`` like values and partials, and ``sum``
contracts them with one GEMM,
``(c·U)ᵀ W``. For a Hessian that is a sum of elementwise terms (the usual objective), no
operation then moves n²/2 numbers per element through memory; the final sum does its
multiply-adds inside one BLAS call. Any other function first expands the terms into the
packed Hessian part, as before.

>>> import numpy as np
>>> x = HyperDual.seed(np.array([3.0, 4.0]))
>>> y = x[0] ** 2 * x[1] + x[1] + 2
>>> y.value.item(), y.grad.tolist(), y.hessian().tolist()
(42.0, [24.0, 10.0], [[8.0, 6.0], [6.0, 0.0]])
"""
import functools
import math

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple
from numpy.lib.mixins import NDArrayOperatorsMixin

from .. import config
from ..core import functions as _functions
from ..core import hooks
from ..core import ufunc as _ufunc
from ..core.bilinear import _from_sublists, _implicit_output, contract, tensordot_spec
from ..core.complexdual import ComplexDual
from ..core.dual import (DualNumber, NoPlainValue, _as_float_array, _partials_index,
                         _plain_index, make, missing_method, refused_astype, square_or_power)
from ..core.partials import all_finite, fit, map_leaves, primal, through_stacked, times_array
from ..core.tags import fresh
from ..errors import foreign, ufunc_name
from ..rules.table import RULES, arguments_read
from ..rules.ufuncs import PRIMAL
from .kinds import PerturbationMix, SecondOrder
from .taylor import Taylor
from .trace import Untraceable, second_derivatives


@functools.lru_cache(maxsize=64)
def _pairs(n):
    i, j = np.triu_indices(n)  # read-only: shared by every call
    i.flags.writeable = j.flags.writeable = False
    return i, j


@functools.lru_cache(maxsize=64)
def _packing(n):
    """Flat indices: of the pairs i <= j in an n x n block, of the pairs (j, i), and of each
    (i, j) of the block in the packed triangle (one gather, ``np.take``, instead of 2-D fancy
    indexing)."""
    i, j = _pairs(n)
    flat, flat_t = i * n + j, j * n + i
    unpack = np.empty((n, n), dtype=np.intp)
    unpack[i, j] = unpack[j, i] = np.arange(len(i))
    flat.flags.writeable = flat_t.flags.writeable = unpack.flags.writeable = False
    return flat, flat_t, unpack


def _identity(n, dtype):
    """The gradient part of a seeded vector: one shared read-only identity per size and
    dtype (up to config.HYPERDUAL_IDENTITY_MAX_N: larger ones are not kept), so that products
    with it are recognised (``is``) and done as relabellings."""
    if n > config.HYPERDUAL_IDENTITY_MAX_N:
        return _read_only(np.eye(n, dtype=dtype))
    return _shared_identity(n, np.dtype(dtype))


_IDENTITY_IDS: set[int] = set()  # ids of the shared identities: a quick "no" for every other array


@functools.lru_cache(maxsize=16)
def _shared_identity(n, dtype):
    eye = _read_only(np.eye(n, dtype=dtype))
    _IDENTITY_IDS.add(id(eye))  # (an evicted one's id may be reused: _is_identity checks is)
    return eye


def _read_only(a):
    a.flags.writeable = False
    return a


def _own(a):
    """``a`` copied (copies of a HyperDual), unless nothing can write into it: None, a number,
    a read-only array of its own memory (the shared identity, kept: ``_is_identity``)."""
    if isinstance(a, np.ndarray) and (a.flags.writeable or a.base is not None):
        return a.copy()
    return a


def _load(value, grad, hess, terms):  # (unpickling)
    return HyperDual._new(value, grad, hess, None, terms)


def _load_stacked(value, stacked, n, terms):  # (unpickling)
    return HyperDual._from_stacked(value, stacked, n, terms)


def _is_identity(g):
    return (id(g) in _IDENTITY_IDS and g.ndim == 2 and g.shape[0] <= config.HYPERDUAL_IDENTITY_MAX_N
            and g is _shared_identity(g.shape[0], g.dtype))


@functools.lru_cache(maxsize=64)
def _diagonal(n):
    """Where the pairs (k, k) are in the packed triangle."""
    return _read_only(_packing(n)[2].diagonal().copy())


def _relabel(spec, x):
    """``x`` with its axes renamed by ``spec`` (from ``_specs``; "" keeps them): a view, or
    ``x`` itself, so not to be written into."""
    return np.einsum(spec, x) if spec else x


def _packed(full, n):
    """The upper triangle of the trailing n x n block of ``full``, packed."""
    return full.reshape(full.shape[:-2] + (n * n,)).take(_packing(n)[0], axis=-1)


_VECTORIZED = object()  # HyperDual's fourth argument when not given: the vectorized form


class HyperDual(SecondOrder, NoPlainValue, NDArrayOperatorsMixin):
    """Vectorized hyper-dual array: ``value``, ``grad`` (n directions), packed ``hess``.

    ``HyperDual(value, grad, hess=None)`` is the vectorized form; four positional arguments,
    ``HyperDual(f, eps1, eps2, eps1eps2)``, the classic hyper-dual number of Fike & Alonso
    (scalars or arrays that broadcast together): the n = 2 HyperDual with gradient part
    ``[eps1, eps2]`` and mixed Hessian entry ``eps1eps2``, read back as ``.value``,
    ``.eps1``, ``.eps2``, ``.eps1eps2``.

    >>> x = HyperDual.seed(np.array([1.0, 2.0]))
    >>> (x[0] * x[1] ** 2).hessian().tolist()      # d2/dx2 of x0 x1^2
    [[0.0, 4.0], [4.0, 2.0]]
    >>> x, y = HyperDual(3.0, 1.0, 0.0, 0.0), HyperDual(4.0, 0.0, 1.0, 0.0)
    >>> z = x ** 2 * y + y + 2                      # d/dx = 2xy, d/dy = x^2 + 1, d2/dxdy = 2x
    >>> [float(c) for c in (z.value, z.eps1, z.eps2, z.eps1eps2)]
    [42.0, 24.0, 10.0, 6.0]
    """

    # _stacked: when not None, one buffer S + (n + n(n+1)/2,) whose views are grad and hess,
    # so functions linear in their arguments take both parts without a concatenation.
    # _terms: outer-product terms (c, U, W) not yet added to the Hessian part (see above)
    __slots__ = ("value", "grad", "_hess", "_stacked", "_terms")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value, grad, hess=None, eps1eps2=_VECTORIZED):
        if eps1eps2 is not _VECTORIZED:  # HyperDual(f, eps1, eps2, eps1eps2): the classic form
            self._init_classic(value, grad, hess, eps1eps2)
            return
        value = _as_float_array(value, "HyperDual value")
        grad = _as_float_array(grad, "HyperDual grad").astype(value.dtype, copy=False)
        if grad.shape[:-1] != value.shape or grad.ndim != value.ndim + 1:
            hint = ("; the classic hyper-dual number takes four components: "
                    "HyperDual(f, eps1, eps2, eps1eps2)" if grad.ndim <= value.ndim else "")
            raise ValueError(f"dualad: HyperDual grad must have shape {value.shape} + (n,), "
                             f"got {grad.shape}{hint}")
        n = grad.shape[-1]
        m = n * (n + 1) // 2
        if hess is not None:
            hess = _as_float_array(hess, "HyperDual hess").astype(value.dtype, copy=False)
            if hess.shape != value.shape + (m,):
                raise ValueError(f"dualad: HyperDual hess must have shape "
                                 f"{value.shape + (m,)} (upper triangle of {n}x{n}), "
                                 f"got {hess.shape}")
        self.value, self.grad, self._hess, self._stacked, self._terms = value, grad, hess, None, ()

    def _init_classic(self, f, eps1, eps2, eps1eps2):
        """The classic number f + eps1 ε1 + eps2 ε2 + eps1eps2 ε1ε2 (ε1² = ε2² = 0) as the
        n = 2 HyperDual: gradient part [eps1, eps2], packed Hessian part [0, eps1eps2, 0].
        The diagonal (the ε1², ε2² coefficients, which the classic algebra drops) never
        enters the value, the gradient part or the mixed entry of any result: the coefficient
        of ε1ε2 in a product (or a Taylor series) only draws on those of 1, ε1, ε2 and ε1ε2,
        so reading these four of a result gives exactly Fike's arithmetic."""
        names = ("f", "eps1", "eps2", "eps1eps2")
        parts = [_as_float_array(c, f"HyperDual(f, eps1, eps2, eps1eps2) component {name}")
                 for c, name in zip((f, eps1, eps2, eps1eps2), names)]
        try:
            shape = np.broadcast_shapes(*(p.shape for p in parts))
        except ValueError:
            got = ", ".join(f"{name} {p.shape}" for name, p in zip(names, parts))
            raise ValueError("dualad: the four components of HyperDual(f, eps1, eps2, "
                             f"eps1eps2) must broadcast to one shape; got {got}") from None
        # Python numbers take the arrays' dtype (NEP 50): a float32 f with eps1 = 1.0 stays
        # float32, as seed(x) does
        dtype = np.result_type(*(c if type(c) in (int, float) else p
                                 for c, p in zip((f, eps1, eps2, eps1eps2), parts)))
        if dtype.kind != "f":
            dtype = np.dtype(np.float64)  # (Python ints only)
        elif dtype.itemsize < 4:
            dtype = np.dtype(np.float32)  # (float16 computes as float32, as in seed)
        stacked = np.zeros(shape + (5,), dtype)  # eps1, eps2 | packed (0,0), (0,1), (1,1)
        stacked[..., 0], stacked[..., 1], stacked[..., 3] = parts[1], parts[2], parts[3]
        value = np.array(np.broadcast_to(parts[0], shape), dtype=dtype)  # (its own copy)
        self.value, self.grad, self._hess = value, stacked[..., :2], stacked[..., 2:]
        self._stacked, self._terms = stacked, ()

    def _classic(self, name):
        """The number of directions, checked: the classic components exist for n = 2 (ε1
        and ε2 the two directions) and n = 1 (ε1 and ε2 the same one, as in seed(x) of a
        scalar: (value, g, h) stands for value + g ε1 + g ε2 + h ε1ε2)."""
        n = self.grad.shape[-1]
        if n not in (1, 2):
            raise ValueError(f"dualad: .{name} is a component of the classic hyper-dual "
                             f"number (1 or 2 directions); this HyperDual has {n}: read "
                             ".grad[..., i] and .hessian()[..., i, j] instead")
        return n

    @property
    def eps1(self):
        """The ε1 component (the derivative along the first direction), shape S."""
        self._classic("eps1")
        return self.grad[..., 0]

    @property
    def eps2(self):
        """The ε2 component (the derivative along the second direction), shape S."""
        return self.grad[..., self._classic("eps2") - 1]

    @property
    def eps1eps2(self):
        """The ε1ε2 component (the mixed second derivative), shape S."""
        return self.hess[..., self._classic("eps1eps2") - 1]  # packed: (0,0), (0,1), (1,1)

    @classmethod
    def seed(cls, x):
        """Seed every element of ``x`` as its own direction (gradient part = identity)."""
        x = _as_float_array(x, "x")
        if x.dtype.itemsize < 4:
            x = x.astype(np.float32)  # (float16 computes as float32)
        n = x.size
        if x.ndim == 1:
            return cls._new(x, _identity(n, x.dtype), None)
        return cls(x, np.eye(n, dtype=x.dtype).reshape(x.shape + (n,)))

    @staticmethod
    def _new(value, grad, hess, stacked=None, terms=()):
        h = object.__new__(HyperDual)
        h.value, h.grad, h._hess, h._stacked = np.asarray(value), grad, hess, stacked
        h._terms = terms
        return h

    @staticmethod
    def _from_stacked(value, stacked, n, terms=()):
        h = object.__new__(HyperDual)
        h.value = value if type(value) is np.ndarray else np.asarray(value)
        h.grad, h._hess, h._stacked = stacked[..., :n], stacked[..., n:], stacked
        h._terms = terms
        return h

    def __copy__(self):
        # copy.copy and copy.deepcopy copy the arrays, as numpy's copy.copy(ndarray): writes
        # into the copy stay there (grad and hess stay views of one buffer where they were)
        value = _own(self.value)
        terms = tuple((_own(c), _own(u), _own(w)) for c, u, w in self._terms)
        if self._stacked is not None:
            return HyperDual._from_stacked(value, _own(self._stacked), self.n_directions, terms)
        return HyperDual._new(value, _own(self.grad), _own(self._hess), None, terms)

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):
        # pickled grad and hess are views of one buffer again where they were
        if self._stacked is not None:
            return _load_stacked, (self.value, self._stacked, self.n_directions, self._terms)
        return _load, (self.value, self.grad, self._hess, self._terms)

    def _expand(self):
        """Add the outer-product terms to the packed Hessian part (in place); returns self."""
        if self._terms:
            i, j = _pairs(self.n_directions)
            packed = None if self._hess is None else self._hess.copy()
            for c, u, w in self._terms:
                t = (c[..., None] * u[..., i]) * w[..., j]
                packed = t if packed is None else np.add(packed, t, out=packed)
            self._hess, self._stacked, self._terms = packed, None, ()
        return self

    def _stacked_parts(self):
        """grad and hess on one trailing axis (a view when they already share a buffer)."""
        if self._stacked is not None:
            return self._stacked
        return np.concatenate([self.grad, self.hess], axis=-1)

    @property
    def hess(self):
        """Packed upper triangle of the Hessian part, shape S + (n(n+1)/2,)."""
        self._expand()
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
        full = self.hess.take(_packing(self.grad.shape[-1])[2], axis=-1)
        dtype = self.value.dtype
        return full if full.dtype == dtype else full.astype(dtype)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]

    def __getitem__(self, index):
        index = _plain_index(index)
        pidx = _partials_index(index)
        terms = tuple((c[index], u[pidx], w[pidx]) for c, u, w in self._terms)
        if self._stacked is not None:
            return HyperDual._from_stacked(self.value[index], self._stacked[pidx],
                                           self.n_directions, terms)
        return HyperDual._new(self.value[index], self.grad[pidx],
                              None if self._hess is None else self._hess[pidx], None, terms)

    __pow__ = square_or_power

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def transpose(self, *axes):
        return np.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)

    def __setitem__(self, index, item):
        _refuse_writes()

    def __getattr__(self, name):
        # PerturbationMix: hessian() runs the function with nested duals
        raise missing_method(self, name, PerturbationMix)

    def astype(self, dtype, copy=True):
        # a TypeError for int, bool, ...; PerturbationMix (nested duals) for floating dtypes
        raise refused_astype(self, dtype, PerturbationMix)

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
        if method == "__call__" and not kwargs:  # the usual case first: a rule, or a product
            rule = RULES.get(ufunc)
            if rule is not None:
                return apply_rule(ufunc, rule, inputs)
            if ufunc is np.matmul:
                _check_no_dual(inputs)  # (numpy functions of them are refused by type)
                return _bilinear(np.matmul, inputs, kwargs)
        _check_no_dual(inputs)
        if kwargs.get("out") is not None or method == "at":
            _refuse_writes()
        if method != "__call__" or kwargs:
            return via_nested(getattr(ufunc, method), inputs, kwargs)
        if ufunc in PRIMAL:
            return ufunc(*(_value_of(a) for a in inputs))
        return via_nested(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if len(types) != 1 or HyperDual not in types:  # (else: HyperDuals only, the usual)
            if any(issubclass(t, (DualNumber, Taylor)) for t in types):
                raise PerturbationMix(f"dualad: numpy.{func.__name__} of a HyperDual and a "
                                      "DualNumber or Taylor; use nested duals")
            if not all(issubclass(t, (HyperDual, DualNumber, np.ndarray)) for t in types):
                return NotImplemented
        _functions.refuse_foreign(func, args, kwargs)
        if func in _WRITERS or _functions.writes_out(func, args, kwargs):
            _refuse_writes()
        category = _functions.CATEGORY.get(func)
        if category == "primal":
            return func(*(_value_of(a) for a in args), **kwargs)
        if func is np.sum and args and isinstance(args[0], HyperDual) and args[0]._terms:
            return _sum(*args, **kwargs)
        if category in ("structural", "linear"):
            return _as_stacked(func, args, kwargs, structural=category == "structural")
        if func in (np.dot, np.tensordot, np.inner, np.einsum):
            return _bilinear(func, args, kwargs)
        return via_nested(func, args, kwargs)


def _value_of(a):
    return a.value if isinstance(a, HyperDual) else primal(a)


def _operator(ufunc, name):
    """The operator ``name`` (``__add__``, ``__rtruediv__``, ...): with a HyperDual, a float or
    an ndarray on the other side, straight to the rule, where NDArrayOperatorsMixin's own
    reaches it through numpy's dispatch (about 1.5 µs later, a fifth of ``x / 2`` at
    n = 50); anything else takes the mixin's route."""
    rule, mixin = RULES[ufunc], getattr(NDArrayOperatorsMixin, name)
    reflected = name.startswith("__r")

    def operator(self, other):
        kind = type(other)
        if kind is HyperDual or kind is float or kind is np.ndarray:
            return apply_rule(ufunc, rule, (other, self) if reflected else (self, other))
        return mixin(self, other)
    operator.__name__ = operator.__qualname__ = name
    return operator


for _name, _op in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                   ("truediv", np.true_divide)):
    for _method in (f"__{_name}__", f"__r{_name}__"):
        setattr(HyperDual, _method, _operator(_op, _method))
del _name, _op, _method


#: numpy functions that write into an argument (HyperDual cannot: see _refuse_writes)
_WRITERS = {np.put, np.putmask, np.place, np.copyto, np.fill_diagonal, np.put_along_axis}


def _refuse_dtype(dtype):
    raise TypeError(f"dualad: a HyperDual operation gave dtype {dtype}; HyperDual takes "
                    "real numbers only (complex and object constants are not supported)")


def _refuse_writes():
    # PerturbationMix: hessian() and derivative() redo the work with nested duals, which
    # write in place (views included) as numpy does
    raise PerturbationMix("dualad: a HyperDual cannot be written in place (x[i] = ..., "
                          "x *= ..., out=); hessian() uses nested duals for such functions")


def _refuse_mismatch(n, k):
    raise ValueError(f"dualad: cannot combine HyperDuals with {sorted((n, k))} directions")


def _check_no_dual(inputs):
    # hessian() and derivative() catch PerturbationMix and redo the work with nested duals
    for a in inputs:
        if isinstance(a, (DualNumber, Taylor, ComplexDual)):  # (x * np.fft.fft(x) too)
            raise PerturbationMix("dualad: HyperDual cannot be mixed with DualNumber or Taylor "
                                  "in one operation; use nested duals (derivative(..., "
                                  "order=2))")
        if type(a) is not np.ndarray:  # a masked array, np.matrix, pandas object: refused
            err = foreign(a, "an operand of a HyperDual")
            if err is not None:
                raise err


def _parts(a):
    if isinstance(a, HyperDual):
        return a.value, a.grad, a._hess
    return a, None, None


def _operands(inputs):
    """The operands' values, the positions of the HyperDuals among them (a tuple), and their
    number of directions; DualNumber and Taylor operands are refused."""
    # the usual cases spelled out (hot): f(x), x op x, x op constant, constant op x
    if len(inputs) == 1 and type(inputs[0]) is HyperDual:
        a = inputs[0]
        return [a.value], (0,), a.grad.shape[-1]
    if len(inputs) == 2:
        a, b = inputs
        if type(a) is HyperDual:
            n = a.grad.shape[-1]
            if type(b) is HyperDual:
                if b.grad.shape[-1] != n:
                    _refuse_mismatch(n, b.grad.shape[-1])
                return [a.value, b.value], (0, 1), n
            if type(b) is float or type(b) is np.ndarray:
                return [a.value, b], (0,), n
        elif type(b) is HyperDual and (type(a) is float or type(a) is np.ndarray):
            return [a, b.value], (1,), b.grad.shape[-1]
    values, live, n = [], [], None
    for i, a in enumerate(inputs):
        if isinstance(a, HyperDual):
            k = a.grad.shape[-1]
            if k != n:
                if n is not None:
                    _refuse_mismatch(n, k)
                n = k
            values.append(a.value)
            live.append(i)
        else:
            _check_no_dual((a,))  # (also refuses masked arrays, np.matrix, pandas objects)
            values.append(a)
    return values, tuple(live), n


# Outer-product terms are kept from config.HYPERDUAL_TERMS_MIN_N directions on, and below it
# where an operation's packed Hessian part holds at most config.HYPERDUAL_TERMS_MAX_PACKED
# numbers (a Hessian of a few variables: there the kernels' per-call costs outweigh the pass
# they save); on larger arrays with few directions the packed part is small and the kernels
# win (measured: benchmarks/second_order.py at n = 10, 2-2.5x on elementwise Hessian parts of
# 10^5 elements). At most config.HYPERDUAL_MAX_TERMS per array (then expanded).


def _kernels_size(n, size):
    """Whether the kernels, not terms, take an elementwise function of ``size`` elements with
    ``n`` directions (few directions on a large array; see above)."""
    return (n < config.HYPERDUAL_TERMS_MIN_N
            and size * n * (n + 1) // 2 > config.HYPERDUAL_TERMS_MAX_PACKED)


def _maybe_nonzero(x):
    # (an array is taken as nonzero unscanned: a zero term costs less than the scan saves)
    if type(x) is np.ndarray:
        return x.ndim > 0 or x != 0
    if type(x) in (float, int, bool):
        return x != 0
    return bool(np.any(x))


def _second_derivatives(ufunc, rule, values, live, ans):
    """First derivatives and the Hessian of ``ufunc`` in its live arguments, from the rule.

    The rule's derivative functions, differentiated forward: by a program traced once per
    (ufunc, live arguments) (``_trace``); where a derivative function does more than a trace
    models, and for a custom function's rule (which needs its dispatch), on DualNumbers
    seeded in the live arguments (their values are the first derivatives, their partials the
    second).
    """
    if RULES.get(ufunc) is rule:
        try:
            return second_derivatives(ufunc, rule, values, live, ans)
        except Untraceable:
            pass
    # the values warned already, in the operation itself
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"), fresh() as tag:
        return _dual_derivatives(ufunc, rule, values, live, tag)  # tag live: rules may nest


def _dual_derivatives(ufunc, rule, values, live, tag):
    k = len(live)
    seeded = list(values)
    for slot, arg in enumerate(live):
        v = np.asarray(values[arg])
        seed = np.zeros(v.shape + (k,), dtype=np.result_type(v, np.float32))
        seed[..., slot] = 1.0
        seeded[arg] = make(v, seed, tag)
    # the output as a dual only where a derivative reads it (exp, tanh, sqrt, ...)
    ans = ufunc(*seeded) if any(_reads_output(rule.derivs[a]) for a in live) else \
        ufunc(*values)
    firsts, seconds = [], []
    for arg in live:
        d = rule.derivs[arg](*seeded, ans)
        if isinstance(d, DualNumber) and d._tag == tag:
            firsts.append(d.value)
            seconds.append([d.partials[..., s] for s in range(k)])
        else:  # the derivative does not depend on the arguments
            firsts.append(d)
            seconds.append([0.0] * k)
    return firsts, seconds


def _reads_output(d):
    """Whether the derivative function ``d(*args, ans)`` uses its last argument."""
    reads = arguments_read(d)
    return not reads or reads[-1]


def _flat(x, shape, dtype, width=None):
    """``x`` broadcast to ``shape`` (+ a trailing axis), contiguous, as a 2-D kernel operand."""
    if x is None:
        return np.empty((int(np.prod(shape, dtype=np.int64)), 0), dtype=dtype)
    target = shape if width is None else shape + (width,)
    x = np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=dtype), target))
    return x.reshape(-1) if width is None else x.reshape(-1, width)


def apply_rule(ufunc, rule, inputs):
    values, live, n = _operands(inputs)  # (refuses DualNumber and Taylor: custom.py calls it)
    ans = ufunc(*values)
    if type(ans) is not np.ndarray:
        ans = np.asarray(ans)
    shape, dtype = ans.shape, ans.dtype
    if dtype.kind != "f":
        _refuse_dtype(dtype)
    if rule.kind == "linear":
        terms = _scaled_terms(inputs, rule.derivs, shape)  # first: it may expand the inputs
        return _combine([inputs[a] for a in live], [rule.derivs[a] for a in live], ans, n,
                        terms)
    if rule.kind == "zero":
        return HyperDual._new(ans, np.zeros(shape + (n,), dtype), None)
    if None in rule.derivs and any(rule.derivs[i] is None for i in live):
        raise TypeError(f"dualad: {ufunc_name(ufunc)} cannot be differentiated with "
                        "respect to this argument; pass a constant")
    firsts, seconds = _second_derivatives(ufunc, rule, values, live, ans)
    if len(live) == 1 and inputs[live[0]].value.shape == shape:  # the usual case: x ↦ f(x)
        result = _chain_one(inputs[live[0]], firsts[0], seconds[0][0], ans, n, rule.bounded)
        if result is not None:
            return result
    terms = _new_terms(inputs, live, firsts, seconds, n, shape, dtype, rule.bounded)
    if terms is not None:  # (a derivative such as 1 / 2.0 is a float64 0-d array: cast)
        return _combine([inputs[a] for a in live],
                        [(f if type(f) is np.ndarray and f.dtype == dtype else
                          np.asarray(f, dtype=dtype))[..., None] for f in firsts], ans, n, terms)
    # the packed Hessian parts in full, for the kernels
    _, grads, hesses = zip(*(_parts(a._expand() if isinstance(a, HyperDual) else a)
                             for a in inputs))
    m = n * (n + 1) // 2
    buf = np.empty(shape + (n + m,), dtype)
    flat = buf.reshape(-1, n + m)
    og, oh = flat[:, :n], flat[:, n:]
    guard = not rule.bounded
    # accel's numba kernels pay on large data only (small data never loads numba): the same bits
    kernels = hooks.hyper_kernels if (hooks.hyper_kernels is not None and buf.size
                                      >= config.CHAIN_KERNEL_MIN_SIZE) else _NumpyKernels
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


def _guarded(p, d, guard):
    return times_array(p, d) if guard else p * d


class _NumpyKernels:
    """HyperDual's gradient and packed-Hessian updates with numpy, operation for operation
    as dualad.accel's numba kernels (which fill ``hooks.hyper_kernels``): the same bits."""

    @staticmethod
    def hyper_chain1(g, h, d1, d2, guard, out_g, out_h):
        """f(u): g' = f' g, h' = f' h + f'' (g g^T) on the upper triangle."""
        i, j = np.triu_indices(g.shape[1])
        a, b = d1[:, None], d2[:, None]
        out_g[...] = _guarded(g, a, guard)
        v = _guarded(g[:, i] * g[:, j], b, guard)
        if h.shape[1] > 0:
            v += _guarded(h, a, guard)
        out_h[...] = v

    @staticmethod
    def hyper_chain2(gx, hx, gy, hy, fx, fy, fxx, fxy, fyy, guard, out_g, out_h):
        """f(u, w): both arguments varying; the mixed term f_uw (g_u g_w^T + g_w g_u^T)."""
        i, j = np.triu_indices(gx.shape[1])
        a, b = fx[:, None], fy[:, None]
        c, d, e = fxx[:, None], fxy[:, None], fyy[:, None]
        out_g[...] = _guarded(gx, a, guard) + _guarded(gy, b, guard)
        ui, uj, wi, wj = gx[:, i], gx[:, j], gy[:, i], gy[:, j]
        v = (_guarded(ui * uj, c, guard) + _guarded(ui * wj + wi * uj, d, guard)
             + _guarded(wi * wj, e, guard))
        if hx.shape[1] > 0:
            v += _guarded(hx, a, guard)
        if hy.shape[1] > 0:
            v += _guarded(hy, b, guard)
        out_h[...] = v


def _result(value, g, h, terms=()):
    shape = value.shape
    return HyperDual._new(value, fit(g, shape), None if h is None else fit(h, shape), None,
                          terms)


def _combine(hyper, coefficients, value, n, terms):
    """The sum of c·(gradient and Hessian parts) over the HyperDuals and their coefficients
    (numbers, or arrays with a trailing axis of 1): one product per operand where its parts
    share one buffer."""
    for h in hyper:
        if h._stacked is None:
            break
    else:  # every part in one buffer: one product (or sum) per operand
        g = None
        for h, c in zip(hyper, coefficients):
            g = _accumulate(g, h._stacked, c)
        return HyperDual._from_stacked(value, fit(g, value.shape), n, terms)
    g = hess = None
    for h, c in zip(hyper, coefficients):
        g = _accumulate(g, h.grad, c)
        if h._hess is not None:
            hess = _accumulate(hess, h._hess, c)
    return _result(value, g, hess, terms)


def _accumulate(total, p, c):
    """``total + c·p``, and ``c·p`` where ``total`` is None."""
    if total is None:
        return _scale(p, c)
    if type(c) is not np.ndarray and (c == 1.0 or c == -1.0):
        return total + p if c == 1.0 else total - p
    return total + _scale(p, c)


def _scale(p, c):
    return c * p if type(c) is np.ndarray else _ufunc.scaled(p, c)


def _broadcast_term(c, u, w, shape, dtype=None):
    # like partials, U and W carry a trailing axis of directions; c is value-shaped
    if type(c) is not np.ndarray or c.shape != shape:
        c = np.full(shape, c, dtype) if np.ndim(c) == 0 else np.broadcast_to(c, shape)
    return c, fit(u, shape), fit(w, shape)


def _scaled_terms(inputs, coefficients, shape):
    """The terms of a function linear in its arguments (add, subtract, negative, ...)."""
    terms = []
    for a, k in zip(inputs, coefficients):
        if isinstance(a, HyperDual) and a._terms:
            terms += [_broadcast_term(c if k == 1.0 else c * k, u, w, shape)
                      for c, u, w in a._terms]
    if len(terms) > config.HYPERDUAL_MAX_TERMS:  # expand: (c, U, W) of a sum would keep growing
        for a in inputs:
            if isinstance(a, HyperDual):
                a._expand()
        return ()
    return tuple(terms)


def _new_terms(inputs, live, firsts, seconds, n, shape, dtype, bounded):
    """The terms of a nonlinear elementwise function, or None where the kernels take it.

    ``f(u, w)`` scales the terms of ``u`` by ``f_u`` (and of ``w`` by ``f_w``) and adds
    ``f_uu g_u g_uᵀ + f_uw (g_u g_wᵀ + g_w g_uᵀ) + f_ww g_w g_wᵀ``.
    """
    if dtype.kind != "f" or _kernels_size(n, math.prod(shape)):
        return None
    # the kernels' guard (0 · inf = 0 where a tangent is zero) needs them: no terms then
    # (bounded rules, finite where their arguments are, take no guard, as in _partials.chain)
    if not bounded and not (all(all_finite(f) for f in firsts) and
                            all(all_finite(d) for row in seconds for d in row)):
        return None
    terms = []
    for a, f in zip(live, firsts):
        terms += [_broadcast_term(c * f, u, w, shape) for c, u, w in inputs[a]._terms]
    for s, a in enumerate(live):
        for t, b in enumerate(live):
            d = seconds[s][t]
            if _maybe_nonzero(d):
                terms.append(_broadcast_term(d if type(d) is np.ndarray and d.dtype == dtype
                                             else np.asarray(d, dtype=dtype), inputs[a].grad,
                                             inputs[b].grad, shape, dtype))
    if len(terms) > config.HYPERDUAL_MAX_TERMS:
        return None
    return tuple(terms)


def _chain_one(h, f, d, value, n, bounded):
    """``_new_terms`` and ``_combine`` for one HyperDual operand ``h`` of the result's shape
    (the usual elementwise function), in one pass: the parts and terms of ``h`` scaled by
    f' (``f``), and one new term f''·g gᵀ (``d``). None where the kernels take it."""
    dtype = value.dtype
    if len(h._terms) >= config.HYPERDUAL_MAX_TERMS or _kernels_size(n, value.size):
        return None
    if not bounded and not (all_finite(f) and all_finite(d)):
        return None  # (the kernels' guard: see _new_terms)
    if type(f) is not np.ndarray:
        f = dtype.type(f)  # (a number: a scalar of the result's dtype scales it all)
    elif f.dtype != dtype:
        f = f.astype(dtype)
    terms = tuple((c * f, u, w) for c, u, w in h._terms) if h._terms else ()
    if type(d) is np.ndarray and d.ndim and d.shape == value.shape and d.dtype == dtype:
        terms += ((d, h.grad, h.grad),)  # (h has the result's shape: nothing to broadcast)
    elif _maybe_nonzero(d):
        terms += (_broadcast_term(np.asarray(d, dtype=dtype), h.grad, h.grad, value.shape,
                                  dtype),)
    if type(f) is np.ndarray:
        f = f[..., None]
    if h._stacked is not None:
        return HyperDual._from_stacked(value, f * h._stacked, n, terms)
    return HyperDual._new(value, f * h.grad, None if h._hess is None else f * h._hess, None,
                          terms)


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
    """``np.sum`` of a HyperDual with terms: each term contracted in one GEMM, (c·U)ᵀ W."""
    if dtype is not None or out is not None or kwargs:
        return _as_stacked(np.sum, (a._expand(),),
                           dict(kwargs, axis=axis, dtype=dtype, out=out, keepdims=keepdims))
    n = a.n_directions
    nd = a.ndim
    if axis is None and not keepdims:  # the usual objective: everything to a scalar
        return _sum_all(a, n)
    axes = tuple(normalize_axis_tuple(axis, nd)) if axis is not None else tuple(range(nd))
    if len(axes) == nd and not keepdims:
        return _sum_all(a, n)
    plain = HyperDual._new(a.value, a.grad, a._hess, a._stacked)
    total = np.sum(plain, axis=axis, keepdims=keepdims)
    letters = _LETTERS[:nd]
    kept = "".join(c for k, c in enumerate(letters) if k not in axes)
    spec = f"{letters}Y,{letters}Z->{kept}YZ"
    full = None
    for c, u, w in a._terms:
        t = contract(spec, c[..., None] * u, w)
        full = t if full is None else full + t
    packed = _packed(full, n).reshape(total.shape + (-1,))
    hess = packed if total._hess is None else total._hess + packed
    return HyperDual._new(total.value, total.grad, hess)


def _sum_all(a, n):
    """``_sum`` over every axis: plain sums of the parts, and per term one GEMM (c·U)ᵀ W of
    (directions × elements) by (elements × directions), with no dispatch in between."""
    parts = a._stacked if a._stacked is not None else (
        a.grad if a._hess is None else np.concatenate([a.grad, a._hess], axis=-1))
    size = a.value.size  # (not -1: an empty x has no directions either)
    summed = np.add.reduce(parts.reshape(size, parts.shape[-1]), axis=0)
    full = diagonal = None
    for c, u, w in a._terms:
        c = c.reshape(size, 1)
        # (c·U)ᵀ W, where U or W may be a seed's identity: diag(c) (kept apart: it goes
        # straight onto the packed diagonal), diag(c) W or (c·U)ᵀ
        if _is_identity(u):
            if w is u:
                diagonal = c.ravel() if diagonal is None else diagonal + c.ravel()
                continue
            t = c * w.reshape(size, n)
        elif _is_identity(w):
            t = (c * u.reshape(size, n)).T
        else:
            t = np.matmul((c * u.reshape(size, n)).T, w.reshape(size, n))
        full = t if full is None else np.add(full, t, out=full)
    # one buffer for both parts (stacked: what follows, + or *, is one operation on it)
    dtype = summed.dtype
    for x in (full, diagonal):
        if x is not None and x.dtype != dtype:
            dtype = np.result_type(dtype, x)
    buf = np.empty(summed.shape[-1] if a._hess is not None else n + n * (n + 1) // 2, dtype)
    hess = buf[n:]
    if full is not None:
        full.reshape(n * n).take(_packing(n)[0], out=hess)
    elif a._hess is None and diagonal is not None:  # (the usual Σ f(x): a diagonal Hessian)
        hess.fill(0.0)
        hess.put(_diagonal(n), diagonal)
        diagonal = None
    else:
        hess.fill(0.0)
    if a._hess is not None:
        hess += summed[n:]
    if diagonal is not None:
        hess[_diagonal(n)] += diagonal
    buf[:n] = summed[:n]
    return HyperDual._from_stacked(np.add.reduce(a.value, axis=None), buf, n)


# --- linear functions: gradient and Hessian parts travel as one stacked partials axis ----
def _as_stacked(func, args, kwargs, structural=False):
    """``func`` linear in its HyperDual arguments, on their parts stacked as partials.

    Structural functions (each output element is one input element) also carry the
    outer-product terms, as more columns ``c | U | W`` (arrays with fewer terms get zero
    terms); for any other linear function the terms are expanded first.
    """
    hyper = [a for a in _walk((args, kwargs)) if isinstance(a, HyperDual)]
    n = hyper[0].n_directions
    if not structural:
        for a in hyper:
            a._expand()
    k = max(len(a._terms) for a in hyper)
    with_hess = any(a._hess is not None for a in hyper)  # zero Hessian parts stay unmade
    m = n * (n + 1) // 2 if with_hess else 0
    if k == 0:
        return through_stacked(
            func, args, kwargs, HyperDual,
            lambda a: (a.value, a._stacked_parts() if with_hess else a.grad),
            lambda v, p: HyperDual._from_stacked(v, p, n) if with_hess
            else HyperDual._new(v, p, None))

    def to_parts(a):
        shape, dtype = a.shape, a.grad.dtype
        cols = [a.grad] + ([a._hess if a._hess is not None else np.zeros(shape + (m,), dtype)]
                           if with_hess else [])
        zero_g = np.zeros(shape + (n,), dtype)
        for t in range(k):
            c, u, w = a._terms[t] if t < len(a._terms) else (np.zeros(shape, dtype), zero_g,
                                                              zero_g)
            cols += [np.asarray(c, dtype)[..., None], u, w]
        return a.value, np.concatenate(cols, axis=-1)

    def from_parts(v, p):
        base = n + m
        terms = tuple((p[..., base + t * (2 * n + 1)],
                       p[..., base + t * (2 * n + 1) + 1:base + t * (2 * n + 1) + 1 + n],
                       p[..., base + t * (2 * n + 1) + 1 + n:base + (t + 1) * (2 * n + 1)])
                      for t in range(k))
        return HyperDual._new(v, p[..., :n], p[..., n:base] if with_hess else None, None,
                              terms)
    return through_stacked(func, args, kwargs, HyperDual, to_parts, from_parts)


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
_MATMUL_SPECS = {(1, 1): "i,i->", (1, 2): "i,ij->j", (2, 1): "ij,j->i", (2, 2): "ij,jk->ik"}


def _product_spec(func, args, kwargs):
    """The einsum spec of a product of two operands (None if it is not one)."""
    if func is np.einsum:
        spec = args[0].replace(" ", "")
        if len(args) != 3 or kwargs or "..." in spec:
            return None
        if "->" not in spec:
            spec = spec + "->" + _implicit_output(spec)
        return spec
    a, b = args[0], args[1]
    na = a.value.ndim if isinstance(a, HyperDual) else np.ndim(a)
    nb = b.value.ndim if isinstance(b, HyperDual) else np.ndim(b)
    if na == 0 or nb == 0 or kwargs:
        return None
    if func is np.matmul:
        if na > 2 or nb > 2:
            return None
        return _MATMUL_SPECS[(na, nb)]
    if func is np.dot:
        return tensordot_spec(na, nb, ([na - 1], [0 if nb == 1 else nb - 2]))
    if func is np.inner:
        return tensordot_spec(na, nb, ([na - 1], [nb - 1]))
    if func is np.tensordot:
        return tensordot_spec(na, nb, args[2] if len(args) > 2 else 2)
    return None


def _bilinear(func, args, kwargs):
    if func is np.einsum and not isinstance(args[0], str):  # the sublist form
        spec, operands = _from_sublists(args)
        args = (spec,) + operands
    operands = args[1:] if func is np.einsum else args[:2]
    spec = _product_spec(func, args, kwargs)
    if len(operands) == 2:
        varying = isinstance(operands[0], HyperDual) + isinstance(operands[1], HyperDual)
    else:
        varying = sum(isinstance(a, HyperDual) for a in operands)
    if varying <= 1:
        if spec is None or len(operands) != 2:
            return _as_stacked(func, args, kwargs)  # linear in the one varying operand
        return _one_sided(func, args, kwargs, spec, *operands)
    if spec is None:
        return via_nested(func, args, kwargs)
    return _product(func, args, kwargs, spec, *operands)


@functools.lru_cache(maxsize=256)
def _specs(spec):
    """For the product ``einsum(spec, a, b)``: the specs contracting a's parts with b, a with
    b's parts (directions last), and a's gradient part with b's (all pairs of directions);
    then the same products where a (or b) is a seeded vector, whose gradient part is the
    identity: the sum over its index i of δ(i, d)·(the other side) is the other side with i
    renamed d, one einsum of one operand ("" where that is the operand itself, None where i
    is not met once on each side).
    """
    ins, out = spec.split("->")
    sa, sb = ins.split(",")
    d, p, q = [c for c in _LETTERS + _LETTERS.upper() if c not in spec][:3]

    def relabel(seed, src, dst):
        ok = len(seed) == 1 and src.count(seed) == 1 and dst.count(seed) == 1
        return None if not ok else "" if src == dst else f"{src}->{dst}"
    return (f"{sa}{d},{sb}->{out}{d}", f"{sa},{sb}{d}->{out}{d}",
            f"{sa}{p},{sb}{q}->{out}{p}{q}",
            relabel(sa, sb, out + sa), relabel(sb, sa, out + sb),
            relabel(sa, sb + q, out + sa + q), relabel(sb, sa + p, out + p + sb))


def _one_sided(func, args, kwargs, spec, a, b):
    """A product with one constant operand: linear, so one contraction of the stacked parts
    (a GEMM) besides the value's; numpy's own function computes (and checks) the value."""
    h = (a if isinstance(a, HyperDual) else b)._expand()
    value = _product_value(func, args, kwargs)
    parts = h._stacked if h._stacked is not None else (
        h.grad if h._hess is None else h._stacked_parts())
    left, right, _, seeded_a, seeded_b, _, _ = _specs(spec)
    seeded = seeded_a if h is a else seeded_b
    if seeded is not None and parts is h.grad and _is_identity(parts):
        other = np.asarray(b if h is a else a)
        p = _relabel(seeded, other)
        if p.base is not None or p is other:  # (the caller's constant, or a view of it)
            p = p.copy()
    elif h is a:
        p = contract(left, parts, np.asarray(b))
    else:
        p = contract(right, np.asarray(a), parts)
    if p.dtype != value.dtype:
        p = p.astype(np.result_type(value, p))
    if parts is h.grad:
        return HyperDual._new(value, p, None)
    return HyperDual._from_stacked(value, p, h.n_directions)


def _product_value(func, args, kwargs):
    """The value of a product: numpy's own function computes (and checks) it."""
    if len(args) == 2:  # (matmul, dot, inner: spelled out, it is hot)
        a, b = args
        value = func(a.value if isinstance(a, HyperDual) else a,
                     b.value if isinstance(b, HyperDual) else b, **kwargs)
    else:
        value = func(*[x.value if isinstance(x, HyperDual) else x for x in args], **kwargs)
    if type(value) is not np.ndarray:
        value = np.asarray(value)
    if value.dtype.kind != "f":
        _refuse_dtype(value.dtype)
    return value


def _product(func, args, kwargs, spec, a, b):
    """Value, gradient and packed Hessian of the product ``einsum(spec, a, b)``; numpy's own
    function computes (and checks) the value."""
    n = a.grad.shape[-1]
    if b.grad.shape[-1] != n:
        _refuse_mismatch(n, b.grad.shape[-1])
    if a._terms:
        a._expand()
    if b._terms:
        b._expand()
    with_hess = a._hess is not None or b._hess is not None
    pa, pb = (a._stacked_parts(), b._stacked_parts()) if with_hess else (a.grad, b.grad)
    left, right, cross, one_a, one_b, seeded_a, seeded_b = _specs(spec)
    value = _product_value(func, args, kwargs)
    # the gradient and Hessian parts of each side enter linearly: the dual product rule (a
    # seed's identity gradient part relabels the other side's value, as in _one_sided)
    identity_a = seeded_a is not None and _is_identity(a.grad)
    identity_b = seeded_b is not None and _is_identity(b.grad)
    lin = (_relabel(one_a, b.value) if identity_a and not with_hess else
           contract(left, pa, b.value)) + \
        (_relabel(one_b, a.value) if identity_b and not with_hess else
         contract(right, a.value, pb))
    # the cross term g_a,p g_b,q + g_a,q g_b,p: all pairs (p, q) in one contraction (a GEMM
    # for the usual specs), then its pairs p <= q and their transposes gathered and added
    if identity_a:
        full = _relabel(seeded_a, b.grad)
    elif identity_b:
        full = _relabel(seeded_b, a.grad)
    else:
        full = contract(cross, a.grad, b.grad)
    full = full.reshape(full.shape[:-2] + (n * n,))
    flat, flat_t, _ = _packing(n)
    dtype = lin.dtype if lin.dtype == full.dtype else np.result_type(lin.dtype, full.dtype)
    buf = np.empty(value.shape + (n + len(flat),), dtype=dtype)
    np.add(full.take(flat, axis=-1), full.take(flat_t, axis=-1), out=buf[..., n:])
    if with_hess:
        buf[..., :n] = lin[..., :n]
        buf[..., n:] += lin[..., n:]
    else:
        buf[..., :n] = lin
    return HyperDual._from_stacked(value, buf, n)


# --- everything else: the equivalent dual of duals ---------------------------------------
def via_nested(func, args, kwargs):
    with fresh(2) as (inner, outer):  # live: func may call helpers
        n = None

        def to_nested(a):
            nonlocal n
            if isinstance(a, HyperDual):
                n = a.n_directions
                full = a.hessian()
                return make(make(a.value, a.grad, inner), make(a.grad, full, inner), outer)
            return a

        args = [map_leaves(a, to_nested) for a in args]
        kwargs = {k: map_leaves(v, to_nested) for k, v in kwargs.items()}
        out = func(*args, **kwargs)
        i, j = _pairs(n)

        def back(d):
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
        return map_leaves(out, back)


def _clear_identities():
    _shared_identity.cache_clear()
    _IDENTITY_IDS.clear()


config.register_cache("higher.hyperdual", _clear_identities)
