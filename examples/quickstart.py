"""dualad quickstart: exact derivatives of ordinary numpy code.

Run it with ``python examples/quickstart.py``. Each step prints what dualad computes above the
value worked out by hand.
"""
import math

import numpy as np

import dualad as ad


def show(label, got, expected):
    print(label)
    print(f"    dualad:   {got}")
    print(f"    expected: {expected}")


def as_list(a):
    """Plain nested lists of rounded floats, for printing."""
    return np.round(np.asarray(a, dtype=float), 10).tolist()


# 1. A DualNumber is a value plus a derivative part: x = 3 + 1ε means "x = 3, dx = 1".
#    Arithmetic carries the derivative along: (x² + 2x)' = 2x + 2 = 8 at x = 3.
x = ad.DualNumber(3.0, 1.0)
show("x**2 + 2*x at x = 3 + 1ε", x ** 2 + 2 * x, "15.0 + 8.0ε")

# 2. numpy functions accept duals and return duals: sin'(x) = cos(x).
t = ad.DualNumber(0.5, 1.0)
show("np.sin(0.5 + 1ε)", np.sin(t), f"{math.sin(0.5)} + {math.cos(0.5)}ε")
show("np.exp(0.5 + 1ε) * np.log(0.5 + 1ε)", np.exp(t) * np.log(t),
     f"{math.exp(0.5) * math.log(0.5)} + {math.exp(0.5) * math.log(0.5) + math.exp(0.5) / 0.5}ε")

# 3. derivative(f, x): the derivative of a function of one number.
#    d/dt (t³ − 2t) = 3t² − 2 = 10 at t = 2.
show("derivative(t**3 - 2*t, 2)", ad.derivative(lambda t: t ** 3 - 2 * t, 2.0), 10.0)


# 4. gradient(f, x): all partial derivatives of a scalar function of an array, in one pass.
#    The Rosenbrock function; at (0.5, 0.5) its gradient is (-51, 50).
def rosenbrock(v):
    return (1.0 - v[0]) ** 2 + 100.0 * (v[1] - v[0] ** 2) ** 2


show("gradient(rosenbrock, [0.5, 0.5])", as_list(ad.gradient(rosenbrock, [0.5, 0.5])),
     [-51.0, 50.0])


# 5. jacobian(f, x): every output by every input; result shape f(x).shape + x.shape.
#    Polar to Cartesian coordinates: J = [[cos θ, −r sin θ], [sin θ, r cos θ]].
def polar_to_cartesian(p):
    r, theta = p[0], p[1]
    return np.stack([r * np.cos(theta), r * np.sin(theta)])


r, theta = 2.0, math.pi / 6
show("jacobian(polar_to_cartesian, [2, pi/6])",
     as_list(ad.jacobian(polar_to_cartesian, [r, theta])),
     as_list([[math.cos(theta), -r * math.sin(theta)], [math.sin(theta), r * math.cos(theta)]]))


# 6. jvp(f, x, v): the value f(x) and the directional derivative J·v, without forming J.
#    Works on whole arrays at once (here: elementwise, so J·v = f'(x) * v).
def bump(x):
    return np.sin(x) * np.exp(-x * x) + np.sqrt(1.0 + x * x)


def bump_prime(x):
    e = math.exp(-x * x)
    return math.cos(x) * e - 2.0 * x * math.sin(x) * e + x / math.sqrt(1.0 + x * x)


xs = np.array([-1.0, 0.0, 0.5, 2.0])
vs = np.array([1.0, 2.0, 1.0, -1.0])
value, tangent = ad.jvp(bump, xs, vs)
show("jvp(bump, x, v): value", as_list(value), as_list([bump(a) for a in xs]))
show("jvp(bump, x, v): J v", as_list(tangent),
     as_list([bump_prime(a) * b for a, b in zip(xs, vs)]))
