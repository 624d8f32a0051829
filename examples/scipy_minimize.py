"""scipy.optimize.minimize on Rosenbrock with dualad's gradient and Hessian.

Newton-CG with exact derivatives against Nelder-Mead without them (needs scipy:
pip install "dualad[scipy]").
"""
import numpy as np
from scipy.optimize import minimize

import dualad as ad


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


x0 = np.array([-1.2, 1.0, -0.5, 0.8])
with_derivatives = minimize(rosenbrock, x0, method="Newton-CG",
                            jac=lambda x: ad.gradient(rosenbrock, x),
                            hess=lambda x: ad.hessian(rosenbrock, x), tol=1e-12)
without = minimize(rosenbrock, x0, method="Nelder-Mead",
                   options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000, "maxfev": 20000})
print(f"Newton-CG x: {with_derivatives.x.tolist()!r}")
print(f"Newton-CG nfev: {with_derivatives.nfev!r}")
print(f"Nelder-Mead x: {without.x.tolist()!r}")
print(f"Nelder-Mead nfev: {without.nfev!r}")
