"""Hook slots: where faster routes plug into the core without the core importing them.

The core computes everything with numpy. ``dualad.accel`` (numba) fills these slots when
``dualad`` is imported; with a slot empty the numpy route runs, giving the same numbers (the
one documented exception: sin and cos values of large float64 arrays come from accel's
vectorized kernels, within 1 ulp of numpy's).

The core's own modules fill the dispatch slots (``array_ufunc``, ``array_function``,
``setitem``) when ``dualad.core`` loads, so ``DualNumber`` itself imports no dispatch code.
"""
from typing import Any, Callable, Optional, Tuple


class Pending:
    """Base of partials not computed yet (accel's deferred chains): ``materialize()``
    returns the partials array."""

    __slots__ = ()

    def materialize(self) -> Any:
        raise NotImplementedError


# --- filled by dualad.core (dispatch) -------------------------------------------------------
array_ufunc: Callable[..., Any]
array_function: Callable[..., Any]
setitem: Callable[..., None]
#: converters of foreign scalar duals (dualad.scalar's) to 0-d DualNumbers: ``{type: fn}``
as_array_dual: dict = {}

# --- filled by dualad.array_api -------------------------------------------------------------
#: ``array_namespace(api_version)``: the array API namespace module (DualNumber's
#: ``__array_namespace__``)
array_namespace: Callable[..., Any]

# --- filled by dualad.accel (speed only) ----------------------------------------------------
#: ``defer(ufunc, rule, inputs, tag)``: a dual with pending partials, or None
defer: Optional[Callable[..., Any]] = None
#: ``fused(ufunc, rule, values, partials)``: ``(value, partials)`` in one pass, or None
fused: Optional[Callable[..., Optional[Tuple[Any, Any]]]] = None
#: ``value(ufunc, values)``: a rule's value on plain data
value: Optional[Callable[..., Any]] = None
#: the chain rule's loops on large contiguous data: an object with ``fusable``, ``chain1``,
#: ``chain2`` and ``chain_same`` (see dualad.accel.kernels), or None
chain_kernels: Any = None
#: HyperDual's gradient-and-Hessian updates: an object with ``hyper_chain1`` and
#: ``hyper_chain2``, or None for the numpy versions
hyper_kernels: Any = None
#: ``compile_program(program)``: a recorded ``ad.jit`` program (dualad.jit.program) as one
#: compiled function of its inputs (returning None where it does not apply), or False
compile_program: Optional[Callable[..., Any]] = None
#: ``before_write(array)``: compute pending partials that read ``array`` before it changes
before_write: Optional[Callable[[Any], None]] = None
