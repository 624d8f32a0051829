"""Smoke-test ``benchmarks/training.py --quick`` and ``benchmarks/kernels.py --quick``.

No timing is asserted; only that they run, check their results and print their tables.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), "--quick", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_training_benchmark_quick():
    out = run("training.py", "--no-peers")
    assert "(1) time per epoch" in out and "(2) forward gradient" in out
    assert "| dualad exact, structured forward mode (MLP.exact_grad) |" in out
    assert "| dualad |" in out and "correctness: ok" in out


def test_kernels_benchmark_quick():
    out = run("kernels.py")
    assert "(a) jvp_many" in out and "(b) one dual op" in out and "(c) first call" in out
    assert "| np.sin(dual) |" in out
