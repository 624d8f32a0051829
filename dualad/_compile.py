"""numba compilation with dualad's own disk cache where one can be written, in memory otherwise.

numba puts a module's cache beside its source (``__pycache__``) when that is writable, which
for an installed package is site-packages itself: a later ``pip install -e`` leaves that folder
behind and Python imports it as an empty namespace package. ``cached`` keeps dualad's caches
in ``NUMBA_CACHE_DIR`` when it is set, else in a per-user cache directory
(``$XDG_CACHE_HOME/dualad/numba`` or ``~/.cache/dualad/numba``; ``~/Library/Caches`` on macOS,
``%LOCALAPPDATA%`` on Windows), never in the package. Where neither can be written it compiles
in memory (each process then compiles again) and says so once.

>>> import numba
>>> @cached(numba.njit, nogil=True)
... def twice(x):
...     return 2.0 * x
>>> twice(1.5)
3.0
"""
import contextlib
import functools
import os
import sys
import tempfile
import threading
import warnings
from typing import Any, Callable, Iterator, Optional

from numba.core import config as _numba_config

numba_config: Any = _numba_config  # its settings are set at import, untyped

_said = False
_LOCK = threading.Lock()  # numba's CACHE_DIR is global: one decoration at a time changes it


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
    path = numba_config.CACHE_DIR or os.path.join(_user_cache_home(), "dualad", "numba")
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
    before = numba_config.CACHE_DIR
    numba_config.CACHE_DIR = path
    try:
        yield
    finally:
        numba_config.CACHE_DIR = before


def cached(decorator: Callable[..., Any], *args: Any, **options: Any) -> Callable[[Any], Any]:
    """``decorator(*args, cache=True, **options)`` with the cache in ``cache_dir()``, or the
    same without ``cache`` where there is no writable cache directory."""
    def wrap(fn: Any) -> Any:
        code = getattr(fn, "__code__", None)
        if code is not None and not os.path.isfile(code.co_filename):
            return decorator(*args, **options)(fn)  # (no source file to key a cache on)
        path = cache_dir()
        if path is None:
            _say_once(f"cannot write {numba_config.CACHE_DIR or 'a per-user cache directory'}")
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
