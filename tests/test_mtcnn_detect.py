"""The shipped MTCNN (mtcnn/model/det1-3) on real photos.

Documented threshold: on these photos no box other than the true face(s)
scores above FALSE_BOX_SCORE (the detector's score: the geometric mean of
R-Net's and O-Net's face probabilities, after soft-NMS).
"""
import json
import re
import sys

import cv2
import numpy as np
import pytest
import skimage.data

from facecascade.images import read_image
from facecascade.mtcnn import (
    LARGE_FACTOR,
    MTCNN,
    SHIPPED_MODEL_DIR,
    add_detector_arguments,
    detector_from_args,
    pyramid_scales,
)
from facecascade.paths import REPO_ROOT

# The documented operating point: no false box scores above it on the
# astronaut photo or the CelebA demo photos (docs/notebook).  The round-3
# det3 was trained to accept crops at IoU 0.5 as faces; behind the det1s that
# propose a patch of lace on 001102.jpg (round 1: 0.979; round 5b, shipped:
# 0.963) it needs 0.99.  (0.95 held for the det3 of ee0560a and behind the
# share-0.5 round-5 det1, which does not propose the patch.)
FALSE_BOX_SCORE = 0.99
# the astronaut's face (Eileen Collins) in skimage.data.astronaut(), 512x512, drawn by hand
ASTRONAUT_FACE = (172, 62, 266, 162)


@pytest.fixture(scope="module")
def detector(caffe):
    if not (SHIPPED_MODEL_DIR / "det3.caffemodel").is_file():
        pytest.fail(f"shipped MTCNN models missing in {SHIPPED_MODEL_DIR}", pytrace=False)
    return MTCNN(caffe=caffe)


def detector_cli(flags):
    """The detector that the scripts (detect.py, evaluate.py, ...) build from these flags."""
    import argparse

    ap = argparse.ArgumentParser()
    add_detector_arguments(ap)
    return detector_from_args(ap.parse_args(flags))


def contains_points(box, pts):
    x1, y1, x2, y2 = box
    return bool(np.all((pts[:, 0] > x1) & (pts[:, 0] < x2) & (pts[:, 1] > y1) & (pts[:, 1] < y2)))


def test_shipped_models_fit_in_2mb():
    """The Caffe models (prototxt + caffemodel); their ONNX exports: tests/test_onnx.py."""
    files = [p for p in SHIPPED_MODEL_DIR.glob("det[123].*") if p.suffix in (".prototxt", ".caffemodel")]
    assert len(files) == 6
    assert sum(p.stat().st_size for p in files) <= 2 * 1024 * 1024


def test_astronaut_face_found_without_false_boxes(detector):
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    faces = detector.detect(img)
    from facecascade.boxes import iou
    assert len(faces) >= 1
    ious = iou(np.array(ASTRONAUT_FACE, float), faces.boxes)
    k = int(np.argmax(ious))
    assert ious[k] >= 0.5, (faces.boxes, faces.scores)
    pts = faces.points[k]
    assert contains_points(faces.boxes[k], pts)
    assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0]        # image-left before image-right
    assert pts[[0, 1], 1].mean() < pts[2, 1] < pts[[3, 4], 1].mean()  # eyes above nose above mouth
    others = np.delete(faces.scores, k)
    assert np.all(others < FALSE_BOX_SCORE), (faces.boxes, faces.scores)


def test_large_face_threshold_applies_to_large_face_levels_only(detector):
    # off by default: the reference pipeline's one P-Net threshold on every level
    assert detector.large_face_threshold is None
    assert {detector.pnet_threshold(s) for s in (1.0, 0.6, 12 / 50, 0.05)} == {detector.thresholds[0]}
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    try:
        # the reference pyramid, so that large_face below moves the threshold alone
        detector.large_factor = None
        default, _ = detector.pnet_stage(img)
        detector.large_face_threshold, detector.large_face = 0.2, 50.0
        # a level's 12 px window stands for faces of 12 / scale px
        assert detector.pnet_threshold(12 / 50) == 0.2 and detector.pnet_threshold(12 / 80) == 0.2
        assert detector.pnet_threshold(12 / 49.9) == detector.thresholds[0]
        lowered, _ = detector.pnet_stage(img)
        detector.large_face_threshold = detector.thresholds[0]
        same, _ = detector.pnet_stage(img)
        detector.large_face_threshold, detector.large_face = 0.2, 1e9     # no level that coarse
        none_coarse, _ = detector.pnet_stage(img)
    finally:
        detector.large_face_threshold, detector.large_face, detector.large_factor = None, 50.0, LARGE_FACTOR
    np.testing.assert_array_equal(same, default)
    np.testing.assert_array_equal(none_coarse, default)
    assert len(lowered) > len(default)
    # the extra candidates come from the large-face levels: P-Net boxes of 50 px and up
    # (squared after their regression, which moves a side by a fraction of it)
    extra = lowered[[not np.any(np.all(np.isclose(b, default), axis=1)) for b in lowered]]
    assert len(extra) and np.all(extra[:, 2] - extra[:, 0] > 0.6 * 50)


def test_large_factor_refines_the_large_face_levels_of_the_detector(detector):
    """The finer step between the large-face levels is the default; the levels P-Net runs on
    are pyramid_scales' with it, the finer levels the reference's; with large_factor None
    (or --large-factor equal to --factor) the pyramid is the reference's."""
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    assert detector.large_factor == LARGE_FACTOR == 0.8
    _, levels = detector.pnet_stage(img)
    fine = pyramid_scales(512, 512, 20, 0.709, large_factor=0.8, large_face=50.0)
    reference = pyramid_scales(512, 512, 20, 0.709)
    assert [s for s, _ in levels] == fine and len(fine) > len(reference)
    try:
        detector.large_factor = None
        _, ref_levels = detector.pnet_stage(img)
    finally:
        detector.large_factor = LARGE_FACTOR
    assert [s for s, _ in ref_levels] == reference
    for flags, want in (([], 0.8), (["--large-factor", "0.75"], 0.75), (["--large-factor", "0.709"], None),
                        (["--factor", "0.8"], None)):
        assert detector_cli(flags).large_factor == want
    for flags in (["--large-factor", "1.2"], ["--factor", "0"], ["--large-factor", "x"]):
        with pytest.raises(SystemExit):
            detector_cli(flags)
    with pytest.raises(ValueError, match="large factor"):
        MTCNN(model_dir="/nonexistent", caffe=detector.caffe, large_factor=1.5)   # before any model is read


def test_min_score_only_drops_the_faces_scored_below_it(detector, caffe):
    """--min-score filters the output and changes nothing before it: the faces
    kept are exactly those of the unfiltered run scored at least that."""
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    # min score 0: with the boxes soft-NMS lowered (the astronaut's face and 15 of them)
    everything = MTCNN(caffe=caffe, min_score=0).detect(img)
    assert (everything.scores < 0.7).sum() >= 2 and (everything.scores >= FALSE_BOX_SCORE).any()
    # an explicit min score, and the default one (None: O-Net's threshold, 0.7)
    for min_score, filtered in ((FALSE_BOX_SCORE, MTCNN(caffe=caffe, min_score=FALSE_BOX_SCORE).detect(img)),
                                (0.7, detector.detect(img)), (0.01, MTCNN(caffe=caffe, min_score=0.01).detect(img))):
        kept = everything.scores >= min_score
        assert len(filtered) == kept.sum() >= 1
        np.testing.assert_array_equal(filtered.boxes, everything.boxes[kept])
        np.testing.assert_array_equal(filtered.scores, everything.scores[kept])
        np.testing.assert_array_equal(filtered.points, everything.points[kept])


def test_final_step_scores_and_reference_nms(caffe):
    """The last step on the astronaut's O-Net candidates, without any suppression
    (last NMS threshold 1): "onet" scores are O-Net's face probabilities of the
    candidates it passes, "cascade" ones sqrt(R-Net's x O-Net's).  And the
    reference last step ("onet", "min") is hard NMS 0.7 over the smaller box."""
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    kw = dict(caffe=caffe, rescore_rounds=0, nms_thresholds=(0.5, 0.7, 0.7, 1.0), final_nms="min")
    onet, cascade = MTCNN(final_score="onet", **kw), MTCNN(final_score="cascade", **kw)
    cand, levels = onet.pnet_stage(img)
    cand = onet.rnet_stage(img, cand, levels)
    o_score, _, _ = onet.score_boxes("onet", img, cand, levels)
    passed = o_score >= 0.7
    assert passed.sum() >= 3 and np.ptp(cand[passed, 4]) > 0.01   # R-Net's scores differ: a real test
    out_onet, _ = onet.onet_stage(img, cand, levels)
    out_cascade, _ = cascade.onet_stage(img, cand, levels)
    np.testing.assert_allclose(np.sort(out_onet[:, 4]), np.sort(o_score[passed]), rtol=1e-6)
    np.testing.assert_allclose(np.sort(out_cascade[:, 4]),
                               np.sort(np.sqrt(o_score[passed] * cand[passed, 4])), rtol=1e-6)
    from facecascade.boxes import nms
    reference = MTCNN(caffe=caffe, rescore_rounds=0, final_score="onet", final_nms="min")
    out_ref, _ = reference.onet_stage(img, cand, levels)
    np.testing.assert_array_equal(out_ref, out_onet[nms(out_onet, 0.7, "min")])
    with pytest.raises(ValueError, match="final_nms"):
        MTCNN(caffe=caffe, final_nms="hard")


def test_nested_boxes_inside_a_face_are_dropped(caffe, shared_data):
    """A CUHK test photo where O-Net passes an eye, a brow and a cheek inside the one face
    (soft-NMS keeps them: their union IoU with the face is small): by default the last step
    drops them (boxes.drop_nested) and keeps the face and its points as they were;
    nested_cover 0 keeps them, as before the rule."""
    img = read_image(shared_data / "cuhk_facepoint" / "net_7876" / "1058_0_0.jpg")
    plain = MTCNN(caffe=caffe, nested_cover=0).detect(img)
    from facecascade.boxes import iou_matrix
    k = int(np.argmax(plain.scores))  # the face
    # the others lie (almost) wholly inside it: IoU over the smaller box
    cover = iou_matrix(plain.boxes, plain.boxes[k:k + 1], "min")[:, 0]
    assert len(plain) >= 4 and np.all(cover > 0.9), (plain.boxes.round(), cover)
    out = MTCNN(caffe=caffe).detect(img)
    assert len(out) == 1
    np.testing.assert_array_equal(out.boxes[0], plain.boxes[k])
    np.testing.assert_array_equal(out.points[0], plain.points[k])
    with pytest.raises(ValueError, match="nested_cover"):
        MTCNN(caffe=caffe, nested_cover=1.5)


def test_candidate_batches_give_the_same_scores(detector):
    # R-Net / O-Net run on the candidates in chunks of detector.candidate_batch;
    # chunks that do not divide the candidates must give what one forward gives.
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    boxes, levels = detector.pnet_stage(img)
    assert len(boxes) > 20
    saved = detector.candidate_batch
    try:
        outputs = {}
        for batch in (len(boxes), 7):
            detector.candidate_batch = batch
            outputs[batch] = (detector.score_boxes("rnet", img, boxes, levels),
                              detector.score_boxes("onet", img, boxes[:20], levels))
    finally:
        detector.candidate_batch = saved
    whole, chunked = outputs[len(boxes)], outputs[7]
    for got, want in zip(chunked[0][:2] + chunked[1], whole[0][:2] + whole[1]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert chunked[0][2] is None and chunked[1][2].shape == (20, 10)


@pytest.mark.parametrize("key", ["rnet", "onet"])
def test_mirror_scoring_averages_the_crop_and_its_mirror(caffe, key):
    """With mirror scoring, a candidate scored at least the second look's floor gets the
    mean of the net's outputs on its crop and on the crop's mirror; one under it keeps
    its own.  A candidate on the mirrored image at the mirrored box sees the same two
    crops, so it gets the same score and mirrored offsets and points."""
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    flipped = np.ascontiguousarray(img[:, ::-1])
    w = img.shape[1]
    rng = np.random.default_rng(5)
    face = np.array(ASTRONAUT_FACE, float)
    centre = (face[:2] + face[2:]) / 2 + rng.uniform(-40, 40, (60, 2))
    side = rng.uniform(60, 130, (60, 1))
    boxes = np.column_stack([centre - side / 2, centre + side / 2])
    mirrored = boxes.copy()
    mirrored[:, [0, 2]] = w - boxes[:, [2, 0]]
    plain = MTCNN(caffe=caffe)
    both = MTCNN(caffe=caffe, mirror_stages=(key,))
    # cv2.remap places bilinear samples on a 1/32 px grid, so a crop and the mirror of
    # the mirrored crop differ slightly; a wrong mapping would be off by tenths
    TOL = 2e-3
    # the original image only (no pyramid levels): both crops sample it the same way
    score, offsets, points = both.score_boxes(key, img, boxes, [])
    m_score, m_offsets, m_points = both.score_boxes(key, flipped, mirrored, [])
    s1, o1, p1 = plain.score_boxes(key, img, boxes, [])
    s2, _, _ = plain.score_boxes(key, flipped, mirrored, [])
    look = s1 >= both.rescore_floor
    assert 5 <= look.sum() <= len(boxes) - 5                   # both kinds are exercised
    np.testing.assert_allclose(score[look], (s1[look] + s2[look]) / 2, atol=TOL)
    np.testing.assert_array_equal(score[~look], s1[~look])
    np.testing.assert_array_equal(offsets[~look], o1[~look])
    assert np.abs(s1 - s2)[look].max() > 1e-2                  # the net itself is not mirror-symmetric
    same = look & (s2 >= both.rescore_floor)                   # mirrored both ways
    np.testing.assert_allclose(m_score[same], score[same], atol=TOL)
    np.testing.assert_allclose((m_offsets[:, [2, 1, 0, 3]] * [-1, 1, -1, 1])[same], offsets[same], atol=TOL)
    if key == "onet":
        p, mp = points.reshape(-1, 5, 2)[same], m_points.reshape(-1, 5, 2)[same]
        np.testing.assert_allclose(1 - mp[:, [1, 0, 2, 4, 3], 0], p[:, :, 0], atol=TOL)
        np.testing.assert_allclose(mp[:, [1, 0, 2, 4, 3], 1], p[:, :, 1], atol=TOL)
        np.testing.assert_array_equal(points[~look], p1[~look])
    with pytest.raises(ValueError, match="mirror_stages"):
        MTCNN(caffe=caffe, mirror_stages=("pnet",))


def test_mirror_stages_flag_reaches_the_detector(caffe):
    assert detector_cli([]).mirror_stages == ()     # off by default
    for flags in (["rnet"], ["rnet", "onet"]):
        assert detector_cli(["--mirror-stages"] + flags).mirror_stages == tuple(flags)
    with pytest.raises(SystemExit):
        detector_cli(["--mirror-stages", "pnet"])


@pytest.mark.parametrize("key,threshold", [("rnet", 0.7), ("onet", 0.7)])
def test_second_look_rescores_only_borderline_candidates_on_their_regressed_box(detector, key, threshold):
    """Boxes jittered around the astronaut's face, one round: those scored in
    [floor, threshold) are scored again on square(regressed box); all others keep
    their first look."""
    from facecascade.boxes import apply_regression, square

    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    _, levels = detector.pnet_stage(img)
    rng = np.random.default_rng(3)
    face = np.array(ASTRONAUT_FACE, float)
    size = face[2:] - face[:2]
    shift = rng.uniform(-0.45, 0.45, (300, 2)) * size
    scale = rng.uniform(0.7, 1.4, (300, 1)) * size
    centre = (face[:2] + face[2:]) / 2 + shift
    boxes = np.column_stack([centre - scale / 2, centre + scale / 2])
    first = detector.score_boxes(key, img, boxes, levels)
    saved = detector.rescore_rounds, detector.rescore_floor
    try:
        detector.rescore_rounds, detector.rescore_floor = 0, 0.1
        off = detector.score_with_second_look(key, img, boxes, levels, threshold)
        detector.rescore_rounds = 1
        on = detector.score_with_second_look(key, img, boxes, levels, threshold)
        twice = detector.score_with_second_look(key, img, on[0], levels, threshold)
        detector.rescore_rounds = 2
        two_rounds = detector.score_with_second_look(key, img, boxes, levels, threshold)
    finally:
        detector.rescore_rounds, detector.rescore_floor = saved
    np.testing.assert_array_equal(off[0], boxes)
    np.testing.assert_array_equal(off[1], first[0])
    again = (first[0] >= 0.1) & (first[0] < threshold)
    assert 10 <= again.sum() < len(boxes) - 10          # both kinds are exercised
    np.testing.assert_array_equal(on[0][~again], boxes[~again])
    np.testing.assert_array_equal(on[1][~again], first[0][~again])
    moved = square(apply_regression(np.column_stack([boxes[again], first[0][again]]), first[1][again]))[:, :4]
    # Scores and regressions of a candidate come from batches of other sizes in the two calls:
    # BLAS kernels differ by batch shape (and OPENBLAS_CORETYPE), so they agree to float32
    # rounding (~1e-5 relative), not bit for bit; a box moves by a fraction of a pixel at most.
    np.testing.assert_allclose(on[0][again], moved, rtol=1e-5, atol=1e-3)
    second = detector.score_boxes(key, img, moved, levels)
    np.testing.assert_allclose(on[1][again], second[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(on[2][again], second[1], rtol=1e-5, atol=1e-6)
    if key == "onet":
        np.testing.assert_allclose(on[3][again], second[2], rtol=1e-5, atol=1e-6)
    # what it is for: on its corrected box a borderline crop of the face is accepted more often
    assert (second[0] >= threshold).sum() > 0
    # a second round is a first round on the boxes the first one left
    np.testing.assert_allclose(two_rounds[0], twice[0], rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(two_rounds[1], twice[1], rtol=1e-5, atol=1e-6)
    assert (two_rounds[0] != on[0]).any()


def test_celeba_demo_faces_found(detector, shared_data):
    folder = shared_data / "celeba_demo"
    lines = (folder / "list_landmarks_celeba_demo.txt").read_text().split("\n")
    rows = [ln.split() for ln in lines if ln.strip()]
    errors = []  # mean point error of the best box holding the face, in eye distances
    for row in rows:
        img = read_image(folder / row[0])
        gt = np.array([float(v) for v in row[1:]]).reshape(5, 2)
        faces = detector.detect(img)
        hit = [k for k in range(len(faces)) if contains_points(faces.boxes[k], gt)]
        others = [float(faces.scores[k]) for k in range(len(faces)) if k not in hit]
        assert all(v < FALSE_BOX_SCORE for v in others), f"{row[0]}: false boxes scored {others}"
        if hit:
            k = max(hit, key=lambda i: faces.scores[i])
            iod = np.linalg.norm(gt[0] - gt[1])
            errors.append(np.mean(np.linalg.norm(faces.points[k] - gt, axis=1)) / iod)
            # each face's O-Net points are decoded in place and order (a swapped or mis-scaled
            # decoding puts them outside the box or out of order): inside the box, image-left
            # eye left of the image-right one, mouth corners too, mouth below the eyes
            (x1, y1, x2, y2), pts = faces.boxes[k], faces.points[k]
            assert np.all((pts >= [x1, y1]) & (pts <= [x2, y2])), f"{row[0]}: {pts} outside {faces.boxes[k]}"
            assert pts[0, 0] < pts[1, 0] and pts[3, 0] < pts[4, 0], f"{row[0]}: left/right swapped {pts}"
            assert max(pts[0, 1], pts[1, 1]) < min(pts[3, 1], pts[4, 1]), f"{row[0]}: eyes below mouth {pts}"
    assert len(errors) >= len(rows) - 1, f"{len(errors)}/{len(rows)} CelebA demo faces found"
    # typical faces land near the annotation; O-Net's points are coarse (the cascade refines
    # them).  The median was 0.115 before the landmark head was refitted to the detector's
    # boxes (mtcnn/3_train_onet/refit_landmark_head.py), 0.084 with it and 0.095 with the
    # round-12 det2/det3.  The profile face of 000167.jpg (23 px between the eyes) gets a box
    # up to the hair from round 12's nets and its points are off by about one eye distance
    # (0.23 before; docs/notebook).
    assert np.median(errors) < 0.1, f"O-Net point errors (eye distances): {np.round(errors, 2)}"


def test_odd_inputs(detector):
    assert len(detector.detect(np.zeros((8, 8, 3), np.uint8))) == 0       # smaller than one window
    assert len(detector.detect(np.zeros((100, 80, 3), np.uint8))) == 0    # blank: no face
    with pytest.raises(ValueError):
        detector.detect(np.zeros((100, 80), np.uint8))                   # must be BGR: read_image converts


def test_detect_cli_on_grayscale_and_16bit_and_says_when_it_finds_no_face(tmp_path, caffe, capsys):
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    cv2.imwrite(str(tmp_path / "gray.png"), img)
    cv2.imwrite(str(tmp_path / "deep.png"), (img.astype(np.uint16) * 257))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    from facecascade.commands import mtcnn_detect as detect_cli
    cv2.imwrite(str(tmp_path / "wall.png"), np.full((300, 400), 200, np.uint8))
    res = detect_cli.main([str(tmp_path), "--out", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert f"{tmp_path / 'wall.png'}: no face found (--min-face 20, --thresholds 0.6 0.7 0.7)" in err
    assert json.loads(out.strip().splitlines()[-1])["images_without_faces"] == 1
    assert res.pop(str(tmp_path / "wall.png")) == []
    data = json.loads((tmp_path / "out" / "detections.json").read_text())
    assert set(data) == set(res) | {str(tmp_path / "wall.png")} and len(res) == 2     # broken.jpg skipped
    for faces in res.values():
        assert any(f["score"] > 0.9 for f in faces)
        assert all(len(f["landmarks"]) == 5 for f in faces)
    assert (tmp_path / "out" / "drawn" / "gray.jpg").is_file()


def test_evaluate_cli_last_line_is_json(tmp_path, caffe):
    import subprocess
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    (tmp_path / "images" / "ev").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "images" / "ev" / "astronaut.jpg"), img)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    (tmp_path / "gt.txt").write_text(f"ev/astronaut.jpg\n1\n{x1} {y1} {x2 - x1} {y2 - y1} 0 0 0 0 0 0 \n")
    r = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn" / "evaluate.py"), "--gt", str(tmp_path / "gt.txt"),
                        "--images", str(tmp_path / "images"), "--min-face", "20", "--out", str(tmp_path / "ev")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("n_images", "ap_all", "ap_large", "ap_medium", "ap_small", "sec_per_image"):
        assert key in summary
    assert summary["n_images"] == 1 and summary["ap_large"] == pytest.approx(100.0)
    assert summary["mirror_stages"] == [] and summary["factor"] == 0.709 and summary["large_factor"] == 0.8
    # the end of the PR curve: the face found, every detection kept
    assert summary["recall_all"] == pytest.approx(100.0)
    # per bucket: the one large face found; buckets without a face have no recall
    assert summary["recall_end"] == {"large": pytest.approx(100.0), "medium": None, "small": None}
    assert summary["precision_all"] == pytest.approx(100.0 / summary["n_detections"], abs=0.01)
    assert (tmp_path / "ev" / "pr_curve.png").is_file()
    # detections in the WIDER prediction format: x y w h score, the face first (highest score)
    lines = (tmp_path / "ev" / "detections.txt").read_text().splitlines()
    assert lines[0] == "ev/astronaut.jpg" and int(lines[1]) == summary["n_detections"]
    x, y, w, h, score = (float(v) for v in lines[2].split())
    assert score > 0.99 and x < ASTRONAUT_FACE[2] and y < ASTRONAUT_FACE[3] and w > 50 and h > 50
    # the per-stage breakdown: every stage timed, stage times within the total
    stages = summary["sec_per_stage"]
    assert set(stages) == {"pnet", "rnet", "onet"} and all(t > 0 for t in stages.values())
    assert sum(stages.values()) <= summary["sec_per_image"] * 1.01
    boxes = summary["boxes_per_stage"]
    assert boxes["pnet"] >= boxes["rnet"] >= boxes["onet"] >= 1


@pytest.mark.parametrize("gt_text, where", [
    ("ev/a.jpg\n2\n10 10 30 30 0 0 0 0 0 0\n", ":2:"),         # 2 faces announced, 1 given
    ("ev/a.jpg\n1\n10 ten 30 30 0 0 0 0 0 0\n", ":3:"),        # a field that is no number
])
def test_evaluate_cli_names_the_line_of_a_malformed_gt_file(tmp_path, gt_text, where):
    import subprocess
    (tmp_path / "gt.txt").write_text(gt_text)
    r = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn" / "evaluate.py"), "--gt", str(tmp_path / "gt.txt"),
                        "--images", str(tmp_path), "--out", str(tmp_path / "ev")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.startswith(f"error: {tmp_path / 'gt.txt'}{where}"), r.stderr


def test_evaluate_cli_fails_when_no_image_can_be_read(tmp_path):
    """--images pointing elsewhere than GT_FILE's folder: an error naming both, not a JSON of nulls."""
    import subprocess
    (tmp_path / "gt.txt").write_text("ev/a.jpg\n1\n10 10 30 30 0 0 0 0 0 0\n")
    r = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn" / "evaluate.py"), "--gt", str(tmp_path / "gt.txt"),
                        "--images", str(tmp_path / "elsewhere"), "--out", str(tmp_path / "ev")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: none of the 1 images of {tmp_path / 'gt.txt'}") and "a.jpg" in last, last
    # the skipped image's message sits on its own line, not after the progress bar
    assert any(line.startswith(f"skip: {tmp_path / 'gt.txt'}:1:") for line in r.stderr.replace("\r", "\n").splitlines())


def test_detect_landmarks_end_to_end_with_align(tmp_path, caffe):
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(tmp_path / "astronaut.jpg"), img)
    from facecascade.commands import detect_landmarks
    detect_landmarks.main([str(tmp_path / "astronaut.jpg"), "--out", str(tmp_path / "out"), "--align"])
    data = json.loads((tmp_path / "out" / "landmarks.json").read_text())
    faces = next(iter(data.values()))
    best = max(faces, key=lambda f: f["score"])
    pts = np.array(best["landmarks"])
    assert pts.shape == (5, 2) and contains_points(best["box"], pts)
    aligned = sorted((tmp_path / "out" / "aligned").glob("astronaut_*.png"))
    assert aligned and cv2.imread(str(aligned[0])).shape == (112, 112, 3)


def test_demo_inference_detect_names_a_photo_without_a_face(tmp_path, caffe):
    """inference.py --detect: every detected face gets the cascade; a photo without a face
    gets none (named on stderr, counted), while --region auto falls back to the whole image
    there (the seed's mode)."""
    import subprocess
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "astronaut.jpg"), cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(photos / "wall.png"), np.full((300, 400, 3), 200, np.uint8))
    script = str(REPO_ROOT / "3_demo" / "Code" / "inference.py")
    lines = {}
    for flag in ("--detect", "--region=auto"):
        r = subprocess.run([sys.executable, script, "--images", str(photos), flag, "--out", str(tmp_path / flag)],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        assert f"{photos / 'wall.png'}: no face found (--min-face 20, --thresholds 0.6 0.7 0.7)" in r.stderr
        lines[flag] = r.stdout.splitlines()
        assert (tmp_path / flag / "astronaut.jpg").is_file() and (tmp_path / flag / "wall.jpg").is_file()
    found = {m[1]: int(m[2]) for m in (re.match(r"  (\S+): (\d+) face\(s\)", ln) for ln in lines["--detect"]) if m}
    assert found["astronaut.jpg"] >= 1 and found["wall.png"] == 0, lines["--detect"]
    assert f"2 images, {found['astronaut.jpg']} faces, 1 images without a face," in lines["--detect"][-1]
    assert "  wall.png: using the whole image instead (--region auto)" in lines["--region=auto"]
    assert "  wall.png: 1 face(s)" in " ".join(lines["--region=auto"])
    assert ", 0 images without a face," in lines["--region=auto"][-1]


def _ensemble_script():
    import importlib.util

    path = REPO_ROOT / "experiments" / "tools" / "ensemble_models.py"
    spec = importlib.util.spec_from_file_location("ensemble_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ensemble_net_outputs_the_mean_of_its_members(caffe, tmp_path, rng):
    """Two different O-Nets as one net: prob1, fc6-2 and fc6-3 are the means of the
    two nets' own outputs on the same batch (the shipped det3 and a copy with its
    weights perturbed)."""
    from facecascade.nets import write_ensemble

    proto, model = SHIPPED_MODEL_DIR / "det3.prototxt", SHIPPED_MODEL_DIR / "det3.caffemodel"
    other = caffe.Net(str(proto), str(model), caffe.TEST)
    for blobs in other.params.values():
        for b in blobs:
            b.data[...] *= rng.uniform(0.7, 1.3, size=b.data.shape)
    other.save(str(tmp_path / "other.caffemodel"))
    write_ensemble([proto, proto], [model, tmp_path / "other.caffemodel"], ["prob1", "fc6-2", "fc6-3"],
                   tmp_path / "ens.prototxt", tmp_path / "ens.caffemodel")
    # crops from the astronaut's face to off it: face probabilities from near 1 to near 0
    from facecascade.mtcnn import normalise
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    x = normalise([cv2.resize(img[y1:y2, x1 + dx:x2 + dx], (48, 48)) for dx in (0, 20, 40, 60, 80)])
    outs = []
    for p, m in ((proto, model), (proto, tmp_path / "other.caffemodel"), (tmp_path / "ens.prototxt",
                                                                          tmp_path / "ens.caffemodel")):
        net = caffe.Net(str(p), str(m), caffe.TEST)
        net.blobs["data"].reshape(*x.shape)
        net.blobs["data"].data[...] = x
        net.forward()
        outs.append({k: net.blobs[k].data.copy() for k in ("prob1", "fc6-2", "fc6-3")})
    for k in ("prob1", "fc6-2", "fc6-3"):
        assert not np.allclose(outs[0][k], outs[1][k], atol=1e-3)    # the members differ
        np.testing.assert_allclose(outs[2][k], (outs[0][k] + outs[1][k]) / 2, rtol=1e-5, atol=1e-6)


def test_ensemble_of_one_folder_twice_detects_exactly_as_the_folder(caffe, tmp_path):
    """ensemble_models.py on [shipped, shipped]: 0.5 a + 0.5 a is a in float32, so the
    ensemble folder gives the shipped detector's boxes and scores to the bit."""
    _ensemble_script().main(["--out", str(tmp_path / "ens"), str(SHIPPED_MODEL_DIR), str(SHIPPED_MODEL_DIR)])
    assert "fc5-2_1" in (tmp_path / "ens" / "det2.prototxt").read_text()
    img = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    shipped = MTCNN(caffe=caffe).detect(img)
    ens = MTCNN(model_dir=tmp_path / "ens", caffe=caffe).detect(img)
    assert len(shipped) >= 1
    np.testing.assert_array_equal(ens.boxes, shipped.boxes)
    np.testing.assert_array_equal(ens.scores, shipped.scores)
    np.testing.assert_array_equal(ens.points, shipped.points)


def test_ensemble_refuses_a_caffemodel_of_another_net(caffe, tmp_path):
    """An R-Net's weights given for an O-Net (both have conv1, of other shapes), or a
    caffemodel missing a layer, is a ValueError naming the file, not a Caffe abort;
    nothing is left under the output names."""
    from facecascade.nets import write_ensemble

    proto, model = SHIPPED_MODEL_DIR / "det3.prototxt", SHIPPED_MODEL_DIR / "det3.caffemodel"
    outs = (tmp_path / "ens.prototxt", tmp_path / "ens.caffemodel")
    with pytest.raises(ValueError, match=r"det2\.caffemodel: holds no weights of layer conv5 of .*det3\.prototxt"):
        write_ensemble([proto, proto], [model, SHIPPED_MODEL_DIR / "det2.caffemodel"], ["prob1"], *outs)
    param = caffe.proto.caffe_pb2.NetParameter()
    param.ParseFromString(model.read_bytes())
    conv1 = param.layer[[layer.name for layer in param.layer].index("conv1")].blobs[0]
    dims = list(conv1.shape.dim)
    conv1.shape.dim[:] = [dims[1], dims[0]] + dims[2:]    # as many values, another shape
    (tmp_path / "conv1_swapped.caffemodel").write_bytes(param.SerializeToString())
    with pytest.raises(ValueError, match=r"conv1_swapped\.caffemodel: layer conv1 holds blobs of shapes"):
        write_ensemble([proto, proto], [model, tmp_path / "conv1_swapped.caffemodel"], ["prob1"], *outs)
    param.ParseFromString(model.read_bytes())
    del param.layer[[layer.name for layer in param.layer].index("fc6-3")]
    (tmp_path / "no_points.caffemodel").write_bytes(param.SerializeToString())
    with pytest.raises(ValueError, match="no_points.caffemodel: holds no weights of layer fc6-3"):
        write_ensemble([proto, proto], [model, tmp_path / "no_points.caffemodel"], ["prob1"], *outs)
    with pytest.raises(ValueError, match=r"det2\.prototxt: another input shape than .*det3\.prototxt"):
        write_ensemble([proto, SHIPPED_MODEL_DIR / "det2.prototxt"], [model, SHIPPED_MODEL_DIR / "det2.caffemodel"],
                       ["prob1"], *outs)
    with pytest.raises(ValueError, match=r"det3\.prototxt: no blob fc5-2 to average"):
        write_ensemble([proto, proto], [model, model], ["prob1", "fc5-2"], *outs)
    assert not any(tmp_path.glob("ens.*"))
