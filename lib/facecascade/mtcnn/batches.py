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
        the same share, at least G and at least the share of either group that is
        grayscale already (the face-free photos are all grey), so that grey never
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
        self.n_neg = self.count[NEG] + self.n_hard_neg   # negatives per batch, all sources
        self.false_neg, self.n_false_neg = self._carve_negatives(false, false_neg_share, "false_neg_share",
                                                                 "false-box", "false")
        self.photo_neg, self.n_photo_neg = self._carve_negatives(photo, photo_neg_share, "photo_neg_share",
                                                                 "face-free photo", "negatives")
        if gray_share is not None and not 0.0 <= gray_share <= 1.0:
            raise ValueError(f"gray_share {gray_share}: must be in [0, 1]")
        self.gray_share = gray_share
        # crops stored with 3 equal channels (grayscale photos)
        im = samples.images
        self.is_gray = np.all((im[..., 0] == im[..., 1]) & (im[..., 1] == im[..., 2]), axis=(1, 2))

    def _carve_negatives(self, mask, share, name, what, prefix):
        """A pool of negatives (mask) that `share` of each batch's negatives is drawn from, in
        place of random ones -> (their indices or None, how many per batch)."""
        if mask is None or share <= 0:
            return None, 0
        pool = np.where((self.s.kinds == NEG) & mask)[0]
        if len(pool) == 0:
            raise ValueError(f"{name} > 0 but no {what} negatives ({prefix}_*.npz) were given")
        self.pools[NEG] = np.setdiff1d(self.pools[NEG], pool)
        if self.hard_neg is not None:
            self.hard_neg = np.setdiff1d(self.hard_neg, pool)
        n = int(round(self.n_neg * share))
        if n > self.count[NEG]:
            raise ValueError(f"{name} {share} takes more than the random negatives' "
                             f"{self.count[NEG]} of each batch")
        self.count[NEG] -= n
        return pool, n

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
