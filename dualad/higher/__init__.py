"""Higher orders: HyperDual (exact second derivatives in one pass), traced second
derivatives of the rule table, Taylor mode (derivatives of order k in O(k^2))."""
from .hyperdual import HyperDual
from .kinds import PerturbationMix, TaylorUnsupported
from .taylor import Taylor

__all__ = ["HyperDual", "PerturbationMix", "Taylor", "TaylorUnsupported"]
