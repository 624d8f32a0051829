"""What the higher-order number types share: their fallback signals, and a marker base that
lets Taylor recognise HyperDual without importing it (hyperdual.py imports taylor.py).

The signals are TypeErrors, and user code may swallow them (``try: ... except TypeError``):
every one made while a helper watches (``FallbackWatch``) is counted, and the helper, seeing
the count move, discards what ``f`` returned and redoes the work with nested duals, as when
the signal reaches it."""
from contextvars import ContextVar, Token
from typing import Any, List, Optional

#: the count of fallback signals of the outermost watching helper of this context (a list:
#: a copy of the context, made inside f, shares it); None where no helper watches
_SIGNALS: ContextVar[Optional[List[int]]] = ContextVar("dualad_fallback_signals",
                                                       default=None)


class TaylorUnsupported(TypeError):
    """An operation Taylor mode does not cover (derivative() then uses nested duals)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        count = _SIGNALS.get()
        if count is not None:
            count[0] += 1  # (caught or not: the watching helper redoes the work)


class PerturbationMix(TaylorUnsupported):
    """Perturbations of two kinds (Taylor, HyperDual, DualNumber) met in one operation.

    It happens when one helper differentiates a function that calls another (a Hessian
    inside a derivative, a high-order derivative inside a Hessian). Taylor and HyperDual carry
    no tags, so the helpers that made them catch this and redo the work with tagged nested
    duals; raised as a TypeError to anyone else.
    """


class SecondOrder:
    """Base of ``HyperDual``: tagless numbers that carry second derivatives."""

    __slots__ = ()


class FallbackWatch:
    """``with FallbackWatch() as watch: y = f(...)``, then ``watch.signalled``: whether a
    fallback signal (a TaylorUnsupported) was made meanwhile, in this thread or context,
    whether it propagated or user code swallowed it.

    Helpers nest: an inner watch counts on the outer's counter and compares it before and
    after, so a signal under an inner helper is seen by every helper around it (at worst an
    outer helper redoes work needlessly, never keeps a wrong result)."""

    __slots__ = ("_count", "_start", "_token")
    _count: List[int]
    _start: int
    _token: Optional[Token]

    def __enter__(self) -> "FallbackWatch":
        count = _SIGNALS.get()
        self._token = None
        if count is None:
            count = [0]
            self._token = _SIGNALS.set(count)
        self._count, self._start = count, count[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _SIGNALS.reset(self._token)

    @property
    def signalled(self) -> bool:
        return self._count[0] != self._start
