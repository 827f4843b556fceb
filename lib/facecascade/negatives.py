"""Face-free photos (../shared/data/negatives/) as negatives for P-Net, R-Net and O-Net.

negatives.txt holds lines `images/NAME.jpg width height`.  Line i (0-based) with
i % HELD_OUT_EVERY == HELD_OUT_REST (every 10th line: lines 10, 20, ... counted
from 1) is held out: it is read by the false-box benchmark only and never
sampled, mined or screened for training (`training_photos` refuses it).

The set was collected as "no face" backgrounds, but a few photos hold faces (a
drawn face, a grid of face photos): the training part is screened first
(mtcnn/0_sampling/sample_negatives.py --screen): a photo where the shipped
detector scores a box >= SCREEN_CUT is dropped and listed in
mtcnn/recipes/negatives_screened.txt (committed, so a fresh clone samples the same photos).

Every crop of a kept photo is a negative (kind NEG): random squares of any size
(`random_negative_boxes`) and the candidates the detector's stages keep on it
(`hard_negative_boxes`: P-Net's on the pyramid for P-Net and R-Net, R-Net's for
O-Net), cropped exactly as the detector crops them.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .boxes import crop_resize
from .mtcnn import sampling as ms
from .paths import REPO_ROOT, SHARED_DATA
from .skips import InputError

NEGATIVES_LIST = SHARED_DATA / "negatives" / "negatives.txt"
SCREENED_LIST = REPO_ROOT / "mtcnn" / "recipes" / "negatives_screened.txt"
HELD_OUT_EVERY, HELD_OUT_REST = 10, 9
SCREEN_CUT = 0.98
# the candidates whose crops a net is trained on: those of the stage before it
MINING_STAGES = {12: 1, 24: 1, 48: 2}


@dataclass(frozen=True)
class NegativePhoto:
    index: int      # 0-based line of negatives.txt
    image: Path
    width: int
    height: int
    where: str      # 'negatives.txt:LINE' (1-based), for messages

    @property
    def name(self):
        return self.image.name

    @property
    def held_out(self):
        return is_held_out(self.index)


def is_held_out(index):
    """True for the fixed held-out tenth (0-based line index)."""
    return index % HELD_OUT_EVERY == HELD_OUT_REST


def read_negatives(path=NEGATIVES_LIST, skips=None):
    """All lines of negatives.txt -> [NegativePhoto] (each keeps its line index, so the
    held-out tenth stays the same lines).  A malformed line is skipped and counted by
    `skips` (facecascade.skips.Skips; --strict stops there); without skips it raises
    InputError naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: negatives list not found (see ../shared/data/README.md)")
    photos = []
    for i, line in enumerate(path.read_text().splitlines()):
        f = line.split()
        if not f:
            continue
        if len(f) != 3 or not (f[1].isdigit() and f[2].isdigit()):
            message = f"{path}:{i + 1}: expected 'images/NAME.jpg width height', got {line!r}"
            if skips is None:
                raise InputError(message)
            skips.add("malformed_line", message)
            continue
        photos.append(NegativePhoto(i, path.parent / f[0], int(f[1]), int(f[2]), f"{path.name}:{i + 1}"))
    return photos


def held_out_photos(photos):
    return [p for p in photos if p.held_out]


def read_screened(path=SCREENED_LIST):
    """Names of the photos screening dropped (first field of each line; '#' comments)."""
    path = Path(path)
    if not path.is_file():
        return set()
    return {ln.split()[0] for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#")}


def training_photos(photos, screened=()):
    """The photos training may read: not held out, not screened out."""
    screened = set(screened)
    return [p for p in photos if not p.held_out and p.name not in screened]


def write_screened(path, dropped, cut, model_dir):
    """dropped: [(NegativePhoto, best score)] -> the list file, written atomically."""
    path = Path(path)
    lines = [f"# negatives/ training photos where the detector ({Path(model_dir).name}) scored a box >= {cut:g};",
             "# dropped from training (mtcnn/0_sampling/sample_negatives.py --screen). name best_score line"]
    lines += [f"{p.name} {s:.4f} {p.where}" for p, s in sorted(dropped, key=lambda t: -t[1])]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(path)


def check_training(photos):
    """Raise if a held-out photo is among `photos` (the guard of every training read)."""
    bad = [p.where for p in photos if p.held_out]
    if bad:
        raise ValueError(f"held-out negatives among training photos: {', '.join(bad[:5])}")


def random_negative_boxes(width, height, n, rng, min_size=12):
    """n random squares inside the photo, side from min_size up to its short side
    (a face-free photo has no crop that could be a face)."""
    min_size = min(min_size, min(width, height) - 1)
    return ms.random_squares(n, width, height, rng, min_size=min_size, max_frac=1.0)


def hard_negative_boxes(det, image, stages):
    """The candidates the detector keeps on `image` after `stages` stages (1: P-Net on
    the pyramid, 2: R-Net on P-Net's, 3: the final boxes) -> (boxes (N, 5), levels)."""
    boxes, levels = det.pnet_stage(image)
    if stages >= 2 and len(boxes):
        boxes = det.rnet_stage(image, boxes, levels)
    if stages >= 3 and len(boxes):
        boxes, _ = det.onet_stage(image, boxes, levels)
    return boxes, levels


def negative_crops(det, image, size, n_random, max_hard, rng, stages=None):
    """Negative crops of one face-free photo at `size` px -> (random (R, S, S, 3) uint8,
    hard (H, S, S, 3) uint8); the hard ones are the detector's candidates (best-scored
    first, at most max_hard), cropped as the detector crops them."""
    h, w = image.shape[:2]
    boxes = random_negative_boxes(w, h, n_random, rng)
    random_crops = crop_resize(image, boxes, size)
    hard = np.zeros((0, size, size, 3), np.uint8)
    if det is not None and max_hard:
        cand, levels = hard_negative_boxes(det, image, stages or MINING_STAGES[size])
        if len(cand):
            cand = cand[np.argsort(-cand[:, 4], kind="stable")[:max_hard]]
            hard = np.clip(np.round(det.crop_candidates(image, cand, levels, size)), 0, 255).astype(np.uint8)
    return random_crops, hard


def negative_set(crops, size):
    """uint8 crops (N, S, S, 3) -> a SampleSet of negatives (no box, no points)."""
    n = len(crops)
    return ms.SampleSet(np.asarray(crops, np.uint8).reshape(n, size, size, 3), np.full(n, ms.NEG, np.int8),
                        np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32), np.zeros(n, np.uint8))
