"""Worker warm-up: load dualad on every worker and run ``f`` there once, so that the numba
kernels its derivative needs are compiled, or loaded from the on-disk cache, before the
real tasks run.

numba compiles per process. dualad's kernels are cached on disk (``NUMBA_CACHE_DIR`` when
set, else ``$XDG_CACHE_HOME/dualad/numba`` or ``~/.cache/dualad/numba``): local workers
inherit the environment, hence the cache, of the process that starts them; on a cluster,
point ``NUMBA_CACHE_DIR`` of every worker to a directory of its own machine (or a shared
one). ``warm_up`` says which directory each worker uses.

Dask's nanny starts its workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which turns off the C
allocator's adaptive thresholds: every large numpy temporary is then mapped and unmapped
anew, and dualad's passes ran 3.5 times slower in such a process (the 2-D Brusselator step of
examples/distributed_jacobian.py). ``warm_up`` warns where a worker has it; unset it before
the cluster starts: ``dask.config.set({"distributed.nanny.pre-spawn-environ."
"MALLOC_TRIM_THRESHOLD_": None})``.

>>> import numpy as np
>>> from concurrent.futures import ThreadPoolExecutor
>>> with ThreadPoolExecutor(2) as ex:
...     info = warm_up(ex, np.sin, np.ones(3))
>>> [sorted(v) for v in info.values()]
[['cache_dir', 'host', 'malloc_trim_threshold', 'pid']]
"""
import concurrent.futures as cf
import os
import secrets
import socket
import warnings
from typing import Any, Callable, Dict, Optional

import numpy as np

from .._compile import cache_dir
from ..core.seed import push
from . import pickling, tasks


def warm(f: Optional[Callable[[Any], Any]] = None, x: Any = None,
         directions: int = 1) -> Dict[str, Any]:
    """In a worker: push ``directions`` unit directions through ``f`` at ``x`` (when given)
    twice (a chain of elementwise operations is compiled when it is seen again), and return where this process is and caches its kernels (``pid``, ``host``,
    ``cache_dir``: None where none can be written and kernels compile in memory), and its
    ``MALLOC_TRIM_THRESHOLD_`` (None where unset, as it should be).

    Usable as a ``ProcessPoolExecutor(initializer=warm, initargs=(f, x))``.
    """
    if f is not None:
        arr = np.asarray(x)
        arr = arr.astype(np.result_type(arr.dtype, np.float32), copy=False)
        k = max(0, min(int(directions), arr.size))
        seed = np.zeros((arr.size, k), dtype=arr.dtype)
        seed[np.arange(k), np.arange(k)] = 1.0
        for _ in range(2):
            push(f, [arr], [seed.reshape(arr.shape + (k,))])
    return {"pid": os.getpid(), "host": socket.gethostname(), "cache_dir": cache_dir(),
            "malloc_trim_threshold": os.environ.get("MALLOC_TRIM_THRESHOLD_")}


def _warm_task(problem: Dict[str, Any], chunk: Any) -> Dict[str, Any]:
    return warm(problem["f"], problem["x"], problem["directions"])


def warm_up(executor: Any, f: Optional[Callable[[Any], Any]] = None, x: Any = None,
            directions: int = 1) -> Dict[Any, Dict[str, Any]]:
    """Run ``warm(f, x, directions)`` on every worker of ``executor``; returns
    ``{worker: {"pid", "host", "cache_dir", "malloc_trim_threshold"}}``, and warns where a
    worker has ``MALLOC_TRIM_THRESHOLD_`` set (see the module docstring). ``directions``: as
    many as a task will push (its ``chunk_size``), so that the same kernels are compiled.

    On a Dask client (or its ``get_executor()``), one task pinned to each worker, keyed by
    worker address. A ``ThreadPoolExecutor`` shares this process: it is warmed here, once.
    Other executors get one task per worker they report (``max_workers``), keyed by process
    id; which process takes which is the pool's choice (pass ``initializer=warm`` to a
    ``ProcessPoolExecutor`` to warm each process for sure).
    """
    pool, client = tasks.resolve(executor)
    problem = {"f": f, "x": x, "directions": directions}
    if client is not None:
        pickling.dumps(problem)  # (a clear error for what cannot be pickled)
        token = secrets.token_hex(4)
        workers = sorted(client.scheduler_info()["workers"])
        futures = [client.submit(warm, f, x, directions, workers=[w], allow_other_workers=False,
                                 pure=False, key=f"dualad-warm-{token}-{i}")
                   for i, w in enumerate(workers)]
        out: Dict[Any, Dict[str, Any]] = dict(zip(workers, client.gather(futures)))
    elif isinstance(pool, cf.ThreadPoolExecutor):
        info = warm(f, x, directions)
        out = {info["pid"]: info}
    else:
        count = max(1, int(getattr(pool, "_max_workers", 1)))
        out = {}
        for _, info in tasks.run(pool, _warm_task, problem, range(count),
                                 lambda i: f"warm-up {i}", what="warm-up"):
            out[info["pid"]] = info
    trimmed = sorted(str(w) for w, info in out.items() if info["malloc_trim_threshold"])
    if trimmed:
        warnings.warn(f"dualad: MALLOC_TRIM_THRESHOLD_ is set on the workers {trimmed} "
                      "(Dask's nanny sets it to 65536): large numpy temporaries are mapped "
                      "anew each time, and derivatives run several times slower; start the "
                      "cluster after dask.config.set({'distributed.nanny.pre-spawn-environ."
                      "MALLOC_TRIM_THRESHOLD_': None})", RuntimeWarning, stacklevel=2)
    return out
