"""Hard examples for the next MTCNN stage (the paper's method): run the trained stage(s)
on training images and label every candidate by its IoU with the ground truth (negative
< 0.3, part 0.4-0.65, positive >= 0.65), cropped exactly as the detector crops them."""
import time

import numpy as np
from tqdm import tqdm

from ..boxes import iou_matrix, regression_targets
from . import sampling as ms


def mine_image(det, image, gts, size, stages, rng, max_neg, reg_ok, blur_of_faces=None, false_ceiling=None):
    boxes, levels = det.pnet_stage(image)
    if stages >= 2:
        boxes = det.rnet_stage(image, boxes, levels)
    if stages >= 3 and len(boxes):
        boxes, _ = det.onet_stage(image, boxes, levels)
    found = boxes  # the stage's output (stage 3: what the recall below is of)
    if len(boxes) == 0:
        return None, boxes
    kinds, best, _ = ms.classify_crops(boxes[:, :4], gts)
    if not reg_ok:
        kinds[kinds == ms.PART] = -1
    if stages >= 3:  # the false boxes only, below the ceiling when one is given
        kinds[kinds != ms.NEG] = -1
        if false_ceiling is not None:
            kinds[boxes[:, 4] >= false_ceiling] = -1
    neg = np.nonzero(kinds == ms.NEG)[0]
    if len(neg) > max_neg:
        kinds[rng.choice(neg, len(neg) - max_neg, replace=False)] = -1
    keep = kinds >= 0
    boxes, kinds, best = boxes[keep], kinds[keep], best[keep]
    if len(boxes) == 0:
        return None, found if stages >= 3 else boxes
    crops = det.crop_candidates(image, boxes, levels, size)
    roi = regression_targets(boxes[:, :4], gts[best]).astype(np.float32)
    n = len(boxes)
    return ms.SampleSet(np.clip(np.round(crops), 0, 255).astype(np.uint8), kinds.astype(np.int8), roi,
                        np.zeros((n, 10), np.float32), np.full(n, 1 if reg_ok else 0, np.uint8),
                        ms.face_blur(kinds, best, blur_of_faces)), found if stages >= 3 else boxes


class MiningTally:
    """What a mining run saw: images per source, candidates, faces found (the stage's recall)."""

    def __init__(self):
        self.n_wider = self.n_cuhk = self.n_faces = self.n_found = self.n_cand = 0


def mine_wider(det, wider, wider_dir, args, size, rng, skipped, tally, deadline):
    """mine_image over the WIDER records until the deadline -> sample sets; counts in tally."""
    parts = []
    for rec in tqdm(wider, desc=f"mine wider_train ({args.stages} stage)"):
        if time.time() > deadline:
            break
        tally.n_wider += 1
        img = skipped.read(wider_dir / "images" / rec.name, where=f"wider_train_bbx_gt.txt:{rec.line}")
        if img is None:
            continue
        s, boxes = mine_image(det, img, rec.boxes, size, args.stages, rng, args.max_neg, True, rec.attribute("blur"),
                              args.false_ceiling)
        tally.n_cand += len(boxes)
        big = rec.boxes[(rec.boxes[:, 3] - rec.boxes[:, 1]) >= det.min_face]
        tally.n_faces += len(big)
        if len(big) and len(boxes):
            tally.n_found += int(np.sum(iou_matrix(big, boxes[:, :4]).max(axis=1) >= 0.5))
        if s is not None:
            parts.append(s)
    return parts


def mine_cuhk(det, cuhk, args, size, rng, skipped, tally, deadline):
    """mine_image over up to --cuhk-limit CUHK records (their one labelled face each)."""
    parts = []
    for i in tqdm(rng.permutation(len(cuhk))[:args.cuhk_limit], desc="mine cuhk train"):
        if time.time() > deadline:
            break
        tally.n_cuhk += 1
        rec = cuhk[i]
        img = skipped.read(rec.image, where=rec.where)
        if img is None:
            continue
        s, _ = mine_image(det, img, np.array([rec.box]), size, args.stages, rng, args.cuhk_max_neg, False,
                          false_ceiling=args.false_ceiling)
        if s is not None:
            parts.append(s)
    return parts
