"""Smoke-test ``benchmarks/second_order.py --quick``: it runs, checks itself, prints its tables.

No timing is asserted (a quick run on a shared machine means nothing); only that every row is
there with a time and ratio, and that the built-in correctness checks (closed-form Hessians,
the contenders against each other, Cauchy-formula derivatives) passed.
"""
import re
from pathlib import Path

import pytest
from _scripts import RATIO, TIME, run_script, table_rows

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "second_order.py"

_TIME, _RATIO = TIME, RATIO


def run_bench(*args):
    return run_script(f"benchmarks/{SCRIPT.name}", "--quick", *args)


rows_starting = table_rows


def check_tables(out, peers_expected=()):
    assert "correctness: ok" in out
    assert "(a) Hessian" in out
    for problem in ("chained Rosenbrock", "x·Ax/2 + Σ sin(x)"):
        rows = rows_starting(out, problem)
        assert len(rows) == 1, f"quick mode has one size (n = 10) for {problem}"
        row = rows[0]
        assert row[1] == "10" and re.fullmatch(_TIME, row[2])
        # nested, jax.hessian, jax jacfwd(jacfwd), torch: "time (ratio)" or "skipped"
        assert len(row) == 7
        assert re.fullmatch(rf"{_TIME} \({_RATIO}\)", row[3])
        for cell, peer in zip(row[4:], ("jax", "jax", "torch")):
            if peer in peers_expected:
                assert re.fullmatch(rf"{_TIME} \({_RATIO}\)", cell), cell
            else:
                assert cell == "skipped" or re.fullmatch(rf"{_TIME} \({_RATIO}\)", cell)
    assert "(b) derivative(f, x, order=k)" in out
    for k in range(2, 6):
        row = rows_starting(out, str(k))
        assert len(row) == 1, k
        assert re.fullmatch(_TIME, row[0][1]) and re.fullmatch(_TIME, row[0][3])
        assert all(re.fullmatch(_RATIO, c) for c in (row[0][2], row[0][4], row[0][5]))
    return out


def test_second_order_benchmark_quick_without_peers():
    out = check_tables(run_bench("--no-peers"))
    assert "jax: skipped (--no-peers)" in out and "torch: skipped (--no-peers)" in out


def test_second_order_benchmark_quick_with_installed_peers():
    installed = []
    for name in ("jax", "torch"):
        try:
            __import__(name)
            installed.append(name)
        except Exception:
            pass
    if not installed:
        pytest.skip("neither jax nor torch is installed")
    check_tables(run_bench(), peers_expected=installed)
