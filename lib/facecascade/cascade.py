"""The two-level landmark cascade: level 1 on a region, level 2 on the seed's
crop around level 1's points, both mapped back to image pixels.

    lc = LandmarkCascade.from_shipped(backend="auto")
    res = lc.predict(image_bgr, box=(x1, y1, x2, y2))   # or box=None: whole image
    res.l1, res.l2                                       # (5, 2) image px
"""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import numpy as np

from . import geometry as geo
from .paths import DEMO_DATA
from .runtime import load_net, to_blob

# Level 1's region around a face box: the box grown by this margin on every
# side (the middle of the margins level 1 was trained on).
BOX_MARGIN = 0.15
# ... and around a box of our MTCNN: none.  The detector's boxes follow WIDER's
# convention (forehead to chin), larger than the CUHK boxes level 1 was trained on,
# so BOX_MARGIN around them makes level 1's region too large (chosen on cuhk train
# with mtcnn/5_evaluate/compare_landmarks.py --box-margin; docs/METHOD.md).
DETECTOR_BOX_MARGIN = 0.0
# Without a box, a second level-1 pass (card key l1_passes) runs on a square
# around the first pass's points, side = this x the largest centroid-to-point
# distance (level 1 is trained on point frames of 3.6-9x), so a face that was
# small in the whole image is seen large.  Chosen on the even-indexed cuhk test
# faces, whole image, cascade NME: 4.5x 4.51 %, 6x 4.30 %, 7.5x 5.25 %, 9x 7.31 %.
L1_REFRAME_FACTOR = 6.0
# A cascade card may name a level 1 trained on faces at any rotation (key
# "l1_any_angle": the stem of its files beside the card).  It then gives the first
# guess; level 1 (trained upright) runs again, "upright_passes" times, on a crop turned
# upright by that guess's eye line, and level 2 follows.  So both upright-trained nets
# see upright faces whatever the roll.  The crop: with a face box, level 1's own region
# turned about its centre (geometry.turned_square), or not turned at all when the
# guess's roll is within the range level 1 was trained on (card key "l1_trained_roll",
# degrees; the shipped level 1: +-15, datagen.AugmentConfig.max_rotation), where level 1
# reads the face as it did before the any-angle net; without a box, a square around
# the guess's points (geometry.upright_frame, half-side = "upright_half_factor" x the
# largest centroid-to-point distance).  Framing by the box, not by the guess's points,
# keeps a bad guess (a hidden mouth) from shifting and scaling level 1's crop.
UPRIGHT_HALF_FACTOR = 2.3
# A card may also name a second level 2 (key "l2_first_pass": the stem of its files
# beside the card) for the first level-2 pass; the shipped level 2 runs the others.  The
# shipped card's is fine-tuned with occluders, grayscale, low resolution and JPEG
# (2_level_2/Code/0_train/solver_robust.prototxt): alone it is worse on clean faces,
# as the first of two averaged passes it halves the hidden-mouth failures.
UNTURNED = "unturned"  # the upright crop of a face whose first guess is within l1_trained_roll
# How the shipped models are meant to be used (box margin, level-2 crop factor).
MODEL_CARD = DEMO_DATA / "cascade.json"
SHIPPED = {
    "l1": (DEMO_DATA / "l1_deploy.prototxt", DEMO_DATA / "l1.caffemodel"),
    "l2": (DEMO_DATA / "l2_deploy.prototxt", DEMO_DATA / "l2.caffemodel"),
}


@dataclass
class CascadeResult:
    l1: np.ndarray                 # (5, 2) level-1 points, image px
    l2: Optional[np.ndarray]       # (5, 2) level-2 points, image px (None without level 2)
    l1_region: geo.Region
    l2_region: Optional[geo.Region]
    clamped: bool = False          # level-1 points fell outside the image; the crop was clamped
    l2_angle: float = 0.0          # degrees level 2's crop was turned by (l2_derotate), else 0

    @property
    def points(self):
        return self.l2 if self.l2 is not None else self.l1


def level1_region(image_shape, box=None, margin=BOX_MARGIN):
    h, w = image_shape[:2]
    if box is None:
        return geo.Region.whole_image(w, h)
    return geo.Region.from_box(box, margin=margin)


def read_settings(card_path):
    """The settings of a model card (cascade.json) with defaults for missing keys."""
    settings = {"box_margin": BOX_MARGIN, "l2_half_factor": geo.L2_HALF_FACTOR, "l2_scale": geo.L2_SCALE,
                "l2_derotate": False, "l2_passes": 1, "l2_mean_of_passes": False, "l1_passes": 1,
                "l1_any_angle": "", "upright_half_factor": UPRIGHT_HALF_FACTOR, "upright_passes": 1,
                "l1_trained_roll": 0.0, "l2_first_pass": ""}
    card_path = Path(card_path)
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        settings.update({k: type(v)(card[k]) for k, v in settings.items() if k in card})
    if settings["l2_scale"] not in geo.L2_SCALES:
        raise ValueError(f"{card_path}: l2_scale {settings['l2_scale']!r} is not one of {', '.join(geo.L2_SCALES)}")
    return settings


def card_net_files(model_card, stem):
    """(deploy prototxt, caffemodel) of a net a card names by `stem` (l1_any_angle,
    l2_first_pass): the files beside the card."""
    folder = Path(model_card).parent
    return folder / f"{stem}_deploy.prototxt", folder / f"{stem}.caffemodel"


def load_card_net(model_card, key, stem, backend, gpu, threads, precision):
    """The net a card's `key` names by `stem`, or None for an empty stem."""
    if not stem:
        return None
    files = card_net_files(model_card, stem)
    for f in files:
        if not f.is_file():
            raise FileNotFoundError(f"{f}: named by {model_card} ({key}) but missing")
    return load_net(*files, backend, gpu, threads, precision)


class LandmarkCascade:
    def __init__(self, l1_deploy, l1_model, l2_deploy=None, l2_model=None,
                 backend="auto", gpu=None, flip_test=False, box_margin=None, l2_half_factor=None,
                 l2_scale=None, l2_passes=None, threads=None, precision="fp32", l2_derotate=None,
                 model_card=None, l1_passes=None, l1_any_angle=None, l2_mean_of_passes=None,
                 l2_first_pass=None):
        # model_card: the cascade.json beside non-shipped models (default: the shipped one)
        # l1_any_angle: False leaves out the card's any-angle level 1 (compare with and without)
        model_card = MODEL_CARD if model_card is None else Path(model_card)
        settings = read_settings(model_card)
        self.box_margin = settings["box_margin"] if box_margin is None else box_margin
        self.l2_half_factor = settings["l2_half_factor"] if l2_half_factor is None else l2_half_factor
        self.l2_scale = settings["l2_scale"] if l2_scale is None else l2_scale
        # Level 2 on a crop turned upright by level 1's eye line (any rotation).
        self.l2_derotate = settings["l2_derotate"] if l2_derotate is None else bool(l2_derotate)
        # threads / precision: runtime.load_net's (onnx: one thread, the fp32 or int8 ONNX files)
        self.l1 = load_net(l1_deploy, l1_model, backend, gpu, threads, precision)
        self.l2 = load_net(l2_deploy, l2_model, backend, gpu, threads, precision) if l2_deploy else None
        runtime = (backend, gpu, threads, precision)
        self.l1_any_angle = load_card_net(model_card, "l1_any_angle", settings["l1_any_angle"]
                                          if l1_any_angle is not False else "", *runtime)
        # l2_first_pass: False leaves out the card's first-pass level 2 (the shipped one runs every pass)
        self.l2_first_pass = load_card_net(model_card, "l2_first_pass", settings["l2_first_pass"]
                                           if l2_first_pass is not False and l2_deploy else "", *runtime)
        self.upright_half_factor = settings["upright_half_factor"]
        self.upright_passes = int(settings["upright_passes"])
        self.l1_trained_roll = float(settings["l1_trained_roll"])
        self.backend = self.l1.backend
        # Test-time flip: average the prediction on the mirrored input (points
        # swapped back); costs a second forward per level.
        self.flip_test = flip_test
        # Level 2 may run again on a crop re-centred on its own points: the
        # seed runs it once; a second pass mostly helps when level 1 saw the
        # whole image and its first crop was off-centre.
        l2_passes = settings["l2_passes"] if l2_passes is None else l2_passes
        self.l1_passes = int(settings["l1_passes"] if l1_passes is None else l1_passes)
        if int(l2_passes) < 1:
            raise ValueError(f"l2_passes must be >= 1, got {l2_passes}")
        self.l2_passes = int(l2_passes)
        # The points: the last pass's, or the mean of every pass's (card key
        # l2_mean_of_passes).  Each pass crops around the one before; their errors
        # differ, and a pass that drifted (a hidden mouth pulls the second crop) is
        # halved.
        self.l2_mean_of_passes = bool(settings["l2_mean_of_passes"] if l2_mean_of_passes is None
                                      else l2_mean_of_passes)

    @classmethod
    def from_shipped(cls, backend="auto", gpu=None, **kw):
        # the caffemodels name the models of every backend (onnx: the .onnx beside them)
        for f in (*SHIPPED["l1"], *SHIPPED["l2"]):
            if not Path(f).is_file():
                raise FileNotFoundError(f"{f}: shipped model missing (is this a full checkout?)")
        return cls(*SHIPPED["l1"], *SHIPPED["l2"], backend=backend, gpu=gpu, **kw)

    def _run(self, net, crops):
        """(N, 48, 48, 3) uint8 crops -> (N, 5, 2) points in [-1, 1]."""
        blob = to_blob(crops)
        out = next(iter(net.forward(blob).values())).reshape(-1, 5, 2)
        if self.flip_test:
            mirrored = next(iter(net.forward(np.ascontiguousarray(blob[:, :, :, ::-1])).values()))
            out = (out + geo.flip_unit(mirrored.reshape(-1, 5, 2))) / 2
        return out

    def _level1(self, images, regions, net=None):
        """-> (points, crops) of level 1 (or `net`) on the regions."""
        crops = np.stack([geo.crop(img, r) for img, r in zip(images, regions)])
        return [r.from_unit(u) for r, u in zip(regions, self._run(net or self.l1, crops))], crops

    def _upright_crop(self, points, region, whole):
        """The 2x3 matrix of level 1's crop turned upright by the first guess `points`
        (see UPRIGHT_HALF_FACTOR), UNTURNED for the region itself, or None when the
        guess is degenerate."""
        if whole:
            frame = geo.upright_frame(points, self.upright_half_factor)
            return None if frame is None else frame[0]
        angle = geo.eye_line_degrees(points)
        if not np.isfinite(angle):
            return None
        if abs(angle) <= self.l1_trained_roll:
            return UNTURNED
        cx, cy = region.centre
        return geo.turned_square(cx, cy, max(region.width, region.height) / 2, angle)

    def _level1_upright(self, images, points, regions, whole, region_crops):
        """Level 1 again on crops turned upright by `points`' eye lines (faces with
        degenerate points keep them).  region_crops: the crops of `regions`, reused
        where the upright crop is the region itself."""
        frames = [self._upright_crop(p, r, w) for p, r, w in zip(points, regions, whole)]
        todo = [k for k, f in enumerate(frames) if f is not None]
        if not todo:
            return points
        crops = np.stack([region_crops[k] if frames[k] is UNTURNED else geo.warp(images[k], frames[k], geo.NET_INPUT)
                          for k in todo])
        frames = [regions[k].affine() if f is UNTURNED else f for k, f in enumerate(frames)]
        points = list(points)
        for k, u in zip(todo, self._run(self.l1, crops)):
            points[k] = geo.unit_to_image(frames[k], u)
        return points

    def predict_batch(self, images, boxes=None, regions=None, margin=None) -> List[CascadeResult]:
        """One level-1 forward for all faces, then one level-2 forward.
        images: list of BGR images (one per face; the same image may repeat);
        boxes: list of face boxes or None (whole image); regions: explicit
        level-1 regions (override boxes); margin: level 1's margin around the
        boxes (default self.box_margin; DETECTOR_BOX_MARGIN for our MTCNN's)."""
        n = len(images)
        if n == 0:
            return []
        whole = [False] * n    # faces whose level 1 saw the whole image
        if regions is None:
            boxes = boxes if boxes is not None else [None] * n
            whole = [b is None for b in boxes]
            margin = self.box_margin if margin is None else margin
            regions = [level1_region(img.shape, b, margin) for img, b in zip(images, boxes)]
        first = self.l1_any_angle or self.l1
        l1, crops = self._level1(images, regions, first)
        for _ in range(self.l1_passes - 1 if any(whole) else 0):
            # again on a frame around its points, for faces without a box only
            # (with a box the second pass measured worse: 3.89 vs 3.79 %, tune half)
            regions = [geo.point_frame(p, L1_REFRAME_FACTOR) if w else r for p, w, r in zip(l1, whole, regions)]
            again, crops = self._level1(images, regions, first)
            l1 = [a if w else p for a, w, p in zip(again, whole, l1)]
        for _ in range(self.upright_passes if self.l1_any_angle else 0):
            l1 = self._level1_upright(images, l1, regions, whole, crops)
        if self.l2 is None:
            return [CascadeResult(p, None, r, None) for p, r in zip(l1, regions)]
        points, clamped, angles = l1, [False] * n, [0.0] * n
        passes = []
        for k_pass in range(self.l2_passes):
            net = self.l2_first_pass if k_pass == 0 and self.l2_first_pass is not None else self.l2
            l2_regions, matrices = [], []
            for k, (img, p, r1) in enumerate(zip(images, points, regions)):
                m, region, angles[k], c = geo.level2_crop(
                    p, img.shape[1], img.shape[0], self.l2_half_factor, self.l2_scale,
                    level1_side=max(r1.width, r1.height), derotate=self.l2_derotate)
                l2_regions.append(region)
                matrices.append(m)
                clamped[k] = clamped[k] or c
            if self.l2_derotate:
                crops2 = np.stack([geo.warp(img, m, geo.NET_INPUT) for img, m in zip(images, matrices)])
                points = [geo.unit_to_image(m, u2) for m, u2 in zip(matrices, self._run(net, crops2))]
            else:  # the axis-aligned crop, exactly as before l2_derotate
                crops2 = np.stack([geo.crop(img, r) for img, r in zip(images, l2_regions)])
                points = [r2.from_unit(u2) for r2, u2 in zip(l2_regions, self._run(net, crops2))]
            passes.append(points)
        if self.l2_mean_of_passes:
            points = list(np.mean(passes, axis=0))
        return [CascadeResult(p1, p2, r1, r2, c, a)
                for p1, p2, r1, r2, c, a in zip(l1, points, regions, l2_regions, clamped, angles)]

    def predict_detections(self, image, detections):
        """The refined 5 points (N, 5, 2) of every face our MTCNN found in `image`
        (mtcnn.Detections), all faces in one level-1 and one level-2 forward."""
        if not len(detections):
            return np.zeros((0, 5, 2))
        boxes = [tuple(float(v) for v in b) for b in detections.boxes]
        refined = self.predict_batch([image] * len(boxes), boxes=boxes, margin=DETECTOR_BOX_MARGIN)
        return np.stack([np.asarray(r.points, dtype=np.float64).reshape(5, 2) for r in refined])

    def predict(self, image, box=None, region=None, margin=None) -> CascadeResult:
        return self.predict_batch([image], [box], None if region is None else [region], margin)[0]
