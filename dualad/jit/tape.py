"""Recording ``f`` once: tracers that run every operation for real and write it on a tape.

``f`` receives a ``Tracer`` for each differentiated or array argument. A tracer holds the
real object (a DualNumber, a HyperDual or a plain array) and its slot on the tape; every
numpy call, operator, index or method on it runs on the real objects, so the first call
computes exactly what the ordinary route computes, and is written down as a ``Step``.

Values reach Python control flow only through conversions (``bool``, ``int``, ``float``,
``len``, ``.shape``, ``.item()``): each is a *guard* that records its answer, and a replay
whose guard answers otherwise is abandoned for the ordinary route. Whatever a tape cannot
follow (a write into a traced array, ``np.asarray`` of one, an attribute such as ``.value``,
a dual that did not come from the arguments, an exception) makes the tape *broken*: the
call still returns the real result, and the function keeps the ordinary route at this key.
"""
import operator
from typing import Any, Callable, List, NamedTuple, Optional, Tuple

import numpy as np

from ..core import DualNumber
from ..higher import HyperDual

#: types a tape follows as slots (everything else an operation returns is a constant)
ARRAYS = (DualNumber, HyperDual, np.ndarray, np.generic)
#: Python results of an operation that a replay can compare with ``==`` (guards)
COMPARABLE = (bool, int, float, str, type(None))


class Ref(NamedTuple):
    """A slot of the tape, in a step's arguments."""
    slot: int


class Step(NamedTuple):
    """``out = fn(*args, **kwargs)`` with ``Ref`` for slots; ``outs`` are the result's
    slots (a tree of ``Ref`` and constants); ``expect`` the Python answer of a guard."""
    fn: Callable[..., Any]
    args: Tuple[Any, ...]
    kwargs: dict
    outs: Any
    expect: Any = None
    guard: bool = False


class Broken(Exception):
    """The tape cannot follow what ``f`` did (the reason is the message)."""


class Tape:
    """The steps of one call of ``f`` on tracers; ``broken`` says why it cannot replay."""

    def __init__(self) -> None:
        self.reals: List[Any] = []      # slot -> the real object of the recording run
        self.steps: List[Step] = []
        self.broken: Optional[str] = None
        self.closed = False  # the recording call has returned
        self.depth = 0       # operations running (a callback inside one: not followed)

    def input(self, real: Any) -> "Tracer":
        return Tracer(self, self._slot(real))

    def check(self) -> None:
        """Refuse a tracer kept beyond its call (a global, a closure, a callback run later)."""
        if self.closed:
            raise TypeError("dualad: a value traced by ad.jit was used after the call that "
                            "recorded it ended (kept in a global, an attribute or a closure); "
                            "keep plain results instead")

    def _slot(self, real: Any) -> int:
        self.reals.append(real)
        return len(self.reals) - 1

    def breaks(self, why: str) -> None:
        if self.broken is None:
            self.broken = why

    # --- templates: tracers -> Ref, everything else a constant ----------------------------
    def template(self, obj: Any) -> Any:
        if isinstance(obj, Tracer):
            if obj.tape is not self:
                self.breaks("a tracer of another ad.jit call")
            return Ref(obj.slot)
        if isinstance(obj, (list, tuple)):
            items = [self.template(o) for o in obj]
            if type(obj) in (list, tuple):
                return type(obj)(items)
            if any(i != o for i, o in zip(items, obj) if type(i) is Ref):
                self.breaks(f"tracers inside a {type(obj).__name__}")
            return self._const(obj)
        if isinstance(obj, dict):
            return {k: self.template(v) for k, v in obj.items()}
        return self._const(obj)

    def _const(self, obj: Any) -> Any:
        if isinstance(obj, (DualNumber, HyperDual)):
            # a dual that is not a tracer: from outside the arguments (an enclosing helper's)
            # or from a route the tape did not see
            self.breaks("a dual that did not come from the arguments")
        # (arrays by reference: a replay sees what f would see after an in-place update)
        return obj

    def real(self, tmpl: Any) -> Any:
        """``tmpl`` with the recording run's real objects in place of the slots."""
        return resolve(tmpl, self.reals)

    # --- one operation --------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: dict) -> Any:
        """Run ``fn`` on the real objects, record it, and return tracers for its results."""
        self.check()
        if self.depth:  # (a callback of numpy's, np.apply_along_axis: replays cannot see it)
            self.breaks("an operation inside another one (a callback)")
        targs, tkw = self.template(tuple(args)), self.template(kwargs)
        self.depth += 1
        try:
            out = fn(*self.real(targs), **self.real(tkw))
        except BaseException:
            self.breaks("an operation raised")
            raise
        finally:
            self.depth -= 1
        outs = self._outputs(out)
        self.steps.append(Step(fn, targs, tkw, outs))
        return resolve_tracers(outs, self) if not isinstance(outs, Plain) else outs.value

    def _outputs(self, out: Any) -> Any:
        if isinstance(out, ARRAYS):
            return Ref(self._slot(out))
        if isinstance(out, tuple) and all(isinstance(o, ARRAYS + COMPARABLE) for o in out):
            return type(out)(*[self._outputs(o) for o in out]) if hasattr(out, "_fields") \
                else tuple(self._outputs(o) for o in out)
        if isinstance(out, COMPARABLE):
            # a Python answer of an operation on traced values (np.allclose, np.ndim): a
            # replay must find the same one
            return Plain(out)
        self.breaks(f"an operation returned {type(out).__name__}")
        return Plain(out)

    def guard(self, fn: Callable[..., Any], tracer: "Tracer", *args: Any) -> Any:
        """``fn(real, *args)``, a Python answer that steers ``f``: a replay checks it."""
        self.check()
        if self.depth:
            self.breaks("a conversion inside an operation (a callback)")
        real = self.reals[tracer.slot]
        try:
            answer = fn(real, *args)
        except BaseException:
            self.breaks("a conversion raised")
            raise
        if not _comparable_tree(answer):
            self.breaks(f"a conversion returned {type(answer).__name__}")
        self.steps.append(Step(fn, (Ref(tracer.slot),) + args, {}, None, answer, True))
        return answer


class Plain(NamedTuple):
    value: Any


def _comparable_tree(a: Any) -> bool:
    if isinstance(a, (list, tuple)):
        return all(_comparable_tree(e) for e in a)
    return isinstance(a, COMPARABLE)


def resolve(tmpl: Any, slots: List[Any]) -> Any:
    """``tmpl`` with every ``Ref`` replaced by its slot's object."""
    t = type(tmpl)
    if t is Ref:
        return slots[tmpl.slot]
    if t is tuple or t is list:
        return t(resolve(o, slots) for o in tmpl)
    if t is dict:
        return {k: resolve(v, slots) for k, v in tmpl.items()}
    if isinstance(tmpl, tuple) and hasattr(tmpl, "_fields") and t is not Plain:
        return t(*[resolve(o, slots) for o in tmpl])
    return tmpl


def resolve_tracers(tmpl: Any, tape: Tape) -> Any:
    t = type(tmpl)
    if t is Ref:
        return Tracer(tape, tmpl.slot)
    if t is Plain:
        return tmpl.value
    if isinstance(tmpl, tuple):
        items = [resolve_tracers(o, tape) for o in tmpl]
        return t(*items) if hasattr(tmpl, "_fields") else tuple(items)
    return tmpl


def method(name: str) -> Callable[..., Any]:
    caller = _METHODS.get(name)
    if caller is None:
        def caller(obj, *args, **kwargs):
            return getattr(obj, name)(*args, **kwargs)
        caller.__name__ = caller.__qualname__ = f"method {name}"
        _METHODS[name] = caller
    return caller


_METHODS: dict = {}


def attribute(name: str) -> Callable[..., Any]:
    getter = _ATTRIBUTES.get(name)
    if getter is None:
        getter = _ATTRIBUTES[name] = operator.attrgetter(name)
    return getter


_ATTRIBUTES: dict = {}

#: methods of DualNumber and HyperDual that compute arrays from arrays (recorded as steps)
METHODS = frozenset({
    "reshape", "transpose", "ravel", "flatten", "squeeze", "swapaxes", "sum", "mean", "prod",
    "max", "min", "argmax", "argmin", "cumsum", "cumprod", "var", "std", "dot", "clip",
    "trace", "diagonal", "take", "round", "astype", "copy", "conj", "conjugate", "all",
    "any", "nonzero", "repeat", "sort", "argsort"})
#: attributes that are arrays computed from the array (recorded as steps)
ARRAY_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})
#: attributes fixed by the shapes and dtypes a replay is keyed by
STATIC = frozenset({"ndim", "dtype", "device", "n_directions"})


class Tracer:
    """Stands for one slot of a tape inside ``f``: numpy calls, operators, indexing and the
    usual array methods are recorded; conversions to Python values are guards."""

    __slots__ = ("tape", "slot")
    __array_priority__ = 1000
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, tape: Tape, slot: int) -> None:
        self.tape, self.slot = tape, slot

    # --- the numpy protocols ---------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            return self._escape("out= (a write into an array)",
                                lambda *a, **k: getattr(ufunc, method)(*a, **k),
                                inputs, kwargs)
        fn = ufunc if method == "__call__" else _ufuncmethod(ufunc, method)
        return self.tape.call(fn, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if kwargs.get("out") is not None:
            return self._escape("out= (a write into an array)", func, args, kwargs)
        return self.tape.call(func, args, kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self.tape.check()
        self.tape.breaks("conversion to a plain array (np.asarray)")
        real = self.tape.reals[self.slot]
        return np.asarray(real, dtype=dtype)

    # --- indexing ----------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> Any:
        return self.tape.call(operator.getitem, (self, index), {})

    def __setitem__(self, index: Any, item: Any) -> None:
        self._escape("a write into an array (x[i] = ...)", operator.setitem,
                     (self, index, item), {})

    def __iter__(self) -> Any:
        for i in range(len(self)):
            yield self[i]

    def __len__(self) -> int:
        return self.tape.guard(len, self)

    # --- operators (numpy's semantics of the real object, recorded) ---------------------------
    def _binary(fn: Callable[..., Any]) -> Any:  # type: ignore[misc]
        def op(self, other):
            return self.tape.call(fn, (self, other), {})

        def rop(self, other):
            return self.tape.call(fn, (other, self), {})
        return op, rop

    __add__, __radd__ = _binary(operator.add)
    __sub__, __rsub__ = _binary(operator.sub)
    __mul__, __rmul__ = _binary(operator.mul)
    __truediv__, __rtruediv__ = _binary(operator.truediv)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv)
    __mod__, __rmod__ = _binary(operator.mod)
    __pow__, __rpow__ = _binary(operator.pow)
    __matmul__, __rmatmul__ = _binary(operator.matmul)
    # (comparisons reflect by themselves: 3 < x is x > 3)
    __lt__ = _binary(operator.lt)[0]
    __le__ = _binary(operator.le)[0]
    __gt__ = _binary(operator.gt)[0]
    __ge__ = _binary(operator.ge)[0]
    __eq__ = _binary(operator.eq)[0]
    __ne__ = _binary(operator.ne)[0]
    __and__, __rand__ = _binary(operator.and_)
    __or__, __ror__ = _binary(operator.or_)
    __xor__, __rxor__ = _binary(operator.xor)
    del _binary

    def __neg__(self) -> Any:
        return self.tape.call(operator.neg, (self,), {})

    def __pos__(self) -> Any:
        return self.tape.call(operator.pos, (self,), {})

    def __abs__(self) -> Any:
        return self.tape.call(operator.abs, (self,), {})

    def __invert__(self) -> Any:
        return self.tape.call(operator.invert, (self,), {})

    def _in_place(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:  # type: ignore[misc]
        def op(self, other):
            # numpy writes into the array: every alias sees it (a tape cannot follow that)
            return self._escape(f"an in-place operator ({name})", fn, (self, other), {})
        return op

    __iadd__ = _in_place("+=", operator.iadd)
    __isub__ = _in_place("-=", operator.isub)
    __imul__ = _in_place("*=", operator.imul)
    __itruediv__ = _in_place("/=", operator.itruediv)
    __ipow__ = _in_place("**=", operator.ipow)
    __imatmul__ = _in_place("@=", operator.imatmul)
    del _in_place

    # --- conversions: guards -------------------------------------------------------------
    def __bool__(self) -> bool:
        return self.tape.guard(bool, self)

    def __int__(self) -> int:
        return self.tape.guard(int, self)

    def __float__(self) -> float:
        return self.tape.guard(float, self)

    def __index__(self) -> int:
        return self.tape.guard(operator.index, self)

    def __complex__(self) -> complex:
        self.tape.check()
        self.tape.breaks("complex()")
        return complex(self.tape.reals[self.slot])

    def item(self, *args: Any) -> Any:
        return self.tape.guard(method("item"), self, *args)

    def tolist(self) -> Any:
        return self.tape.guard(method("tolist"), self)

    @property
    def shape(self) -> Tuple[int, ...]:
        # (a shape can depend on values: x[x > 0])
        return self.tape.guard(np.shape, self)

    @property
    def size(self) -> int:
        return self.tape.guard(np.size, self)

    def __getattr__(self, name: str) -> Any:
        self.tape.check()
        real = self.tape.reals[self.slot]
        if name in STATIC:
            return getattr(real, name)
        if name in ARRAY_ATTRIBUTES:
            return self.tape.call(attribute(name), (self,), {})
        if name in METHODS and hasattr(real, name):
            caller = method(name)
            return lambda *args, **kwargs: self.tape.call(caller, (self,) + args, kwargs)
        # .value, .partials, .grad, ...: the real arrays, which a replay cannot follow
        self.tape.breaks(f"the attribute .{name}")
        return getattr(real, name)

    def __repr__(self) -> str:
        return f"Tracer({self.tape.reals[self.slot]!r})"

    def __format__(self, spec: str) -> str:
        return format(self.tape.reals[self.slot], spec)

    def _escape(self, why: str, fn: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """Do ``fn`` on the real objects, for this call only: the tape is broken."""
        self.tape.check()
        self.tape.breaks(why)
        out = fn(*self.tape.real(self.tape.template(tuple(args))),
                 **self.tape.real(self.tape.template(kwargs)))
        if out is self.tape.reals[self.slot]:
            return self
        return resolve_tracers(self.tape._outputs(out), self.tape)


def _ufuncmethod(ufunc: Any, method: str) -> Callable[..., Any]:
    key = (ufunc, method)
    fn = _UFUNC_METHODS.get(key)
    if fn is None:
        bound = getattr(ufunc, method)

        def fn(*args, **kwargs):
            return bound(*args, **kwargs)
        fn.__name__ = fn.__qualname__ = f"{ufunc.__name__}.{method}"
        _UFUNC_METHODS[key] = fn
    return fn


_UFUNC_METHODS: dict = {}
