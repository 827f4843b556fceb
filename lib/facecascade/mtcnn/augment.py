"""Augmentations of MTCNN training crops that move or hide content: occluders (used
for the shipped det2/det3), lower resolution and turns (tried, not used).  Flips and
photometric jitter are in batches.py.  docs/TRAINING.md says which recipe uses what."""
import numpy as np


def degrade_resolution(images_nhwc, rng, frac=(0.35, 1.0)):
    """Each crop shrunk to a random fraction (in `frac`) of its side and blown back up.

    Why: WIDER faces of 20-50 px reach O-Net (48 px) upsampled and soft, while
    most training faces (CUHK, LFW, large WIDER faces) are downsampled and
    sharp, and most faces the detector lost on wider_eval were in that bucket.
    Measured: no AP gain, not used for the shipped nets (experiments/README.md)."""
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
    training faces are whole (+1.45 AP on wider_eval; docs/TRAINING.md).  Another crop's pixels stand for a textured
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
    training faces (CUHK, LFW, posed WIDER faces) are mostly upright.  Measured with
    --rotation 0.5 on top of the occluders: less AP on both WIDER sets, not used for
    the shipped nets (experiments/README.md).  Returns (images, roi, pts)."""
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
