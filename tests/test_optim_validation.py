"""dualad.optim refuses bad input with a named error instead of a silently wrong update."""
import numpy as np
import pytest

from dualad import optim


# --- gradients must have the parameters' structure -----------------------------------------
def test_dict_gradients_pair_by_key_not_by_order():
    params = {"a": np.array([1.0]), "b": np.array([2.0])}
    optim.SGD(0.5).step(params, {"b": np.array([4.0]), "a": np.array([6.0])})
    assert params["a"].tolist() == [1.0 - 0.5 * 6.0] and params["b"].tolist() == [2.0 - 0.5 * 4.0]
    nested = {"layer": {"w": np.array([1.0]), "b": np.array([0.0])}}
    optim.SGD(1.0).step(nested, {"layer": {"b": np.array([3.0]), "w": np.array([2.0])}})
    assert nested["layer"]["w"].tolist() == [-1.0] and nested["layer"]["b"].tolist() == [-3.0]


@pytest.mark.parametrize("params, grads, match", [
    ({"a": np.zeros(1)}, {"b": np.ones(1)}, r"keys \['a'\].*keys \['b'\]"),
    ({"a": np.zeros(1)}, {"a": np.ones(1), "b": np.ones(1)}, r"keys \['a'\].*\['a', 'b'\]"),
    ({"a": np.zeros(1)}, [np.ones(1)], "a dict with keys.*got a list"),
    ([np.zeros(1)], {"a": np.ones(1)}, "a list of 1.*got a dict"),
    ([np.zeros(1), np.zeros(1)], [np.ones(1)], "a list of 2.*got a list of 1"),
    ({"a": [np.zeros(1), np.zeros(1)]}, {"a": [np.ones(1)]}, "a list of 2.*got a list of 1"),
    ([np.zeros(1)], [[np.ones(1)]], "an array.*got a list of 1"),
    ([np.zeros(2)], np.ones(2), "a list of 1.*got an array"),
])
def test_gradient_structure_must_match(params, grads, match):
    before = [p.copy() for p in (params.values() if isinstance(params, dict) else params)]
    with pytest.raises(ValueError, match="^dualad: gradients must have the parameters' "
                                         "structure.*" + match):
        optim.SGD(0.1).step(params, grads)
    after = list(params.values() if isinstance(params, dict) else params)
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # nothing was updated


def test_list_and_tuple_gradients_are_interchangeable():
    params = [np.array([1.0]), np.array([2.0])]
    optim.SGD(1.0).step(params, (np.array([1.0]), [3.0]))  # a leaf may be any array-like
    assert [p.tolist() for p in params] == [[0.0], [-1.0]]


# --- an optimizer keeps the structure its state was built for --------------------------------
@pytest.mark.parametrize("make", [lambda: optim.SGD(1.0), lambda: optim.SGD(1.0, 0.5),
                                  lambda: optim.Adam(0.1)])
def test_optimizer_refuses_other_parameters_than_its_state(make):
    opt = make()
    opt.step([np.zeros(1)], [np.ones(1)])
    with pytest.raises(ValueError, match=r"built for parameters \[\(1,\)\].*\[\(1,\), \(1,\)\]"):
        opt.step([np.zeros(1), np.zeros(1)], [np.ones(1), np.ones(1)])
    with pytest.raises(ValueError, match=r"built for parameters \[\(1,\)\].*\[\(2,\)\]"):
        opt.step([np.zeros(2)], [np.ones(2)])
    with pytest.raises(ValueError, match="float64.*float32"):
        opt.step([np.zeros(1, np.float32)], [np.ones(1)])
    with pytest.raises(ValueError, match="structure"):
        opt.step({"w": np.zeros(1)}, {"w": np.ones(1)})
    assert opt.iterations == 1  # the refused steps did not count


def test_optimizer_state_follows_dict_keys_not_order():
    opt, p = optim.SGD(1.0, momentum=0.5), {"a": np.zeros(1), "b": np.zeros(2)}
    opt.step(p, {"a": np.ones(1), "b": np.ones(2)})
    # the same dict, keys in the other order: the momentum of "a" must stay with "a"
    q = {"b": p["b"], "a": p["a"]}
    with pytest.raises(ValueError, match="structure"):
        opt.step(q, {"a": np.ones(1), "b": np.ones(2)})


# --- hyperparameters ----------------------------------------------------------------------
@pytest.mark.parametrize("make, error, match", [
    (lambda: optim.SGD(lr=True), TypeError, "learning rate must be a real number, got True"),
    (lambda: optim.SGD(lr="a"), TypeError, "learning rate must be a real number, got 'a'"),
    (lambda: optim.SGD(lr=None), TypeError, "learning rate"),
    (lambda: optim.SGD(lr=0.0), ValueError, r"learning rate must be in \(0, inf\), got 0.0"),
    (lambda: optim.SGD(lr=-1), ValueError, "learning rate"),
    (lambda: optim.SGD(lr=float("nan")), ValueError, "learning rate"),
    (lambda: optim.SGD(lr=float("inf")), ValueError, "learning rate"),
    (lambda: optim.SGD(0.1, momentum=None), TypeError, "momentum must be a real number"),
    (lambda: optim.SGD(0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (lambda: optim.SGD(0.1, nesterov="no"), TypeError, "nesterov must be a bool, got 'no'"),
    (lambda: optim.SGD(0.1, 0.9, nesterov=1), TypeError, "nesterov must be a bool"),
    (lambda: optim.Adam(epsilon=None), TypeError, "epsilon must be a real number, got None"),
    (lambda: optim.Adam(epsilon=-1e-7), ValueError, r"epsilon must be in \[0, inf\)"),
    (lambda: optim.Adam(epsilon=float("nan")), ValueError, "epsilon"),
    (lambda: optim.Adam(beta_1="0.9"), TypeError, "beta_1 must be a real number"),
    (lambda: optim.Adam(beta_2=1.0), ValueError, r"beta_2 must be in \[0, 1\)"),
    (lambda: optim.Adam(beta_1=float("nan")), ValueError, "beta_1"),
    (lambda: optim.Adam(lr=np.bool_(True)), TypeError, "learning rate"),
])
def test_hyperparameters_are_validated(make, error, match):
    with pytest.raises(error, match="^dualad: " + match):
        make()


def test_valid_hyperparameters_still_accepted():
    opt = optim.SGD(lr=np.float32(0.5), momentum=0, nesterov=np.bool_(False))
    assert opt.lr == 0.5 and opt.momentum == 0
    opt = optim.Adam(lr=1, beta_1=0.0, beta_2=np.float64(0.5), epsilon=0)
    p = [np.array([1.0])]
    opt.step(p, [np.array([2.0])])
    # m = 2, v = 2, alpha = sqrt(1 - 0.5) / (1 - 0): p = 1 - sqrt(0.5) * 2 / sqrt(2)
    assert p[0] == pytest.approx([0.0], abs=1e-15)


# --- gradients and parameters must be real --------------------------------------------------
@pytest.mark.parametrize("grad, what", [
    (np.array([1 + 2j]), "complex128"), ([1j], "complex128"), (np.array([None]), "object"),
    (np.array(["1"]), "<U1"),
])
def test_non_real_gradients_are_refused(grad, what):
    p = np.zeros(1)
    with pytest.raises(TypeError, match=f"^dualad: gradients must be real.*{what}"):
        optim.SGD(1.0).step([p], [grad])
    assert p.tolist() == [0.0]


def test_integer_and_bool_gradients_still_accepted():
    p = [np.zeros(2)]
    optim.SGD(1.0).step(p, [np.array([1, True])])
    assert p[0].tolist() == [-1.0, -1.0]


def test_complex_parameters_are_refused():
    with pytest.raises(TypeError, match="float ndarrays.*complex128"):
        optim.SGD(1.0).step([np.zeros(1, complex)], [np.ones(1)])
