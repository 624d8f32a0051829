"""The value of every function on duals is numpy's own call on the values, bit for bit.

A dual that computes its value by another route (``eigh(A^T, "L")`` for ``eigh(A, "U")``, the
lower Cholesky factor of ``A^T`` for the upper one of ``A``) can differ from numpy in the last
bits, or in the signs LAPACK picks for eigenvectors: then value *and* tangent are wrong.
"""
import numpy as np
import pytest

import dualad as ad

RNG = np.random.default_rng(20261206)


def _general(*shape):
    return RNG.normal(size=shape)


def _spd(m, batch=()):
    a = RNG.normal(size=batch + (m, m))
    return a @ np.swapaxes(a, -1, -2) + m * np.eye(m)


def _nonsym_square(m, batch=()):
    return RNG.normal(size=batch + (m, m)) + m * np.eye(m)


# (name, function, input): each called on the plain input and on a dual of it
CALLS = [
    ("eigh L", lambda a: np.linalg.eigh(a).eigenvectors, _general(5, 5)),
    ("eigh U", lambda a: np.linalg.eigh(a, "U").eigenvectors, _general(5, 5)),
    ("eigh U values", lambda a: np.linalg.eigh(a, UPLO="U").eigenvalues, _general(6, 6)),
    ("eigh U batched", lambda a: np.linalg.eigh(a, "U").eigenvectors, _general(3, 4, 4)),
    ("eigvalsh U", lambda a: np.linalg.eigvalsh(a, "U"), _general(7, 7)),
    ("cholesky", np.linalg.cholesky, _spd(8)),
    ("cholesky upper", lambda a: np.linalg.cholesky(a, upper=True), _spd(8)),
    ("cholesky upper batched", lambda a: np.linalg.cholesky(a, upper=True), _spd(9, (2,))),
    ("svd u", lambda a: np.linalg.svd(a, full_matrices=False).U, _general(6, 4)),
    ("svd vh wide", lambda a: np.linalg.svd(a, full_matrices=False).Vh, _general(3, 5)),
    ("svd s", lambda a: np.linalg.svd(a, compute_uv=False), _general(5, 5)),
    ("svd hermitian u", lambda a: np.linalg.svd(a, hermitian=True).U, _spd(5) - 5 * np.eye(5)),
    ("svd hermitian vh", lambda a: np.linalg.svd(a, hermitian=True).Vh, _spd(5) - 5 * np.eye(5)),
    ("svdvals", np.linalg.svdvals, _general(4, 6)),
    ("qr q", lambda a: np.linalg.qr(a).Q, _general(6, 4)),
    ("qr r wide", lambda a: np.linalg.qr(a).R, _general(3, 5)),
    ("qr mode r", lambda a: np.linalg.qr(a, mode="r"), _general(6, 4)),
    ("qr complete square", lambda a: np.linalg.qr(a, mode="complete").Q, _general(4, 4)),
    ("inv", np.linalg.inv, _nonsym_square(6)),
    ("solve", lambda a: np.linalg.solve(a, np.arange(6.0)), _nonsym_square(6)),
    ("det", np.linalg.det, _nonsym_square(5)),
    ("slogdet", lambda a: np.linalg.slogdet(a).logabsdet, _nonsym_square(5)),
    ("pinv", np.linalg.pinv, _general(6, 3)),
    ("pinv hermitian", lambda a: np.linalg.pinv(a, hermitian=True), _spd(4)),
    ("lstsq", lambda a: np.linalg.lstsq(a, np.arange(6.0))[0], _general(6, 3)),
    ("tensorinv", lambda a: np.linalg.tensorinv(a, ind=1), _nonsym_square(4)),
    ("tensorsolve", lambda a: np.linalg.tensorsolve(a, np.ones(4)), _nonsym_square(4)),
    ("norm fro", np.linalg.norm, _general(4, 5)),
    ("norm 2", lambda a: np.linalg.norm(a, 2), _general(4, 5)),
    ("norm nuc", lambda a: np.linalg.norm(a, "nuc"), _general(4, 5)),
    ("norm 1", lambda a: np.linalg.norm(a, 1), _general(4, 5)),
    ("norm inf", lambda a: np.linalg.norm(a, np.inf), _general(4, 5)),
    ("vector_norm 3", lambda a: np.linalg.vector_norm(a, ord=3), _general(7)),
    ("vector_norm 0.5 axis", lambda a: np.linalg.vector_norm(a, ord=0.5, axis=0), _general(7, 3)),
    ("norm -1.5", lambda a: np.linalg.norm(a, -1.5), _general(9)),
    ("linspace", lambda a: np.linspace(a[0], a[1], 11), _general(2)),
    ("linspace axis", lambda a: np.linspace(a[:2], a[2:], 6, axis=1), _general(4)),
    ("linspace step", lambda a: np.linspace(a[0], a[1], 9, retstep=True)[1], _general(2)),
    ("matrix_norm", lambda a: np.linalg.matrix_norm(a, ord=-2), _general(4, 4)),
    ("cond", np.linalg.cond, _nonsym_square(4)),
    ("cond 1", lambda a: np.linalg.cond(a, 1), _nonsym_square(4)),
    ("matrix_power", lambda a: np.linalg.matrix_power(a, 5), _general(4, 4)),
    ("matrix_power -2", lambda a: np.linalg.matrix_power(a, -2), _nonsym_square(4)),
    ("multi_dot", lambda a: np.linalg.multi_dot([a, a.T, a]), _general(4, 3)),
    ("matmul", lambda a: a @ a.T, _general(5, 3)),
    ("einsum", lambda a: np.einsum("ij,kj->ik", a, a), _general(5, 3)),
    ("tensordot", lambda a: np.tensordot(a, a, axes=([0], [0])), _general(5, 3)),
    ("trace", np.trace, _general(4, 4)),
    ("sum", np.sum, _general(1000)),
    ("mean", lambda a: np.mean(a, axis=0), _general(50, 3)),
    ("std", np.std, _general(100)),
    ("var ddof", lambda a: np.var(a, ddof=1), _general(100)),
    ("cumsum", np.cumsum, _general(100)),
    ("prod", np.prod, _general(20)),
    ("cumprod", np.cumprod, _general(20)),
    ("median", np.median, _general(11)),
    ("percentile", lambda a: np.percentile(a, 30), _general(11)),
    ("interp", lambda a: np.interp(np.linspace(0, 1, 7), np.linspace(0, 1, 5), a), _general(5)),
    ("diff", lambda a: np.diff(a, 2), _general(9)),
    ("linalg.outer", lambda a: np.linalg.outer(a, a), _general(4)),
    ("cross", lambda a: np.cross(a, a[::-1]), _general(3)),
    ("logsumexp-style", lambda a: np.log(np.sum(np.exp(a - a.max()))) + a.max(), _general(30)),
]


@pytest.mark.parametrize("name, f, x", CALLS, ids=[c[0] for c in CALLS])
def test_value_is_numpys_own(name, f, x):
    expected = f(x)
    value, _ = ad.jvp(f, x, RNG.normal(size=x.shape))
    np.testing.assert_array_equal(value, expected, err_msg=name, strict=True)


def test_eigh_upper_tangent_matches_finite_differences():
    # the case: dual columns were sign-flipped against numpy's eigh(A, "U")
    a = np.array([[0.2, 0.0, 1.9], [0.0, -1.0, 1.3], [1.9, 1.3, -1.4]])
    e = np.zeros((3, 3))
    e[0, 1] = 1.0  # only the upper triangle is read with "U"
    value, tangent = ad.jvp(lambda m: np.linalg.eigh(m, "U")[1], a, e)
    np.testing.assert_array_equal(value, np.linalg.eigh(a, "U")[1])
    h = 1e-6
    plus, minus = np.linalg.eigh(a + h * e, "U")[1], np.linalg.eigh(a - h * e, "U")[1]
    plus *= np.sign(np.sum(plus * value, axis=0))  # same sign as at a, column by column
    minus *= np.sign(np.sum(minus * value, axis=0))
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * h), atol=1e-7)
    # the lower triangle is not read: a tangent there changes nothing
    _, zero = ad.jvp(lambda m: np.linalg.eigh(m, "U")[1], a, e.T)
    np.testing.assert_array_equal(zero, 0.0)


def test_cholesky_upper_tangent_reads_the_upper_triangle():
    a = _spd(5)
    e = np.triu(RNG.normal(size=(5, 5)))
    value, tangent = ad.jvp(lambda m: np.linalg.cholesky(m, upper=True), a, e)
    h = 1e-6
    fd = (np.linalg.cholesky(a + h * e, upper=True)
          - np.linalg.cholesky(a - h * e, upper=True)) / (2 * h)
    np.testing.assert_allclose(tangent, fd, atol=1e-7)
    np.testing.assert_array_equal(np.tril(tangent, -1), 0.0)
    _, zero = ad.jvp(lambda m: np.linalg.cholesky(m, upper=True), a, np.tril(e.T, -1))
    np.testing.assert_array_equal(zero, 0.0)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_second_order_reads_one_triangle(uplo):
    # hessian of the largest eigenvalue in the entries of one triangle, against differences
    a = _general(4, 4)

    def top(m):
        return np.linalg.eigvalsh(m, uplo)[-1]

    x = a.ravel()
    hess = ad.hessian(lambda v: top(np.reshape(v, (4, 4))), x)
    grad = lambda v: ad.gradient(lambda w: top(np.reshape(w, (4, 4))), v)  # noqa: E731
    h = 1e-5
    fd = np.stack([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in np.eye(16)])
    np.testing.assert_allclose(hess, fd, atol=1e-6)
    read = np.triu(np.ones((4, 4))) if uplo == "U" else np.tril(np.ones((4, 4)))
    np.testing.assert_array_equal(hess[read.ravel() == 0], 0.0)


BILINEAR = [
    ("matmul batched", lambda a: np.matmul(a, a), _general(3, 4, 4)),
    ("matmul batched vector", lambda a: np.matmul(a, a[0, 0]), _general(3, 4, 4)),
    ("dot", lambda a: np.dot(a, a.T), _general(4, 6)),
    ("inner", lambda a: np.inner(a, a), _general(4, 6)),
    ("outer", lambda a: np.outer(a, a), _general(5)),
    ("kron", lambda a: np.kron(a, a), _general(2, 3)),
    ("vdot", lambda a: np.vdot(a, a), _general(7)),
    ("einsum optimize", lambda a: np.einsum("ij,jk,kl->il", a, a.T, a, optimize=True),
     _general(4, 5)),
    ("einsum three", lambda a: np.einsum("ij,jk,kl->il", a, a.T, a), _general(4, 5)),
    ("multi_dot 4", lambda a: np.linalg.multi_dot([a[:, :2].T, a, a.T, a[:, :3]]),
     _general(6, 5)),
    ("vecdot", lambda a: np.vecdot(a, a[::-1]), _general(3, 5)),
    ("vecdot axis 0", lambda a: np.vecdot(a, a[::-1], axis=0), _general(3, 5)),
    ("linalg.vecdot broadcast", lambda a: np.linalg.vecdot(a, a[0], axis=-1), _general(3, 5)),
] + [(f"matrix_power {n}", lambda a, n=n: np.linalg.matrix_power(a, n), _nonsym_square(4))
     for n in (-3, 0, 1, 2, 3, 4, 7)]
if hasattr(np, "matvec"):
    BILINEAR += [("matvec", lambda a: np.matvec(a, a[..., 0]), _general(3, 4, 4)),
                 ("vecmat", lambda a: np.vecmat(a[..., 0], a), _general(3, 4, 4))]


@pytest.mark.parametrize("name, f, x", BILINEAR, ids=[c[0] for c in BILINEAR])
def test_products_have_numpys_value_and_a_correct_tangent(name, f, x):
    t = RNG.normal(size=x.shape)
    value, tangent = ad.jvp(f, x, t)
    np.testing.assert_array_equal(value, f(x), err_msg=name, strict=True)
    h = 1e-6  # all of these are polynomials of degree <= 4 in x (or rational: inv)
    fd = (f(x + h * t) - f(x - h * t)) / (2 * h)
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-6 * np.max(np.abs(fd)))


def test_unique_values_keeps_every_nan_as_numpy_does():
    x = np.array([3.0, 1.0, np.nan, 2.0, 1.0, np.nan, -0.0, 0.0])
    value, tangent = ad.jvp(np.unique_values, x, np.arange(8.0))
    np.testing.assert_array_equal(value, np.unique_values(x), strict=True)
    # each output takes the tangent of the first element it comes from
    first = np.unique(x, return_index=True, equal_nan=False)[1]
    np.testing.assert_array_equal(tangent, first.astype(float))
    value, _ = ad.jvp(lambda v: np.unique(v, equal_nan=False), x, np.ones(8))
    np.testing.assert_array_equal(value, np.unique(x, equal_nan=False), strict=True)


def test_reshape_copy_and_clip_without_bounds_do_not_alias_the_input():
    # writes into a copy must not reach the input: d(out)/dx stays the identity
    def reshaped(v):
        r = np.reshape(v, (2, 3), copy=True)
        r[0, 0] = 100.0 * v[1]
        return v

    def clipped(v):
        r = np.clip(v, None, None)
        r[0] = 100.0 * v[1]
        return v

    for f in (reshaped, clipped):
        np.testing.assert_array_equal(ad.jacobian(f, np.arange(6.0)), np.eye(6))
    with pytest.raises(ValueError):  # as numpy: no view possible
        ad.jvp(lambda v: np.reshape(v.T, 6, copy=False), np.ones((2, 3)), np.ones((2, 3)))
