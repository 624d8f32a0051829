import os

import pytest
from hypothesis import HealthCheck, settings

from dualad import accel

settings.register_profile("ci", deadline=None, derandomize=True, max_examples=40,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=60)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE",
                                                                        "dev"))


@pytest.fixture
def numpy_only():
    """dualad.accel's hook slots emptied for the test: every route runs on numpy."""
    accel.uninstall()
    try:
        yield
    finally:
        accel.install()
