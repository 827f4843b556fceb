"""O-Net's landmark head refitted in closed form (facecascade.mtcnn.landmark_head,
mtcnn/3_train_onet/refit_landmark_head.py): the ridge solution on hand-made
data, the choice of boxes around a face, and on the real det3 that only the
landmark outputs change."""
import json
import subprocess
import sys

import numpy as np
import pytest

from facecascade.images import read_image
from facecascade.mtcnn import MTCNN, SHIPPED_MODEL_DIR
from facecascade.mtcnn import landmark_head as ol
from facecascade.mtcnn.sampling import flip_targets
from facecascade.paths import REPO_ROOT
from facecascade.records import read_cuhk

REFIT = REPO_ROOT / "mtcnn" / "3_train_onet" / "refit_landmark_head.py"


def test_fit_linear_head_recovers_a_linear_map_and_ridge_shrinks_it(rng):
    features = rng.normal(size=(400, 12)) + 3.0          # off-centre: the bias must absorb the mean
    weights, bias = rng.normal(size=(10, 12)), rng.normal(size=10)
    targets = features @ weights.T + bias
    w, b = ol.fit_linear_head(features, targets, ridge=0.0)
    np.testing.assert_allclose(w, weights, atol=1e-8)
    np.testing.assert_allclose(b, bias, atol=1e-7)
    w_ridge, b_ridge = ol.fit_linear_head(features, targets, ridge=1e4)
    assert np.linalg.norm(w_ridge) < 0.5 * np.linalg.norm(weights)
    # the bias is not penalised: it still fits the mean target
    np.testing.assert_allclose(features.mean(0) @ w_ridge.T + b_ridge, targets.mean(0), atol=1e-8)
    with pytest.raises(ValueError, match="cannot fit"):
        ol.fit_linear_head(features[:12], targets[:12])


def test_boxes_around_face_keep_boxes_holding_every_point_near_the_face():
    points = np.array([[40, 40], [60, 40], [50, 52], [42, 62], [58, 62]], float)
    face = (35, 30, 65, 70)                      # tight, CUHK-like
    boxes = np.array([
        [30, 25, 70, 75, 0.9],     # holds all points, IoU 0.6 with the face: kept
        [20, 10, 80, 85, 0.9],     # holds all points, IoU 0.27: too loose
        [45, 25, 85, 75, 0.9],     # IoU fine but misses the image-left points
        [0, 0, 10, 10, 0.9],       # elsewhere
    ])
    np.testing.assert_array_equal(ol.boxes_around_face(boxes, points, face, min_iou=0.3), boxes[:1, :4])
    assert len(ol.boxes_around_face(boxes, points, face, min_iou=0.25)) == 2
    assert ol.boxes_around_face(np.zeros((0, 5)), points, face).shape == (0, 4)


@pytest.fixture(scope="module")
def onet(caffe):
    return caffe.Net(str(SHIPPED_MODEL_DIR / "det3.prototxt"), str(SHIPPED_MODEL_DIR / "det3.caffemodel"), caffe.TEST)


def test_new_head_changes_only_the_landmarks_on_the_real_det3(onet, rng):
    crops = rng.uniform(0, 255, size=(5, 48, 48, 3)).astype(np.float32)
    features = ol.onet_features(onet, crops)
    assert features.shape == (5, 256)
    scores, boxes = onet.blobs["prob1"].data.copy(), onet.blobs["fc6-2"].data.copy()
    old = [p.data.copy() for p in onet.params[ol.LANDMARK_HEAD]]
    weights, bias = rng.normal(size=(10, 256)) * 0.01, rng.normal(size=10)
    try:
        ol.set_linear_head(onet, weights, bias)
        again = ol.onet_features(onet, crops)
        np.testing.assert_array_equal(again, features)
        np.testing.assert_array_equal(onet.blobs["prob1"].data, scores)
        np.testing.assert_array_equal(onet.blobs["fc6-2"].data, boxes)
        np.testing.assert_allclose(onet.blobs["fc6-3"].data, features @ weights.T + bias, rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="fc6-3"):
            ol.set_linear_head(onet, weights[:, :100], bias)
    finally:
        for p, o in zip(onet.params[ol.LANDMARK_HEAD], old):
            p.data[...] = o


def test_samples_of_a_real_face_decode_to_its_points(caffe, shared_data):
    rec = read_cuhk(shared_data / "cuhk_facepoint" / "train_net7876.txt")[0]
    det = MTCNN(caffe=caffe)
    samples = ol.LandmarkSamples(max_boxes_per_face=3)
    near = samples.add_image(det, read_image(rec.image), rec.points, rec.box)
    assert 1 <= len(near) <= 3 and samples.faces_used == 1 and len(samples) == 2 * len(near)
    targets = samples.targets()
    plain, mirrored = targets[:len(near)], targets[len(near):]
    # the detector's decoding (MTCNN.onet_stage): crop corner + target x crop size
    wh = (near[:, 2:4] - near[:, :2])[:, None, :]
    np.testing.assert_allclose(near[:, None, :2] + plain.reshape(-1, 5, 2) * wh,
                               np.broadcast_to(rec.points, (len(near), 5, 2)), atol=1e-6)
    np.testing.assert_allclose(mirrored, flip_targets(np.zeros((len(near), 4)), plain)[1], atol=1e-6)
    features = samples.features()
    assert features.shape == (2 * len(near), 256) and not np.allclose(features[:len(near)], features[len(near):])


def test_refit_cli_writes_a_model_folder_with_the_same_scores(tmp_path, caffe, shared_data):
    src = shared_data / "cuhk_facepoint"
    lines = (src / "train_net7876.txt").read_text().splitlines()[:60]
    lst = tmp_path / "train.txt"
    lst.write_text("\n".join(f"{src / ln.split()[0]} {' '.join(ln.split()[1:])}" for ln in lines) + "\n")
    out = tmp_path / "model"
    res = subprocess.run([sys.executable, str(REFIT), "--list", str(lst), "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["faces_used"] >= 50 and summary["crops"] > summary["faces_used"]
    assert summary["train_error_box_units_after"] < summary["train_error_box_units_before"]
    # the Caffe files (the shipped folder also holds their ONNX exports)
    caffe_files = sorted(p.name for p in SHIPPED_MODEL_DIR.glob("det[123].*") if p.suffix in (".prototxt", ".caffemodel"))
    assert sorted(p.name for p in out.glob("det*")) == caffe_files
    image = read_image(src / lines[0].split()[0])
    old, new = MTCNN(caffe=caffe).detect(image), MTCNN(out, caffe=caffe).detect(image)
    assert len(old) >= 1
    np.testing.assert_array_equal(new.scores, old.scores)
    np.testing.assert_array_equal(new.boxes, old.boxes)


def test_refit_cli_names_the_line_of_a_malformed_list(tmp_path):
    lst = tmp_path / "bad.txt"
    lst.write_text("a.jpg 1 2 3\n")
    res = subprocess.run([sys.executable, str(REFIT), "--list", str(lst), "--out", str(tmp_path / "m")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2 and f"{lst}:1" in res.stderr, res.stderr[-2000:]
