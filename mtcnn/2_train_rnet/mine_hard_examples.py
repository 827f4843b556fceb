#!/usr/bin/env python
"""Hard examples for the next stage (the MTCNN paper's method): run the trained
previous stage(s) on the training images and label every candidate it keeps
by its IoU with the ground truth (negative < 0.3, part 0.4-0.65, positive
>= 0.65).  The crops are taken exactly as the detector takes them
(MTCNN.crop_candidates).

  --stages 1 --size 24: P-Net candidates -> R-Net data (mtcnn/Data/hard_24.npz)
  --stages 1 --size 12: P-Net candidates -> P-Net's own hard examples, for a
                        P-Net fine-tune that passes fewer non-faces (hard_12.npz)
  --stages 2 --size 48: P-Net + R-Net candidates -> O-Net data (hard_48.npz)
  --stages 3 --size 24|48: the whole detector's false boxes (its output, with its
                        defaults, scored >= --false-floor, IoU < 0.3 with every
                        face) -> negatives for R-Net / O-Net (false_24.npz,
                        false_48.npz; train_*.py --false-neg-share); wider_train
                        by default.  CUHK labels one face per photo, so the other
                        faces the detector finds there would be taught as
                        non-faces: CUHK photos (--cuhk-limit) are mined only with
                        --false-ceiling, which keeps the false boxes scored below
                        it (unlabelled faces mostly score higher than clutter)

Images: wider_train (all faces, box targets) and cuhk_facepoint train
(classification only: one annotated face per image, CUHK's tighter box).
wider_eval is never read.  Prints candidate counts per class and the recall of
the stage on wider_train faces >= min face (what the next stage can still find).
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.boxes import iou_matrix, regression_targets
from facecascade.caffe_loader import add_device_arguments, import_caffe
from facecascade.cli import run
from facecascade.mtcnn import MTCNN
from facecascade.mtcnn import sampling as ms
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_cuhk
from facecascade.skips import Skips
from facecascade.wider import read_wider


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", type=int, choices=(1, 2, 3), required=True)
    ap.add_argument("--size", type=int, choices=(12, 24, 48), default=None,
                    help="crop size (default 24 after P-Net, 48 after R-Net and after O-Net)")
    ap.add_argument("--false-floor", type=float, default=0.1,
                    help="--stages 3: lowest final score of a false box that is kept (default %(default)s)")
    ap.add_argument("--false-ceiling", type=float, default=None,
                    help="--stages 3: keep only the false boxes scored below this (default: all); "
                         "needed to mine CUHK photos at --stages 3")
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "mtcnn" / "model")
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--max-neg", type=int, default=60, help="negatives kept per WIDER image")
    ap.add_argument("--wider-every", type=int, default=3,
                    help="use every N-th wider_train image (3: 240 images over all 61 events; the shared "
                         "CPU made the full set too slow here; 0: none)")
    ap.add_argument("--cuhk-limit", type=int, default=None,
                    help="CUHK training photos to mine (default 3000; --stages 3: none, more only with "
                         "--false-ceiling)")
    ap.add_argument("--cuhk-max-neg", type=int, default=6)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after this wall-clock time (WIDER images for 80%% of it, then CUHK) and keep "
                         "what was mined; images are visited in a seeded random order so a cut is a random subset")
    ap.add_argument("--seed", type=int, default=0)
    add_device_arguments(ap)
    args = ap.parse_args()
    size = args.size or {1: 24, 2: 48, 3: 48}[args.stages]
    if size == 12 and args.stages != 1:
        ap.error("--size 12 (P-Net's own hard examples) needs --stages 1")
    if args.stages == 3 and args.cuhk_limit and args.false_ceiling is None:
        ap.error("--stages 3 on CUHK photos needs --false-ceiling (they hold faces their list does not "
                 "label, which would be taught as non-faces; below a ceiling such as 0.9 few of them remain)")
    if args.false_ceiling is not None and args.stages != 3:
        ap.error("--false-ceiling applies to --stages 3 only")
    if args.wider_every < 0:
        ap.error("--wider-every must be >= 0")
    if args.cuhk_limit is None:
        args.cuhk_limit = 0 if args.stages == 3 else 3000
    out = args.out or REPO_ROOT / "mtcnn" / "Data" / f"{'false' if args.stages == 3 else 'hard'}_{size}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    caffe = import_caffe(args.gpu)
    if args.stages == 3:
        # the detector as shipped: its false boxes are what a user sees
        det = MTCNN(args.model_dir, min_face=args.min_face, caffe=caffe, min_score=args.false_floor)
    else:
        # no second look and the reference pyramid: the shipped det2/det3 were trained on data mined so
        det = MTCNN(args.model_dir, min_face=args.min_face, caffe=caffe, stages=args.stages, rescore_rounds=0,
                    large_factor=None)
    rng = np.random.default_rng(args.seed)
    parts, skipped = [], Skips()
    n_faces = n_found = n_cand = 0
    wider_dir = args.data / "wider_train"
    import time
    t_start = time.time()
    budget = 60 * args.max_minutes if args.max_minutes else float("inf")
    wider = read_wider(wider_dir / "wider_train_bbx_gt.txt")[::args.wider_every] if args.wider_every else []
    wider = [wider[i] for i in rng.permutation(len(wider))]
    n_wider = 0
    for rec in tqdm(wider, desc=f"mine wider_train ({args.stages} stage)"):
        if time.time() - t_start > 0.8 * budget:
            break
        n_wider += 1
        img = skipped.read(wider_dir / "images" / rec.name, where=f"wider_train_bbx_gt.txt:{rec.line}")
        if img is None:
            continue
        s, boxes = mine_image(det, img, rec.boxes, size, args.stages, rng, args.max_neg, True, rec.attribute("blur"),
                              args.false_ceiling)
        n_cand += len(boxes)
        big = rec.boxes[(rec.boxes[:, 3] - rec.boxes[:, 1]) >= args.min_face]
        n_faces += len(big)
        if len(big) and len(boxes):
            n_found += int(np.sum(iou_matrix(big, boxes[:, :4]).max(axis=1) >= 0.5))
        if s is not None:
            parts.append(s)
    cuhk = read_cuhk(args.data / "cuhk_facepoint" / "train_net7876.txt")
    n_cuhk = 0
    for i in tqdm(rng.permutation(len(cuhk))[:args.cuhk_limit], desc="mine cuhk train"):
        if time.time() - t_start > budget:
            break
        n_cuhk += 1
        rec = cuhk[i]
        gt = np.array([rec.box])
        img = skipped.read(rec.image, where=rec.where)
        if img is None:
            continue
        s, _ = mine_image(det, img, gt, size, args.stages, rng, args.cuhk_max_neg, False,
                          false_ceiling=args.false_ceiling)
        if s is not None:
            parts.append(s)
    if not parts:
        sys.exit(f"error: nothing mined (wider_train images {n_wider}, CUHK photos {n_cuhk}): {out} not written")
    samples = ms.SampleSet.concat(parts)
    samples.save(out)
    recall = n_found / max(n_faces, 1)
    wider_line = (f"; wider_train: {n_cand / n_wider:.1f} candidates/image, recall of faces >= "
                  f"{args.min_face:g} px at IoU 0.5: {100 * recall:.1f}% ({n_found}/{n_faces})") if n_wider else ""
    print(f"{out}: {len(samples)} samples {samples.counts()}; skipped images {len(skipped)}; "
          f"images mined: wider_train {n_wider}, cuhk {n_cuhk}{wider_line}")


if __name__ == "__main__":
    run(main)
