"""Landmark metrics on hand-computed cases (docs/METRICS.md)."""
import numpy as np
import pytest

from facecascade import metrics

GT = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [2.0, 9.0], [8.0, 9.0]])  # inter-ocular 10


def test_nme_hand_computed():
    pred = GT.copy()
    pred[0] += [3, 4]          # error 5
    pred[2] += [0, 1]          # error 1
    # mean error (5 + 0 + 1 + 0 + 0) / 5 = 1.2 px over inter-ocular 10 -> 12 %
    assert metrics.nme_per_face(pred[None], GT[None])[0] == pytest.approx(0.12)
    per_point = metrics.nme_per_point(pred[None], GT[None])
    np.testing.assert_allclose(per_point, [0.5, 0, 0.1, 0, 0])


def test_summary_failure_auc_and_diagonal():
    faces = np.stack([GT, GT, GT, GT])
    preds = faces.copy()
    preds[1, :, 0] += 0.5       # NME 5 %
    preds[2, :, 0] += 1.5       # NME 15 %: a failure
    preds[3, :, 0] += 1.0       # NME 10 %: not a failure (> 10 % only)
    s = metrics.summarize(preds, faces, diagonals=[100, 100, 100, 100])
    assert s["n"] == 4
    assert s["nme"] == pytest.approx((0 + 5 + 15 + 10) / 4)
    assert s["failure"] == pytest.approx(25.0)
    # CED: 1/4 of faces at 0, 2/4 from 5 %, 3/4 at 10 %. Area on [0, 0.1]:
    # 0.25*0.05 + 0.5*0.05 (+ the jump at 0.1 has no width) = 0.0375 -> AUC 0.375
    assert s["auc10"] == pytest.approx(0.375, abs=2e-3)
    # seed figure: mean point error / diagonal; 1.5 px / 100 = 1.5 % for face 3
    assert s["diag_error"] == pytest.approx((0 + 0.5 + 1.5 + 1.0) / 4)
    assert s["diag_dropped"] == 0.0


def test_perfect_prediction():
    s = metrics.summarize(GT[None], GT[None])
    assert s["nme"] == 0 and s["failure"] == 0 and s["auc10"] == pytest.approx(1.0, abs=2e-3)


def test_coincident_eyes_are_refused():
    bad = GT.copy()
    bad[1] = bad[0]
    with pytest.raises(ValueError):
        metrics.nme_per_face(GT[None], bad[None])
