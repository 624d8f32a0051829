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


def computed_lines(text, sources=None):
    """``{label: (source, text)}`` from the examples' blocks: a label line, then indented
    ``source: value`` lines (the examples' own ``expected:`` lines are never read). With
    ``sources``, only those sources, as ``{label: text}``."""
    blocks, label = {}, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            label = line.strip()
            continue
        key, _, rest = line.strip().partition(":")
        if key == "expected" or (sources is not None and key not in sources):
            continue
        assert label is not None and label not in blocks, f"unexpected line {line!r}"
        blocks[label] = (key, rest.strip())
    if sources is not None:
        return {k: v for k, (_, v) in blocks.items()}
    return blocks


# patterns of the benchmark tables' cells
TIME = r"[0-9.]+ (?:s|ms|µs|ns)"
RATIO = r"[0-9.]+"


def table_rows(text, first_cell):
    """The cells of every markdown table row of ``text`` whose first cell is ``first_cell``."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cells[0] == first_cell:
                rows.append(cells)
    return rows
