"""``__setitem__``: writing duals or constants into a dual, promoting storage as needed.

Preallocating code (``out = np.zeros_like(x); out[i] = ...``) must keep working, including
when the item carries a younger tag than the target (then the target becomes a dual of that
tag whose value is its old content), a dual value where the target's is plain (nested
duals), or the target was built with fewer directions but only zero partials. A view (basic
indexing ``v = out[:2]``, reshape, ravel, swapaxes, ...) promotes the dual it views instead,
and then views it again, so that writes into ``v`` reach ``out`` as they would in numpy.
"""
from typing import Any

import numpy as np

from . import hooks
from ..errors import not_real
from .dual import DualNumber, _partials_index, make
from .ufunc import real_operand
from .partials import primal, split, tag_of, zeros_partials


def _writable(arr: Any) -> Any:
    if isinstance(arr, np.ndarray) and not arr.flags.writeable:
        return arr.copy()  # (a broadcast view: the partials of x * ones(n), ...)
    return arr


def _ready(arr: Any, val: Any) -> Any:
    """``arr`` able to take ``val`` in place: writable, and a dual of val's tag when val is
    a dual and arr is plain (its partials zero)."""
    arr = _writable(arr)
    if isinstance(val, DualNumber) and not isinstance(arr, DualNumber):
        return make(arr, zeros_partials(arr, val.partials.shape[-1]), val._tag)
    return arr


def _prepare(target: DualNumber, item: Any) -> None:
    """Promote ``target``'s storage (in place) so that writing ``item`` into it loses
    nothing; a view promotes its base and views it again."""
    link = getattr(target, "_base", None)
    if link is not None:  # (base, index), or (base, function giving the view again)
        base, index = link
        if index is not None:
            _prepare(base, item)
            view = index(base) if callable(index) else base[index]
            target.value, target._p, target._tag = view.value, view._p, view._tag
            link = target._base = getattr(view, "_base", None)
        if link is None or link[1] is None:  # (storage numpy cannot view per element)
            raise TypeError("dualad: this dual is a numpy view whose derivative cannot follow "
                            "a write into it; write into the array it views")
        return
    tag = tag_of(item)
    if tag > target._tag:  # the item is younger: the target becomes its constant part
        old = make(target.value, target.partials, target._tag)
        target.value = old.copy()
        target.partials = zeros_partials(old, item.partials.shape[-1], like=old)
        target._tag = tag
    iv, ip = split(item, target._tag)
    target.value = _ready(target.value, iv)
    if ip is not None:
        n, m = target.partials.shape[-1], ip.shape[-1]
        if n != m:
            if n == 1 and not np.any(primal(target.partials)):
                target.partials = zeros_partials(target.value, m, like=target.partials)
            else:
                raise ValueError(f"dualad: cannot assign a dual with {m} directions into one "
                                 f"with {n}")
    target.partials = _ready(target.partials, ip)


def setitem(target: DualNumber, index: Any, item: Any) -> None:
    """``target[index] = item`` for an index of plain values (``DualNumber.__setitem__``)."""
    convert = hooks.as_array_dual.get(type(item))  # a scalar dual: a 0-d DualNumber
    real = real_operand(item if convert is None else convert(item), "item")
    if real is None:
        raise not_real("item", item)
    item = real
    _prepare(target, item)
    iv, ip = split(item, target._tag)
    before_write = hooks.before_write
    if before_write is not None:  # pending partials that read it are computed first
        before_write(target.value)
    target.value[index] = iv
    if before_write is not None:
        before_write(target.partials)
    target.partials[_partials_index(index)] = 0.0 if ip is None else ip


hooks.setitem = setitem
