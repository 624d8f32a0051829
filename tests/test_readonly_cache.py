"""dualad imports and computes where numba has no writable cache directory (a read-only
install whose user has no writable home): kernels are compiled in memory, with one warning.

Simulated in a fresh process by giving numba no cache locator at all, which is what numba
meets there ("cannot cache function ...: no locator available")."""
import subprocess
import sys

import pytest

SCRIPT = r"""
import warnings
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []  # numba finds nowhere to write a cache
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import dualad as ad
    x = np.linspace(0.0, 1.0, 50_000)
    _, t = ad.jvp(lambda v: np.sqrt(1.0 + v * v), x, np.ones_like(x))
    assert np.allclose(t, x / np.sqrt(1.0 + x * x))
    assert ad.hessian(lambda v: np.sum(v ** 3), [1.0, 2.0]).tolist() == [[6.0, 0.0], [0.0, 12.0]]
    assert abs(ad.derivative(lambda v: ad.math.lgamma(v), 2.5) - 0.7031566406452432) < 1e-12
said = [w for w in caught if "no writable cache directory" in str(w.message)]
print(len(said))
"""


def test_no_writable_numba_cache_compiles_in_memory_and_says_so_once():
    if not hasattr(__import__("numba.core.caching").core.caching, "CacheImpl"):
        pytest.skip("this numba version has no CacheImpl to simulate it with")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "1"
