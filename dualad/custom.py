"""Custom derivative rules, registered rules for foreign ufuncs and functions, stop_gradient.

The forward-mode counterparts of ``jax.custom_jvp`` / a PyTorch custom autograd Function:

- ``custom_jvp(fun)`` gives a user function its own derivative: a jvp rule
  ``(primals, tangents) -> (primal_out, tangent_out)`` (``f.defjvp``) or, for elementwise
  functions, one derivative per argument written like a line of the rule table
  (``f.defderiv``).
- ``register_ufunc(ufunc, d1[, d2])`` adds a line to the rule table for a ufunc dualad does not
  know (a ``scipy.special`` ufunc, a numba-vectorized one): DualNumber, HyperDual, Taylor mode
  and every helper pick it up.
- ``register_function(numpy_func, jvp_rule)`` handles a numpy array function dualad lacks.
- ``stop_gradient(x)``: the plain value under every layer of perturbation.

A jvp rule sees the values and tangents at one derivative level only. The values may
themselves be duals of an enclosing level, so a rule written with numpy calls (and calling the
custom function itself for the primal) is differentiated again at the next order: second
derivatives, Hessians and nested helpers work without a second rule.
"""
import functools
import inspect
import numbers
from typing import Any, Callable, Optional, Sequence, SupportsFloat, Tuple

import numpy as np

from . import config
from .core import functions as _functions
from .core.dual import DualNumber
from .core.partials import (accumulate, chain, n_directions, primal, result, split, tag_of,
                            top_tag)
from .errors import checked, is_ufunc, ufunc_name
from .higher import hyperdual, taylor
from .higher.hyperdual import HyperDual
from .higher.kinds import PerturbationMix, TaylorUnsupported
from .higher.taylor import Taylor
from .rules.scipy_special import rule_for, unwrapped
from .rules.table import RULES, Rule, install
from .rules.ufuncs import CUSTOM, PRIMAL, UNSUPPORTED, is_string_ufunc
from .scalar import ScalarDual, to_dual
from .scalar import primal as scalar_primal

__all__ = ["custom_jvp", "register_ufunc", "register_function", "unregister",
           "stop_gradient"]

_DEFAULT_DOMAIN = (-3.0, 3.0)


def _kinds(args: Sequence[Any]) -> set[str]:
    """Which kinds of perturbation appear among ``args``."""
    kinds: set[str] = set()
    for a in args:
        if type(a) is ScalarDual:
            kinds.add("scalar")
        elif isinstance(a, DualNumber):
            kinds.add("dual")
        elif isinstance(a, HyperDual):
            kinds.add("hyper")
        elif isinstance(a, Taylor):
            kinds.add("taylor")
        elif isinstance(a, (list, tuple, dict)) and _kinds(
                list(a.values()) if isinstance(a, dict) else a):
            kinds.add("nested-list")  # (a dict too: not silently differentiated through fun)
    return kinds


class custom_jvp:
    """A function with its own forward-mode derivative rule (``jax.custom_jvp``'s counterpart).

    ``f = custom_jvp(fun)`` behaves like ``fun`` on plain input. Give it a rule with
    ``@f.defjvp``: ``rule(primals, tangents, **kwargs)`` receives a tuple of the positional
    arguments' values and a tuple of their tangents, each of shape ``arg.shape + (n,)`` for
    ``n`` directions, or ``None`` for an argument that is a constant at this level; it returns
    ``(primal_out, tangent_out)`` with ``tangent_out`` of shape ``primal_out.shape + (n,)``
    (``None`` for a constant output). Keyword arguments are passed to ``fun`` and to the rule
    and are not differentiated. Write the rule with numpy calls and compute the primal with
    ``f`` itself: the primals may be duals of an enclosing derivative, and the rule then works
    at every order.

    Numerical stability — softplus ``log(1 + exp(x))`` overflows for large ``x`` and its naive
    derivative ``exp(x) / (1 + exp(x))`` gives ``inf / inf``:

    >>> import numpy as np, dualad as ad
    >>> @ad.custom_jvp
    ... def softplus(x):
    ...     return np.logaddexp(0.0, x)
    >>> @softplus.defjvp
    ... def _(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     sigmoid = 0.5 * (1.0 + np.tanh(0.5 * x))      # stable for any x
    ...     return softplus(x), sigmoid[..., None] * t
    >>> ad.derivative(softplus, 800.0), ad.derivative(softplus, 0.0)
    (1.0, 0.5)
    >>> ad.derivative(softplus, 0.0, order=2)                # the rule, differentiated
    0.25

    A black-box routine — a root found by bisection, differentiated by the implicit function
    theorem (``g(r, a) = r**3 + r - a = 0`` gives ``dr/da = 1 / (3 r**2 + 1)``):

    >>> @ad.custom_jvp
    ... def cubic_root(a):
    ...     lo, hi = -abs(a) - 1.0, abs(a) + 1.0
    ...     for _ in range(100):
    ...         mid = 0.5 * (lo + hi)
    ...         lo, hi = (mid, hi) if mid ** 3 + mid < a else (lo, mid)
    ...     return np.asarray(0.5 * (lo + hi))
    >>> @cubic_root.defjvp
    ... def _(primals, tangents):
    ...     (a,), (t,) = primals, tangents
    ...     r = cubic_root(a)
    ...     return r, t / (3.0 * r ** 2 + 1.0)[..., None]
    >>> round(ad.derivative(cubic_root, 2.0), 12)             # r = 1: 1 / 4
    0.25
    >>> round(ad.derivative(cubic_root, 2.0, order=2), 12)    # -6 r r' / (3r^2+1)^2
    -0.09375

    The root finder only ever sees plain floats: at second order ``cubic_root(a)`` inside the
    rule meets a dual of the outer level and runs the rule again.
    """

    __name__: str  # (fun's, set by functools.update_wrapper)

    def __init__(self, fun: Callable[..., Any]) -> None:
        if not callable(fun):
            raise TypeError(f"dualad: custom_jvp needs a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.jvp: Any = None  # the rule (a callable) when defined with defjvp
        self.rule: Optional[Rule] = None  # a Rule (kind, derivs, domain) when defined with defderiv

    def __repr__(self) -> str:
        return f"<dualad.custom_jvp {getattr(self.fun, '__qualname__', self.fun)!r}>"

    def __get__(self, obj: Any, objtype: Any = None) -> Any:  # usable as a method
        return self if obj is None else functools.partial(self, obj)

    # --- defining the rule ----------------------------------------------------------------
    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Set the jvp rule ``jvp(primals, tangents, **kwargs) -> (primal_out, tangent_out)``.

        Returns ``jvp``, so it works as a decorator.
        """
        _check_callable(jvp, 2, "a jvp rule takes (primals, tangents)")
        if self.jvp is not None or self.rule is not None:
            raise ValueError(f"dualad: {self.__name__} already has a derivative rule")
        self.jvp = jvp
        return jvp

    def defderiv(self, *derivs: Optional[Callable[..., Any]], domain: Any = None,
                 bounded: bool = False) -> "custom_jvp":
        """Elementwise derivatives, one per argument, written as a line of the rule table.

        Each derivative is a function of ``(x, [y, ...,] ans)`` returning the partial
        derivative with respect to its argument (``ans`` is ``fun``'s result), or ``None`` for
        an argument that must be a constant. ``domain`` gives per argument an interval where
        ``fun`` is smooth (used by ``dualad.testing.strategies.well_conditioned``);
        ``bounded=True`` says the derivatives are finite wherever the arguments are. Taylor
        mode (``derivative(..., order>=3)``) and HyperDual use the rule directly.

        >>> import numpy as np, dualad as ad
        >>> log1pexp = ad.custom_jvp(lambda x: np.logaddexp(0.0, x))
        >>> _ = log1pexp.defderiv(lambda x, ans: np.exp(x - ans), bounded=True)
        >>> ad.derivative(log1pexp, 0.0, order=3)            # sigmoid'' at 0
        0.0
        >>> ad.hessian(lambda v: np.sum(log1pexp(v)), [0.0, 1000.0]).tolist()
        [[0.25, 0.0], [0.0, 0.0]]
        """
        if self.jvp is not None or self.rule is not None:
            raise ValueError(f"dualad: {self.__name__} already has a derivative rule")
        if not derivs:
            raise TypeError("dualad: defderiv needs one derivative per argument")
        for d in derivs:
            if d is not None:
                _check_callable(d, len(derivs) + 1, "an elementwise derivative takes the "
                                "arguments and the result: (x, ans) or (x, y, ans)")
        kind = {1: "unary", 2: "binary"}.get(len(derivs), "nary")
        self.rule = Rule(kind, tuple(derivs), _domain(domain, len(derivs)), None, bool(bounded))
        return self

    # --- calling --------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kinds = _kinds(args)
        if not kinds:
            if _kinds(list(kwargs.values())):
                raise TypeError(f"dualad: {self.__name__}: keyword arguments are not "
                                "differentiated; pass perturbed inputs positionally")
            return self.fun(*args, **kwargs)
        if self.jvp is None and self.rule is None:
            raise TypeError(f"dualad: custom_jvp function {self.__name__} has no derivative "
                            "rule; define one with @f.defjvp or f.defderiv(...)")
        if "nested-list" in kinds:
            raise TypeError(f"dualad: {self.__name__}: pass perturbed inputs as arrays, not "
                            "lists or dicts holding duals (np.stack them first)")
        if _kinds(list(kwargs.values())):
            raise TypeError(f"dualad: {self.__name__}: keyword arguments are not "
                            "differentiated; pass perturbed inputs positionally")
        if "scalar" in kinds:  # a scalar dual (derivative of a float): a 0-d DualNumber
            args = tuple(to_dual(a) for a in args)
            kinds = (kinds - {"scalar"}) | {"dual"}
        if len(kinds) > 1:
            raise PerturbationMix(f"dualad: {self.__name__} got perturbations of different "
                                  "kinds (DualNumber, HyperDual, Taylor) in one call")
        if self.rule is not None and kwargs:
            raise TypeError(f"dualad: {self.__name__} has an elementwise rule (defderiv), "
                            "which takes no keyword arguments; use defjvp")
        if self.rule is not None and len(args) != len(self.rule.derivs):
            raise TypeError(f"dualad: {self.__name__} has {len(self.rule.derivs)} derivatives "
                            f"(defderiv, one per argument) but was called with {len(args)} "
                            "arguments")
        if "hyper" in kinds:
            if self.rule is not None and len(args) <= 2:
                return hyperdual.apply_rule(self, self.rule, args)
            return hyperdual.via_nested(self, args, kwargs)  # the equivalent dual of duals
        if "taylor" in kinds:
            if self.rule is not None:
                return taylor.apply_rule(self, self.rule, args)
            raise TaylorUnsupported(f"dualad: custom_jvp function {self.__name__} in Taylor "
                                    "mode")
        if self.rule is not None:
            return _apply_elementwise(self, args)
        return self._apply_jvp(args, kwargs)

    def _apply_jvp(self, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
        tag = top_tag(args)
        primals, tangents = zip(*(split(a, tag) for a in args))
        n = n_directions(*tangents)
        out = self.jvp(primals, tangents, **kwargs)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError(f"dualad: the jvp rule of {self.__name__} must return "
                            f"(primal_out, tangent_out), got {type(out).__name__}")
        primal_out, tangent_out = out
        if isinstance(primal_out, tuple):
            if not (isinstance(tangent_out, tuple) and len(tangent_out) == len(primal_out)):
                raise TypeError(f"dualad: the jvp rule of {self.__name__} returned "
                                f"{len(primal_out)} outputs; tangent_out must be a tuple of "
                                "as many tangents (None for a constant one)")
            return tuple(self._output(p, t, tag, n) for p, t in zip(primal_out, tangent_out))
        return self._output(primal_out, tangent_out, tag, n)

    def _output(self, value: Any, tangent: Any, tag: int, n: int) -> Any:
        if tag_of(value) >= tag or tag_of(tangent) >= tag:
            raise ValueError(f"dualad: the jvp rule of {self.__name__} returned a value that "
                             "still carries the perturbation it should have removed; compute "
                             "the outputs from the primals and tangents it receives")
        what = f"the value of {self.__name__}"
        value = checked(_as_array(value, what), what)
        if isinstance(value, np.ndarray) and value.dtype.kind in "biu":
            value = value.astype(np.float64)
        shape = np.shape(value)
        if tangent is None:
            return value
        what = f"the tangent of {self.__name__}'s jvp rule"
        tangent = checked(_as_array(tangent, what), what)
        if not isinstance(tangent, DualNumber):
            tangent = tangent.astype(np.result_type(primal(value), np.float32), copy=False)
        t_shape = np.shape(tangent)
        try:
            ok = len(t_shape) == len(shape) + 1 and t_shape[-1] == n and \
                np.broadcast_shapes(t_shape[:-1], shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"dualad: the jvp rule of {self.__name__} returned a tangent of "
                             f"shape {t_shape}; expected the output's shape plus the "
                             f"directions axis, {shape + (n,)} (use d[..., None] * t)")
        return result(value, tangent, tag)


def _apply_elementwise(f: Any, args: Sequence[Any]) -> Any:
    """The chain rule for an elementwise custom function, as ``core.ufunc.apply_rule``."""
    rule = f.rule
    tag = top_tag(args)
    values, partials = zip(*(split(a, tag) for a in args))
    n_directions(*partials)
    for i, (d, p) in enumerate(zip(rule.derivs, partials)):
        if p is not None and d is None:
            raise TypeError(f"dualad: {f.__name__} cannot be differentiated with respect to "
                            f"argument {i}; pass a constant")
    what = f"the value of {f.__name__}"
    ans = checked(_as_array(f(*values), what), what)
    if isinstance(ans, np.ndarray) and ans.dtype.kind in "biu":
        ans = ans.astype(np.float64)
    terms = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i, (d, p) in enumerate(zip(rule.derivs, partials)):
            if p is not None:
                g = checked(d(*values, ans), f"derivative {i} of {f.__name__}", ans.shape)
                terms.append(chain(p, g, guard=not rule.bounded))
    return result(ans, accumulate(*terms), tag)


def _as_array(x: Any, what: str) -> Any:
    if isinstance(x, (np.ndarray, DualNumber)):
        return x
    try:
        return np.asarray(x)
    except (ValueError, TypeError) as err:  # (a ragged tuple: numpy's message names nothing)
        raise TypeError(f"dualad: {what} must be real numbers or an array, got "
                        f"{type(x).__name__}") from err


def _check_callable(fn: Any, nargs: int, what: str) -> None:
    if not callable(fn):
        raise TypeError(f"dualad: {what}; got {type(fn).__name__}")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # builtins and compiled functions: checked when called
    try:
        sig.bind(*range(nargs))
    except TypeError:
        raise TypeError(f"dualad: {what}; {getattr(fn, '__name__', fn)} has signature "
                        f"{sig}") from None


def _domain(domain: Any, nin: int) -> Tuple[Tuple[float, float], ...]:
    if domain is None:
        return (_DEFAULT_DOMAIN,) * nin
    what = f"dualad: domain must give one interval (lo, hi), lo < hi, per argument ({nin})"
    given = domain
    try:
        domain = tuple(domain)
        if nin == 1 and len(domain) == 2 and all(isinstance(d, numbers.Real) for d in domain):
            domain = (domain,)  # one interval for a one-argument function
        domain = tuple(tuple(iv) for iv in domain)
        real = all(isinstance(d, numbers.Real) for iv in domain for d in iv)
    except TypeError:  # not a sequence (domain=5)
        real = False
    if not real:
        raise TypeError(f"{what}, as pairs of real numbers; got {given!r}")
    if len(domain) != nin or not all(len(iv) == 2 and iv[0] < iv[1] for iv in domain):
        raise ValueError(f"{what}, got {domain!r}")
    return tuple((float(lo), float(hi)) for lo, hi in domain)


# =========================================================================================
# registering rules for ufuncs and array functions dualad does not know
# =========================================================================================
_REGISTERED: dict[Any, Any] = {}  # object -> what to restore on unregister (None: nothing)


def _ufunc_name(u: Any) -> str:
    return getattr(u, "__name__", repr(u))


def _forget(ufunc: Any) -> None:
    """Drop what the kernels derived from an earlier rule of ``ufunc`` (calibration, code)."""
    config.forget(ufunc)


def register_ufunc(ufunc: Any, *derivs: Any, domain: Any = None, bounded: bool = False) -> Any:
    """Add a rule for ``ufunc`` to the rule table; returns ``ufunc``.

    ``derivs`` holds one derivative per input, a function of ``(x, ans)`` or ``(x, y, ans)``
    written with numpy calls (so that it also works on duals: second and higher derivatives
    come from it), ``None`` for an argument that must be a constant, or numbers (all of them)
    for a linear ufunc. ``domain`` is an interval per argument where the ufunc is smooth (for
    tests, see ``dualad.testing``); ``bounded=True`` marks derivatives finite wherever the
    arguments are. Works for numpy-dispatching ufuncs such as ``scipy.special.*`` and
    numba-vectorized functions; ufuncs dualad already handles are refused.

    >>> import math, numba, numpy as np, dualad as ad
    >>> @numba.vectorize(["float64(float64)"])
    ... def softsign(x):
    ...     return x / (1.0 + abs(x))
    >>> _ = ad.register_ufunc(softsign, lambda x, ans: 1.0 / (1.0 + np.abs(x)) ** 2)
    >>> ad.derivative(softsign, 1.0), ad.derivative(softsign, 1.0, order=2)
    (0.25, -0.25)
    >>> ad.unregister(softsign)
    """
    ufunc = unwrapped(ufunc)  # (scipy's array-API wrappers, SCIPY_ARRAY_API=1, keep the ufunc)
    if not is_ufunc(ufunc):
        raise TypeError(f"dualad: register_ufunc needs a numpy ufunc (or a numba-vectorized "
                        f"one), got {type(ufunc).__name__}; use custom_jvp for other functions")
    name = ufunc_name(ufunc)
    _refuse_known_ufunc(ufunc, name)
    if ufunc.nout != 1:
        raise ValueError(f"dualad: {name} has {ufunc.nout} outputs; the rule table holds "
                         "ufuncs with one output (use custom_jvp)")
    if ufunc.nin not in (1, 2):
        raise ValueError(f"dualad: {name} takes {ufunc.nin} arguments; the rule table holds "
                         "ufuncs of one or two arguments (use custom_jvp)")
    if len(derivs) != ufunc.nin:
        raise TypeError(f"dualad: {name} takes {ufunc.nin} argument(s): give {ufunc.nin} "
                        f"derivative(s), got {len(derivs)}")
    if all(isinstance(d, numbers.Real) for d in derivs):
        kind, derivs = "linear", tuple(float(d) for d in derivs)
    else:
        kind = "unary" if ufunc.nin == 1 else "binary"
        derivs = tuple(_const(d) if isinstance(d, numbers.Real) else d for d in derivs)
        if all(d is None for d in derivs):
            raise ValueError(f"dualad: {name}: every argument marked constant (None); "
                             "a rule needs at least one derivative")
        for d in derivs:
            if d is not None:
                _check_callable(d, ufunc.nin + 1, "a derivative takes the arguments and the "
                                "result: (x, ans) or (x, y, ans)")
    install(ufunc, Rule(kind, derivs, _domain(domain, ufunc.nin), None, bool(bounded)))
    _REGISTERED[ufunc] = None
    return ufunc


def _const(c: SupportsFloat) -> Callable[..., Any]:
    c = float(c)
    return lambda *args: c


def _refuse_known_ufunc(ufunc: Any, name: str) -> None:
    if rule_for(ufunc) is not None:  # (also scipy.special's, not yet used)
        raise ValueError(f"dualad: {name} already has a derivative rule"
                         + (" (registered by register_ufunc; unregister it first)"
                            if ufunc in _REGISTERED else ""))
    for what, group in (("returns plain values (a comparison or predicate)", PRIMAL),
                        ("has a dedicated implementation", CUSTOM),
                        ("is not differentiable", UNSUPPORTED)):
        if ufunc in group:
            raise ValueError(f"dualad: {name} is already handled by dualad: it {what}")
    if isinstance(ufunc, np.ufunc) and is_string_ufunc(ufunc):
        raise ValueError(f"dualad: {name} is a string ufunc")


def register_function(func: Callable[..., Any], jvp_rule: Callable[..., Any]) -> Callable[..., Any]:
    """Handle the numpy array function ``func`` on duals with ``jvp_rule``; returns ``func``.

    ``jvp_rule(primals, tangents, **kwargs)`` is a custom_jvp rule: positional arguments'
    values and tangents (``arg.shape + (n,)`` or ``None``) in, ``(primal_out, tangent_out)``
    out. Only numpy functions that dispatch to ``__array_function__`` and that dualad does not
    handle yet can be registered (``np.i0``, ``np.convolve``, ...). HyperDual runs the rule on
    the equivalent dual of duals; ``derivative(order>=3)`` falls back to nested duals.

    >>> import numpy as np, dualad as ad
    >>> def i1(x):  # modified Bessel function I1, the derivative of I0 (a series, numpy only)
    ...     k = np.arange(30.0)
    ...     fact = np.cumprod(np.concatenate([[1.0], np.arange(1.0, 30.0)]))
    ...     return np.sum((0.5 * x[..., None]) ** (2 * k + 1) / (fact * fact * (k + 1)), -1)
    >>> def i0_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return np.i0(x), i1(x)[..., None] * t
    >>> _ = ad.register_function(np.i0, i0_jvp)
    >>> round(ad.derivative(np.i0, 1.0), 10)         # I1(1)
    0.565159104
    >>> round(ad.derivative(np.i0, 1.0, order=2), 10)   # I0(1) - I1(1)
    0.7009067738
    >>> ad.unregister(np.i0)
    """
    if not callable(func) or not hasattr(func, "_implementation"):
        what = "a ufunc: use register_ufunc" if is_ufunc(func) else \
            "not a numpy function that dispatches to __array_function__; wrap your own " \
            "functions with custom_jvp"
        raise TypeError(f"dualad: register_function: {_ufunc_name(func)} is {what}")
    name = _functions._qualname(func)
    if func in _functions.HANDLED:
        raise ValueError(f"dualad: {name} is already handled by dualad (category "
                         f"{_functions.CATEGORY.get(func)!r})"
                         + ("; unregister it first" if func in _REGISTERED else ""))
    _check_callable(jvp_rule, 2, "a jvp rule takes (primals, tangents)")
    impl = custom_jvp(func)
    impl.defjvp(jvp_rule)
    _REGISTERED[func] = _functions.UNSUPPORTED.pop(func, None)
    _functions.HANDLED[func] = impl
    _functions.CATEGORY[func] = "custom"
    return func


def unregister(func: Any) -> None:
    """Undo ``register_ufunc`` / ``register_function`` for ``func`` (dualad's own rules stay).

    >>> import numba, numpy as np, dualad as ad
    >>> @numba.vectorize(["float64(float64)"])
    ... def cube(x):
    ...     return x * x * x
    >>> _ = ad.register_ufunc(cube, lambda x, ans: 3.0 * x * x)
    >>> ad.derivative(cube, 2.0)
    12.0
    >>> ad.unregister(cube)
    >>> cube(ad.DualNumber(2.0, 1.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: dualad: ...cube is not supported for DualNumber: dualad has no derivative ...
    """
    if func not in _REGISTERED:
        func = unwrapped(func)
    if func not in _REGISTERED:
        raise ValueError(f"dualad: {_ufunc_name(func)} was not registered with "
                         "register_ufunc or register_function")
    reason = _REGISTERED.pop(func)
    if func in RULES:
        del RULES[func]
        _forget(func)
    else:
        del _functions.HANDLED[func]
        del _functions.CATEGORY[func]
        if reason is not None:
            _functions.UNSUPPORTED[func] = reason


# =========================================================================================
# stopping derivatives
# =========================================================================================
def stop_gradient(x: Any) -> Any:
    """The plain value of ``x`` under every layer of perturbation: a constant from now on.

    The counterpart of ``jax.lax.stop_gradient`` and PyTorch's ``.detach()`` /
    ``torch.no_grad()``. Works on DualNumber (all nesting levels), the scalar duals of
    ``derivative`` on floats, HyperDual and Taylor, maps over lists, tuples and dicts
    (parameter trees), and returns anything else unchanged. The result shares memory with
    ``x``'s value, as ``.detach()`` does.

    >>> import numpy as np, dualad as ad
    >>> ad.derivative(lambda x: x * ad.stop_gradient(x), 3.0)   # d/dx (x * c) with c = x
    3.0
    >>> ad.hessian(lambda v: np.sum(v ** 2 * ad.stop_gradient(v)), [1.0, 2.0]).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    """
    if isinstance(x, DualNumber):
        return primal(x)
    if type(x) is ScalarDual:
        return scalar_primal(x)
    if isinstance(x, (HyperDual, Taylor)):
        return np.asarray(x.value)
    if isinstance(x, (list, tuple)):
        return type(x)(stop_gradient(e) for e in x)
    if isinstance(x, dict):
        return {k: stop_gradient(v) for k, v in x.items()}
    return x
