"""Parameter pytrees: a list, tuple or dict (nested) of arrays, flattened to one vector.

A list or tuple of plain numbers is an array, not a tree; a container holding arrays (or
other containers of arrays) is a tree. Leaves keep their shapes and dtypes.
"""
from typing import Any, Callable, Iterable, Iterator, Tuple

import numpy as np

from ..errors import foreign


def is_tree(x: Any) -> bool:
    if isinstance(x, dict):
        return True
    if isinstance(x, (list, tuple)):
        return any(isinstance(e, (np.ndarray, dict)) or (isinstance(e, (list, tuple))
                                                          and is_tree(e)) for e in x)
    return False


def leaves(tree: Any) -> list[Any]:
    """The leaves in a fixed order (dicts by insertion order)."""
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in leaves(v)]
    if isinstance(tree, (list, tuple)) and is_tree(tree):
        return [leaf for v in tree for leaf in leaves(v)]
    return [tree]


def rebuild(tree: Any, new_leaves: Iterable[Any]) -> Any:
    """``tree``'s structure with ``new_leaves`` (an iterator or list) in place of its own."""
    return _build(tree, iter(new_leaves))


def _build(t: Any, it: Iterator[Any]) -> Any:
    # module level: a recursive closure would be a reference cycle holding the leaves
    if isinstance(t, dict):
        return {k: _build(v, it) for k, v in t.items()}
    if isinstance(t, (list, tuple)) and is_tree(t):
        return type(t)(_build(v, it) for v in t)
    return next(it)


def flatten(tree: Any) -> Tuple[np.ndarray, Callable[..., Any]]:
    """``(vector, unflatten)``: all leaves raveled into one float vector, and the inverse.

    ``unflatten`` works on plain vectors and on duals alike (slices and reshapes), and on a
    trailing axis: ``unflatten(m, lead=k)`` splits the last axis of an array whose first
    ``k`` axes are kept.
    """
    for leaf in leaves(tree):
        err = foreign(leaf, "a leaf of a parameter tree")
        if err is not None:
            raise err
    arrays = [np.asarray(leaf) for leaf in leaves(tree)]
    for leaf, a in zip(leaves(tree), arrays):
        if a.dtype.kind not in "biuf":  # (None, strings, complex: not real parameters)
            raise TypeError(f"dualad: a parameter tree holds {type(leaf).__name__} of dtype "
                            f"{a.dtype}; its leaves must be real numbers or arrays")
    dtype = np.result_type(*(a.dtype if a.dtype.kind == "f" else np.float64 for a in arrays))
    shapes = [a.shape for a in arrays]
    sizes = [a.size for a in arrays]
    bounds = np.cumsum([0] + sizes)
    vector = np.concatenate([a.ravel().astype(dtype) for a in arrays]) if arrays else \
        np.zeros(0, dtype)

    def unflatten(v: Any, lead: int = 0) -> Any:
        lead_shape = np.shape(v)[:lead]
        parts = []
        for shape, lo, hi in zip(shapes, bounds[:-1], bounds[1:]):
            piece = v[(slice(None),) * lead + (slice(lo, hi),)]
            parts.append(np.reshape(piece, lead_shape + shape))
        return rebuild(tree, parts)
    return vector, unflatten
