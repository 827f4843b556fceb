"""Real Caffe training of the MTCNN nets: the multi-task loss masks work and a
short run on a few hundred real samples lowers the loss."""
import numpy as np
import pytest

from facecascade.images import read_image
from facecascade.mtcnn import augment, batches, netspec, pyramid, trainer, trainer_cli
from facecascade.mtcnn import sampling as ms
from facecascade.wider import read_wider


def make_solver(caffe, tmp_path, net, batch, lr=0.01):
    train_pt, _ = netspec.write_prototxts(caffe, net, tmp_path, batch)
    solver_pt = netspec.write_solver(caffe, tmp_path / "solver.prototxt", train_pt, lr, 1000, [1000], tmp_path / net)
    return caffe.get_solver(str(solver_pt))


def test_masked_samples_give_no_loss_and_no_gradient(caffe, tmp_path, rng):
    solver = make_solver(caffe, tmp_path, "onet", 4)
    net = solver.net
    net.blobs["data"].data[...] = rng.normal(size=net.blobs["data"].data.shape)
    net.blobs["label"].data[...] = [-1, -1, -1, -1]     # no pos/neg: parts and landmarks only
    net.blobs["roi_mask"].data[...] = 0
    net.blobs["roi"].data[...] = 0
    net.blobs["pts_mask"].data[...] = 0
    net.blobs["pts"].data[...] = 0
    net.forward()
    net.backward()
    assert float(net.blobs["box_loss"].data) == 0 and float(net.blobs["pts_loss"].data) == 0
    assert np.all(net.blobs["fc6-2"].diff == 0) and np.all(net.blobs["fc6-3"].diff == 0)
    # one landmark sample switched on: only its row gets a gradient
    net.blobs["pts_mask"].data[2] = 1
    net.blobs["pts"].data[2] = 0.5
    net.forward()
    net.backward()
    d = np.abs(net.blobs["fc6-3"].diff).sum(axis=1)
    assert d[2] > 0 and d[[0, 1, 3]].sum() == 0


def test_zero_landmark_weight_leaves_the_landmark_head_without_gradient(caffe, tmp_path, rng):
    # train_onet.py --pts-weight 0 (round 9): face score and box train, the landmark head
    # does not (it is fitted afterwards by refit_landmark_head.py)
    train_pt, _ = netspec.write_prototxts(caffe, "onet", tmp_path, 4, loss_weights=(1.0, 1.0, 0.0))
    net = caffe.Net(str(train_pt), caffe.TRAIN)
    net.blobs["data"].data[...] = rng.normal(size=net.blobs["data"].data.shape)
    net.blobs["label"].data[...] = [1, 0, -1, -1]
    net.blobs["roi_mask"].data[...] = [[1] * 4, [0] * 4, [1] * 4, [0] * 4]
    net.blobs["roi"].data[...] = 0.1
    net.blobs["pts_mask"].data[...] = [[0] * 10, [0] * 10, [0] * 10, [1] * 10]
    net.blobs["pts"].data[...] = 0.5
    net.forward()
    net.backward()
    assert float(net.blobs["pts_loss"].data) > 0              # computed, but weighs nothing
    assert np.all(net.params["fc6-3"][0].diff == 0)
    assert np.abs(net.params["fc6-2"][0].diff).sum() > 0 and np.abs(net.params["fc6-1"][0].diff).sum() > 0


def test_dropout_acts_in_the_training_net_only(caffe, tmp_path, rng):
    plain_pt, deploy_pt = netspec.write_prototxts(caffe, "onet", tmp_path / "plain", 64)
    drop_pt, drop_deploy_pt = netspec.write_prototxts(caffe, "onet", tmp_path / "drop", 64, dropout=0.5)
    assert drop_deploy_pt.read_text() == deploy_pt.read_text()
    plain, drop = caffe.Net(str(plain_pt), caffe.TRAIN), caffe.Net(str(drop_pt), caffe.TRAIN)
    for name in plain.params:        # same parameters: a dropout net's weights load into deploy
        for a, b in zip(plain.params[name], drop.params[name]):
            b.data[...] = a.data
    x = rng.normal(size=plain.blobs["data"].data.shape)
    for net in (plain, drop):
        net.blobs["data"].data[...] = x
        net.forward()
    kept = plain.blobs["conv5"].data != 0
    zeroed = (drop.blobs["conv5"].data == 0) & kept
    assert 0.4 < zeroed.sum() / kept.sum() < 0.6                # about half the features dropped ...
    scaled = ~zeroed & kept
    np.testing.assert_allclose(drop.blobs["conv5"].data[scaled], 2 * plain.blobs["conv5"].data[scaled],
                               rtol=1e-5)                      # ... and the rest scaled by 1 / (1 - 0.5)
    assert not np.allclose(drop.blobs["fc6-1"].data, plain.blobs["fc6-1"].data)
    with pytest.raises(ValueError, match="P-Net"):
        netspec.write_prototxts(caffe, "pnet", tmp_path / "pnet", 8, dropout=0.25)


def test_ohem_labels_keep_the_hardest_labelled_samples():
    # cross-entropies by hand: log(1 + e^-3) = 0.049, log(1 + e^2) = 2.127, unlabelled,
    # log(1 + e^1) = 1.313, log(1 + e^-2) = 0.127
    scores = np.array([[0, 3], [0, 2], [5, -5], [1, 0], [2, 0]], np.float32).reshape(5, 2, 1, 1)
    label = np.array([1, 0, -1, 1, 0], np.float32)
    assert batches.ohem_labels(scores, label, 0.7).tolist() == [-1, 0, -1, 1, 0]      # ceil(0.7 * 4) = 3 kept
    assert batches.ohem_labels(scores, label, 0.5).tolist() == [-1, 0, -1, 1, -1]
    assert batches.ohem_labels(scores, label, 1.0).tolist() == label.tolist()
    assert batches.ohem_labels(scores, np.full(5, -1, np.float32), 0.7).tolist() == [-1] * 5
    # equal losses: the earlier sample is kept
    assert batches.ohem_labels(np.zeros((3, 2)), np.array([0, 1, 0]), 0.5).tolist() == [0, 1, -1]


class _FixedBatch:
    def __init__(self, batch):
        self.batch = batch

    def next(self):
        return self.batch


def test_ohem_step_trains_the_face_score_on_the_hard_samples_only(caffe, tmp_path, rng):
    solver = make_solver(caffe, tmp_path, "rnet", 8, lr=0.0)
    net = solver.net
    label = np.array([1, 0, -1, 0, 1, 0, -1, 0], np.float32)
    batch = {"data": rng.normal(size=(8, 3, 24, 24)).astype(np.float32), "label": label,
             "roi": np.zeros((8, 4), np.float32), "roi_mask": np.zeros((8, 4), np.float32)}
    hist = trainer.train(solver, _FixedBatch(batch), 1, ohem=0.5, score_blob="fc5-1")
    kept = net.blobs["label"].data.copy()
    assert (kept >= 0).sum() == 3                                  # ceil(0.5 * 6 labelled)
    # the kept ones are the highest-loss samples of this net's own scores, and Caffe's
    # face loss is their mean cross-entropy
    z = net.blobs["fc5-1"].data.astype(np.float64)
    ce = np.log(np.exp(z).sum(axis=1)) - z[np.arange(8), np.maximum(label, 0).astype(int)]
    labelled = np.nonzero(label >= 0)[0]
    hardest = labelled[np.argsort(-ce[labelled])[:3]]
    assert sorted(np.nonzero(kept >= 0)[0].tolist()) == sorted(hardest.tolist())
    assert hist[0][1] == pytest.approx(ce[hardest].mean(), rel=1e-4)
    with pytest.raises(ValueError, match="score_blob"):
        trainer.train(solver, _FixedBatch(batch), 1, ohem=0.7)


def test_ctrl_c_during_training_saves_the_last_steps_weights(caffe, tmp_path, rng):
    """Interrupted in its 4th batch, train() saves the weights of step 3 (what the
    trainers' save() writes atomically to --out/NET.caffemodel), then lets the
    KeyboardInterrupt through; a net loaded from that file has those weights."""
    solver = make_solver(caffe, tmp_path, "rnet", 8, lr=0.01)
    batch = {"data": rng.normal(size=(8, 3, 24, 24)).astype(np.float32),
             "label": np.array([1, 0, 1, 0, 1, 0, 1, 0], np.float32),
             "roi": np.zeros((8, 4), np.float32), "roi_mask": np.zeros((8, 4), np.float32)}

    class StopsInFourthBatch(_FixedBatch):
        calls = 0

        def next(self):
            self.calls += 1
            if self.calls == 4:
                raise KeyboardInterrupt
            return super().next()

    saved, lines = [], []

    def save(it):
        solver.net.save(str(tmp_path / "rnet.caffemodel"))
        saved.append(it)

    before = solver.net.params["conv1"][0].data.copy()
    with pytest.raises(KeyboardInterrupt):
        trainer.train(solver, StopsInFourthBatch(batch), 10, log=lines.append, save=save, save_every=1000)
    assert saved == [3] and solver.iter == 3 and "interrupted after iter 3: weights saved" in lines
    reloaded = caffe.Net(str(tmp_path / "rnet_train.prototxt"), str(tmp_path / "rnet.caffemodel"), caffe.TEST)
    after = solver.net.params["conv1"][0].data
    assert not np.array_equal(after, before)
    np.testing.assert_array_equal(reloaded.params["conv1"][0].data, after)


@pytest.mark.parametrize("net, shipped", [("pnet", "det1"), ("rnet", "det2"), ("onet", "det3")])
def test_shipped_deploy_nets_are_the_generated_ones_with_prelu_out_of_place(caffe, tmp_path, net, shipped):
    from facecascade.paths import REPO_ROOT
    from facecascade.prototxt import read_net
    train_pt, deploy_pt = netspec.write_prototxts(caffe, net, tmp_path, 8)
    assert deploy_pt.read_text() == (REPO_ROOT / "mtcnn/model" / f"{shipped}.prototxt").read_text()
    # in-place PReLU copies its input on every forward (for backward): deploy nets avoid it,
    # training nets keep it (less memory)
    for path, in_place in ((deploy_pt, False), (train_pt, True)):
        prelus = [layer for layer in read_net(path).layer if layer.type == "PReLU"]
        assert prelus and all((list(l.bottom) == list(l.top)) == in_place for l in prelus)


# output channels of each layer with parameters at width 1 (the reference nets)
REFERENCE_CHANNELS = {"rnet": {"conv1": 28, "conv2": 48, "conv3": 64, "conv4": 128, "fc5-1": 2, "fc5-2": 4},
                      "onet": {"conv1": 32, "conv2": 64, "conv3": 64, "conv4": 128, "conv5": 256,
                               "fc6-1": 2, "fc6-2": 4, "fc6-3": 10}}
HEAD_LAYERS = {"fc5-1", "fc5-2", "fc6-1", "fc6-2", "fc6-3"}


@pytest.mark.parametrize("net", ["rnet", "onet"])
def test_width_scales_the_trunk_and_keeps_the_heads(caffe, tmp_path, net):
    """--width 0.5: every trunk layer at half its channels, the heads unchanged."""
    for width in (1.0, 0.5):
        _, deploy_pt = netspec.write_prototxts(caffe, net, tmp_path / str(width), 8, width=width)
        model = caffe.Net(str(deploy_pt), caffe.TEST)
        got = {name: blobs[0].data.shape[0] for name, blobs in model.params.items() if "prelu" not in name}
        want = {name: c if name in HEAD_LAYERS or width == 1 else c // 2
                for name, c in REFERENCE_CHANNELS[net].items()}
        assert got == want


def test_detector_runs_slim_nets(caffe, tmp_path):
    """The detector reads its nets' widths from det*.prototxt: slim R-/O-Nets load and run."""
    import shutil

    import cv2
    import skimage.data

    from facecascade.mtcnn import MTCNN, SHIPPED_MODEL_DIR
    shutil.copy(SHIPPED_MODEL_DIR / "det1.prototxt", tmp_path)
    shutil.copy(SHIPPED_MODEL_DIR / "det1.caffemodel", tmp_path)
    for net, name in (("rnet", "det2"), ("onet", "det3")):
        _, deploy_pt = netspec.write_prototxts(caffe, net, tmp_path / net, 8, width=0.5)
        shutil.copy(deploy_pt, tmp_path / f"{name}.prototxt")
        caffe.Net(str(deploy_pt), caffe.TEST).save(str(tmp_path / f"{name}.caffemodel"))   # xavier weights
    faces = MTCNN(tmp_path, thresholds=(0.6, 0.0, 0.0)).detect(
        cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR))
    assert len(faces) > 0 and faces.points.shape == (len(faces), 5, 2)


@pytest.mark.slow
def test_short_pnet_training_lowers_loss(caffe, shared_data, tmp_path):
    rng = np.random.default_rng(0)
    recs = read_wider(shared_data / "wider_train" / "wider_train_bbx_gt.txt")[:12]
    b = ms.SampleBuilder(12)
    for r in recs:
        img = read_image(shared_data / "wider_train" / "images" / r.name)
        ms.sample_wider_image(b, img, r.boxes, rng, n_neg=20, n_jitter=8)
    samples = b.build()
    assert 200 <= len(samples) <= 3000, samples.counts()
    caffe.set_random_seed(0)
    solver = make_solver(caffe, tmp_path, "pnet", 64, lr=0.01)
    sampler = batches.BatchSampler(samples, 64, {ms.NEG: 3, ms.POS: 1, ms.PART: 1}, rng)
    hist = np.array(trainer.train(solver, sampler, 300))
    first, last = hist[:30, 1:3].mean(axis=0), hist[-30:, 1:3].mean(axis=0)
    assert last[0] < 0.8 * first[0], (first, last)   # classification loss falls
    assert last[1] < first[1], (first, last)         # box regression loss falls


def test_roi_iou_equals_box_iou(rng):
    from facecascade.boxes import iou_matrix, regression_targets
    corner = rng.uniform(0, 50, size=(30, 2))
    side = rng.uniform(10, 40, size=(30, 1))
    crops = np.hstack([corner, corner + side])
    gts = crops + rng.normal(0, 6, size=(30, 4))
    got = ms.roi_iou(regression_targets(crops, gts))
    np.testing.assert_allclose(got, np.diag(iou_matrix(crops, gts)), atol=1e-12)
    # hand case: the face is the crop shifted right by half its side -> IoU 0.5 / 1.5
    assert ms.roi_iou([[0.5, 0, 0.5, 0]])[0] == pytest.approx(1 / 3)


def test_pos_iou_labels_close_parts_as_faces(rng):
    # four samples: negative, positive, part at IoU 1/3 (shift 0.5), part at IoU ~0.57 (shift 0.27)
    n = 4
    roi = np.array([[0, 0, 0, 0], [0.05, 0, 0.05, 0], [0.5, 0, 0.5, 0], [0.27, 0, 0.27, 0]], np.float32)
    samples = ms.SampleSet(np.zeros((n, 12, 12, 3), np.uint8), np.array([ms.NEG, ms.POS, ms.PART, ms.PART], np.int8),
                           roi, np.zeros((n, 10), np.float32), np.ones(n, np.uint8))
    shares = {ms.NEG: 1, ms.POS: 1, ms.PART: 2}
    paper = batches.BatchSampler(samples, 4, shares, rng, augment=False)
    loose = batches.BatchSampler(samples, 4, shares, rng, augment=False, pos_iou=0.5)
    assert paper.face_label.tolist() == [False, True, False, False]
    assert loose.face_label.tolist() == [False, True, False, True]
    # in the batches: the IoU-0.57 part is labelled 1 only with pos_iou 0.5, the IoU-1/3 part never
    for sampler, want in ((paper, {0: 0, 1: 1, 2: -1, 3: -1}), (loose, {0: 0, 1: 1, 2: -1, 3: 1})):
        got = {}
        for _ in range(10):
            b = sampler.next()
            # augment=False: each row's roi identifies its sample (the negative's is all zero)
            which = [int(np.argmin(np.abs(roi - r).sum(axis=1))) for r in b["roi"]]
            got.update(zip(which, b["label"].astype(int).tolist()))
        assert got == want


def test_degrade_resolution_softens_crops_and_keeps_their_layout(rng):
    # a checkerboard of 1-px squares: all its energy is at the highest frequency
    board = ((np.indices((48, 48)).sum(axis=0) % 2) * 255).astype(np.uint8)
    crops = np.repeat(np.repeat(board[None, :, :, None], 3, axis=3), 8, axis=0)
    soft = augment.degrade_resolution(crops, rng, frac=(0.35, 0.85))
    assert soft.shape == crops.shape and soft.dtype == np.uint8
    contrast = np.abs(np.diff(soft.astype(int), axis=2)).mean(axis=(1, 2, 3))
    assert np.all(contrast < 0.5 * 255), contrast     # the 1-px detail is gone
    flat = np.full((4, 24, 24, 3), 77, np.uint8)        # a flat crop stays as it is
    assert np.array_equal(augment.degrade_resolution(flat, rng), flat)


def test_low_res_share_degrades_that_share_of_each_batch(rng):
    n = 200
    board = ((np.indices((24, 24)).sum(axis=0) % 2) * 255).astype(np.uint8)
    images = np.repeat(np.repeat(board[None, :, :, None], 3, axis=3), n, axis=0)
    kinds = np.full(n, ms.NEG, np.uint8)
    zeros4, zeros10 = np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32)
    samples = ms.SampleSet(images, kinds, zeros4, zeros10, np.zeros(n, np.uint8))
    # (a crop drawn at nearly its full side stays sharp: 0.35-1.0 leaves a few)
    for share, lo, hi in ((0.0, 0, 0), (0.5, 0.3, 0.7), (1.0, 0.9, 1)):
        sampler = batches.BatchSampler(samples, 100, {ms.NEG: 1}, np.random.default_rng(1), low_res=share)
        x = sampler.next()["data"]
        # a checkerboard crop (flipped or not) keeps a mean absolute step of 2 in normalised units
        steps = np.abs(np.diff(x, axis=3)).mean(axis=(1, 2, 3))
        softened = np.mean(steps < 1.0)
        assert lo <= softened <= hi, (share, softened)


def test_occlude_pastes_one_rectangle_of_another_crop(rng):
    # crop i is filled with the value i: a pasted pixel names the crop it came from
    n, size = 12, 24
    crops = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] * 10, size * size * 3).reshape(n, size, size, 3)
    hidden = augment.occlude(crops, rng)
    assert hidden.shape == crops.shape and np.array_equal(crops[:, 0, 0, 0], np.arange(n) * 10)  # input kept
    for i in range(n):
        changed = np.any(hidden[i] != crops[i], axis=2)
        ys, xs = np.nonzero(changed)
        assert len(ys), i                                      # every crop got an occluder ...
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert changed.sum() == h * w                          # ... one solid rectangle
        assert round(0.2 * size) <= h <= round(0.5 * size) and round(0.2 * size) <= w <= round(0.5 * size)
        donor = np.unique(hidden[i][changed])
        assert len(donor) == 1 and donor[0] != i * 10          # all of it from one other crop
    assert np.array_equal(augment.occlude(crops[:1], rng), crops[:1])   # alone, a crop has no donor


def test_occlusion_share_hides_faces_and_negatives_but_never_landmark_crops():
    n = 400
    kinds = np.array([ms.NEG, ms.POS, ms.PART, ms.LANDMARK] * (n // 4), np.int8)
    # uniform crops of different values: a crop stays uniform unless occluded
    # (flips and the brightness / contrast jitter keep it uniform)
    images = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None, None] % 251, 48 * 48 * 3).reshape(n, 48, 48, 3)
    samples = ms.SampleSet(images, kinds, np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32),
                           np.ones(n, np.uint8))
    shares = {ms.NEG: 1, ms.POS: 1, ms.PART: 1, ms.LANDMARK: 1}
    for share, lo, hi in ((0.0, 0, 0), (0.5, 0.35, 0.65), (1.0, 0.95, 1)):
        b = batches.BatchSampler(samples, 200, shares, np.random.default_rng(2), occlusion=share).next()
        mixed = b["data"].reshape(200, -1).std(axis=1) > 1e-6
        landmark = b["pts_mask"][:, 0] == 1
        assert landmark.sum() == 50 and not mixed[landmark].any()
        assert lo <= mixed[~landmark].mean() <= hi, (share, mixed[~landmark].mean())


def test_blur_weight_draws_heavily_blurred_faces_that_many_times_as_often():
    """Half the positives and parts are of heavily blurred faces: weight 3 gives them
    3/4 of those draws, weight 1 half, and weight 1 draws what the sampler drew before
    the option (the same generator calls)."""
    n = 800
    kinds = np.array([ms.NEG, ms.POS, ms.PART, ms.NEG] * (n // 4), np.int8)
    blur = np.where(kinds == ms.NEG, -1, np.arange(n) // 4 % 2 * 2).astype(np.int8)   # faces alternate 0, 2
    images = np.repeat((np.arange(n) % 251).astype(np.uint8)[:, None, None, None], 24 * 24 * 3).reshape(n, 24, 24, 3)
    samples = ms.SampleSet(images, kinds, np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32),
                           np.ones(n, np.uint8), blur)
    shares = {ms.NEG: 1, ms.POS: 1, ms.PART: 1}

    def heavy_share(weight, seed=0):
        sampler = batches.BatchSampler(samples, 300, shares, np.random.default_rng(seed), augment=False,
                                  blur_weight=weight)
        drawn = np.concatenate([sampler_indices(sampler) for _ in range(40)])
        return np.mean(blur[drawn] == 2)

    def sampler_indices(sampler):
        state = sampler.rng.bit_generator.state
        batch = sampler.next()
        sampler.rng.bit_generator.state = state     # the same draws again, to read their indices
        idx = np.concatenate([sampler.rng.choice(sampler.pools[k], size=c, p=sampler.pool_p.get(k))
                              for k, c in sampler.count.items() if c])
        assert np.array_equal(pyramid.normalise(images[idx]), batch["data"])
        face = (kinds[idx] == ms.POS) | (kinds[idx] == ms.PART)
        return idx[face]

    assert heavy_share(1.0) == pytest.approx(0.5, abs=0.04)
    assert heavy_share(3.0) == pytest.approx(0.75, abs=0.04)
    assert heavy_share(0.0) == 0
    plain = batches.BatchSampler(samples, 300, shares, np.random.default_rng(5), augment=False)
    weight_1 = batches.BatchSampler(samples, 300, shares, np.random.default_rng(5), augment=False, blur_weight=1.0)
    assert np.array_equal(plain.next()["data"], weight_1.next()["data"])
    with pytest.raises(ValueError, match="blur_weight -1"):
        batches.BatchSampler(samples, 300, shares, np.random.default_rng(5), blur_weight=-1)


def test_false_neg_share_draws_that_share_of_negatives_from_the_false_boxes():
    """Each batch's negatives: the random ones, the mined ones (hard_neg_share) and the whole
    detector's false boxes (false_neg_share, in place of random ones); every negative's
    image tells which pool it came from.  Share 0 leaves the draws as they were."""
    n = 600
    kinds = np.array([ms.NEG] * 400 + [ms.POS] * 100 + [ms.PART] * 100, np.int8)
    hard = np.zeros(n, bool)
    hard[200:300] = True
    false = np.zeros(n, bool)
    false[300:400] = True
    pool_value = np.select([hard, false, kinds == ms.NEG], [1, 2, 0], 3).astype(np.uint8)  # 0 random, 1 mined, 2 false
    images = np.repeat(pool_value[:, None, None, None] * 50, 24 * 24 * 3).reshape(n, 24, 24, 3)
    samples = ms.SampleSet(images, kinds, np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32),
                           np.ones(n, np.uint8))
    shares = {ms.NEG: 3, ms.POS: 1, ms.PART: 1}

    def negatives_by_pool(**kw):
        sampler = batches.BatchSampler(samples, 100, shares, np.random.default_rng(7), augment=False, hard=hard,
                                  hard_neg_share=0.5, **kw)
        batch = sampler.next()
        neg = batch["label"] == 0
        value = np.round((batch["data"][neg, 0, 0, 0] / pyramid.SCALE + pyramid.MEAN) / 50).astype(int)
        return batch, np.bincount(value, minlength=3)

    plain, counts = negatives_by_pool()
    # without the false pool its samples are random negatives like the others
    assert counts[1] == 30 and counts[0] + counts[2] == 30 and counts[2] > 0
    with_false, counts = negatives_by_pool(false=false, false_neg_share=0.25)
    assert counts.tolist() == [15, 30, 15]
    off, _ = negatives_by_pool(false=false, false_neg_share=0.0)
    assert np.array_equal(off["data"], plain["data"])
    with pytest.raises(ValueError, match="no false-box negatives"):
        negatives_by_pool(false=np.zeros(n, bool), false_neg_share=0.25)
    with pytest.raises(ValueError, match="takes more than"):
        negatives_by_pool(false=false, false_neg_share=0.6)


def test_rotate_moves_points_and_box_centre_with_the_pixels(rng):
    # one bright dot per landmark and a bright square as the face: after the turn
    # each dot lies on its turned target, the square's centroid on the turned box's
    # centre, and the box keeps its size
    size = 48
    # points on pixel corners, so that a 2x2 dot is centred on each exactly
    pts = np.array([[15, 17, 33, 17, 24, 26, 17, 36, 31, 36]], np.float32) / size
    roi = np.array([[0.10, 0.05, -0.05, 0.00]], np.float32)       # box [0.10, 0.05, 0.95, 1.00]
    dots = np.zeros((1, size, size, 3), np.uint8)
    for x, y in pts.reshape(5, 2):
        dots[0, int(y * size) - 1:int(y * size) + 1, int(x * size) - 1:int(x * size) + 1] = 255
    square = np.zeros((1, size, size, 3), np.uint8)
    x1, y1, x2, y2 = ((roi[0] + [0, 0, 1, 1]) * size).round().astype(int)
    square[0, y1 + 8:y2 - 8, x1 + 8:x2 - 8] = 255                 # inside, so no border effects
    for _ in range(5):
        seed = int(rng.integers(1 << 30))
        turned_dots, roi_t, pts_t = augment.rotate(dots, roi, pts, np.random.default_rng(seed))
        turned_square, roi_t2, _ = augment.rotate(square, roi, pts, np.random.default_rng(seed))
        assert np.allclose(roi_t, roi_t2)
        for x, y in pts_t.reshape(5, 2) * size:
            patch = turned_dots[0, int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4, 0].astype(float)
            ys, xs = np.mgrid[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4] + 0.5
            assert patch.sum() > 0
            assert abs((patch * xs).sum() / patch.sum() - x) < 0.6 and abs((patch * ys).sum() / patch.sum() - y) < 0.6
        box = roi_t[0] + [0, 0, 1, 1]
        assert np.allclose(box[2:] - box[:2], [0.85, 0.95], atol=1e-5)      # size kept
        w = turned_square[0, :, :, 0].astype(float)
        ys, xs = np.mgrid[:size, :size] + 0.5
        centre = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum() / size
        assert np.allclose(centre, (box[:2] + box[2:]) / 2, atol=0.01), (centre, box)
    # no angle: nothing moves
    same, roi0, pts0 = augment.rotate(dots, roi, pts, rng, max_deg=0.0)
    assert np.array_equal(same, dots) and np.allclose(roi0, roi) and np.allclose(pts0, pts)


def test_rotation_share_turns_that_share_of_the_batch():
    # a crop bright in its top-left quarter only: turned by up to 20 degrees, some
    # pixels outside that quarter light up (mirrored borders included)
    n = 400
    kinds = np.array([ms.NEG, ms.POS, ms.PART, ms.LANDMARK] * (n // 4), np.int8)
    images = np.zeros((n, 24, 24, 3), np.uint8)
    images[:, :12, :12] = 200
    samples = ms.SampleSet(images, kinds, np.zeros((n, 4), np.float32), np.full((n, 10), 0.5, np.float32),
                           np.ones(n, np.uint8))
    shares = {ms.NEG: 1, ms.POS: 1, ms.PART: 1, ms.LANDMARK: 1}
    for share, lo, hi in ((0.0, 0, 0), (0.5, 0.35, 0.65), (1.0, 0.97, 1)):
        b = batches.BatchSampler(samples, 200, shares, np.random.default_rng(3), rotation=share).next()
        x = b["data"][:, 0]
        # flips move the quarter to the top-right: a crop is unturned when its
        # bottom half is uniform and its top half holds exactly two uniform quarters
        top_l, top_r, bottom = x[:, :12, :12], x[:, :12, 12:], x[:, 12:, :]
        unturned = np.array([t.std() < 1e-6 and r.std() < 1e-6 and m.std() < 1e-6
                             for t, r, m in zip(top_l, top_r, bottom)])
        assert lo <= 1 - unturned.mean() <= hi, (share, 1 - unturned.mean())
        assert np.allclose(b["pts"][b["pts_mask"] == 1], 0.5, atol=1e-5)   # the centre stays the centre


def test_until_a_time_past_midnight_is_tomorrow():
    import datetime

    late = datetime.datetime(2026, 11, 22, 23, 28)
    assert trainer.minutes_until("00:50", late) == 82
    assert trainer.minutes_until("23:58", late) == 30
    assert trainer.minutes_until("23:28", late) == 24 * 60     # now itself: the next one


def _short_pnet_run(tmp_path, samples_npz, name, *flags):
    """train_pnet.py's CLI on a few random samples; returns the final weights."""
    from facecascade.caffe_loader import import_caffe
    from facecascade.nets import net_weights
    out = tmp_path / name
    trainer_cli.training_cli("pnet", [], 10, 16, {ms.NEG: 3, ms.POS: 1, ms.PART: 1},
                    argv=["--data", str(samples_npz), "--batch", "16", "--save-every", "4", "--out", str(out), *flags])
    caffe = import_caffe()
    return net_weights(caffe.Net(str(out / "pnet_deploy.prototxt"), str(out / "pnet.caffemodel"), caffe.TEST)), out


def _random_pnet_samples(tmp_path, seed, n):
    """n random 12 px samples (negatives, faces, parts in turn) saved as random_12.npz."""
    rng = np.random.default_rng(seed)
    samples = ms.SampleSet(rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8),
                           np.array([ms.NEG, ms.POS, ms.PART] * (n // 3), np.int8),
                           rng.uniform(-0.3, 0.3, (n, 4)).astype(np.float32), np.zeros((n, 10), np.float32),
                           np.ones(n, np.uint8))
    npz = tmp_path / "random_12.npz"
    samples.save(npz)
    return npz


def test_phases_repeat_a_run_to_the_bit_with_the_lr_dropped_for_the_second(caffe, tmp_path):
    from facecascade.nets import weight_differences
    npz = _random_pnet_samples(tmp_path, seed=5, n=240)
    first, out = _short_pnet_run(tmp_path, npz, "first", "--phases", "5", "3")
    again, _ = _short_pnet_run(tmp_path, npz, "again", "--phases", "5", "3")
    other_seed, _ = _short_pnet_run(tmp_path, npz, "seed1", "--phases", "5", "3", "--seed", "1")
    assert sum(r["differing"] for r in weight_differences(first, again)) == 0
    assert sum(r["differing"] for r in weight_differences(first, other_seed)) > 1000
    log = (out / "train.log").read_text()
    assert "phases 5 + 3 iterations" in log.splitlines()[0]
    assert "lr -> 0.0001 after 5 iterations" in log and "--phases 5 3 repeats" in log
    assert np.loadtxt(out / "loss_history.txt")[:, 0].tolist() == list(range(1, 9))
    assert "base_lr: 0.0001" in (out / "pnet_solver_lr2.prototxt").read_text()
    assert "base_lr: 0.001" in (out / "pnet_solver.prototxt").read_text()
    with pytest.raises(SystemExit):
        _short_pnet_run(tmp_path, npz, "both", "--phases", "5", "3", "--minutes", "1")


def test_weight_differences_count_bits_and_flag_missing_or_reshaped_blobs():
    from facecascade.nets import weight_differences
    a = {"conv1": [np.array([[1.0, 0.0], [2.0, 3.0]], np.float32), np.array([0.5], np.float32)],
         "fc": [np.zeros((2, 3), np.float32)]}
    b = {"conv1": [np.array([[1.0, -0.0], [2.25, 3.0]], np.float32), np.array([0.5], np.float32)],
         "fc": [np.zeros((3, 2), np.float32)], "extra": [np.ones(4, np.float32)]}
    rows = {(r["layer"], r["blob"]): r for r in weight_differences(a, b)}
    assert rows[("conv1", 0)]["differing"] == 2                 # 0.0 against -0.0 counts, 2.0 against 2.25
    assert rows[("conv1", 0)]["max_abs_diff"] == 0.25
    assert rows[("conv1", 1)]["differing"] == 0 and rows[("conv1", 1)]["max_abs_diff"] == 0.0
    assert rows[("fc", 0)]["differing"] == 6 and rows[("fc", 0)]["max_abs_diff"] is None
    assert rows[("extra", 0)]["differing"] == 4 and rows[("extra", 0)]["max_abs_diff"] is None
    assert len(rows) == 4


def test_kept_snapshots_leave_the_run_unchanged_and_their_mean_is_exact(caffe, tmp_path):
    """--keep-snapshots keeps every save without changing the run; average_snapshots.py
    averages the kept ones: the mean of one snapshot is that snapshot, of three their
    float64 mean, and the phase end's extra save (iteration 7) is left out."""
    import importlib.util

    from facecascade.nets import weight_differences
    npz = _random_pnet_samples(tmp_path, seed=6, n=120)
    plain, _ = _short_pnet_run(tmp_path, npz, "plain", "--phases", "7", "5")
    kept, out = _short_pnet_run(tmp_path, npz, "kept", "--phases", "7", "5", "--keep-snapshots")
    assert sum(r["differing"] for r in weight_differences(plain, kept)) == 0
    names = sorted(f.name for f in (out / "snapshots").iterdir())
    assert names == sorted(f"pnet_iter_{i}.caffemodel" for i in (4, 7, 8, 12))

    from facecascade.paths import REPO_ROOT
    spec = importlib.util.spec_from_file_location("average_snapshots", REPO_ROOT / "experiments" / "tools" / "average_snapshots.py")
    avg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(avg)

    def weights_of(path):
        net = caffe.Net(str(out / "pnet_deploy.prototxt"), str(path), caffe.TEST)
        return {k: [np.array(b.data, copy=True) for b in v] for k, v in net.params.items()}

    avg.main([str(out), "--from-iter", "12", "--every", "4", "--out", str(tmp_path / "one")])
    assert sum(r["differing"] for r in weight_differences(weights_of(tmp_path / "one" / "pnet.caffemodel"), kept)) == 0
    avg.main([str(out), "--from-iter", "1", "--every", "4", "--out", str(tmp_path / "mean")])
    mean = weights_of(tmp_path / "mean" / "pnet.caffemodel")
    snaps = [weights_of(out / "snapshots" / f"pnet_iter_{i}.caffemodel") for i in (4, 8, 12)]
    for layer, blobs in mean.items():
        for k, blob in enumerate(blobs):
            expect = (sum(s[layer][k].astype(np.float64) for s in snaps) / 3).astype(np.float32)
            assert np.array_equal(blob, expect), layer
    assert (tmp_path / "mean" / "pnet_deploy.prototxt").is_file()
    with pytest.raises(SystemExit):     # no snapshot in the range
        avg.main([str(out), "--from-iter", "13", "--out", str(tmp_path / "none")])


def test_average_weights_refuses_snapshots_of_another_net(caffe, tmp_path):
    """A file without one of the net's layers, or with it in another shape (an R-Net
    for a P-Net: both have a conv1), is a ValueError naming the file, not a Caffe abort."""
    from facecascade.nets import average_weights
    _, pnet_deploy = netspec.write_prototxts(caffe, "pnet", tmp_path, 4)
    _, rnet_deploy = netspec.write_prototxts(caffe, "rnet", tmp_path, 4)
    pnet = caffe.Net(str(pnet_deploy), caffe.TEST)
    caffe.Net(str(rnet_deploy), caffe.TEST).save(str(tmp_path / "rnet.caffemodel"))
    pnet.save(str(tmp_path / "pnet.caffemodel"))
    param = caffe.proto.caffe_pb2.NetParameter()
    param.ParseFromString((tmp_path / "pnet.caffemodel").read_bytes())
    del param.layer[[layer.name for layer in param.layer].index("conv4-2")]
    (tmp_path / "no_box_head.caffemodel").write_bytes(param.SerializeToString())
    with pytest.raises(ValueError, match="rnet.caffemodel: holds no weights of layer conv1"):
        average_weights(pnet, [tmp_path / "pnet.caffemodel", tmp_path / "rnet.caffemodel"])
    with pytest.raises(ValueError, match="no_box_head.caffemodel: holds no weights of layer conv4-2"):
        average_weights(pnet, [tmp_path / "no_box_head.caffemodel"])


def test_blur_weight_needs_sample_files_with_blur_labels(caffe, tmp_path):
    """--blur-weight on files without blur labels (made before they were kept) stops
    with a message naming the files and how to remake them; on labelled files it trains."""
    npz = _random_pnet_samples(tmp_path, 0, 60)                 # blur -1 everywhere
    with pytest.raises(SystemExit, match=r"--blur-weight 3: .*random_12\.npz hold no WIDER blur labels"):
        _short_pnet_run(tmp_path, npz, "unlabelled", "--blur-weight", "3", "--iters", "4")
    samples = ms.SampleSet.load(npz)
    samples.blur = np.where(samples.kinds == ms.PART, 2, np.where(samples.kinds == ms.POS, 0, -1)).astype(np.int8)
    samples.save(npz)
    _, out = _short_pnet_run(tmp_path, npz, "labelled", "--blur-weight", "3", "--iters", "4")
    assert "blur weight 3 (20 heavy-blur face/part crops)" in (out / "train.log").read_text()


def test_mining_the_whole_detector_keeps_its_false_boxes_only(caffe, test_data):
    """mine_hard_examples.py --stages 3: on a CelebA photo where the shipped detector also
    boxes the dress below the face, with that face as the ground truth, the samples are the
    false box alone, a negative cropped as the detector crops its candidates."""
    from facecascade.boxes import iou_matrix
    from facecascade.mtcnn import MTCNN
    from facecascade.mtcnn import mining as mine
    img = read_image(test_data / "celeba_small" / "000275.jpg")
    det = MTCNN(caffe=caffe, min_score=0.1)
    out = det.detect(img)
    face = out.boxes[np.argmax(out.scores)][None]
    false = out.boxes[iou_matrix(out.boxes, face)[:, 0] < 0.3]
    assert len(out) >= 2 and len(false) >= 1, out.boxes
    samples, found = mine.mine_image(det, img, face, 48, 3, np.random.default_rng(0), 60, True)
    assert len(found) == len(out)             # the detector's whole output (the recall is of it)
    assert samples.counts()["negative"] == len(samples) == len(false)
    _, levels = det.pnet_stage(img)
    crops = det.crop_candidates(img, false, levels, 48)
    np.testing.assert_array_equal(samples.images, np.clip(np.round(crops), 0, 255).astype(np.uint8))
    # a ceiling keeps the false boxes scored below it only (CUHK mining: unlabelled faces score high)
    false_scores = out.scores[iou_matrix(out.boxes, face)[:, 0] < 0.3]
    above_all, _ = mine.mine_image(det, img, face, 48, 3, np.random.default_rng(0), 60, True,
                                   false_ceiling=float(false_scores.max()) + 1e-3)
    assert len(above_all) == len(false)
    none, found = mine.mine_image(det, img, face, 48, 3, np.random.default_rng(0), 60, True,
                                  false_ceiling=float(false_scores.min()))
    assert none is None and len(found) == len(out)
