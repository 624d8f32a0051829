"""`mypy dualad` is clean (mypy is in the test extra, so CI runs this)."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_mypy_reports_no_error():
    pytest.importorskip("mypy")
    proc = subprocess.run([sys.executable, "-m", "mypy", "dualad"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
