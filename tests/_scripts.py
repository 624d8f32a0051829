"""Run a repository script (an example or a benchmark) in a fresh interpreter."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(relpath, *args, timeout=600):
    """stdout of ``python ROOT/relpath *args``; a non-zero exit fails the test with its output.

    The repository is put on PYTHONPATH so no install is needed, and output is UTF-8 (the
    scripts print ε, µs, ²).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    proc = subprocess.run([sys.executable, str(ROOT / relpath), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout)
    assert proc.returncode == 0, f"{relpath} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout
