"""PyTorch's autograd lesson, in forward mode with dualad.

Each step maps one PyTorch idiom to its dualad counterpart and prints what dualad computes
(``dualad:``) above the value worked out by hand (``expected:``):

1. ``requires_grad=True`` + ``loss.backward()`` + ``a.grad``  ->  ``ad.gradient(L, a, b,
   argnums=(0, 1))``: no flags, no tape; the gradient is returned.
2. ``zero_grad()``: nothing accumulates, so calling twice gives the same gradient twice.
3. A custom ``torch.autograd.Function`` (the lesson's Legendre polynomial P3 with its own
   backward)  ->  ``ad.custom_jvp`` with its own forward-mode rule.
4. ``with torch.no_grad():`` / ``.detach()``  ->  plain numpy on plain arrays, or
   ``ad.stop_gradient`` inside a differentiated function.
5. The lesson's training loop: fit y = sin(x) with a + b P3(c + d x) by gradient descent.

Run with ``python examples/pytorch_autograd_lesson.py [--quick]``.
"""
import math
import sys

import numpy as np

import dualad as ad


def show(label, got, expected):
    print(label)
    print(f"    dualad:   {got}")
    print(f"    expected: {expected}")


# 1. L = (a*3 + b - 10)^2 at a = 1, b = 2: dL/da = 2(3a + b - 10) * 3, dL/db = 2(3a + b - 10)
def L(a, b):
    return (a * 3.0 + b - 10.0) ** 2


ga, gb = ad.gradient(L, 1.0, 2.0, argnums=(0, 1))
show("gradient of (3a + b - 10)^2 at (1, 2)", [ga, gb], [2 * (3 + 2 - 10) * 3, 2 * (3 + 2 - 10)])

# 2. no accumulation: a second call returns the same numbers, there is no .grad to zero
show("the same gradient, asked again", list(ad.gradient(L, 1.0, 2.0, argnums=(0, 1))),
     [-30.0, -10.0])


# 3. a custom Function: P3(x) = (5x^3 - 3x) / 2 with its own derivative rule 1.5 (5x^2 - 1)
@ad.custom_jvp
def legendre_p3(x):
    return 0.5 * (5.0 * x ** 3 - 3.0 * x)


@legendre_p3.defjvp
def legendre_p3_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return legendre_p3(x), (1.5 * (5.0 * x ** 2 - 1.0))[..., None] * t


show("d/dx P3(x) at 0.7 (custom rule)", ad.derivative(legendre_p3, 0.7),
     1.5 * (5.0 * 0.7 ** 2 - 1.0))
show("d2/dx2 P3(x) at 0.7 (the rule, differentiated)", ad.derivative(legendre_p3, 0.7, order=2),
     15.0 * 0.7)

# 4. no_grad / detach: stop_gradient makes a value a constant for the derivative
show("d/dx [x * stop_gradient(x)] at 3", ad.derivative(lambda x: x * ad.stop_gradient(x), 3.0),
     3.0)

# 5. the lesson's loop: y = sin(x) on [-pi, pi], model a + b P3(c + d x), squared error,
#    plain gradient descent. The update is ordinary numpy on plain arrays (PyTorch needs
#    torch.no_grad() here; forward mode has nothing to switch off).
quick = "--quick" in sys.argv
steps = 200 if quick else 2000
x = np.linspace(-math.pi, math.pi, 2000)
y = np.sin(x)
params = np.array([0.0, -1.0, 0.0, 0.3])  # a, b, c, d as in the lesson
lr = 5e-6


def loss(p):
    a, b, c, d = p[0], p[1], p[2], p[3]
    return np.sum((a + b * legendre_p3(c + d * x) - y) ** 2)


for step in range(steps):
    value, grad = ad.value_and_grad(loss, params)
    params = params - lr * grad
print(f"polynomial fit after {steps} steps")
print(f"    dualad:   {params.tolist()}")
print(f"    loss:     {loss(params)}")
print("    expected: the lesson reports y = -6.7e-11 - 2.2086 P3(-1.6e-10 + 0.2554 x) after 2000 "
      "steps")
