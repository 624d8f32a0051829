"""Perturbation tags: every helper call draws a fresh one.

Duals built by hand carry tag 0 and share one epsilon. A dual of tag ``t`` may hold duals of
smaller tags in its value and partials, never larger ones: when duals of different tags meet,
the younger (larger) tag becomes the outer layer and the older ones are constants for it. This
is how ``derivative(lambda x: x * derivative(lambda y: x + y, 1.0), 1.0)`` stays correct.
"""
import itertools

_counter = itertools.count(1)


def new_tag():
    """A tag no existing dual carries."""
    return next(_counter)
