"""Smoke-test ``benchmarks/distributed.py --quick``: it runs, checks itself, prints its table.

No timing is asserted (a quick run on a shared machine means nothing); only that the
built-in checks passed (each cluster's Jacobian bit for bit the local call's, J v against a
jvp) and that every row is there with a time.
"""
import re

import pytest
from _scripts import RATIO, TIME, run_script, table_rows

pytest.importorskip("distributed")
pytest.importorskip("scipy")

pytestmark = pytest.mark.distributed


def test_distributed_benchmark_quick():
    out = run_script("benchmarks/distributed.py", "--quick", timeout=300)
    assert "correctness: ok" in out
    for chunk, tasks in (("3", "12"), ("9", "4"), ("18", "2")):  # (35 colours)
        (row,) = table_rows(out, chunk)
        assert row[1] == tasks and len(row) == 6, row
        assert all(re.fullmatch(TIME, c) for c in row[2:4] + row[5:]), row
        assert re.fullmatch(RATIO, row[4]), row
    assert re.search(rf"2 workers against 1: {RATIO}x faster with 3 colours per task, "
                     rf"{RATIO}x faster with 9 colours per task, {RATIO}x faster with 18", out)
