"""Colours and colouring times on the standard sparsity patterns (dualad/sparse/coloring.py).

    python benchmarks/coloring_report.py           # full run
    python benchmarks/coloring_report.py --quick   # smoke run

(a) colours by ordering: column colouring (seeds of J·S) and star colouring (seeds of H·S,
    symmetric patterns) of the tridiagonal and banded (half-width 5) patterns, the arrowhead
    (star: 2, column: n) and the 2-D Brusselator on an N x N periodic grid (n = 2N²);
(b) seconds per colouring at large n (after compilation), and per recovery index.
One core, medians of interleaved repeats.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # also under runpy.run_path
from _harness import fmt_time, measure, print_table, setup  # noqa: E402

ARGS = setup(__doc__, "quick")

import numpy as np  # noqa: E402

from dualad.sparse import coloring as col  # noqa: E402


def banded(n, b):
    i = np.repeat(np.arange(n), 2 * b + 1)
    j = i + np.tile(np.arange(-b, b + 1), n)
    keep = (j >= 0) & (j < n)
    return col.Pattern.from_coo(i[keep], j[keep], (n, n))


def arrowhead(n):
    i = np.concatenate([np.zeros(n, int), np.arange(n), np.arange(1, n)])
    j = np.concatenate([np.arange(n), np.arange(n), np.zeros(n - 1, int)])
    return col.Pattern.from_coo(i, j, (n, n))


def brusselator_2d(N):
    idx = np.arange(N * N).reshape(N, N)
    rows, cols = [], []
    for s in (0, 1):
        for di, dj in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]:
            rows.append(s * N * N + idx.ravel())
            cols.append(s * N * N + np.roll(np.roll(idx, di, 0), dj, 1).ravel())
        rows.append(s * N * N + idx.ravel())
        cols.append((1 - s) * N * N + idx.ravel())
    n = 2 * N * N
    return col.Pattern.from_coo(np.concatenate(rows), np.concatenate(cols), (n, n))


def colours(colors):
    return int(colors.max()) + 1 if colors.size else 0


quick = ARGS.quick
problems = [("tridiagonal", banded(1000, 1)), ("banded, b = 5", banded(1000, 5)),
            ("arrowhead", arrowhead(300 if quick else 2000))]
problems += [(f"Brusselator 2-D, N = {N}", brusselator_2d(N))
             for N in ((7, 10) if quick else (7, 10, 13, 32, 100))]
print("(a) colours: column / star, by ordering")
print_table(["pattern", "n", "nnz"] + list(col.ORDERS),
            [[name, p.shape[0], p.nnz] + [f"{colours(col.column_coloring(p, o))} / "
                                          f"{colours(col.star_coloring(p, o))}"
                                          for o in col.ORDERS]
             for name, p in problems])

print("\n(b) time per colouring (default order: smallest_last) and per recovery index")
rows = []
for name, p in [("tridiagonal", banded(10**4 if quick else 10**5, 1)),
                ("banded, b = 5", banded(10**4 if quick else 10**5, 5))]:
    c, s = col.column_coloring(p), col.star_coloring(p)
    t = measure({"column": lambda p=p: col.column_coloring(p),
                 "natural": lambda p=p: col.column_coloring(p, "natural"),
                 "star": lambda p=p: col.star_coloring(p),
                 "recovery": lambda p=p, c=c: col.column_recovery(p, c),
                 "star recovery": lambda p=p, s=s: col.star_recovery(p, s)},
                repeats=1 if quick else 5)
    rows.append([name, p.shape[0], colours(c), fmt_time(t.time("column")),
                 fmt_time(t.time("natural")), colours(s), fmt_time(t.time("star")),
                 fmt_time(t.time("recovery")), fmt_time(t.time("star recovery"))])
print_table(["pattern", "n", "column colours", "column", "column (natural)", "star colours",
             "star", "column recovery", "star recovery"], rows)
