"""Where numba's caches go, and the README's two commands run in order in one fresh venv.

numba writes a module's cache beside its source when it can: for an installed dualad that was
site-packages/dualad/__pycache__, which ``pip install -e`` (the README's second command) left
behind, so that Python imported it as an empty namespace package.
"""
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import dualad

PACKAGE = Path(dualad.__file__).parent
ROOT = PACKAGE.parent
WORK = ("import numpy as np, dualad as ad\n"
        "x = np.linspace(0.0, 1.0, 100_000)\n"
        "_, t = ad.jvp(lambda v: np.sqrt(1.0 + v * v), x, np.ones_like(x))\n"
        "assert np.allclose(t, x / np.sqrt(1.0 + x * x))\n"
        "assert abs(ad.derivative(ad.math.lgamma, 2.5) - 0.7031566406452432) < 1e-12\n")


def _numba_files(where):
    return {p: p.stat().st_mtime_ns for p in Path(where).rglob("*.nb[ic]")}


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(extra)
    return env


def test_numba_caches_go_to_a_user_cache_directory_not_the_package(tmp_path):
    before = _numba_files(PACKAGE)
    proc = subprocess.run([sys.executable, "-c", WORK], capture_output=True, text=True,
                          timeout=600, env=_env(XDG_CACHE_HOME=str(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _numba_files(PACKAGE) == before, "numba wrote cache files into the package"
    assert _numba_files(tmp_path / "dualad" / "numba"), "no cache in the user cache directory"


def test_numba_cache_dir_is_honoured(tmp_path):
    before = _numba_files(PACKAGE)
    chosen = tmp_path / "chosen"
    proc = subprocess.run([sys.executable, "-c", WORK], capture_output=True, text=True,
                          timeout=600, env=_env(NUMBA_CACHE_DIR=str(chosen),
                                                XDG_CACHE_HOME=str(tmp_path / "xdg")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _numba_files(chosen)
    assert not (tmp_path / "xdg").exists()
    assert _numba_files(PACKAGE) == before


def _copy_of_the_project(dest):
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, text=True)
    if files.returncode != 0:
        pytest.skip("not a git checkout")
    for name in files.stdout.splitlines():
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)


@pytest.mark.skipif(sys.platform == "win32", reason="venv layout differs")
def test_readme_commands_in_order_in_one_fresh_venv(tmp_path):
    project, venv = tmp_path / "project", tmp_path / "venv"
    project.mkdir()
    _copy_of_the_project(project)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=300)
    python = venv / "bin" / "python"
    # pip, setuptools, numpy, numba, ... come from this interpreter's site-packages: a .pth line
    # adds them (not scanned for .pth files, so this environment's own dualad stays out)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig."
                              "get_paths()['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    ours = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    Path(purelib, "outer.pth").write_text("\n".join(dict.fromkeys(ours)) + "\n")
    env = _env(XDG_CACHE_HOME=str(tmp_path / "cache"))
    pip = [str(python), "-m", "pip", "install", "--quiet", "--no-deps"]

    def run(*cmd):
        proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=900,
                              env=env)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout

    # README: pip install . && python examples/quickstart.py
    run(*pip, ".")
    run(str(python), "examples/quickstart.py")
    installed = Path(purelib) / "dualad"
    assert installed.is_dir() and not _numba_files(installed)
    # README: pip install -e ".[test]" && python -m pytest   (here: the import it needs)
    run(*pip, "-e", ".")
    out = run(str(python), "-c", "import dualad, numpy as np\n"
              "print(dualad.__file__)\n"
              "print(dualad.gradient(lambda v: v[0] ** 2 * v[1], np.array([3.0, 4.0])))")
    assert str(project / "dualad") in out
    assert "[24.  9.]" in out
    assert not installed.exists(), f"pip install -e left {sorted(installed.rglob('*'))[:5]}"
