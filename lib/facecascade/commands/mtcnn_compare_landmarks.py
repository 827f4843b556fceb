"""NME on cuhk_facepoint/test_net7876.txt: the landmark cascade run on OUR
detector's boxes vs our O-Net's own 5 points, on the same faces.

For each test image the MTCNN detection that overlaps the annotated face box
most is taken (IoU >= --min-iou; CUHK boxes are tighter than detector boxes,
hence a low default); images without one count as missed for both.
NME = mean over the 5 points of ||pred - gt|| / ||gt left eye - gt right eye||
(docs/METRICS.md).  The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.boxes import iou_matrix
from facecascade.cascade import DETECTOR_BOX_MARGIN
from facecascade.metrics import nme_per_face, nme_per_point
from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_cuhk
from facecascade.runtime import runtime_options
from facecascade.skips import Skips


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", type=Path, default=SHARED_DATA / "cuhk_facepoint" / "test_net7876.txt")
    add_detector_arguments(ap)
    ap.add_argument("--min-iou", type=float, default=0.3)
    ap.add_argument("--box-margin", type=float, default=DETECTOR_BOX_MARGIN,
                    help=f"level 1's margin around the detector's box (default {DETECTOR_BOX_MARGIN:g}; "
                         "a list's box gets the model card's)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after this wall-clock time (faces visited in a seeded random order)")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / "compare_landmarks")
    args = ap.parse_args(argv)
    from facecascade.cascade import LandmarkCascade

    det = detector_from_args(args)
    lc = LandmarkCascade.from_shipped(**runtime_options(args))   # the detector's runtime, device, threads, precision
    import time
    t_start = time.time()
    records = read_cuhk(args.list)[:args.limit]
    if args.max_minutes:
        records = [records[i] for i in np.random.default_rng(0).permutation(len(records))]
    visited = 0
    gt_all, onet_all, l1_all, l2_all = [], [], [], []
    missed, skipped = 0, Skips()
    for rec in tqdm(records, desc=args.list.name, file=sys.stderr):
        if args.max_minutes and time.time() - t_start > 60 * args.max_minutes:
            break
        visited += 1
        box, gt = np.array(rec.box), rec.points
        img = skipped.read(rec.image, where=rec.where)
        if img is None:
            continue
        faces = det.detect(img)
        if len(faces) == 0:
            missed += 1
            continue
        ious = iou_matrix(box[None], faces.boxes)[0]
        k = int(np.argmax(ious))
        if ious[k] < args.min_iou:
            missed += 1
            continue
        res = lc.predict(img, box=tuple(float(x) for x in faces.boxes[k]), margin=args.box_margin)
        gt_all.append(gt)
        onet_all.append(faces.points[k])
        l1_all.append(np.asarray(res.l1).reshape(5, 2))
        l2_all.append(np.asarray(res.l2).reshape(5, 2))
    gt_all = np.array(gt_all)
    out = {"list": str(args.list), "box_margin": args.box_margin, "n_images": visited,
           "n_images_in_list": len(records), "n_faces": len(gt_all), "missed": missed, "skipped": len(skipped)}
    for name, pred in (("onet", onet_all), ("cascade_l1", l1_all), ("cascade_l2", l2_all)):
        pred = np.array(pred)
        nme = nme_per_face(pred, gt_all)
        out[f"nme_{name}"] = round(100 * float(nme.mean()), 3)
        out[f"fail_{name}"] = round(100 * float(np.mean(nme > 0.10)), 2)
        out[f"nme_per_point_{name}"] = [round(100 * float(x), 2) for x in nme_per_point(pred, gt_all)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out))

