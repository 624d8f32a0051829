"""dualad start-up: import time and the first calls of a new process, cold and warm caches.

    python benchmarks/startup.py            # full run (a few minutes)
    python benchmarks/startup.py --quick    # smoke run: warm cache, 10⁴ elements, 1 repeat

Every number comes from a fresh Python process (pinned to one core, thread pools at one
thread), so that nothing is imported or compiled before it starts:

(a) ``import dualad``: wall time of the import statement (which imports no numba: the
    numba routes load with the first operation large enough to use them);
(b) the elementwise jvp of ``sin(x) * exp(-x * x)`` with one direction at 10⁴ and 10⁶
    elements: the first, second and third call, and the steady state (median of 10 later
    calls), each with ``import dualad`` already done;
(c) numba's own start-up, the floor of (b)'s first call at 10⁶ elements: ``import numba``
    and the first call of a function from its disk cache, with numpy already imported.

"cold" gives each process an empty cache directory (``XDG_CACHE_HOME`` and
``NUMBA_CACHE_DIR``, so numba compiles everything dualad uses); "warm" runs a process once
first in the same directory and then measures. Medians over ``--repeats`` processes.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
from _harness import fmt_time, print_table, setup  # noqa: E402

ARGS = setup(__doc__, "quick", "core", "repeats")
QUICK = ARGS.quick
REPEATS = ARGS.repeats or (1 if QUICK else 5)
SIZES = (10_000,) if QUICK else (10_000, 1_000_000)
KINDS = ("warm",) if QUICK else ("cold", "warm")

IMPORT = """
import sys, time
t = time.perf_counter()
import dualad
t = time.perf_counter() - t
assert "numba" not in sys.modules and "scipy" not in sys.modules, "import dualad loads numba"
print(t)
"""

NUMBA = """
import os, sys, time
import numpy
path = os.path.join(os.environ["NUMBA_CACHE_DIR"], "floor")
os.makedirs(path, exist_ok=True)
with open(os.path.join(path, "floor_kernel.py"), "w") as f:
    f.write("import numba\\n@numba.njit(cache=True)\\ndef twice(x):\\n    return 2.0 * x\\n")
sys.path.insert(0, path)
t = time.perf_counter()
import floor_kernel
floor_kernel.twice(1.0)
print(time.perf_counter() - t)
"""

CALLS = """
import json, time
import numpy as np
import dualad as ad
x = np.linspace(-2.0, 2.0, {n})
v = np.ones_like(x)
f = lambda x: np.sin(x) * np.exp(-x * x)
times = []
for _ in range(13):
    t = time.perf_counter()
    ad.jvp(f, x, v)
    times.append(time.perf_counter() - t)
print(json.dumps(times))
"""


def _run(code, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache, NUMBA_CACHE_DIR=os.path.join(cache, "numba"),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    # (the children inherit this process's pinning to one core)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return proc.stdout.strip().splitlines()[-1]


def _measure(code, kind):
    """One fresh process per repeat, in an empty cache directory (cold) or one that a first
    process has filled (warm)."""
    results = []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as cache:
            if kind == "warm":
                _run(code, cache)
            results.append(_run(code, cache))
    return results


def main():
    rows = []
    for kind in KINDS:
        t = statistics.median(float(r) for r in _measure(IMPORT, kind))
        rows.append([f"import dualad ({kind})", fmt_time(t), "", "", ""])
    t = statistics.median(float(r) for r in _measure(NUMBA, "warm"))
    rows.append(["numba alone: import + first cached call (warm)", fmt_time(t), "", "", ""])
    for n in SIZES:
        for kind in KINDS:
            runs = [json.loads(r) for r in _measure(CALLS.format(n=n), kind)]
            first, second, third = (statistics.median(r[i] for r in runs) for i in range(3))
            steady = statistics.median(statistics.median(r[3:]) for r in runs)
            rows.append([f"jvp, {n:.0e} elements ({kind})", fmt_time(first), fmt_time(second),
                         fmt_time(third), fmt_time(steady)])
    print(f"Python {sys.version.split()[0]}, {REPEATS} fresh process(es) per row, core "
          f"{ARGS.core}")
    print_table(["", "first call", "second", "third", "steady"], rows)
    # the small-problem table (ad.jit beside jax.jit(jacfwd)): benchmarks/small.py
    print()
    small = os.path.join(os.path.dirname(os.path.abspath(__file__)), "small.py")
    args = ["--core", str(ARGS.core)] if ARGS.core is not None else []
    subprocess.run([sys.executable, small, *args, *(["--quick"] if QUICK else [])], check=True)


if __name__ == "__main__":
    main()
