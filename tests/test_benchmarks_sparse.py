"""Smoke-test ``benchmarks/sparse.py --quick``: it runs, checks itself, prints its tables.

No timing is asserted (a quick run on a shared machine means nothing); only that every row is
there with its times and ratios, and that the built-in correctness checks (hand-written
Jacobians and Hessians, the detected patterns) passed.
"""
import re

import pytest
from _scripts import RATIO, TIME, run_script, table_rows

pytest.importorskip("scipy")

CELL = rf"{TIME} \({RATIO}\)"


def run_bench(*args):
    return run_script("benchmarks/sparse.py", "--quick", *args)


def check_tables(out, with_jax):
    assert "correctness: ok" in out
    assert "(a) Jacobian of the 1-D Brusselator" in out
    for n in ("100", "400"):
        rows = table_rows(out, n)
        assert len(rows) == 1, n
        row = rows[0]
        # n, colors, prepared, detection, coloring, ad.jit, sparse=True, dense, jax,
        # sparsejac, asdex
        assert len(row) == 11
        assert row[1] == "4"  # two coupled second-difference blocks: 4 colors
        assert all(re.fullmatch(TIME, c) for c in row[2:5]), row
        assert all(re.fullmatch(CELL, c) for c in row[5:8]), row
        assert re.fullmatch(CELL, row[8]) if with_jax else row[8] == "skipped"
        assert all(c == "skipped" or re.fullmatch(CELL, c) for c in row[9:])
    assert re.search(r"prepared J\(x\): time ∝ n\^-?[0-9.]+ .*; n\^-?[0-9.]+ from n = 100 "
                     r"to 400", out)
    assert "(b) Hessian" in out
    for problem, colors in (("chained Rosenbrock", "2"), ("x·Ax/2 + Σ sin(x), band 5", "6")):
        rows = table_rows(out, problem)
        assert [r[1] for r in rows] == ["50", "400"], problem
        for row in rows:
            # problem, n, colors, prepared, ad.jit, sparse=True, dense, the two JAX ones
            assert len(row) == 9 and row[2] == colors and re.fullmatch(TIME, row[3])
            assert all(re.fullmatch(CELL, c) for c in row[4:7]), row
            for cell in row[7:]:
                assert re.fullmatch(CELL, cell) if with_jax else cell == "skipped"


def test_sparse_benchmark_quick_without_peers():
    out = run_bench("--no-peers")
    check_tables(out, with_jax=False)
    assert "jax: skipped (--no-peers)" in out


def test_sparse_benchmark_quick_with_jax():
    pytest.importorskip("jax")
    check_tables(run_bench(), with_jax=True)
