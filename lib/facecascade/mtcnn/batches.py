"""Training batches for the MTCNN nets: a fixed share of each sample kind per batch,
random flips (targets mirrored, left/right points swapped) and photometric jitter;
the inputs are fed from numpy, so a bad sample can never abort Caffe."""
import numpy as np

from .augment import degrade_resolution, occlude, rotate
from .pyramid import normalise
from .sampling import LANDMARK, NEG, PART, POS, POS_IOU, flip_targets, roi_iou


class BatchSampler:
    """Batches with a fixed share of each sample kind (MTCNN's 3:1:1:2 idea),
    with random flips and photometric jitter."""

    def __init__(self, samples, batch, shares, rng, augment=True, hard=None, hard_neg_share=0.5,
                 pos_iou=POS_IOU, low_res=0.0, occlusion=0.0, rotation=0.0, blur_weight=1.0,
                 false=None, false_neg_share=0.0):
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

    def next(self):
        parts = [self.rng.choice(self.pools[k], size=c, p=self.pool_p.get(k)) for k, c in self.count.items() if c]
        if self.n_hard_neg:
            parts.append(self.rng.choice(self.hard_neg, size=self.n_hard_neg))
        if self.n_false_neg:
            parts.append(self.rng.choice(self.false_neg, size=self.n_false_neg))
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
            gray = self.rng.random(len(idx)) < 0.1
            x[gray] = x[gray].mean(axis=1, keepdims=True)
        label = np.where(self.face_label[idx], 1, np.where(kinds == NEG, 0, -1)).astype(np.float32)
        roi_mask = (((kinds == POS) | (kinds == PART)) & (s.reg[idx] > 0)).astype(np.float32)[:, None]
        roi_mask = np.repeat(roi_mask, 4, axis=1)
        pts_mask = np.repeat((kinds == LANDMARK).astype(np.float32)[:, None], 10, axis=1)
        return {"data": x, "label": label, "roi": roi * roi_mask, "roi_mask": roi_mask,
                "pts": pts * pts_mask, "pts_mask": pts_mask}


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
