"""A pure-Python RK4 integrator differentiated with respect to a rate constant.

dy/dt = -k y, y(0) = 1: y(T) = exp(-k T), so dy(T)/dk = -T exp(-k T). The integrator below is
ordinary float code; dualad.derivative runs it on scalar duals.
"""
import dualad as ad


def rk4(rhs, y0, t_end, steps):
    y, h = y0, t_end / steps
    for _ in range(steps):
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * h * k1)
        k3 = rhs(y + 0.5 * h * k2)
        k4 = rhs(y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


def y_end(k):
    return rk4(lambda y: -k * y, 1.0, 2.0, 200)


k = 0.8
print(f"y(T): {y_end(k)!r}")
print(f"dy(T)/dk: {ad.derivative(y_end, k)!r}")
