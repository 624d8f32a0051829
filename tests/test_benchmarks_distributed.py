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
    for route in ("plain", "ad.jit"):
        rows = table_rows(out, route)
        assert [r[1:3] for r in rows] == [["3", "12"], ["9", "4"], ["18", "2"]], rows
        for row in rows:  # (35 colours)
            assert len(row) == 7, row
            assert all(re.fullmatch(TIME, c) for c in row[3:5] + row[6:]), row
            assert re.fullmatch(RATIO, row[5]), row
    assert re.search(rf"2 workers against 1: {RATIO}x \(plain, 3 colours per task\), "
                     rf"{RATIO}x \(plain, 9 colours per task\), .*{RATIO}x \(ad.jit, 18 "
                     rf"colours per task\)", out)
