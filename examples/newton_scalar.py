"""Newton's method on a scalar equation written with dualad.math: x = cos(x) + 0.5 * atan(x).

dualad.derivative gives the exact slope of the residual at each step.
"""
import dualad as ad
from dualad import math as dm


def residual(x):
    return x - dm.cos(x) - 0.5 * dm.atan(x)


x = 1.0
for step in range(50):
    dx = residual(x) / ad.derivative(residual, x)
    x -= dx
    if abs(dx) < 1e-15:
        break
print(f"root: {x!r}")
print(f"residual: {residual(x)!r}")
print(f"steps: {step + 1}")
