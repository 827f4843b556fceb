"""Step 5: evaluate the MTCNN detector on WIDER-format ground truth.

AP at IoU 0.5 (VOC all-point) over all valid faces and by gt height bucket
(large >= 50, medium 20-50, small < 20 px), per docs/METRICS.md;
PR-curve PNG and the detections (WIDER prediction format, x y w h score)
under --out.  Timing: wall seconds of detect() per image (decoding
excluded), single thread, median.  The last line printed is one JSON object:
  n_images, ap_all, ap_large, ap_medium, ap_small (AP in %), sec_per_image,
  recall_all / precision_all (%, with every detection kept), ...
Detections are kept down to --min-score (0.05): soft-NMS's lowered scores
stay in the PR curve; --min-score 0.7 evaluates what detect.py returns.
"""
import os

# single thread unless told otherwise: the speed figure is defined that way
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facecascade.atomic import write_text_atomic
from facecascade.detection_metrics import evaluate, plot_pr, recall_by_attribute
from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.paths import REPO_ROOT
from facecascade.skips import Skips, add_strict_argument
from facecascade.wider import read_wider, write_wider

# Detections kept for AP: soft-NMS's lowered scores go down to here (AP ranks every
# detection, so the low tail adds recall without costing precision higher up).
EVAL_MIN_SCORE = 0.05


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def detect_all(det, gt, args, skipped):
    """The detector on every readable image of gt (timed, the first call not) ->
    detections {name: (N, 5)}, seconds per image, per-stage seconds and boxes, records used."""
    detections, times, used = {}, [], []
    stage_times, stage_boxes = [], []
    t_start = time.time()
    warm = True
    for rec in tqdm(gt, desc="detect", file=sys.stderr):
        if args.max_minutes and time.time() - t_start > 60 * args.max_minutes:
            print(f"time cap reached after {len(used)} of {len(gt)} images", file=sys.stderr)
            break
        img = skipped.read(args.images / rec.name, where=f"{args.gt}:{rec.line}")
        if img is None:
            continue
        if warm:  # first call allocates: not timed
            det.detect(img)
            warm = False
        t0 = time.perf_counter()
        faces = det.detect(img)
        times.append(time.perf_counter() - t0)
        stage_times.append(det.last_stage_seconds)
        stage_boxes.append(det.last_stage_boxes)
        detections[rec.name] = np.column_stack([faces.boxes, faces.scores]) if len(faces) else np.zeros((0, 5))
        used.append(rec)
    return detections, times, stage_times, stage_boxes, used


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gt", type=Path, required=True, help="WIDER-format ground-truth file")
    ap.add_argument("--images", type=Path, required=True, help="folder the image names are relative to")
    add_detector_arguments(ap, min_score=EVAL_MIN_SCORE, min_score_help=(
        f"keep the detections scored >= S (default {EVAL_MIN_SCORE}: the boxes that soft-NMS ranked low stay "
        "in the PR curve, as in WIDER FACE evaluations; 0.7 evaluates what detect.py outputs by default)"))
    add_strict_argument(ap)
    ap.add_argument("--stages", type=int, choices=(1, 2, 3), default=3, help="stop after P (1), R (2) or O (3)")
    ap.add_argument("--limit", type=int, default=None, help="first N images only")
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop detecting after this wall-clock time and evaluate the images done; images "
                         "are then visited in a seeded random order, so the subset is random (n_images says how many)")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / "evaluate")
    args = ap.parse_args(argv)
    cv2.setNumThreads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    gt = read_wider(args.gt)[:args.limit]
    if args.max_minutes:
        order = np.random.default_rng(0).permutation(len(gt))
        gt = [gt[i] for i in order]
    det = detector_from_args(args, stages=args.stages)
    args.out.mkdir(parents=True, exist_ok=True)
    skipped = Skips(strict=args.strict)
    detections, times, stage_times, stage_boxes, used = detect_all(det, gt, args, skipped)
    if not used and gt:
        # every image unreadable: most likely --images is not GT_FILE's image folder
        raise FileNotFoundError(f"none of the {len(gt)} images of {args.gt} could be read under "
                                f"{args.images} (first: {skipped.messages[0]})")
    res = evaluate(detections, used)
    recall, precision = res["curves"]["all"]
    plot_pr(res, args.out / "pr_curve.png", title=f"MTCNN on {args.gt.name} (min face {det.min_face:g})")
    write_wider(args.out / "detections.txt", [(n, d[:, :4], d[:, 4]) for n, d in detections.items()])
    summary = {
        "n_images": len(used), "n_images_in_gt": len(gt), "skipped_images": len(skipped), "skipped": skipped.counts(),
        # a bucket without valid gt has no AP: null in the JSON
        **{f"ap_{b}": (None if np.isnan(res[f"ap_{b}"]) else round(100 * res[f"ap_{b}"], 2))
           for b in ("all", "large", "medium", "small")},
        "sec_per_image": round(float(np.median(times)), 4) if times else None,
        "sec_per_image_mean": round(float(np.mean(times)), 4) if times else None,
        # per stage: median wall seconds and mean boxes out (P-Net candidates go to R-Net, ...)
        "sec_per_stage": {k: round(float(np.median([t.get(k, 0.0) for t in stage_times])), 4)
                          for k in ("pnet", "rnet", "onet")[:args.stages]} if times else None,
        "boxes_per_stage": {k: round(float(np.mean([b.get(k, 0) for b in stage_boxes])), 1)
                            for k in ("pnet", "rnet", "onet")[:args.stages]} if times else None,
        "n_gt_valid": res["n_gt"], "n_detections": res["n_detections"],
        # where the PR curve ends: all detections kept (%, null without any)
        "recall_all": round(100 * float(recall[-1]), 2) if len(recall) else None,
        "precision_all": round(100 * float(precision[-1]), 2) if len(precision) else None,
        # per bucket: the recall there, which bounds that bucket's AP whatever the ranking
        "recall_end": {b: (round(100 * float(res["curves"][b][0][-1]), 2) if len(res["curves"][b][0]) else None)
                       for b in ("large", "medium", "small")},
        # the same for large and medium faces by WIDER attribute value: [faces, recall %]
        "recall_end_by_attribute": {b: {a: {str(v): [n, round(100 * f / n, 1)] for v, (n, f) in values.items()}
                                        for a, values in attrs.items()}
                                    for b, attrs in recall_by_attribute(detections, used).items()},
        "preset": args.preset, **det.config.to_dict(),
        "stages": args.stages, "backend": args.backend, "precision": args.precision, "model_dir": str(args.model_dir),
        # the nets' threads: onnx --threads (default 1), pycaffe / OpenCV these variables
        "threads": str(args.threads) if args.threads else os.environ.get("OMP_NUM_THREADS"), "cpu": cpu_model(),
        "pr_curve": str(args.out / "pr_curve.png"),
    }
    write_text_atomic(args.out / "summary.json", json.dumps(summary, indent=1))
    print(json.dumps(summary))

