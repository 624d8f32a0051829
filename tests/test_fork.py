"""A process forked while another thread holds one of dualad's kernel locks does not hang:
the locks are renewed in the child (os.register_at_fork)."""
import multiprocessing
import sys
import threading

import numpy as np
import pytest

import dualad as ad
from dualad.accel import chains, fused, loops

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")


def _child():
    ad.config.clear_caches()  # takes every kernel lock
    x = np.linspace(0.0, 1.0, 2 * ad.config.FUSED_MIN_SIZE)
    value, tangent = ad.jvp(np.sqrt, x + 1.0, np.ones_like(x))
    sys.exit(0 if np.allclose(tangent, 0.5 / np.sqrt(x + 1.0)) else 1)


@pytest.mark.parametrize("module", [fused, chains, loops], ids=lambda m: m.__name__)
def test_fork_while_a_thread_holds_a_kernel_lock(module):
    held, release = threading.Event(), threading.Event()

    def hold():
        with module._LOCK:
            held.set()
            release.wait(60)
    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert held.wait(10)
        child = multiprocessing.get_context("fork").Process(target=_child)
        child.start()
        child.join(60)
        hung = child.is_alive()
        if hung:
            child.kill()
            child.join()
    finally:
        release.set()
        thread.join()
    assert not hung, "the forked child hung on a kernel lock held by a parent thread"
    assert child.exitcode == 0
