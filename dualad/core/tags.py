"""Perturbation tags: every helper call draws a fresh one.

Duals built by hand carry tag 0 and share one epsilon. A dual of tag ``t`` may hold duals of
smaller tags in its value and partials, never larger ones: when duals of different tags meet,
the younger (larger) tag becomes the outer layer and the older ones are constants for it. This
is how ``derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0)`` stays correct.

Tags are numbers of one process. A pickled dual records its tag with this process's
``token()``; loaded in another process (another run, a spawned worker, a forked child: the
token is renewed in the child), its tag becomes one that process never hands out
(``local``), so a helper running there takes it for a constant, never for its own
perturbation. Loaded in the process that pickled it, it keeps its tag.
"""
import contextlib
import itertools
import os
import secrets
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


# --- tags across processes -------------------------------------------------------------------
_token = secrets.token_bytes(8)


def token() -> bytes:
    """This process's token, random (8 bytes): recorded with the tag in a pickled dual."""
    return _token


# Tags of duals pickled in another process lie above every tag the counter here hands out (it
# would take 2**62 helper calls to reach them) and are never running here: each dual is a
# constant, as one leaked out of a finished call. (tag, token) -> _FOREIGN + tag·2**64 + token
# is one-to-one and increasing in the tag: every dual of one tag from one process gets the same
# tag here (however many pickles it came in), and nested duals keep their order (the outer tag
# is the larger). No state: nothing to keep, lock or renew.
_FOREIGN = 1 << 62


def local(tag: int, token: bytes) -> int:
    """The tag here of a dual pickled with ``tag`` by the process of ``token``: ``tag`` itself
    when that is this process (and for 0, the hand-built duals' tag), else a tag no helper call
    here ever draws.

    >>> other = b"\\x01" * 8  # (another process's token)
    >>> local(5, token()), local(0, other), local(5, other) > local(4, other) > 2 ** 62
    (5, 0, True)
    """
    if token == _token or tag == 0:
        return tag
    return _FOREIGN + (tag << 64 | int.from_bytes(token, "big"))


def _after_fork_in_child() -> None:
    # The child's tags are its own from here: a dual of the parent reaching it (or one of the
    # child reaching the parent) comes pickled, under the other token, and is mapped by
    # ``local``. The counter stays: the parent's duals in the child's memory all have smaller
    # tags than the child's next, and a parent's and a child's later tags of one number never
    # meet in one process. None of the parent's calls runs in the child: their duals there are
    # constants.
    global _token
    _token = secrets.token_bytes(8)
    _running.clear()  # (cleared in place: dualad.scalar and core.ufunc hold this set)


if hasattr(os, "register_at_fork"):  # (POSIX)
    os.register_at_fork(after_in_child=_after_fork_in_child)
