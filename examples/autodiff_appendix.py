"""The classic autodiff appendix, reproduced with dualad.

Forward-mode autodiff with dual numbers, the textbook walk-through: numbers of the form
a + bε with ε² = 0, where f(a + bε) = f(a) + b·f'(a)·ε. The running example is

    f(x, y) = x²y + y + 2   at (x, y) = (3, 4):   value 42, ∂f/∂x = 2xy = 24, ∂f/∂y = x² + 1 = 10.

Run it with ``python examples/autodiff_appendix.py``. Each step prints what dualad computes
above the expected value.
"""
import numpy as np

import dualad as ad
from dualad import DualNumber


def show(label, got, expected, source="dualad"):
    print(label)
    print(f"    {source + ':':<10}{got}")
    print(f"    expected: {expected}")


def f(x, y):
    return x * x * y + y + 2


# --- dual arithmetic ----------------------------------------------------------------------
# A plain number is a dual with zero ε part; sums add both parts, and products follow
# (a + bε)(c + dε) = ac + (ad + bc)ε because ε² = 0.
show("3 + (3 + 4ε)", 3 + DualNumber(3.0, 4.0), "6.0 + 4.0ε")
show("(3 + 4ε)(5 + 7ε)", DualNumber(3.0, 4.0) * DualNumber(5.0, 7.0), "15.0 + 41.0ε")

# --- a derivative of one variable ---------------------------------------------------------
# Evaluate at 4 + 1ε: the ε part of the result is the derivative. d/dx x² at 4 = 8.
show("(4 + 1ε)²", DualNumber(4.0, 1.0) ** 2, "16.0 + 8.0ε")
show("derivative(x², 4)", ad.derivative(lambda x: x ** 2, 4.0), 8.0)

# --- f(x, y) with hand-seeded duals, one direction per pass -------------------------------
# Seed x with ε to get ∂f/∂x, then y with ε to get ∂f/∂y: one pass per input.
show("f(3 + 1ε, 4 + 0ε)   (pass 1: d/dx)", f(DualNumber(3.0, 1.0), DualNumber(4.0, 0.0)),
     "42.0 + 24.0ε")
show("f(3 + 0ε, 4 + 1ε)   (pass 2: d/dy)", f(DualNumber(3.0, 0.0), DualNumber(4.0, 1.0)),
     "42.0 + 10.0ε")

# --- both directions in one pass ----------------------------------------------------------
# A DualNumber can carry several ε parts at once (a vector of partials): seed x with (1, 0)
# and y with (0, 1), and one evaluation returns the whole gradient.
show("f(3 + [1 0]ε, 4 + [0 1]ε)   (one pass)",
     f(DualNumber(3.0, [1.0, 0.0]), DualNumber(4.0, [0.0, 1.0])), "42.0 + [24.0 10.0]ε")

# --- the helper that does the seeding ---------------------------------------------------
show("f(3, 4)", f(3.0, 4.0), 42.0, source="plain")
grad = ad.gradient(lambda v: f(v[0], v[1]), [3.0, 4.0])
show("gradient(f, [3, 4])", grad.tolist(), [24.0, 10.0])

# --- compared with a numerical central difference ------------------------------------------
# (f(p + h e_i) − f(p − h e_i)) / 2h is only approximate (truncation and rounding error);
# the dual numbers above are exact.
h = 1e-5
central = [(f(3.0 + h, 4.0) - f(3.0 - h, 4.0)) / (2 * h),
           (f(3.0, 4.0 + h) - f(3.0, 4.0 - h)) / (2 * h)]
show(f"central difference, h = {h:g}", central, [24.0, 10.0], source="numeric")
show("max |gradient - central difference|", float(np.max(np.abs(grad - central))),
     "about 1e-10 (the error of the finite difference)", source="numeric")
