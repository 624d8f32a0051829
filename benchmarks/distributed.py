"""dualad on a Dask cluster: a large sparse Jacobian with 1 and 2 worker processes.

    python benchmarks/distributed.py            # n = 100352 (a few minutes)
    python benchmarks/distributed.py --quick    # smoke run: small n, one short repeat

The problem is examples/distributed_jacobian.py's: the step map of the 2-D Brusselator (S
explicit Euler substeps on an N x N periodic grid, n = 2N² unknowns; N = 224, S = 6: 315
colours). ``J = ad.SparseJacobian(step, y0)`` is prepared once (pattern and colouring, not
timed); timed is ``J(y0, executor=client)`` with 10, 20 and 40 colours per task
(``J.chunk_size``) on two Dask ``LocalCluster`` s, one of 1 and one of 2 worker processes
(one thread each, every thread pool at one thread), each worker pinned to its own core
(core 0; cores 0 and 1), the repeats of the two interleaved; and the same call without an
executor in this process, for reference. Times are medians over repeats; the speedup is the
median over repeats of (time on 1 worker) / (time on 2 workers) within each repeat.

Two routes: the plain ``step`` (numpy on dual arrays, one pass per operation), and
``ad.jit(step)``, whose record compiles into fused loops (the rolls read shifted, no copy):
3 to 5 times faster per Jacobian. The client (and the scheduler, in its process) shares the
two cores with the workers: receiving and assembling the 14.7 M entries (117 MB) costs it
0.2 to 0.3 s of CPU per call, which the jitted route's short tasks no longer hide.

The clusters run with Dask's worker profiler off (it samples each task's Python stack every
10 ms: the plain route ran 10 to 20 % slower with it) and without the nanny's
``MALLOC_TRIM_THRESHOLD_`` (3.5 times slower passes); docs/user/distributed.md.

Why three chunk sizes: each pass has a fixed cost (f's values, about 4 colours' worth of
work on the plain route), so fewer, larger tasks do less work in all; but a task's arrays
hold ``chunk_size x n x 8`` bytes of partials each (16 MB at 20 colours), and two workers
share the 32 MB L3 cache of this machine (one alone has all of it), so their passes slow
each other down, by about 10 to 40 % on the plain route.

Checked before anything is timed: each cluster's matrix is bit for bit the local call's, and
``J v`` matches a directional derivative (``ad.jvp``) along a random v.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # (also under runpy.run_path)
# first, before numpy: importing the harness sets every thread pool to one thread
from _harness import (CorrectnessError, fmt_ratio, fmt_time, load_average,  # noqa: E402
                      measure, print_table)

# this file has the name of dask's package: its folder off the path, so that "distributed" is
# dask's (here and in the worker processes, which start with this path)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
sys.path.insert(0, os.path.join(HERE, os.pardir, "examples"))

import platform  # noqa: E402

import cloudpickle  # noqa: E402
import numpy as np  # noqa: E402

import distributed_jacobian  # noqa: E402
import dualad as ad  # noqa: E402
from distributed_jacobian import brusselator_step  # noqa: E402

# the workers get the example's function by value (they need not find examples/)
cloudpickle.register_pickle_by_value(distributed_jacobian)

CHUNKS = (10, 20, 40)  # colours per task: 32, 16 and 8 tasks of the 315 colours
ROUTES = ("plain", "ad.jit")


def _pin(cores):
    def pin(dask_worker=None):
        os.sched_setaffinity(0, cores)
        return sorted(os.sched_getaffinity(0))
    return pin


def cluster(workers, cores):
    """A LocalCluster of ``workers`` processes, worker i pinned to ``cores[i]``."""
    import dask
    from distributed import Client, LocalCluster
    # (Dask's default MALLOC_TRIM_THRESHOLD_=65536 made the passes 3.5 times slower)
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                     "distributed.worker.profile.enabled": False})
    c = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                     dashboard_address=":0")
    client = Client(c)
    if hasattr(os, "sched_setaffinity"):
        for address, core in zip(sorted(client.scheduler_info()["workers"]), cores):
            client.run(_pin({core}), workers=[address])
    return c, client


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run (numbers not meaningful)")
    p.add_argument("--repeats", type=int, default=None)
    args = p.parse_args()
    N, S = (16, 2) if args.quick else (224, 6)
    chunks = (3, 9, 18) if args.quick else CHUNKS
    repeats = args.repeats or (1 if args.quick else 5)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0, 1]
    if len(cores) < 2:
        print(f"only {len(cores)} core available: the 2-worker numbers mean nothing")
        cores = cores * 2

    step, y0 = brusselator_step(N, S)
    prepared = {"plain": ad.SparseJacobian(step, y0), "ad.jit": ad.SparseJacobian(ad.jit(step), y0)}
    n_colors = prepared["plain"].n_colors
    print(f"dualad distributed benchmark: 2-D Brusselator step, N = {N}, {S} substeps, "
          f"n = {y0.size}, {n_colors} colours")
    print(f"Python {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} cores, load average {load_average()}")
    warm_jit(prepared["ad.jit"], y0)

    clusters = {w: cluster(w, cores[:w]) for w in (1, 2)}
    rows, ratios = [], {}
    try:
        v = np.random.default_rng(1).standard_normal(y0.size)
        jv = ad.jvp(step, y0, v)[1]
        for route, J in prepared.items():
            for chunk in chunks:
                J.chunk_size = chunk
                local = J(y0)
                if np.max(np.abs(local @ v - jv)) > 1e-12 * np.max(np.abs(jv)):
                    raise CorrectnessError("J v differs from the directional derivative")
                for w, (_, client) in clusters.items():
                    ad.distributed.warm_up(client, J.f, y0, directions=chunk)
                    for _ in range(4 if route == "ad.jit" else 1):  # (each worker compiles)
                        A = J(y0, executor=client)
                    if not (np.array_equal(A.data, local.data)
                            and np.array_equal(A.indices, local.indices)):
                        raise CorrectnessError(f"the Jacobian on {w} workers is not the local one")
                t = measure({"1 worker": lambda: J(y0, executor=clusters[1][1]),
                             "2 workers": lambda: J(y0, executor=clusters[2][1]),
                             "no executor": lambda: J(y0)}, repeats)
                ratios[route, chunk] = t.ratio("1 worker", "2 workers")
                rows.append([route, chunk, -(-n_colors // chunk), fmt_time(t.time("1 worker")),
                             fmt_time(t.time("2 workers")), fmt_ratio(ratios[route, chunk]),
                             fmt_time(t.time("no executor"))])
        print("correctness: ok (bit for bit the local call on 1 and 2 workers; J v = jvp)")
    finally:
        for c, client in clusters.values():
            client.close()
            c.close()
    print_table(["f", "colours per task", "tasks", "1 worker", "2 workers",
                 "speedup (1 worker / 2 workers)", "no executor (this process)"], rows)
    print("2 workers against 1: " + ", ".join(
        f"{r:.2f}x ({route}, {c} colours per task)" for (route, c), r in ratios.items())
        + f" (medians of {repeats} repeats); load average after: {load_average()}")


def warm_jit(J, y0):
    """Call the jitted route here until its record is compiled (into the disk cache, where
    the workers find it): a long record compiles once its interpreted replays have taken as
    long as its compile is expected to (docs/user/jit.md)."""
    program = None
    for _ in range(100):
        J(y0)
        programs = J.f.programs
        program = programs[0] if programs else None
        if program is not None and program.compiled is not None:
            break
    if program is None:
        print(f"ad.jit(step): no record, the ordinary route: {J.f.explain()}")
        return
    state = {None: "not yet (its replays have not cost its compile time)", False: "no"}.get(
        program.compiled, "yes")
    print(f"ad.jit(step): a record of {len(program.description or ())} steps, compiled: "
          f"{state}")


if __name__ == "__main__":
    main()
