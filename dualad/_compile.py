"""numba, imported when first needed, and dualad's disk caches of what it compiles.

``import dualad`` imports no numba. Functions written for numba are declared with ``jit`` and
``vectorize`` from here, which return stand-ins (``LazyJit``, ``LazyUfunc``): numba is imported
and the function compiled (or loaded from the disk cache) the first time it runs on plain
data. A ``LazyUfunc`` hands arguments that override numpy's ufunc protocol (duals) to their
``__array_ufunc__``, as numba's own vectorized functions do, so a dual never needs numba for
it. ``dualad.accel`` imports numba itself and is loaded as a whole by its first large
operation (``accel/__init__``). Loading numba is the documented lazy load of ``numba_module``.

Caches. numba's own (``cache=True``, through ``cached``) go to ``cache_dir()``:
``NUMBA_CACHE_DIR`` when set, else a per-user cache directory (``$XDG_CACHE_HOME/dualad/numba``
or ``~/.cache/dualad/numba``; ``~/Library/Caches`` on macOS, ``%LOCALAPPDATA%`` on Windows),
never the package (numba's default beside the source was site-packages itself, which a later
``pip install -e`` left behind as an empty namespace package). Generated code
(``njit_source``: the chain-rule loops of ``accel.loops``) is written there as a module file
named by a hash of the source and of everything it depends on, so numba's cache applies to it
too; small JSON records (``read_record``, ``write_record``: ``accel.fused``'s calibration) sit
beside it. Every file is written to a temporary name and renamed into place, so processes
filling one cache at once never read half a file. Where no cache directory can be written,
everything compiles in memory (each process compiles again) and one warning says so.

>>> @jit(nogil=True)
... def twice(x):
...     return 2.0 * x
>>> twice(1.5)
3.0
"""
import contextlib
import functools
import hashlib
import importlib
import json
import os
import sys
import tempfile
import threading
import warnings
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

import numpy as np

_said = False
# numba's CACHE_DIR is global: one decoration at a time changes it. Re-entrant: decorating a
# vectorized function compiles it, which loads the LazyJit functions it calls.
_LOCK = threading.RLock()
_NUMBA: Any = None


def numba_module() -> Any:
    """numba, imported on the first call; from then on numba's typing knows the stand-ins
    below (a LazyJit is typed as its dispatcher, a LazyUfunc as its compiled ufunc), so
    compiled code may call them."""
    global _NUMBA
    if _NUMBA is None:
        with _LOCK:
            if _NUMBA is None:
                import numba  # the documented lazy load: `import dualad` imports no numba
                from numba.core import types
                from numba.core.registry import cpu_target
                from numba.extending import typeof_impl

                @typeof_impl.register(LazyJit)
                def _typeof_jit(val: "LazyJit", c: Any) -> Any:
                    return types.Dispatcher(val.dispatcher)

                @typeof_impl.register(LazyUfunc)
                def _typeof_ufunc(val: "LazyUfunc", c: Any) -> Any:
                    return cpu_target.typing_context.resolve_value_type(val.compiled)

                _NUMBA = numba
    return _NUMBA


def _configured_cache_dir() -> Optional[str]:
    # numba reads NUMBA_CACHE_DIR when it is imported; before that, the environment says it
    config = sys.modules.get("numba.core.config")
    if config is not None:
        return getattr(config, "CACHE_DIR", None) or None
    return os.environ.get("NUMBA_CACHE_DIR") or None


def _user_cache_home() -> str:
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        return os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches")
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")


@functools.lru_cache(maxsize=None)
def cache_dir() -> Optional[str]:
    """The directory dualad's numba caches go to, or None where none can be written.

    >>> cache_dir() is None or isinstance(cache_dir(), str)
    True
    """
    path = _configured_cache_dir() or os.path.join(_user_cache_home(), "dualad", "numba")
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()  # writable, as numba itself checks
    except OSError:
        return None
    return path


@contextlib.contextmanager
def _numba_cache_dir(path: str) -> Iterator[None]:
    # numba's first cache locator honours config.CACHE_DIR; the locator is made (and its
    # directory fixed) when the decorator runs, so setting it for the decoration is enough
    config = numba_module().core.config
    before = config.CACHE_DIR
    config.CACHE_DIR = path
    try:
        yield
    finally:
        config.CACHE_DIR = before


def cached(decorator: Callable[..., Any], *args: Any, **options: Any) -> Callable[[Any], Any]:
    """``decorator(*args, cache=True, **options)`` with the cache in ``cache_dir()``, or the
    same without ``cache`` where there is no writable cache directory."""
    def wrap(fn: Any) -> Any:
        code = getattr(fn, "__code__", None)
        if code is not None and not os.path.isfile(code.co_filename):
            return decorator(*args, **options)(fn)  # (no source file to key a cache on)
        path = cache_dir()
        if path is None:
            _say_once(f"cannot write {_configured_cache_dir() or 'a per-user cache directory'}")
            return decorator(*args, **options)(fn)
        try:
            with _LOCK, _numba_cache_dir(path):
                return decorator(*args, cache=True, **options)(fn)
        except RuntimeError as err:
            if "no locator available" not in str(err):
                raise
            _say_once(str(err))
            return decorator(*args, **options)(fn)
    return wrap


def _say_once(why: str) -> None:
    global _said
    if not _said:
        _said = True
        warnings.warn(f"dualad: numba has no writable cache directory ({why}); kernels are "
                      "compiled in memory in each process. Set NUMBA_CACHE_DIR to a writable "
                      "directory to keep them.", RuntimeWarning, stacklevel=3)


# --- stand-ins that import numba when first used --------------------------------------------
class LazyJit:
    """``numba.njit(**options)(fn)``, made (and compiled, or loaded from the disk cache) when
    first called; ``dispatcher`` is numba's object."""

    def __init__(self, fn: Callable[..., Any], options: dict) -> None:
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self._options = options
        self._dispatcher: Any = None

    @property
    def dispatcher(self) -> Any:
        return _made_once(self, "_dispatcher", "njit")

    def __call__(self, *args: Any) -> Any:
        d = self._dispatcher
        return (d if d is not None else self.dispatcher)(*args)

    def __repr__(self) -> str:
        return f"<dualad.jit {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self) -> Any:  # by name, as a function pickles
        return _by_name, (self.py_func.__module__, self.py_func.__qualname__)


def _made_once(lazy: Any, attr: str, decorator: str, *args: Any) -> Any:
    """``lazy.<attr>``: ``numba.<decorator>(*args, **lazy._options)(lazy.py_func)`` through
    the disk cache, made by the first caller of any thread and kept."""
    made = getattr(lazy, attr)
    if made is None:
        make = getattr(numba_module(), decorator)
        with _LOCK:
            made = getattr(lazy, attr)
            if made is None:
                made = cached(make, *args, **lazy._options)(lazy.py_func)
                setattr(lazy, attr, made)
    return made


_ND_UFUNC = np.ndarray.__array_ufunc__


class LazyUfunc:
    """``numba.vectorize(signatures, **options)(fn)``, a ufunc compiled (or loaded from the
    disk cache) the first time it runs on plain data.

    Arguments whose type overrides ``__array_ufunc__`` (DualNumber, HyperDual, ...) get the
    call first, with this object as the ufunc, exactly as numba's DUFunc hands them over:
    rules keyed by it in the rule table then apply without numba. ``reduce``, ``accumulate``,
    ``outer``, ``at`` and numpy's other ufunc attributes are the compiled ufunc's.
    """

    signature = None  # an elementwise function (no core dimensions)
    nout = 1

    def __init__(self, fn: Callable[..., Any], signatures: Any, options: dict) -> None:
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self.nin = fn.__code__.co_argcount
        self.nargs = self.nin + self.nout
        self._signatures, self._options = signatures, options
        self._compiled: Any = None

    @property
    def compiled(self) -> Any:
        """numba's vectorized function (a DUFunc)."""
        return _made_once(self, "_compiled", "vectorize", self._signatures)

    def _dispatch(self, method: str, args: Any, kwargs: dict) -> Any:
        for arg in args + tuple(kwargs.values()):
            if getattr(type(arg), "__array_ufunc__", _ND_UFUNC) is not _ND_UFUNC:
                out = arg.__array_ufunc__(self, method, *args, **kwargs)
                if out is not NotImplemented:
                    return out
        compiled = self.compiled
        return (compiled if method == "__call__" else getattr(compiled, method))(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch("__call__", args, kwargs)

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch("reduce", args, kwargs)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch("accumulate", args, kwargs)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch("outer", args, kwargs)

    def at(self, *args: Any, **kwargs: Any) -> Any:
        return self._dispatch("at", args, kwargs)

    def __getattr__(self, name: str) -> Any:  # types, ntypes, identity, ...
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.compiled, name)

    def __repr__(self) -> str:
        return f"<dualad ufunc {self.py_func.__module__}.{self.py_func.__qualname__}>"

    def __reduce__(self) -> Any:  # by name, as numpy's ufuncs pickle
        return _by_name, (self.py_func.__module__, self.py_func.__qualname__)


def _by_name(module: str, qualname: str) -> Any:
    """The stand-in ``module.qualname`` (what a pickled one is read back as)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def jit(**options: Any) -> Callable[[Callable[..., Any]], LazyJit]:
    """``@jit(**options)``: ``numba.njit(**options)`` with the disk cache, made on first call."""
    return lambda fn: LazyJit(fn, options)


def vectorize(signatures: Any, **options: Any) -> Callable[[Callable[..., Any]], LazyUfunc]:
    """``@vectorize(signatures, **options)``: ``numba.vectorize`` with the disk cache, compiled
    the first time it runs on plain data (see ``LazyUfunc``)."""
    return lambda fn: LazyUfunc(fn, signatures, options)


def compiled(obj: Any) -> Any:
    """numba's object behind a stand-in (loading numba), else ``obj`` itself."""
    if isinstance(obj, LazyUfunc):
        return obj.compiled
    if isinstance(obj, LazyJit):
        return obj.dispatcher
    return obj


# --- generated code and records on disk -----------------------------------------------------
def digest(*parts: Any) -> str:
    """A hex digest of ``parts`` (strings or bytes, in order)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


@functools.cache
def file_digest(path: str) -> Optional[str]:
    """The digest of a file's bytes, or None where it cannot be read (read once per
    process: the code a process runs does not change under it)."""
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:40]
    except OSError:
        return None


def _subdir(name: str) -> Optional[str]:
    base = cache_dir()
    if base is None:
        return None
    path = os.path.join(base, name)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path


def _write_atomically(path: str, data: bytes) -> bool:
    """Write ``data`` to ``path`` through a temporary file renamed into place (a reader sees
    the old file or the new one, never half of one); False where it cannot."""
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return True
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False


def njit_source(source: str, name: str, env: dict, key: Optional[str],
                **options: Any) -> Any:
    """``numba.njit(**options)`` of the function ``name`` defined by ``source``, with the
    globals ``env``.

    With a ``key`` (a digest of everything the compiled code depends on besides its source:
    versions, the rules it calls) the source is written to ``cache_dir()/generated`` under a
    name hashed from both and compiled from that file, so numba's disk cache applies; without
    one, or without a writable cache directory, it compiles in memory.
    """
    numba = numba_module()
    path = None
    if key is not None:
        memo = (key, source, name, repr(sorted(options.items())))
        known = _GENERATED.get(memo)
        if known is not None:  # (compiled in this process already: no disk cache lookup)
            return known
        folder = _subdir("generated")
        if folder is not None:
            path = os.path.join(folder, f"g{digest(key, source)}.py")
            if not os.path.isfile(path) and not _write_atomically(path, source.encode()):
                path = None
    # a module numba can import: it rebuilds a cached function's environment from one
    env.setdefault("__name__", __name__)
    exec(compile(source, path or "<dualad generated loop>", "exec"), env)
    made = numba.njit(**options)(env[name]) if path is None else \
        cached(numba.njit, **options)(env[name])
    if key is not None:
        with _GENERATED_LOCK:  # (helpers on a thread pool compile side by side)
            _GENERATED[memo] = made
            while len(_GENERATED) > 128:  # (the oldest first: dicts keep insertion order)
                del _GENERATED[next(iter(_GENERATED))]
    return made


#: the functions njit_source made with a key, by (key, source, name, options): the key and
#: the source determine the compiled code, as for the disk cache
_GENERATED: Dict[Tuple[str, str, str, str], Any] = {}
_GENERATED_LOCK = threading.Lock()


def compiled_before(source: str, name: str, key: str) -> bool:
    """Whether ``njit_source(source, name, env, key)`` was called before, in this process or
    into the disk cache (its source file is there: numba's cache is beside it)."""
    with _GENERATED_LOCK:
        if any(memo[:3] == (key, source, name) for memo in _GENERATED):
            return True
    folder = _subdir("generated")
    return folder is not None and os.path.isfile(
        os.path.join(folder, f"g{digest(key, source)}.py"))


def read_record(key: str) -> Any:
    """The JSON value stored under ``key`` in the cache directory, or None."""
    folder = _subdir("records")
    if folder is None:
        return None
    try:
        with open(os.path.join(folder, f"r{digest(key)}.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_record(key: str, value: Any) -> None:
    """Store a JSON value under ``key`` (atomically; nothing where the cache cannot be
    written)."""
    folder = _subdir("records")
    if folder is None:
        return
    path, data = os.path.join(folder, f"r{digest(key)}.json"), json.dumps(value, sort_keys=True)
    with contextlib.suppress(OSError, ValueError), open(path, encoding="utf-8") as f:
        if f.read() == data:
            return  # (already there: the file stays as it was)
    _write_atomically(path, data.encode())
