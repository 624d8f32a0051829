"""Perturbation tags: every helper call draws a fresh one.

Duals built by hand carry tag 0 and share one epsilon. A dual of tag ``t`` may hold duals of
smaller tags in its value and partials, never larger ones: when duals of different tags meet,
the younger (larger) tag becomes the outer layer and the older ones are constants for it. This
is how ``derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0)`` stays correct.
"""
import contextlib
import itertools
from typing import Any, Iterator

_counter = itertools.count(1)


def new_tag() -> int:
    """A tag no existing dual carries."""
    return next(_counter)


# Tags of the helper calls now running. A dual of any other (non-zero) tag belongs to a call
# that has returned: kept in a closure or an object across calls, or leaked out of a nested
# call, it is a constant from then on. (Tags drawn for one operation inside HyperDual and
# Taylor, by ``fresh``, are live during that operation and never outlive it.)
_running: set[int] = set()


@contextlib.contextmanager
def running(tag: int) -> Iterator[int]:
    """Marks ``tag`` live while the helper call that owns it runs."""
    _running.add(tag)
    try:
        yield tag
    finally:
        _running.discard(tag)


@contextlib.contextmanager
def fresh(count: int = 1) -> Iterator[Any]:
    """``count`` new tags, live while the block runs (HyperDual and Taylor use them for one
    operation; a helper called inside that operation must see them as live)."""
    tags = [new_tag() for _ in range(count)]
    _running.update(tags)
    try:
        yield tags[0] if count == 1 else tags
    finally:
        _running.difference_update(tags)


def finished(tag: int) -> bool:
    return tag != 0 and tag not in _running
