"""Detection AP per METRICS.md on hand-made cases."""
import numpy as np
import pytest

from facecascade.detection_metrics import evaluate, match_detections, plot_pr, recall_by_attribute, voc_ap
from facecascade.wider import WiderFormatError, WiderImage, read_wider, write_wider


def rec(name, boxes, invalid=None):
    boxes = np.asarray(boxes, float).reshape(-1, 4)
    inv = np.zeros(len(boxes), bool) if invalid is None else np.asarray(invalid, bool)
    return WiderImage(name=name, boxes=boxes, invalid=inv)


def test_voc_ap_perfect_and_half():
    assert voc_ap(np.array([0.5, 1.0]), np.array([1.0, 1.0])) == pytest.approx(1.0)
    # one TP then one FP, one of two gts found: AP 0.5
    assert voc_ap(np.array([0.5, 0.5]), np.array([1.0, 0.5])) == pytest.approx(0.5)


def test_perfect_detections_give_ap_1_per_bucket():
    gt = [rec("a", [[0, 0, 60, 60], [100, 100, 130, 130], [200, 200, 210, 210]])]
    dets = {"a": np.array([[0, 0, 60, 60, 0.9], [100, 100, 130, 130, 0.8], [200, 200, 210, 210, 0.7]])}
    r = evaluate(dets, gt)
    assert r["ap_all"] == pytest.approx(1) and r["ap_large"] == pytest.approx(1)
    assert r["ap_medium"] == pytest.approx(1) and r["ap_small"] == pytest.approx(1)


def test_duplicate_is_fp_and_invalid_is_ignored():
    gt = [rec("a", [[0, 0, 60, 60], [100, 0, 160, 60]], invalid=[False, True])]
    # best det on gt 0, a duplicate on gt 0 (FP), one on the invalid gt (ignored)
    dets = {"a": np.array([[0, 0, 60, 60, 0.9], [2, 2, 60, 60, 0.8], [100, 0, 160, 60, 0.95]])}
    m = match_detections(dets["a"], gt[0].boxes, gt[0].invalid)
    assert list(m) == [0, -1, 1]
    r = evaluate(dets, gt)
    assert r["n_gt"]["all"] == 1
    assert r["ap_all"] == pytest.approx(1.0)  # the FP comes after the only TP


def test_bucket_rules():
    # a large gt found, a medium gt missed, an unmatched small-height FP with high score
    gt = [rec("a", [[0, 0, 60, 60], [100, 100, 130, 130]])]
    dets = {"a": np.array([[0, 0, 60, 60, 0.5], [300, 300, 310, 310, 0.99]])}
    r = evaluate(dets, gt)
    assert r["ap_large"] == pytest.approx(1.0)   # the small FP does not count for large
    assert r["ap_medium"] == pytest.approx(0.0)
    assert r["ap_all"] == pytest.approx(0.5 * 0.5)  # recall 0.5 at precision 0.5
    assert np.isnan(r["ap_small"])                 # no small gt


def test_recall_by_attribute_counts_faces_found_per_value_as_evaluate_matches_them():
    # columns blur expression illumination invalid occlusion pose
    heavy_blur, clear_occluded, clear = [2, 0, 0, 0, 0, 0], [0, 0, 0, 0, 2, 0], [0, 0, 0, 0, 0, 0]
    a = rec("a", [[0, 0, 30, 30], [100, 0, 130, 30], [200, 0, 230, 30], [300, 0, 400, 100], [500, 0, 530, 30]],
            invalid=[False, False, False, False, True])
    a.attributes = np.array([heavy_blur, heavy_blur, clear_occluded, clear, clear])
    b = rec("b", [[0, 0, 40, 40]])
    b.attributes = np.array([heavy_blur])
    # a: the first blurred medium face found twice (a duplicate FP), the occluded one and
    # the large one found, the invalid one hit (ignored); b: nothing found
    dets = {"a": np.array([[0, 0, 30, 30, 0.9], [1, 1, 30, 30, 0.8], [200, 0, 230, 30, 0.7],
                           [300, 0, 400, 100, 0.6], [500, 0, 530, 30, 0.5]])}
    r = recall_by_attribute(dets, [a, b])
    assert r["medium"]["blur"] == {0: (1, 1), 2: (3, 1)}
    assert r["medium"]["occlusion"] == {0: (3, 1), 2: (1, 1)}
    assert r["medium"]["pose"] == {0: (4, 2)}
    assert r["large"]["blur"] == {0: (1, 1)}
    # summed over an attribute's values: evaluate()'s recall at the end of the curve
    medium_recall = evaluate(dets, [a, b])["curves"]["medium"][0][-1]
    assert sum(f for _, f in r["medium"]["blur"].values()) / 4 == pytest.approx(medium_recall)


def test_wider_round_trip_and_errors(tmp_path):
    p = tmp_path / "gt.txt"
    write_wider(p, [("x/a.jpg", [[1, 2, 11, 22]]), ("x/b.jpg", np.zeros((0, 4)))])
    recs = read_wider(p)
    assert [r.name for r in recs] == ["x/a.jpg", "x/b.jpg"]
    np.testing.assert_allclose(recs[0].boxes, [[1, 2, 11, 22]])
    assert len(recs[1].boxes) == 0
    pred = tmp_path / "pred.txt"
    write_wider(pred, [("x/a.jpg", [[1.5, 2, 11, 22.25], [0, 0, 5, 5]], [0.9, 0.25]), ("x/b.jpg", np.zeros((0, 4)), [])])
    assert pred.read_text().splitlines()[2:4] == ["1.5 2.0 9.5 20.2 0.9000", "0.0 0.0 5.0 5.0 0.2500"]
    recs = read_wider(pred)
    np.testing.assert_allclose(recs[0].boxes, [[1.5, 2, 11, 22.2], [0, 0, 5, 5]])
    assert len(recs[1].boxes) == 0
    bad = tmp_path / "bad.txt"
    bad.write_text("a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\nx y 3 4\n")
    with pytest.raises(WiderFormatError, match="bad.txt:4"):
        read_wider(bad)


def test_plot_pr_writes_png(tmp_path):
    gt = [rec("a", [[0, 0, 60, 60]])]
    r = evaluate({"a": np.array([[0, 0, 60, 60, 0.9]])}, gt)
    plot_pr(r, tmp_path / "pr.png")
    assert (tmp_path / "pr.png").stat().st_size > 1000
