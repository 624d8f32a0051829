"""argnums and parameter trees in gradient, value_and_grad and jacobian (closed forms)."""
import numpy as np
import pytest

import dualad as ad


def f(x, y, z):
    return np.sum(x ** 2 * y) + z * np.sum(y)


X, Y, Z = np.array([1.0, 2.0]), np.array([3.0, -1.0]), 0.5


def test_argnums_int_and_tuple():
    np.testing.assert_array_equal(ad.gradient(f, X, Y, Z), 2 * X * Y)
    np.testing.assert_array_equal(ad.gradient(f, X, Y, Z, argnums=1), X ** 2 + Z)
    assert ad.gradient(f, X, Y, Z, argnums=2) == np.sum(Y)
    gx, gz = ad.gradient(f, X, Y, Z, argnums=(0, 2))
    np.testing.assert_array_equal(gx, 2 * X * Y)
    assert gz == np.sum(Y)
    (gy,) = ad.gradient(f, X, Y, Z, argnums=(-2,))
    np.testing.assert_array_equal(gy, X ** 2 + Z)
    value, (gx, gy) = ad.value_and_grad(f, X, Y, Z, argnums=(0, 1))
    assert value == f(X, Y, Z)
    np.testing.assert_array_equal(gy, X ** 2 + Z)


def test_jacobian_argnums_shapes():
    g = lambda a, b: a[:, None] * b[None, :]  # noqa: E731  (2, 3)
    a, b = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])
    ja, jb = ad.jacobian(g, a, b, argnums=(0, 1))
    assert ja.shape == (2, 3, 2) and jb.shape == (2, 3, 3)
    np.testing.assert_array_equal(ja, np.einsum("ik,j->ijk", np.eye(2), b))
    np.testing.assert_array_equal(jb, np.einsum("i,jk->ijk", a, np.eye(3)))
    np.testing.assert_array_equal(ad.jacobian(g, a, b, chunk_size=1, argnums=1), jb)


def test_parameter_trees_keep_their_structure():
    params = {"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": [np.array([0.5]), np.array(2.0)]}
    loss = lambda p: np.sum(p["w"] ** 2) + p["b"][0][0] * p["b"][1]  # noqa: E731
    g = ad.gradient(loss, params)
    assert set(g) == {"w", "b"} and isinstance(g["b"], list)
    np.testing.assert_array_equal(g["w"], 2 * params["w"])
    np.testing.assert_array_equal(g["b"][0], [2.0])
    assert g["b"][1] == 0.5
    j = ad.jacobian(lambda p: np.stack([p[0] * p[1][0], p[1][1]]), (2.0, (np.array(3.0),
                                                                      np.array(4.0))))
    assert isinstance(j, tuple) and np.shape(j[0]) == (2,)
    np.testing.assert_array_equal(j[0], [3.0, 0.0])
    np.testing.assert_array_equal(j[1][0], [2.0, 0.0])
    np.testing.assert_array_equal(j[1][1], [0.0, 1.0])


def test_a_list_of_numbers_stays_an_array():
    g = ad.gradient(lambda v: v[0] * v[1], [2.0, 3.0])
    assert isinstance(g, np.ndarray) and g.tolist() == [3.0, 2.0]


@pytest.mark.parametrize("argnums", [3, (), (0, 5), "x", 1.0, None, True, (0, 0), (1, -2)])
def test_bad_argnums(argnums):
    with pytest.raises(ValueError, match="argnums"):
        ad.gradient(f, X, Y, Z, argnums=argnums)


@pytest.mark.parametrize("leaf", [None, "a", 1j, np.array([1.0, None])])
def test_parameter_tree_leaves_must_be_real(leaf):
    with pytest.raises(TypeError, match="parameter tree"):
        ad.gradient(lambda p: p["a"] * 2.0, {"a": 1.0, "b": leaf})
