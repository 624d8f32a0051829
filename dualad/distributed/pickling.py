"""What travels to worker processes: the problem of one call, pickled once with cloudpickle
(as Dask does), so that lambdas and closures go too; a failure names the part that cannot be
pickled, and a dual of a helper call now running (its derivative would not reach another
process) is refused.

>>> import numpy as np
>>> packed = Packed(dumps({"f": np.sin, "x": np.ones(2)}))
>>> packed.load()["x"].tolist()
[1.0, 1.0]
"""
import collections
import io
import pickle
import secrets
import threading
from typing import Any, Dict, Iterator, Optional, Tuple

from ..core.dual import DualNumber
from ..core.tags import finished
from ..scalar import ScalarDual

_PICKLER: Any = None  # cloudpickle's Pickler with the check of running duals, made once


def _pickler() -> Any:
    global _PICKLER
    if _PICKLER is None:
        try:
            import cloudpickle
        except ImportError as err:
            raise ImportError("dualad: executor= with worker processes needs cloudpickle; "
                              "pip install 'dualad[distributed]'") from err

        class Pickler(cloudpickle.Pickler):
            def reducer_override(self, obj: Any) -> Any:
                tag = obj._tag if isinstance(obj, DualNumber) else \
                    obj.tag if type(obj) is ScalarDual else 0
                if tag and not finished(tag):
                    raise TypeError(
                        "dualad: the function or point sent to the executor holds a dual of a "
                        "helper call that is running (executor= inside the function of "
                        "another helper); its derivative would not reach the workers, got "
                        f"{type(obj).__name__}; call the inner helper without executor=")
                return super().reducer_override(obj)
        _PICKLER = Pickler
    return _PICKLER


def dumps(problem: Dict[str, Any]) -> bytes:
    """``problem`` (a dict of named parts: ``f``, ``x``, ...) as bytes; a TypeError naming
    the part that cannot be pickled, and why, where it cannot."""
    buf = io.BytesIO()
    try:
        _pickler()(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(problem)
    except Exception as err:
        if str(err).startswith("dualad:"):
            raise
        raise TypeError(f"dualad: cannot send {_culprit(problem)} to the executor's workers "
                        f"(cloudpickle: {type(err).__name__}: {err}); use a "
                        "ThreadPoolExecutor (nothing is pickled), or keep what cannot be "
                        "pickled (locks, open files, connections, generators) out of f") \
            from err
    return buf.getvalue()


def _picklable(obj: Any) -> bool:
    try:
        _pickler()(io.BytesIO(), protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    except Exception:
        return False
    return True


def _culprit(problem: Dict[str, Any]) -> str:
    """The first part of ``problem`` that cannot be pickled, and inside a function the
    closure variable, global, default or attribute that makes it so."""
    for name, part in problem.items():
        if _picklable(part):
            continue
        for what, obj in _insides(part):
            if not _picklable(obj):
                return f"{name} ({what}, a {type(obj).__name__} object, cannot be pickled)"
        return f"{name} ({type(part).__name__})"
    return "the problem"


def _insides(f: Any) -> Iterator[Tuple[str, Any]]:
    """(description, object) of what pickling the function ``f`` by value takes along."""
    self = getattr(f, "__self__", None)  # (a bound method: its object)
    if self is not None and not isinstance(self, type):
        yield "its object", self
    code, closure = getattr(f, "__code__", None), getattr(f, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, closure):
            try:
                yield f"its closure variable {name!r}", cell.cell_contents
            except ValueError:  # (an empty cell)
                continue
        glob = getattr(f, "__globals__", {})
        for name in code.co_names:
            if name in glob:
                yield f"the global {name!r} it uses", glob[name]
    for value in getattr(f, "__defaults__", None) or ():
        yield "a default argument", value
    for name, value in getattr(f, "__dict__", {}).items():
        yield f"its attribute {name!r}", value


# --- the worker side ---------------------------------------------------------------------
_LOADED: "collections.OrderedDict[bytes, Any]" = collections.OrderedDict()
_LOADED_MAX = 2  # problems of the last calls kept per worker process
_LOCK = threading.Lock()


class Packed:
    """The pickled problem of one call and a random token: each worker process unpickles it
    once (its first task) and keeps it for the call's other tasks (the last two calls' are
    kept)."""

    __slots__ = ("token", "data")

    def __init__(self, data: bytes, token: Optional[bytes] = None) -> None:
        self.data, self.token = data, token or secrets.token_bytes(16)

    def __reduce__(self) -> Tuple[Any, ...]:
        return Packed, (self.data, self.token)

    def load(self) -> Any:
        with _LOCK:
            problem = _LOADED.get(self.token)
            if problem is not None:
                _LOADED.move_to_end(self.token)
                return problem
        problem = pickle.loads(self.data)
        with _LOCK:
            _LOADED[self.token] = problem
            while len(_LOADED) > _LOADED_MAX:
                _LOADED.popitem(last=False)
        return problem
