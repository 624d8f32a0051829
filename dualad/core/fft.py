"""numpy.fft on duals: every transform is linear, so the partials are transformed too.

The value is numpy's own transform of the value. The directions of the partials go first,
where no axis argument reaches them (axis arguments are made negative), and one call of the
same function transforms all of them. A real dual's transform is complex: a ``ComplexDual``
(``core/complexdual.py``), whose real and imaginary parts are real duals; transforms of
complex duals go the same way, and those with real results (``irfft``, ``hfft``) return a
real dual.

>>> import numpy as np
>>> from dualad.core.dual import DualNumber
>>> x = DualNumber([1.0, 2.0, 3.0, 4.0], np.eye(4))
>>> y = np.fft.irfft(np.fft.rfft(x) * np.array([1.0, 0.5, 0.0]), n=4)
>>> y.value.tolist()
[2.0, 2.0, 3.0, 3.0]
"""
from typing import Any, Callable

import numpy as np

from .complexdual import complex_function, linear, negative_axes
from .functions import UNSUPPORTED, implements

_ONE_AXIS = ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft")
_SOME_AXES = ("fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn")


def _refuse_out(out: Any, name: str) -> None:
    if out is not None:
        raise TypeError(f"dualad: numpy.fft.{name}(..., out=) is not supported for duals; "
                        "assign the result instead")


def _one_axis(func: Any) -> Callable[..., Any]:
    def transform(a: Any, n: Any = None, axis: int = -1, norm: Any = None,
                  out: Any = None) -> Any:
        _refuse_out(out, func.__name__)
        return linear(func, a, {"n": n, "axis": negative_axes(axis, np.ndim(a)),
                                "norm": norm})
    return transform


def _some_axes(func: Any, default: Any) -> Callable[..., Any]:
    def transform(a: Any, s: Any = None, axes: Any = default, norm: Any = None,
                  out: Any = None) -> Any:
        _refuse_out(out, func.__name__)
        if axes is None and s is not None:  # numpy's default: the last len(s) axes
            axes = tuple(range(-len(s), 0))
        return linear(func, a, {"s": s, "axes": negative_axes(axes, np.ndim(a)),
                                "norm": norm})
    return transform


def _register(name: str, impl: Callable[..., Any]) -> None:
    func = getattr(np.fft, name)
    implements("linear", f"fft.{name}")(impl)  # real duals
    complex_function(func)(impl)  # complex duals
    UNSUPPORTED.pop(func, None)  # (numpy.fft was refused as a whole before)


for _name in _ONE_AXIS:
    _register(_name, _one_axis(getattr(np.fft, _name)))
for _name in _SOME_AXES:
    _register(_name, _some_axes(getattr(np.fft, _name), (-2, -1) if "2" in _name else None))
