"""Shared benchmark harness: one core, one thread, interleaved repeats, medians, tables.

Import it before numpy, jax or torch: importing sets every thread pool to one thread, and
``setup`` (parse the flags, pin to one core) must run before them too, so this module never
imports numpy at its top.
"""
import argparse
import gc
import os
import statistics
import sys
import time

# Thread pools read these when their library is imported, so they must be set first.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"
_XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _XLA_ONE_THREAD).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# The benchmarks run from a checkout, without installing dualad.
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, ROOT)

_FLAGS = {
    "quick": dict(action="store_true", help="smoke run (numbers are not meaningful)"),
    "core": dict(type=int, default=None,
                 help="CPU core to pin to (default: the last core this process may use)"),
    "repeats": dict(type=int, default=None, help="repeats per contender"),
    "min-time": dict(type=float, default=None,
                     help="minimum seconds per repeat (sets the loop count)"),
    "no-peers": dict(action="store_true", help="do not import the peers even when installed"),
}


def setup(doc, *flags, **helps):
    """Parse the command line and pin the process to one core; returns the arguments.

    ``flags`` are names from ``_FLAGS`` or ``(name, add_argument kwargs)`` pairs, in --help
    order; ``helps`` replaces a flag's help (``no_peers=...``). ``args.core`` is the core used.
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in flags:
        name, kwargs = (flag, _FLAGS[flag]) if isinstance(flag, str) else flag
        help_ = helps.get(name.replace("-", "_"))
        p.add_argument("--" + name, **dict(kwargs, **({"help": help_} if help_ else {})))
    args = p.parse_args()
    # Pin before numpy/jax/torch start their threads: affinity is inherited, not imposed later.
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    core = getattr(args, "core", None)
    args.core = core if core is not None else (allowed[-1] if allowed else None)
    if args.core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    return args


def load_peers(loaders, skip):
    """Import the optional peers ``{name: (loader, install hint)}``: (loaded, notes)."""
    peers, notes = {}, []
    for name, (load, how) in loaders.items():
        if skip:
            notes.append(f"{name}: skipped (--no-peers)")
            continue
        try:
            peers[name] = load()
        except Exception as err:  # ImportError, or a broken install: skip the column, say why
            notes.append(f"{name}: not installed, its columns are skipped "
                         f"({type(err).__name__}: {err}); {how}")
    return peers, notes


def load_average():
    return ", ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


# --- timing --------------------------------------------------------------------------------
def _loops(fn, min_time):
    """Calls per repeat so that one repeat lasts at least ``min_time`` (timeit's autorange)."""
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_time:
            return number
        # aim a little above min_time, at least doubling
        guess = int(number * 1.2 * min_time / max(elapsed, 1e-9))
        number = max(2 * number, min(guess, 100 * number))


def measure(contenders, repeats, min_time=0.0, number=1):
    """Time ``{name: fn}`` with interleaved repeats (A B C A B C ...); returns ``Timings``.

    Each repeat calls a contender ``number`` times or, given ``min_time``, as often as makes
    the repeat last that long. Interleaving makes slow phases of a shared machine hit all alike.
    """
    for fn in contenders.values():
        fn()  # warm-up: compile, fill caches, so that the loop count is not set by a first call
    numbers = {k: _loops(fn, min_time) if min_time else number for k, fn in contenders.items()}
    samples = Timings({k: [] for k in contenders})
    gc_was_enabled = gc.isenabled()
    gc.disable()  # a collection would land on whichever contender happens to run
    try:
        for _ in range(repeats):
            for k, fn in contenders.items():
                t0 = time.perf_counter()
                for _ in range(numbers[k]):
                    fn()
                samples[k].append((time.perf_counter() - t0) / numbers[k])
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


class Timings(dict):
    """``{name: [seconds per call in each repeat]}`` of one interleaved measurement."""

    def time(self, name):
        """Median time per call."""
        return statistics.median(self[name])

    def ratio(self, name, baseline):
        """Median over repeats of (time of name) / (time of baseline) in the same repeat."""
        return statistics.median(a / b for a, b in zip(self[name], self[baseline]))


# --- output and checks -------------------------------------------------------------------
def fmt_time(t):
    """``t`` seconds to 3 significant digits, in the largest unit it reaches once rounded
    (999.7 µs is "1 ms", not "1e+03 µs")."""
    t = float(f"{t:.3g}")
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t / 1e-9:.3g} ns"


def fmt_ratio(r):
    return f"{r:.2f}" if r < 100 else f"{r:.0f}"


def print_table(header, rows, align=True):
    """A markdown table; ``align`` pads the columns to a common width."""
    widths = [max(len(str(c)) for c in col) if align else 0 for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2 if align else 3) for w in widths) + "|")
    for row in rows:
        print(line(row))


class CorrectnessError(AssertionError):
    pass


def check(name, got, want, rtol=1e-12, atol=1e-12, reference="the closed form"):
    """Raise ``CorrectnessError`` unless ``got`` matches ``want`` elementwise."""
    import numpy as np  # here, not at the top: the caller has set up threads and imported it
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
        err = np.max(np.abs(got - want)) if got.shape == want.shape else "shape mismatch"
        raise CorrectnessError(f"{name}: result differs from {reference} (max error {err})")
