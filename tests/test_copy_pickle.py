"""Copies and pickles of duals never give a silently wrong derivative.

* ``copy.copy`` / ``copy.deepcopy`` of a DualNumber, HyperDual or Taylor copy the arrays, as
  numpy's ``copy.copy(ndarray)`` does: writing into the copy leaves the original as it was.
* A dual pickled in another process (a subprocess, a spawned or forked pool worker) carries a
  tag this process never hands out: a helper running here takes it for a constant, not for
  its own perturbation, even when the other process's tag has the same number.
"""
import concurrent.futures
import copy
import multiprocessing
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import dualad as ad
from dualad.core import tags
from dualad.core.dual import make
from dualad.higher import HyperDual, Taylor
from dualad.scalar import ScalarDual

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
no_fork = pytest.mark.skipif(sys.platform == "win32" or not hasattr(os, "fork"),
                             reason="no fork on this platform")


# --- copy.copy / copy.deepcopy ---------------------------------------------------------------
def _nested_dual():
    """A dual of duals leaked out of a second derivative (tag of the outer call over the
    inner's), its value and partials both duals."""
    box = []

    def f(x):
        box.append(x * x)
        return x ** 3
    assert ad.derivative(f, np.array(1.5), order=2) == pytest.approx(9.0)
    d = box[-1]
    assert isinstance(d.value, ad.DualNumber) and isinstance(d.partials, ad.DualNumber)
    return d


def _arrays(d):
    """Every array inside a (nested) DualNumber, copied."""
    if isinstance(d, ad.DualNumber):
        return _arrays(d.value) + _arrays(d.partials)
    return [np.array(d, copy=True)]


def _scribble(d):
    """Writes into every array of a (nested) DualNumber."""
    if isinstance(d, ad.DualNumber):
        _scribble(d.value)
        _scribble(d.partials)
    else:
        d[...] = -7.0


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_dual_owns_its_arrays(how):
    d = ad.DualNumber([1.0, 2.0, 3.0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    c = how(d)
    c.value[0] = 9.0
    c.partials[1, 1] = 9.0
    c[2] = 5.0
    assert d.value.tolist() == [1.0, 2.0, 3.0]
    assert d.partials.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    assert c.value.tolist() == [9.0, 2.0, 5.0] and c._tag == d._tag


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_view_owns_its_arrays(how):
    d = ad.DualNumber([1.0, 2.0, 3.0], [1.0, 1.0, 1.0])
    v = d[1:]
    c = how(v)
    c.value[0] = 9.0
    c.partials[0, 0] = 9.0
    c[1] = 4.0
    assert d.value.tolist() == [1.0, 2.0, 3.0] and d.partials[:, 0].tolist() == [1.0] * 3


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_nested_dual_owns_its_arrays(how):
    d = _nested_dual()
    before = _arrays(d)
    c = how(d)
    assert c._tag == d._tag and c.value._tag == d.value._tag
    _scribble(c)
    for a, b in zip(before, _arrays(d)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_inside_a_second_derivative(how):
    def f(x):
        x = x * 1.0  # (a computed dual: its arrays are writable)
        y = how(x)
        _scribble(y)
        y[...] = 0.0
        return x ** 3
    assert ad.derivative(f, np.array(2.0), order=2) == pytest.approx(12.0)


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
@pytest.mark.parametrize("computed", [False, True], ids=["seed", "computed"])
def test_writing_into_a_copy_keeps_the_gradient(how, computed):
    def f(x):
        if computed:
            x = x * 1.0
        y = how(x)
        y[0] = 0.0
        return np.sum(x * x)
    np.testing.assert_array_equal(ad.gradient(f, [1.0, 1.0, 1.0]), [2.0, 2.0, 2.0])


def _hyperduals():
    h = HyperDual.seed(np.array([1.0, 2.0]))
    yield "terms", h[0] ** 2 * h[1]
    yield "expanded", (h[0] ** 2 * h[1])._expand()
    yield "stacked", np.sum(np.sin(h)) * np.array([2.0, 3.0])
    yield "seed", HyperDual(np.array([1.0, 2.0]), np.eye(2), np.zeros((2, 3)))


def _writable_arrays(h):
    terms = [a for term in h._terms for a in term]
    return [a for a in [h.value, h.grad, h._hess, h._stacked] + terms
            if isinstance(a, np.ndarray) and a.flags.writeable]


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_hyperdual_owns_its_arrays(how):
    for (name, h), (_, ref) in zip(_hyperduals(), _hyperduals()):
        c = how(h)
        assert type(c) is HyperDual and len(c._terms) == len(h._terms)
        np.testing.assert_array_equal(c.hess, ref.hess, err_msg=name)
        for a in _writable_arrays(c) + _writable_arrays(how(h)):
            a[...] = -7.0
        for a, b in ((h.value, ref.value), (h.grad, ref.grad), (h.hess, ref.hess)):
            np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_hyperdual_keeps_grad_and_hess_together(how):
    _, h = list(_hyperduals())[2]
    assert h._stacked is not None
    c = how(h)
    c.grad[...] = 0.0  # the stacked buffer of the copy is the copy's own grad and hess
    assert np.all(np.sum(c * 2.0).grad == 0.0)
    assert np.all(np.sum(h * 2.0).grad != 0.0)


def test_pickled_hyperdual_keeps_grad_and_hess_together():
    _, h = list(_hyperduals())[2]
    c = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(c.hessian(), h.hessian())
    c.grad[...] = 0.0
    assert np.all(np.sum(c * 2.0).grad == 0.0)


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_of_a_taylor_number_owns_its_coefficients(how):
    t = np.sin(Taylor.variable(np.array([0.5, 1.0]), 3))
    before = t.coeffs.copy()
    c = how(t)
    c[0] = 5.0
    c.coeffs[1, 2] = 9.0
    np.testing.assert_array_equal(t.coeffs, before)
    assert c.coeffs[0].tolist() == [5.0, 0.0, 0.0, 0.0]


def test_copy_of_a_scalar_dual():
    box = []
    ad.derivative(lambda x: box.append(x * x) or x, 2.0)
    s = box[-1]
    for c in (copy.copy(s), copy.deepcopy(s)):
        assert type(c) is ScalarDual and (c.value, c.tangent, c.tag) == (4.0, 4.0, s.tag)


def test_pickle_in_this_process_keeps_the_tag():
    d = _nested_dual()
    e = pickle.loads(pickle.dumps(d))
    assert (e._tag, e.value._tag, e.partials._tag) == (d._tag, d.value._tag, d.partials._tag)
    for a, b in zip(_arrays(d), _arrays(e)):
        np.testing.assert_array_equal(a, b)
    box = []
    ad.derivative(lambda x: box.append(x * 3.0) or x, 2.0)
    s = pickle.loads(pickle.dumps(box[-1]))
    assert (s.value, s.tangent, s.tag) == (6.0, 3.0, box[-1].tag)


# --- pickles from another process ------------------------------------------------------------
_CHILD = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    import dualad as ad
    from dualad.core.dual import make
    from dualad.scalar import ScalarDual
    t = int(sys.argv[1])  # the next tag the parent hands out: the same number here
    c = make(np.array(3.0), np.array([1.0]), t)
    inner = make(np.array(3.0), np.array([0.5]), t)
    nested = make(inner, make(np.array([2.0]), np.array([[0.25]]), t), t + 1)
    s = ScalarDual()
    s.value, s.tangent, s.tag = 3.0, 1.0, t
    box = []
    ad.derivative(lambda x: box.append(x * x) or x ** 3, np.array(1.5), order=2)
    sys.stdout.buffer.write(pickle.dumps((c, nested, s, box[-1], c)))
""")


def _from_a_subprocess():
    """Duals pickled in a new process, whose tags have the numbers of the next two tags drawn
    here, and the first of those."""
    t = tags.new_tag() + 1
    out = subprocess.run([sys.executable, "-c", _CHILD, str(t)], capture_output=True,
                         cwd=ROOT, check=True, timeout=120).stdout
    return pickle.loads(out), t  # (loading draws no tag here)


def test_a_dual_from_another_process_is_a_constant_here():
    (c, _, _, _, _), t = _from_a_subprocess()
    assert ad.derivative(lambda x: x * c, np.array(2.0)) == 3.0  # (not 3 + 2 · 1)
    assert ad.derivative(lambda x: x * c, 2.0) == 3.0
    assert c._tag != t


def test_a_scalar_dual_from_another_process_is_a_constant_here():
    (_, _, s, _, _), t = _from_a_subprocess()
    assert ad.derivative(lambda x: x * x * s, 2.0) == 12.0  # (not 12 + 4 · 1)
    assert ad.derivative(lambda x: x * s, 2.0) == 3.0
    assert type(s) is ScalarDual and s.tag != t


def test_a_nested_dual_from_another_process_is_a_constant_here():
    (_, nested, _, leaked, _), t = _from_a_subprocess()

    def outer(x):
        return ad.derivative(lambda y: x * y * nested, np.array(1.0))
    assert ad.derivative(outer, np.array(2.0)) == 3.0
    assert ad.derivative(lambda x: x * leaked, 2.0) == pytest.approx(2.25)
    assert nested._tag > nested.value._tag == nested.partials._tag  # nesting order kept
    assert leaked._tag > leaked.value._tag == leaked.partials._tag
    assert not {t, t + 1} & {nested._tag, nested.value._tag}


def test_duals_of_one_tag_from_another_process_keep_one_tag_here():
    (c, nested, s, _, c2), _ = _from_a_subprocess()
    assert c2 is c  # (pickle's memo)
    assert c._tag == nested.value._tag == s.tag
    d = pickle.loads(pickle.dumps(c))  # pickled again here: this process's tag, kept
    assert d._tag == c._tag
    assert tags.finished(c._tag) and tags.finished(nested._tag)


# --- process pools ---------------------------------------------------------------------------
def _next_tag():
    return tags.new_tag() + 1


def _jacobian_with(c):
    return ad.jacobian(lambda x: x * c, np.array([1.0, 2.0]))


def _jacobian_of(c):
    return ad.jacobian(lambda x: x * x * c, np.array([1.0, 2.0]))


@pytest.mark.parametrize("method", ["spawn", pytest.param("fork", marks=no_fork)])
def test_a_pool_worker_takes_the_parents_dual_for_a_constant(method):
    ctx = multiprocessing.get_context(method)
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        t = pool.submit(_next_tag).result(timeout=120)  # the worker's next tag
        c = make(np.array([3.0, 4.0]), np.eye(2), t)  # (2 directions, as the worker's)
        jac = pool.submit(_jacobian_with, c).result(timeout=120)
        np.testing.assert_array_equal(jac, np.diag([3.0, 4.0]))  # (not diag(3 + 1, 4 + 2))
        t = pool.submit(_next_tag).result(timeout=120)
        c = make(np.array([3.0, 4.0]), 0.5 * np.eye(2), t)
        jac = pool.submit(_jacobian_of, c).result(timeout=120)
        np.testing.assert_array_equal(jac, np.diag([6.0, 16.0]))  # 2 x c


def _derivative_in_a_child(x, conn):
    try:
        conn.send(repr(ad.derivative(lambda y: y * x, 3.0)))
    finally:
        conn.close()


@no_fork
def test_a_child_forked_inside_a_helper_takes_the_helpers_duals_for_constants():
    ctx = multiprocessing.get_context("fork")
    sent = []

    def f(x):
        receive, send = ctx.Pipe(False)
        child = ctx.Process(target=_derivative_in_a_child, args=(x, send))
        child.start()
        send.close()
        sent.append(receive.recv())
        child.join(60)
        return x * x
    assert ad.derivative(f, np.array(2.0)) == 4.0
    assert sent == ["2.0"]  # x, of a call running in the parent only: a constant there
