"""Training samples for the two landmark levels: region -> 48x48 image + 10 values in [-1, 1].

Level 1 sees either the whole image (the seed's mode) or a face box grown by a
random margin (tight crops included), so one model serves both.  Level 2 sees
the seed's crop around level-1 points; for training, level-1 points are
simulated from the ground truth with errors shaped like a level-1 net's (a
random similarity of the whole shape plus per-point noise), or given as real
level-1 predictions.

Augmentation (all on by default, see AugmentConfig): horizontal flip with the
left/right swap, rotation, scale and shift jitter of the region.
"""
from dataclasses import dataclass
from pathlib import Path

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


def _jitter(region: geo.Region, cfg, rng, size=geo.NET_INPUT):
    """Affine image px -> net px of `region` after rotation/scale/shift jitter."""
    cx, cy = region.centre
    s = rng.uniform(1 - cfg.scale_jitter, 1 + cfg.scale_jitter)
    dx = rng.uniform(-cfg.shift_jitter, cfg.shift_jitter) * region.width
    dy = rng.uniform(-cfg.shift_jitter, cfg.shift_jitter) * region.height
    jittered = geo.Region(cx + dx - region.width * s / 2, cy + dy - region.height * s / 2,
                          region.width * s, region.height * s)
    angle = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
    # rotate the image content about the region centre, then map the region
    rot = np.vstack([_rotation(angle, cx + dx, cy + dy), [0, 0, 1]])
    return (np.vstack([jittered.affine(size), [0, 0, 1]]) @ rot)[:2]


def _rotation(degrees, cx, cy):
    import cv2
    return cv2.getRotationMatrix2D((float(cx), float(cy)), float(degrees), 1.0)


def _sample(image, points, matrix, rng, cfg):
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
