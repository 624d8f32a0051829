"""numba compilation with a disk cache where one can be written, in memory otherwise.

numba's ``cache=True`` raises at import time when it finds no writable directory for a
module's cache (a read-only install whose user has no writable home or cache directory).
``cached`` asks for the cache and, where numba has nowhere to put it, compiles in memory
instead (each process then compiles again) and says so once.

>>> import numba
>>> @cached(numba.njit, nogil=True)
... def twice(x):
...     return 2.0 * x
>>> twice(1.5)
3.0
"""
import warnings
from typing import Any, Callable

_said = False


def cached(decorator: Callable[..., Any], *args: Any, **options: Any) -> Callable[[Any], Any]:
    """``decorator(*args, cache=True, **options)``, or the same without ``cache`` where numba
    has no writable cache directory for the function's file."""
    def wrap(fn: Any) -> Any:
        try:
            return decorator(*args, cache=True, **options)(fn)
        except RuntimeError as err:
            if "no locator available" not in str(err):
                raise
            _say_once(err)
            return decorator(*args, **options)(fn)
    return wrap


def _say_once(err: RuntimeError) -> None:
    global _said
    if not _said:
        _said = True
        warnings.warn(f"dualad: numba has no writable cache directory ({err}); kernels are "
                      "compiled in memory in each process. Set NUMBA_CACHE_DIR to a writable "
                      "directory to keep them.", RuntimeWarning, stacklevel=3)
