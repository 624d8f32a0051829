"""A recorded program as a flat description a compiler can take, or None.

The description names what each step does in terms a compiler knows, independently of how
``f`` spelled it (``x * y``, ``np.multiply(x, y)`` and ``x.__mul__(y)`` are one ufunc step):

- ``("ufunc", out, ufunc, operands)``: a rule of the table (or a comparison, on values);
- ``("where", out, (condition, a, b))``: ``np.where`` elementwise;
- ``("index", out, src, items)``: basic indexing (ints, slices, None, one int array);
- ``("sum", out, src)`` and ``("mean", out, src)``: over every axis;
- ``("concat", out, operands)``: ``np.concatenate`` of 1-d operands;
- ``("matmul", out, a, b)``: a product with one constant matrix;
- ``("reshape", out, src, shape)``;
- ``("roll", out, src, shift, axis)``: ``np.roll`` by an int along one axis.

An operand is ``("s", slot)`` or ``("c", constant)``. ``meta[slot]`` is ``(kind, shape)``
with kind ``"dual"``, ``"hyper"`` or ``"array"``; every value is float64 (anything else is
not lowered). A HyperDual ufunc step carries its second derivatives as ``higher.trace``
recorded them.
"""
import operator
from typing import Any, List, Optional, Tuple

import numpy as np

from ..core import DualNumber
from ..core.dual import is_square
from ..higher import HyperDual
from ..higher.trace import recorded
from ..rules import RULES
from ..rules.ufuncs import PRIMAL
from .tape import Ref, Step, attribute, method

_OPERATORS = {operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
              operator.truediv: np.true_divide, operator.neg: np.negative,
              operator.pos: np.positive, operator.abs: np.absolute, operator.lt: np.less,
              operator.le: np.less_equal, operator.gt: np.greater,
              operator.ge: np.greater_equal, operator.eq: np.equal,
              operator.ne: np.not_equal}


_SHAPE = (np.shape, np.size, len)


class NotLowered(Exception):
    """A step the description has no word for (the program stays interpreted)."""


def slot_meta(real: Any) -> Optional[Tuple[str, Tuple[int, ...]]]:
    """``(kind, shape)`` of a recorded object, or None where a compiler cannot hold it."""
    if type(real) is DualNumber and type(real.value) is np.ndarray:
        return ("dual", real.value.shape) if real.value.dtype == np.float64 else None
    if type(real) is HyperDual and type(real.value) is np.ndarray:
        return ("hyper", real.value.shape) if real.value.dtype == np.float64 else None
    if type(real) is np.ndarray or isinstance(real, np.generic):
        return ("array", np.shape(real)) if real.dtype in (np.float64, np.bool_) else None
    return None


def lower(steps: List[Step], meta: List[Any], output: Any) -> Optional[List[Any]]:
    """The description of ``steps`` (see the module), or None."""
    if any(m is None for m in meta):
        return None
    try:
        # a shape read (len(x), x.shape) is a guard a lowered program always passes: every
        # step lowered here has a shape that values cannot change
        return [_lower(step, meta) for step in steps if not (step.guard and step.fn in _SHAPE)
                ] + [("output", _output(output))]
    except NotLowered:
        return None


def _operand(a: Any) -> Tuple[str, Any]:
    if type(a) is Ref:
        return ("s", a.slot)
    if type(a) in (float, int, bool):
        return ("c", float(a))
    raise NotLowered(type(a).__name__)


def _output(t: Any) -> Any:
    if type(t) is Ref:
        return ("s", t.slot)
    if type(t) in (tuple, list):
        return type(t)(_output(e) for e in t)
    raise NotLowered("output")


def _lower(step: Step, meta: List[Any]) -> Any:
    fn, args, kwargs = step.fn, step.args, step.kwargs
    if step.guard or type(step.outs) is not Ref or kwargs and set(kwargs) - {"axis", "shift"}:
        raise NotLowered("guard or several results")
    out = step.outs.slot
    if fn is operator.pow:
        base, exp = args
        if is_square(exp):  # as DualNumber.__pow__
            fn, args = np.square, (base,)
        else:
            fn = np.power
    fn = _OPERATORS.get(fn, fn)
    if isinstance(fn, np.ufunc) and not kwargs and (fn in RULES or fn in PRIMAL):
        operands = tuple(_operand(a) for a in args)
        rule = RULES.get(fn)
        if rule is None or rule.kind in ("linear", "zero"):
            return ("ufunc", out, fn, operands)
        if rule.kind not in ("unary", "binary"):
            raise NotLowered(fn.__name__)
        live = tuple(i for i, o in enumerate(operands) if o[0] == "s" and meta[o[1]][0] == "hyper")
        if not live:
            return ("ufunc", out, fn, operands)
        # a HyperDual step: its second derivatives, as higher.trace recorded them
        second = recorded(fn, rule, live, len(operands))
        if second is None:
            raise NotLowered(f"{fn.__name__}: no traced second derivatives")
        return ("ufunc", out, fn, operands, second)
    if fn is np.where and len(args) == 3 and not kwargs:
        return ("where", out, tuple(_operand(a) for a in args))
    if fn is np.roll and type(args[0]) is Ref:
        call = dict(zip(("a", "shift", "axis"), args), **kwargs)
        shape = meta[args[0].slot][1]
        shift, axis = call.get("shift"), call.get("axis")
        if type(shift) is not int or type(axis) is not int or not -len(shape) <= axis < len(
                shape) or set(call) - {"a", "shift", "axis"}:
            raise NotLowered("np.roll other than by an int along one axis")
        return ("roll", out, args[0].slot, shift, axis % len(shape))
    if fn is operator.getitem and type(args[0]) is Ref:
        return ("index", out, args[0].slot, _index(args[1], meta[args[0].slot][1]))
    if fn in (np.sum, method("sum"), np.mean, method("mean")) and len(args) == 1 \
            and kwargs.get("axis") is None and type(args[0]) is Ref:
        return ("sum" if fn in (np.sum, method("sum")) else "mean", out, args[0].slot)
    if fn is np.concatenate and len(args) == 1 and kwargs.get("axis", 0) in (0, -1) \
            and type(args[0]) in (list, tuple):
        ops = tuple(_array_operand(a) for a in args[0])
        if any(o[0] == "s" and len(meta[o[1]][1]) != 1 or o[0] == "c" and o[1].ndim != 1
               for o in ops):
            raise NotLowered("concatenate of other than 1-d arrays")
        return ("concat", out, ops)
    if fn in (np.dot, np.matmul, operator.matmul) and len(args) == 2 and not kwargs:
        a, b = (_array_operand(x) for x in args)
        duals = [o for o in (a, b) if o[0] == "s"]
        if len(duals) != 1 or any(o[0] == "c" and o[1].ndim != 2 for o in (a, b)) \
                or len(meta[duals[0][1]][1]) not in (1, 2):
            raise NotLowered("a product of other than a dual and a constant matrix")
        return ("matmul", out, a, b)
    if fn in (np.reshape, method("reshape"), np.ravel, method("ravel")) \
            and type(args[0]) is Ref and not kwargs.get("order", "C") != "C":
        return ("reshape", out, args[0].slot, meta[out][1])
    if fn is attribute("T") and len(meta[args[0].slot][1]) <= 1:
        return ("reshape", out, args[0].slot, meta[out][1])
    raise NotLowered(getattr(fn, "__name__", "?"))


def _array_operand(a: Any) -> Tuple[str, Any]:
    if type(a) is Ref:
        return ("s", a.slot)
    if type(a) is np.ndarray and a.dtype == np.float64:
        return ("c", a)
    raise NotLowered("operand")


def _index(index: Any, shape: Tuple[int, ...]) -> Tuple[Any, ...]:
    items = index if type(index) is tuple else (index,)
    out: List[Any] = []
    arrays = 0
    for i in items:
        if type(i) is int:
            out.append(("int", i))
        elif type(i) is slice and all(type(b) in (int, type(None))
                                      for b in (i.start, i.stop, i.step)):
            out.append(("slice", i.start, i.stop, i.step))
        elif i is None:
            out.append(("none",))
        elif i is Ellipsis:
            out.append(("ellipsis",))
        elif type(i) is np.ndarray and i.dtype.kind == "i" and i.ndim == 1 and not arrays:
            arrays += 1
            # a copy, as the recording checked it: compiled code reads it without bounds
            # checks, so a later write into the caller's array must not reach it
            out.append(("array", i.copy()))
        else:
            raise NotLowered("index")
    if sum(1 for o in out if o[0] not in ("none", "ellipsis")) > len(shape):
        raise NotLowered("too many indices")
    return tuple(out)
