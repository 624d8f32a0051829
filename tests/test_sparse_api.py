"""The public sparse helpers: patterns as scipy matrices, compressed Jacobians equal to the
dense ones bit for bit, prepared objects at new points, and refusals."""
import numpy as np
import pytest

import dualad as ad

scipy_sparse = pytest.importorskip("scipy.sparse")
RNG = np.random.default_rng(16)


def brusselator_1d(u):
    n = u.size // 2
    U, V = u[:n], u[n:]
    alpha = 0.02 * (n + 1) ** 2
    lap_u = np.concatenate([[1.0 - 2 * U[0] + U[1]], U[:-2] - 2 * U[1:-1] + U[2:],
                            [U[-2] - 2 * U[-1] + 1.0]])
    lap_v = np.concatenate([[3.0 - 2 * V[0] + V[1]], V[:-2] - 2 * V[1:-1] + V[2:],
                            [V[-2] - 2 * V[-1] + 3.0]])
    return np.concatenate([1.0 + U * U * V - 4.0 * U + alpha * lap_u,
                           3.0 * U - U * U * V + alpha * lap_v])


def brusselator_2d(y, n=6):
    u, v = np.reshape(y[:n * n], (n, n)), np.reshape(y[n * n:], (n, n))

    def lap(a):
        return (np.roll(a, 1, 0) + np.roll(a, -1, 0) + np.roll(a, 1, 1) + np.roll(a, -1, 1)
                - 4 * a)
    du = 1.0 + u * u * v - 4.4 * u + 0.1 * lap(u)
    dv = 3.4 * u - u * u * v + 0.1 * lap(v)
    return np.concatenate([du.ravel(), dv.ravel()])


def broyden_tridiagonal(x):
    left = np.concatenate([[0.0], x[:-1]])
    right = np.concatenate([x[1:], [0.0]])
    return (3.0 - 2.0 * x) * x - left - 2.0 * right + 1.0


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


PROBLEMS = {
    "brusselator 1-D": (brusselator_1d, 40, 4),
    "brusselator 2-D": (brusselator_2d, 72, 12),
    "broyden tridiagonal": (broyden_tridiagonal, 30, 3),
}


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_sparse_jacobian_is_the_dense_one_bit_for_bit(name):
    f, n, most_colors = PROBLEMS[name]
    x = RNG.uniform(0.5, 1.5, n)
    dense = ad.jacobian(f, x)
    pattern = ad.jacobian_sparsity(f, x)
    assert isinstance(pattern, scipy_sparse.csr_array) and pattern.dtype == bool
    np.testing.assert_array_equal(pattern.toarray(), dense != 0)  # exact on these problems
    J = ad.SparseJacobian(f, x)
    assert J.n_colors <= most_colors
    for point in (x, RNG.uniform(-2.0, 2.0, n)):  # prepared once, used at new points
        got = J(point)
        assert isinstance(got, scipy_sparse.csr_array)
        np.testing.assert_array_equal(got.toarray(), ad.jacobian(f, point))
    np.testing.assert_array_equal(ad.jacobian(f, x, sparse=True).toarray(), dense)
    np.testing.assert_array_equal(ad.jacobian(f, x, sparse=pattern).toarray(), dense)
    value, jac = J.value_and_jacobian(x)
    np.testing.assert_array_equal(value, f(x))


def test_a_pattern_missing_a_nonzero_is_refused():
    x = RNG.uniform(0.5, 1.5, 20)
    pattern = ad.jacobian_sparsity(brusselator_1d, x).tolil()
    pattern[3, 4] = False  # the coupling of u_3 and u_4 through the Laplacian
    with pytest.raises(ValueError, match="outside the pattern"):
        ad.jacobian(brusselator_1d, x, sparse=pattern.tocsr())
    with pytest.raises(ValueError, match="pattern has shape"):
        ad.jacobian(brusselator_1d, x, sparse=np.ones((20, 19), dtype=bool))


def test_a_superset_pattern_gives_the_same_jacobian():
    x = RNG.uniform(0.5, 1.5, 12)
    dense = ad.jacobian(broyden_tridiagonal, x)
    band = np.abs(np.subtract.outer(np.arange(12), np.arange(12))) <= 2
    np.testing.assert_array_equal(ad.jacobian(broyden_tridiagonal, x, sparse=band).toarray(),
                                  dense)


def test_hessian_sparsity_of_standard_problems():
    x = RNG.uniform(-1.0, 1.0, 15)
    pattern = ad.hessian_sparsity(rosenbrock, x)
    np.testing.assert_array_equal(pattern.toarray(), ad.hessian(rosenbrock, x) != 0)
    arrow = ad.hessian_sparsity(lambda v: np.sum((v[0] * v[1:]) ** 2), x).toarray()
    expected = np.eye(15, dtype=bool)
    expected[0, :] = expected[:, 0] = True
    np.testing.assert_array_equal(arrow, expected)


def test_global_detection_refuses_branches_and_local_follows_them():
    def f(x):
        return x * x if x[0] > 0 else x[::-1]
    x = np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="local"):
        ad.jacobian_sparsity(f, x)
    np.testing.assert_array_equal(ad.jacobian_sparsity(f, x, mode="local").toarray(),
                                  np.eye(3, dtype=bool))
    J = ad.SparseJacobian(f, x, mode="local")
    np.testing.assert_array_equal(J(x).toarray(), ad.jacobian(f, x))


def test_bad_calls_are_refused_clearly():
    x = np.ones(4)
    with pytest.raises(TypeError, match="sparse"):
        ad.jacobian(lambda a, b: a * b, x, 2.0, sparse=True)
    with pytest.raises(ValueError, match="chunk_size"):  # (colors per pass with sparse=)
        ad.jacobian(np.sin, x, chunk_size=0, sparse=True)
    with pytest.raises(ValueError, match="prepared for x of shape"):
        ad.SparseJacobian(np.sin, x)(np.ones(5))
    with pytest.raises(TypeError, match="real"):
        ad.SparseJacobian(np.sin, np.array(["a"]))
    with pytest.raises(ValueError, match="mode"):
        ad.jacobian_sparsity(np.sin, x, mode="everywhere")


def test_sparse_hessian_equals_the_dense_one():
    def quadratic(v):
        return np.sum(np.sin(v)) + v @ np.diag(np.arange(6.0)) @ v / 2

    for f, n in ((rosenbrock, 12), (quadratic, 6)):
        x = RNG.uniform(-1.0, 1.0, n)
        dense = ad.hessian(f, x)
        H = ad.SparseHessian(f, x)
        for point in (x, RNG.uniform(-1.0, 1.0, n)):
            got = H(point)
            assert isinstance(got, scipy_sparse.csr_array)
            np.testing.assert_allclose(got.toarray(), ad.hessian(f, point), rtol=1e-12,
                                       atol=1e-12)
            value, grad, _ = H.value_grad_hessian(point)
            np.testing.assert_allclose(grad, ad.gradient(f, point), rtol=1e-13)
        np.testing.assert_allclose(ad.hessian(f, x, sparse=True).toarray(), dense, rtol=1e-12,
                                   atol=1e-12)


def test_a_hessian_pattern_missing_a_nonzero_is_refused():
    x = RNG.uniform(-1.0, 1.0, 8)
    pattern = ad.hessian_sparsity(rosenbrock, x).tolil()
    pattern[2, 3] = pattern[3, 2] = False
    with pytest.raises(ValueError, match="outside the pattern"):
        ad.hessian(rosenbrock, x, sparse=pattern.tocsr())


def test_a_missing_nonzero_hidden_behind_its_color_is_refused():
    # bidiagonal: with the identity as pattern every column has color 0, so J S mixes
    # J[i, i-1] into J[i, i]; the probe direction sees it
    def g(x):
        return x * x + np.concatenate([[0.0], x[:-1]])

    x = RNG.uniform(0.5, 1.5, 10)
    with pytest.raises(ValueError, match="outside the pattern"):
        ad.jacobian(g, x, sparse=np.eye(10, dtype=bool))
    with pytest.raises(ValueError, match="outside the pattern"):
        ad.SparseJacobian(g, x, np.zeros((10, 10), dtype=bool))(x)
    full = ad.jacobian_sparsity(g, x)
    np.testing.assert_array_equal(ad.jacobian(g, x, sparse=full).toarray(), ad.jacobian(g, x))


def test_the_pattern_attribute_is_a_scipy_matrix():
    x = RNG.uniform(0.5, 1.5, 8)
    J = ad.SparseJacobian(broyden_tridiagonal, x)
    assert isinstance(J.pattern, scipy_sparse.csr_array) and J.pattern.dtype == bool
    np.testing.assert_array_equal(J.pattern.toarray(), ad.jacobian(broyden_tridiagonal, x) != 0)
    H = ad.SparseHessian(rosenbrock, x)
    np.testing.assert_array_equal(H.pattern.toarray(), ad.hessian(rosenbrock, x) != 0)


def test_a_local_pattern_used_where_the_branch_differs_is_refused():
    def f(x):  # the coupling exists only where x[0] < 0
        return x * x + (np.concatenate([[0.0], x[:-1]]) if x[0] < 0 else 0.0)

    J = ad.SparseJacobian(f, np.ones(6), mode="local")  # diagonal here: one color
    with pytest.raises(ValueError, match="outside the pattern"):
        J(-np.ones(6))
    np.testing.assert_array_equal(J(2 * np.ones(6)).toarray(), ad.jacobian(f, 2 * np.ones(6)))
