"""Landmark crops on the detector's own boxes, for training O-Net's points.

  python mtcnn/3_train_onet/mine_landmark_crops.py [--model-dir DIR]    # -> mtcnn/Data/landmarks_48.npz

O-Net outputs its 5 points relative to the box R-Net hands it, which is looser
than the CUHK / LFW boxes its landmark crops were jittered around.  This runs
P-Net and R-Net (detector defaults) on every training face of
cuhk_facepoint/train_net7876.txt and lfw5590_80x80 (never a test list) and
keeps the R-Net boxes around the face (all 5 points inside, IoU >= --min-iou
with the annotated box; CUHK box, or for LFW the CUHK-convention box fitted to
the points), cropped at 48 px exactly as the detector crops them, as landmark
samples (kind 3, facecascade.mtcnn_sampling) with targets in crop units.
train_onet.py --data ... mtcnn/Data/landmarks_48.npz trains on them (random
flips mirror the targets).  The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.mtcnn import sampling as ms
from facecascade.mtcnn.landmark_head import detector_landmark_crops
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_cuhk, read_mtfl
from facecascade.skips import Skips, add_strict_argument


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--max-boxes", type=int, default=4, help="R-Net boxes per face, best IoU first")
    ap.add_argument("--min-iou", type=float, default=0.2,
                    help="IoU with the annotated (tighter, CUHK-convention) box for an R-Net box to count")
    ap.add_argument("--cuhk-limit", type=int, default=None, help="first N CUHK training faces")
    ap.add_argument("--lfw-limit", type=int, default=None, help="first N LFW faces")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after this much time (CUHK for 60%% of it, then LFW)")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Data" / "landmarks_48.npz")
    add_detector_arguments(ap)
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    det = detector_from_args(args)
    skipped = Skips(strict=args.strict)
    cuhk = read_cuhk(args.data / "cuhk_facepoint" / "train_net7876.txt", skips=skipped)[:args.cuhk_limit]
    lfw = read_mtfl(args.data / "lfw5590_80x80" / "train_lfw5590_80x80.txt", skips=skipped)[:args.lfw_limit]
    jobs = [(r, r.box, 0.6) for r in cuhk] + [(r, ms.box_from_points(r.points), 1.0) for r in lfw]
    budget = 60 * args.max_minutes if args.max_minutes else float("inf")
    t0 = time.time()
    crops, targets, used, without = [], [], {"cuhk": 0, "lfw": 0}, 0
    for k, (rec, box, share) in enumerate(tqdm(jobs, desc="landmark crops", file=sys.stderr)):
        if time.time() - t0 > share * budget:
            continue
        used["cuhk" if k < len(cuhk) else "lfw"] += 1
        img = skipped.read(rec.image, where=rec.where)
        if img is None:
            continue
        near, c, t = detector_landmark_crops(det, img, rec.points, box, args.max_boxes, args.min_iou)
        without += len(near) == 0
        crops.append(np.clip(np.round(c), 0, 255).astype(np.uint8))
        targets.append(t.astype(np.float32))
    crops, targets = np.concatenate(crops), np.concatenate(targets)
    n = len(crops)
    samples = ms.SampleSet(crops, np.full(n, ms.LANDMARK, np.int8), np.zeros((n, 4), np.float32), targets,
                           np.zeros(n, np.uint8))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    samples.save(args.out)
    print(json.dumps({"out": str(args.out), "crops": n, "faces_used": used, "faces_without_box": without,
                      "skipped": skipped.counts()}))

