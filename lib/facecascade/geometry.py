"""Regions, crops, flips and alignment: the only place coordinates change convention.

Pixel convention: pixel (i, j) is centred at x = i, y = j and covers
[i - 0.5, i + 0.5]; a Region is a continuous rectangle in those coordinates
(left, top, width, height).  A net of input size S sees the region resized to
S x S: image x maps to net pixel u = (x - left) * S / width - 0.5, and to the
normalised label n = (x - left) * 2 / width - 1, so the region's edges are at
-1 and +1 (the seed's label convention).  cv2.resize and cv2.warpAffine use the
same pixel-centre convention, so crops and labels agree to the sub-pixel.
"""
from dataclasses import dataclass

import cv2
import numpy as np

NET_INPUT = 48
# Index permutation of a horizontal flip: left eye <-> right eye, nose stays,
# left mouth <-> right mouth.
FLIP_ORDER = np.array([1, 0, 2, 4, 3])
# The usual 112x112 five-point template (InsightFace / ArcFace), same point order.
ALIGN_TEMPLATE_112 = np.array([
    [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
    [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


@dataclass(frozen=True)
class Region:
    left: float
    top: float
    width: float
    height: float

    # --- constructors
    @classmethod
    def whole_image(cls, width, height):
        return cls(-0.5, -0.5, float(width), float(height))

    @classmethod
    def from_box(cls, box, margin=0.0, square=True):
        """A face box (x1, y1, x2, y2) grown by `margin` of its size on every side."""
        x1, y1, x2, y2 = map(float, box)
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0:
            raise ValueError(f"empty box {box}")
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        if square:
            w = h = max(w, h)
        w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
        return cls(cx - w / 2, cy - h / 2, w, h)

    @classmethod
    def centred(cls, cx, cy, half_w, half_h=None):
        half_h = half_w if half_h is None else half_h
        return cls(cx - half_w, cy - half_h, 2 * half_w, 2 * half_h)

    # --- properties
    @property
    def centre(self):
        return self.left + self.width / 2, self.top + self.height / 2

    @property
    def diagonal(self):
        return float(np.hypot(self.width, self.height))

    def clip(self, img_w, img_h, min_size=2.0):
        """Intersect with the image; never empty (a region wholly outside is
        moved inside, keeping at least `min_size` px)."""
        l = max(self.left, -0.5)
        t = max(self.top, -0.5)
        r = min(self.left + self.width, img_w - 0.5)
        b = min(self.top + self.height, img_h - 0.5)
        min_w = min(min_size, img_w)
        min_h = min(min_size, img_h)
        if r - l < min_w:
            l = float(np.clip(l, -0.5, img_w - 0.5 - min_w))
            r = l + min_w
        if b - t < min_h:
            t = float(np.clip(t, -0.5, img_h - 0.5 - min_h))
            b = t + min_h
        return Region(l, t, r - l, b - t)

    def is_inside(self, img_w, img_h, eps=1e-6):
        return (self.left >= -0.5 - eps and self.top >= -0.5 - eps and
                self.left + self.width <= img_w - 0.5 + eps and
                self.top + self.height <= img_h - 0.5 + eps)

    # --- point mappings
    def to_unit(self, points):
        """Image px -> [-1, 1] over the region."""
        p = np.asarray(points, dtype=np.float64)
        out = np.empty_like(p)
        out[..., 0] = (p[..., 0] - self.left) * 2.0 / self.width - 1.0
        out[..., 1] = (p[..., 1] - self.top) * 2.0 / self.height - 1.0
        return out

    def from_unit(self, unit):
        """[-1, 1] over the region -> image px."""
        u = np.asarray(unit, dtype=np.float64)
        out = np.empty_like(u)
        out[..., 0] = (u[..., 0] + 1.0) * self.width / 2.0 + self.left
        out[..., 1] = (u[..., 1] + 1.0) * self.height / 2.0 + self.top
        return out

    def affine(self, size=NET_INPUT):
        """2x3 matrix: image px -> net pixel (u, v) of a size x size input."""
        sx, sy = size / self.width, size / self.height
        return np.array([[sx, 0.0, -self.left * sx - 0.5],
                         [0.0, sy, -self.top * sy - 0.5]])


def crop(image, region: Region, size=NET_INPUT, border=cv2.BORDER_REPLICATE):
    """The region resized to size x size."""
    return warp(image, region.affine(size), size, border)


def warp(image, matrix, size, border=cv2.BORDER_REPLICATE):
    """Apply a 2x3 image-px -> output-px affine (crops, augmentation, alignment).

    When the affine shrinks by more than 2x, the window of the image it reads is
    first shrunk with INTER_AREA to about twice the target scale, so that a
    1800 px face does not alias into 48 px (training and inference both come
    here, so they see the same resampling)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    h, w = image.shape[:2]
    if scale < 0.5:
        inv = cv2.invertAffineTransform(matrix)
        corners = apply_affine(inv, [[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
        x0 = int(max(np.floor(corners[:, 0].min()), 0))
        y0 = int(max(np.floor(corners[:, 1].min()), 0))
        x1 = int(min(np.ceil(corners[:, 0].max()) + 1, w))
        y1 = int(min(np.ceil(corners[:, 1].max()) + 1, h))
        if x1 > x0 and y1 > y0:
            f = 2.0 * scale
            nw = max(1, int(round((x1 - x0) * f)))
            nh = max(1, int(round((y1 - y0) * f)))
            small = cv2.resize(image[y0:y1, x0:x1], (nw, nh), interpolation=cv2.INTER_AREA)
            fx, fy = nw / (x1 - x0), nh / (y1 - y0)
            # window pixel: x' = (x - x0 + 0.5) * fx - 0.5
            pre = np.array([[fx, 0, (0.5 - x0) * fx - 0.5], [0, fy, (0.5 - y0) * fy - 0.5], [0, 0, 1]])
            matrix = (np.vstack([matrix, [0, 0, 1]]) @ np.linalg.inv(pre))[:2]
            image = small
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=border)


def net_to_unit(uv, size=NET_INPUT):
    """Net-input pixel coordinates -> [-1, 1] (edges of the input at -1 and +1)."""
    return (np.asarray(uv, dtype=np.float64) + 0.5) * (2.0 / size) - 1.0


def apply_affine(matrix, points):
    p = np.asarray(points, dtype=np.float64)
    return p @ matrix[:, :2].T + matrix[:, 2]


def flip_points(points, width):
    """Mirror points of an image `width` px wide, swapping left/right labels."""
    p = np.asarray(points, dtype=np.float64).copy()
    p[..., 0] = (width - 1) - p[..., 0]
    return p[..., FLIP_ORDER, :]


def flip_unit(unit):
    """Mirror [-1, 1] points of a region, swapping left/right labels."""
    u = np.asarray(unit, dtype=np.float64).copy()
    u[..., 0] = -u[..., 0]
    return u[..., FLIP_ORDER, :]


# The seed's level-2 crop has half-side 2 x |nose - left eye|.  Around a face box
# that is about as wide as level 1's own region, so level 2 saw the face at no
# higher resolution than level 1.  |nose - left eye| also varies with head pose
# (5-95%: 0.57-1.05 inter-ocular distances on our training set), so the crop's
# scale followed the pose rather than the face.  The shipped level 2 measures the
# scale as the mean distance from the nose to the other four points ("points",
# whose max-coordinate spread over it is 0.98 median, 1.26 at the 99th
# percentile) and uses half-factor 1.35; both are recorded in
# 3_demo/Data/cascade.json (figures: bench/level2_crop_scale.py).  The seed's
# rule stays available: scale "left_eye", half-factor 2.0.
SEED_L2_HALF_FACTOR = 2.0
SEED_L2_SCALE = "left_eye"
L2_HALF_FACTOR = 1.35
L2_SCALE = "points"
L2_SCALES = ("left_eye", "points")


def level2_scale(points, rule=SEED_L2_SCALE):
    """The length level 2's crop half-side is a multiple of (see L2_SCALES)."""
    p = np.asarray(points, dtype=np.float64)
    nose = p[2]
    if rule == "left_eye":
        return float(np.hypot(*(nose - p[0])))
    if rule == "points":
        return float(np.hypot(*(p[[0, 1, 3, 4]] - nose).T).mean())
    raise ValueError(f"unknown level-2 scale rule {rule!r} (one of {', '.join(L2_SCALES)})")


# The smallest level-2 half-side, as a share of the longer side of what level 1 saw:
# a collapsed level-1 guess (points on top of each other) still gets a crop.
L2_MIN_HALF_SHARE = 0.05


def _level2_centre_half(p, img_w, img_h, half_factor, scale, level1_side):
    """Level 2's crop centre (level 1's nose, moved into the image) and half-side
    (at least L2_MIN_HALF_SHARE of level 1's side); clamped: either was forced."""
    nose = p[2]
    half = half_factor * level2_scale(p, scale)
    clamped = False
    min_half = L2_MIN_HALF_SHARE * (max(img_w, img_h) if level1_side is None else level1_side)
    if not np.isfinite(half) or half < min_half:
        half, clamped = min_half, True
    cx = float(np.clip(nose[0], -0.5, img_w - 0.5))
    cy = float(np.clip(nose[1], -0.5, img_h - 0.5))
    if (cx, cy) != (nose[0], nose[1]):
        clamped = True
    return cx, cy, half, clamped


def level2_region(l1_points, img_w, img_h, half_factor=SEED_L2_HALF_FACTOR, scale=SEED_L2_SCALE,
                  level1_side=None):
    """The level-2 crop: a square centred on level 1's nose with half-side
    half_factor x level2_scale(points, scale) (the seed: 2 x |nose - left eye|),
    clipped to the image.  Returns (region, clamped): `clamped` is True when
    level 1's points fell outside the image or the crop would have been
    degenerate, and the crop was moved/grown to stay valid.
    level1_side: the longer side of level 1's region (default: the image's, as
    in the whole-image mode); the half-side is at least L2_MIN_HALF_SHARE of it.
    Relative to the image instead, a 20 px face in a 1000 px photo got a level-2
    crop of 100 px, five faces wide, and level 2 read it as one face."""
    p = np.asarray(l1_points, dtype=np.float64)
    cx, cy, half, clamped = _level2_centre_half(p, img_w, img_h, half_factor, scale, level1_side)
    region = Region.centred(cx, cy, half).clip(img_w, img_h, min_size=8.0)
    return region, clamped


def eye_line_degrees(points):
    """Angle of the line from point 1 (left eye) to point 2 (right eye), degrees,
    image axes (y down): 0 upright, 90 a face turned a quarter clockwise."""
    p = np.asarray(points, dtype=np.float64)
    d = p[1] - p[0]
    return float(np.degrees(np.arctan2(d[1], d[0])))


def level2_crop(l1_points, img_w, img_h, half_factor=SEED_L2_HALF_FACTOR, scale=SEED_L2_SCALE,
                level1_side=None, derotate=False):
    """Level 2's crop as (matrix, region, angle, clamped): matrix maps image px to
    the net's input px.  Without derotate: exactly level2_region (axis-aligned,
    clipped), angle 0.  With derotate: the same centre and half-side, turned by
    the eye line of level 1's points so that level 2 sees the face upright
    whatever its rotation in the image; not clipped (the rotated square may
    leave the image: warp replicates the border), region is the square before
    turning.  Map level 2's output back with unit_to_image."""
    p = np.asarray(l1_points, dtype=np.float64)
    if not derotate:
        region, clamped = level2_region(p, img_w, img_h, half_factor, scale, level1_side)
        return region.affine(), region, 0.0, clamped
    cx, cy, half, clamped = _level2_centre_half(p, img_w, img_h, half_factor, scale, level1_side)
    angle = eye_line_degrees(p)
    if not np.isfinite(angle):
        angle, clamped = 0.0, True
    region = Region.centred(cx, cy, half)
    return turned_square(cx, cy, half, angle), region, angle, clamped


def turned_square(cx, cy, half, angle):
    """2x3 matrix: image px -> net input px of the square (centre, half-side) turned
    by `angle` degrees about its centre (what is at `angle` in the image is level in it)."""
    upright = np.vstack([cv2.getRotationMatrix2D((float(cx), float(cy)), angle, 1.0), [0, 0, 1]])
    return (np.vstack([Region.centred(cx, cy, half).affine(), [0, 0, 1]]) @ upright)[:2]


def upright_frame(points, half_factor):
    """(matrix, angle) of a square crop centred on the points' centroid, half-side =
    half_factor x the largest centroid-to-point distance, turned by the eye line so
    that the face is upright in it (the matrix maps image px to the net's input px;
    map the net's output back with unit_to_image).  A level 1 trained on upright
    faces reads a face at any roll through it, once a first guess gave the eye line.
    None when the points are degenerate (all in one place, or not finite)."""
    p = np.asarray(points, dtype=np.float64)
    c = p.mean(0)
    r = float(np.max(np.linalg.norm(p - c, axis=1)))
    angle = eye_line_degrees(p)
    if not (np.isfinite(angle) and np.isfinite(r) and r > 0):
        return None
    return turned_square(c[0], c[1], half_factor * r, angle), angle


def unit_to_image(matrix, unit, size=NET_INPUT):
    """[-1, 1] outputs of a net fed warp(image, matrix, size) -> image px."""
    uv = (np.asarray(unit, dtype=np.float64) + 1.0) * (size / 2.0) - 0.5
    return apply_affine(cv2.invertAffineTransform(np.asarray(matrix, dtype=np.float64)), uv)


def point_frame(points, side_factor):
    """A square region centred on the points' centroid, side = side_factor x the
    largest centroid-to-point distance (MTFL's 80x80 crops: about 4.3)."""
    p = np.asarray(points, dtype=np.float64)
    c = p.mean(0)
    r = float(np.max(np.linalg.norm(p - c, axis=1)))
    return Region.centred(c[0], c[1], side_factor * r / 2)


def fit_box(points, scale=1.0):
    """A square face box around 5 points (used where a data set has none, e.g. the
    80x80 LFW crops whose face fills only part of the image). The box side is
    `scale` x 2.2 x the spread of the points, centred between eyes and mouth."""
    p = np.asarray(points, dtype=np.float64)
    centre = (p[[0, 1]].mean(0) + p[[3, 4]].mean(0)) / 2
    spread = max(np.ptp(p[:, 0]), np.ptp(p[:, 1]), 1e-3)
    half = 1.1 * spread * scale
    return (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half)


def similarity_transform(src, dst):
    """Least-squares similarity (rotation, uniform scale, translation) mapping
    src points onto dst points (Umeyama); returns a 2x3 matrix."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    e = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        e[1, 1] = -1
    rot = u @ e @ vt
    scale = np.trace(np.diag(sig) @ e) / s.var(0).sum()
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def align_face(image, points, size=112):
    """The face warped by the similarity of its 5 points onto the 112x112 template
    (scaled for other sizes)."""
    template = ALIGN_TEMPLATE_112 * (size / 112.0)
    m = similarity_transform(points, template)
    return warp(image, m, size, border=cv2.BORDER_CONSTANT)
