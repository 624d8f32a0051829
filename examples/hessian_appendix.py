"""Second derivatives, continuing the classic autodiff appendix.

The appendix's running example, f(x, y) = x²y + y + 2 at (3, 4), has the Hessian

    ∂²f/∂x² = 2y = 8,   ∂²f/∂x∂y = 2x = 6,   ∂²f/∂y² = 0,

and the second derivative of x² is 2 everywhere. dualad gets them exactly, three ways:

1. ``ad.hessian`` — one pass with hyper-dual numbers: each input carries a value, a gradient
   part and the upper triangle (i ≤ j) of a Hessian part, i.e. a polynomial in the
   directions truncated after second order;
2. a ``HyperDual`` seeded by hand, the same thing without the helper;
3. nested duals: a dual number whose value and ε part are themselves dual numbers, so the
   ε₁ε₂ part of the result is a second derivative (``derivative(f, x, order=2)``, or
   ``hessian(..., method='nested')``).

Run it with ``python examples/hessian_appendix.py``. Each step prints what dualad computes
above the expected value.
"""
import numpy as np

import dualad as ad
from dualad import HyperDual


def show(label, got, expected, source="dualad"):
    print(label)
    print(f"    {source + ':':<10}{got}")
    print(f"    expected: {expected}")


def f(x, y):
    return x * x * y + y + 2


def f_vec(v):
    return f(v[0], v[1])


# --- a second derivative of one variable --------------------------------------------------
show("derivative(x², 4, order=2)", ad.derivative(lambda x: x ** 2, 4.0, order=2), 2.0)
# by hand: the value and ε part of the outer dual are duals in an inner ε', so
# (4 + ε' + ε)² = 16 + 8ε' + (8 + 2ε')ε: the ε'ε part, 2, is the second derivative
show("derivative(derivative(x², ·), 4)",
     ad.derivative(lambda x: ad.derivative(lambda y: y ** 2, x), 4.0), 2.0)

# --- the appendix's f: the Hessian with the helper -----------------------------------------
show("hessian(f, [3, 4])", ad.hessian(f_vec, [3.0, 4.0]).tolist(), [[8.0, 6.0], [6.0, 0.0]])
value, grad, hess = ad.value_grad_hessian(f_vec, [3.0, 4.0])
show("value_grad_hessian(f, [3, 4]): value", value, 42.0)
show("value_grad_hessian(f, [3, 4]): gradient", grad.tolist(), [24.0, 10.0])
show("value_grad_hessian(f, [3, 4]): Hessian", hess.tolist(), [[8.0, 6.0], [6.0, 0.0]])

# --- a HyperDual seeded by hand ---------------------------------------------------------------
# x = 3 + [1 0]ε, y = 4 + [0 1]ε with zero Hessian parts; one evaluation of f carries value,
# gradient and the packed Hessian (pairs (0,0), (0,1), (1,1)) through every operation.
xy = HyperDual(np.array([3.0, 4.0]), np.eye(2))
out = f(xy[0], xy[1])
show("f(HyperDual(3, 4)): value", out.value.item(), 42.0)
show("f(HyperDual(3, 4)): gradient part", out.grad.tolist(), [24.0, 10.0])
show("f(HyperDual(3, 4)): packed Hessian part (xx, xy, yy)", out.hess.tolist(),
     [8.0, 6.0, 0.0])
show("f(HyperDual(3, 4)).hessian()", out.hessian().tolist(), [[8.0, 6.0], [6.0, 0.0]])

# --- nested duals ---------------------------------------------------------------------------------
show("hessian(f, [3, 4], method='nested')",
     ad.hessian(f_vec, [3.0, 4.0], method="nested").tolist(), [[8.0, 6.0], [6.0, 0.0]])
# one entry by hand: ∂/∂x of (∂f/∂y) — a dual in x whose value is a dual in y
show("∂²f/∂x∂y by nesting derivative",
     ad.derivative(lambda x: ad.derivative(lambda y: f(x, y), 4.0), 3.0), 6.0)
show("∂²f/∂x² by derivative(order=2)", ad.derivative(lambda x: f(x, 4.0), 3.0, order=2), 8.0)
show("∂²f/∂y² by derivative(order=2)", ad.derivative(lambda y: f(3.0, y), 4.0, order=2), 0.0)
# jvp of a jvp: the inner jvp's ε part (∂f/∂x) is itself differentiated along x
inner = ad.jvp(lambda x: ad.jvp(lambda t: f(t, 4.0), x, 1.0)[1], 3.0, 1.0)
show("jvp of jvp along x (∂f/∂x, then ∂²f/∂x²)", list(inner), [24.0, 8.0])

# --- compared with central differences ------------------------------------------------------
h = 1e-4
fd = np.array([[(f(3 + h, 4) - 2 * f(3, 4) + f(3 - h, 4)) / h ** 2,
                (f(3 + h, 4 + h) - f(3 + h, 4 - h) - f(3 - h, 4 + h) + f(3 - h, 4 - h))
                / (4 * h * h)],
               [0.0, (f(3, 4 + h) - 2 * f(3, 4) + f(3, 4 - h)) / h ** 2]])
fd[1, 0] = fd[0, 1]
show(f"second central differences, h = {h:g}", np.round(fd, 6).tolist(),
     [[8.0, 6.0], [6.0, 0.0]], source="numeric")
show("max |hessian - central differences|", float(np.max(np.abs(hess - fd))),
     "about 1e-7 (the error of the finite difference); dualad's Hessian is exact",
     source="numeric")
