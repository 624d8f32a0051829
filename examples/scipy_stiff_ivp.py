"""scipy.integrate.solve_ivp on the stiff Robertson problem with jac from dualad.jacobian.

Needs scipy: pip install "dualad[scipy]".
"""
import numpy as np
from scipy.integrate import solve_ivp

import dualad as ad


def robertson(t, y):
    return np.stack([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def jac(t, y):
    return ad.jacobian(lambda v: robertson(t, v), y)


sol = solve_ivp(robertson, (0.0, 40.0), [1.0, 0.0, 0.0], method="Radau", jac=jac,
                rtol=1e-8, atol=[1e-10, 1e-14, 1e-10])
print(f"y(40): {sol.y[:, -1].tolist()!r}")
print(f"sum y(40): {float(np.sum(sol.y[:, -1]))!r}")
print(f"jacobian at [1, 2e-5, 0.1]: {jac(0.0, np.array([1.0, 2e-5, 0.1])).tolist()!r}")
print(f"njev: {sol.njev!r}")
print(f"success: {sol.success!r}")
