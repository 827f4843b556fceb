"""Shared fixtures.

- `caffe`: our pycaffe build.  Not built is a failure (the README's test
  command builds first), never a skip.
- `celeba_download`: the small real CelebA images of tests/data laid out as
  CelebA is downloaded (Img/img_celeba, Anno/ with header lines, Eval/).
- `shared_data`: ../shared/data (FACECASCADE_DATA overrides).  Absent in a
  user's own clone: tests that need it skip with the printed reason; on CI
  (CI=true) it is always present, so absence fails instead.
"""
import os
import shutil
from types import SimpleNamespace

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


@pytest.fixture
def celeba_download(tmp_path, test_data):
    """CelebA as downloaded, made of tests/data/celeba_small: several spaces between
    fields, two header lines; every box (60, 10, 120 x 120); the first image in the
    test partition (2), the others in train (0)."""
    src = test_data / "celeba_small"
    root = tmp_path / "CelebA"
    (root / "Img/img_celeba").mkdir(parents=True)
    (root / "Anno").mkdir()
    (root / "Eval").mkdir()
    landmarks = (src / "list_landmarks_celeba.txt").read_text().splitlines()
    names = [line.split()[0] for line in landmarks[2:]]
    for n in names:
        shutil.copy(src / n, root / "Img/img_celeba" / n)
    (root / "Anno/list_landmarks_celeba.txt").write_text(
        "\n".join(landmarks[:2] + ["    ".join(l.split()) for l in landmarks[2:]]) + "\n")
    (root / "Anno/list_bbox_celeba.txt").write_text(
        f"{len(names)}\nimage_id x_1 y_1 width height\n" + "\n".join(f"{n}   60   10   120   120" for n in names) + "\n")
    (root / "Eval/list_eval_partition.txt").write_text(
        "\n".join(f"{n} {2 if i == 0 else 0}" for i, n in enumerate(names)) + "\n")
    return SimpleNamespace(root=root, names=names, images=root / "Img/img_celeba",
                           landmarks=root / "Anno/list_landmarks_celeba.txt",
                           bbox=root / "Anno/list_bbox_celeba.txt",
                           partition=root / "Eval/list_eval_partition.txt")
