"""Error messages shared by every layer, shaped "dualad: ... got ...; use ...".

Nothing here imports the rest of dualad: the rule table, the core and the helpers all raise
through these.

>>> print(not_real("x", "a string"))
dualad: x must be real numbers, got str
"""
import ast
import linecache
import opcode
import sys
import types
from typing import Any, Optional

import numpy as np

def plain_value_refused(method: str, hint: str = "") -> TypeError:
    """The TypeError for ``x.item()`` or ``x.tolist()`` of a dual: a plain number or list has
    no room for the derivative (``hint``: how to get the plain value instead)."""
    return TypeError(f"dualad: .{method}() would drop the derivative; use "
                     f"{hint or f'x.value.{method}()'} (or dualad.stop_gradient(x)) for the "
                     "plain value")


# --- converting a dual to a plain array or number: what to write instead ---------------------
# numpy asks a dual for a plain array (__array__) or number (__float__) where no protocol of
# numpy's lets dualad in: ndarray methods (X.dot(w)), np.array([...]) of duals, a plain array's
# item assignment, math.sin. The arguments numpy passes do not tell these apart (X.dot(w) and
# np.array(w) both pass copy=True), so the message reads the instruction the calling frame
# is executing, in its source (Python >= 3.11), and names the fix for it; without a source
# it lists the common cases. For the message only: nothing else depends on it.
_COMMON = ("x.value is the plain value. numpy cannot hand duals to dualad on these paths; "
           "write instead: X.dot(w) -> X @ w or np.dot(X, w); np.array([a, b]) of duals -> "
           "np.stack([a, b]); out = np.zeros(n) then out[i] = a -> out = np.zeros_like(a, "
           "shape=(n,)); math.sin(x) -> np.sin(x) or dualad.math.sin(x); float(x) -> x (a 0-d "
           "dual computes like a number)")
_INTEGER = ("integers (indices, sizes, counts) carry no derivative: write int(x.value), or "
            "x.value for an array of indices")
_COMPLEX = ("complex duals are not supported; keep the real and imaginary parts as two real "
            "duals (x.value is the plain value)")
_BUILDERS = frozenset({np.array, np.asarray, np.asanyarray, np.ascontiguousarray,
                       np.asfortranarray, np.asarray_chkfinite, np.require})
_WRITERS = frozenset({"fill", "put", "itemset", "setfield"})  # ndarray methods writing into it
_BASES = {"polynomial": "poly", "chebyshev": "cheb", "legendre": "leg", "hermite": "herm",
          "hermite_e": "herme", "laguerre": "lag"}  # numpy.polynomial: module -> prefix


def conversion_refused(x: Any, what: str) -> TypeError:
    """The TypeError for converting the dual ``x`` to ``what`` ("float", "int", "complex",
    "an index", "a plain numpy array"): what was wrong, then what to write instead for the
    code that asked (read from the calling frame) or, where that cannot be read, the common
    cases."""
    try:
        hint = _hint(x, what, sys._getframe(2))
    except Exception:  # reading frames and sources must never turn into another error
        hint = None
    if hint is None:
        hint = _INTEGER if what in ("int", "an index") else _COMPLEX if what == "complex" \
            else _COMMON
    return TypeError(f"dualad: converting a DualNumber to {what} would drop its derivative; "
                     f"{hint}")


def _hint(x: Any, what: str, frame: Any) -> Optional[str]:
    """What to write instead, for the first frame outside numpy and dualad (numpy's Python
    code in between: the user's call of it); numpy.polynomial has its own."""
    polynomial = None
    while frame is not None:
        module = frame.f_globals.get("__name__") or ""
        if module.startswith("numpy.polynomial"):
            polynomial = frame  # (the outermost one)
        elif module.split(".")[0] not in ("numpy", "dualad"):
            break
        frame = frame.f_back
    if polynomial is not None:
        return _polynomial_hint(polynomial)
    if frame is None:
        return None
    library = _library(frame)
    if library is not None:
        return (f"{library} converts its input to a plain numpy array "
                f"({frame.f_globals.get('__name__')}, line {frame.f_lineno}), where no "
                f"derivative can pass; if {library} takes array API arrays, turn that on "
                "(scipy: SCIPY_ARRAY_API=1; scikit-learn: array_api_dispatch=True), else "
                "write the computation with numpy functions, or pass x.value where the "
                "derivative is not needed")
    node, op = _executing(frame)
    if node is None:
        return None
    if op == "STORE_SUBSCR" and isinstance(node, ast.Subscript):
        a = ast.unparse(node.value)
        return (f"{a} is a plain numpy array and cannot hold a derivative ({ast.unparse(node)}"
                f" = ...); create it from a dual instead of np.zeros/np.empty: {a} = "
                "np.zeros_like(x, shape=...) with x a dual (or collect the items in a list "
                "and np.stack it)")
    if isinstance(node, ast.Call):
        return _call_hint(node, x, what, frame)
    if isinstance(node, (ast.BinOp, ast.Compare)):
        operands = [node.left, node.right] if isinstance(node, ast.BinOp) else \
            [node.left] + node.comparators
        for operand in operands:
            if _is_sequence(operand, frame):
                return (f"numpy converts the list {ast.unparse(operand)} to a plain array; "
                        f"write np.stack({_as_list(operand)}) for an array of duals")
    return None


def _library(frame: Any) -> Optional[str]:
    """The top-level package of an installed library the frame runs in, else None."""
    parts = frame.f_code.co_filename.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return (frame.f_globals.get("__name__") or "a library").split(".")[0]
    return None


def _executing(frame: Any) -> Any:
    """The AST of the expression the frame is executing, and the instruction's name."""
    code, i = frame.f_code, frame.f_lasti
    if not hasattr(code, "co_positions") or i < 0:  # (Python < 3.11)
        return None, None
    for k, pos in enumerate(code.co_positions()):
        if k == i // 2:
            break
    else:
        return None, None
    first, last, start, end = pos
    lines = linecache.getlines(code.co_filename, frame.f_globals)
    if None in pos or last > len(lines):
        return None, None
    text = [line.encode() for line in lines[first - 1:last]]  # (offsets count UTF-8 bytes)
    text[-1] = text[-1][:end]
    text[0] = text[0][start:]
    node = ast.parse(b"(" + b"".join(text) + b"\n)", mode="eval").body
    return node, opcode.opname[code.co_code[i]]


def _resolve(node: ast.AST, frame: Any) -> Any:
    """The object a name or a module's attribute (np.asarray, math.sin) stands for in the
    frame, else None: dictionary lookups and module attributes only (no code runs)."""
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals, frame.f_builtins):
            if node.id in scope:
                return scope[node.id]
        return None
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, frame)
        if isinstance(base, types.ModuleType):
            return getattr(base, node.attr, None)
    return None


def _is_sequence(node: ast.AST, frame: Any) -> bool:
    """Whether ``node`` is a list or tuple (or makes one) that may hold duals."""
    if isinstance(node, (ast.List, ast.Tuple)):  # (a literal of constants holds none)
        return not all(isinstance(e, ast.Constant) for e in node.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)):
        return True
    if isinstance(node, ast.Call):
        return _resolve(node.func, frame) in (list, tuple, map)
    return isinstance(node, ast.Name) and isinstance(_resolve(node, frame), (list, tuple))


def _as_list(node: ast.AST) -> str:
    """Source of a sequence np.stack takes (a list, not a generator; inner lists of a
    nested literal stacked too: np.stack does not look into them for duals)."""
    if isinstance(node, ast.GeneratorExp):
        return ast.unparse(ast.ListComp(node.elt, node.generators))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        if node.func.id == "map":
            return f"list({ast.unparse(node)})"
        if node.func.id == "list" and isinstance(node.args[0], ast.GeneratorExp):
            return _as_list(node.args[0])
    if isinstance(node, (ast.List, ast.Tuple)) and any(
            isinstance(e, (ast.List, ast.Tuple)) for e in node.elts):
        inner = [f"np.stack({_as_list(e)})" if isinstance(e, (ast.List, ast.Tuple))
                 else ast.unparse(e) for e in node.elts]
        return f"[{', '.join(inner)}]"
    return ast.unparse(node)


def _call_hint(node: ast.Call, x: Any, what: str, frame: Any) -> Optional[str]:
    func = _resolve(node.func, frame)
    first = node.args[0] if node.args else None
    full = ast.unparse(first) if first is not None else "x"
    # (where a name is to be reused, x.w or x[0] is quoted; a longer expression is "x")
    arg = full if isinstance(first, (ast.Name, ast.Attribute, ast.Subscript)) else "x"
    call = ast.unparse(node.func)
    number = isinstance(func, type) and issubclass(func, (float, int, complex, np.generic))
    if getattr(func, "__module__", None) == "math":
        fn = func.__name__
        numpy_fn = f"np.{fn}({full}) or " if isinstance(getattr(np, fn, None), np.ufunc) else ""
        return f"math.{fn} takes plain floats; write {numpy_fn}dualad.math.{fn}({full})"
    if func in (int, complex) or number and issubclass(func, (np.integer, np.complexfloating)):
        if func is complex or isinstance(func, type) and issubclass(func, np.complexfloating):
            return _COMPLEX
        return (f"integers carry no derivative: write int({arg}.value) where an integer is "
                "meant")
    if number:
        shape = np.shape(getattr(x, "value", 0.0))
        return (f"{call}() keeps no derivative: keep {arg} as it is (a 0-d DualNumber computes "
                f"like a number), or {arg}.value for the plain value"
                + (f"; {arg} holds an array of shape {shape}" if shape else ""))
    if func is np.fromiter and first is not None:
        items = _as_list(first) if isinstance(first, (ast.GeneratorExp, ast.ListComp,
                                                      ast.List)) else f"list({full})"
        return f"{call}() cannot hold duals; write np.stack({items}) for an array of duals"
    if func in _BUILDERS and first is not None:
        if _is_sequence(first, frame):
            return (f"{call}() cannot hold duals; write np.stack({_as_list(first)}) for an "
                    "array of duals")
        return (f"{arg} is already an array (a DualNumber): use it as it is instead of "
                f"{call}({arg}) ({arg}.copy() copies, {arg}.astype(np.float32) casts), or "
                f"{arg}.value for the plain values")
    owner = _resolve(node.func.value, frame) if isinstance(node.func, ast.Attribute) else None
    if isinstance(getattr(func, "__self__", owner), (np.random.Generator,
                                                     np.random.RandomState)):
        return ("numpy's random draws take plain parameters; draw standard samples and scale "
                "them, e.g. mu + sigma * rng.standard_normal(size), which keeps the derivatives "
                "in mu and sigma")
    if isinstance(node.func, ast.Call) and _resolve(node.func.func, frame) in (np.vectorize,
                                                                             np.frompyfunc):
        return ("np.vectorize calls the function on plain numbers; call it on the dual "
                "directly (numpy functions act elementwise), or loop over the elements and "
                "np.stack the results")
    if isinstance(node.func, ast.Attribute) and func is None:  # a method: X.dot(w), a.fill(x)
        method, owner = node.func.attr, node.func.value
        a = ast.unparse(owner)
        if method == "dot" and first is not None and len(node.args) == 1:
            product = ast.BinOp(owner, ast.Mult() if np.ndim(getattr(x, "value", 0.0)) == 0
                                else ast.MatMult(), first)
            return (f"ndarray.dot of a plain array cannot hand its DualNumber argument to "
                    f"dualad; write {ast.unparse(product)} or np.dot({a}, {full})")
        if method in _WRITERS:
            return (f"{a} is a plain numpy array and cannot hold a derivative; create it from "
                    f"a dual (np.zeros_like(x, shape=...), np.full_like(x, value)) before "
                    f"{a}.{method}(...)")
        if hasattr(np.ndarray, method) and hasattr(getattr(np, method, None), "_implementation"):
            return (f"the ndarray method {a}.{method}(...) of a plain array cannot hand a "
                    f"DualNumber argument to dualad; write np.{method}({a}, ...)")
    for operand in list(node.args) + [k.value for k in node.keywords]:
        if _is_sequence(operand, frame):  # np.sum([a, b]): numpy converts the list first
            return (f"numpy converts the list {ast.unparse(operand)} to a plain array "
                    f"before {call} sees its duals; pass np.stack({_as_list(operand)})")
    if (getattr(func, "__module__", None) or "").split(".")[0] == "numpy":
        return (f"numpy hands {call}(...) to dualad only when a DualNumber is one of the "
                "arguments it dispatches on (its main array arguments); here one sits in "
                "another argument and is converted to a plain array: pass x.value there if "
                "no derivative is needed, or write that part with dual arithmetic")
    return None


def _polynomial_hint(frame: Any) -> str:
    """numpy.polynomial converts x and the coefficients with np.asarray (none of its
    functions dispatches): how to evaluate without it, for ``frame``, its outermost frame."""
    p = frame.f_locals.get("self")
    if p is not None and frame.f_code.co_name == "__call__" and hasattr(p, "mapparms"):
        val = p._val
        fn = f"np.polynomial.{val.__module__.split('.')[-1]}.{val.__name__}"
        mapped = not (np.array_equal(p.domain, p.window))
        return (f"numpy.polynomial's {type(p).__name__}(...)(x) converts x to a plain array; "
                f"evaluate it with {fn}(x, p.coef)"
                + (f" after mapping x to the window: off, scl = p.mapparms(); "
                   f"{fn}(off + scl * x, p.coef)" if mapped else "")
                + " (x a dual; with DualNumber coefficients see the numpy.polynomial section "
                "of dualad's docs)")
    module = (type(p).__module__ if p is not None else frame.f_globals["__name__"])
    basis = module.split(".")[-1]
    prefix = _BASES.get(basis, "cheb")
    basis = basis if basis in _BASES else "chebyshev"
    val = f"np.polynomial.{basis}.{prefix}val"
    return (f"numpy.polynomial ({frame.f_code.co_name}) converts its arguments to plain "
            "arrays, so it cannot hold DualNumber coefficients; evaluate with the basis "
            f"matrix, which takes duals for x and c: V = {val}(x[..., None], np.eye(len(c)), "
            "tensor=False), then V @ c"
            + (" (or np.polyval(c[::-1], x))" if prefix == "poly" else "")
            + "; fit with np.linalg.lstsq(V, y) for V of deg + 1 columns")


def astype_refused(dtype: np.dtype, kind: str) -> TypeError:
    """The TypeError for ``x.astype(dtype)`` of a dual of type ``kind``, dtype not floating."""
    return TypeError(f"dualad: astype({dtype}) would drop the derivative; {kind} supports "
                     f"floating dtypes only (use x.value.astype({dtype}) for the plain values)")


def int_too_large(n: int, what: str) -> ValueError:
    """The ValueError for a Python int ``n`` beyond float64's range (``10**400``), which
    ``float`` and numpy refuse with an OverflowError."""
    digits = int(n.bit_length() * 0.30103) + 1  # (str(n) may be refused: too many digits)
    return ValueError(f"dualad: {what} holds an integer too large for float64 (got an int of "
                      f"about {digits} digits; float64 ends near 1.8e308); use floats, scaled "
                      "into range")


def from_python_numbers(arr: np.ndarray, what: str) -> Optional[np.ndarray]:
    """An object array of real numbers with a Python int beyond int64 (numpy's only dtype for
    ``[10**300, 1]``) as float64, else None (other object arrays stay refused); a ValueError
    for an int too large for float64 (``10**400``: numpy would raise OverflowError)."""
    beyond_int64 = False
    for e in arr.flat:
        if isinstance(e, int):
            if not -2 ** 63 <= e < 2 ** 64:
                beyond_int64 = True
                try:
                    float(e)
                except OverflowError:
                    raise int_too_large(e, what) from None
        elif not isinstance(e, (float, np.integer, np.floating)):
            return None
    return arr.astype(np.float64) if beyond_int64 else None


def describe(x: object) -> str:
    """``x``'s dtype or, for objects without one, its type: for error messages."""
    dtype = getattr(x, "dtype", None)
    return f"dtype {dtype}" if isinstance(dtype, np.dtype) else type(x).__name__


def not_real(what: str, x: object) -> TypeError:
    """The TypeError for a ``what`` that is not real numbers (complex, str, object dtype, a
    Fraction, ...): numpy would drop an imaginary part or build an object array."""
    got = describe(x)
    if isinstance(x, complex) or got.startswith("dtype complex"):
        return TypeError(f"dualad: complex {what} is not supported (got {got}); "
                         "pass real and imaginary parts as separate real arrays")
    return TypeError(f"dualad: {what} must be real numbers, got {got}")


# --- array types whose meaning a plain array would lose --------------------------------------
_MASKED = ("(its mask would be dropped); pass np.ma.filled(a, fill) or a.data with the mask "
           "applied yourself")
_MATRIX = "(its * is a matrix product); use np.asarray(m) and @ for matrix products"
_PANDAS = ("(labels and alignment would be lost); pass plain arrays: s.to_numpy(), "
           "df.to_numpy()")
_verdicts: dict = {}  # type -> None (fine) or the message template (refused)


def _verdict(t: type) -> Optional[str]:
    """None for a type whose objects mean what np.asarray of them means, else the template of
    the refusal ('{what}' to fill in). numpy.ma and np.matrix are ndarray subclasses that
    change what numpy computes; pandas objects compute by label; another ndarray subclass
    with its own __array_ufunc__ or __array_function__ may too. (pandas is never imported.)"""
    module = getattr(t, "__module__", None) or ""
    name = getattr(t, "__qualname__", t.__name__)
    if issubclass(t, np.ma.MaskedArray):
        kind = "numpy.ma.MaskedArray" if t is np.ma.MaskedArray else \
            f"{module}.{name} (a numpy.ma.MaskedArray)"
        return f"dualad: {kind} is not supported as {{what}} {_MASKED}"
    if issubclass(t, np.matrix):
        kind = "numpy.matrix" if t is np.matrix else f"{module}.{name} (a numpy.matrix)"
        return f"dualad: {kind} is not supported as {{what}} {_MATRIX}"
    if module == "pandas" or module.startswith("pandas."):
        return f"dualad: pandas.{t.__name__} is not supported as {{what}} {_PANDAS}"
    if issubclass(t, np.ndarray) and t is not np.ndarray and (
            t.__array_ufunc__ is not np.ndarray.__array_ufunc__
            or t.__array_function__ is not np.ndarray.__array_function__):
        return (f"dualad: {module}.{name} (an ndarray subclass with its own numpy semantics) "
                "is not supported as {what}; pass np.asarray(a) if plain arrays mean the same")
    return None


def foreign(x: Any, what: str = "an operand") -> Optional[TypeError]:
    """The TypeError refusing ``x`` (a masked array, an np.matrix, a pandas object, ...: see
    ``_verdict``) or None; lists and tuples are searched, as np.asarray would read them.

    >>> print(foreign(np.ma.masked_array([1.0], mask=[1]), "x"))  # doctest: +ELLIPSIS
    dualad: numpy.ma.MaskedArray is not supported as x (its mask would be dropped); pass ...
    >>> foreign([1.0, np.ones(2)]) is None
    True
    """
    t = type(x)
    if t is list or t is tuple:
        for e in x:
            err = foreign(e, what)
            if err is not None:
                return err
        return None
    try:
        msg = _verdicts[t]
    except KeyError:
        msg = _verdicts[t] = _verdict(t)
    return None if msg is None else TypeError(msg.format(what=what))


def foreign_caller() -> Optional[TypeError]:
    """The refusal of a foreign array type whose own code (numpy.ma's or pandas' operators:
    ``masked * x``, ``series + x``) is converting a dual to a plain array, or None. For the
    message only: it reads the modules of the calling frames up to the first that is not
    numpy's, pandas' or dualad's (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        parts = (frame.f_globals.get("__name__") or "").split(".")
        if parts[:2] == ["numpy", "ma"]:
            return TypeError("dualad: numpy.ma.MaskedArray cannot be combined with a dual "
                             f"{_MASKED}")
        if parts[:2] == ["numpy", "matrixlib"]:
            return TypeError(f"dualad: numpy.matrix cannot be combined with a dual {_MATRIX}")
        if parts[0] == "pandas":
            return TypeError("dualad: pandas objects (Series, DataFrame, Index) cannot be "
                             f"combined with a dual {_PANDAS}")
        if parts[0] not in ("numpy", "dualad"):
            return None
        frame = frame.f_back  # type: ignore[assignment]
    return None


def whole(k: object, name: str, least: int) -> int:
    """``k`` as an int if it is an integer of at least ``least`` (a bool is not: True is not
    1 here), else a ValueError naming it."""
    if type(k) is not int and not (isinstance(k, np.integer) and k.dtype.kind in "iu") \
            or k < least:  # type: ignore[operator]
        what = "non-negative" if least == 0 else "positive"
        raise ValueError(f"dualad: {name} must be a {what} integer, got {k!r}")
    return int(k)  # type: ignore[call-overload]


def checked(x, what: str, shape=None):
    """``x``, what a user's rule returned as ``what``, if it holds real numbers (a number, an
    array, a dual, a Taylor number) broadcastable to ``shape``; else a TypeError or ValueError
    naming ``what``. Unchecked, numpy would drop an imaginary part or build an object array,
    or the chain rule would fail deep inside with numpy's message."""
    if not isinstance(x, (int, float)):
        dtype = getattr(x, "dtype", None)
        if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
            raise TypeError(f"dualad: {what} must be real numbers, got {describe(x)}")
        if shape is not None and x.shape != shape:
            try:
                ok = np.broadcast_shapes(x.shape, shape) == shape
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"dualad: {what} has shape {x.shape}, which does not "
                                 f"broadcast to the output's shape {shape}")
    return x


# modules whose plain numpy ufuncs (which carry no __module__) a message names, once imported
_UFUNC_HOMES = ("scipy.special", "scipy.special._ufuncs")


def ufunc_name(u: Any) -> str:
    """``u``'s qualified name for messages: ``numpy.sin``, ``scipy.special.ndtr``, or the
    defining module's for a numba-vectorized function (nothing is imported to find it).

    >>> ufunc_name(np.sin)
    'numpy.sin'
    """
    name = getattr(u, "__name__", None) or repr(u)
    if getattr(np, name, None) is u:
        return f"numpy.{name}"
    for home in _UFUNC_HOMES:
        module = sys.modules.get(home)
        if module is not None and getattr(module, name, None) is u:
            return f"{home}.{name}"
    module = getattr(u, "__module__", None)  # numba's DUFunc: where it was defined
    return f"{module}.{name}" if isinstance(module, str) and module not in ("", "__main__") \
        else name


def unsupported_ufunc(u: Any, reason: Optional[str] = None) -> TypeError:
    """The TypeError for a ufunc without a rule: ``reason`` says why (an integer ufunc of
    numpy's); without one, how to add a rule with ``register_ufunc``."""
    name = ufunc_name(u)
    if reason is not None:
        return TypeError(f"dualad: {name} is not supported for DualNumber (it {reason})")
    nin, nout = getattr(u, "nin", 0), getattr(u, "nout", 0)
    if nout == 1 and nin == 1:
        how = (f"add one with dualad.register_ufunc({name}, lambda x, ans: <f'(x)>), the "
               "derivative written with numpy calls")
    elif nout == 1 and nin == 2:
        how = (f"add one with dualad.register_ufunc({name}, d_x, d_y): per argument a "
               "derivative (x, y, ans) -> ... written with numpy calls, or None for an "
               "argument that stays constant")
    else:
        how = "wrap it in dualad.custom_jvp with a jvp rule"
    return TypeError(f"dualad: {name} is not supported for DualNumber: dualad has no "
                     f"derivative rule for it; {how}")


def is_ufunc(u: object) -> bool:
    """numpy ufuncs, and numba's DUFunc (not an np.ufunc subclass, but numpy dispatches it)."""
    return isinstance(u, np.ufunc) or (callable(u) and isinstance(getattr(u, "nin", None), int)
                                       and isinstance(getattr(u, "nout", None), int)
                                       and hasattr(u, "reduce"))
