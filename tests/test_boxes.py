"""IoU (union / min), NMS, box regression, square-ing and cropping on hand-made cases."""
import numpy as np
import pytest

from facecascade import boxes as B


def test_iou_union_and_min_hand_made():
    a = np.array([0, 0, 10, 10.0])
    others = np.array([[0, 0, 10, 10],      # same box
                       [5, 0, 15, 10],      # half overlap: inter 50, union 150
                       [2, 2, 6, 6],        # inside: inter 16, union 100, min 16
                       [20, 20, 30, 30]])   # disjoint
    np.testing.assert_allclose(B.iou(a, others, "union"), [1, 50 / 150, 16 / 100, 0])
    np.testing.assert_allclose(B.iou(a, others, "min"), [1, 50 / 100, 1.0, 0])


def test_iou_touching_and_degenerate():
    a = np.array([0, 0, 10, 10.0])
    assert B.iou(a, np.array([[10, 0, 20, 10.0]]))[0] == 0  # edges touch: no area
    assert B.iou(a, np.array([[3, 3, 3, 3.0]]))[0] == 0     # zero-size box
    with pytest.raises(ValueError):
        B.iou(a, a[None], "maximum")


def test_iou_matrix_symmetry(rng):
    x1y1 = rng.uniform(0, 50, (6, 2))
    bx = np.concatenate([x1y1, x1y1 + rng.uniform(1, 30, (6, 2))], axis=1)
    m = B.iou_matrix(bx, bx)
    np.testing.assert_allclose(m, m.T)
    np.testing.assert_allclose(np.diag(m), 1)


def test_nms_union_keeps_best_and_disjoint():
    dets = np.array([[0, 0, 10, 10, 0.9],
                     [1, 1, 11, 11, 0.8],    # IoU 81/119 = 0.68 with the first
                     [20, 20, 30, 30, 0.7],
                     [0, 0, 10, 10, 0.95]])  # duplicate of the first, higher score
    assert list(B.nms(dets, 0.5, "union")) == [3, 2]
    assert list(B.nms(dets, 0.7, "union")) == [3, 1, 2]  # 0.68 <= 0.7 survives


def test_nms_min_removes_box_inside_box():
    dets = np.array([[0, 0, 100, 100, 0.9],
                     [10, 10, 30, 30, 0.8]])  # union IoU 0.04, min IoU 1
    assert list(B.nms(dets, 0.7, "union")) == [0, 1]
    assert list(B.nms(dets, 0.7, "min")) == [0]
    assert len(B.nms(np.zeros((0, 5)), 0.5)) == 0


def greedy_nms_definition(boxes, threshold, mode):
    """The textbook greedy loop: keep the best remaining box, drop every box
    whose IoU with it is above threshold, repeat."""
    overlap = B.iou_matrix(boxes, boxes, mode)
    order = list(np.argsort(-boxes[:, 4], kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        order = [j for j in order if overlap[i, j] <= threshold]
    return keep


def random_detections(rng, n, grid):
    """grid: P-Net-like boxes of one pyramid level (same size, on a 2-cell lattice,
    scores with ties); else boxes of mixed sizes, some nested."""
    if grid:
        s = 0.6
        xy = rng.integers(0, 25, (n, 2)) * 2 / s
        bx = np.concatenate([xy, xy + 12 / s], axis=1)
        return np.column_stack([bx, np.round(rng.random(n), 1)])
    xy = rng.uniform(0, 120, (n, 2))
    bx = np.concatenate([xy, xy + rng.uniform(4, 60, (n, 2))], axis=1)
    return np.column_stack([bx, rng.random(n)])


@pytest.mark.parametrize("grid", [False, True])
@pytest.mark.parametrize("threshold,mode", [(0.5, "union"), (0.7, "union"), (0.7, "min"), (0.0, "union")])
def test_nms_equals_the_greedy_definition(rng, grid, threshold, mode):
    for n in (1, 2, 7, 60, 200):
        dets = random_detections(rng, n, grid)
        assert list(B.nms(dets, threshold, mode)) == greedy_nms_definition(dets, threshold, mode)


@pytest.mark.parametrize("grid", [False, True])
@pytest.mark.parametrize("candidates", ["sweep", "grid", "auto"])
def test_overlapping_pairs_are_all_pairs_over_threshold(rng, grid, candidates):
    """Both candidate generators, with and without slicing, find exactly the
    pairs a full IoU matrix has above the threshold."""
    dets = random_detections(rng, 150, grid)
    full = B.iou_matrix(dets, dets)
    want = {(i, j) for i in range(150) for j in range(i + 1, 150) if full[i, j] > 0.3}
    assert len(want) > 20
    for max_pairs in (1 << 22, 7):
        a, b = B.overlapping_pairs(dets, 0.3, candidates=candidates, max_pairs=max_pairs)
        got = list(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist()))
        assert len(got) == len(set(got)) and set(got) == want


def test_nms_tiny_boxes_far_apart_and_empty_boxes():
    """A grid of the longest side would need ~1e13 cells a side here; the cells
    are capped, and boxes of zero area never suppress anything."""
    dets = np.array([[0, 0, 1e-6, 1e-6, 0.9], [5e-7, 0, 1.5e-6, 1e-6, 0.8], [1e7, 1e7, 1e7 + 1e-6, 1e7 + 1e-6, 0.7],
                     [3, 3, 3, 9, 0.95], [3, 3, 3, 9, 0.6]])
    for candidates in ("sweep", "grid"):
        a, b = B.overlapping_pairs(dets, 0.3, candidates=candidates)
        assert sorted(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist())) == [(0, 1)]
    assert list(B.nms(dets, 0.3)) == [3, 0, 2, 4]


def test_nms_rejects_bad_arguments():
    dets = np.array([[0, 0, 10, 10, 0.9]])
    with pytest.raises(ValueError, match="mode"):
        B.nms(dets, 0.5, "maximum")
    with pytest.raises(ValueError, match="threshold"):
        B.nms(dets, 1.5)


def test_soft_nms_hand_made():
    """Gaussian decay s * exp(-IoU^2 / sigma) where IoU > 0.3, worked by hand."""
    dets = np.array([[0, 0, 10, 10, 0.9],
                     [1, 1, 11, 11, 0.8],
                     [5, 0, 15, 10, 0.85],
                     [10, 0, 20, 10, 0.7],
                     [0, 0, 10, 10, 0.5]])     # duplicate of box 0
    g = lambda iou: np.exp(-iou ** 2 / 0.5)  # noqa: E731
    iou_01, iou_02, iou_12, iou_23 = 81 / 119, 50 / 150, 54 / 146, 50 / 150
    # box 0 kept; it lowers 1 (IoU 0.68), 2 (1/3) and 4 (1); box 3 only touches it
    s1, s2, s4 = 0.8 * g(iou_01), 0.85 * g(iou_02), 0.5 * g(1.0)
    assert s2 < 0.7                      # so box 3 (0.7, untouched) comes next
    s2 *= g(iou_23)                      # box 3 lowers 2; 1 and 4 overlap it by < 0.3
    s1 *= g(iou_12)                      # box 2 kept; it lowers 1 and 4 (IoU 1/3)
    s4 *= g(iou_02)
    s4 *= g(iou_01)                      # box 1 kept; it lowers 4
    idx, scores = B.soft_nms(dets, sigma=0.5, iou_floor=0.3)
    assert list(idx) == [0, 3, 2, 1, 4]
    np.testing.assert_allclose(scores, [0.9, 0.7, s2, s1, s4])
    # a floor of 0.3 drops box 1 (0.24) and the duplicate (0.02)
    idx, scores = B.soft_nms(dets, sigma=0.5, iou_floor=0.3, min_score=0.3)
    assert list(idx) == [0, 3, 2]


def test_soft_nms_min_score_equals_filtering_the_full_result(rng):
    """A box below t only lowers boxes scored lower still, so the run with
    min_score t is the full run filtered at t."""
    x1y1 = rng.uniform(0, 40, (40, 2))
    dets = np.concatenate([x1y1, x1y1 + rng.uniform(5, 30, (40, 2)), rng.uniform(0.1, 1, (40, 1))], axis=1)
    idx, scores = B.soft_nms(dets, 0.5, 0.3)
    for t in (0.2, 0.5, 0.8):
        idx_t, scores_t = B.soft_nms(dets, 0.5, 0.3, min_score=t)
        np.testing.assert_array_equal(idx_t, idx[scores >= t])
        np.testing.assert_allclose(scores_t, scores[scores >= t])
    # a tiny sigma is hard NMS: every overlap over 0.3 falls to ~0, under any floor
    idx_h, _ = B.soft_nms(dets, 1e-9, 0.3, min_score=1e-6)
    np.testing.assert_array_equal(idx_h, B.nms(dets, 0.3))


def test_soft_nms_empty_and_bad_arguments():
    idx, scores = B.soft_nms(np.zeros((0, 5)))
    assert len(idx) == 0 and len(scores) == 0
    with pytest.raises(ValueError, match="mode"):
        B.soft_nms(np.array([[0, 0, 1, 1, 0.5]]), mode="maximum")
    with pytest.raises(ValueError, match="sigma"):
        B.soft_nms(np.array([[0, 0, 1, 1, 0.5]]), sigma=0)


def test_drop_nested_hand_made():
    """A mouth inside a face goes; a box of about the face's size (soft-NMS's business),
    a box mostly outside it and a larger box around a better small one stay."""
    dets = np.array([[0, 0, 100, 100, 0.99],      # the face
                     [20, 50, 50, 80, 0.90],      # inside it, 9% of its area: dropped
                     [10, 10, 105, 105, 0.80],    # covered 0.89 but 0.90x the face's area: kept
                     [90, 90, 130, 130, 0.95],    # 100 of its 1600 px inside: kept
                     [200, 200, 260, 260, 0.97],  # a larger box around a better one:
                     [210, 210, 230, 230, 0.98],  # neither is dropped (only the smaller goes)
                     [60, 5, 94, 39, 0.995]])     # better than the face: never dropped by it
    assert list(B.drop_nested(dets)) == [6, 0, 5, 4, 3, 2]
    # 20 x 20 inside 0..100 at 0.7 cover needs 14 of its 20 rows: 16 rows in covers 0.8
    part = np.array([[0, 0, 100, 100, 0.9], [40, 84, 60, 104, 0.8]])
    assert list(B.drop_nested(part, cover=0.7)) == [0]
    assert list(B.drop_nested(part, cover=0.85)) == [0, 1]
    # a dropped box drops nothing: box 1 lies 0.75 inside box 0 and goes; box 2 lies inside
    # box 1 but only 0.31 inside box 0, so it stays
    chain = np.array([[0, 0, 100, 100, 0.99], [74, 74, 104, 104, 0.9], [95, 95, 104, 104, 0.8]])
    assert list(B.drop_nested(chain)) == [0, 2]
    assert len(B.drop_nested(np.zeros((0, 5)))) == 0
    with pytest.raises(ValueError, match="cover"):
        B.drop_nested(dets, cover=0)
    with pytest.raises(ValueError, match="area ratio"):
        B.drop_nested(dets, area_ratio=0.5)


def test_regression_round_trip(rng):
    crops = np.concatenate([rng.uniform(0, 100, (20, 2)), np.zeros((20, 2))], axis=1)
    crops[:, 2:] = crops[:, :2] + rng.uniform(5, 80, (20, 1))
    gt = crops + rng.uniform(-10, 10, (20, 4))
    t = B.regression_targets(crops, gt)
    np.testing.assert_allclose(B.apply_regression(crops, t), gt, atol=1e-9)
    # a hand-made case: a 10 px crop, gt shifted by 2 px right -> dx = 0.2
    np.testing.assert_allclose(B.regression_targets([[0, 0, 10, 10]], [[2, 0, 12, 10]]), [[0.2, 0, 0.2, 0]])


def test_square_keeps_centre_and_scores():
    sq = B.square(np.array([[10, 20, 30, 60, 0.5]]))
    np.testing.assert_allclose(sq, [[0, 20, 40, 60, 0.5]])


def test_crop_resize_pads_outside_with_zeros():
    img = np.full((20, 20, 3), 200, np.uint8)
    c = B.crop_resize(img, np.array([[-10, -10, 10, 10.0]]), 20)
    assert c.shape == (1, 20, 20, 3)
    assert c[0, :9, :9].max() == 0 and c[0, 11:, 11:].min() == 200
