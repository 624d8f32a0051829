"""Compiled chain passes are bounded (config.DEFER_MAX_KERNELS): numba keeps each one's
machine code until the process ends, so a process meeting many distinct large expressions
stops compiling new ones and runs them rule by rule, with the same bits."""
import itertools

import numpy as np

import dualad as ad
from dualad import config
from dualad.accel import chains

N = 20_000
STEPS = (np.exp, np.tanh, np.log1p, lambda v: np.sqrt(1.0 + v * v), lambda v: v * v,
         lambda v: v / (1.0 + v * v))


def _program(ops):
    def f(x):
        y = np.tanh(x)
        for op in ops:
            y = STEPS[op](y)
        return y
    return f


def _rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def test_chain_passes_stop_compiling_at_the_bound_with_the_same_results(monkeypatch):
    monkeypatch.setattr(config, "DEFER_MIN_WORK", 1)
    monkeypatch.setattr(config, "DEFER_MAX_KERNELS", chains._COMPILED + 3)
    x = np.linspace(-1.0, 1.0, N)
    v = np.cos(np.arange(N))[:, None]
    programs = [_program(ops) for ops in itertools.islice(itertools.product(range(6),
                                                                          repeat=3), 0, 30)]
    results = []
    for f in programs:
        with np.errstate(all="ignore"):
            first = ad.jvp_many(f, x, v)[1]  # rule by rule
            second = ad.jvp_many(f, x, v)[1]  # the second sighting: compiled if allowed
        np.testing.assert_array_equal(first, second)
        results.append(second)
        if len(results) == 4:
            rss = _rss_mib()  # the bound is reached by now
    assert chains._COMPILED == config.DEFER_MAX_KERNELS
    grown = _rss_mib() - rss
    # (unbounded, each of these 26 structures keeps ~2 MiB of machine code here: ~50 MiB)
    assert grown < 20, f"{grown:.0f} MiB more for 26 structures beyond the bound"
    ad.accel.uninstall()
    try:
        for f, got in zip(programs, results):
            with np.errstate(all="ignore"):
                np.testing.assert_array_equal(ad.jvp_many(f, x, v)[1], got)
    finally:
        ad.accel.install()
