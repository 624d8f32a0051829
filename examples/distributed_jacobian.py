"""The Jacobian of a 2-D reaction-diffusion step with 10⁵ unknowns, computed on a Dask cluster.

The 2-D Brusselator (as in examples/sparse_brusselator_ivp.py: two species u, v on an N x N
periodic grid, 5-point Laplacian) advanced by S explicit Euler substeps: the step map
y -> y_S has a Jacobian whose rows reach every grid point within S stencil hops, so its
column colouring needs a few hundred directions (315 for S = 6) instead of n = 2N².

``ad.SparseJacobian`` detects the pattern and colours it once, here; each call then splits
the colours into chunks, one task each, on a Dask ``LocalCluster`` of two worker processes
(``executor=client``): the point and the function are sent once, each task returns the
compressed columns of its colours, and the matrix is assembled here, bit for bit the one
the local call computes with the same chunk size. Checked: bit for bit against the local
call, and ``J v`` against a directional derivative ``jvp`` along a random v.

    python examples/distributed_jacobian.py           # N = 224: n = 100352 (about a minute)
    python examples/distributed_jacobian.py --small   # N = 16, S = 2: quick

Needs dask.distributed and scipy: pip install "dualad[distributed,sparse]". On a real
cluster, pass ``Client("tcp://scheduler:8786")`` instead (docs/user/distributed.md).
"""
import argparse
import time

import numpy as np

import dualad as ad

ALPHA, DT = 0.1, 1e-6


def brusselator_step(N, substeps):
    """``(step, y0)``: ``step(y)`` advances y = [u.ravel(), v.ravel()] by ``substeps``
    explicit Euler steps of size ``DT``."""
    x = np.arange(N) / N
    X, Y = np.meshgrid(x, x, indexing="ij")
    scale = ALPHA * N * N  # α / h², h = 1 / N

    def laplacian(w):
        return scale * (np.roll(w, 1, 0) + np.roll(w, -1, 0) + np.roll(w, 1, 1)
                        + np.roll(w, -1, 1) - 4.0 * w)

    def step(y):
        u, v = y[:N * N].reshape(N, N), y[N * N:].reshape(N, N)
        for _ in range(substeps):
            uuv = u * u * v
            u, v = (u + DT * (1.0 + uuv - 4.4 * u + laplacian(u)),
                    v + DT * (3.4 * u - uuv + laplacian(v)))
        return np.concatenate([u.ravel(), v.ravel()])

    y0 = np.concatenate([(22.0 * Y * (1.0 - Y) ** 1.5).ravel() + 0.5,
                         (27.0 * X * (1.0 - X) ** 1.5).ravel() + 1.0])
    return step, y0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="N = 16, S = 2 (quick)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    N, S = (16, 2) if args.small else (224, 6)

    import dask
    from distributed import Client, LocalCluster
    # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which made these passes
    # 3.5 times slower (every large temporary mapped anew): unset it; and its worker profiler,
    # which samples a task's Python stack every 10 ms, slowed them by 10 to 20 %: off
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                     "distributed.worker.profile.enabled": False})

    step, y0 = brusselator_step(N, S)
    t0 = time.perf_counter()
    J = ad.SparseJacobian(step, y0)  # pattern and colouring, once, in this process
    prepared = time.perf_counter() - t0
    J.chunk_size = -(-J.n_colors // 16)  # colours per task: 16 tasks
    print(f"n = {y0.size} unknowns (N = {N}, {S} substeps), {J.n_colors} colours in tasks of "
          f"{J.chunk_size}; pattern and colouring in {prepared:.1f} s")

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        # the kernels of a task's passes compiled (or loaded from the disk cache) on each worker
        ad.distributed.warm_up(client, step, y0, directions=J.chunk_size)
        t0 = time.perf_counter()
        A = J(y0, executor=client)
        seconds = time.perf_counter() - t0
    print(f"Jacobian on {args.workers} workers: {A.shape[0]} x {A.shape[1]}, "
          f"{A.nnz} nonzeros, in {seconds:.2f} s")

    # the checks: the local call with the same chunks, and J v against a jvp along v
    local = J(y0)
    same = bool(np.array_equal(local.data, A.data) and np.array_equal(local.indices, A.indices))
    v = np.random.default_rng(1).standard_normal(y0.size)
    jv = ad.jvp(step, y0, v)[1]
    error = np.max(np.abs(A @ v - jv)) / np.max(np.abs(jv))
    print(f"bit for bit the local call: {same}")
    print(f"max |J v - jvp| / max |jvp| = {error:.1e}")
    print(f"sum of the entries: {float(A.sum())!r}")
    if not same or error > 1e-12:
        raise SystemExit("the distributed Jacobian is wrong")


if __name__ == "__main__":
    main()
