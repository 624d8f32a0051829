"""``__setitem__``: writing duals or constants into a dual, promoting storage as needed.

Preallocating code (``out = np.zeros_like(x); out[i] = ...``) must keep working, including
when the item carries a younger tag than the target (then the target becomes a dual of that
tag whose value is its old content) or the target was built with fewer directions but only
zero partials.
"""
import numpy as np

from . import _lazy
from ._partials import primal, split, tag_of, zeros_partials
from .dual import DualNumber, _partials_index, make


def _writable(arr):
    if isinstance(arr, np.ndarray) and not arr.flags.writeable:
        return arr.copy()
    return arr


def _assign(arr, index, val):
    """``arr[index] = val`` that returns the (possibly promoted) array."""
    if isinstance(val, DualNumber) and not isinstance(arr, DualNumber):
        arr = make(_writable(arr), zeros_partials(arr, val.partials.shape[-1]), val._tag)
    arr = _writable(arr)
    arr[index] = val
    return arr


def setitem(target, index, item):
    tag = tag_of(item)
    if tag > target._tag:  # the item is younger: the target becomes its constant part
        old = make(target.value, target.partials, target._tag)
        target.value = old.copy()
        target.partials = zeros_partials(old, item.partials.shape[-1], like=old)
        target._tag = tag
    iv, ip = split(item, target._tag)
    _lazy.before_write(target.value)  # deferred partials that read it are computed first
    target.value = _assign(target.value, index, iv)
    pindex = _partials_index(index)
    if ip is None:
        _lazy.before_write(target.partials)
        target.partials = _assign(target.partials, pindex, 0.0)
        return
    n, m = target.partials.shape[-1], ip.shape[-1]
    if n != m:
        if n == 1 and not np.any(primal(target.partials)):
            target.partials = zeros_partials(target.value, m, like=target.partials)
        else:
            raise ValueError(f"dualad: cannot assign a dual with {m} directions into one "
                             f"with {n}")
    _lazy.before_write(target.partials)
    target.partials = _assign(target.partials, pindex, ip)
