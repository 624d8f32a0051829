"""Smoke-test ``benchmarks/small.py --quick``: it runs, checks every result against the
hand-written derivative, and prints one row per problem (no timing is asserted)."""
import re

from _scripts import RATIO, TIME, run_script, table_rows

PROBLEMS = ("Rosenbrock gradient, n = 10", "Rosenbrock gradient, n = 100",
            "Brusselator Jacobian, n = 100", "Rosenbrock Hessian, n = 10",
            "Rosenbrock Hessian, n = 50")


def test_small_benchmark_quick_without_peers():
    out = run_script("benchmarks/small.py", "--quick", "--no-peers")
    for problem in PROBLEMS:
        row, = table_rows(out, problem)
        assert all(re.fullmatch(TIME, c) for c in row[1:3]), row
        assert row[3:] == ["-", "-"], row


def test_small_benchmark_quick_with_jax():
    import pytest
    pytest.importorskip("jax")
    out = run_script("benchmarks/small.py", "--quick")
    for problem in PROBLEMS:
        row, = table_rows(out, problem)
        assert all(re.fullmatch(TIME, c) for c in row[1:4]) and re.fullmatch(RATIO, row[4])
