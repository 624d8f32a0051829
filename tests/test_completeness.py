"""Every numpy function and ufunc that can reach a DualNumber is in exactly one category.

numpy's own lists of overridable functions are the reference (as astropy does): a new numpy
release that adds a function makes these tests fail until the function is categorized.
"""
import numpy as np
import pytest
from numpy.testing.overrides import (get_overridable_numpy_array_functions,
                                     get_overridable_numpy_ufuncs)

import dualad as ad
from dualad.core import functions as _functions
from dualad.rules import ufuncs as _ufunc
from dualad.errors import ufunc_name
from dualad.rules.table import RULES

FUNCTIONS = get_overridable_numpy_array_functions()
UFUNCS = get_overridable_numpy_ufuncs()
FUNCTION_CATEGORIES = {"structural", "linear", "custom", "primal"}


def _name(f):
    return f"{getattr(f, '__module__', '?')}.{f.__name__}"


def test_every_overridable_function_is_categorized_once():
    problems = []
    for f in FUNCTIONS:
        where = [f in _functions.HANDLED, f in _functions.UNSUPPORTED]
        if sum(where) != 1:
            problems.append((_name(f), where))
    assert not problems, f"functions not in exactly one of HANDLED/UNSUPPORTED: {problems}"


def test_handled_functions_have_a_category():
    assert set(_functions.HANDLED) == set(_functions.CATEGORY)
    assert set(_functions.CATEGORY.values()) <= FUNCTION_CATEGORIES
    assert set(_functions.CATEGORY.values()) == FUNCTION_CATEGORIES  # each one is used


def test_registries_hold_only_overridable_functions():
    # an entry numpy never dispatches to us would be dead code (or a wrong object)
    extra = [_name(f) for f in list(_functions.HANDLED) + list(_functions.UNSUPPORTED)
             if f not in FUNCTIONS]
    assert not extra


def test_unsupported_entries_give_a_reason():
    assert all(isinstance(r, str) and r for r in _functions.UNSUPPORTED.values())
    assert all(isinstance(r, str) and r for r in _ufunc.UNSUPPORTED.values())


def _ufunc_categories(u):
    return [name for name, member in (
        ("RULES", u in RULES), ("PRIMAL", u in _ufunc.PRIMAL), ("CUSTOM", u in _ufunc.CUSTOM),
        ("UNSUPPORTED", u in _ufunc.UNSUPPORTED), ("string", _ufunc.is_string_ufunc(u)))
        if member]


def test_every_overridable_ufunc_is_categorized_once():
    problems = [(u.__name__, cats) for u in UFUNCS if len(cats := _ufunc_categories(u)) != 1]
    assert not problems, f"ufuncs not in exactly one category: {problems}"


def test_ufunc_categories_are_disjoint_and_known():
    groups = {"RULES": set(RULES), "PRIMAL": set(_ufunc.PRIMAL),
              "CUSTOM": set(_ufunc.CUSTOM), "UNSUPPORTED": set(_ufunc.UNSUPPORTED)}
    names = list(groups)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not groups[a] & groups[b], (a, b, groups[a] & groups[b])
    for a, members in groups.items():
        # (RULES may also hold scipy.special's ufuncs: installed when first used)
        numpy_ufuncs = {u for u in members if isinstance(u, np.ufunc)
                        and not ufunc_name(u).startswith("scipy.special.")}
        assert numpy_ufuncs <= set(UFUNCS), (a, numpy_ufuncs - set(UFUNCS))
        # besides numpy's ufuncs only RULES holds others: dualad's own (erf, gamma, ...)
        assert a == "RULES" or numpy_ufuncs == members, a


def test_string_ufuncs_really_are_string_ufuncs():
    # independent check: a string ufunc has no numeric (float) loop
    for u in UFUNCS:
        if _ufunc.is_string_ufunc(u):
            assert not any("d" in t or "f" in t for t in u.types), u.__name__
    assert _ufunc.is_string_ufunc(np.strings.str_len)
    assert not _ufunc.is_string_ufunc(np.sin)
    assert not _ufunc.is_string_ufunc(np.add)


def test_float_ufuncs_are_not_left_to_unsupported():
    # a ufunc with float loops and a derivative belongs in RULES (or PRIMAL/CUSTOM);
    # UNSUPPORTED is for integer, bit and datetime ufuncs (and numpy-internal helpers)
    for u in _ufunc.UNSUPPORTED:
        if u.__name__.startswith("_"):
            continue
        assert not any(t.endswith("->d") and set(t[:-3]) <= {"d"} for t in u.types), u


# =========================================================================================
# unsupported ones raise a TypeError naming the function
# =========================================================================================
X = ad.DualNumber(np.array([1.0, 2.0, 3.0]), np.eye(3))
M = ad.DualNumber(np.array([[2.0, 1.0], [1.0, 3.0]]), np.ones((2, 2, 1)))

UNSUPPORTED_CALLS = [
    ("histogram", lambda: np.histogram(X)),
    ("ediff1d", lambda: np.ediff1d(X)),
    ("apply_over_axes", lambda: np.apply_over_axes(np.sum, X, [0])),
    ("nanmedian", lambda: np.nanmedian(X)),
    ("eye", lambda: np.eye(2, like=X)),
    ("ones", lambda: np.ones(2, like=X)),
    ("asarray", lambda: np.asarray(X, like=X)),
    ("intersect1d", lambda: np.intersect1d(X, X)),
    ("equal", lambda: np.char.equal(X, X)),
    ("upper", lambda: np.strings.upper(X)),
    ("sort_complex", lambda: np.sort_complex(X)),
]


@pytest.mark.parametrize("name,call", UNSUPPORTED_CALLS, ids=[n for n, _ in UNSUPPORTED_CALLS])
def test_unsupported_function_raises_naming_it(name, call):
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        call()


UNSUPPORTED_UFUNCS = [
    ("gcd", lambda: np.gcd(X, X)),
    ("bitwise_and", lambda: np.bitwise_and(X, 3)),
    ("left_shift", lambda: X << 1),
    ("invert", lambda: ~X),
    ("str_len", lambda: np.strings.str_len(X)),
    ("isalpha", lambda: np.strings.isalpha(X)),
    ("_ones_like", lambda: np._core.umath._ones_like(X)),
    ("add.outer", lambda: np.add.outer(X, X)),
    ("multiply.reduceat", lambda: np.multiply.reduceat(X, [0, 2])),
    ("add.at", lambda: np.add.at(X, [0], 1.0)),
    ("subtract.reduce", lambda: np.subtract.reduce(X)),
    ("maximum.reduceat", lambda: np.maximum.reduceat(X, [0, 2])),
    ("divide.accumulate", lambda: np.divide.accumulate(X)),
]


@pytest.mark.parametrize("name,call", UNSUPPORTED_UFUNCS, ids=[n for n, _ in UNSUPPORTED_UFUNCS])
def test_unsupported_ufunc_raises_naming_it(name, call):
    with pytest.raises(TypeError, match=name.replace(".", r"\.")):
        call()


def test_every_unsupported_ufunc_raises():
    for u in list(_ufunc.UNSUPPORTED) + [u for u in UFUNCS if _ufunc.is_string_ufunc(u)]:
        with pytest.raises(TypeError, match=u.__name__):
            u(*([X] * u.nin))


def test_every_unsupported_function_raises_with_its_reason():
    # calling through the dispatch entry point itself: the message names function and reason
    for f, reason in _functions.UNSUPPORTED.items():
        with pytest.raises(TypeError, match=f.__name__) as err:
            _functions.array_function(f, (type(X),), (X,), {})
        assert reason in str(err.value)


def test_unknown_function_is_refused_not_dropped():
    def not_numpy(x):
        return x
    with pytest.raises(TypeError, match="not_numpy"):
        _functions.array_function(not_numpy, (type(X),), (X,), {})


def test_foreign_types_give_not_implemented():
    class Other:
        pass
    assert _functions.array_function(np.sum, (type(X), Other), (X,), {}) is NotImplemented
