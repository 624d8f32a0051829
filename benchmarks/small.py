"""dualad on small problems: per-operation dispatch, and ``ad.jit`` without it, beside JAX.

    python benchmarks/small.py            # full run (about a minute)
    python benchmarks/small.py --quick    # smoke run (numbers not meaningful)

The table of issue 18: the gradient of the chained Rosenbrock function at n = 10 and 100, the
Jacobian of the 1-D Brusselator right-hand side at n = 100, and the Rosenbrock Hessian at
n = 10 and 50, each with
  - dualad:        ``ad.gradient(f, x)`` (every dual operation dispatched in Python),
  - dualad jit:    ``ad.gradient(ad.jit(f), x)`` (recorded once, then a compiled replay),
  - ``jax.jit(jax.jacfwd(f))`` for first derivatives, ``jax.jit(jax.jacfwd(jax.jacfwd(f)))``
    for Hessians (forward over forward, as dualad's), when JAX is installed.
"jit / jax" is dualad jit's time over JAX's (below 1: dualad jit is faster).

Method: pinned to one core, thread pools at one thread (set before numpy and jax load);
loop counts so that one repeat lasts ``--min-time`` seconds; repeats interleaved; medians.
Every result is checked against the hand-written derivative before anything is timed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
from _harness import (check, fmt_ratio, fmt_time, load_average, load_peers,  # noqa: E402
                      measure, print_table, setup)

ARGS = setup(__doc__, "quick", "core", "repeats", "min-time", "no-peers")

import numpy as np  # noqa: E402

import dualad as ad  # noqa: E402

QUICK = ARGS.quick
REPEATS = ARGS.repeats or (3 if QUICK else 9)
MIN_TIME = ARGS.min_time or (0.002 if QUICK else 0.1)


def _load_jax():
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    return jax, jnp


PEERS, NOTES = load_peers({"jax": (_load_jax, "pip install jax")}, ARGS.no_peers)


def rosen(x, xp=np):
    return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def bruss(x, xp=np):
    n = x.shape[0] // 2
    u, v = x[:n], x[n:]
    uu = xp.concatenate([xp.ones(1), u, xp.ones(1)])
    vv = xp.concatenate([3.0 * xp.ones(1), v, 3.0 * xp.ones(1)])
    dx2 = (n + 1.0) ** 2 / 50.0
    du = 1.0 + u * u * v - 4.0 * u + dx2 * (uu[2:] - 2.0 * u + uu[:-2])
    dv = 3.0 * u - u * u * v + dx2 * (vv[2:] - 2.0 * v + vv[:-2])
    return xp.concatenate([du, dv])


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def rosen_hess(x):
    n = x.size
    h = np.zeros((n, n))
    i = np.arange(n - 1)
    h[i, i] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    h[i + 1, i + 1] += 200.0
    h[i, i + 1] = h[i + 1, i] = -400.0 * x[:-1]
    return h


def bruss_jac(x):
    n = x.shape[0] // 2
    u, v = x[:n], x[n:]
    dx2 = (n + 1.0) ** 2 / 50.0
    lap = dx2 * (np.diag(-2.0 * np.ones(n)) + np.diag(np.ones(n - 1), 1)
                 + np.diag(np.ones(n - 1), -1))
    return np.block([[np.diag(2 * u * v - 4.0) + lap, np.diag(u * u)],
                     [np.diag(3.0 - 2 * u * v), np.diag(-u * u) + lap]])


CASES = [  # (name, n, helper, f, closed form, jax transform)
    ("Rosenbrock gradient", 10, ad.gradient, rosen, rosen_grad, "jacfwd"),
    ("Rosenbrock gradient", 100, ad.gradient, rosen, rosen_grad, "jacfwd"),
    ("Brusselator Jacobian", 100, ad.jacobian, bruss, bruss_jac, "jacfwd"),
    ("Rosenbrock Hessian", 10, ad.hessian, rosen, rosen_hess, "jacfwd2"),
    ("Rosenbrock Hessian", 50, ad.hessian, rosen, rosen_hess, "jacfwd2"),
]


def main():
    print(f"# dualad {ad.__version__}, numpy {np.__version__}, core {ARGS.core}, "
          f"load {load_average()}")
    for note in NOTES:
        print(f"# {note}")
    rows = []
    for name, n, helper, f, exact, transform in CASES:
        x = np.linspace(0.2, 1.4, n)
        jitted = ad.jit(f)
        contenders = {"dualad": lambda: helper(f, x), "dualad jit": lambda: helper(jitted, x)}
        for label, fn in contenders.items():
            check(f"{name} n={n} ({label})", fn(), exact(x))
        for _ in range(5):  # the record, then replays until the compiled one is in place
            helper(jitted, x)
        if "jax" in PEERS:
            jax, jnp = PEERS["jax"]
            g = jax.jacfwd(lambda z: f(z, jnp))
            compiled = jax.jit(jax.jacfwd(g) if transform == "jacfwd2" else g)
            xj = jnp.asarray(x)
            check(f"{name} n={n} (jax)", np.asarray(compiled(xj)), exact(x))
            contenders["jax"] = lambda: compiled(xj).block_until_ready()
        t = measure(contenders, REPEATS, MIN_TIME)
        ratio = fmt_ratio(t.ratio("dualad jit", "jax")) if "jax" in t else "-"
        rows.append([f"{name}, n = {n}", fmt_time(t.time("dualad")),
                     fmt_time(t.time("dualad jit")),
                     fmt_time(t.time("jax")) if "jax" in t else "-", ratio])
    print_table(["problem", "dualad", "dualad jit", "jax.jit(jacfwd)", "jit / jax"], rows)


if __name__ == "__main__":
    main()
