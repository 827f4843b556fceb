"""The landmark net: architecture table, deploy derived from the train prototxt,
exact BatchNorm folding, shipped model size, pycaffe vs cv2.dnn, and a short
real training run whose loss falls."""
import os
import subprocess
import sys

import numpy as np
import pytest

from facecascade import geometry as geo
from facecascade import landmark_net as ln
from facecascade.cascade import SHIPPED, LandmarkCascade
from facecascade.paths import REPO_ROOT
from facecascade.prototxt import read_net, write_text
from facecascade.records import read_celeba

TRAIN_PROTOTXT = {1: REPO_ROOT / "1_level_1/Code/2_train/l1_mobilenet.prototxt",
                  2: REPO_ROOT / "2_level_2/Code/0_train/l2_mobilenet.prototxt"}
# The seed's table, as (blob, C, H, W)
TABLE = [("data", 3, 48, 48), ("conv1", 16, 24, 24), ("conv2_2_sum", 24, 12, 12),
         ("conv3_2_sum", 32, 6, 6), ("conv4_2_sum", 64, 3, 3)]
N_WEIGHTS_FOLDED = 262330          # every learnable value once BatchNorm is folded


@pytest.fixture(scope="module")
def deploy_net(caffe, tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "deploy.prototxt"
    write_text(path, ln.deploy_from_train(read_net(TRAIN_PROTOTXT[1])))
    return caffe.Net(str(path), caffe.TEST), path


def test_blob_shapes_follow_the_architecture_table(deploy_net):
    net, _ = deploy_net
    for name, c, h, w in TABLE:
        assert net.blobs[name].data.shape == (1, c, h, w), name
    assert net.blobs["fc1"].data.shape == (1, 256)
    assert net.blobs["fc2"].data.shape == (1, 10)
    types = {l.type for l in net.layers}
    assert "ConvolutionDepthwise" in types
    dw = [n for n, l in zip(net._layer_names, net.layers) if l.type == "ConvolutionDepthwise"]
    assert len(dw) == 6
    # expansion t = 6 in every bottleneck
    assert net.blobs["conv2_1_expand"].data.shape[1] == 16 * 6
    assert net.blobs["conv4_2_expand"].data.shape[1] == 64 * 6


def test_forward_flops_counts_the_multiply_adds_by_hand(caffe, tmp_path):
    """conv 3->4 3x3 on 8x8 (6x6 out), a 3x3 depthwise on those 4 channels with
    pad 1 (6x6 out), then 144 -> 10 fully connected, for a batch of 2."""
    from facecascade.nets import forward_flops
    path = tmp_path / "net.prototxt"
    path.write_text("""layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "c" top: "c" }
layer { name: "dw" type: "ConvolutionDepthwise" bottom: "c" top: "d"
  convolution_param { num_output: 4 group: 4 kernel_size: 3 pad: 1 } }
layer { name: "fc" type: "InnerProduct" bottom: "d" top: "f" inner_product_param { num_output: 10 } }""")
    net = caffe.Net(str(path), caffe.TEST)
    per_image = 4 * 6 * 6 * (3 * 3 * 3) + 4 * 6 * 6 * (3 * 3) + 10 * 144
    assert forward_flops(net) == 2 * 2 * per_image


def test_both_levels_share_one_architecture(caffe):
    l1, l2 = read_net(TRAIN_PROTOTXT[1]), read_net(TRAIN_PROTOTXT[2])
    def strip(net):
        return [(l.name, l.type, tuple(l.bottom), tuple(l.top)) for l in net.layer]
    assert strip(l1) == strip(l2)


def test_folding_batchnorm_is_exact(caffe, deploy_net, tmp_path, rng):
    net, path = deploy_net
    for name, blobs in net.params.items():          # random weights and statistics
        for b in blobs:
            b.data[...] = rng.uniform(0.5, 1.5, b.data.shape) if "_bn" in name else rng.normal(0, 0.2, b.data.shape)
    x = rng.normal(0, 1, (4, 3, 48, 48)).astype(np.float32)
    net.blobs["data"].reshape(*x.shape)
    net.blobs["data"].data[...] = x
    ref = net.forward()["fc2"].copy()
    folded, weights = ln.fold_batchnorm(read_net(path), ln.net_weights(net))
    assert not any(l.type in ("BatchNorm", "Scale") for l in folded.layer)
    ln.save_caffemodel(folded, weights, tmp_path / "folded.caffemodel")
    write_text(tmp_path / "folded.prototxt", folded)
    fnet = caffe.Net(str(tmp_path / "folded.prototxt"), str(tmp_path / "folded.caffemodel"), caffe.TEST)
    fnet.blobs["data"].reshape(*x.shape)
    fnet.blobs["data"].data[...] = x
    np.testing.assert_allclose(fnet.forward()["fc2"], ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


@pytest.mark.parametrize("level", [1, 2])
def test_shipped_model_is_the_folded_deploy_of_the_train_prototxt(caffe, level, tmp_path):
    deploy_path, model_path = SHIPPED[f"l{level}"]
    shipped = read_net(deploy_path)
    derived = ln.deploy_from_train(read_net(TRAIN_PROTOTXT[level]))
    net = caffe.Net(str(write_and_return(tmp_path / "d.prototxt", derived)), caffe.TEST)
    folded, _ = ln.fold_batchnorm(derived, ln.net_weights(net))
    def as_tuple(n):
        return [(l.name, l.type, tuple(l.bottom), tuple(l.top)) for l in n.layer]
    assert as_tuple(shipped) == as_tuple(folded)
    model = caffe.Net(str(deploy_path), str(model_path), caffe.TEST)
    n_weights = sum(b.data.size for blobs in model.params.values() for b in blobs)
    assert n_weights == N_WEIGHTS_FOLDED
    # float32 weights plus a few KB of layer definitions
    assert N_WEIGHTS_FOLDED * 4 < os.path.getsize(model_path) < N_WEIGHTS_FOLDED * 4 + 8192


def write_and_return(path, net):
    write_text(path, net)
    return path


def test_pycaffe_and_opencv_dnn_agree_within_half_a_pixel(caffe, test_data):
    records = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    from facecascade.images import read_image
    images = [read_image(r.image) for r in records]
    boxes = [geo.fit_box(r.points) for r in records]
    a = LandmarkCascade.from_shipped(backend="caffe").predict_batch(images, boxes)
    b = LandmarkCascade.from_shipped(backend="opencv").predict_batch(images, boxes)
    for ra, rb in zip(a, b):
        assert np.abs(ra.l1 - rb.l1).max() < 0.5
        assert np.abs(ra.l2 - rb.l2).max() < 0.5


def test_level_1_margin_follows_where_the_box_came_from(caffe, test_data):
    """A list's box gets the model card's margin; our MTCNN's (WIDER-style, larger) gets
    DETECTOR_BOX_MARGIN, which the demo scripts pass for detector boxes."""
    from facecascade.cascade import DETECTOR_BOX_MARGIN
    from facecascade.images import read_image
    r = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")[0]
    img, box = read_image(r.image), geo.fit_box(r.points)
    lc = LandmarkCascade.from_shipped(backend="caffe")
    side = box[2] - box[0]
    assert lc.predict(img, box).l1_region.width == pytest.approx(side * (1 + 2 * lc.box_margin))
    got = lc.predict(img, box, margin=DETECTOR_BOX_MARGIN).l1_region
    assert got.width == pytest.approx(side * (1 + 2 * DETECTOR_BOX_MARGIN))
    assert (got.left + got.width / 2, got.top + got.height / 2) == pytest.approx(
        ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))


@pytest.mark.parametrize("face_px", [24, 40])
def test_cascade_keeps_the_face_scale_on_a_small_face_in_a_large_photo(caffe, test_data, face_px):
    """A face of face_px in a 1280x960 photo, as the detector hands them over in a
    crowd: level 2's crop follows level 1's points, not the photo's size (a floor
    of 5 % of the photo made it 128 px, five faces wide, and the refined points
    came out far off: bench/landmark_face_size.py, docs/RESULTS.md "Landmarks on small faces")."""
    import cv2

    from facecascade.images import read_image
    lc = LandmarkCascade.from_shipped(backend="caffe")
    for r in read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt"):
        img = read_image(r.image)
        box = geo.fit_box(r.points)
        s = face_px / (box[2] - box[0])
        small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        photo = np.full((960, 1280, 3), 127, np.uint8)
        x0, y0 = 600, 400
        photo[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        pts = (np.asarray(r.points) + 0.5) * s - 0.5 + [x0, y0]   # pixel centres scale about -0.5
        small_box = geo.fit_box(pts)
        res = lc.predict(photo, small_box)
        assert res.l2_region.width < 1.5 * (small_box[2] - small_box[0]), r.image
        nme = np.linalg.norm(res.l2 - pts, axis=1).mean() / np.linalg.norm(pts[0] - pts[1])
        assert nme < 0.25, f"{r.image}: level-2 points {nme:.2f} eye distances off at {face_px} px"


def test_a_second_level_2_pass_runs_level_2_on_its_own_points(caffe, test_data):
    records = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    from facecascade.images import read_image
    images = [read_image(r.image) for r in records]
    # the axis-aligned level-2 crop, rebuilt by hand below (the shipped card turns it upright)
    # (and level 1 alone, without the card's any-angle first guess, and the second pass's own
    # points, not the mean of both: level 2 is the subject)
    once = LandmarkCascade.from_shipped(backend="caffe", l2_passes=1, l2_derotate=False, l1_any_angle=False)
    twice = LandmarkCascade.from_shipped(backend="caffe", l2_passes=2, l2_derotate=False, l1_any_angle=False,
                                         l2_mean_of_passes=False)
    # predict_batch runs a batch of 4 and predict a batch of 1: BLAS may take other kernels
    # (OpenBLAS picks them by batch shape and by OPENBLAS_CORETYPE), so the points agree to
    # float32 rounding, not bit for bit: 1e-3 px is ~1e-5 of these images' sides.
    for img, r1 in zip(images, once.predict_batch(images)):
        r2 = twice.predict(img)
        np.testing.assert_allclose(r2.l1, r1.l1, rtol=0, atol=1e-3)
        region, _ = geo.level2_region(r1.l2, img.shape[1], img.shape[0], once.l2_half_factor, once.l2_scale)
        got = r2.l2_region
        assert (got.left, got.top, got.width, got.height) == pytest.approx(
            (region.left, region.top, region.width, region.height), abs=1e-2)
        np.testing.assert_allclose(r2.l2, region.from_unit(once._run(once.l2, geo.crop(img, region)[None])[0]),
                                   rtol=0, atol=1e-2)
    with pytest.raises(ValueError, match="l2_passes"):
        LandmarkCascade.from_shipped(backend="caffe", l2_passes=0)


def test_the_shipped_points_are_the_mean_of_both_level_2_passes(caffe, test_data):
    """Card key l2_mean_of_passes: the cascade's points are the mean of its level-2
    passes' points, the second pass cropping around the first pass's own points."""
    from facecascade.images import read_image
    records = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    shipped = LandmarkCascade.from_shipped(backend="caffe")
    assert shipped.l2_mean_of_passes and shipped.l2_passes == 2
    first = LandmarkCascade.from_shipped(backend="caffe", l2_passes=1)
    last = LandmarkCascade.from_shipped(backend="caffe", l2_mean_of_passes=False)
    for r in records:
        img = read_image(r.image)
        a, b, got = first.predict(img).l2, last.predict(img).l2, shipped.predict(img).l2
        assert np.abs(a - b).max() > 0.01, r.image       # the passes differ ...
        np.testing.assert_allclose(got, (a + b) / 2, rtol=0, atol=1e-6)   # ... and the points are their mean


def test_the_first_level_2_pass_runs_the_cards_first_pass_net(caffe, test_data):
    """Card key l2_first_pass: the first level-2 pass runs the net the card names
    (3_demo/Data/l2_robust), on the crop the shipped level 2 would get."""
    from facecascade.images import read_image
    from facecascade.paths import DEMO_DATA
    from facecascade.runtime import load_net
    records = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    first = LandmarkCascade.from_shipped(backend="caffe", l2_passes=1)
    plain = LandmarkCascade.from_shipped(backend="caffe", l2_passes=1, l2_first_pass=False)
    assert first.l2_first_pass is not None and plain.l2_first_pass is None
    robust = load_net(DEMO_DATA / "l2_robust_deploy.prototxt", DEMO_DATA / "l2_robust.caffemodel", "caffe")
    for r in records:
        img = read_image(r.image)
        a, b = first.predict(img), plain.predict(img)
        np.testing.assert_allclose(a.l1, b.l1, rtol=0, atol=1e-9)        # the same level 1, the same crop
        m, *_ = geo.level2_crop(a.l1, img.shape[1], img.shape[0], first.l2_half_factor, first.l2_scale,
                                level1_side=max(a.l1_region.width, a.l1_region.height), derotate=True)
        want = geo.unit_to_image(m, first._run(robust, geo.warp(img, m, geo.NET_INPUT)[None])[0])
        np.testing.assert_allclose(a.l2, want, rtol=0, atol=1e-3)
        assert np.abs(a.l2 - b.l2).max() > 1e-3, r.image                  # another net than level 2


def test_short_training_on_real_images_lowers_the_loss(caffe, tmp_path, test_data):
    """256 augmented samples of 4 real faces, 80 Adam steps of batch 16: the
    held-out loss (the same faces, unaugmented views) must fall by half."""
    from facecascade import datagen
    recs = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    for r in recs:
        r.box = geo.fit_box(r.points)
    data = tmp_path / "Data"
    datagen.generate(recs, data, "l1_train.txt", 1, datagen.AugmentConfig(samples_per_face=64), seed=0,
                     progress=False)
    datagen.generate(recs, data, "l1_test.txt", 1, datagen.AugmentConfig(
        samples_per_face=4, flip=False, max_rotation=0, scale_jitter=0, shift_jitter=0), seed=1, progress=False)
    net = ln.train_net("l1", data / "l1_train.txt", data / "l1_test.txt", root_folder=f"{data}/",
                       batch=16, test_batch=16)
    write_text(tmp_path / "net.prototxt", net)
    (tmp_path / "solver.prototxt").write_text(
        'net: "net.prototxt"\ntype: "Adam"\nbase_lr: 0.001\nmomentum: 0.9\nmomentum2: 0.999\n'
        'weight_decay: 0.0004\nlr_policy: "fixed"\nmax_iter: 80\ntest_iter: 1\ntest_interval: 40\n'
        'display: 20\nsnapshot: 40\nsnapshot_prefix: "l1"\nrandom_seed: 3\n')
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "1_level_1/Code/2_train/train.py"), "--solver",
         str(tmp_path / "solver.prototxt"), "--out", str(tmp_path / "run"), "--bn-batches", "8"],
        capture_output=True, text=True, timeout=600, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    import csv
    import json
    with open(tmp_path / "run/train_log.csv") as f:
        rows = list(csv.DictReader(f))
    losses = [float(r["train_loss"]) for r in rows]
    assert losses[-1] < 0.5 * losses[0], losses
    assert "images/s" in proc.stdout
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["iter"] == 80 and np.isfinite(summary["test_loss"])
    assert (tmp_path / "run/loss.png").stat().st_size > 0
    assert (tmp_path / "run/model/l1_folded.caffemodel").is_file()
    assert sorted(p.name for p in (tmp_path / "run/snapshot").glob("*.caffemodel"))[-1] == "l1_iter_80.caffemodel"


def test_flush_denormals_zeroes_subnormal_weights_only_and_keeps_outputs(caffe, tmp_path, rng):
    from facecascade.nets import flush_denormals, subnormal_weights
    path = tmp_path / "net.prototxt"
    path.write_text("""layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 4 dim: 64 } } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "f" inner_product_param { num_output: 32 } }""")
    net = caffe.Net(str(path), caffe.TEST)
    w = rng.normal(size=(32, 64)).astype(np.float32)
    w[:, :20] = 1e-40                                   # subnormal in float32: dead inputs' weights
    w[0, 0] = -3e-39
    w[1, 1] = np.finfo(np.float32).tiny                 # the smallest normal float stays
    net.params["fc"][0].data[...] = w
    net.blobs["data"].data[...] = rng.normal(size=(4, 64))
    before = net.forward()["f"].copy()
    assert subnormal_weights(net) == {"fc": (32 * 20 - 1, 32 * 64 + 32)}
    assert flush_denormals(net) == 32 * 20 - 1
    assert subnormal_weights(net) == {}
    after = net.params["fc"][0].data
    assert np.all(after[:, :20][after[:, :20] != 0] == np.finfo(np.float32).tiny)
    np.testing.assert_array_equal(after[:, 20:], w[:, 20:])
    np.testing.assert_array_equal(net.forward()["f"], before)
    assert flush_denormals(net) == 0


@pytest.mark.parametrize("prototxt, model", [
    ("mtcnn/model/det1.prototxt", "mtcnn/model/det1.caffemodel"),
    ("mtcnn/model/det2.prototxt", "mtcnn/model/det2.caffemodel"),
    ("mtcnn/model/det3.prototxt", "mtcnn/model/det3.caffemodel"),
    ("3_demo/Data/l1_deploy.prototxt", "3_demo/Data/l1.caffemodel"),
    ("3_demo/Data/l2_deploy.prototxt", "3_demo/Data/l2.caffemodel"),
])
def test_shipped_models_hold_no_subnormal_weights(caffe, prototxt, model):
    """They cost a slow path per operand on many x86 cores (see nets.flush_denormals)."""
    from facecascade.nets import subnormal_weights
    net = caffe.Net(str(REPO_ROOT / prototxt), str(REPO_ROOT / model), caffe.TEST)
    assert subnormal_weights(net) == {}
