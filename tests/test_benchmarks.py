"""Smoke-test ``benchmarks/run.py --quick``: it runs, checks itself and prints its tables.

No timing is asserted (the numbers of a quick run on a shared machine mean nothing); only that
every row is there with a time and a ratio, and that the built-in correctness check passed.
"""
import os
import re
import subprocess
import sys
from pathlib import Path
from _scripts import RATIO, TIME, run_script, table_rows

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"

_TIME, _RATIO = TIME, RATIO


def run_bench(*args):
    return run_script(f"benchmarks/{SCRIPT.name}", "--quick", *args)


def row(out, first_cell):
    rows = table_rows(out, first_cell)
    assert rows, f"no table row {first_cell!r} in:\n{out}"
    return rows[0]


def check_tables(out):
    assert "(a) jvp of sin(x)*exp(-x*x) + sqrt(1 + x*x)" in out
    base = row(out, "numpy, value only (baseline)")
    assert re.fullmatch(_TIME, base[1]) and float(base[2]) == 1.0
    jvp = row(out, "dualad.jvp")
    assert re.fullmatch(_TIME, jvp[1]) and re.fullmatch(_RATIO, jvp[2]) and float(jvp[2]) > 0
    assert "(b) gradient of the chained Rosenbrock function" in out
    for n in ("100", "1000"):
        r = row(out, n)
        assert len(r) == 8
        assert re.fullmatch(_TIME, r[1]) and re.fullmatch(_TIME, r[2])
        assert re.fullmatch(_RATIO, r[3]) and float(r[3]) > 0
        for t, ratio in ((r[4], r[5]), (r[6], r[7])):  # jax, autograd: measured or skipped
            assert (t, ratio) == ("skipped", "-") or (re.fullmatch(_TIME, t)
                                                     and re.fullmatch(_RATIO, ratio))
    assert "correctness: ok" in out
    return out


def test_benchmark_quick_without_peers():
    out = check_tables(run_bench("--no-peers"))
    assert "note: jax: skipped" in out and "note: autograd: skipped" in out
    assert row(out, "100")[4:] == ["skipped", "-", "skipped", "-"]
    assert "reference: jax" not in out


def test_benchmark_quick_with_installed_peers():
    # jax and autograd come with the optional "bench" extra; columns of absent ones say so
    out = check_tables(run_bench())
    for name, column in (("jax", 4), ("autograd", 6)):
        installed = f"note: {name}: not installed" not in out
        assert (row(out, "1000")[column] != "skipped") == installed


def test_benchmark_reports_wrong_results(tmp_path):
    # a wrong derivative must stop the run before any table is printed
    wrapper = tmp_path / "wrong.py"
    wrapper.write_text(
        "import runpy, sys\n"
        f"sys.argv = [{str(SCRIPT)!r}, '--quick', '--no-peers']\n"
        "import dualad, numpy as np\n"
        "_jvp = dualad.jvp\n"
        "dualad.jvp = lambda f, x, v: (lambda r: (r[0], 1.01 * r[1]))(_jvp(f, x, v))\n"
        f"runpy.run_path({str(SCRIPT)!r}, run_name='__main__')\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    proc = subprocess.run([sys.executable, str(wrapper)], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert proc.returncode != 0
    assert "correctness check FAILED" in proc.stderr
    assert "dualad.jvp" not in proc.stdout


def test_times_are_printed_in_the_unit_they_reach_once_rounded():
    # (a subprocess: importing the harness sets the thread-pool variables of its process)
    code = ("import sys; sys.path.insert(0, 'benchmarks'); from _harness import fmt_time; "
            "print('|'.join(fmt_time(t) for t in (9.9996e-4, 1.234e-4, 0.99951, 2.5e-10, "
            "1e-3, 4.2)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "1 ms|123 µs|1 s|0.25 ns|1 ms|4.2 s"
    assert all(re.fullmatch(_TIME, t) for t in out.split("|"))
