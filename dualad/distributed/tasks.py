"""One call's chunks as tasks of an executor, their results handed back as they finish.

The helpers split their work in chunks (of directions, colors, or pairs of direction
blocks), each computed by a module-level function ``task(problem, chunk)`` of the helper's
own module; ``run`` sends the ``problem`` (``f``, ``x``, ...) once and the chunks as tasks:

* a Dask client, or its ``get_executor()``: the problem is scattered to every worker once
  (``broadcast``); the scheduler reschedules the tasks of a worker that dies;
* a ``ThreadPoolExecutor``: nothing is pickled, the threads share the problem;
* any other ``concurrent.futures.Executor`` (a ``ProcessPoolExecutor``): the problem is
  pickled once (cloudpickle), sent with each task and unpickled once per worker process.

A task that raises makes the call raise the same exception, with a note naming the chunk; the
other tasks are cancelled, and those already running are waited for, so that nothing of the
call runs on after it returns.

>>> from concurrent.futures import ThreadPoolExecutor
>>> square = lambda problem, chunk: problem["a"] * chunk
>>> with ThreadPoolExecutor(2) as ex:
...     sorted(run(ex, square, {"a": 3}, [1, 2, 3], str))
[(0, 3), (1, 6), (2, 9)]
"""
import concurrent.futures as cf
import math
import secrets
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

from .. import config
from . import pickling
from .progress import Progress


class _Shared:
    """The problem as one object (Dask scatters a dict or tuple element by element)."""

    __slots__ = ("problem",)

    def __init__(self, problem: Any) -> None:
        self.problem = problem

    def __reduce__(self) -> Tuple[Any, ...]:
        return _Shared, (self.problem,)


def _call(task: Callable[[Any, Any], Any], shared: Any, chunk: Any) -> Any:
    """What a worker runs: ``task(problem, chunk)``."""
    problem = shared.problem if type(shared) is _Shared else shared.load()
    return task(problem, chunk)


def resolve(executor: Any) -> Tuple[cf.Executor, Any]:
    """``(executor, Dask client or None)``; a TypeError for anything but an Executor or a
    Dask client."""
    if isinstance(executor, cf.Executor):
        client = getattr(executor, "_client", None) \
            if type(executor).__module__.startswith("distributed") else None
        return executor, client
    if callable(getattr(executor, "get_executor", None)) and callable(
            getattr(executor, "scatter", None)):  # a distributed.Client
        return executor.get_executor(), executor
    raise TypeError("dualad: executor must be a concurrent.futures.Executor (a "
                    "ThreadPoolExecutor, a ProcessPoolExecutor, a Dask client's "
                    f"get_executor()) or a Dask client, got {type(executor).__name__}")


def chunk_size(total: int, budget: int) -> int:
    """The default chunk size on an executor: about ``config.EXECUTOR_TASKS`` tasks, none
    larger than the memory ``budget`` allows.

    >>> chunk_size(1000, 4096), chunk_size(1000, 10), chunk_size(3, 100)
    (63, 10, 1)
    """
    return max(1, min(budget, math.ceil(total / max(1, config.EXECUTOR_TASKS))))


def block_size(total: int, budget: int) -> int:
    """The default block of directions of a Hessian on an executor: ``b`` blocks make
    ``b (b + 1) / 2`` passes (pairs of blocks), about ``config.EXECUTOR_TASKS`` of them.

    >>> block_size(600, 1000), block_size(600, 50)
    (100, 50)
    """
    blocks = math.ceil((math.sqrt(8 * max(1, config.EXECUTOR_TASKS) + 1) - 1) / 2)
    return max(1, min(budget, math.ceil(total / blocks)))


def in_order(results: Iterator[Tuple[int, Any]]) -> Iterator[Tuple[int, Any]]:
    """``results`` (``(i, result)`` in any order of ``i`` = 0, 1, ...) in the order of ``i``,
    each handed on as soon as those before it are in.

    >>> list(in_order(iter([(1, "b"), (2, "c"), (0, "a")])))
    [(0, 'a'), (1, 'b'), (2, 'c')]
    """
    waiting, following = {}, 0
    try:
        for i, result in results:
            waiting[i] = result
            while following in waiting:
                yield following, waiting.pop(following)
                following += 1
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def run(executor: Optional[Any], task: Callable[[Any, Any], Any], problem: Any,
        chunks: Sequence[Any], describe: Callable[[Any], str], progress: bool = False,
        what: str = "dualad") -> Iterator[Tuple[int, Any]]:
    """``(i, task(problem, chunks[i]))`` for every chunk, in the order they finish, computed
    on ``executor`` (in this thread, in order, for None). ``describe(chunk)`` names a chunk
    in errors; ``progress`` shows a bar (tqdm when installed)."""
    if executor is None:
        return _here(task, problem, chunks, progress, what)
    executor, client = resolve(executor)
    return _there(executor, client, task, problem, chunks, describe, progress, what)


def _here(task: Callable[[Any, Any], Any], problem: Any, chunks: Sequence[Any], progress: bool,
          what: str) -> Iterator[Tuple[int, Any]]:
    bar = Progress(len(chunks), progress, what)
    try:
        for i, chunk in enumerate(chunks):
            result = task(problem, chunk)
            bar.update()
            yield i, result
    finally:
        bar.close()


def _there(executor: cf.Executor, client: Any, task: Callable[[Any, Any], Any], problem: Any,
           chunks: Sequence[Any], describe: Callable[[Any], str], progress: bool,
           what: str) -> Iterator[Tuple[int, Any]]:
    # (a generator: the checks and the submission happen at the first next(), so that an
    # error there is raised where the results are read, and the finally below covers them)
    futures: dict = {}
    future: Any = None
    shared: Any = None
    finished: Any = None
    bar = Progress(len(chunks), progress, what)
    try:
        if isinstance(executor, cf.ThreadPoolExecutor):
            shared = _Shared(problem)
        else:
            packed = pickling.dumps(problem)  # (a clear error for what cannot be pickled)
            shared = pickling.Packed(packed)
        resubmit = None
        if client is not None:
            # Dask's own futures (its executor's wrappers can leave erred tasks behind when
            # cancelled), with the options of a ClientExecutor (workers, resources, ...)
            shared = client.scatter(_Shared(problem), broadcast=True, hash=False)
            options = dict(getattr(executor, "_kwargs", {}))
            token = secrets.token_hex(4)
            tries: dict = {}

            def resubmit(i: int) -> Any:
                # a task cancelled by the scheduler (its worker died with the only copy of
                # the problem it had: "already forgotten"): again, up to _RETRIES times
                nonlocal shared
                tries[i] = tries.get(i, 0) + 1
                if tries[i] > _RETRIES:
                    return None
                if shared.status != "finished":
                    shared = client.scatter(_Shared(problem), broadcast=True, hash=False)
                new = client.submit(_call, task, shared, chunks[i],
                                    key=f"dualad-{what}-{token}-{i}-{tries[i]}", **options)
                futures[new] = i
                return new
            for i, chunk in enumerate(chunks):
                futures[client.submit(_call, task, shared, chunk,
                                      key=f"dualad-{what}-{token}-{i}", **options)] = i
            finished = _dask_completed(list(futures))
        else:
            for i, chunk in enumerate(chunks):
                futures[executor.submit(_call, task, shared, chunk)] = i
            finished = cf.as_completed(futures)
        for future in finished:
            i = futures[future]
            if resubmit is not None and future.status == "cancelled":
                again = resubmit(i)
                if again is not None:
                    finished.add(again)
                    continue
            try:
                if client is not None and future.status == "error":
                    # (not result(): its frame, in the stored exception's traceback, would
                    # keep the future, and its task, alive as long as the client)
                    raise future.exception().with_traceback(future.traceback())
                result = future.result()
            except Exception as err:
                _named(err, f"chunk {i + 1} of {len(chunks)} ({describe(chunks[i])}) on "
                       f"{type(executor).__name__}")
                raise
            bar.update()
            yield i, result
    finally:
        pending: Any = [f for f in futures if not f.done()]
        if client is not None:
            client.cancel(pending)
        else:
            for f in pending:
                f.cancel()
            cf.wait(pending)  # (running tasks cannot be cancelled: they finish first)
        # (an error's traceback keeps this frame: drop the futures and the scattered problem
        # now, so that a Dask scheduler forgets them)
        futures.clear()
        pending = future = shared = finished = None  # noqa: F841
        bar.close()


def _dask_completed(futures: list) -> Any:
    from distributed import as_completed  # (the optional dependency: only with a Dask client)
    return as_completed(futures)  # (an iterator that takes more futures: add())


#: times a chunk cancelled by the scheduler (its worker lost) is submitted again
_RETRIES = 3


def _named(err: BaseException, where: str) -> BaseException:
    """``err`` with a note naming where it was raised (``__notes__``: shown under the
    traceback, matched by ``pytest.raises(match=...)``)."""
    note = f"dualad: raised in {where}"
    name = type(err).__name__
    if name in ("BrokenProcessPool", "BrokenExecutor"):
        note += ("; a worker process died (killed, or out of memory: a task holds about "
                 "chunk_size x outputs x 8 bytes of partials) and a process pool cannot run "
                 "its tasks again: a Dask cluster reschedules them")
    elif name == "KilledWorker":
        note += ("; the task was running on every worker that died for it (out of memory? a "
                 "task holds about chunk_size x outputs x 8 bytes of partials; use a smaller "
                 "chunk_size)")
    add_note = getattr(err, "add_note", None)
    if add_note is not None:
        add_note(note)
    else:  # (Python 3.10: no add_note, the notes are an attribute)
        try:
            err.__notes__ = list(getattr(err, "__notes__", [])) + [note]  # type: ignore
        except AttributeError:
            pass
    return err
