"""MTCNN's three nets as Caffe NetSpecs (train and deploy), and the training loop.

Nets (Zhang et al. 2016; PReLU everywhere):
  P-Net 12x12, fully convolutional: conv3x3 10, max-pool 3x3 s2, conv3x3 16,
        conv3x3 32, 1x1 heads: face score (2) and box offsets (4).
  R-Net 24x24: conv3x3 28, pool, conv3x3 48, pool, conv2x2 64, fc 128; score, box.
  O-Net 48x48: conv3x3 32, pool, conv3x3 64, pool, conv3x3 64, pool, conv2x2 128,
        fc 256; score, box, 5 landmarks.
Deploy layer/blob names: prob1 (scores), conv4-2 / fc5-2 / fc6-2 (boxes), fc6-3
(landmarks), as in the reference det1/det2/det3.

Losses with stock layers only (see mtcnn/README.md, "Losses"):
  - classification: SoftmaxWithLoss with ignore_label -1; part and landmark
    samples carry label -1, so only positives and negatives count, and the loss
    is normalised by their number.  With pos_iou < 0.65 (training flag
    --pos-iou) parts whose crop has IoU >= pos_iou with its face count as
    positives too.
  - box regression: EuclideanLoss between (prediction * roi_mask) and the
    target, where roi_mask is 1 for positives/parts with a WIDER-convention
    box and 0 otherwise, and the target is already 0 there.  A masked sample
    gives exactly zero loss and zero gradient.  (EuclideanLoss divides by the
    batch size; loss weights account for the share of masked rows.)
  - landmarks: the same with pts_mask (1 for landmark samples only).
  - online hard sample mining (the paper's, opt-in: training flag --ohem K):
    before each step the batch's face scores are computed, and only the share
    K (the paper: 0.7) of the labelled samples with the highest face/non-face
    loss keep their label; the rest get -1, so SoftmaxWithLoss ignores them
    (`ohem_labels`).  Box and landmark losses are untouched, as in the paper.
Training feeds the Input blobs from numpy (no data files for Caffe to parse,
so a bad sample can never abort Caffe), with random horizontal flips
(targets mirrored, left/right points swapped) and brightness/contrast jitter.
"""
import time
from pathlib import Path

import numpy as np

from .mtcnn_sampling import LANDMARK, NEG, PART, POS, POS_IOU, flip_targets, roi_iou
from .nets import flush_denormals

INPUT_SIZE = {"pnet": 12, "rnet": 24, "onet": 48}
HEADS = {"pnet": ("conv4-1", "conv4-2", None), "rnet": ("fc5-1", "fc5-2", None),
         "onet": ("fc6-1", "fc6-2", "fc6-3")}
MEAN, SCALE = 127.5, 0.0078125


def normalise(images_nhwc):
    """uint8 N x H x W x 3 BGR -> float32 N x 3 x H x W, (x - 127.5) * 0.0078125."""
    x = np.asarray(images_nhwc, dtype=np.float32)
    return ((x - MEAN) * SCALE).transpose(0, 3, 1, 2)


def _conv_layer(L, bottom, n, k):
    return L.Convolution(bottom, num_output=n, kernel_size=k, stride=1,
                         weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0),
                         param=[dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)])


def _fc_layer(L, bottom, n):
    return L.InnerProduct(bottom, num_output=n, weight_filler=dict(type="xavier"),
                          bias_filler=dict(type="constant", value=0),
                          param=[dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)])


def _prelu(L, bottom, in_place):
    return L.PReLU(bottom, in_place=in_place, prelu_param=dict(filler=dict(type="constant", value=0.25)))


def _dropout(n, L, name, bottom, ratio):
    """In-place Dropout named `name` when ratio > 0 (the reference det3 has one, 0.25,
    after its 256 fc); returns the top the heads read."""
    if not ratio:
        return bottom
    n[name] = L.Dropout(bottom, in_place=True, dropout_ratio=ratio)
    return n[name]


def scaled_width(channels, width):
    """A trunk layer's channel count at width factor `width` (4 at least)."""
    return max(4, int(round(channels * width)))


def _body(n, L, P, net, data, dropout=0.0, in_place=True, width=1.0):
    """Shared trunk; sets heads on NetSpec n and returns (cls, box, landmark) tops.
    dropout: ratio of a Dropout on the R-/O-Net fully connected features before the
    heads (training nets only: at test time Dropout is the identity, so deploy nets
    leave it out and the weights are the same either way).
    in_place: PReLU writes over its input (training nets: less memory).  An in-place
    PReLU copies its input on every forward, for the backward pass; deploy nets give
    each PReLU its own top instead, which spares that copy (a memory-bound pass: a
    third to a half of PReLU's time).
    width: every trunk layer's channels times this (scaled_width; the heads keep
    theirs): 1 is the reference architecture, 0.5 a net of about a third of its
    multiply-adds."""
    MAX = P.Pooling.MAX

    def _conv(L, bottom, c, k):  # a trunk layer
        return _conv_layer(L, bottom, scaled_width(c, width), k)

    def _fc(L, bottom, c):  # a trunk layer
        return _fc_layer(L, bottom, scaled_width(c, width))

    if net == "pnet":
        n["conv1"] = _conv(L, data, 10, 3)
        n["PReLU1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["PReLU1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 16, 3)
        n["PReLU2"] = _prelu(L, n["conv2"], in_place)
        n["conv3"] = _conv(L, n["PReLU2"], 32, 3)
        n["PReLU3"] = _prelu(L, n["conv3"], in_place)
        n["conv4-1"] = _conv_layer(L, n["PReLU3"], 2, 1)
        n["conv4-2"] = _conv_layer(L, n["PReLU3"], 4, 1)
        return n["conv4-1"], n["conv4-2"], None
    if net == "rnet":
        n["conv1"] = _conv(L, data, 28, 3)
        n["prelu1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["prelu1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 48, 3)
        n["prelu2"] = _prelu(L, n["conv2"], in_place)
        n["pool2"] = L.Pooling(n["prelu2"], pool=MAX, kernel_size=3, stride=2)
        n["conv3"] = _conv(L, n["pool2"], 64, 2)
        n["prelu3"] = _prelu(L, n["conv3"], in_place)
        n["conv4"] = _fc(L, n["prelu3"], 128)
        n["prelu4"] = _prelu(L, n["conv4"], in_place)
        feat = _dropout(n, L, "drop4", n["prelu4"], dropout)
        n["fc5-1"] = _fc_layer(L, feat, 2)
        n["fc5-2"] = _fc_layer(L, feat, 4)
        return n["fc5-1"], n["fc5-2"], None
    if net == "onet":
        n["conv1"] = _conv(L, data, 32, 3)
        n["prelu1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["prelu1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 64, 3)
        n["prelu2"] = _prelu(L, n["conv2"], in_place)
        n["pool2"] = L.Pooling(n["prelu2"], pool=MAX, kernel_size=3, stride=2)
        n["conv3"] = _conv(L, n["pool2"], 64, 3)
        n["prelu3"] = _prelu(L, n["conv3"], in_place)
        n["pool3"] = L.Pooling(n["prelu3"], pool=MAX, kernel_size=2, stride=2)
        n["conv4"] = _conv(L, n["pool3"], 128, 2)
        n["prelu4"] = _prelu(L, n["conv4"], in_place)
        n["conv5"] = _fc(L, n["prelu4"], 256)
        n["prelu5"] = _prelu(L, n["conv5"], in_place)
        feat = _dropout(n, L, "drop5", n["prelu5"], dropout)
        n["fc6-1"] = _fc_layer(L, feat, 2)
        n["fc6-2"] = _fc_layer(L, feat, 4)
        n["fc6-3"] = _fc_layer(L, feat, 10)
        return n["fc6-1"], n["fc6-2"], n["fc6-3"]
    raise ValueError(f"unknown net {net!r}: pnet, rnet or onet")


def train_netspec(caffe, net, batch, loss_weights=(1.0, 0.5, 1.0), dropout=0.0, width=1.0):
    L, P = caffe.layers, caffe.params
    s = INPUT_SIZE[net]
    n = caffe.NetSpec()
    has_lm = HEADS[net][2] is not None
    shapes = [dict(dim=[batch, 3, s, s]), dict(dim=[batch]), dict(dim=[batch, 4]), dict(dim=[batch, 4])]
    if has_lm:
        shapes += [dict(dim=[batch, 10]), dict(dim=[batch, 10])]
        n.data, n.label, n.roi, n.roi_mask, n.pts, n.pts_mask = L.Input(shape=shapes, ntop=6)
    else:
        n.data, n.label, n.roi, n.roi_mask = L.Input(shape=shapes, ntop=4)
    if dropout and net == "pnet":
        raise ValueError("dropout: P-Net has no fully connected layer (R-Net and O-Net only)")
    cls, box, lm = _body(n, L, P, net, n.data, dropout, width=width)
    n.cls_loss = L.SoftmaxWithLoss(cls, n.label, loss_param=dict(ignore_label=-1, normalize=True),
                                   loss_weight=loss_weights[0])
    n.box_flat = L.Flatten(box)
    n.box_masked = L.Eltwise(n.box_flat, n.roi_mask, operation=P.Eltwise.PROD)
    n.box_loss = L.EuclideanLoss(n.box_masked, n.roi, loss_weight=loss_weights[1])
    if has_lm:
        n.pts_masked = L.Eltwise(lm, n.pts_mask, operation=P.Eltwise.PROD)
        n.pts_loss = L.EuclideanLoss(n.pts_masked, n.pts, loss_weight=loss_weights[2])
    return n.to_proto()


def deploy_netspec(caffe, net, height=None, width=None, channel_width=1.0):
    L, P = caffe.layers, caffe.params
    s = INPUT_SIZE[net]
    n = caffe.NetSpec()
    n.data = L.Input(shape=[dict(dim=[1, 3, height or s, width or s])])
    cls, box, lm = _body(n, L, P, net, n.data, in_place=False, width=channel_width)
    n.prob1 = L.Softmax(cls)
    return n.to_proto()


def write_prototxts(caffe, net, out_dir, batch, loss_weights=(1.0, 0.5, 1.0), dropout=0.0, width=1.0):
    """train.prototxt, deploy.prototxt into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / f"{net}_train.prototxt"
    deploy = out_dir / f"{net}_deploy.prototxt"
    train.write_text(f"name: \"{net}\"\n" + str(train_netspec(caffe, net, batch, loss_weights, dropout, width)))
    deploy.write_text(f"name: \"{net}\"\n" + str(deploy_netspec(caffe, net, channel_width=width)))
    return train, deploy


def write_solver(caffe, path, train_net, base_lr, max_iter, step_at, snapshot_prefix, solver_type="Adam"):
    from caffe.proto import caffe_pb2
    sp = caffe_pb2.SolverParameter()
    sp.train_net = str(train_net)
    sp.type = solver_type
    sp.base_lr = base_lr
    sp.momentum = 0.9
    sp.momentum2 = 0.999
    sp.weight_decay = 0.0005
    sp.lr_policy = "multistep"
    for s in step_at:
        sp.stepvalue.append(int(s))
    sp.gamma = 0.1
    sp.max_iter = max_iter
    sp.display = 0
    sp.snapshot = 0
    sp.snapshot_prefix = str(snapshot_prefix)
    sp.solver_mode = caffe_pb2.SolverParameter.CPU
    Path(path).write_text(str(sp))
    return path


def degrade_resolution(images_nhwc, rng, frac=(0.35, 1.0)):
    """Each crop shrunk to a random fraction (in `frac`) of its side and blown back up.

    Why: WIDER faces of 20-50 px reach O-Net (48 px) upsampled and soft, while
    most training faces (CUHK, LFW, large WIDER faces) are downsampled and
    sharp; the wider_eval diagnosis (mtcnn/README.md, round 4) found most lost
    faces in that bucket.  Measured there: no AP gain (round 4, not shipped)."""
    import cv2

    out = np.empty_like(images_nhwc)
    size = images_nhwc.shape[1]
    for i, img in enumerate(images_nhwc):
        side = int(round(size * rng.uniform(*frac)))
        small = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
        out[i] = cv2.resize(small, (size, size), interpolation=cv2.INTER_LINEAR)
    return out


def occlude(images_nhwc, rng, frac=(0.2, 0.5)):
    """Each crop gets one rectangle (sides a random fraction in `frac` of the crop's,
    anywhere inside it) copied from the same place of another crop of the batch.

    Why: WIDER's faces in crowds are often partly hidden by a neighbour's head or a
    hand, and the nets drop many 20-50 px wider_eval faces by score, while most
    training faces are whole (mtcnn/README.md, round 12: +1.45 AP on wider_eval).  Another crop's pixels stand for a textured
    occluder, as a flat fill would not.  The targets stay: the box and points of an
    occluded face are where they were."""
    out = images_nhwc.copy()
    n, size = len(images_nhwc), images_nhwc.shape[1]
    if n < 2:
        return out
    # every crop takes its patch from another one: a random shift of the order
    donor = (np.arange(n) + rng.integers(1, n, size=n)) % n
    for i in range(n):
        h, w = (int(round(size * rng.uniform(*frac))) for _ in range(2))
        y, x = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        out[i, y:y + h, x:x + w] = images_nhwc[donor[i], y:y + h, x:x + w]
    return out


ROTATION_DEG = 20.0


def rotate(images_nhwc, roi, pts, rng, max_deg=ROTATION_DEG):
    """Each crop turned about its centre by a random angle in [-max_deg, max_deg],
    with its targets moved to match: the landmarks exactly, the face box's centre
    turned with them and its size kept (the box a WIDER annotator would draw around
    the turned face; turning its corners would give a looser box).  Borders are
    mirrored in, so no flat corner marks a turned crop.

    Why: WIDER's faces in crowds and candid photos are often tilted, while the
    training faces (CUHK, LFW, posed WIDER faces) are mostly upright.  Measured
    (mtcnn/README.md, round 14: round 12 with --rotation 0.5): less AP than round 12
    on both WIDER sets, not shipped.  Returns (images, roi, pts)."""
    import cv2

    out = np.empty_like(images_nhwc)
    roi = np.asarray(roi, np.float32).copy()
    pts = np.asarray(pts, np.float32).reshape(-1, 5, 2).copy()
    size = images_nhwc.shape[1]
    centre = (size - 1) / 2.0  # cv2's pixel centres are integers: crop unit 0.5 is pixel (size - 1) / 2
    for i, img in enumerate(images_nhwc):
        m = cv2.getRotationMatrix2D((centre, centre), float(rng.uniform(-max_deg, max_deg)), 1.0)
        out[i] = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        turn = m[:, :2].astype(np.float32)  # the same turn about crop unit (0.5, 0.5)
        pts[i] = (pts[i] - 0.5) @ turn.T + 0.5
        # roi = (box - crop) / side with the crop [0, 0, 1, 1]: box = roi + [0, 0, 1, 1]
        x1, y1, x2, y2 = roi[i] + np.array([0, 0, 1, 1], np.float32)
        cx, cy = (np.array([(x1 + x2) / 2, (y1 + y2) / 2], np.float32) - 0.5) @ turn.T + 0.5
        half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2
        roi[i] = [cx - half_w, cy - half_h, cx + half_w - 1, cy + half_h - 1]
    return out, roi, pts.reshape(-1, 10)


class BatchSampler:
    """Batches with a fixed share of each sample kind (MTCNN's 3:1:1:2 idea),
    with random flips and photometric jitter."""

    def __init__(self, samples, batch, shares, rng, augment=True, hard=None, hard_neg_share=0.5,
                 pos_iou=POS_IOU, low_res=0.0, occlusion=0.0, rotation=0.0, blur_weight=1.0,
                 false=None, false_neg_share=0.0, photo=None, photo_neg_share=0.0, gray_share=None):
        """hard: (N,) bool, samples mined by the previous stage; that share of each
        batch's negatives is drawn from them (the random negatives far outnumber
        them, and the mined ones are the point of mining).
        false: (N,) bool, the whole detector's false boxes (mine_hard_examples.py
        --stages 3); false_neg_share of each batch's negatives is drawn from them,
        in place of random ones (0: they are not drawn at all).
        pos_iou: parts (with a box target) whose crop has at least this IoU with
        its face are classified as faces; the paper's 0.65 leaves them unlabelled.
        low_res: share of each batch degraded by `degrade_resolution` (with augment).
        occlusion: share of each batch's face, part and negative crops given an occluder by
        `occlude` (with augment); landmark crops never, since their points are the target.
        rotation: share of each batch turned by `rotate` (with augment), targets with it;
        a crop keeps the face label of its unturned IoU.
        photo: (N,) bool, crops of the face-free photos (negatives_*.npz,
        mtcnn/0_sampling/sample_negatives.py); photo_neg_share of each batch's negatives
        is drawn from them, in place of random ones (0: not drawn at all).
        gray_share: None: 10 % of every batch is made grayscale, whatever its kind (as
        before the option existed); a share G: the face crops (positives, parts,
        landmarks) and the negatives are each made grayscale (3 equal channels) up to
        the same share, at least G, and at least the share of the negatives that are
        grayscale already (the face-free photos are all grayscale), so that grey never
        tells a face from a non-face (`balance_gray`).
        blur_weight: positive and part crops of faces WIDER labels heavily blurred
        (samples.blur == 2) are drawn this many times as often as the other ones of
        their kind (1: every crop of a kind equally often, the same draws as before
        the option existed)."""
        self.s = samples
        self.face_label = samples.kinds == POS
        if pos_iou < POS_IOU:
            self.face_label |= (samples.kinds == PART) & (samples.reg > 0) & (roi_iou(samples.roi) >= pos_iou)
        self.batch = batch
        self.rng = rng
        self.augment = augment
        self.low_res = low_res
        self.occlusion = occlusion
        self.rotation = rotation
        self.pools = {k: np.where(samples.kinds == k)[0] for k in (NEG, POS, PART, LANDMARK)}
        if blur_weight < 0:
            raise ValueError(f"blur_weight {blur_weight}: must be >= 0")
        self.pool_p = {}
        if blur_weight != 1.0:
            for k in (POS, PART):
                w = np.where(samples.blur[self.pools[k]] == 2, blur_weight, 1.0)
                if len(w) and w.sum() > 0:
                    self.pool_p[k] = w / w.sum()
        total = sum(shares[k] for k in shares if len(self.pools[k]))
        self.count = {k: int(round(batch * shares[k] / total)) if len(self.pools[k]) else 0 for k in shares}
        self.count[NEG] += batch - sum(self.count.values())
        self.hard_neg, self.n_hard_neg = None, 0
        if hard is not None:
            hard_neg = np.where((samples.kinds == NEG) & hard)[0]
            easy_neg = np.where((samples.kinds == NEG) & ~hard)[0]
            if len(hard_neg) and len(easy_neg):
                self.hard_neg, self.pools[NEG] = hard_neg, easy_neg
                self.n_hard_neg = int(round(self.count[NEG] * hard_neg_share))
                self.count[NEG] -= self.n_hard_neg
        self.false_neg, self.n_false_neg = None, 0
        if false is not None and false_neg_share > 0:
            self.false_neg = np.where((samples.kinds == NEG) & false)[0]
            if len(self.false_neg) == 0:
                raise ValueError("false_neg_share > 0 but no false-box negatives (false_*.npz) were given")
            self.pools[NEG] = np.setdiff1d(self.pools[NEG], self.false_neg)
            self.n_false_neg = int(round((self.count[NEG] + self.n_hard_neg) * false_neg_share))
            if self.n_false_neg > self.count[NEG]:
                raise ValueError(f"false_neg_share {false_neg_share} takes more than the random negatives' "
                                 f"{self.count[NEG]} of each batch")
            self.count[NEG] -= self.n_false_neg
        self.photo_neg, self.n_photo_neg = None, 0
        if photo is not None and photo_neg_share > 0:
            self.photo_neg = np.where((samples.kinds == NEG) & photo)[0]
            if len(self.photo_neg) == 0:
                raise ValueError("photo_neg_share > 0 but no face-free photo negatives (negatives_*.npz) were given")
            self.pools[NEG] = np.setdiff1d(self.pools[NEG], self.photo_neg)
            if self.hard_neg is not None:
                self.hard_neg = np.setdiff1d(self.hard_neg, self.photo_neg)
            self.n_photo_neg = int(round((self.count[NEG] + self.n_hard_neg + self.n_false_neg) * photo_neg_share))
            if self.n_photo_neg > self.count[NEG]:
                raise ValueError(f"photo_neg_share {photo_neg_share} takes more than the random negatives' "
                                 f"{self.count[NEG]} of each batch")
            self.count[NEG] -= self.n_photo_neg
        if gray_share is not None and not 0.0 <= gray_share <= 1.0:
            raise ValueError(f"gray_share {gray_share}: must be in [0, 1]")
        self.gray_share = gray_share
        # crops stored with 3 equal channels (grayscale photos)
        im = samples.images
        self.is_gray = np.all((im[..., 0] == im[..., 1]) & (im[..., 1] == im[..., 2]), axis=(1, 2))

    def next(self):
        parts = [self.rng.choice(self.pools[k], size=c, p=self.pool_p.get(k)) for k, c in self.count.items() if c]
        if self.n_hard_neg:
            parts.append(self.rng.choice(self.hard_neg, size=self.n_hard_neg))
        if self.n_false_neg:
            parts.append(self.rng.choice(self.false_neg, size=self.n_false_neg))
        if self.n_photo_neg:
            parts.append(self.rng.choice(self.photo_neg, size=self.n_photo_neg))
        idx = np.concatenate(parts)
        s = self.s
        imgs = s.images[idx]
        kinds = s.kinds[idx]
        roi, pts = s.roi[idx].copy(), s.pts[idx].copy()
        if self.augment:
            flip = self.rng.random(len(idx)) < 0.5
            imgs = imgs.copy()
            imgs[flip] = imgs[flip][:, :, ::-1]
            roi[flip], pts[flip] = flip_targets(roi[flip], pts[flip])
            if self.rotation:
                turn = np.nonzero(self.rng.random(len(idx)) < self.rotation)[0]
                imgs[turn], roi[turn], pts[turn] = rotate(imgs[turn], roi[turn], pts[turn], self.rng)
            if self.low_res:
                blur = np.nonzero(self.rng.random(len(idx)) < self.low_res)[0]
                imgs[blur] = degrade_resolution(imgs[blur], self.rng)
            if self.occlusion:
                hide = np.nonzero((self.rng.random(len(idx)) < self.occlusion) & (kinds != LANDMARK))[0]
                imgs[hide] = occlude(imgs[hide], self.rng)
        x = normalise(imgs)
        if self.augment:
            # brightness / contrast jitter in normalised units
            a = self.rng.uniform(0.75, 1.25, size=(len(idx), 1, 1, 1)).astype(np.float32)
            b = self.rng.uniform(-0.2, 0.2, size=(len(idx), 1, 1, 1)).astype(np.float32)
            x = np.clip(x * a + b, -1.0, 1.0)
            if self.gray_share is None:
                gray = self.rng.random(len(idx)) < 0.1
            else:
                gray = balance_gray(self.is_gray[idx], kinds != NEG, self.gray_share, self.rng)
            x[gray] = x[gray].mean(axis=1, keepdims=True)
        label = np.where(self.face_label[idx], 1, np.where(kinds == NEG, 0, -1)).astype(np.float32)
        roi_mask = (((kinds == POS) | (kinds == PART)) & (s.reg[idx] > 0)).astype(np.float32)[:, None]
        roi_mask = np.repeat(roi_mask, 4, axis=1)
        pts_mask = np.repeat((kinds == LANDMARK).astype(np.float32)[:, None], 10, axis=1)
        return {"data": x, "label": label, "roi": roi * roi_mask, "roi_mask": roi_mask,
                "pts": pts * pts_mask, "pts_mask": pts_mask}


def balance_gray(is_gray, face, share, rng):
    """Which crops of a batch to show in grayscale: is_gray (N,) the crops that are
    grayscale already, face (N,) the face crops (the rest: non-faces).  Both groups
    end with the same share of grayscale crops (up to one crop of rounding): the
    larger of `share` and the grayscale share either group already has; the crops
    made grey are drawn at random -> (N,) bool (already grey ones included)."""
    is_gray, face = np.asarray(is_gray, bool), np.asarray(face, bool)
    groups = [np.flatnonzero(face), np.flatnonzero(~face)]
    target = max([share] + [is_gray[g].mean() for g in groups if len(g)])
    out = is_gray.copy()
    for g in groups:
        colour = g[~is_gray[g]]
        need = min(len(colour), int(np.ceil(target * len(g) - 1e-9)) - int(is_gray[g].sum()))
        if need > 0:
            out[rng.choice(colour, size=need, replace=False)] = True
    return out


def ohem_labels(scores, label, keep):
    """Online hard sample mining (Zhang et al. 2016, sec. 2.3): of the samples
    with a face/non-face label (>= 0), the ceil(keep * n) with the highest
    softmax cross-entropy keep their label, the others get -1 (ignored by
    SoftmaxWithLoss).  scores: (N, 2) logits (extra singleton axes allowed);
    label: (N,) with -1 for unlabelled samples.  Ties keep the earlier sample."""
    scores = np.asarray(scores, dtype=np.float64).reshape(len(label), 2)
    label = np.asarray(label)
    labelled = np.nonzero(label >= 0)[0]
    out = np.full(len(label), -1, dtype=np.float32)
    if len(labelled) == 0:
        return out
    z = scores[labelled]
    m = z.max(axis=1)
    lse = m + np.log(np.exp(z - m[:, None]).sum(axis=1))
    loss = lse - z[np.arange(len(labelled)), label[labelled].astype(int)]
    n_keep = int(np.ceil(keep * len(labelled)))
    hardest = labelled[np.argsort(-loss, kind="stable")[:n_keep]]
    out[hardest] = label[hardest]
    return out


def train(solver, sampler, iters, log=None, save=None, save_every=1000, progress=None, stop_at=None,
          iter_offset=0, ohem=1.0, score_blob=None):
    """Feed batches and step (until `iters` steps or the time `stop_at`);
    returns the list of (iter, cls, box, pts) losses.
    ohem < 1: online hard sample mining on the face/non-face loss (`ohem_labels`);
    score_blob is then the net's 2-way score head (HEADS[net][0]).  It costs one
    more forward per step; the logged cls loss is then the hard samples' loss.
    Ctrl-C saves the weights of the last step done (save() writes atomically), then
    stops as asked; --resume on that caffemodel goes on from them."""
    history = []
    start = solver.iter
    try:
        _train_steps(solver, sampler, iters, history, log, save, save_every, progress, stop_at, iter_offset,
                     ohem, score_blob)
    except KeyboardInterrupt:
        # the solver's count, not the history's: Ctrl-C may land after a step, before its losses are read
        if save is not None and solver.iter > start:
            save(solver.iter + iter_offset)
            if log is not None:
                log(f"interrupted after iter {solver.iter + iter_offset}: weights saved")
        raise
    return history


def _train_steps(solver, sampler, iters, history, log, save, save_every, progress, stop_at, iter_offset,
                 ohem, score_blob):
    net = solver.net
    t0 = time.time()
    it = solver.iter
    if ohem < 1.0 and score_blob is None:
        raise ValueError("ohem < 1 needs score_blob, the face score head")
    for k in range(iters):
        batch = sampler.next()
        for name, arr in batch.items():
            if name in net.blobs:
                net.blobs[name].data[...] = arr.reshape(net.blobs[name].data.shape)
        if ohem < 1.0:
            net.forward(end=score_blob)
            net.blobs["label"].data[...] = ohem_labels(net.blobs[score_blob].data, batch["label"], ohem)
        solver.step(1)
        it = solver.iter + iter_offset
        losses = [float(net.blobs[b].data) if b in net.blobs else float("nan")
                  for b in ("cls_loss", "box_loss", "pts_loss")]
        history.append((it, *losses))
        if progress is not None:
            progress.update(1)
        if log is not None and (it % 100 == 0 or k == iters - 1):
            recent = np.array(history[-100:])[:, 1:].mean(axis=0)
            pts = "-" if np.isnan(recent[2]) else f"{recent[2]:.5f}"    # "-": a net without landmarks
            log(f"iter {it} cls {recent[0]:.4f} box {recent[1]:.5f} pts {pts} {time.time() - t0:.0f}s")
        if save is not None and (it % save_every == 0 or k == iters - 1):
            save(it)
        if stop_at is not None and time.time() >= stop_at:
            if log is not None:
                log(f"iter {it}: time budget reached")
            break


def minutes_until(hh_mm, now=None):
    """Minutes from `now` (default: the local time) to the next HH:MM, at least 1;
    a time earlier in the day than `now` is tomorrow's."""
    import datetime

    hh, mm = (int(v) for v in hh_mm.split(":"))
    now = now or datetime.datetime.now()
    end = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if end <= now:
        end += datetime.timedelta(days=1)
    return max(1.0, (end - now).total_seconds() / 60)


def training_cli(net, default_data, default_iters, default_batch, shares, argv=None, doc=None):
    """The shared command line of mtcnn/{1_train_pnet,2_train_rnet,3_train_onet}."""
    import argparse
    import os
    import shutil
    import sys

    from .caffe_loader import add_device_arguments, import_caffe
    from .mtcnn_sampling import SampleSet
    from .paths import REPO_ROOT

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO_ROOT / "mtcnn" / "Data" / d for d in default_data],
                    help="sample files (.npz) from the sampling / mining steps")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / net,
                    help="folder for prototxts, solver, snapshots, loss log and plot")
    ap.add_argument("--iters", type=int, default=default_iters)
    ap.add_argument("--minutes", type=float, default=None,
                    help="instead of --iters: train for this much wall-clock time (lr / 10 for the last "
                         "quarter); for a CPU shared with other jobs, where iterations/s is unknown")
    ap.add_argument("--until", default=None, metavar="HH:MM",
                    help="like --minutes, up to this local wall-clock time")
    ap.add_argument("--phases", type=int, nargs=2, default=None, metavar=("N1", "N2"),
                    help="the two phases of --minutes by iteration counts: N1 steps at --lr, then N2 at "
                         "lr / 10 from a fresh solver; a --minutes run logs its N1 N2 at the end, and "
                         "--phases N1 N2 with the same data, flags and --seed repeats it (to the bit on the same "
                         "kind of CPU; elsewhere OpenBLAS rounds differently)")
    ap.add_argument("--batch", type=int, default=default_batch)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-steps", type=int, nargs="+", default=None,
                    help="iterations where the lr drops 10x (default 0.6 and 0.85 x --iters)")
    ap.add_argument("--pos-iou", type=float, default=POS_IOU,
                    help="parts with IoU >= this also train the face class (default %(default)s: positives only)")
    ap.add_argument("--box-weight", type=float, default=0.5, help="loss weight of box regression")
    ap.add_argument("--pts-weight", type=float, default=1.0,
                    help="O-Net: loss weight of the landmarks (0: face score and box only; the landmark "
                         "head can then be fitted afterwards, 3_train_onet/refit_landmark_head.py)")
    ap.add_argument("--hard-neg-share", type=float, default=0.5,
                    help="share of each batch's negatives drawn from the mined (hard_*.npz) negatives")
    ap.add_argument("--false-neg-share", type=float, default=0.0,
                    help="share of each batch's negatives drawn from the whole detector's false boxes "
                         "(false_*.npz in --data, mine_hard_examples.py --stages 3) in place of random ones "
                         "(default 0: not drawn)")
    ap.add_argument("--negatives-share", type=float, default=0.0,
                    help="share of each batch's negatives drawn from the face-free photos' crops "
                         "(negatives_*.npz in --data, mtcnn/0_sampling/sample_negatives.py) in place of random "
                         "ones (default 0: not drawn)")
    ap.add_argument("--gray-share", type=float, default=None,
                    help="make face crops and non-face crops grayscale in equal shares of at least this "
                         "(and at least the share of grayscale negatives, e.g. the face-free photos'); "
                         "default: 10%% of every batch at random, whatever its kind")
    ap.add_argument("--low-res", type=float, default=0.0,
                    help="share of each batch shrunk to 35-100%% of its side and blown back up "
                         "(soft, low-resolution faces as WIDER's 20-50 px ones)")
    ap.add_argument("--occlusion", type=float, default=0.0,
                    help="share of each batch's face / part / negative crops that get a rectangle "
                         "(20-50%% of each side) of another crop pasted in, as a partly hidden face")
    ap.add_argument("--rotation", type=float, default=0.0,
                    help="share of each batch turned by up to +-%g degrees about the crop centre, "
                         "targets turned with it (tilted faces)" % ROTATION_DEG)
    ap.add_argument("--blur-weight", type=float, default=1.0, metavar="W",
                    help="draw the face and part crops of faces WIDER labels heavily blurred W times as "
                         "often as the others (default 1: uniform); needs sample files made with the blur "
                         "field (sampling / mining since it exists)")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="R-Net / O-Net: Dropout ratio on the fully connected features before the "
                         "heads, training net only (the reference det3 uses 0.25)")
    ap.add_argument("--ohem", type=float, default=1.0, metavar="K",
                    help="online hard sample mining: only the share K of each batch's face/non-face "
                         "samples with the highest loss train the face score (the paper: 0.7; default 1: off)")
    ap.add_argument("--width", type=float, default=1.0,
                    help="channels of every trunk layer times this (default 1: the reference net; e.g. 0.5: "
                         "about a third of the multiply-adds); the detector reads any width from det*.prototxt")
    ap.add_argument("--save-every", type=int, default=1000)
    ap.add_argument("--keep-snapshots", action="store_true",
                    help="also keep every saved snapshot as snapshots/NET_iter_N.caffemodel in --out "
                         "(for weight averaging: mtcnn/average_snapshots.py); the run's weights are unchanged")
    ap.add_argument("--resume", type=Path, default=None,
                    help="caffemodel to start from: fine-tuning, or going on after Ctrl-C from the run's own "
                         "--out/NET.caffemodel (saved on the way out; Adam's moments, the iteration count and "
                         "the lr schedule start afresh)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ship", type=Path, default=None,
                    help="also copy the final deploy prototxt + caffemodel here (e.g. mtcnn/model)")
    add_device_arguments(ap)
    args = ap.parse_args(argv)
    if not 0.0 < args.ohem <= 1.0:
        ap.error(f"--ohem {args.ohem}: must be in (0, 1]")
    if args.phases and (args.minutes or args.until):
        ap.error("--phases: give either iteration counts or a wall-clock budget (--minutes / --until)")
    if args.phases and min(args.phases) < 0:
        ap.error(f"--phases {args.phases[0]} {args.phases[1]}: counts must be >= 0")
    caffe = import_caffe(args.gpu)
    caffe.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    for p in args.data:
        if not Path(p).is_file():
            sys.exit(f"{p}: sample file not found (run the sampling / mining step first)")
    loaded = [SampleSet.load(p) for p in args.data]
    samples = SampleSet.concat(loaded)
    # samples from files written by the mining step (hard_*.npz)
    hard = np.concatenate([np.full(len(s), Path(p).name.startswith("hard"), bool) for s, p in zip(loaded, args.data)])
    # the whole detector's false boxes (false_*.npz)
    false = np.concatenate([np.full(len(s), Path(p).name.startswith("false"), bool) for s, p in zip(loaded, args.data)])
    # crops of the face-free photos (negatives_*.npz)
    photo = np.concatenate([np.full(len(s), Path(p).name.startswith("negatives"), bool)
                            for s, p in zip(loaded, args.data)])
    if not 0.0 <= args.negatives_share < 1.0:
        ap.error(f"--negatives-share {args.negatives_share}: must be in [0, 1)")
    if args.negatives_share and not photo.any():
        ap.error(f"--negatives-share {args.negatives_share}: no negatives_*.npz among --data")
    if args.gray_share is not None and not 0.0 <= args.gray_share <= 1.0:
        ap.error(f"--gray-share {args.gray_share}: must be in [0, 1]")
    if not 0.0 <= args.false_neg_share < 1.0:
        ap.error(f"--false-neg-share {args.false_neg_share}: must be in [0, 1)")
    if args.false_neg_share and not false.any():
        ap.error(f"--false-neg-share {args.false_neg_share}: no false_*.npz among --data")
    if samples.images.shape[1] != INPUT_SIZE[net]:
        sys.exit(f"{args.data}: samples are {samples.images.shape[1]} px, {net} needs {INPUT_SIZE[net]}")
    if args.blur_weight < 0:
        ap.error(f"--blur-weight {args.blur_weight}: must be >= 0")
    if args.blur_weight != 1.0 and not np.any(samples.blur >= 0):
        sys.exit(f"--blur-weight {args.blur_weight:g}: {' '.join(map(str, args.data))} hold no WIDER blur labels "
                 "(made before the samplers kept them): remake them with sample_random.py / mine_hard_examples.py")
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.width <= 0:
        ap.error(f"--width {args.width}: must be > 0")
    train_pt, deploy_pt = write_prototxts(caffe, net, out, args.batch, (1.0, args.box_weight, args.pts_weight),
                                         args.dropout, args.width)
    sampler = BatchSampler(samples, args.batch, shares, rng, hard=hard, hard_neg_share=args.hard_neg_share,
                           pos_iou=args.pos_iou, low_res=args.low_res, occlusion=args.occlusion,
                           rotation=args.rotation, blur_weight=args.blur_weight,
                           false=false, false_neg_share=args.false_neg_share, photo=photo,
                           photo_neg_share=args.negatives_share, gray_share=args.gray_share)
    if args.until:
        args.minutes = minutes_until(args.until)
    two_phases = bool(args.minutes or args.phases)
    # iteration-based lr steps only without the two phases: with --minutes / --until /
    # --phases the phases below set the lr, and steps at 0.6/0.85 x --iters would
    # otherwise fire inside phase 1
    steps = [10 ** 9] if two_phases else (args.lr_steps or [int(args.iters * 0.6), int(args.iters * 0.85)])
    solver_pt = write_solver(caffe, out / f"{net}_solver.prototxt", train_pt, args.lr,
                             10 ** 9 if two_phases else args.iters, steps, out / net)
    solver = caffe.get_solver(str(solver_pt))
    if args.resume:
        solver.net.copy_from(str(args.resume))
    log_path = out / "train.log"

    def log(msg):
        print(msg, flush=True)
        with open(log_path, "a") as logf:  # one line at a time: nothing held open, nothing lost on a crash
            logf.write(msg + "\n")

    length = (f"phases {args.phases[0]} + {args.phases[1]} iterations" if args.phases else
              f"{args.minutes:g} minutes in two phases" if args.minutes else f"iters {args.iters}")
    log(f"{net}: {len(samples)} samples {samples.counts()} ({int(hard.sum())} mined); batch {args.batch} = "
        f"{sampler.count} + {sampler.n_hard_neg} mined negatives"
        f"{f' + {sampler.n_false_neg} false-box negatives ({len(sampler.false_neg)})' if sampler.n_false_neg else ''}"
        f"{f' + {sampler.n_photo_neg} face-free photo negatives ({len(sampler.photo_neg)})' if sampler.n_photo_neg else ''}; "
        f"gray share {'0.1 random' if args.gray_share is None else f'{args.gray_share:g} balanced'}; "
        f"{length}; lr {args.lr} steps {steps}; face label IoU >= {args.pos_iou} "
        f"({int(sampler.face_label.sum())} samples); box weight {args.box_weight}; low-res share {args.low_res}; "
        f"occlusion share {args.occlusion}; rotation share {args.rotation}; "
        f"blur weight {args.blur_weight:g} ({int(np.sum(samples.blur == 2))} heavy-blur face/part crops); "
        f"dropout {args.dropout}; ohem {args.ohem}; width {args.width:g}; "
        f"threads OMP={os.environ.get('OMP_NUM_THREADS')} "
        f"OPENBLAS={os.environ.get('OPENBLAS_NUM_THREADS')}")

    def save(it):
        final = out / f"{net}.caffemodel"
        tmp = out / f"{net}.tmp.caffemodel"
        # in the live net, not only in the saved copy: the zeroed weights are below
        # float32's resolution of any sum they join, and the training forwards and
        # backwards then stay off the cores' slow subnormal path too
        flush_denormals(solver.net)
        solver.net.save(str(tmp))
        if args.keep_snapshots:
            kept = out / "snapshots" / f"{net}_iter_{it}.caffemodel"
            kept.parent.mkdir(exist_ok=True)
            shutil.copyfile(tmp, kept.with_suffix(".tmp"))
            kept.with_suffix(".tmp").replace(kept)
        tmp.replace(final)

    ohem = dict(ohem=args.ohem, score_blob=HEADS[net][0])
    if two_phases:
        # two phases: lr, then lr / 10 (a fresh solver started from the phase-1 weights),
        # ended by the wall clock (--minutes: 3/4 and 1/4 of it) or by iteration counts
        # (--phases).  Both stop after a step and save (which zeroes the live net's
        # subnormal weights) at the same iterations, so --phases with a time run's counts
        # gives that run's weights to the bit on the same kind of CPU.
        if args.phases:
            (n1, n2), stop1, stop2 = args.phases, None, None
        else:
            n1 = n2 = 10 ** 9
            stop2 = time.time() + 60 * args.minutes
            stop1 = time.time() + 45 * args.minutes
        hist = train(solver, sampler, n1, log=log, save=save, save_every=args.save_every, stop_at=stop1, **ohem)
        save(solver.iter)
        solver2_pt = write_solver(caffe, out / f"{net}_solver_lr2.prototxt", train_pt, args.lr * 0.1, 10 ** 9,
                                  [10 ** 9], out / net)
        done = solver.iter
        solver = caffe.get_solver(str(solver2_pt))
        solver.net.copy_from(str(out / f"{net}.caffemodel"))
        log(f"lr -> {args.lr * 0.1:g} after {done} iterations")
        hist2 = train(solver, sampler, n2, log=log, save=save, save_every=args.save_every, stop_at=stop2,
                      iter_offset=done, **ohem)
        hist = hist + hist2
        save(done + solver.iter)
        log(f"phases: --phases {done} {solver.iter} repeats this run by iteration counts")
    else:
        hist = train(solver, sampler, args.iters, log=log, save=save, save_every=args.save_every, **ohem)
    np.savetxt(out / "loss_history.txt", np.array(hist), header="iter cls box pts", fmt="%.6g")
    plot_losses(np.array(hist), out / "loss.png", net)
    if args.ship:
        args.ship.mkdir(parents=True, exist_ok=True)
        name = {"pnet": "det1", "rnet": "det2", "onet": "det3"}[net]
        shutil.copyfile(deploy_pt, args.ship / f"{name}.prototxt")
        shutil.copyfile(out / f"{net}.caffemodel", args.ship / f"{name}.caffemodel")
        log(f"shipped {args.ship / name}.prototxt/.caffemodel")


def plot_losses(hist, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    k = max(1, len(hist) // 200)
    for col, name in ((1, "cls"), (2, "box"), (3, "pts")):
        y = hist[:, col]
        if np.all(np.isnan(y)):
            continue
        n = len(y) // k * k
        ax.plot(hist[:n:k, 0], y[:n].reshape(-1, k).mean(axis=1), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.legend()
    ax.set_title(f"{title} training loss")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
