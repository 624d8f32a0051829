"""The one generator of numba chain-rule loops, and the scalar pieces they are made of.

Every numba loop that applies the chain rule to dual data is generated here from the rule
table: the per-rule kernels of ``fused.py`` (a chain of length one, computing the value too)
and the passes over chains of deferred rules of ``chains.py``. Their pieces:

- ``scalar_derivs``: a rule's derivative functions compiled for float64 scalars;
- ``vector_derivs``: sin's and cos's derivatives with ``vmath``'s vectorizable sin and cos;
- ``guarded_times``: THE guarded product of the chain rule (``core.partials.times``),
  compiled; ``as_float`` and ``add`` turn derivative results into floats.
"""
import os
import threading
import types as _pytypes
from typing import Any

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ..core.partials import times
from ..rules.table import RULES
from . import vmath as _vmath

_DERIVS: dict[Any, Any] = {}  # ufunc -> its derivatives compiled for scalars
# ufunc -> its derivative with vmath's sin and cos: (fast, any, array), or None
_VDERIVS: dict[Any, Any] = {}
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
    """``ufunc``'s derivative functions compiled by numba for float64 scalars (cached)."""
    derivs = _DERIVS.get(ufunc)
    if derivs is None:
        derivs = _DERIVS[ufunc] = _compile_derivs(RULES[ufunc])
    return derivs


def _compile_derivs(rule):
    """The rule's derivative functions compiled by numba for float64 scalars.

    Raises NumbaError when numba cannot compile one, ValueError when one returns an array
    (``np.where`` on scalars allocates a 0-d array per element inside numba).
    """
    out = []
    nargs = 2 if rule.kind == "unary" else 3
    for d in rule.derivs:
        if d is None:
            out.append(_never)
            continue
        disp = numba.njit(nogil=True, error_model="numpy")(d)
        args = (types.float64,) * nargs
        disp.compile(args)
        if isinstance(disp.overloads[args].signature.return_type, types.Array):
            raise ValueError("its derivative returns an array (np.where on scalars), "
                             "which allocates per element in numba")
        out.append(disp)
    return out


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
    rule = RULES.get(ufunc)
    d = rule.derivs[0] if rule is not None and rule.kind == "unary" else None
    code = getattr(d, "__code__", None)
    found = None
    if (code is not None and d.__globals__.get("np") is np and not code.co_freevars
            and _vmath.REPLACED & set(code.co_names)):
        fast, any_ = (numba.njit(inline="always", error_model="numpy")(
            _pytypes.FunctionType(code, dict(d.__globals__, np=mod), d.__name__, d.__defaults__))
            for mod in (_vmath.NP_FAST, _vmath.NP_ANY))

        @numba.njit(nogil=True, error_model="numpy")
        def array(x, ans, der):
            big = 0
            for i in range(x.shape[0]):  # vectorized
                der[i] = as_float(fast(x[i], ans[i]))
                big += abs(x[i]) > _vmath.LIMIT
            if big:  # then the arguments beyond LIMIT (or inf) again, with libm
                for i in range(x.shape[0]):
                    if abs(x[i]) > _vmath.LIMIT:
                        der[i] = as_float(any_(x[i], ans[i]))
        try:  # compiled now: a rule numba cannot compile this way keeps libm's derivative
            flat = types.float64[::1]
            array.compile((flat, flat, flat))
            found = (fast, any_, array)
        except (numba.core.errors.NumbaError, ValueError, TypeError):
            found = None
    with _LOCK:
        _VDERIVS[ufunc] = found
    return found


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
                env[f"U{j}"] = ufunc
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
    exec(compile("\n".join(body), "<dualad chain-rule loop>", "exec"), env)
    return numba.njit(nogil=True, error_model="numpy")(env["kernel"])


def forget(ufunc: Any) -> None:
    """Forget the compiled derivatives of ``ufunc`` (its rule was replaced or removed)."""
    with _LOCK:
        _DERIVS.pop(ufunc, None)
        _VDERIVS.pop(ufunc, None)


def _clear() -> None:
    with _LOCK:
        _DERIVS.clear()
        _VDERIVS.clear()
