"""Training samples for P-Net (12x12), R-Net (24x24) and O-Net (48x48).

A sample is a square crop of an image resized to size x size, with
  kind  0 negative (max IoU with every face < 0.3)
        1 positive (IoU >= 0.65 with a face)
        2 part     (0.4 <= IoU < 0.65)
        3 landmark (a crop of a face with 5 annotated points; IoU >= 0.65)
  roi   (4,) box regression target (gt - crop) / crop side (boxes.regression_targets)
  pts   (10,) landmark target: x1 y1 .. x5 y5, (point - crop corner) / crop side
        (image-left eye, image-right eye, nose, image-left/right mouth corner)
  reg   1 when the roi target is meaningful (positives and parts whose box is
        in the WIDER convention; CUHK's tighter boxes teach face/non-face only)
Crops with 0.3 <= IoU < 0.4 are ambiguous and never used (MTCNN paper).

The losses then use: classification on kinds 0/1, box regression on kinds
1/2 with reg = 1, landmarks on kind 3 (see docs/TRAINING.md, "Losses").
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..boxes import crop_resize, iou, iou_matrix, regression_targets

NEG, POS, PART, LANDMARK = 0, 1, 2, 3
KIND_NAMES = {NEG: "negative", POS: "positive", PART: "part", LANDMARK: "landmark"}
POS_IOU, PART_IOU, NEG_IOU = 0.65, 0.4, 0.3
# Horizontal flip: the 5 points swap image-left/right eye and mouth corners.
FLIP_ORDER = np.array([1, 0, 2, 4, 3])


def iou_class(max_iou):
    """Max IoU with the faces -> kind (NEG/POS/PART), or -1 for the unused band 0.3-0.4."""
    max_iou = np.asarray(max_iou, dtype=np.float64)
    out = np.full(max_iou.shape, -1, dtype=np.int64)
    out[max_iou < NEG_IOU] = NEG
    out[(max_iou >= PART_IOU) & (max_iou < POS_IOU)] = PART
    out[max_iou >= POS_IOU] = POS
    return out


def classify_crops(crops, gts):
    """crops (N, 4), gts (G, 4) -> kinds (N,), index of best gt (N,), max IoU (N,)."""
    crops = np.asarray(crops, dtype=np.float64).reshape(-1, 4)
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, 4)
    if len(gts) == 0:
        return np.zeros(len(crops), np.int64), np.zeros(len(crops), np.int64), np.zeros(len(crops))
    ious = iou_matrix(crops, gts)
    best = np.argmax(ious, axis=1)
    max_iou = ious[np.arange(len(crops)), best]
    return iou_class(max_iou), best, max_iou


def random_squares(n, width, height, rng, min_size=12, max_frac=0.5):
    """n random square crops inside a width x height image."""
    hi = max(min_size + 1, int(min(width, height) * max_frac))
    size = rng.integers(min_size, hi, size=n).astype(np.float64)
    x1 = rng.random(n) * np.maximum(width - size, 0)
    y1 = rng.random(n) * np.maximum(height - size, 0)
    return np.stack([x1, y1, x1 + size, y1 + size], axis=1)


def jitter_squares(box, n, rng, shift=0.2, scale=(0.8, 1.25)):
    """n square crops around a face box: centre moved by up to `shift` of the
    box size, side between scale[0]*min(w, h) and scale[1]*max(w, h)."""
    x1, y1, x2, y2 = box[:4]
    w, h = x2 - x1, y2 - y1
    side = rng.uniform(scale[0] * min(w, h), scale[1] * max(w, h), size=n)
    cx = (x1 + x2) / 2 + rng.uniform(-shift, shift, size=n) * w
    cy = (y1 + y2) / 2 + rng.uniform(-shift, shift, size=n) * h
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def roi_iou(roi):
    """IoU between a crop and the box its regression target points at.

    roi (N, 4) = (gt - crop) / crop side (boxes.regression_targets), so in crop
    units the crop is [0, 0, 1, 1] and the box [dx1, dy1, 1 + dx2, 1 + dy2]."""
    roi = np.asarray(roi, dtype=np.float64).reshape(-1, 4)
    return iou([0.0, 0.0, 1.0, 1.0], roi + [0.0, 0.0, 1.0, 1.0])


def landmark_targets(crops, points):
    """crops (N, 4) and points (N, 5, 2) -> (N, 10) targets relative to each crop."""
    crops = np.asarray(crops, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 5, 2)
    side = np.stack([crops[:, 2] - crops[:, 0], crops[:, 3] - crops[:, 1]], axis=1)[:, None, :]
    return ((pts - crops[:, None, :2]) / side).reshape(-1, 10)


def flip_targets(roi, pts):
    """Targets of horizontally mirrored crops: x offsets swap sides and change
    sign; landmark x -> 1 - x with image-left/right points swapped."""
    roi = np.asarray(roi, dtype=np.float32)
    roi_f = np.stack([-roi[:, 2], roi[:, 1], -roi[:, 0], roi[:, 3]], axis=1)
    p = np.asarray(pts, dtype=np.float32).reshape(-1, 5, 2)[:, FLIP_ORDER].copy()
    p[:, :, 0] = 1.0 - p[:, :, 0]
    return roi_f, p.reshape(-1, 10)


@dataclass
class SampleSet:
    images: np.ndarray  # (N, S, S, 3) uint8 BGR
    kinds: np.ndarray   # (N,) int8
    roi: np.ndarray     # (N, 4) float32
    pts: np.ndarray     # (N, 10) float32
    reg: np.ndarray     # (N,) uint8: box target valid
    # (N,) int8: WIDER's blur label (0 clear, 1 normal, 2 heavy) of the face a WIDER
    # positive / part crop was labelled by; -1 for other crops and other sources
    blur: np.ndarray = None

    def __post_init__(self):
        if self.blur is None:
            self.blur = np.full(len(self.kinds), -1, np.int8)

    def __len__(self):
        return len(self.kinds)

    def counts(self):
        return {KIND_NAMES[k]: int(np.sum(self.kinds == k)) for k in KIND_NAMES}

    @staticmethod
    def concat(sets):
        sets = [s for s in sets if len(s)]
        return SampleSet(*(np.concatenate([getattr(s, f) for s in sets]) for f in
                           ("images", "kinds", "roi", "pts", "reg", "blur")))

    def save(self, path):
        path = Path(path)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, images=self.images, kinds=self.kinds, roi=self.roi, pts=self.pts, reg=self.reg,
                 blur=self.blur)
        tmp.replace(path)

    @staticmethod
    def load(path):
        """A saved set; files made before the blur field get -1 (unknown) there."""
        with np.load(path) as z:
            blur = z["blur"] if "blur" in z.files else None
            return SampleSet(z["images"], z["kinds"], z["roi"], z["pts"], z["reg"], blur)


class SampleBuilder:
    """Collects crop boxes per image, then crops them all at `size`."""

    def __init__(self, size):
        self.size = size
        self.parts = []

    def add(self, image, crops, kinds, roi=None, pts=None, reg=None, blur=None):
        crops = np.asarray(crops, dtype=np.float64).reshape(-1, 4)
        keep = kinds >= 0
        crops, kinds = crops[keep], np.asarray(kinds)[keep]
        n = len(crops)
        if n == 0:
            return
        roi = np.zeros((n, 4), np.float32) if roi is None else np.asarray(roi, np.float32)[keep]
        pts = np.zeros((n, 10), np.float32) if pts is None else np.asarray(pts, np.float32)[keep]
        reg = np.zeros(n, np.uint8) if reg is None else np.asarray(reg, np.uint8)[keep]
        blur = np.full(n, -1, np.int8) if blur is None else np.asarray(blur, np.int8)[keep]
        imgs = crop_resize(image, crops, self.size)
        self.parts.append(SampleSet(imgs, kinds.astype(np.int8), roi, pts, reg, blur))

    def build(self):
        if not self.parts:
            s = self.size
            return SampleSet(np.zeros((0, s, s, 3), np.uint8), np.zeros(0, np.int8),
                             np.zeros((0, 4), np.float32), np.zeros((0, 10), np.float32), np.zeros(0, np.uint8))
        return SampleSet.concat(self.parts)


def face_blur(kinds, best, blur_of_faces):
    """(N,) int8: the blur label of the face each positive / part crop was labelled by
    (`best`, classify_crops), -1 for the other crops or without labels."""
    out = np.full(len(kinds), -1, np.int8)
    if blur_of_faces is not None and len(blur_of_faces):
        face = (kinds == POS) | (kinds == PART)
        out[face] = np.asarray(blur_of_faces)[best[face]]
    return out


def sample_wider_image(builder, image, gts, rng, n_neg=50, n_near_neg=4, n_jitter=16, min_face=12,
                       with_regression=True, blur_of_faces=None):
    """Random negatives + near-face negatives + jittered pos/part crops of one image.
    blur_of_faces: (G,) WIDER blur labels of `gts`, kept with the face crops."""
    h, w = image.shape[:2]
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, 4)
    crops = [random_squares(n_neg, w, h, rng, min_size=min(12, min(w, h) - 1))]
    big = gts[np.maximum(gts[:, 2] - gts[:, 0], gts[:, 3] - gts[:, 1]) >= min_face] if len(gts) else gts
    for g in big:
        # negatives around the face: the side of the face, shifted by up to a side
        gw, gh = g[2] - g[0], g[3] - g[1]
        side = rng.uniform(max(min_face, 0.8 * min(gw, gh)), 1.5 * max(gw, gh), size=n_near_neg)
        cx = (g[0] + g[2]) / 2 + rng.uniform(-1.2, 1.2, size=n_near_neg) * side
        cy = (g[1] + g[3]) / 2 + rng.uniform(-1.2, 1.2, size=n_near_neg) * side
        crops.append(np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1))
        # broad jitter (mostly parts) + tight jitter (mostly positives)
        crops.append(jitter_squares(g, n_jitter // 2, rng))
        crops.append(jitter_squares(g, n_jitter - n_jitter // 2, rng, shift=0.1, scale=(0.9, 1.1)))
    crops = np.concatenate(crops)
    kinds, best, _ = classify_crops(crops, gts)
    # ambiguous / unused: crops leaving the image by more than a third get dropped
    side = crops[:, 2] - crops[:, 0]
    inside = ((np.minimum(crops[:, 2], w) - np.maximum(crops[:, 0], 0)) *
              (np.minimum(crops[:, 3], h) - np.maximum(crops[:, 1], 0))) / np.maximum(side * side, 1e-9)
    kinds[(inside < 0.66) | (side < 6)] = -1
    roi = regression_targets(crops, gts[best]) if len(gts) else np.zeros((len(crops), 4))
    reg = np.full(len(crops), 1 if with_regression else 0, np.uint8)
    builder.add(image, crops, kinds, roi=roi, reg=reg, blur=face_blur(kinds, best, blur_of_faces))


def sample_landmark_face(builder, image, box, points, rng, n_landmark=2, n_pos=2, n_neg=4,
                         box_regression=False, neg_avoid=None):
    """Landmark crops (IoU >= 0.65 with `box`) + positives (classification only
    unless box_regression) + negatives away from the face, for one annotated face.
    neg_avoid: more boxes (K, 4) the negatives must also stay below IoU 0.3 with."""
    h, w = image.shape[:2]
    box = np.asarray(box, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64).reshape(5, 2)
    # draw extra jitters: only about half land at IoU >= 0.65
    cand = jitter_squares(box, 4 * (n_landmark + n_pos) + 4, rng, shift=0.15, scale=(0.85, 1.15))
    kinds, _, max_iou = classify_crops(cand, box[None])
    # landmark crops must contain all 5 points
    p = pts[None]
    inside = np.all((p[..., 0] > cand[:, None, 0]) & (p[..., 0] < cand[:, None, 2]) &
                    (p[..., 1] > cand[:, None, 1]) & (p[..., 1] < cand[:, None, 3]), axis=1)
    good = np.where((kinds == POS) & inside)[0]
    lm = cand[good[:n_landmark]]
    if len(lm):
        builder.add(image, lm, np.full(len(lm), LANDMARK), pts=landmark_targets(lm, np.repeat(pts[None], len(lm), 0)))
    pos = cand[np.where(kinds == POS)[0][n_landmark:n_landmark + n_pos]]
    if len(pos):
        builder.add(image, pos, np.full(len(pos), POS), roi=regression_targets(pos, np.repeat(box[None], len(pos), 0)),
                    reg=np.full(len(pos), 1 if box_regression else 0))
    if n_neg:
        neg = random_squares(4 * n_neg, w, h, rng, min_size=min(12, min(w, h) - 1), max_frac=0.6)
        avoid = box[None] if neg_avoid is None else np.vstack([box[None], np.asarray(neg_avoid, np.float64)])
        k, _, _ = classify_crops(neg, avoid)
        neg = neg[k == NEG][:n_neg]
        builder.add(image, neg, np.full(len(neg), NEG))


def cuhk_box_reference(records):
    """(centre below the eye midpoint, side) of the face boxes of `records` (FaceRecords
    with box and points), in eye-to-mouth distances, medians."""
    cy, side = [], []
    for rec in records:
        eye = (rec.points[0] + rec.points[1]) / 2
        em = np.linalg.norm((rec.points[3] + rec.points[4]) / 2 - eye)
        cy.append(((rec.box[1] + rec.box[3]) / 2 - eye[1]) / em)
        side.append((rec.box[2] - rec.box[0]) / em)
    return float(np.median(cy)), float(np.median(side))


# cuhk_box_reference of cuhk_facepoint/train_net7876.txt (tests check it), kept here so that
# faces known by their points only (LFW crops, CelebA) get CUHK-convention boxes without it
CUHK_BOX_REFERENCE = (0.48585604532376353, 1.9700969175475163)


def box_from_points(points, ref=CUHK_BOX_REFERENCE):
    """A face box in the CUHK convention fitted to 5 points.

    ref: (cy_rel, side_rel) measured on cuhk_facepoint train: box centre is
    cy_rel eye-to-mouth distances below the eye midpoint, side = side_rel of it.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(5, 2)
    eye = (pts[0] + pts[1]) / 2
    mouth = (pts[3] + pts[4]) / 2
    em = np.linalg.norm(mouth - eye)
    cx = pts[:, 0].mean()
    cy = eye[1] + ref[0] * em
    side = ref[1] * em
    return np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
