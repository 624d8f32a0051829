"""derivative, gradient, jacobian, jvp: thin layers over one forward-mode primitive.

``jvp_many(f, x, V)`` seeds ``x`` with the directions ``V`` (shape ``x.shape + (n,)``) under
a fresh tag, calls ``f`` once, and reads the value and the ``n`` directional derivatives back.
Every helper is a choice of seed: a basis (jacobian, in chunks), one vector (jvp), one (the
scalar derivative). A sparse Jacobian is only another seed matrix.
"""
import contextlib
import functools
import math
from contextvars import ContextVar
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import config
from .core.dual import DualNumber
from .core.partials import primal
from .core.pytree import flatten, is_tree, leaves
from .core.seed import as_output, plain, push
from .distributed import tasks
from .errors import foreign, from_python_numbers, whole
from .higher.hyperdual import HyperDual, _pairs
from .higher.kinds import FallbackWatch
from .higher.taylor import PerturbationMix, Taylor, TaylorUnsupported
from .scalar import ScalarDual, to_dual
from .scalar import derivative as scalar_derivative
from .sparse.compressed import sparse_hessian, sparse_jacobian, wanted

_TEMPORARIES = 16


def _as_input(x: Any, name: str = "x") -> Any:
    """x as a float array (or a dual, when a helper is nested inside another)."""
    if isinstance(x, DualNumber):
        return x
    if type(x) is ScalarDual:  # (a helper called inside f of derivative on a float)
        return to_dual(x)
    err = foreign(x, name)  # a masked array, np.matrix, pandas object: its meaning would go
    if err is not None:
        raise err
    try:
        arr = np.asarray(x)
    except TypeError as err:
        if isinstance(err, TaylorUnsupported):
            raise  # x is a Taylor or HyperDual of an enclosing helper: it redoes the work
        raise TypeError(f"dualad: {name} must be a number or an array, got "
                        f"{type(x).__name__}") from err
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        if arr.dtype.kind == "O":  # Python ints beyond int64 (too large for float64: refused)
            numbers = from_python_numbers(arr, name)
            if numbers is not None:
                return numbers
        raise TypeError(f"dualad: {name} must be real numbers, got {type(x).__name__} of "
                        f"dtype {arr.dtype}")
    return arr


def jvp_many(f: Callable[[Any], Any], x: Any, directions: Any) -> Tuple[Any, Any]:
    """Value of ``f(x)`` and its derivatives along each of ``n`` directions.

    ``directions`` has shape ``x.shape + (n,)``; the partials returned have shape
    ``f(x).shape + (n,)``. This is the primitive every helper calls.

    >>> value, partials = jvp_many(lambda x: x * x, np.array([1.0, 2.0]), np.eye(2))
    >>> partials.tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    x = _as_input(x)
    directions = _as_input(directions, "directions")
    if not isinstance(directions, DualNumber):  # (a dual: directions that depend on an
        # enclosing helper's variable, hvp(f, x, x))
        directions = np.asarray(directions, dtype=np.result_type(primal(x), np.float32))
    if directions.shape[:-1] != np.shape(x) or directions.ndim != np.ndim(x) + 1:
        raise ValueError(f"dualad: directions of shape {directions.shape} do not fit x of "
                         f"shape {np.shape(x)}; expected {np.shape(x)} + (n,)")
    return _jvp_leaves(f, [x], [directions])


def _jvp_leaves(f: Callable[..., Any], xs: Sequence[Any],
                directions: Sequence[Any]) -> Tuple[Any, Any]:
    """``jvp_many`` for ``f(*xs)``, each array ``xs[i]`` with its directions
    ``directions[i]`` (shape ``xs[i].shape + (n,)``, one n): no validation."""
    return push(f, xs, directions)


def derivative(f: Callable[[Any], Any], x: Any, order: int = 1) -> Any:
    """Derivative of ``f`` at the scalar ``x``; ``f`` may return an array.

    >>> derivative(lambda x: x ** 2, 4.0)
    8.0
    >>> derivative(lambda x: x ** 3, 2.0, order=2)
    12.0
    """
    if type(order) is not int or order < 0:  # (the check inline for the scalar path)
        order = whole(order, "order", 0)
    if (type(x) is float or type(x) is int) and (order == 1 or order == 2) \
            and not (_TAYLOR_RUNNING.get() or _HYPERDUAL_RUNNING.get()) or type(x) is ScalarDual:
        return scalar_derivative(f, x, order)  # plain-Python scalars: dualad/scalar.py
    x = _as_input(x)
    if np.ndim(x) != 0:
        raise ValueError(f"dualad: derivative takes a scalar x, got shape {np.shape(x)}; "
                         "use jacobian or jvp for arrays")
    if order == 0:
        return plain(as_output(f(x)))
    if order > 2 and not isinstance(x, DualNumber):
        taylor = _taylor_derivative(f, x, order)
        if taylor is not None:
            return taylor
    if order > 1:
        return derivative(lambda t: derivative(f, t, order - 1), x)
    _, partials = jvp_many(f, x, np.ones((1,)))
    return plain(partials[..., 0])


# Taylor and HyperDual carry no tags: while a pass of one kind runs, a helper called inside f
# uses nested duals, and the enclosing pass, meeting them, redoes its work with nested duals.
# Per thread and context: a pass running in another thread is no reason for the nested route.
_TAYLOR_RUNNING = ContextVar("dualad_taylor_running", default=False)
_HYPERDUAL_RUNNING = ContextVar("dualad_hyperdual_running", default=False)


def _taylor_derivative(f: Callable[[Any], Any], x: Any, order: int) -> Any:
    """The order-th derivative by Taylor mode, or None where f needs what it lacks."""
    if _TAYLOR_RUNNING.get():
        return None  # a Taylor number of the enclosing call would be taken for ours
    running_token = _TAYLOR_RUNNING.set(True)
    try:
        with FallbackWatch() as watch:
            y = f(Taylor.variable(x, order))
    except Exception as err:
        if isinstance(err, TaylorUnsupported) or watch.signalled:
            return None  # nested duals cover everything the core supports
        raise
    finally:
        _TAYLOR_RUNNING.reset(running_token)
    if watch.signalled:
        return None  # a fallback signal that f caught (except TypeError): y may be wrong
    if isinstance(y, Taylor):
        return plain(y.derivatives()[..., order])
    y = as_output(y)
    if isinstance(y, DualNumber):
        return None
    return plain(np.zeros(np.shape(y), dtype=y.dtype))


def jvp(f: Callable[[Any], Any], x: Any, v: Any) -> Tuple[Any, Any]:
    """``(f(x), J v)``: the value and the directional derivative along ``v``.

    >>> jvp(lambda x: np.sin(x), 0.0, 2.0)
    (0.0, 2.0)
    """
    x = _as_input(x)
    v = _as_input(v, "v")
    if np.shape(v) != np.shape(x):
        raise ValueError(f"dualad: v must have x's shape {np.shape(x)}, got {np.shape(v)}")
    value, partials = jvp_many(f, x, v[..., None])
    return plain(value), plain(partials[..., 0])


def _auto_chunk(n: int, itemsize: int) -> int:
    return int(max(1, min(n, config.CHUNK_BUDGET_BYTES // (itemsize * max(n, 1) * _TEMPORARIES))))


def jacobian(f: Callable[..., Any], x: Any, *args: Any, chunk_size: Optional[int] = None,
             argnums: Union[int, Sequence[int]] = 0, sparse: Any = None, executor: Any = None,
             progress: bool = False) -> Any:
    """Jacobian of ``f`` at ``x``, shape ``f(x).shape + x.shape``.

    The input directions travel ``chunk_size`` at a time (from a memory budget when None);
    the result does not depend on the chunk size. ``f`` is called as ``f(x, *args)``;
    ``argnums`` (an int or a tuple, as in JAX) picks the arguments to differentiate, and a
    list, tuple or dict of arrays gives a result of the same structure (leaf shapes
    ``f(x).shape + leaf.shape``).

    >>> jacobian(lambda x: np.stack([x[0] * x[1], x[1]]), [2.0, 3.0]).tolist()
    [[3.0, 2.0], [0.0, 1.0]]
    >>> jacobian(lambda a, b: a * b, np.ones(2), 3.0, argnums=1).tolist()
    [1.0, 1.0]

    ``sparse=True`` detects the sparsity pattern, colors it and returns a
    ``scipy.sparse.csr_array`` (outputs and inputs flattened) from as many directions as
    colors (``chunk_size`` colors per pass); ``sparse=pattern`` (scipy sparse or boolean
    array) uses a known pattern.

    ``executor`` (any ``concurrent.futures.Executor``: a Dask client's ``get_executor()``, a
    process or thread pool) computes the chunks as its tasks (about
    ``config.EXECUTOR_TASKS`` of them when ``chunk_size`` is None); the result is the local
    call's with the same ``chunk_size``, bit for bit. ``progress=True`` shows the tasks done
    (tqdm when installed).
    """
    if wanted(sparse):
        if args or argnums != 0 or is_tree(x):
            raise TypeError("dualad: jacobian(..., sparse=...) takes f(x) of one array x, "
                            "without extra arguments or argnums")
        return sparse_jacobian(f, x, sparse, chunk_size=chunk_size, executor=executor,
                               progress=progress)
    if args or argnums != 0 or is_tree(x):
        return _over_arguments(jacobian, f, (x,) + args, argnums, chunk_size=chunk_size,
                               executor=executor, progress=progress)
    return plain(_value_and_jacobian(f, _as_input(x), chunk_size, executor, progress)[1])


def _value_and_jacobian(f: Callable[[Any], Any], x: Any, chunk_size: Optional[int] = None,
                        executor: Any = None, progress: bool = False) -> Tuple[Any, Any]:
    """``(f(x), Jacobian)`` with the directions in chunks of a memory budget (on
    ``executor``: each chunk a task)."""
    shape, size = np.shape(x), math.prod(np.shape(x))
    if chunk_size is not None:
        chunk_size = whole(chunk_size, "chunk_size", 1)
    else:
        chunk_size = _auto_chunk(size, np.result_type(primal(x), np.float32).itemsize)
        if executor is not None:
            chunk_size = tasks.chunk_size(size, chunk_size)
    if executor is None and not progress:
        blocks = []
        for start in range(0, max(size, 1), chunk_size):
            value, partials = _jacobian_block(f, x, start, chunk_size)
            blocks.append(partials)
    else:
        starts = range(0, max(size, 1), chunk_size)
        blocks = [None] * len(starts)
        for i, (value_i, partials) in tasks.run(
                _executor_for(x, executor), _jacobian_task, {"f": f, "x": x, "chunk": chunk_size},
                starts, lambda s: f"directions {s} to {min(s + chunk_size, size) - 1} of {size}",
                progress, "jacobian"):
            blocks[i] = partials
            if i == len(starts) - 1:
                value = value_i  # (as above: the value of the last chunk)
    jac = blocks[0] if len(blocks) == 1 else np.concatenate(blocks, axis=-1)
    return value, np.reshape(jac, np.shape(value) + shape)


def _jacobian_block(f: Callable[[Any], Any], x: Any, start: int,
                    chunk_size: int) -> Tuple[Any, Any]:
    """``jvp_many`` along the unit directions ``start`` to ``start + chunk_size - 1``."""
    shape, size = np.shape(x), math.prod(np.shape(x))
    k = min(chunk_size, size - start) if size else 0
    seed = np.zeros((size, k), dtype=np.result_type(primal(x), np.float32))
    seed[np.arange(start, start + k), np.arange(k)] = 1.0
    return jvp_many(f, x, seed.reshape(shape + (k,)))


def _jacobian_task(problem: Dict[str, Any], start: int) -> Tuple[Any, Any]:
    """One chunk of directions on an executor's worker (``f(x)`` for the last chunk only:
    the one the call keeps)."""
    x, chunk = problem["x"], problem["chunk"]
    value, partials = _jacobian_block(problem["f"], x, start, chunk)
    return value if start + chunk >= np.size(x) else None, partials


def _executor_for(x: Any, executor: Any) -> Any:
    """``executor``, where the call can run there: a plain ``x``, and no enclosing Taylor or
    HyperDual pass (whose perturbations would not reach the workers)."""
    if executor is not None and (isinstance(x, DualNumber) or _TAYLOR_RUNNING.get()
                                 or _HYPERDUAL_RUNNING.get()):
        raise TypeError("dualad: executor= takes a plain point x, got a dual of an enclosing "
                        "helper (executor= inside the function of another helper); call the "
                        "inner helper without executor=")
    return executor


def gradient(f: Callable[..., Any], x: Any, *args: Any,
             argnums: Union[int, Sequence[int]] = 0) -> Any:
    """Gradient of the scalar-valued ``f`` at ``x`` (same shape as ``x``).

    ``f`` is called as ``f(x, *args)``; ``argnums`` (an int or a tuple, as in JAX) picks the
    arguments to differentiate (a tuple gives a tuple of gradients), and a parameter tree
    (list, tuple or dict of arrays) gives a gradient of the same structure.

    >>> gradient(lambda v: v[0] ** 2 * v[1] + v[1] + 2, [3.0, 4.0]).tolist()
    [24.0, 10.0]
    >>> gradient(lambda x, y: x * y ** 2, 3.0, 2.0, argnums=(0, 1))
    (4.0, 12.0)
    >>> g = gradient(lambda p: np.sum(p["w"] ** 2) + p["b"], {"w": np.ones(2), "b": 1.0})
    >>> g["w"].tolist(), g["b"]
    ([2.0, 2.0], 1.0)
    """
    if args or argnums != 0 or is_tree(x):
        return _over_arguments(gradient, f, (x,) + args, argnums)
    x = _as_input(x)
    jac = jacobian(f, x)
    if np.ndim(jac) != np.ndim(x):
        out_shape = np.shape(jac)[:np.ndim(jac) - np.ndim(x)]
        raise ValueError(f"dualad: gradient needs a scalar-valued function; f returned shape "
                         f"{out_shape} (use jacobian)")
    return plain(jac)


# --- second order ------------------------------------------------------------------------
def _hyperdual_hessian(f: Callable[[Any], Any], x: Any, chunk_size: Optional[int],
                       executor: Any = None, progress: bool = False) -> Any:
    """``(value, gradient, Hessian)`` from HyperDual passes, one per pair of blocks of
    ``chunk_size`` directions (on ``executor``: each pair a task); None where a task found
    that ``f`` needs nested duals."""
    if x.dtype.itemsize < 4:
        x = x.astype(np.float32)  # (float16 computes as float32)
    size = x.size
    if chunk_size is not None:
        chunk_size = whole(chunk_size, "chunk_size", 1)
    else:
        chunk_size = _hessian_chunk(size, x.dtype.itemsize)
        if executor is not None:
            chunk_size = tasks.block_size(size, chunk_size)
    # one pass over every direction (None: no blocks to assemble), or one per pair of blocks
    pairs = [None] if chunk_size >= size else [
        (a, min(size, a + chunk_size), b, min(size, b + chunk_size))
        for a in range(0, size, chunk_size) for b in range(a, size, chunk_size)]
    if executor is None and not progress:
        results: Any = ((i, _hessian_pass(f, x, pair)) for i, pair in enumerate(pairs))
    else:  # (in the order of the pairs: a later pass overwrites an earlier one's entries)
        results = tasks.in_order(tasks.run(
            executor, _hessian_task, {"f": f, "x": x}, pairs,
            lambda p: "all directions" if p is None else
            f"directions {p[0]} to {p[1] - 1} with {p[2]} to {p[3] - 1} of {size}",
            progress, "hessian"))
    grad: Any
    hess: Any
    value = grad = hess = None
    with contextlib.closing(results):  # (a refusal below cancels the other tasks)
        for i, out in results:
            if out is None:
                return None
            if pairs[i] is None:
                return out
            y_value, y_grad, y_hess = out
            a0, a1, b0, b1 = pairs[i]
            dirs = np.arange(a0, a1) if a0 == b0 else np.r_[a0:a1, b0:b1]
            if hess is None:
                value, dtype = y_value, np.asarray(y_value).dtype
                grad = np.zeros(np.shape(y_value) + (size,), dtype=dtype)
                hess = np.zeros(np.shape(y_value) + (size, size), dtype=dtype)
            grad[..., dirs] = y_grad
            r, q = _pairs(len(dirs))
            hess[..., dirs[r], dirs[q]] = y_hess
            hess[..., dirs[q], dirs[r]] = y_hess
    return value, grad, hess


def _hessian_pass(f: Callable[[Any], Any], x: np.ndarray, pair: Any) -> Tuple[Any, Any, Any]:
    """One HyperDual pass: over every direction (``pair`` None), or over the directions
    ``a0..a1-1`` and ``b0..b1-1`` of ``pair = (a0, a1, b0, b1)`` (the Hessian of their
    union), as ``(value, gradient part, packed Hessian part)``."""
    if pair is None:
        y = _hyper_output(f(HyperDual.seed(x)), x.size)
        # as the blocks: the parts in the value's dtype (hessian() casts already)
        return y.value, y.grad.astype(y.dtype, copy=False), y.hessian()
    a0, a1, b0, b1 = pair
    dirs = np.arange(a0, a1) if a0 == b0 else np.r_[a0:a1, b0:b1]
    k = len(dirs)
    seed = np.zeros((x.size, k), dtype=x.dtype, order="F")  # (the columns of an identity)
    seed[dirs, np.arange(k)] = 1.0
    y = _hyper_output(f(HyperDual(x, seed.reshape(x.shape + (k,)))), k)
    return y.value, y.grad, y.hess


def _hessian_task(problem: Dict[str, Any], pair: Any) -> Optional[Tuple[Any, Any, Any]]:
    """One pass on an executor's worker, or None where ``f`` needs nested duals (as
    ``value_grad_hessian`` decides for the local passes)."""
    running_token = _HYPERDUAL_RUNNING.set(True)
    try:
        with FallbackWatch() as watch:
            try:
                out = _hessian_pass(problem["f"], problem["x"], pair)
            except Exception as err:
                if isinstance(err, PerturbationMix) or watch.signalled:
                    return None
                raise
        return None if watch.signalled else out
    finally:
        _HYPERDUAL_RUNNING.reset(running_token)


@functools.lru_cache(maxsize=64)
def _hessian_chunk(size: int, itemsize: int) -> int:
    # a pass over c directions holds about size * c * c / 2 Hessian entries
    per_pair = itemsize * max(size, 1) * 8
    return max(1, min(size, int(math.sqrt(2 * config.CHUNK_BUDGET_BYTES / per_pair))))


def _hyper_output(y: Any, k: int) -> HyperDual:
    if isinstance(y, HyperDual):
        return y
    y = as_output(y)
    if isinstance(y, DualNumber):
        raise PerturbationMix("dualad: the function mixed HyperDual with DualNumber; use "
                              "hessian(..., method='nested')")
    return HyperDual(y, np.zeros(np.shape(y) + (k,), dtype=y.dtype))


def value_grad_hessian(f: Callable[[Any], Any], x: Any, chunk_size: Optional[int] = None,
                       method: str = "hyperdual", executor: Any = None,
                       progress: bool = False) -> Tuple[Any, np.ndarray, np.ndarray]:
    """``(f(x), gradient, Hessian)`` of a scalar ``f`` in one forward pass (Newton steps).

    ``method='hyperdual'`` (default) propagates the packed Hessian directly; ``'nested'``
    uses duals of duals. ``chunk_size`` bounds the directions per pass. HyperDuals carry no
    tag: where ``f`` calls another helper, or this call runs inside one, the work is done (or
    redone) with tagged nested duals, so the result is the same, only slower. ``executor``
    and ``progress`` as in ``jacobian``: each pass (a pair of blocks of directions) a task.

    >>> v, g, H = value_grad_hessian(lambda z: z[0] ** 2 * z[1] + z[1] + 2, [3.0, 4.0])
    >>> v, g.tolist(), H.tolist()
    (42.0, [24.0, 10.0], [[8.0, 6.0], [6.0, 0.0]])
    """
    if method not in ("hyperdual", "nested"):
        raise ValueError(f"dualad: method must be 'hyperdual' or 'nested', got {method!r}")
    x = _as_input(x)
    executor = _executor_for(x, executor)
    result = None
    # inside another hyperdual pass (whose HyperDuals have no tag), or for a dual x: nested
    if (method == "hyperdual" and not isinstance(x, DualNumber)
            and not _HYPERDUAL_RUNNING.get()):
        running_token = _HYPERDUAL_RUNNING.set(True)
        try:
            with FallbackWatch() as watch:
                result = _hyperdual_hessian(f, x, chunk_size, executor, progress)
            if watch.signalled:
                result = None  # a fallback signal that f caught (except TypeError)
        except Exception as err:
            # f differentiates inside, runs inside a derivative, or does what HyperDual does
            # not (x.mean(), x[i] = ...), the signal raised or caught: nested duals
            if not (isinstance(err, PerturbationMix) or watch.signalled):
                raise
        finally:
            _HYPERDUAL_RUNNING.reset(running_token)
    if result is None:
        value, grad = None, None

        def grad_f(y):
            nonlocal value, grad
            v, g = value_and_grad(f, y)
            value, grad = v, g
            return g
        hess = jacobian(grad_f, x, chunk_size=chunk_size, executor=executor, progress=progress)
        result = value_and_grad(f, x) + (hess,)
    value, grad, hess = result
    if (value.ndim if type(value) is np.ndarray else np.ndim(value)) != 0:
        raise ValueError(f"dualad: hessian needs a scalar-valued function; f returned shape "
                         f"{np.shape(value)}")
    shape = x.shape
    return (plain(value), plain(_reshaped(grad, shape)), plain(_reshaped(hess, shape + shape)))


def _reshaped(a: Any, shape: Tuple[int, ...]) -> Any:
    # (the method where it is an array: np.reshape's dispatch costs as much as the rest)
    return a.reshape(shape) if type(a) is np.ndarray else np.reshape(a, shape)


def hessian(f: Callable[[Any], Any], x: Any, chunk_size: Optional[int] = None,
            method: str = "hyperdual", sparse: Any = None, executor: Any = None,
            progress: bool = False) -> Any:
    """Hessian of the scalar ``f`` at ``x``, shape ``x.shape + x.shape``.

    ``sparse=True`` (or a known pattern) returns a ``scipy.sparse.csr_array`` over the
    flattened inputs, from a few colored directions (see ``SparseHessian``). ``executor``
    and ``progress`` as in ``jacobian`` (see ``value_grad_hessian``).

    >>> hessian(lambda z: z[0] ** 2 * z[1] + z[1] + 2, [3.0, 4.0]).tolist()
    [[8.0, 6.0], [6.0, 0.0]]
    """
    if wanted(sparse):
        if chunk_size is not None or method != "hyperdual":
            raise TypeError("dualad: hessian(..., sparse=...) takes neither chunk_size nor "
                            "method")
        return sparse_hessian(f, x, sparse, executor=executor, progress=progress)
    return value_grad_hessian(f, x, chunk_size, method, executor, progress)[2]


def value_and_grad(f: Callable[..., Any], x: Any, *args: Any,
                   argnums: Union[int, Sequence[int]] = 0) -> Tuple[Any, Any]:
    """``(f(x), gradient)`` in one pass, as ``jax.value_and_grad``; ``*args``, ``argnums``
    and parameter trees as in ``gradient``.

    >>> value_and_grad(lambda z: np.sum(z ** 2), [1.0, 2.0])[1].tolist()
    [2.0, 4.0]
    >>> value_and_grad(lambda x, y: x * y, 3.0, 2.0, argnums=1)
    (6.0, 3.0)
    """
    if args or argnums != 0 or is_tree(x):
        return _over_arguments(value_and_grad, f, (x,) + args, argnums)
    value, jac = _value_and_jacobian(f, _as_input(x))
    if np.ndim(value) != 0:
        raise ValueError(f"dualad: value_and_grad needs a scalar-valued function; f returned "
                         f"shape {np.shape(value)} (use jacobian)")
    return plain(value), plain(jac)


def _over_arguments(helper: Callable[..., Any], f: Callable[..., Any], all_args: Tuple[Any, ...],
                    argnums: Any, **kwargs: Any) -> Any:
    """``helper`` (gradient, value_and_grad, jacobian) with respect to ``all_args[argnums]``:
    the chosen arguments (arrays, numbers or parameter trees) are flattened into one vector,
    differentiated in one call, and the result is split back into their structures."""
    single = isinstance(argnums, (int, np.integer))
    nums = (argnums,) if single else tuple(argnums) if isinstance(argnums, (tuple, list)) \
        else ()
    if not nums or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and
                           -len(all_args) <= i < len(all_args) for i in nums):
        raise ValueError(f"dualad: argnums {argnums!r} does not pick among the "
                         f"{len(all_args)} arguments of f (an int or a tuple of ints)")
    nums = tuple(int(i) % len(all_args) for i in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"dualad: argnums {argnums!r} names an argument twice")
    vectors, unflattens = [], []
    for i in nums:
        a = all_args[i]
        if is_tree(a):
            if not leaves(a):
                raise TypeError(f"dualad: argument {i} is an empty {type(a).__name__}; "
                                "expected a number, an array or a tree of arrays")
            vec, unflatten = flatten(a)
        else:
            arr = _as_input(a, f"argument {i}")
            vec = np.reshape(arr, (-1,))
            unflatten = (lambda v, lead=0, shape=np.shape(arr):
                         np.reshape(v, np.shape(v)[:lead] + shape))
        vectors.append(vec)
        unflattens.append(unflatten)
    bounds = np.cumsum([0] + [np.shape(v)[0] for v in vectors])
    vector = vectors[0] if len(vectors) == 1 else np.concatenate(vectors)

    def flat_f(v):
        args = list(all_args)
        for i, unflatten, lo, hi in zip(nums, unflattens, bounds[:-1], bounds[1:]):
            args[i] = unflatten(v[lo:hi])
        return f(*args)

    out = helper(flat_f, vector, **kwargs)
    value, flat = out if helper is value_and_grad else (None, out)
    lead = np.ndim(flat) - 1
    parts = tuple(_plain_tree(unflatten(flat[..., lo:hi], lead=lead))
                  for unflatten, lo, hi in zip(unflattens, bounds[:-1], bounds[1:]))
    result = parts[0] if single else parts
    return (value, result) if helper is value_and_grad else result


def _plain_tree(t: Any) -> Any:
    if isinstance(t, dict):
        return {k: _plain_tree(v) for k, v in t.items()}
    if isinstance(t, (list, tuple)):
        return type(t)(_plain_tree(v) for v in t)
    return plain(t)


def hvp(f: Callable[[Any], Any], x: Any, v: Any) -> Any:
    """Hessian-vector product ``H v`` of the scalar ``f`` at ``x``, without forming ``H``.

    >>> hvp(lambda z: z[0] ** 2 * z[1], [3.0, 4.0], [1.0, 0.0]).tolist()
    [8.0, 6.0]
    """
    return jvp(lambda y: gradient(f, y), x, v)[1]
