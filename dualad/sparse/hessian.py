"""Sparse Hessians exactly, forward mode only, from a few colored directions.

An objective with a sparse Hessian is nearly always a sum of element functions,
``f = Σ_k y_k`` (or a linear combination of such sums: ``np.sum``, ``np.mean``, dot products
``a @ b``, ``np.dot``, ``np.vdot``, ``np.inner``, ``x @ A @ x``, ``np.einsum`` to a scalar),
each ``y_k`` depending on a few inputs ``T_k``. Color the inputs so that within every ``T_k``
all colors differ: a column coloring of the pattern whose rows are the ``T_k``. A HyperDual
seeded with the ``c`` colors (``S[i, color(i)] = 1``) carries, for each element, ``Sᵀ∇y_k``
and ``Sᵀ∇²y_k S``; as the members of ``T_k`` have distinct colors, entry ``(color(i),
color(j))`` of the latter is ``∂²y_k/∂x_i∂x_j`` itself (the other inputs of those colors do
not reach ``y_k``: their terms are exact zeros). So each final reduction is intercepted
*before* it sums: its elements' gradients and Hessians are read back by the colors and
scattered into the gradient and the Hessian's CSR data. ``c`` is 2 for the chained
Rosenbrock function and ``2b + 1`` for ``x·Ax`` with a band of half-width ``b``, whatever n.

The element sets ``T_k`` come from one run of the sparsity tracer (``tracer.py``) with the
same interception; both runs wrap ``x`` (``_Node``) so that the reductions are seen, and
their sequences (function, shape) must agree. What a reduction returns is a *latent*
(``_Latent``): a HyperDual whose directions are the reductions themselves, so that any
function of the sums (``log(np.sum(np.exp(x)))``, ``np.sum(a) * np.sum(b)``) stays exact:
``∇f = Σ_r G_r ∇s_r`` and ``∇²f = Σ_r G_r ∇²s_r + Σ_rq G_rq ∇s_r ∇s_qᵀ`` with ``G`` the
latent gradient and Hessian (the cross terms on the pattern, checked to lie in it). A
scalar not yet summed that meets a sum (``x[0] ** 2 + np.sum(...)``) is one more element.

Where HyperDual refuses ``f`` (writes in place) the same scheme runs on duals of duals. What
is not a sum of element Hessians (an array not yet summed meeting a sum: ``x * np.sum(x)``),
or runs whose reductions differ, fall back to the dense Hessian (blocks of directions),
read on the pattern; ``HessianPlan.fallback`` says why. Nothing is ever dropped: entries
outside the pattern must be exact zeros, else a ValueError. docs/dev/sparse.md has the math.

>>> import numpy as np
>>> rosen = lambda x: np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
>>> value, grad, data, pattern = colored_hessian(rosen, np.zeros(4))
>>> value, grad.tolist(), pattern.nnz
(3.0, [-2.0, -2.0, -2.0, 0.0], 10)
>>> data.tolist()
[2.0, 0.0, 0.0, 202.0, 0.0, 0.0, 202.0, 0.0, 0.0, 200.0]
"""
import math
import operator
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple
from numpy.lib.mixins import NDArrayOperatorsMixin

from .. import config
from ..core.dual import DualNumber, make, primal
from ..core.functions import CATEGORY
from ..core.tags import fresh
from ..distributed import tasks
from ..errors import foreign
from ..higher.hyperdual import HyperDual
from ..higher.kinds import FallbackWatch, PerturbationMix
from ..jit import Jitted
from ..rules.ufuncs import PRIMAL
from . import coloring, sets
from .coloring import Pattern
from .detect import _seed
from .tracer import Tracer, _materialize

#: inputs beyond which the dense route refuses (its cost grows as n^2 per element)
DENSE_MAX_N = 2000


class _Refused(Exception):
    """The colored run cannot give this Hessian: the dense route takes over."""


class _Run:
    """One run of ``f`` on wrapped arrays: the detection (``engine`` None, ``inner`` Tracer)
    records the element sets of each reduction; a colored run (``engine`` ``_Hyper`` or
    ``_Nested``) their compressed parts."""

    __slots__ = ("inner", "plan", "engine", "keys", "sets", "parts", "mixed")

    def __init__(self, plan: Any = None, engine: Any = None) -> None:
        self.plan, self.engine = plan, engine
        self.inner = Tracer if engine is None else engine.inner
        self.keys: List[Tuple[Any, ...]] = []
        self.sets: List[sets.Sets] = []
        self.parts: List[Tuple[np.ndarray, np.ndarray]] = []
        self.mixed: Optional[str] = None

    def mix(self, what: str) -> None:
        reason = (f"an array that is not summed meets a sum ({what}): the Hessian is not a "
                  "sum of element Hessians there")
        if self.engine is None:
            self.mixed = self.mixed or reason  # (the detection goes on: the pattern is right)
        else:
            raise _Refused(reason)

    def reduction(self, key: Tuple[Any, ...], elements: Any, value: Any) -> "_Latent":
        """The latent scalar of a reduction of ``elements`` whose value is ``value`` (a
        Tracer in the detection, numpy's own number in a colored run)."""
        r = len(self.keys)
        self.keys.append(key)
        if self.engine is None:
            self.sets.append(_materialize(elements)[0])
            return _Latent(value, self)
        plan = self.plan
        if r >= len(plan.keys) or plan.keys[r] != key:
            raise _Refused("the reductions differ from those of the detection (f depends on "
                           "x in a way the detection did not follow)")
        self.parts.append(self.engine.parts(elements))
        return _Latent(self.engine.latent(np.asarray(value), r, plan.n_latent), self)


class _Hyper:
    """A colored run on HyperDual: packed Hessian parts, the latents HyperDuals too."""

    inner = HyperDual

    def __init__(self, c: int) -> None:
        self.c = c

    def run(self, f: Callable[[Any], Any], x: np.ndarray, seed: np.ndarray,
            node: Callable[[Any], Any]) -> Any:
        return f(node(HyperDual._new(x, seed, None)))

    @staticmethod
    def value(a: Any) -> Any:
        return a.value

    @staticmethod
    def parts(e: HyperDual) -> Tuple[np.ndarray, np.ndarray]:
        """The gradient and packed Hessian parts, flat (element-major)."""
        return e.grad.reshape(-1), e.hess.reshape(-1)

    @staticmethod
    def latent(value: np.ndarray, r: int, m: int) -> HyperDual:
        grad = np.zeros(m, dtype=value.dtype)
        grad[r] = 1.0
        return HyperDual._new(value, grad, None)

    @staticmethod
    def readout(a: HyperDual) -> Tuple[np.ndarray, List[float], List[Tuple[int, int, float]]]:
        """The value, the gradient in the latents, and the nonzero entries (r <= q) of the
        Hessian in them."""
        cross = []
        if a._hess is not None or a._terms:  # (a function of the sums, not linear)
            r, q = np.triu_indices(a.grad.shape[-1])
            cross = [(i, j, v) for i, j, v in zip(r.tolist(), q.tolist(), a.hess.tolist())
                     if v != 0]
        return a.value, a.grad.tolist(), cross


class _Nested:
    """A colored run on duals of duals (what HyperDual refuses, writes in place among
    them): the full c x c Hessian part per element, its upper triangle packed as
    HyperDual's; the latents are duals of duals of their own two tags."""

    inner = DualNumber

    def __init__(self, c: int) -> None:
        self.c, self.tags = c, (0, 0, 0, 0)
        self.triu = np.ravel_multi_index(np.triu_indices(c), (c, c))

    def run(self, f: Callable[[Any], Any], x: np.ndarray, seed: np.ndarray,
            node: Callable[[Any], Any]) -> Any:
        with fresh(4) as tags:
            self.tags = tuple(tags)
            inner, outer = tags[0], tags[1]
            zero = np.zeros(seed.shape + (self.c,), dtype=x.dtype)
            x = x.copy()  # (duals write in place: never into the caller's x)
            return f(node(make(make(x, seed, inner), make(seed, zero, inner), outer)))

    @staticmethod
    def value(a: Any) -> Any:
        return np.asarray(primal(a))

    def parts(self, e: Any) -> Tuple[np.ndarray, np.ndarray]:
        inner, outer = self.tags[0], self.tags[1]
        size, c = int(np.size(primal(e))), self.c
        g: Any = np.zeros((size, c))
        h: Any = np.zeros((size, c * c))
        if isinstance(e, DualNumber) and e._tag == outer:
            p = e.partials
            if isinstance(p, DualNumber) and p._tag == inner:
                g, h = p.value, p.partials
            else:
                g = p
        g = np.asarray(primal(g)).reshape(size * c)
        h = np.asarray(primal(h)).reshape(size, c * c).take(self.triu, axis=1).reshape(-1)
        return g, h

    def latent(self, value: np.ndarray, r: int, m: int) -> DualNumber:
        inner, outer = self.tags[2], self.tags[3]
        grad = np.zeros(m, dtype=value.dtype)
        grad[r] = 1.0
        return make(make(value, grad, inner), make(grad, np.zeros((m, m), value.dtype), inner),
                    outer)

    def readout(self, a: Any) -> Tuple[np.ndarray, List[float], List[Tuple[int, int, float]]]:
        inner, outer = self.tags[2], self.tags[3]
        value = np.asarray(primal(a))
        if not (isinstance(a, DualNumber) and a._tag == outer):
            return value, [], []
        p = a.partials
        if not (isinstance(p, DualNumber) and p._tag == inner):
            return value, np.asarray(primal(p)).tolist(), []
        full = np.asarray(primal(p.partials))
        r, q = np.nonzero(np.triu(full))
        return value, np.asarray(primal(p.value)).tolist(), \
            list(zip(r.tolist(), q.tolist(), full[r, q].tolist()))


# --- the wrappers ------------------------------------------------------------------------
def _strip(obj: Any, seen: List[bool]) -> Any:
    """``obj`` with wrapped arrays replaced by their inner arrays; ``seen`` records which
    kinds met (unreduced, latent)."""
    t = type(obj)
    if t is _Node:
        seen[0] = True
        return obj.a
    if t is _Latent:
        seen[1] = True
        return obj.a
    if t is list or t is tuple:
        return t(_strip(o, seen) for o in obj)
    if t is dict:
        return {k: _strip(v, seen) for k, v in obj.items()}
    return obj


def _values(obj: Any, engine: Any) -> Any:
    """``obj`` with the run's arrays replaced by their values (a reduction's value: numpy's
    own)."""
    if isinstance(obj, engine.inner):
        return engine.value(obj)
    if type(obj) in (list, tuple):
        return type(obj)(_values(o, engine) for o in obj)
    if type(obj) is dict:
        return {k: _values(v, engine) for k, v in obj.items()}
    return obj


def _wrap(obj: Any, run: _Run, cls: type) -> Any:
    if isinstance(obj, run.inner):
        return cls(obj, run)
    if type(obj) in (list, tuple):
        return type(obj)(_wrap(o, run, cls) for o in obj)
    return obj


def _call(run: _Run, func: Callable[..., Any], args: Any, kwargs: Dict[str, Any],
          what: str) -> Any:
    """``func`` on the inner arrays; the results wrapped as their arguments were."""
    seen = [False, False]
    inner, inner_kw = _strip(args, seen), _strip(kwargs, seen)
    if seen[0] and seen[1]:
        args, kwargs = _promote(args, run, what), _promote(kwargs, run, what)
        seen = [False, False]
        inner, inner_kw = _strip(args, seen), _strip(kwargs, seen)
    return _wrap(func(*inner, **inner_kw), run, _Latent if seen[1] and not seen[0] else _Node)


def _primal(run: _Run, func: Callable[..., Any], args: Any, kwargs: Dict[str, Any]) -> Any:
    """A function without derivative (a comparison, argmax, ...) on the inner arrays."""
    seen = [False, False]
    return _wrap(func(*_strip(args, seen), **_strip(kwargs, seen)), run,
                 _Latent if seen[1] and not seen[0] else _Node)


def _promote(obj: Any, run: _Run, what: str) -> Any:
    """``obj`` with its unreduced scalars made latents (each one more element, summed
    alone), where they meet a sum: ``x[0] ** 2 + np.sum(...)``. An unreduced array meeting
    a sum (``x * np.sum(x)``) cannot be: the run falls back."""
    t = type(obj)
    if t is _Node:
        if obj.ndim != 0:
            run.mix(what)
            return obj
        value = obj.a if run.engine is None else run.engine.value(obj.a)
        return run.reduction(("scalar", (), None), obj.a, value)
    if t is list or t is tuple:
        return t(_promote(o, run, what) for o in obj)
    if t is dict:
        return {k: _promote(v, run, what) for k, v in obj.items()}
    return obj


def _binary(fn: Callable[[Any, Any], Any], name: str) -> Callable[..., Any]:
    """The operator ``name``: straight to the inner arrays' own operator where the other
    side is a number, an ndarray or a wrapped array of the same kind."""
    reflected = name.startswith("__r")
    mixin = getattr(NDArrayOperatorsMixin, name)

    def op(self: "_Wrapped", other: Any) -> Any:
        t = type(other)
        if t is float or t is int or t is np.ndarray:
            o = other
        elif t is type(self):
            o = other.a
        elif isinstance(other, _Wrapped):
            return _call(self.run, fn, (other, self) if reflected else (self, other), {},
                         name.strip("_"))
        else:
            return mixin(self, other)
        return type(self)(fn(o, self.a) if reflected else fn(self.a, o), self.run)
    op.__name__ = op.__qualname__ = name
    return op


class _Wrapped(NDArrayOperatorsMixin):
    """An array of the run (``a``: a Tracer or a HyperDual) whose numpy calls go through
    the run: reductions to a scalar are intercepted, everything else runs on ``a``."""

    __slots__ = ("a", "run")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, a: Any, run: _Run) -> None:
        self.a, self.run = a, run

    shape = property(lambda self: self.a.shape)
    ndim = property(lambda self: len(self.a.shape))
    size = property(lambda self: math.prod(self.a.shape))
    dtype = property(lambda self: self.a.dtype)
    T = property(lambda self: np.transpose(self))

    def __len__(self) -> int:
        return len(self.a)

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.a)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.a!r})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError("dualad: converting an array of a sparse Hessian's run to a plain "
                        "array would drop its dependence on x; keep numpy operations on it")

    def __float__(self) -> float:
        raise TypeError("dualad: converting an array of a sparse Hessian's run to float would "
                        "drop its dependence on x; keep numpy operations on it")

    __int__ = __complex__ = __float__  # type: ignore[assignment]

    def __getitem__(self, index: Any) -> Any:
        if type(index) is _Node or type(index) is _Latent:
            raise TypeError("dualad: an array that depends on x cannot be an index")
        return _wrap(self.a[index], self.run, type(self))

    def __setitem__(self, index: Any, item: Any) -> None:
        seen = [type(self) is _Node, type(self) is _Latent]
        inner = _strip(item, seen)
        if seen[0] and seen[1]:
            if type(self) is _Node:
                self.run.mix("an assignment")
            else:
                inner = _strip(_promote(item, self.run, "an assignment"), seen)
        self.a[index] = inner

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if type(self) is _Node:
            spec = _ufunc_reduction(ufunc, method, inputs, kwargs)
            if spec is not None:
                return _reduce(self.run, getattr(ufunc, method), inputs, kwargs, *spec)
        if ufunc in PRIMAL:  # (comparisons: no derivative, so any operands may meet)
            return _primal(self.run, getattr(ufunc, method), inputs, kwargs)
        return _call(self.run, getattr(ufunc, method), inputs, kwargs, ufunc.__name__)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if CATEGORY.get(func) == "primal":
            return _primal(self.run, func, args, kwargs)
        reduction = _REDUCTIONS.get(func)
        if reduction is not None:
            try:
                spec = reduction(*args, **kwargs)
            except TypeError:  # (arguments the recognizer does not know: not a plain sum)
                spec = None
            if spec is not None:
                return _reduce(self.run, func, args, kwargs, *spec)
        return _call(self.run, func, args, kwargs, getattr(func, "__name__", "a function"))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("a", "run"):
            raise AttributeError(name)
        func = _METHODS.get(name)
        if func is not None:
            return lambda *args, **kwargs: func(self, *args, **kwargs)
        attr = getattr(self.a, name)
        if not callable(attr):  # (.real, .value, ...)
            return _wrap(attr, self.run, type(self))
        return lambda *args, **kwargs: _call(self.run, attr, args, kwargs, name)

    def __neg__(self) -> Any:
        return type(self)(-self.a, self.run)

    def __pos__(self) -> Any:
        return self

    def __pow__(self, other: Any) -> Any:
        if type(other) in (int, float):
            return type(self)(self.a ** other, self.run)
        return np.power(self, other)

    def __matmul__(self, other: Any) -> Any:
        return np.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return np.matmul(other, self)


for _name, _fn in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv)):
    setattr(_Wrapped, f"__{_name}__", _binary(_fn, f"__{_name}__"))
    setattr(_Wrapped, f"__r{_name}__", _binary(_fn, f"__r{_name}__"))
del _name, _fn


class _Node(_Wrapped):
    """An array not yet reduced (colored directions)."""

    __slots__ = ()


class _Latent(_Wrapped):
    """A function of the reductions' results (the latent directions)."""

    __slots__ = ()


#: array methods that are numpy functions of the array (so that ``x.sum()`` is seen)
_METHODS: Dict[str, Callable[..., Any]] = {
    name: getattr(np, name) for name in (
        "sum", "mean", "dot", "prod", "max", "min", "ravel", "squeeze", "clip", "cumsum", "cumprod", "swapaxes", "take", "repeat", "diagonal",
        "trace", "var", "std", "all", "any", "argmax", "argmin", "nonzero", "round", "copy",
        "conj", "conjugate", "ptp", "sort", "argsort")}
_METHODS["flatten"] = lambda a, order="C": np.copy(np.ravel(a, order))
_METHODS["reshape"] = lambda a, *shape, **kw: np.reshape(
    a, shape[0] if len(shape) == 1 else shape, **kw)
_METHODS["transpose"] = lambda a, *axes: np.transpose(
    a, (axes[0] if len(axes) == 1 else axes) or None)


# --- the reductions ----------------------------------------------------------------------
# Each recognizer takes a numpy function's arguments and returns None (not a reduction of
# an unreduced array to a scalar: the call runs as it is) or (name, factors, divisor): the
# elements are the factors' elementwise product, the result their sum (over divisor).
_Spec = Optional[Tuple[str, Tuple[Any, ...], Optional[int]]]


def _full(a: Any, axis: Any) -> bool:
    nd = np.ndim(a) if not isinstance(a, _Wrapped) else a.ndim
    if axis is None:
        return True
    try:
        return len(normalize_axis_tuple(axis, nd)) == nd
    except (TypeError, ValueError):
        return False


def _sum_spec(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
              keepdims: Any = False, initial: Any = np._NoValue,
              where: Any = np._NoValue) -> _Spec:
    if (type(a) is not _Node or dtype is not None or out is not None or keepdims
            or where is not np._NoValue or isinstance(initial, _Wrapped)
            or not _full(a, axis)):
        return None
    return "sum", (a,), None


def _mean_spec(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
               keepdims: Any = False, *, where: Any = np._NoValue) -> _Spec:
    if (type(a) is not _Node or dtype is not None or out is not None or keepdims
            or where is not np._NoValue or not _full(a, axis) or a.size == 0):
        return None
    return "mean", (a,), a.size


def _factors(name: str, a: Any, b: Any, ndim: Optional[int]) -> _Spec:
    """A product of ``a`` and ``b`` summed over all their elements (same shapes, of
    ``ndim`` dimensions if given), one of them unreduced, neither latent."""
    kinds = (type(a), type(b))
    if _Latent in kinds or _Node not in kinds:
        return None
    if np.shape(a) != np.shape(b) or (ndim is not None and np.ndim(a) != ndim):
        return None
    if not all(isinstance(o, _Wrapped) or np.asarray(o).dtype.kind in "biuf" for o in (a, b)):
        return None
    return name, (a, b), None


def _dot_spec(a: Any, b: Any, out: Any = None) -> _Spec:
    return None if out is not None else _factors("dot", a, b, 1)


def _inner_spec(a: Any, b: Any) -> _Spec:
    return _factors("inner", a, b, 1)


def _vdot_spec(a: Any, b: Any) -> _Spec:
    if np.size(a) != np.size(b):
        return None
    spec = _factors("vdot", np.ravel(a), np.ravel(b), None) if _Node in (type(a), type(b)) \
        else None
    return spec


def _einsum_spec(subscripts: Any, *operands: Any, out: Any = None, optimize: Any = False,
                 **kwargs: Any) -> _Spec:
    if not isinstance(subscripts, str) or out is not None or kwargs:
        return None
    spec = subscripts.replace(" ", "")
    ins, _, result = spec.partition("->")
    words = ins.split(",")
    if "." in spec or len(words) != len(operands) or any(len(set(w)) != len(w) for w in words):
        return None
    if len(operands) == 1 and "->" in spec and result == "" and type(operands[0]) is _Node:
        return ("einsum", (operands[0],), None) if operands[0].ndim == len(words[0]) else None
    if len(operands) == 2 and words[0] == words[1] and result == "":
        return _factors("einsum", operands[0], operands[1], len(words[0]))
    return None


def _vecdot_spec(x1: Any, x2: Any, /, *, axis: int = -1) -> _Spec:
    return _factors("vecdot", x1, x2, 1)


_REDUCTIONS: Dict[Any, Callable[..., _Spec]] = {
    np.sum: _sum_spec, np.mean: _mean_spec, np.dot: _dot_spec, np.inner: _inner_spec,
    np.vdot: _vdot_spec, np.einsum: _einsum_spec, np.linalg.vecdot: _vecdot_spec}


def _ufunc_reduction(ufunc: Any, method: str, inputs: Any, kwargs: Dict[str, Any]) -> _Spec:
    if ufunc is np.matmul and method == "__call__" and len(inputs) == 2 and not kwargs:
        return _factors("matmul", inputs[0], inputs[1], 1)
    if ufunc is np.add and method == "reduce" and len(inputs) == 1:
        kw = dict(kwargs)
        axis = kw.pop("axis", 0)
        kw = {k: v for k, v in kw.items() if v is not None and not (k == "keepdims" and not v)}
        if kw or type(inputs[0]) is not _Node or inputs[0].ndim == 0:
            return None
        return ("sum", (inputs[0],), None) if _full(inputs[0], axis) else None
    return None


def _reduce(run: _Run, func: Any, args: Any, kwargs: Dict[str, Any], name: str,
            factors: Tuple[Any, ...], divisor: Optional[int]) -> "_Latent":
    seen = [False, False]
    inner = [_strip(o, seen) for o in factors]
    elements = inner[0] if len(inner) == 1 else np.multiply(inner[0], inner[1])
    key = (name, tuple(elements.shape), divisor)
    if run.engine is None:  # the sets of the result as the tracer's own function has them
        value = func(*_strip(args, seen), **_strip(kwargs, seen))
    else:  # the value as numpy's own function has it
        value = func(*_values(_strip(args, seen), run.engine),
                     **_values(_strip(kwargs, seen), run.engine))
    return run.reduction(key, elements, value)


# --- the plan ----------------------------------------------------------------------------
class HessianPlan:
    """The prepared sparse Hessian of a scalar ``f``: the reductions' element sets (from a
    detection at ``x``), their column coloring, the seed, and where each element's entries
    go; calling it at a point gives ``(value, gradient, data)``, ``data`` aligned with
    ``pattern.indices`` (CSR), the gradient shaped as x.

    ``pattern`` (a ``Pattern``, scipy sparse matrix or dense boolean array; default: the
    detected one) is the output's structure; a nonzero outside it raises a ValueError.
    ``mode="global"`` detects once for every x; ``"local"`` detects at x and again at every
    other point it is called at (f's branches may differ there). ``fallback`` is None or why
    the dense route is used.

    >>> import numpy as np
    >>> f = lambda x: np.sum(np.sin(x)) + x[1:] @ x[:-1]
    >>> plan = HessianPlan(f, np.zeros(5))
    >>> plan.n_colors, plan.pattern.nnz
    (2, 13)
    >>> value, grad, data = plan(np.ones(5))
    >>> bool(np.allclose(grad, np.cos(1) + np.array([1, 2, 2, 2, 1])))
    True
    """

    def __init__(self, f: Callable[[Any], Any], x: Any, pattern: Any = None, *,
                 mode: str = "global", order: Any = "smallest_last") -> None:
        x0 = plain_point(x)
        self.f, self.mode, self.order, self.shape = f, mode, order, x0.shape
        self.n = x0.size
        self.fallback: Optional[str] = None
        self._given = None if pattern is None else coloring.as_pattern(pattern)
        if self._given is not None and tuple(self._given.shape) != (self.n, self.n):
            raise ValueError(f"dualad: the Hessian pattern has shape {self._given.shape}; "
                             f"x has {self.n} elements")
        self._detect(x0)

    def _detect(self, x: np.ndarray) -> None:
        """Run ``f`` on the tracer (with the interception) at ``x``; color; index."""
        run = _Run()
        t = _seed(x, self.mode, second=True)
        y = self.f(_Node(t, run))
        n = self.n
        self._x = x.copy()
        if type(y) is _Node:
            if y.ndim != 0:
                raise ValueError(f"dualad: a Hessian needs a scalar-valued function; f "
                                 f"returned shape {y.shape}")
            run.reduction(("output", (), None), y.a, y.a)
            out: Any = y.a
            self.output = "node"
        elif type(y) is _Latent:
            if y.ndim != 0:
                raise ValueError(f"dualad: a Hessian needs a scalar-valued function; f "
                                 f"returned shape {y.shape}")
            out, self.output = y.a, "latent"
        else:
            if isinstance(y, Tracer) or np.ndim(y) != 0:
                raise ValueError("dualad: a Hessian needs f to return a scalar computed from x, "
                                 f"got {type(y).__name__} of shape {np.shape(y)}")
            out, self.output = None, "constant"
        self.keys, self.n_latent = run.keys, len(run.keys)
        self.fallback = run.mixed
        if self._given is not None:
            self.pattern = self._given
        elif out is None:
            self.pattern = Pattern(np.zeros(n + 1, dtype=np.int64), np.zeros(0, np.int64),
                                   (n, n))
        else:
            keys = _materialize(out)[1].idx  # type: ignore[union-attr]
            i, j = keys // n, keys % n
            off = i != j
            s = sets.build((np.concatenate([i, j[off]]), np.concatenate([j, i[off]])), n, n)
            self.pattern = Pattern(s.ptr, s.idx, (n, n))
        self._rows = self.pattern.rows()
        self._keys = self._rows * n + self.pattern.indices
        rows = sets.concat(run.sets) if run.sets and not run.mixed else sets.empty(0)
        self.colors = coloring.column_coloring(Pattern(rows.ptr, rows.idx, (rows.nrows, n)),
                                               self.order)
        self.n_colors = int(self.colors.max()) + 1 if n else 0
        seed = np.zeros((n, max(self.n_colors, 1)), dtype=x.dtype)
        seed[np.arange(n), self.colors] = 1.0
        seed.flags.writeable = False
        self._seed = seed.reshape(self.shape + (seed.shape[1],))
        self._index = [] if run.mixed else [self._indices(s) for s in run.sets]
        self._engine: Any = _Hyper(max(self.n_colors, 1))
        self._divisors = [k[2] for k in self.keys]

    def _indices(self, s: sets.Sets) -> Tuple[np.ndarray, ...]:
        """For one reduction with element sets ``s``: where each element's gradient entries
        are in its compressed gradient part and go in the gradient, where its Hessian
        entries (every pair of its inputs) are in its packed part and go in the CSR data,
        and the packed entries of pairs outside the pattern (which must be zeros)."""
        n, c = self.n, max(self.n_colors, 1)
        m = c * (c + 1) // 2
        count = np.diff(s.ptr)
        k = np.repeat(np.arange(s.nrows, dtype=np.int64), count)
        g_src, g_dst = k * c + self.colors[s.idx], s.idx
        # every ordered pair of each row, then a <= b (rows are short: at most c members)
        sq = count * count
        t = np.arange(int(sq.sum()), dtype=np.int64) - np.repeat(np.cumsum(sq) - sq, sq)
        length = np.repeat(count, sq)
        a, b = t // np.maximum(length, 1), t % np.maximum(length, 1)
        keep = a <= b
        start = np.repeat(s.ptr[:-1], sq)[keep]
        i, j = s.idx[start + a[keep]], s.idx[start + b[keep]]
        kk = np.repeat(np.arange(s.nrows, dtype=np.int64), sq)[keep]
        unpack = np.empty((c, c), dtype=np.int64)
        iu, ju = np.triu_indices(c)
        unpack[iu, ju] = unpack[ju, iu] = np.arange(m)
        src = kk * m + unpack[self.colors[i], self.colors[j]]
        off = i != j
        src = np.concatenate([src, src[off]])
        keys = np.concatenate([i * n + j, (j * n + i)[off]])
        pos = np.searchsorted(self._keys, keys)
        found = pos < len(self._keys)
        found[found] = self._keys[pos[found]] == keys[found]
        return g_src, g_dst, src[found], pos[found], np.unique(src[~found])

    def __call__(self, x: Any, executor: Any = None,
                 progress: bool = False) -> Tuple[Any, np.ndarray, np.ndarray]:
        """``(f(x), gradient, data)``: the Hessian's CSR data on ``pattern``; the dense
        route's passes on ``executor`` (as ``dualad.hessian``), when it is taken."""
        if type(x) is not np.ndarray or x.dtype.kind != "f" or x.dtype.itemsize < 4:
            x = plain_point(x)
        if x.shape != self.shape:
            raise ValueError(f"dualad: this Hessian was prepared for x of shape {self.shape}, "
                             f"got {x.shape}")
        if self.mode == "local" and not np.array_equal(x, self._x):
            self._given = self.pattern  # (the pattern stays: a given one, or the first)
            self._detect(x)
        while self.fallback is None:
            try:
                return self._colored(x, self._engine)
            except _Refused as why:
                return self._dense(x, str(why), executor, progress)
            except PerturbationMix as why:  # (HyperDual refuses writes in place, ...)
                if type(self._engine) is _Nested:
                    self.fallback = f"duals of duals do not take f ({why})"
                else:
                    self._engine = _Nested(self._engine.c)
        return self._dense(x, self.fallback, executor, progress)

    def _colored(self, x: np.ndarray, engine: Any) -> Tuple[Any, np.ndarray, np.ndarray]:
        seed = self._seed if self._seed.dtype == x.dtype else self._seed.astype(x.dtype)
        if type(self.f) is Jitted and type(engine) is _Hyper:
            replayed = self._jitted(x, seed)
            if replayed is not None:
                return replayed
        run = _Run(self, engine)
        with FallbackWatch() as watch:
            y = engine.run(self.f, x, seed, lambda a: _Node(a, run))
        if watch.signalled:
            raise PerturbationMix("f caught a fallback signal")
        kind, m = type(y), self.n_latent
        cross: List[Tuple[int, int, float]] = []
        if kind is _Latent and self.output == "latent":
            value, coef, cross = engine.readout(y.a)
        elif kind is _Node and self.output == "node":  # f's result: one more element
            value = engine.value(y.a)
            run.reduction(("output", (), None), y.a, value)
            coef = [0.0] * (m - 1) + [1.0]
        elif not isinstance(y, _Wrapped) and self.output == "constant":
            value = np.asarray(y)
            return value.item(), np.zeros(self.shape, x.dtype), \
                np.zeros(self.pattern.nnz, x.dtype)
        else:
            raise _Refused("f returned another kind of result than in the detection")
        if len(run.parts) != m:
            raise _Refused("the reductions differ from those of the detection")
        done: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        grad = data = None
        for r, cr in enumerate(coef):
            if cr != 0:
                gr, dr = done[r] = self._assemble(r, *run.parts[r])
                if cr != 1.0:
                    gr, dr = cr * gr, cr * dr
                grad = gr if grad is None else grad + gr
                data = dr if data is None else data + dr
        rows, cols = self._rows, self.pattern.indices
        for r, q, v in cross:  # the terms G_rq (∇s_r ∇s_qᵀ + ∇s_q ∇s_rᵀ), on the pattern
            gr = (done.get(r) or done.setdefault(r, self._assemble(r, *run.parts[r])))[0]
            gq = (done.get(q) or done.setdefault(q, self._assemble(q, *run.parts[q])))[0]
            self._check_cross(gr, gq)
            term = gr.take(rows) * gq.take(cols)
            if r != q:
                term += gq.take(rows) * gr.take(cols)
            term *= v
            data = term if data is None else data + term
        dtype = value.dtype
        grad = np.zeros(self.n, dtype) if grad is None else grad
        data = np.zeros(self.pattern.nnz, dtype) if data is None else data
        return value.item(), grad.reshape(self.shape).astype(dtype, copy=False), \
            data.astype(dtype, copy=False)

    def _jitted(self, x: np.ndarray, seed: np.ndarray) -> Optional[Tuple[Any, np.ndarray,
                                                                          np.ndarray]]:
        """An ``ad.jit`` function that is one sum (or mean) of elements, as the detection
        saw it: the elements' compressed parts from its compiled record, without the
        interception (None: the wrapped run)."""
        if self.output != "latent" or len(self.keys) != 1 or self.keys[0][0] not in (
                "sum", "mean") or self.fallback is not None:
            return None
        jitted: Any = self.f
        got = jitted.sum_elements(x, seed)
        if got is None or got[3] != self.keys[0][0] or got[0].shape != self.keys[0][1]:
            return None
        values, g, h, kind = got
        grad, data = self._assemble(0, g.reshape(-1), h.reshape(-1))
        value = np.sum(values) if kind == "sum" else np.mean(values)
        dtype = value.dtype
        return value.item(), grad.reshape(self.shape).astype(dtype, copy=False), \
            data.astype(dtype, copy=False)

    def _assemble(self, r: int, g: np.ndarray, h: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """The gradient and Hessian data of reduction ``r`` from its elements' compressed
        parts: each entry read back by its colors, then the elements' entries summed."""
        g_src, g_dst, h_src, h_dst, zero = self._index[r]
        if zero.size and np.any(h.take(zero) != 0):
            raise self._outside(r)
        gr: np.ndarray = np.bincount(g_dst, weights=g.take(g_src), minlength=self.n)
        dr: np.ndarray = np.bincount(h_dst, weights=h.take(h_src), minlength=self.pattern.nnz)
        divisor = self._divisors[r]
        if divisor is not None:
            gr /= divisor
            dr /= divisor
        return gr, dr

    def _outside(self, r: int) -> ValueError:
        return ValueError("dualad: the Hessian has a nonzero (or nan) outside the pattern "
                          f"(in the elements of reduction {r}, {self.keys[r][0]}); the pattern "
                          "must contain every nonzero: detect it with hessian_sparsity(f, x)")

    def _check_cross(self, gr: np.ndarray, gq: np.ndarray) -> None:
        """``supp(gr) x supp(gq)`` lies in the pattern (the cross term is written there)."""
        a, b = gr != 0, gq != 0
        inside = np.count_nonzero(a.take(self._rows) & b.take(self.pattern.indices))
        if inside != np.count_nonzero(a) * np.count_nonzero(b):
            raise ValueError("dualad: the Hessian has a nonzero outside the pattern (a product "
                             "of two sums); the pattern must contain every nonzero: detect it "
                             "with hessian_sparsity(f, x)")

    def _dense(self, x: np.ndarray, why: Any, executor: Any = None,
               progress: bool = False) -> Tuple[Any, np.ndarray, np.ndarray]:
        """The dense route: the Hessian in blocks of directions, one pass per pair of blocks
        (``c`` directions each, as ``dualad.hessian`` chunks them; only pairs that hold
        pattern entries where the pattern was detected), read on the pattern; every other
        entry computed must be zero. On ``executor``, each pass is a task."""
        n = self.n
        if n > DENSE_MAX_N:
            raise ValueError(f"dualad: the sparse Hessian cannot use colored directions here "
                             f"({why}), and a dense Hessian of {n} inputs is too costly to "
                             "take its place; write f as sums of element functions, or call "
                             "dualad.hessian(f, x) for the dense matrix")
        per_pair = x.dtype.itemsize * max(n, 1) * 8
        chunk = max(1, min(n, int(math.sqrt(2 * config.CHUNK_BUDGET_BYTES / per_pair))))
        block = np.arange(n) // chunk
        rows, cols = self._rows, self.pattern.indices
        nblocks = int(block[-1]) + 1 if n else 0
        if self._given is None:  # (a detected pattern holds every nonzero by construction)
            pairs = np.unique(np.concatenate([
                np.minimum(block[rows], block[cols]) * nblocks
                + np.maximum(block[rows], block[cols]),
                np.arange(nblocks) * (nblocks + 1)]))
        else:
            a, b = np.triu_indices(nblocks)
            pairs = a * nblocks + b
        spans = [(int(a) * chunk, min(n, (int(a) + 1) * chunk), int(b) * chunk,
                  min(n, (int(b) + 1) * chunk)) for a, b in zip(*np.divmod(pairs, nblocks))]
        if executor is None and not progress:
            results: Any = _dense_passes(self.f, x, spans)
        else:  # (in the order of the pairs, as here: a later pass overwrites entries)
            results = tasks.in_order(tasks.run(
                executor, _dense_task, {"f": self.f, "x": x}, spans,
                lambda p: f"directions {p[0]} to {p[1] - 1} with {p[2]} to {p[3] - 1} of {n}",
                progress, "sparse hessian"))
        value: Any = None
        grad = np.zeros(n, dtype=x.dtype)
        data = np.zeros(self.pattern.nnz, dtype=x.dtype)
        for i, (value, g, h, _) in results:
            a0, a1, b0, b1 = spans[i]
            dirs = np.arange(a0, a1) if a0 == b0 else np.r_[a0:a1, b0:b1]
            k = len(dirs)
            grad[dirs] = g
            full = np.zeros((k, k), dtype=x.dtype)
            iu, ju = np.triu_indices(k)
            full[iu, ju] = full[ju, iu] = h
            where = np.full(n, -1)
            where[dirs] = np.arange(k)
            inside = (where[rows] >= 0) & (where[cols] >= 0)
            r, q = where[rows[inside]], where[cols[inside]]
            data[inside] = full[r, q]
            full[r, q] = 0.0
            if np.any(full != 0):
                raise ValueError("dualad: the Hessian has a nonzero (or nan) outside the "
                                 "pattern; the pattern must contain every nonzero: detect it "
                                 "with hessian_sparsity(f, x)")
        return np.asarray(value).item(), grad.reshape(self.shape), data


def _dense_passes(f: Callable[[Any], Any], x: np.ndarray,
                  spans: List[Tuple[int, int, int, int]]) -> Any:
    """The dense route's passes here, in order: once HyperDual refuses ``f``, the later
    passes go straight to duals of duals."""
    nested = False
    for i, span in enumerate(spans):
        out = _dense_pass(f, x, span, nested)
        nested = out[3]
        yield i, out


def _dense_task(problem: Dict[str, Any], span: Tuple[int, int, int, int]) -> Tuple[Any, ...]:
    """One pass of the dense route on an executor's worker."""
    return _dense_pass(problem["f"], problem["x"], span, False)


def _dense_pass(f: Callable[[Any], Any], x: np.ndarray, span: Tuple[int, int, int, int],
                nested: bool) -> Tuple[Any, np.ndarray, np.ndarray, bool]:
    """``(value, gradient part, packed Hessian part, nested)`` of one pass over the directions
    ``a0..a1-1`` and ``b0..b1-1`` of ``span = (a0, a1, b0, b1)``: on HyperDual, or on duals
    of duals (``nested``, or where HyperDual refuses ``f``)."""
    a0, a1, b0, b1 = span
    dirs = np.arange(a0, a1) if a0 == b0 else np.r_[a0:a1, b0:b1]
    k = len(dirs)
    seed = np.zeros((x.size, k), dtype=x.dtype)
    seed[dirs, np.arange(k)] = 1.0
    seed = seed.reshape(x.shape + (k,))
    engine: Any = _Nested(k) if nested else _Hyper(k)
    if not nested:
        try:
            with FallbackWatch() as watch:
                y = engine.run(f, x, seed, lambda t: t)
            nested = watch.signalled
        except PerturbationMix:
            nested = True
        if nested:
            engine = _Nested(k)
    if nested:
        y = engine.run(f, x, seed, lambda t: t)
    value = engine.value(y)
    if np.ndim(value) != 0:
        raise ValueError(f"dualad: a Hessian needs a scalar-valued function; f "
                         f"returned shape {np.shape(value)}")
    g, h = engine.parts(y) if isinstance(y, engine.inner) else \
        (np.zeros(k), np.zeros(k * (k + 1) // 2))
    return value, g, h, nested


def plain_point(x: Any) -> np.ndarray:
    """``x`` as a float array; duals, tracers and foreign array types refused."""
    err = foreign(x, "x")
    if err is not None:
        raise err
    if isinstance(x, (Tracer, HyperDual, DualNumber, _Wrapped)):
        raise TypeError("dualad: sparse Jacobians and Hessians take a plain point x (nested "
                        "differentiation is not supported here)")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"dualad: x must be a real number or array, got dtype {arr.dtype}")
    return arr.astype(np.result_type(arr, np.float32), copy=False)


def colored_hessian(f: Callable[[Any], Any], x: Any, pattern: Any = None, *,
                    mode: str = "local",
                    order: Any = "smallest_last") -> Tuple[Any, np.ndarray, np.ndarray, Pattern]:
    """``(f(x), gradient, data, pattern)``: the Hessian of the scalar ``f`` at ``x`` as CSR
    ``data`` on ``pattern`` (a ``Pattern``: ``indptr``, ``indices``, ``shape`` (n, n), inputs
    flattened; the detected one unless given), the gradient shaped as x, from a HyperDual
    pass with as many directions as colors (see the module docstring; ``HessianPlan`` keeps
    everything for calls at other points).

    >>> import numpy as np
    >>> value, grad, data, p = colored_hessian(lambda x: np.sum(x[0] * x[1:]) ** 2,
    ...                                        np.array([1.0, 2.0, 3.0]))
    >>> value, grad.tolist(), p.indices.tolist(), data.tolist()
    (25.0, [50.0, 10.0, 10.0], [0, 1, 2, 0, 1, 2, 0, 1, 2], [50.0, 20.0, 20.0, 20.0, 2.0, 2.0, 20.0, 2.0, 2.0])
    """
    plan = HessianPlan(f, x, pattern, mode=mode, order=order)
    value, grad, data = plan(x)
    return value, grad, data, plan.pattern
