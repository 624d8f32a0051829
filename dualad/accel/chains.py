"""Deferred partials: a chain of elementwise rules on large arrays as one pass over memory.

Inside a helper (``jvp``, ``jacobian``, ...), an elementwise rule on large float64 arrays
computes its value with numpy at once but defers its partials: the result's partials are a
``Deferred`` node recording the rule, its argument values, its value and where its
arguments' partials come from. Reading ``.partials`` (any operation that is not an
elementwise rule does) materializes them, for the whole chain of deferred rules behind,
in one numba pass: per element, every rule's derivative, then per direction the chain rule
through the whole chain, so no intermediate partials ever reach memory. With n directions
an elementwise chain of k rules reads and writes about 2n + k arrays instead of about
k (2n + 3). A rule whose value and derivative share work where timing says so
(``accel.fused.shared_pass``) computes both at once in one loop instead, and the pass reads that
derivative.

Results are bit-for-bit those of the rule-by-rule path: a rule is deferred only where its
fused kernel was calibrated equal to the numpy path (``accel.fused.mode``), and the pass
evaluates the same scalar derivative functions and the same chain rule
(``accel.loops.guarded_times``)
in the same order. One documented exception: derivatives that call ``np.sin`` or ``np.cos``
(sin's and cos's) take them from ``_vmath``, vectorizable and within 1 ulp of libm's
(``accel.fused.vector_derivs``); the rule-by-rule first run uses the same ones, so the first and
the compiled runs of a chain still agree bit for bit. (Values come from ``accel.fused.value``
on every route.) The pass is generated and compiled per chain *structure*; a structure is
compiled when it comes up the second time (a training loop, chunks of a Jacobian, repeated
calls); the first time, the chain runs rule by rule on the numpy route (which the per-rule
kernels were calibrated against), so a one-off chain never waits for a compiler. Compiled
passes go to numba's disk cache (``loops.generate``), with a record of the argument types
they were compiled for: a structure some process compiled before runs its pass from the
first time on, loaded from disk.

Values are read when the partials are materialized, so they must not change before:
``DualNumber.__setitem__`` materializes every deferred node that read the array it is
about to write (``before_write``); writing into a dual's ``.value`` array directly is not
supported while a helper runs.
"""
import functools
import weakref
from typing import Any

import numba
import numpy as np

from .. import _compile, config
from ..core.dual import DualNumber, make
from ..core.hooks import Pending
from ..core.partials import chain
from ..core.ufunc import linear_partials
from ..rules.table import OWN, arguments_read
from . import fused as _fused
from . import loops
from .loops import ForkSafeLock

# sizes: config.DEFER_MIN_SIZE, config.DEFER_MIN_WORK, config.DEFER_MAX_NODES
_PENDING: "weakref.WeakSet[Any]" = weakref.WeakSet()  # deferred nodes not yet materialized
_SEEN: dict[Any, int] = {}  # chain structure -> times seen (compiled from the second time on)
_GRAPH_KERNELS: dict[Any, Any] = {}  # chain structure -> compiled pass
_COMPILED = 0  # chain passes compiled in this process (config.DEFER_MAX_KERNELS)
_LOCK = ForkSafeLock()


class Deferred(Pending):
    """The partials of one elementwise rule's result, not computed yet."""

    __slots__ = ("ufunc", "rule", "values", "ans", "srcs", "shape", "n", "nodes", "deriv",
                 "result", "__weakref__")

    def __init__(self, ufunc, rule, values, ans, srcs, shape, n, nodes, deriv=None):
        self.ufunc, self.rule, self.values, self.ans, self.srcs = ufunc, rule, values, ans, srcs
        self.shape, self.n, self.nodes, self.deriv, self.result = shape, n, nodes, deriv, None

    def materialize(self):
        if self.result is None:
            _materialize(self)
        return self.result


def _operand(v, shape):
    """(flat array, is_array) of a kernel value operand (as the per-rule kernels take it, and
    of the chain's shape), or None if it cannot be one."""
    o = _fused.operand(v)
    if o is None or (o[1] and v.shape != shape):
        return None
    return o[0], bool(o[1])


def defer(ufunc, rule, inputs, tag):
    """The rule's result with deferred partials, or None when it must run now.

    ``inputs`` are the rule's operands; duals of ``tag`` are the varying ones.
    """
    for a in inputs:  # cheap refusals first: most small operations end here
        if isinstance(a, DualNumber) and a._tag == tag:
            v, p = a.value, a._p
            if type(v) is not np.ndarray or v.size < config.DEFER_MIN_SIZE:
                return None
            n = p.n if type(p) is Deferred else p.shape[-1]
            if v.size * n < config.DEFER_MIN_WORK:
                return None
            break
    values, srcs = [], []
    for a in inputs:
        if isinstance(a, DualNumber) and a._tag == tag:
            values.append(a.value)
            srcs.append(a._p)
        else:
            values.append(a)
            srcs.append(None)
    shape = None
    for v in values:
        if isinstance(v, np.ndarray) and v.ndim > 0:
            shape = v.shape
            break
    if shape is None or int(np.prod(shape)) < config.DEFER_MIN_SIZE:
        return None
    if any(_operand(v, shape) is None for v in values):
        return None
    n = None
    for s in srcs:
        if s is None:
            continue
        if isinstance(s, Deferred):
            if s.shape != shape:
                return None
            m = s.n
        elif (isinstance(s, np.ndarray) and s.dtype == np.float64 and s.flags.c_contiguous
              and s.shape[:-1] == shape and s.ndim == len(shape) + 1):
            m = s.shape[-1]
        else:
            return None
        if n is not None and m != n:
            return None  # the rule-by-rule path raises the error
        n = m
    if n is None:
        return None
    for d, s in zip(rule.derivs, srcs):
        if d is None and s is not None:
            return None  # the rule-by-rule path raises the TypeError
    if rule.kind != "linear" and not _deferrable(ufunc, rule):
        return None
    nodes = 1 + sum(s.nodes for s in _unique(srcs) if isinstance(s, Deferred)
                    and s.result is None)
    if nodes > config.DEFER_MAX_NODES:
        srcs = [s.materialize() if isinstance(s, Deferred) else s for s in srcs]
        nodes = 1
    shared = _fused.shared_pass(ufunc) if rule.kind == "unary" else None
    vector = loops.vector_derivs(ufunc) if rule.kind == "unary" and n > 1 else None
    if shared is not None:  # one pass for value and derivative; the chain reads the latter
        ans, der = np.empty(shape), np.empty(shape)
        shared(loops.readonly(values[0].reshape(-1)), ans.reshape(-1), der.reshape(-1))
        node = Deferred(ufunc, rule, (0.0,), 0.0, tuple(srcs), shape, n, nodes, der)
    elif vector is not None:  # sin, cos: the derivative now, vectorized (see _generate)
        ans = np.asarray(_fused.value(ufunc, values))
        if ans.dtype != np.float64 or ans.shape != shape or not ans.flags.c_contiguous:
            return None
        der = np.empty(shape)
        vector[2](loops.readonly(values[0].reshape(-1)), loops.readonly(ans.reshape(-1)),
                  der.reshape(-1))
        node = Deferred(ufunc, rule, (0.0,), 0.0, tuple(srcs), shape, n, nodes, der)
    else:
        ans = np.asarray(_fused.value(ufunc, values))
        if ans.dtype != np.float64 or ans.shape != shape or not ans.flags.c_contiguous:
            return None
        # keep only what the derivatives read: the other intermediates are freed as usual
        reads = _reads(rule, tuple(s is not None for s in srcs))
        kept = tuple(v if r or not isinstance(v, np.ndarray) else 0.0
                     for v, r in zip(values, reads))
        node = Deferred(ufunc, rule, kept, ans if reads[-1] else 0.0, tuple(srcs), shape, n,
                        nodes)
    with _LOCK:
        _PENDING.add(node)
    return make(ans, node, tag)


def _deferrable(ufunc, rule):
    """Whether the partials of ``ufunc``'s rule may wait for a chain pass: where its kernel
    was calibrated equal to the numpy path (``accel.fused.mode``). A binary rule of the
    table's own not calibrated yet waits too: rule by rule, the first time, it runs the numpy
    route's code (the same numbers), and it is calibrated when its chain is compiled, so that
    a first call compiles nothing for it. (Not a unary one: its calibration also decides its
    shared pass, which changes the chain's structure from one call to the next; nor one whose
    derivative would take sin or cos from ``_vmath``.)"""
    m = _fused.known_mode(ufunc)
    if m is None and (rule.kind != "binary" or OWN.get(ufunc) is not rule):
        m = _fused.mode(ufunc)
    return m != "numpy"


@functools.lru_cache(maxsize=None)
def _reads(rule, live):
    """Which of ``(*args, ans)`` the derivatives of the live arguments read."""
    n = len(rule.derivs)
    out = [False] * (n + 1)
    if rule.kind == "linear":
        return tuple(out)
    for d, is_live in zip(rule.derivs, live):
        if is_live:
            reads = arguments_read(d)
            if reads is None or len(reads) != n + 1:
                return (True,) * (n + 1)
            out = [o or r for o, r in zip(out, reads)]
    return tuple(out)


def _unique(items):
    seen = []
    for x in items:
        if x is not None and not any(x is y for y in seen):
            seen.append(x)
    return seen


def forget(ufunc):
    """Forget the chain passes that use ``ufunc`` (its rule was replaced or removed)."""
    with _LOCK:
        for table in (_SEEN, _GRAPH_KERNELS):
            for key in [k for k in table if any(node[0] is ufunc for node in k[0])]:
                del table[key]


def before_write(arr):
    """Materialize every deferred node that reads ``arr`` (about to be written in place)."""
    if not _PENDING:
        return
    with _LOCK:
        pending = list(_PENDING)
    for node in pending:
        if node.result is not None:
            continue
        if _overlaps(node.ans, arr) or any(_overlaps(v, arr) for v in node.values) or any(
                _overlaps(s.result if isinstance(s, Deferred) else s, arr) for s in node.srcs):
            node.materialize()


def _overlaps(a, arr):
    # memory, not identity: the write may go through a view (v = x[:2]; v[0] = ...)
    return a is arr or (type(a) is np.ndarray and type(arr) is np.ndarray
                        and np.may_share_memory(a, arr))


# --- materialization ----------------------------------------------------------------------
def _chain_of(root):
    """The deferred nodes behind ``root`` (not yet materialized), in evaluation order."""
    # depth first, post-order, with a stack: a recursive closure would be a reference cycle
    # holding every node (and the arrays they keep) until the garbage collector runs
    order, seen, stack = [], {id(root)}, [(root, 0)]
    while stack:
        node, k = stack.pop()
        while k < len(node.srcs):
            s = node.srcs[k]
            k += 1
            if isinstance(s, Deferred) and s.result is None and id(s) not in seen:
                seen.add(id(s))
                stack.append((node, k))
                node, k = s, 0
        order.append(node)
    return order


def _which(node):
    """The binary kernels' case: 0 both vary, 1 x only, 2 y only, 3 x and y the same."""
    p, q = node.srcs
    if p is not None and q is not None:
        return 3 if p is q else 0
    return 1 if q is None else 2


def _materialize(root):
    order = _chain_of(root)
    desc, slots, leaves = _describe(order)
    key = (desc, root.n == 1)  # one direction: a vectorized pass (see _generate)
    with _LOCK:
        seen = _SEEN[key] = _SEEN.get(key, 0) + 1
        if len(_SEEN) > 4096:  # a bound on the bookkeeping of one-off chains
            _SEEN.clear()
    if _run(root, key, slots, leaves, seen >= 2):
        return
    for node in order:  # the first time: rule by rule on the numpy route, nothing to compile
        _materialize_one(node)


def _describe(order):
    """``(structure, value arrays, leaf partials)`` of a chain; structure is the cache key."""
    index = {id(node): j for j, node in enumerate(order)}
    slots, slot_ids, leaves, leaf_ids = [], {}, [], {}

    def slot(arr, is_array):
        key = id(arr)
        if key not in slot_ids:
            slot_ids[key] = len(slots)
            slots.append((arr, is_array))
        return slot_ids[key]

    desc = []
    for node in order:
        vals = []
        for v in (node.values if node.deriv is None else (node.deriv,)):
            flat, is_array = _operand(v, node.shape)
            vals.append((slot(v if is_array else flat, is_array), is_array))
        if isinstance(node.ans, np.ndarray):
            ans = (slot(node.ans, True), True)
        else:  # not read by the derivatives
            ans = (slot(_operand(node.ans, node.shape)[0], False), False)
        refs = []
        for s in node.srcs:
            if s is None:
                refs.append(None)
            elif isinstance(s, Deferred) and s.result is None:
                refs.append(("t", index[id(s)]))
            else:
                arr = s.result if isinstance(s, Deferred) else s
                if id(arr) not in leaf_ids:
                    leaf_ids[id(arr)] = len(leaves)
                    leaves.append(arr)
                refs.append(("l", leaf_ids[id(arr)]))
        kind = "d" if node.deriv is not None else (
            {"unary": "u", "linear": "lin"}.get(node.rule.kind) or _which(node))
        desc.append((node.ufunc, tuple(vals), ans, tuple(refs), kind))
    return tuple(desc), slots, leaves


def _run(root, key, slots, leaves, compile_now):
    """Run the compiled pass of a chain; False where it cannot be compiled, or where it is
    not compiled yet and neither ``compile_now`` nor the disk cache has it."""
    global _COMPILED
    kernel = _GRAPH_KERNELS.get(key)
    if kernel is None:
        on_disk = False
        if not compile_now:  # the first time: only what the disk cache holds
            types = tuple(numba.typeof(a) for a in _arguments(root, slots, leaves)[0])
            ready = _ready_key(key, types)
            on_disk = ready is not None and _compile.read_record(ready) is not None
            if not on_disk:
                return False
        with _LOCK:
            kernel = _GRAPH_KERNELS.get(key)
            if kernel is None and any(kind != "lin" and _fused.mode(u) == "numpy"
                                      for u, _, _, _, kind in key[0]):
                # a rule deferred before its calibration found unequal (see _deferrable)
                kernel = _GRAPH_KERNELS[key] = False
            if kernel is None:
                if _COMPILED >= config.DEFER_MAX_KERNELS:
                    return False  # the memory bound: numba never frees a compiled pass
                _COMPILED += 1
                try:
                    kernel = _generate(key)
                    types = tuple(numba.typeof(a) for a in _arguments(root, slots, leaves)[0])
                    kernel.compile(types)
                    ready = _ready_key(key, types)
                    if ready is not None and not on_disk:  # (numba has saved it by now)
                        _compile.write_record(ready, True)
                except Exception:  # noqa: BLE001  (numba's errors vary): rule by rule then
                    kernel = False
                _GRAPH_KERNELS[key] = kernel
    if kernel is False:
        return False
    args, out = _arguments(root, slots, leaves)
    kernel(*args)
    _finish(root, out)
    return True


def _arguments(root, slots, leaves):
    """The pass's arguments (flat values, leaf partials as (m, n) or, with one direction, as
    (m,), the output) and the output."""
    m = int(np.prod(root.shape))
    shape = (m,) if root.n == 1 else (m, root.n)
    out = np.empty(root.shape + (root.n,), dtype=np.float64)
    args = [loops.readonly(arr.reshape(-1) if is_array else arr) for arr, is_array in slots]
    args += [loops.readonly(leaf.reshape(shape)) for leaf in leaves]
    return args + [out.reshape(shape)], out


def _finish(node, out):
    node.result = out
    node.values = node.srcs = node.ans = node.deriv = None  # their memory is free now
    with _LOCK:
        _PENDING.discard(node)


def _materialize_one(node):
    # the numpy route of _ufunc.apply_rule, which the fused kernels were calibrated equal to
    parts = [s.result if isinstance(s, Deferred) else s for s in node.srcs]
    if node.rule.kind == "linear":
        out = linear_partials(node.rule, parts)
    elif node.deriv is not None or loops.vector_derivs(node.ufunc) is not None:
        # a derivative computed apart: with the value (shared pass), or with _vmath's sin
        # and cos as the compiled pass will compute it
        der = node.deriv
        if der is None:
            x = node.values[0]
            der = np.empty(node.shape)
            ans = node.ans if isinstance(node.ans, np.ndarray) else x  # ans: not read then
            loops.vector_derivs(node.ufunc)[2](loops.readonly(x.reshape(-1)),
                                                loops.readonly(ans.reshape(-1)), der.reshape(-1))
        with np.errstate(all="ignore"):  # as _numpy_path
            out = chain(parts[0], der, not node.rule.bounded)
    else:
        out = _fused.numpy_path(node.ufunc, node.rule, node.values, parts, node.ans)[1]
    if out.shape != node.shape + (node.n,):
        out = np.ascontiguousarray(np.broadcast_to(out, node.shape + (node.n,)))
    _finish(node, out)


def _generate(key):
    """The compiled pass of one chain structure ``key = (desc, one)``."""
    desc, one = key
    return loops.generate(desc, one)


def _ready_key(key, types):
    """The key of the record saying the pass of ``key`` was compiled for ``types`` into
    the disk cache (None: its rules cannot be cached on disk)."""
    desc, one = key
    loop = loops.loop_key([node[0] for node in desc], one)
    return None if loop is None else _compile.digest("chain pass", loop, repr(_desc_names(desc)),
                                                     repr(types))


def _desc_names(desc):
    """A chain structure with its ufuncs by name (the rules themselves are in the key)."""
    return tuple((getattr(u, "__name__", None),) + tuple(rest) for u, *rest in desc)


def _clear():
    with _LOCK:
        _SEEN.clear()
        _GRAPH_KERNELS.clear()
    _reads.cache_clear()


config.register_cache("accel.chains", _clear, forget)
