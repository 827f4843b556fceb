#!/usr/bin/env python
"""Step 3b: refit O-Net's landmark head (fc6-3) to the boxes O-Net sees in the detector.

  python mtcnn/3_train_onet/refit_landmark_head.py [--list CUHK_TRAIN_LIST] [--out DIR] [--ship mtcnn/model]

O-Net learnt its 5 points on crops around CUHK / LFW face boxes, which are
tighter than the boxes R-Net hands it at detection time, and its points came
out about 15 % of the inter-ocular distance off (NME on cuhk test).  This
runs our P-Net and R-Net on every training face (cuhk_facepoint
train_net7876.txt by default; never the test list), crops the R-Net boxes
around the face as the detector does (and their mirror images), takes O-Net's
256 `prelu5` features of each crop and solves for the linear landmark head
in closed form (ridge regression; facecascade.mtcnn.landmark_head).  The rest of
det3 is untouched, so face scores and boxes are exactly the same.

Writes DIR/det3.caffemodel (the det1/det2/prototxt files of --model-dir
copied beside it, so DIR is a whole model folder for --model-dir) and
DIR/summary.json; --ship copies the new det3.caffemodel into that folder.
The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.cli import run
from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.mtcnn.landmark_head import LANDMARK_HEAD, LandmarkSamples, fit_linear_head, set_linear_head
from facecascade.nets import flush_denormals
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_cuhk
from facecascade.skips import Skips


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", type=Path, default=SHARED_DATA / "cuhk_facepoint" / "train_net7876.txt",
                    help="CUHK-format training list (path left right top bottom x1 y1 ... x5 y5)")
    ap.add_argument("--ridge", type=float, default=1.0, help="L2 penalty on the head's weights")
    ap.add_argument("--max-boxes", type=int, default=8, help="R-Net boxes per face, best IoU first")
    ap.add_argument("--min-iou", type=float, default=0.2,
                    help="IoU with the annotated (tighter, CUHK) box for an R-Net box to count as the face's")
    add_detector_arguments(ap)   # --model-dir: the det1/det2/det3 to start from
    ap.add_argument("--limit", type=int, default=None, help="first N faces of the list only")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / "onet_landmark_head")
    ap.add_argument("--ship", type=Path, default=None, help="also copy the new det3.caffemodel into this folder")
    args = ap.parse_args(argv)
    if args.ridge < 0:
        ap.error("--ridge must be >= 0")
    det = detector_from_args(args)
    records = read_cuhk(args.list)[:args.limit]
    samples, skipped = LandmarkSamples(args.max_boxes, args.min_iou), Skips()
    for rec in tqdm(records, desc="O-Net crops", file=sys.stderr):
        img = skipped.read(rec.image, where=rec.where)
        if img is not None:
            samples.add_image(det, img, rec.points, rec.box)
    if len(samples) == 0:
        raise SystemExit(f"error: {args.list}: no training face had an R-Net box around it")
    features, targets = samples.features(), samples.targets()
    net = det.nets["onet"]
    before = net.params[LANDMARK_HEAD][0].data.copy(), net.params[LANDMARK_HEAD][1].data.copy()
    try:
        weights, bias = fit_linear_head(features, targets, args.ridge)
    except ValueError as e:   # fewer samples than features: more faces (--limit) are needed
        raise SystemExit(f"error: {args.list}: {e}; use more faces (--limit)") from None

    def box_units_error(w, b):  # mean distance per point, in box units, on the training crops
        pred = features @ np.asarray(w, np.float64).T + b
        return float(np.mean(np.linalg.norm((pred - targets).reshape(-1, 5, 2), axis=2)))

    set_linear_head(net, weights, bias)
    flush_denormals(net)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("det1.prototxt", "det1.caffemodel", "det2.prototxt", "det2.caffemodel", "det3.prototxt"):
        if (args.model_dir / name).resolve() != (args.out / name).resolve():
            shutil.copyfile(args.model_dir / name, args.out / name)
    tmp = args.out / "det3.caffemodel.tmp"
    net.save(str(tmp))
    tmp.replace(args.out / "det3.caffemodel")
    summary = {"list": str(args.list), "faces": len(records), "faces_used": samples.faces_used,
               "faces_without_box": samples.faces_without_box, "skipped_images": len(skipped),
               "crops": len(samples), "ridge": args.ridge,
               "train_error_box_units_before": round(box_units_error(*before), 5),
               "train_error_box_units_after": round(box_units_error(weights, bias), 5),
               "model_dir": str(args.out)}
    if args.ship:
        args.ship.mkdir(parents=True, exist_ok=True)
        tmp = args.ship / "det3.caffemodel.tmp"
        shutil.copyfile(args.out / "det3.caffemodel", tmp)
        tmp.replace(args.ship / "det3.caffemodel")
        summary["shipped"] = str(args.ship / "det3.caffemodel")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    run(main)
