"""Seeding and extraction: what every helper does around one call of ``f``.

A helper seeds its input as a dual of a fresh tag (``seed``), calls ``f``, drops the layers
of helper calls that have finished (``drop_finished``) and reads the value and partials of
its own tag back (``extract``).
"""
import numbers
from typing import Any, Callable, Sequence, Tuple

import numpy as np

from .dual import DualNumber, make
from .partials import primal
from .tags import finished, new_tag, running


def seed(x: Any, directions: Any, tag: int) -> DualNumber:
    """``x`` as a dual of ``tag`` with partials ``directions``, both as read-only views: an
    ``f`` writing into its argument (x *= 2) copies first, and leaves the caller's x and the
    next chunk's input as they were."""
    return make(unshared(x), unshared(directions), tag)


def push(f: Callable[..., Any], xs: Sequence[Any], directions: Sequence[Any]) -> Tuple[Any, Any]:
    """The forward-mode primitive: ``f(*xs)`` with each ``xs[i]`` seeded along
    ``directions[i]`` (shape ``xs[i].shape + (n,)``, one n), as ``(value, partials)``.

    A function object with a ``push(xs, directions)`` method (``ad.jit``'s) is asked first:
    it may answer from arrays alone, without duals (None: the route below)."""
    fast = getattr(f, "push", None)
    if fast is not None and type(f).__module__.startswith("dualad."):
        out = fast(xs, directions)
        if out is not None:
            return out
    with running(new_tag()) as tag:
        y = drop_finished(as_output(f(*[seed(x, v, tag) for x, v in zip(xs, directions)])),
                          tag)
    return extract(y, tag, directions[0].shape[-1])


def as_output(y: Any) -> Any:
    """f's result as a dual or a float array; anything non-numeric is an error."""
    if isinstance(y, DualNumber):
        return y
    if isinstance(y, (list, tuple)) and any(isinstance(e, (DualNumber, list, tuple))
                                            for e in y):
        return np.stack([as_output(e) for e in y])
    if isinstance(y, (numbers.Real, np.ndarray, list, tuple)) and not isinstance(y, bool):
        arr = np.asarray(y)
        if arr.dtype.kind in "biuf":
            return arr.astype(np.result_type(arr.dtype, np.float32))
    raise TypeError(f"dualad: the function must return a real number, an array or a "
                    f"DualNumber; it returned {type(y).__name__}")


def extract(y: Any, tag: int, n: int) -> Tuple[Any, Any]:
    """``(value, partials)`` of ``y`` (after ``_drop_finished``) for the perturbation ``tag``."""
    if isinstance(y, DualNumber) and y._tag == tag:
        return y.value, y.partials
    # constant for this tag (plain, or a dual of an enclosing call)
    return y, np.zeros(np.shape(y) + (n,), dtype=np.result_type(primal(y), np.float32))


def unshared(a: Any) -> Any:
    if isinstance(a, DualNumber):
        return a.copy()  # (a dual of an enclosing helper: its storage is that helper's)
    a = a.view()
    a.flags.writeable = False
    return a


def drop_finished(y: Any, tag: int) -> Any:
    """``y`` without the layers of finished helper calls: their duals are constants now."""
    if not isinstance(y, DualNumber):
        return y
    if y._tag > tag or finished(y._tag):
        return drop_finished(y.value, tag)
    value, partials = drop_finished(y.value, tag), drop_finished(y.partials, tag)
    if value is y.value and partials is y.partials:
        return y
    return make(value, partials, y._tag)


def plain(a: Any) -> Any:
    # 0-d results come back as Python floats, arrays as ndarrays, duals (nested calls) as is
    return a.item() if isinstance(a, np.ndarray) and a.ndim == 0 else a
