"""Training samples for the two landmark levels: region -> 48x48 image + 10 values in [-1, 1].

Level 1 sees either the whole image (the seed's mode) or a face box grown by a
random margin (tight crops included), so one model serves both.  Level 2 sees
the seed's crop around level-1 points; for training, level-1 points are
simulated from the ground truth with errors shaped like a level-1 net's (a
random similarity of the whole shape plus per-point noise), or given as real
level-1 predictions.

Augmentation (see AugmentConfig): horizontal flip with the left/right swap,
rotation, scale and shift jitter of the region (on by default: the shipped
models' data).  The robustness augmentations are off by default, so old runs
reproduce: a share of samples rotated anywhere on the full circle, framing
around the points' centroid (tight MTFL-like to loose), grayscale, low
resolution (down to a few px between the eyes and back up), JPEG re-encoding
at low quality, and synthetic occluders over an eye, both eyes, the nose or
the mouth.  Degradations act on the source image before the crop, as a photo
would carry them, and never move the points.  Rotated faces keep their labels
(points rotate with the face: point 1 stays the eye that is image-left when
the face is upright).
"""
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from . import geometry as geo
from .images import ImageReadError, read_image, write_image
from .records import FaceRecord, LabelFormatError, check_points_in_image, write_label_list


@dataclass
class AugmentConfig:
    samples_per_face: int = 16
    flip: bool = True                 # mirror half of the samples (points swapped)
    max_rotation: float = 15.0        # degrees, uniform in +-
    scale_jitter: float = 0.10        # region size x uniform(1 - j, 1 + j)
    shift_jitter: float = 0.08        # region centre moved by uniform(+-j) x size
    whole_fraction: float = 0.35      # level 1: share of samples that see the whole image
    margin_min: float = -0.05         # level 1 box mode: margin range around the box
    margin_max: float = 0.40
    # level 2: simulated level-1 error, in units of the inter-ocular distance
    l1_shift: float = 0.08
    l1_scale: float = 0.06
    l1_rotation: float = 5.0
    l1_point_noise: float = 0.04
    l2_half_factor: float = geo.L2_HALF_FACTOR   # level-2 crop half-side / level2_scale
    l2_scale: str = geo.L2_SCALE                 # geometry.level2_scale rule
    # --- robustness augmentations (all off by default: old runs reproduce)
    full_rotation: float = 0.0        # share of samples rotated uniformly in [-180, 180) degrees
    point_frame_fraction: float = 0.0  # level 1: share framed around the points' centroid ...
    frame_min: float = 3.6            # ... side = uniform(min, max) x the largest centroid-point
    frame_max: float = 9.0            #     distance (MTFL 80x80 crops: ~4.3; LFW training: ~7.9)
    grayscale: float = 0.0            # probability of a gray (3 equal channels) source
    lowres: float = 0.0               # probability of down- and up-scaling the source ...
    lowres_iod_min: float = 7.0       # ... to uniform(min, max) px between the eyes
    lowres_iod_max: float = 30.0
    jpeg: float = 0.0                 # probability of JPEG re-encoding ...
    jpeg_quality_min: int = 8         # ... at uniform quality in [min, max]
    jpeg_quality_max: int = 50
    occluder: float = 0.0             # probability of a synthetic occluder (eye, eyes, nose, mouth)
    l2_derotate: bool = False         # level 2: crop turned upright by the eye line of level 1's points


def _jitter(region: geo.Region, cfg, rng, size=geo.NET_INPUT):
    """Affine image px -> net px of `region` after rotation/scale/shift jitter."""
    cx, cy = region.centre
    s = rng.uniform(1 - cfg.scale_jitter, 1 + cfg.scale_jitter)
    dx = rng.uniform(-cfg.shift_jitter, cfg.shift_jitter) * region.width
    dy = rng.uniform(-cfg.shift_jitter, cfg.shift_jitter) * region.height
    jittered = geo.Region(cx + dx - region.width * s / 2, cy + dy - region.height * s / 2,
                          region.width * s, region.height * s)
    angle = _angle(cfg, rng)
    # rotate the image content about the region centre, then map the region
    rot = np.vstack([_rotation(angle, cx + dx, cy + dy), [0, 0, 1]])
    return (np.vstack([jittered.affine(size), [0, 0, 1]]) @ rot)[:2]


def _angle(cfg, rng):
    """Rotation of one sample in degrees (the extra draw only when enabled, so
    that old configurations give the same samples)."""
    if cfg.full_rotation > 0 and rng.random() < cfg.full_rotation:
        return rng.uniform(-180.0, 180.0)
    return rng.uniform(-cfg.max_rotation, cfg.max_rotation)


def _rotation(degrees, cx, cy):
    return cv2.getRotationMatrix2D((float(cx), float(cy)), float(degrees), 1.0)


# --- image degradations: the points stay where they are
def grayscale(image):
    """BGR -> gray, as three equal channels."""
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


def downscale_to_iod(image, points, iod_px):
    """The image shrunk (INTER_AREA) until the eyes are `iod_px` apart, then
    enlarged back (INTER_LINEAR) to its size; unchanged if already that small."""
    p = np.asarray(points, dtype=np.float64)
    f = iod_px / max(float(np.linalg.norm(p[0] - p[1])), 1e-6)
    if f >= 1.0:
        return image
    h, w = image.shape[:2]
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def jpeg_reencode(image, quality):
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


OCCLUDED_PARTS = ("eye", "eyes", "nose", "mouth")


def occluder_polygon(points, part, size=1.0, which_eye=0):
    """Corners (4, 2) of a rectangle over `part`, turned with the eye line;
    sizes in inter-ocular distances (x `size`)."""
    p = np.asarray(points, dtype=np.float64)
    eye_vec = p[1] - p[0]
    iod = max(float(np.linalg.norm(eye_vec)), 1e-6)
    ux = eye_vec / iod
    uy = np.array([-ux[1], ux[0]])
    if part == "eye":
        centre, w, h = p[which_eye], 0.7, 0.5
    elif part == "eyes":
        centre, w, h = p[:2].mean(0), 1.8, 0.5
    elif part == "nose":
        centre, w, h = p[2], 0.5, 0.6
    elif part == "mouth":
        centre = p[3:].mean(0)
        w, h = float(np.linalg.norm(p[4] - p[3])) / iod + 0.4, 0.55
    else:
        raise ValueError(f"unknown part {part!r} (one of {', '.join(OCCLUDED_PARTS)})")
    half_w, half_h = w * size * iod / 2, h * size * iod / 2
    return np.array([centre + sx * half_w * ux + sy * half_h * uy
                     for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])


def draw_occluder(image, polygon, colour=None, rng=None, ellipse=False):
    """A filled rectangle (or the ellipse inscribed in it) in one colour, or of
    random noise when colour is None (rng needed)."""
    out = image.copy()
    mask = np.zeros(image.shape[:2], np.uint8)
    poly = np.asarray(polygon, dtype=np.float64)
    if ellipse:
        centre = poly.mean(0)
        axes = (np.linalg.norm(poly[1] - poly[0]) / 2, np.linalg.norm(poly[3] - poly[0]) / 2)
        angle = np.degrees(np.arctan2(*(poly[1] - poly[0])[::-1]))
        cv2.ellipse(mask, (tuple(centre), tuple(axes), float(angle)), 255, -1)
    else:
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    if colour is None:
        fill = rng.integers(0, 256, image.shape, dtype=np.uint8)
        fill = cv2.GaussianBlur(fill, (0, 0), float(rng.uniform(0.5, 3.0)))
    else:
        fill = np.empty_like(image)
        fill[...] = np.asarray(colour, dtype=np.uint8)
    out[mask > 0] = fill[mask > 0]
    return out


def degrade(image, points, cfg, rng):
    """The source image with the sample's photometric augmentations (each drawn
    only when its probability is non-zero); the points do not move."""
    if cfg.occluder > 0 and rng.random() < cfg.occluder:
        part = OCCLUDED_PARTS[rng.integers(len(OCCLUDED_PARTS))]
        poly = occluder_polygon(points, part, rng.uniform(0.8, 1.5), int(rng.integers(2)))
        colour = None if rng.random() < 0.3 else rng.integers(0, 256, 3)
        image = draw_occluder(image, poly, colour, rng, ellipse=bool(rng.random() < 0.5))
    if cfg.grayscale > 0 and rng.random() < cfg.grayscale:
        image = grayscale(image)
    if cfg.lowres > 0 and rng.random() < cfg.lowres:
        image = downscale_to_iod(image, points, rng.uniform(cfg.lowres_iod_min, cfg.lowres_iod_max))
    if cfg.jpeg > 0 and rng.random() < cfg.jpeg:
        image = jpeg_reencode(image, rng.integers(cfg.jpeg_quality_min, cfg.jpeg_quality_max + 1))
    return image


def rotate_image(image, points, degrees):
    """The whole image turned `degrees` clockwise on screen (the eye line's angle
    grows by `degrees`) about its centre, on a canvas grown to hold all of it
    (black corners), with the points moved along.  Returns (image, points, matrix)."""
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), -float(degrees), 1.0)
    corners = geo.apply_affine(m, [[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
    lo, hi = corners.min(0), corners.max(0)
    size = np.ceil(hi - lo - 1e-6).astype(int)
    m[:, 2] -= lo + 0.5   # the canvas's corner pixel edge at -0.5
    out = cv2.warpAffine(image, m, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT)
    return out, geo.apply_affine(m, points), m


def _sample(image, points, matrix, rng, cfg):
    image = degrade(image, points, cfg, rng)
    img = geo.warp(image, matrix, geo.NET_INPUT)
    unit = geo.net_to_unit(geo.apply_affine(matrix, points))
    if cfg.flip and rng.random() < 0.5:
        img = img[:, ::-1].copy()
        unit = geo.flip_unit(unit)
    return img, unit


def level1_regions(record: FaceRecord, width, height, cfg, rng):
    """The base region of each level-1 sample: whole image or box + margin."""
    box = record.box if record.box is not None else geo.fit_box(record.points)
    for _ in range(cfg.samples_per_face):
        if rng.random() < cfg.whole_fraction:
            yield geo.Region.whole_image(width, height)
        elif cfg.point_frame_fraction > 0 and rng.random() < cfg.point_frame_fraction / (1 - cfg.whole_fraction):
            yield geo.point_frame(record.points, rng.uniform(cfg.frame_min, cfg.frame_max))
        else:
            yield geo.Region.from_box(box, margin=rng.uniform(cfg.margin_min, cfg.margin_max))


def simulate_level1(points, cfg, rng):
    """Ground-truth points disturbed like a level-1 prediction."""
    p = np.asarray(points, dtype=np.float64)
    iod = float(np.linalg.norm(p[0] - p[1]))
    centre = p.mean(0)
    angle = np.deg2rad(rng.normal(0, cfg.l1_rotation))
    s = 1 + rng.normal(0, cfg.l1_scale)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) * s
    shift = rng.normal(0, cfg.l1_shift, 2) * iod
    noise = rng.normal(0, cfg.l1_point_noise, (5, 2)) * iod
    return (p - centre) @ rot.T + centre + shift + noise


def make_samples(image, record, level, cfg, rng, l1_points=None):
    """[(48x48 image, (5,2) unit points)] for one face."""
    h, w = image.shape[:2]
    out = []
    if level == 1:
        for region in level1_regions(record, w, h, cfg, rng):
            out.append(_sample(image, record.points, _jitter(region, cfg, rng), rng, cfg))
    else:
        for i in range(cfg.samples_per_face):
            guess = simulate_level1(record.points, cfg, rng) if l1_points is None or i > 0 else l1_points
            if cfg.l2_derotate:
                # upright crop by the guess's eye line: the residual rotation is
                # the simulated level-1 error, as at inference
                matrix = geo.level2_crop(guess, w, h, cfg.l2_half_factor, cfg.l2_scale, derotate=True)[0]
                out.append(_sample(image, record.points, matrix, rng, cfg))
                continue
            region, _ = geo.level2_region(guess, w, h, cfg.l2_half_factor, cfg.l2_scale)
            # the crop itself is exactly the seed's rule; only flips and small
            # rotations are added (the simulated level-1 error already moves it)
            small = AugmentConfig(flip=cfg.flip, max_rotation=min(cfg.max_rotation, 10.0),
                                  scale_jitter=0.0, shift_jitter=0.0)
            out.append(_sample(image, record.points, _jitter(region, small, rng), rng, cfg))
    return out


def generate(records, out_dir, list_name, level, cfg, seed=0, l1_predictions=None, progress=True):
    """Write the samples of `records` as PNGs under out_dir/<list stem>/ and the
    ImageData list out_dir/list_name (path + 10 values).  Bad records (missing or
    corrupt images, points outside the image) are skipped and counted.
    Returns {"written": n, "faces": n, "skipped": {reason: n}, "examples": [...]}."""
    out_dir = Path(out_dir)
    stem = Path(list_name).stem
    img_dir = out_dir / stem
    img_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, skipped, examples = [], {}, []
    faces = 0
    for i, record in enumerate(tqdm(records, desc=f"level {level} {stem}", unit="face", disable=not progress)):
        try:
            image = read_image(record.image, where=record.where)
            check_points_in_image(record, image.shape[1], image.shape[0])
        except (ImageReadError, LabelFormatError) as e:
            reason = "image unreadable" if isinstance(e, ImageReadError) else "points outside image"
            skipped[reason] = skipped.get(reason, 0) + 1
            if len(examples) < 10:
                examples.append(str(e))
            continue
        faces += 1
        l1 = None if l1_predictions is None else l1_predictions[i]
        for k, (img, unit) in enumerate(make_samples(image, record, level, cfg, rng, l1)):
            rel = f"{stem}/{i:06d}_{k:02d}.png"
            write_image(out_dir / rel, img)
            rows.append((rel, unit.reshape(-1)))
    write_label_list(out_dir / list_name, rows)
    return {"written": len(rows), "faces": faces, "skipped": skipped, "examples": examples}
