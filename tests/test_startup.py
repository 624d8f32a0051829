"""Start-up: ``import dualad`` loads no numba (nor scipy); the numba routes load with the first
operation large enough to use them; what numba compiles, and what calibration decides, is kept
on disk, so that a second process with the same cache compiles and times nothing.

Each check runs in fresh processes with their own cache directory (``NUMBA_CACHE_DIR``). The
oracles: ``sys.modules``; numba's own compile events (a load from its disk cache is not one);
the results of the first process, bit for bit; and the cache directory's files, unchanged.
"""
import json
import os
import pickle
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

LIGHT = r"""
import sys
import numpy as np
import dualad as ad
loaded = lambda: sorted(m for m in ("numba", "scipy", "llvmlite") if m in sys.modules)
print(loaded())
# small problems, special functions of floats and duals with no large data: no numba
assert ad.gradient(lambda v: np.sum(np.sin(v) * v ** 2), [1.0, 2.0]).shape == (2,)
assert ad.hessian(lambda v: v[0] ** 2 * v[1], [1.0, 2.0]).shape == (2, 2)
assert abs(ad.derivative(ad.math.erf, 0.5) - 2 / np.sqrt(np.pi) * np.exp(-0.25)) < 1e-15
print(loaded())
x = np.linspace(-1.0, 1.0, 100_000)
_, t = ad.jvp(np.sin, x, np.ones_like(x))   # large: the numba routes load
assert np.allclose(t, np.cos(x))
print(loaded())
"""


def _python(code, cache, **env):
    full = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=ROOT, **env)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full)


def _output(proc):
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    return out.strip().splitlines()


def test_import_loads_no_numba_until_a_large_operation(tmp_path):
    before, small, large = _output(_python(LIGHT, tmp_path / "cache"))
    assert before == small == "[]"
    assert "numba" in large


# a jvp whose chain runs rule by rule, then compiled (or loaded from disk from the first call
# on); a special function's values; a per-rule kernel outside a helper (its timing decides)
WORK = r"""
import hashlib, json
import numpy as np
from numba.core import event

compiled = []
class Compiles(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
event.register("numba:compile", Compiles())

import dualad as ad
from dualad.accel import chains, fused
timed = []
best = fused._best
fused._best = lambda *a, **k: timed.append(1) or best(*a, **k)

x = np.linspace(-2.0, 2.0, 70_000)
f = lambda v: np.sin(v) * np.exp(-v * v) + ad.math.erf(v)
outs = [ad.jvp(f, x, np.ones_like(x))[1]]
passes_after_first = len(chains._GRAPH_KERNELS)
outs += [ad.jvp(f, x, np.ones_like(x))[1] for _ in range(2)]
d = ad.DualNumber(x, np.ones((x.size, 1)))
outs.append(np.sqrt(1.5 + d).partials)
digest = hashlib.sha256(b"".join(o.tobytes() for o in outs)).hexdigest()
assert all(np.array_equal(outs[0], o) for o in outs[1:3])
print(json.dumps({"compiled": compiled, "timed": len(timed), "digest": digest,
                  "passes_after_first": passes_after_first}))
"""


def _files(root):
    return {os.path.relpath(os.path.join(d, f), root): os.stat(os.path.join(d, f)).st_mtime_ns
            for d, _, names in os.walk(root) for f in names}


def test_processes_share_one_disk_cache_filled_at_once(tmp_path):
    cache = tmp_path / "cache"
    # two processes fill one empty cache at the same time: both succeed, with the same bits
    first = [json.loads(_output(p)[-1]) for p in [_python(WORK, cache) for _ in range(2)]]
    assert first[0]["digest"] == first[1]["digest"]
    # (which of the two compiles or times what depends on who gets there first)
    assert all(p["compiled"] for p in first) and sum(p["timed"] for p in first)
    files = _files(cache)
    # a third process finds everything on disk: nothing compiled, timed or written, the
    # chain's pass loaded from the first call on, and the same bits
    third = json.loads(_output(_python(WORK, cache))[-1])
    assert third["compiled"] == [] and third["timed"] == 0
    assert third["passes_after_first"] == 1
    assert third["digest"] == first[0]["digest"]
    assert _files(cache) == files


def test_no_writable_cache_directory_computes_in_memory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    # a cache path under a regular file: nothing can be created there (also as root)
    code = ("import warnings\n"
            "warnings.simplefilter('always')\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            + "".join("    " + line + "\n" for line in WORK.strip().splitlines()) +
            "said = [w for w in caught if 'no writable cache directory' in str(w.message)]\n"
            "print(len(said))\n")
    lines = _output(_python(code, blocker / "cache"))
    assert lines[-1] == "1"
    assert json.loads(lines[-2])["compiled"]
    assert sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.parametrize("name", ["erf", "lgamma", "polygamma"])
def test_special_functions_are_ufuncs_that_compile_on_first_plain_call(name):
    import numpy as np

    import dualad as ad
    from dualad.rules import special
    from dualad.rules.table import RULES
    u = getattr(special, name)
    assert u in RULES and u.nout == 1 and u.signature is None
    assert pickle.loads(pickle.dumps(u)) is u  # by name, as numpy's ufuncs
    args = (np.array([1.0, 2.0]),) * u.nin
    x32 = tuple(a.astype(np.float32) for a in args)
    assert u(*x32).dtype == np.float32 and u(*args).dtype == np.float64
    # a dual goes to DualNumber.__array_ufunc__ with the stand-in as its ufunc: the rule applies
    d = ad.DualNumber(np.array([1.5, 2.5]), np.ones((2, 1)))
    out = u(*((1.0,) * (u.nin - 1)), d)
    assert isinstance(out, ad.DualNumber)
    np.testing.assert_array_equal(out.value, u(*((1.0,) * (u.nin - 1)), d.value))
