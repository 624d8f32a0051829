"""``ad.jit(f)``: record ``f`` once, replay it without Python dispatch (small problems).

The first call at a new key (the arguments' kinds, shapes and dtypes, and the values of
Python scalars) runs ``f`` on tracers (``tape.py``): every numpy call runs for real and is
recorded. Later calls replay the record (``program.py``); on dual arguments a replay is
compiled into one numba function after a few calls where dualad's numba layer can (see
docs/user/jit.md for what compiles). A value-dependent branch (``if x[0] > 0``) is a guard:
a replay whose guard answers otherwise takes the ordinary route (and, up to ``max_traces``
records per key, records that branch too). Whatever a record cannot follow makes ``f`` keep
the ordinary route at that key: the result is always the ordinary route's.

>>> import numpy as np, dualad as ad
>>> f = ad.jit(lambda x: np.sum(np.sin(x) * x))
>>> x = np.array([0.5, 1.0])
>>> bool(np.allclose(ad.gradient(f, x), np.sin(x) + x * np.cos(x)))
True
"""
import collections
import functools
import hashlib
import pickle
import secrets
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ..core import DualNumber
from ..higher import HyperDual
from .program import Program, Stale, describe
from .tape import COMPARABLE, Tape

__all__ = ["jit", "Jitted"]

_ORDINARY = "ordinary"
#: zero packed Hessian parts of seeds, by shape (read by compiled records, never written)
_ZEROS: Dict[Any, Any] = {}


def jit(f: Optional[Callable[..., Any]] = None, *, max_traces: int = 8) -> Any:
    """``f`` recorded at its first call and replayed after (use as ``@ad.jit`` too).

    The replay computes what ``f`` computes (same numbers as the ordinary route) while
    skipping the per-operation dispatch of dual arithmetic, which dominates small problems.
    ``f`` must be a function of its arguments: arrays and values read from elsewhere are
    captured at the first call at each key (as ``jax.jit`` does).

    >>> import numpy as np, dualad as ad
    >>> @ad.jit
    ... def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> ad.gradient(rosen, np.ones(3)).tolist()
    [0.0, 0.0, 0.0]
    """
    if f is None:
        return lambda g: Jitted(g, max_traces)
    if not callable(f):
        raise TypeError(f"dualad: jit takes a function, got {type(f).__name__}")
    return Jitted(f, max_traces)


class Jitted:
    """A function recorded per key and replayed (see ``jit``). ``explain()`` shows why a key
    runs the ordinary route, ``programs`` the records."""

    def __init__(self, f: Callable[..., Any], max_traces: int = 8) -> None:
        if isinstance(max_traces, bool) or not isinstance(max_traces, int) or max_traces < 1:
            raise ValueError(f"dualad: max_traces must be a positive int, got {max_traces!r}")
        self.f = f
        self.max_traces = max_traces
        self._records: Dict[Any, Any] = {}  # key -> list of Program, or (_ORDINARY, reason)
        self._lock = threading.Lock()
        #: the globals and closure variables f's code reads, with the objects they held when
        #: recorded (and the arrays' contents): a record reads them as constants, so
        #: rebinding one (X = next_batch()) or updating an array in place drops every record
        self._outside: Tuple[Any, ...] = ()
        #: names this object in other processes (see __reduce__)
        self._token = secrets.token_hex(8)
        functools.update_wrapper(self, f)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = _key(args, kwargs)
        if key is None:
            return self.f(*args, **kwargs)
        if self._outside and not all(_unchanged(o) for o in self._outside):
            self._set_all({})  # a global or closure variable of f was rebound: record again
        entry = self._records.get(key)
        if type(entry) is tuple:  # (_ORDINARY, why)
            return self.f(*args, **kwargs)
        inputs = [a for a, kind in zip(args, key[0]) if kind[0] != "static"]
        for program in entry or ():
            try:
                return program.run(inputs)
            except Stale:
                continue
        if entry is not None and len(entry) >= self.max_traces:
            self._set(key, (_ORDINARY, f"more than max_traces={self.max_traces} branches"))
            return self.f(*args, **kwargs)
        return self._record(key, args, kwargs)

    def push(self, xs: Any, directions: Any) -> Any:
        """The forward primitive's fast path (``core.seed.push``): ``(value, partials)`` of
        ``f`` at one plain float64 array seeded along ``directions``, from a compiled record,
        or None (then the helper seeds duals and calls ``f`` as for any function)."""
        if len(xs) != 1:
            return None
        x, d = xs[0], directions[0]
        if type(x) is not np.ndarray or x.dtype != np.float64 or d.dtype != np.float64:
            return None
        entry = self._records.get(((("dual", x.shape, x.dtype.str, d.shape[-1]),), ()))
        if type(entry) is not list or len(entry) != 1 or (
                self._outside and not all(_unchanged(o) for o in self._outside)):
            return None
        return entry[0].push(x, d)

    def sum_elements(self, x: Any, seed: Any) -> Any:
        """For sparse Hessians (``sparse.hessian``): where ``f`` ends in a sum or mean of
        one array E and its record on HyperDuals is compiled, ``(value, grad, hess, "sum"
        or "mean")``: the parts of the HyperDual E at ``x`` seeded along ``seed``, from the
        record without its last step; else None (calling f once more: the record and its
        compilation come from such calls)."""
        hyper = HyperDual._new(x, seed, None)  # (x and seed: the plan's own arrays)
        key = _key((hyper,), {})
        entry = self._records.get(key) if key is not None else None
        if type(entry) is not list or len(entry) != 1 or not entry[0].compiled or (
                self._outside and not all(_unchanged(o) for o in self._outside)):
            self(hyper)
            return None
        program = entry[0]
        if program.prefix is None:
            program.prefix = program.before_sum() or False
        if not program.prefix:
            return None
        prefix, kind = program.prefix
        try:
            if prefix.compiled:  # (the arrays alone: no HyperDual objects)
                n = seed.shape[-1]
                zero = _ZEROS.get((x.shape, n, x.dtype.str))
                if zero is None:
                    zero = _ZEROS[x.shape, n, x.dtype.str] = np.zeros(
                        x.shape + (n * (n + 1) // 2,), x.dtype)
                value, grad, hess = prefix.compiled([x, seed, zero])
                prefix.replays += 1
                return np.asarray(value), grad, hess, kind
            e = prefix.run([hyper])
            return e.value, e.grad, e.hess, kind
        except Stale:
            return None

    def _record(self, key: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        tape = Tape()
        self._outside = _outside(self.f)
        traced = [a if kind[0] == "static" else tape.input(a) for a, kind in zip(args, key[0])]
        n_inputs = len(tape.reals)
        try:
            out = self.f(*traced, **kwargs)
        except Exception as err:
            # the tracers may be what failed (a library that wants a DualNumber): the
            # ordinary route decides
            tape.closed = True
            self._set(key, (_ORDINARY, f"recording raised {type(err).__name__}: {err}"))
            return self.f(*args, **kwargs)
        output = tape.template(out)
        tape.closed = True
        result = tape.real(output)
        if tape.broken is not None:
            self._set(key, (_ORDINARY, tape.broken))
            return result
        program = Program(tape, n_inputs, output)
        with self._lock:
            entry = self._records.get(key)
            if type(entry) is not tuple:
                self._records[key] = (entry or []) + [program]
        return result

    def _set_all(self, records: Dict[Any, Any]) -> None:
        with self._lock:
            self._records = records

    def _set(self, key: Any, value: Any) -> None:
        with self._lock:
            self._records[key] = value

    @property
    def programs(self) -> List[Program]:
        return [p for e in self._records.values() if type(e) is list for p in e]

    def explain(self) -> str:
        """Per key: the recorded programs' steps, or why the ordinary route runs."""
        parts = []
        for key, entry in self._records.items():
            kinds = ", ".join(" ".join(str(k) for k in kind) for kind in key[0])
            if type(entry) is tuple:
                parts.append(f"[{kinds}] ordinary route: {entry[1]}")
            else:
                for i, program in enumerate(entry):
                    compiled = {None: "not compiled yet", False: "interpreted"}.get(
                        program.compiled, "compiled")  # type: ignore[arg-type]
                    parts.append(f"[{kinds}] program {i} ({compiled}, "
                                 f"{program.replays} replays):\n{describe(program)}")
        return "\n".join(parts) or "not called yet"

    def __repr__(self) -> str:
        return f"dualad.jit({self.f!r})"

    def __reduce__(self) -> Any:
        # (to another process, an executor's worker: the function, not the records, whose
        # compiled functions live in this process; with a token and a digest of the pickled
        # function, so that a worker given it again, by the next call of a helper, keeps
        # using the object it made the first time, with its records and compiled replays)
        return _revive, (self._token, _digest(self.f), self.f, self.max_traces)

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        # (a decorated method: bind like a function)
        return self if obj is None else functools.partial(self, obj)


#: the jitted functions unpickled in this process, by (token, digest): the latest few
_REVIVED: "collections.OrderedDict[Tuple[str, str], Jitted]" = collections.OrderedDict()
_REVIVED_LOCK = threading.Lock()


def _digest(f: Callable[..., Any]) -> Optional[str]:
    """A digest of ``f`` pickled (by value where cloudpickle does so: with the globals and
    closure values it reads), or None where it cannot be pickled here."""
    try:
        import cloudpickle  # (optional: the distributed extra's; plain pickle without it)
        dumps: Callable[[Any], bytes] = cloudpickle.dumps
    except ImportError:
        dumps = pickle.dumps
    try:
        return hashlib.sha256(dumps(f)).hexdigest()
    except Exception:  # noqa: BLE001  (what cannot be pickled: no reuse, never a stale one)
        return None


def _revive(token: str, digest: Optional[str], f: Callable[..., Any],
            max_traces: int) -> "Jitted":
    """The Jitted of ``f`` in this process: the one unpickled before with the same token
    and digest (the same function, with the same values read from outside), else a new
    one. A different digest (a global of ``f`` changed in the sending process) is a new
    object, recording again."""
    if digest is None:
        return Jitted(f, max_traces)
    with _REVIVED_LOCK:
        known = _REVIVED.get((token, digest))
        if known is not None and known.max_traces == max_traces:
            _REVIVED.move_to_end((token, digest))
            return known
        made = _REVIVED[token, digest] = Jitted(f, max_traces)
        made._token = token
        while len(_REVIVED) > 16:
            _REVIVED.popitem(last=False)
        return made


def _key(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Optional[Tuple[Any, ...]]:
    """What a record depends on, or None where this call takes the ordinary route (nested
    duals, duals of different helpers, containers)."""
    kinds: List[Any] = []
    tag = None
    for a in args:
        t = type(a)
        if t is DualNumber:
            if type(a.value) is not np.ndarray or tag is not None and a._tag != tag:
                return None  # nested (a dual of duals), or two helpers' duals at once
            tag = a._tag
            kinds.append(("dual", a.value.shape, a.value.dtype.str, a.partials.shape[-1]))
        elif t is HyperDual:
            if type(a.value) is not np.ndarray:
                return None
            kinds.append(("hyperdual", a.value.shape, a.value.dtype.str, a.grad.shape[-1]))
        elif t is np.ndarray or isinstance(a, np.generic):
            if a.dtype.kind not in "biuf":
                return None
            kinds.append(("array", np.shape(a), a.dtype.str))
        elif isinstance(a, COMPARABLE):
            # (floats by their bits: 0.0 and -0.0 may take different branches)
            kinds.append(("static", t, a.hex() if isinstance(a, float) else a))
        else:
            return None
    try:
        static_kw = tuple(sorted(kwargs.items()))
        hash(static_kw)
    except TypeError:
        return None
    if not all(isinstance(v, COMPARABLE) for _, v in static_kw):
        return None
    return (tuple(kinds), static_kw)


_MISSING = object()


def _outside(f: Any) -> Tuple[Any, ...]:
    """``(namespace, name, object, contents)`` for each global name f's code (and the code
    of the functions defined in it) reads, ``(cell, None, object, contents)`` for each
    closure variable; ``contents`` copies the arrays among them (in place updates)."""
    code = getattr(f, "__code__", None)
    if code is None:
        return ()
    names, codes = set(), [code]
    while codes:
        c = codes.pop()
        names.update(c.co_names)
        codes += [k for k in c.co_consts if hasattr(k, "co_names")]
    glob = getattr(f, "__globals__", {})
    found: List[Any] = [(glob, n, glob[n], _contents(glob[n])) for n in sorted(names)
                        if n in glob]
    for cell in getattr(f, "__closure__", None) or ():
        try:
            obj = cell.cell_contents
        except ValueError:  # (an empty cell: a name f defines later)
            obj = _MISSING
        found.append((cell, None, obj, _contents(obj)))
    return tuple(found)


def _contents(obj: Any) -> Any:
    """Copies of the arrays in ``obj`` (an array, or a list, tuple or dict of them)."""
    if type(obj) is np.ndarray:
        return obj.copy()
    if type(obj) in (list, tuple):
        return [_contents(o) for o in obj] if any(type(o) is np.ndarray for o in obj) else None
    if type(obj) is dict:
        return {k: _contents(v) for k, v in obj.items()} \
            if any(type(v) is np.ndarray for v in obj.values()) else None
    return None


def _same_contents(obj: Any, contents: Any) -> bool:
    if contents is None:
        return True
    if type(contents) is np.ndarray:
        return type(obj) is np.ndarray and obj.shape == contents.shape and bool(
            np.array_equal(obj, contents, equal_nan=obj.dtype.kind in "fc"))
    if type(contents) is list:
        return len(obj) == len(contents) and all(
            _same_contents(o, c) for o, c in zip(obj, contents))
    return obj.keys() == contents.keys() and all(
        _same_contents(obj[k], c) for k, c in contents.items())


def _unchanged(entry: Tuple[Any, Any, Any, Any]) -> bool:
    where, name, obj, contents = entry
    if name is None:
        try:
            now = where.cell_contents
        except ValueError:
            return obj is _MISSING
    else:
        now = where.get(name, _MISSING)
    return (now is obj or _same_number(now, obj)) and _same_contents(obj, contents)


def _same_number(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are numbers or strings of one type and the same value, bit
    for bit (a worker unpickling the function again rebinds its module's globals to equal,
    new objects).

    >>> _same_number(0.5, float("0.5")), _same_number(0.0, -0.0), _same_number(1, 1.0)
    (True, False, False)
    """
    kind = type(a)
    if kind is not type(b) or kind not in (float, int, bool, str, bytes, complex):
        return False
    if kind is float:
        return bool(a.hex() == b.hex())
    if kind is complex:
        return bool(a.real.hex() == b.real.hex() and a.imag.hex() == b.imag.hex())
    return bool(a == b)

