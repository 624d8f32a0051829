"""The one generator of numba chain-rule loops, and the scalar pieces they are made of.

Every numba loop that applies the chain rule to dual data is generated here from the rule
table: the per-rule kernels of ``fused.py`` (a chain of length one, computing the value too)
and the passes over chains of deferred rules of ``chains.py``. Their pieces:

- ``scalar_derivs``: a rule's derivative functions compiled for float64 scalars;
- ``vector_derivs``: sin's and cos's derivatives with ``vmath``'s vectorizable sin and cos;
- ``guarded_times``: THE guarded product of the chain rule (``core.partials.times``),
  compiled; ``as_float`` and ``add`` turn derivative results into floats.

Every loop is generated as source and compiled from a file in the cache directory
(``_compile.njit_source``), named by a hash of the source and of ``rule_key`` of each rule it
calls, so numba's disk cache keeps it for the next process. ``decision`` keeps what was
decided about a rule by compiling or timing it (``fused``'s calibration) on disk the same way,
per machine.
"""
import functools
import glob
import marshal
import os
import platform
import sys
import threading
import types as _pytypes
from typing import Any, Callable, Optional

import llvmlite
import llvmlite.binding as llvm
import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import _compile
from ..core.partials import times
from ..errors import ufunc_name
from ..rules.table import RULES
from . import vmath as _vmath

_compile.numba_module()  # numba's typing learns dualad's stand-ins (rules call special functions)

_DERIVS: dict[Any, Any] = {}  # ufunc -> its derivatives for numba to compile for scalars
# ufunc -> its derivative with vmath's sin and cos: (fast, any, array), or None
_VDERIVS: dict[Any, Any] = {}
_KEYS: dict[Any, Optional[str]] = {}  # ufunc -> rule_key(ufunc)


class ForkSafeLock:
    """A lock for accel's caches, renewed in a forked child: there, a lock that another
    thread of the parent held at the fork would stay held forever."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._renew)

    def _renew(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> "ForkSafeLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()


_LOCK = ForkSafeLock()


# --- scalar helpers usable inside the kernels ----------------------------------------------
def as_float(v):
    return float(v)


@overload(as_float)
def as_float_impl(v):
    if isinstance(v, types.Array):
        return lambda v: float(v.item())
    if isinstance(v, types.Boolean):
        return lambda v: 1.0 if v else 0.0
    return lambda v: float(v)


def add(a, b):
    return a + b


@overload(add)
def add_impl(a, b):
    # np.add of two bool derivatives (maximum(x, x)) is a logical or, as on the numpy path
    if isinstance(a, types.Boolean) and isinstance(b, types.Boolean):
        return lambda a, b: 1.0 if (a or b) else 0.0
    return lambda a, b: as_float(a) + as_float(b)


#: THE guarded product of the chain rule (dualad.core.partials.times), compiled: every loop
#: generated here multiplies through it
guarded_times = numba.njit(nogil=True, inline="always", error_model="numpy")(times)


@numba.njit(nogil=True, error_model="numpy")
def _never(x, y, a):
    # stands for the derivative of an argument that must be constant (never called)
    return np.nan


def scalar_derivs(ufunc):
    """``ufunc``'s derivative functions as numba functions of float64 scalars (made once;
    compiled with the loop that calls them, which the disk cache may hold already)."""
    derivs = _DERIVS.get(ufunc)
    if derivs is None:
        derivs = _DERIVS[ufunc] = [_never if d is None else
                                   numba.njit(nogil=True, error_model="numpy")(d)
                                   for d in RULES[ufunc].derivs]
    return derivs


def check_derivs(ufunc):
    """Compile ``ufunc``'s derivative functions for float64 scalars, as a loop will.

    Raises NumbaError when numba cannot compile one, ValueError when one returns an array
    (``np.where`` on scalars allocates a 0-d array per element inside numba).
    """
    nargs = 2 if RULES[ufunc].kind == "unary" else 3
    args = (types.float64,) * nargs
    for disp in scalar_derivs(ufunc):
        if disp is _never:
            continue
        disp.compile(args)
        if isinstance(disp.overloads[args].signature.return_type, types.Array):
            raise ValueError("its derivative returns an array (np.where on scalars), "
                             "which allocates per element in numba")


# --- what compiled code depends on: keys of the disk caches --------------------------------
@functools.lru_cache(maxsize=None)
def env_key():
    """A digest of the versions and of dualad's source files that every generated loop and
    calibration depends on (the rule table, these kernels, the chain rule)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = sorted(glob.glob(os.path.join(root, "accel", "*.py"))
                   + glob.glob(os.path.join(root, "rules", "*.py"))
                   + [os.path.join(root, "core", "partials.py"),
                      os.path.join(root, "_compile.py")])
    return _compile.digest(sys.version, np.__version__, numba.__version__,
                           llvmlite.__version__,
                           *(f"{os.path.basename(f)}:{_compile.file_digest(f)}" for f in files))


@functools.lru_cache(maxsize=None)
def machine_key():
    """A digest of the machine: the CPU numba compiles for and the SIMD paths numpy takes
    (calibration compares bits with numpy's, and times kernels, on this machine)."""
    umath = sys.modules.get("numpy._core._multiarray_umath")
    features = getattr(umath, "__cpu_features__", {})
    return _compile.digest(platform.machine(), llvm.get_host_cpu_name(),
                           llvm.get_host_cpu_features().flatten(),
                           sorted(k for k, on in features.items() if on))


def _code_key(fn):
    """A digest of a function's code and of its source file's bytes (not of where it sits: a
    checkout elsewhere shares the cache); None where it has no source file or closes over
    values (what it computes could change unseen)."""
    code = getattr(fn, "__code__", None)
    if code is None or getattr(fn, "__closure__", None):
        return None
    source = _compile.file_digest(code.co_filename)
    if source is None:
        return None
    return _compile.digest(marshal.dumps(code.replace(co_filename="")), source,
                           repr(fn.__defaults__))


def _implementation_key(ufunc):
    """A digest of what computes ``ufunc``'s values: numpy's or scipy's version for theirs,
    the code of a numba-vectorized function; None when unknown."""
    name = ufunc_name(ufunc)
    home = name.rsplit(".", 1)[0]
    if home in ("numpy", "scipy.special", "scipy.special._ufuncs"):
        package = sys.modules.get(home.split(".")[0])
        return _compile.digest(name, getattr(package, "__version__", None))
    py_func = getattr(ufunc, "py_func", None) or getattr(
        getattr(ufunc, "_dispatcher", None), "py_func", None)
    code = _code_key(py_func)
    return None if code is None else _compile.digest(name, code)


def rule_key(ufunc):
    """A digest of everything compiled code derived from ``ufunc``'s rule depends on: the
    ufunc, the rule's kind, domain and derivative functions (their code and source files),
    and ``env_key()``; None where that cannot be told (a derivative without a source file, a
    closure): code derived from such a rule is compiled in memory and decided again in each
    process. (As numba's own cache, it does not see a helper in another file change.)"""
    if ufunc in _KEYS:
        return _KEYS[ufunc]
    rule = RULES.get(ufunc)
    key = None
    if rule is not None:
        parts = [_implementation_key(ufunc), rule.kind, repr(rule.domain), rule.bounded]
        for d in rule.derivs:
            parts.append(repr(d) if d is None or isinstance(d, (int, float)) else _code_key(d))
        if None not in parts:
            key = _compile.digest(env_key(), *parts)
    with _LOCK:
        _KEYS[ufunc] = key
    return key


def loop_key(ufuncs, *flags):
    """The key of a generated loop calling the rules of ``ufuncs`` (None: not on disk)."""
    keys = [rule_key(u) for u in ufuncs]
    return None if None in keys else _compile.digest(*keys, *flags)


def decision(what: str, ufunc: Any, compute: Optional[Callable[[], Any]] = None) -> Any:
    """``compute()`` (a JSON value: what compiling or timing the rule of ``ufunc`` decided),
    kept on disk per rule and machine, so that a new process reads it instead. Without
    ``compute``: what the disk holds, or None."""
    key = rule_key(ufunc)
    if key is None:
        return None if compute is None else compute()
    key = _compile.digest(what, key, machine_key())
    found = _compile.read_record(key)
    if isinstance(found, dict) and "value" in found:
        return found["value"]
    if compute is None:
        return None
    value = compute()
    _compile.write_record(key, {"value": value})
    return value


def readonly(a):
    """A read-only view of a kernel's input array. numba compiles a function once per
    argument type, and a read-only array is a type of its own: passing every input read-only
    compiles each kernel once, not once per mix of flags."""
    if a.flags.writeable:
        a = a.view()
        a.flags.writeable = False
    return a


def njit_loop(source, env, key):
    """The function ``kernel`` that ``source`` defines, compiled by numba (the disk cache
    holds it under ``key``; in memory when ``key`` is None)."""
    return _compile.njit_source(source, "kernel", env, key, nogil=True, error_model="numpy")


def vector_derivs(ufunc):
    """A unary rule's derivative compiled with ``_vmath``'s vectorizable sin and cos in place
    of numpy's, or None when its derivative calls neither (or is not plain numpy code).

    Returns ``(fast, any, array)``: scalar functions ``(x, ans)`` for arguments within
    ``accel.vmath.LIMIT`` and for any argument (the same result where both apply), and a kernel
    ``(x, ans, der)`` writing the derivative of flat arrays, vectorized. Within 1 ulp of
    numpy's cos and sin; used only for deferred partials (``accel.chains``).
    """
    if ufunc in _VDERIVS:
        return _VDERIVS[ufunc]
    found = None
    if may_vectorize(ufunc):
        d = RULES[ufunc].derivs[0]
        code = d.__code__
        fast, any_ = (numba.njit(inline="always", error_model="numpy")(
            _pytypes.FunctionType(code, dict(d.__globals__, np=mod), d.__name__, d.__defaults__))
            for mod in (_vmath.NP_FAST, _vmath.NP_ANY))
        env = {"FAST": fast, "ANY": any_, "_as_float": as_float, "LIMIT": _vmath.LIMIT}
        array = njit_loop(_VECTOR_DERIVATIVE, env, loop_key([ufunc], "vector"))

        def compiles():  # a rule numba cannot compile this way keeps libm's derivative
            try:
                flat = types.float64[::1]  # the inputs read-only, as they are passed
                array.compile((flat.copy(readonly=True), flat.copy(readonly=True), flat))
                return True
            except (numba.core.errors.NumbaError, ValueError, TypeError):
                return False
        if decision("vector_derivs", ufunc, compiles):
            found = (fast, any_, array)
    with _LOCK:
        _VDERIVS[ufunc] = found
    return found


def may_vectorize(ufunc):
    """Whether ``ufunc``'s rule is unary with a derivative of plain numpy code calling sin or
    cos, which ``vector_derivs`` then takes from ``_vmath`` (read from the code: nothing is
    compiled)."""
    rule = RULES.get(ufunc)
    d = rule.derivs[0] if rule is not None and rule.kind == "unary" else None
    code = getattr(d, "__code__", None)
    return bool(code is not None and d.__globals__.get("np") is np and not code.co_freevars
                and _vmath.REPLACED & set(code.co_names))


# the derivative of flat arrays, vectorized: _vmath's sin and cos within LIMIT, then the
# arguments beyond LIMIT (or inf) again with libm's
_VECTOR_DERIVATIVE = """\
def kernel(x, ans, der):
    big = 0
    for i in range(x.shape[0]):
        der[i] = _as_float(FAST(x[i], ans[i]))
        big += abs(x[i]) > LIMIT
    if big:
        for i in range(x.shape[0]):
            if abs(x[i]) > LIMIT:
                der[i] = _as_float(ANY(x[i], ans[i]))
"""

_VALUE_DERIVATIVE = """\
def kernel(x, ans, der):
    for i in range(x.shape[0]):
        a = U(x[i])
        ans[i] = a
        der[i] = _as_float(D(x[i], a))
"""


def value_derivative(ufunc):
    """A kernel ``(x, ans, der)`` writing a unary rule's value and derivative in one loop."""
    env = {"U": _compile.compiled(ufunc), "D": scalar_derivs(ufunc)[0], "_as_float": as_float}
    return njit_loop(_VALUE_DERIVATIVE, env, loop_key([ufunc], "value_derivative"))


def generate(desc, one, fuse_value=False, vector=True):
    """Source and compile the loop for one chain structure ``desc`` (see chains.py's
    ``_describe``): per element, each rule's derivative, then the chain rule through the
    whole chain into ``out``. ``one``: one direction (partials as flat arrays).

    A per-rule kernel (``fused.py``) is a chain of length one; ``fuse_value=True`` (one node
    only) computes the rule's value in the loop too and writes it to the parameter
    ``ans_out``; ``vector=False`` keeps libm's sin and cos in the derivatives, as the numpy
    path has them.

    With one direction the pass is a flat loop that LLVM vectorizes: the chain rule is
    branch-free (``_times`` is a select) and ``_vmath``'s branch-free sin and cos stand in
    for libm's in the derivatives (elements with an argument beyond ``accel.vmath.LIMIT`` or
    inf, if any, are redone afterwards with libm's). With several directions, a direction
    loop per element, branch-free where every guarded factor is finite; there, ``defer``
    has computed those derivatives already, in a vectorized pass of their own.
    """
    env: dict[str, Any] = {"_as_float": as_float, "_add": add, "_times": guarded_times,
                           "np": np, "LIMIT": _vmath.LIMIT}
    n_slots = 1 + max(max([s for s, _ in vals] + ([] if ans is None else [ans[0]]))
                      for _, vals, ans, _, _ in desc)
    n_leaves = 1 + max((r[1] for _, _, _, refs, _ in desc for r in refs
                        if r is not None and r[0] == "l"), default=-1)
    params = ([f"v{s}" for s in range(n_slots)] + [f"l{k}" for k in range(n_leaves)]
              + (["ans_out"] if fuse_value else []) + ["out"])
    factors = {"fast": [], "any": []}  # per element, the derivatives (with either sin, cos)
    checked = []  # the arguments of _vmath derivatives, checked against LIMIT
    tangent, guarded, finite = [], [], []
    for j, (ufunc, vals, ans, refs, kind) in enumerate(desc):
        rule = RULES[ufunc]

        def tan(ref):
            if ref[0] == "t":
                return f"t{ref[1]}"
            return f"l{ref[1]}[i]" if one else f"l{ref[1]}[i, k]"
        if kind == "lin":  # as core.ufunc.scaled and accumulate: p, -p or p * c, summed in order
            terms = [tan(r) if c == 1.0 else (f"-{tan(r)}" if c == -1.0 else f"{tan(r)} * {c!r}")
                     for c, r in zip(rule.derivs, refs) if r is not None]
            tangent.append(f"t{j} = " + " + ".join(f"({t})" for t in terms))
            guarded.append(tangent[-1])
            continue
        args = ", ".join(f"v{s}[i]" if is_array else f"v{s}[0]" for s, is_array in vals)
        lines = []
        vec = vector_derivs(ufunc) if kind == "u" and vector else None
        if kind != "d":  # the derivative functions, which read the value
            derivs = scalar_derivs(ufunc)
            if ans is None:  # the value computed here too (a per-rule kernel)
                env[f"U{j}"] = _compile.compiled(ufunc)
                lines += [f"a{j} = U{j}({args})", f"ans_out[i] = a{j}"]
            else:
                lines.append(f"a{j} = v{ans[0]}[i]" if ans[1] else f"a{j} = v{ans[0]}[0]")
            for s, d in enumerate(derivs):
                env[f"D{j}_{s}"] = d
        guard = not rule.bounded
        # terms: (tangent, factor); a guarded factor that is inf or nan needs _times
        if kind == "d":  # the derivative array computed with the value (fused.shared_pass)
            lines.append(f"f{j} = {args}")
            terms = [(tan(refs[0]), f"f{j}")]
        elif kind == "u":
            lines.append(f"f{j} = _as_float(D{j}_0({args}, a{j}))")
            terms = [(tan(refs[0]), f"f{j}")]
        elif kind == 0:
            lines.append(f"f{j} = _as_float(D{j}_0({args}, a{j}))")
            lines.append(f"g{j} = _as_float(D{j}_1({args}, a{j}))")
            terms = [(tan(refs[0]), f"f{j}"), (tan(refs[1]), f"g{j}")]
        elif kind == 3:
            lines.append(f"f{j} = _add(D{j}_0({args}, a{j}), D{j}_1({args}, a{j}))")
            terms = [(tan(refs[0]), f"f{j}")]
        else:
            s = 0 if kind == 1 else 1
            lines.append(f"f{j} = _as_float(D{j}_{s}({args}, a{j}))")
            terms = [(tan(refs[s]), f"f{j}")]
        factors["any"] += lines
        if vec is None:
            factors["fast"] += lines
        else:  # the same line, calling the derivative with _vmath's sin and cos
            env[f"F{j}_0"], env[f"D{j}_0"] = vec[0], vec[1]
            factors["fast"] += [ln.replace(f"D{j}_0(", f"F{j}_0(") for ln in lines]
            checked += [f"abs({a}) > LIMIT" for a in args.split(", ")[:1]]
        if guard:
            finite += [f"np.isfinite({f})" for _, f in terms]
        guarded.append(f"t{j} = " + " + ".join(f"_times({t}, {f}, {guard})" for t, f in terms))
        tangent.append(f"t{j} = " + " + ".join(f"{t} * {f}" for t, f in terms))
    last = f"t{len(desc) - 1}"
    if one:
        update = guarded + [f"out[i] = {last}"]
    else:  # where every guarded factor is finite, _times is a plain product: branch-free
        update = (["if " + (" and ".join(finite) or "True") + ":",
                   "    for k in range(out.shape[1]):"]
                  + ["        " + line for line in tangent] + [f"        out[i, k] = {last}",
                                                            "else:",
                                                            "    for k in range(out.shape[1]):"]
                  + ["        " + line for line in guarded] + [f"        out[i, k] = {last}"])
    body = ["def kernel(" + ", ".join(params) + "):",
            "    big = 0",
            "    for i in range(out.shape[0]):"]
    body += ["        " + line for line in factors["fast"] + update]
    if checked:  # then redo the elements whose argument is beyond _vmath.LIMIT or inf
        body.append("        big += " + " + ".join(f"({c})" for c in checked))
        body += ["    if big:",
                 "        for i in range(out.shape[0]):",
                 "            if " + " or ".join(checked) + ":"]
        body += ["                " + line for line in factors["any"] + update]
    key = loop_key([node[0] for node in desc], one, fuse_value, vector)
    return njit_loop("\n".join(body) + "\n", env, key)


def forget(ufunc: Any) -> None:
    """Forget the compiled derivatives of ``ufunc`` (its rule was replaced or removed)."""
    with _LOCK:
        _DERIVS.pop(ufunc, None)
        _VDERIVS.pop(ufunc, None)
        _KEYS.pop(ufunc, None)


def _clear() -> None:
    with _LOCK:
        _DERIVS.clear()
        _VDERIVS.clear()
        _KEYS.clear()
