"""What the higher-order number types share: their fallback signals, and a marker base that
lets Taylor recognise HyperDual without importing it (hyperdual.py imports taylor.py)."""


class TaylorUnsupported(TypeError):
    """An operation Taylor mode does not cover (derivative() then uses nested duals)."""


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
