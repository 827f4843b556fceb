"""MTCNN geometry without nets: pyramid scales, P-Net cell -> box, crops, sampling classes
and sources (CelebA as downloaded)."""
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facecascade.boxes import apply_regression, crop_resize, iou_matrix
from facecascade.mtcnn import build_levels, cells_to_boxes, crop_from_levels, pyramid_scales
from facecascade.mtcnn import sampling as ms
from facecascade.paths import REPO_ROOT
from facecascade.records import read_cuhk


def test_pyramid_scales_reference_values():
    s = pyramid_scales(100, 200, min_face=20, factor=0.709)
    # first scale maps a 20 px face onto P-Net's 12 px window
    assert s[0] == pytest.approx(0.6)
    np.testing.assert_allclose(np.array(s[1:]) / np.array(s[:-1]), 0.709)
    # the smallest level keeps the short side >= 12 px, the next would not
    assert 100 * s[-1] >= 12 and 100 * s[-1] * 0.709 < 12
    assert len(s) == 5  # 60, 42.5, 30.2, 21.4, 15.2 px short side
    assert pyramid_scales(11, 500) == []  # too small for one window at min face 20 -> 12 px
    with pytest.raises(ValueError):
        pyramid_scales(100, 100, factor=1.2)


def test_pyramid_flag_changes_levels():
    assert len(pyramid_scales(480, 640, 20, 0.5)) < len(pyramid_scales(480, 640, 20, 0.709))


def test_pyramid_large_factor_refines_only_large_face_levels():
    ref = pyramid_scales(700, 1024, 20, 0.709)
    fine = pyramid_scales(700, 1024, 20, 0.709, large_factor=0.8, large_face=50)
    faces = 12 / np.array(fine)  # the face size each level looks for
    # up to the first level for faces of 50 px and up, the reference's levels exactly
    first_large = int(np.argmax(faces >= 50))
    assert fine[:first_large + 1] == ref[:first_large + 1]
    assert faces[first_large] == pytest.approx(20 / 0.709 ** 3)  # 56.1 px
    # then steps of 0.8, down to the last level whose short side keeps >= 12 px
    np.testing.assert_allclose(np.array(fine[first_large + 1:]) / np.array(fine[first_large:-1]), 0.8)
    assert 700 * fine[-1] >= 12 and 700 * fine[-1] * 0.8 < 12
    assert len(fine) > len(ref)
    with pytest.raises(ValueError, match="large factor"):
        pyramid_scales(100, 100, large_factor=1.0)


def test_cell_to_box_back_computation():
    prob = np.zeros((5, 6))
    prob[2, 3] = 0.9   # row y=2, column x=3
    prob[0, 0] = 0.5   # under the threshold
    offsets = np.zeros((4, 5, 6))
    offsets[:, 2, 3] = [0.1, -0.1, 0.2, 0.0]
    c = cells_to_boxes(prob, offsets, scale=0.5, threshold=0.6)
    assert c.shape == (1, 9)
    # [2x, 2y, 2x + 12, 2y + 12] / scale
    np.testing.assert_allclose(c[0, :5], [12, 8, 36, 32, 0.9])
    # regression in units of the 24 px box
    np.testing.assert_allclose(apply_regression(c[:, :5], c[:, 5:9])[0, :4], [14.4, 5.6, 40.8, 32])


def test_cell_grid_matches_pnet_receptive_field():
    # P-Net's output size for an input of n px (conv3, pool3/2 ceil, conv3, conv3)
    def out_size(n):
        n = n - 2
        n = int(np.ceil((n - 3) / 2)) + 1
        return n - 4
    for n in (12, 13, 50, 307):
        last = out_size(n) - 1
        assert 2 * last + 12 <= n + 1  # the last cell's window stays (within 1 px) inside


def test_crop_from_levels_matches_direct_crop():
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(0, 255, (200, 240, 3), dtype=np.uint8), (0, 0), 3)
    boxes = np.array([[40, 30, 88, 78], [-10, -10, 38, 38], [0, 0, 192, 192]], float)
    levels = [(1.0, img)] + build_levels(img, [0.5, 0.25])
    got = crop_from_levels(levels, boxes, 24)
    ref = crop_resize(img, boxes, 24).astype(np.float32)
    assert got.shape == (3, 24, 24, 3)
    assert np.abs(got - ref).mean() < 4  # smooth image: bilinear vs area resize agree closely
    assert got[1, :4, :4].max() == 0     # 10 of 48 px outside -> 5 of 24 zero-padded


def test_sampling_iou_classes():
    assert list(ms.iou_class([0.0, 0.29, 0.3, 0.39, 0.4, 0.64, 0.65, 1.0])) == [0, 0, -1, -1, 2, 2, 1, 1]
    gt = np.array([[0, 0, 100, 100.0]])
    crops = np.array([[0, 0, 100, 100], [10, 0, 110, 100], [50, 0, 150, 100], [300, 300, 400, 400]], float)
    kinds, best, iou = ms.classify_crops(crops, gt)
    np.testing.assert_allclose(iou, [1, 90 / 110, 50 / 150, 0])
    assert list(kinds) == [ms.POS, ms.POS, -1, ms.NEG]


def test_sampling_jitter_and_negatives_respect_classes(rng):
    img = rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)
    gts = np.array([[100, 80, 160, 150], [250, 100, 300, 160]], float)
    b = ms.SampleBuilder(24)
    ms.sample_wider_image(b, img, gts, rng, n_neg=30, n_jitter=30)
    s = b.build()
    assert s.images.shape[1:] == (24, 24, 3)
    assert set(np.unique(s.kinds)) <= {ms.NEG, ms.POS, ms.PART}
    counts = s.counts()
    assert counts["negative"] > 20 and counts["positive"] > 5 and counts["part"] > 5
    # regression targets reproduce the gt from the crop they belong to (checked on positives)
    pos = s.kinds == ms.POS
    assert np.all(np.abs(s.roi[pos]) < 0.5)


def test_face_crops_keep_the_blur_label_of_their_face_and_saved_sets_keep_it(rng, tmp_path):
    """Each positive / part crop carries the WIDER blur label of the face it was
    labelled by (its best-IoU face), negatives -1; save / load keep the field and a
    file saved without it (made before it existed) loads with -1 everywhere."""
    # the heavily blurred face in a dark half, the clear one in a bright half
    img = np.full((300, 400, 3), 220, np.uint8)
    img[:, :190] = 30
    gts = np.array([[100, 80, 160, 150], [250, 100, 300, 160]], float)
    b = ms.SampleBuilder(24)
    ms.sample_wider_image(b, img, gts, rng, n_neg=30, n_jitter=30, blur_of_faces=np.array([2, 0]))
    s = b.build()
    face = (s.kinds == ms.POS) | (s.kinds == ms.PART)
    assert np.all(s.blur[~face] == -1) and set(np.unique(s.blur[face])) == {0, 2}
    brightness = s.images.reshape(len(s), -1).mean(axis=1)
    assert np.all(brightness[s.blur == 2] < 128) and np.all(brightness[s.blur == 0] > 128)
    s.save(tmp_path / "with_blur.npz")
    assert np.array_equal(ms.SampleSet.load(tmp_path / "with_blur.npz").blur, s.blur)
    np.savez(tmp_path / "old.npz", images=s.images, kinds=s.kinds, roi=s.roi, pts=s.pts, reg=s.reg)
    assert np.all(ms.SampleSet.load(tmp_path / "old.npz").blur == -1)
    assert np.array_equal(ms.face_blur(np.array([ms.POS, ms.NEG, ms.PART]), np.array([1, 0, 0]), [2, 1]), [1, -1, 2])


def test_landmark_targets_and_flip():
    crop = np.array([[10, 20, 110, 120.0]])
    pts = np.array([[[40, 50], [80, 50], [60, 70], [45, 95], [75, 95]]], float)
    t = ms.landmark_targets(crop, pts)
    np.testing.assert_allclose(t[0, :2], [0.3, 0.3])
    roi = np.array([[0.1, 0.0, -0.2, 0.05]], np.float32)
    roi_f, t_f = ms.flip_targets(roi, t)
    np.testing.assert_allclose(roi_f, [[0.2, 0.0, -0.1, 0.05]])
    tf = t_f.reshape(5, 2)
    # the mirrored image-left eye is the old image-right eye at x -> 1 - x
    np.testing.assert_allclose(tf[0], [1 - 0.7, 0.3], atol=1e-6)
    np.testing.assert_allclose(tf[3], [1 - 0.65, 0.75], atol=1e-6)
    assert tf[0, 0] < tf[1, 0]
    # flipping twice is the identity
    roi_ff, t_ff = ms.flip_targets(roi_f, t_f)
    np.testing.assert_allclose(roi_ff, roi, atol=1e-6)
    np.testing.assert_allclose(t_ff, t, atol=1e-6)


def test_landmark_face_sampling_crops_contain_points(rng):
    img = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    box = np.array([50, 50, 150, 150.0])
    pts = np.array([[80, 85], [120, 85], [100, 105], [85, 125], [115, 125]], float)
    b = ms.SampleBuilder(48)
    ms.sample_landmark_face(b, img, box, pts, rng, n_landmark=3, n_pos=2, n_neg=3)
    s = b.build()
    lm = s.kinds == ms.LANDMARK
    assert lm.sum() >= 1
    assert np.all((s.pts[lm] > 0) & (s.pts[lm] < 1))
    assert np.all(s.reg[s.kinds == ms.POS] == 0)  # CUHK-style positives: classification only
    assert iou_matrix(box[None], box[None])[0, 0] == 1


class CropRecorder(ms.SampleBuilder):
    """A SampleBuilder that also keeps the crop boxes of each kind."""

    def __init__(self, size):
        super().__init__(size)
        self.crops = {}

    def add(self, image, crops, kinds, **kw):
        for k in np.unique(kinds):
            self.crops.setdefault(int(k), []).extend(np.asarray(crops)[kinds == k])
        return super().add(image, crops, kinds, **kw)


def test_landmark_face_negatives_keep_off_the_avoided_boxes(rng):
    img = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    box = np.array([80, 80, 120, 120.0])
    pts = np.array([[90, 95], [110, 95], [100, 103], [92, 112], [108, 112]], float)
    head = np.array([40, 20, 160, 180.0])        # a loose CelebA-style box around the same face
    overlaps = []
    for avoid in (None, [head]):
        b = CropRecorder(24)
        for _ in range(20):
            ms.sample_landmark_face(b, img, box, pts, rng, n_landmark=0, n_pos=0, n_neg=4, neg_avoid=avoid)
        neg = np.array(b.crops[ms.NEG])
        assert len(neg) >= 40
        assert iou_matrix(neg, box[None]).max() < 0.3
        overlaps.append(iou_matrix(neg, head[None]).max())
    assert overlaps[0] >= 0.3 > overlaps[1]      # without neg_avoid some negatives cover the head


def test_cuhk_box_reference_is_measured_on_the_cuhk_train_list(shared_data):
    recs = read_cuhk(shared_data / "cuhk_facepoint" / "train_net7876.txt")
    assert ms.cuhk_box_reference(recs) == ms.CUHK_BOX_REFERENCE
    # a CUHK face's own points give back a box close to its annotated one
    fitted = np.array([ms.box_from_points(r.points) for r in recs[:200]])
    assert np.median(np.diag(iou_matrix(fitted, np.array([r.box for r in recs[:200]])))) > 0.75


def test_sample_random_reads_celeba_as_downloaded(tmp_path, celeba_download):
    c = celeba_download
    out = tmp_path / "celeba_48.npz"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn/0_sampling/sample_random.py"), "--size", "48",
                           "--sources", "celeba", "--celeba-landmarks", str(c.landmarks),
                           "--celeba-images", str(c.images), "--celeba-bbox", str(c.bbox),
                           "--celeba-partition", str(c.partition), "--celeba-pos", "2", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the train partition only: the first image is in the test partition
    assert "'celeba': 3" in proc.stdout and "'wider': 0" in proc.stdout, proc.stdout
    s = ms.SampleSet.load(out)
    counts = s.counts()
    assert counts["landmark"] >= 3 and counts["positive"] >= 3 and counts["negative"] >= 1, counts
    assert np.all(s.reg == 0)                   # CelebA boxes give no box-regression targets
    lm = s.kinds == ms.LANDMARK
    assert np.all((s.pts[lm] > 0) & (s.pts[lm] < 1))
    # a source named without its list is a usage error, not a crash
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn/0_sampling/sample_random.py"), "--size", "48",
                           "--sources", "celeba", "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--celeba-landmarks" in proc.stderr


def test_crop_from_levels_many_boxes_and_pyramid_levels():
    # more boxes than one cv2.remap call takes (32766 rows / 24 = 1365 boxes)
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), (0, 0), 2)
    one = np.array([[30, 20, 78, 68]], float)
    many = np.repeat(one, 1500, axis=0)
    levels = [(1.0, img)]
    got = crop_from_levels(levels, many, 24)
    assert got.shape == (1500, 24, 24, 3)
    np.testing.assert_array_equal(got[-1], crop_from_levels(levels, one, 24)[0])
    # levels resized from finer levels stay close to resizing the original
    scales = pyramid_scales(120, 160, min_face=20, factor=0.709)
    for s, level in build_levels(img, scales):
        direct = cv2.resize(img, level.shape[1::-1], interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        assert np.abs(level.astype(float) - direct).mean() < 4


def test_pnet_strips_equal_one_forward(caffe):
    from facecascade.mtcnn import MTCNN
    rng = np.random.default_rng(3)
    det = MTCNN(stages=1, caffe=caffe)
    for h, w in ((301, 160), (250, 97), (64, 80)):
        img = cv2.GaussianBlur(rng.integers(0, 255, (h, w, 3), dtype=np.uint8), (0, 0), 1.5)
        det.pnet_max_pixels = 10 ** 9
        prob, reg = det.pnet_maps(img)
        det.pnet_max_pixels = 60 * w  # strips of 60 rows
        prob_s, reg_s = det.pnet_maps(img)
        assert prob_s.shape == prob.shape and reg_s.shape == reg.shape
        np.testing.assert_allclose(prob_s, prob, atol=1e-5)
        np.testing.assert_allclose(reg_s, reg, atol=1e-5)
