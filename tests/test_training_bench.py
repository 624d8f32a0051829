"""Smoke-test ``benchmarks/training.py --quick`` and ``benchmarks/kernels.py --quick``.

No timing is asserted; only that they run, check their results and print their tables.
"""
from pathlib import Path
from _scripts import run_script

ROOT = Path(__file__).resolve().parents[1]


def run(script, *args):
    return run_script(f"benchmarks/{script}", "--quick", *args)


def test_training_benchmark_quick():
    out = run("training.py", "--no-peers")
    assert "(1) time per epoch" in out and "(2) forward gradient" in out
    assert "| dualad exact, structured forward mode (MLP.exact_grad) |" in out
    assert "| dualad |" in out and "correctness: ok" in out


def test_kernels_benchmark_quick():
    out = run("kernels.py")
    assert "(a) jvp_many" in out and "(b) one dual op" in out and "(c) first call" in out
    assert "| np.sin(dual) |" in out
