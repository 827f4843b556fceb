"""Shared fixtures.

- `caffe`: our pycaffe build.  Not built is a failure (the README's test
  command builds first), never a skip.
- `shared_data`: ../shared/data (FACECASCADE_DATA overrides).  Absent in a
  user's own clone: tests that need it skip with the printed reason; on CI
  (CI=true) it is always present, so absence fails instead.
"""
import os

import numpy as np
import pytest

from facecascade import caffe_loader
from facecascade.paths import SHARED_DATA, TEST_DATA


@pytest.fixture(scope="session")
def caffe():
    try:
        return caffe_loader.import_caffe()
    except caffe_loader.CaffeNotBuilt as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def shared_data():
    if not (SHARED_DATA / "README.md").is_file():
        msg = f"shared data set not found at {SHARED_DATA} (set FACECASCADE_DATA)"
        if os.environ.get("CI"):
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return SHARED_DATA


@pytest.fixture(scope="session")
def test_data():
    return TEST_DATA


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
