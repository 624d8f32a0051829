"""examples/pytorch_autograd_lesson.py against values worked out independently."""
import ast
import math

import numpy as np
import pytest

from _scripts import computed_lines, run_script


@pytest.fixture(scope="module")
def output():
    return run_script("examples/pytorch_autograd_lesson.py", "--quick", timeout=300)


def test_gradient_mapping_custom_function_and_stop_gradient(output):
    got = computed_lines(output, sources=("dualad",))
    assert ast.literal_eval(got["gradient of (3a + b - 10)^2 at (1, 2)"]) == [-30.0, -10.0]
    assert ast.literal_eval(got["the same gradient, asked again"]) == [-30.0, -10.0]
    # P3'(x) = 1.5 (5x^2 - 1), P3''(x) = 15 x
    assert float(got["d/dx P3(x) at 0.7 (custom rule)"]) == pytest.approx(2.175, rel=1e-14)
    assert float(got["d2/dx2 P3(x) at 0.7 (the rule, differentiated)"]) == pytest.approx(10.5)
    assert float(got["d/dx [x * stop_gradient(x)] at 3"]) == 3.0


def test_training_loop_follows_the_analytic_gradient(output):
    """The same 200 steps of gradient descent with the hand-derived gradient."""
    label = "polynomial fit after 200 steps"
    got = np.array(ast.literal_eval(computed_lines(output, sources=("dualad",))[label]))
    x = np.linspace(-math.pi, math.pi, 2000)
    y = np.sin(x)
    p = np.array([0.0, -1.0, 0.0, 0.3])
    for _ in range(200):
        a, b, c, d = p
        u = c + d * x
        r = a + b * 0.5 * (5 * u ** 3 - 3 * u) - y
        dp3 = 1.5 * (5 * u ** 2 - 1)
        grad = 2 * np.array([r.sum(), (r * 0.5 * (5 * u ** 3 - 3 * u)).sum(),
                             (r * b * dp3).sum(), (r * b * dp3 * x).sum()])
        p = p - 5e-6 * grad
    np.testing.assert_allclose(got, p, rtol=1e-9, atol=1e-12)
