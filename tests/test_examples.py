"""Run each script in examples/ and check the numbers it prints.

The expected values here are worked out independently (by hand or with Python's math module);
the examples' own "expected:" lines are not trusted, only the computed ones are parsed.
"""
import ast
import math
import re

import pytest
from _scripts import computed_lines, run_script


def run_example(name):
    return run_script(f"examples/{name}", timeout=120)


def parse_blocks(text):
    """{label: (source, computed text)} from the examples' three-line blocks."""
    return computed_lines(text)


_DUAL = re.compile(r"^(\S+) \+ (\[[^\]]*\]|\S+)ε$")


def parse_dual(text):
    """'15.0 + 41.0ε' -> (15.0, [41.0]); '42.0 + [24.0 10.0]ε' -> (42.0, [24.0, 10.0])."""
    m = _DUAL.match(text)
    assert m, f"not a printed dual: {text!r}"
    parts = m.group(2).strip("[]").split()
    return float(m.group(1)), [float(p) for p in parts]


def assert_dual(text, value, partials, rel=1e-12):
    got_value, got_partials = parse_dual(text)
    assert got_value == pytest.approx(value, rel=rel, abs=1e-12)
    assert got_partials == pytest.approx(partials, rel=rel, abs=1e-12)


def assert_numbers(text, expected, rel=1e-9, abs_=1e-9):
    got = ast.literal_eval(text)
    if isinstance(expected, list) and expected and isinstance(expected[0], list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g == pytest.approx(e, rel=rel, abs=abs_)
    else:
        assert got == pytest.approx(expected, rel=rel, abs=abs_)


def test_quickstart():
    out = parse_blocks(run_example("quickstart.py"))
    assert all(source == "dualad" for source, _ in out.values())
    got = {label: text for label, (_, text) in out.items()}
    assert len(got) == 8, sorted(got)

    assert_dual(got["x**2 + 2*x at x = 3 + 1ε"], 15.0, [8.0])
    assert_dual(got["np.sin(0.5 + 1ε)"], math.sin(0.5), [math.cos(0.5)])
    # d/dt e^t log t = e^t (log t + 1/t)
    e = math.exp(0.5)
    assert_dual(got["np.exp(0.5 + 1ε) * np.log(0.5 + 1ε)"], e * math.log(0.5),
                [e * (math.log(0.5) + 2.0)])
    assert_numbers(got["derivative(t**3 - 2*t, 2)"], 10.0, rel=1e-14)
    # Rosenbrock (1-a)² + 100(b-a²)² at (0.5, 0.5): (-2(1-a) - 400a(b-a²), 200(b-a²))
    assert_numbers(got["gradient(rosenbrock, [0.5, 0.5])"], [-51.0, 50.0], rel=1e-14)
    # polar to Cartesian at r = 2, θ = π/6: [[cos θ, -r sin θ], [sin θ, r cos θ]]
    assert_numbers(got["jacobian(polar_to_cartesian, [2, pi/6])"],
                   [[math.sqrt(3) / 2, -1.0], [0.5, math.sqrt(3)]])
    xs, vs = [-1.0, 0.0, 0.5, 2.0], [1.0, 2.0, 1.0, -1.0]

    def bump(x):
        return math.sin(x) * math.exp(-x * x) + math.sqrt(1 + x * x)

    def bump_prime_fd(x, h=1e-6):  # independent of the example's closed form
        return (bump(x + h) - bump(x - h)) / (2 * h)

    assert_numbers(got["jvp(bump, x, v): value"], [bump(x) for x in xs])
    assert_numbers(got["jvp(bump, x, v): J v"],
                   [bump_prime_fd(x) * v for x, v in zip(xs, vs)], rel=1e-7, abs_=1e-7)


def test_autodiff_appendix():
    out = parse_blocks(run_example("autodiff_appendix.py"))
    got = {label: text for label, (_, text) in out.items()}
    sources = {label: source for label, (source, _) in out.items()}

    # dual arithmetic
    assert_dual(got["3 + (3 + 4ε)"], 6.0, [4.0])
    assert_dual(got["(3 + 4ε)(5 + 7ε)"], 15.0, [41.0])
    # d/dx x² at 4 = 8
    assert_dual(got["(4 + 1ε)²"], 16.0, [8.0])
    assert_numbers(got["derivative(x², 4)"], 8.0, rel=1e-15)
    # f(x, y) = x²y + y + 2 at (3, 4): 42, ∂x = 2xy = 24, ∂y = x² + 1 = 10
    x, y = 3.0, 4.0
    value, dfdx, dfdy = x * x * y + y + 2, 2 * x * y, x * x + 1
    assert (value, dfdx, dfdy) == (42.0, 24.0, 10.0)
    assert_dual(got["f(3 + 1ε, 4 + 0ε)   (pass 1: d/dx)"], value, [dfdx])
    assert_dual(got["f(3 + 0ε, 4 + 1ε)   (pass 2: d/dy)"], value, [dfdy])
    assert_dual(got["f(3 + [1 0]ε, 4 + [0 1]ε)   (one pass)"], value, [dfdx, dfdy])
    assert_numbers(got["f(3, 4)"], value, rel=0)
    assert sources["gradient(f, [3, 4])"] == "dualad"
    assert_numbers(got["gradient(f, [3, 4])"], [dfdx, dfdy], rel=0, abs_=0)
    # the central difference is close but not exact
    label = next(k for k in got if k.startswith("central difference"))
    assert sources[label] == "numeric"
    assert_numbers(got[label], [dfdx, dfdy], rel=1e-7, abs_=1e-7)
    diff = ast.literal_eval(got["max |gradient - central difference|"])
    assert 0 <= diff < 1e-6
