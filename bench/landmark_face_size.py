#!/usr/bin/env python3
"""The landmark cascade on smaller and smaller faces, as a detector hands them over
in group photos: every face of a list shrunk so that its box is S px wide and put
into a larger photo (grey around it), the cascade run on the shrunk box, NME
against the shrunk ground truth (docs/METRICS.md).  The list's faces (cuhk test:
boxes 43-261 px, median 186) are real faces; shrunk with INTER_AREA they are
sharper than faces that were small in the camera, so the figures are a bound
on what the cascade can do at that size, not a measurement on real crowds
(no list here has landmarks of small faces).

    python bench/landmark_face_size.py                          # cuhk test, 24 32 48 64 96 px, 640x480 photos
    python bench/landmark_face_size.py --sizes 20 40 --photo 1280x960 --limit 500
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from facecascade import metrics
from facecascade.cascade import LandmarkCascade
from facecascade.cli import run
from facecascade.machine import describe
from facecascade.paths import SHARED_DATA
from facecascade.records import FORMATS, read_landmark_list
from facecascade.runtime import BACKENDS
from facecascade.skips import Skips

BATCH = 64


def shrink_into_photo(image, points, box, side, photo_w, photo_h):
    """image scaled so that box is `side` px wide, centred in a grey photo_w x photo_h
    photo (cut where it does not fit) -> (photo, points, box) in the photo's pixels."""
    s = side / (box[2] - box[0])
    small = cv2.resize(image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    photo = np.full((photo_h, photo_w, 3), 127, np.uint8)
    # the face's box centre goes to the photo's centre
    cx, cy = ((box[0] + box[2]) / 2 + 0.5) * s - 0.5, ((box[1] + box[3]) / 2 + 0.5) * s - 0.5
    ox, oy = int(round(photo_w / 2 - cx)), int(round(photo_h / 2 - cy))
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + small.shape[1], photo_w), min(oy + small.shape[0], photo_h)
    photo[y0:y1, x0:x1] = small[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    # pixel centres scale about -0.5 (0-based coordinates)
    pts = (np.asarray(points, dtype=np.float64) + 0.5) * s - 0.5 + [ox, oy]
    b = (np.asarray(box, dtype=np.float64) + 0.5) * s - 0.5 + [ox, oy, ox, oy]
    return photo, pts, tuple(b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", default=str(SHARED_DATA / "cuhk_facepoint" / "test_net7876.txt"),
                    help="landmark list with face boxes (default %(default)s)")
    ap.add_argument("--format", choices=FORMATS, default="cuhk", help="format of --list (default cuhk)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[24, 32, 48, 64, 96],
                    help="face box widths in px (default 24 32 48 64 96)")
    ap.add_argument("--photo", default="640x480", help="size of the photo the face is put into (default 640x480)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N faces")
    ap.add_argument("--backend", choices=BACKENDS, default="caffe")
    args = ap.parse_args(argv)
    try:
        photo_w, photo_h = (int(v) for v in args.photo.lower().split("x"))
    except ValueError:
        ap.error(f"--photo: expected WxH, got {args.photo!r}")
    if min(args.sizes) < 8:
        ap.error("--sizes: faces under 8 px have no points to speak of")
    if not Path(args.list).is_file():
        sys.exit(f"{args.list}: list not found (the shared data sets live in ../shared/data)")
    records = read_landmark_list(args.list, args.format)
    records = [r for r in records if r.box is not None][:args.limit or None]
    if not records:
        sys.exit(f"{args.list}: no face with a box")
    cascade = LandmarkCascade.from_shipped(backend=args.backend)
    print(describe())
    print(f"list: {args.list}, {len(records)} faces; photos {photo_w}x{photo_h}; cascade on {cascade.backend}, "
          "level 1 on the shrunk box + its margin")
    skipped = Skips()
    rows = []
    for side in args.sizes:
        gts, l1s, l2s = [], [], []
        todo = []

        def flush():
            if todo:
                res = cascade.predict_batch([t[0] for t in todo], [t[2] for t in todo])
                gts.extend(t[1] for t in todo)
                l1s.extend(r.l1 for r in res)
                l2s.extend(r.l2 for r in res)
                todo.clear()

        for rec in tqdm(records, desc=f"{side} px", file=sys.stderr):
            img = skipped.read(rec.image, where=rec.where)
            if img is None:
                continue
            todo.append(shrink_into_photo(img, rec.points, rec.box, side, photo_w, photo_h))
            if len(todo) >= BATCH:
                flush()
        flush()
        gt = np.array(gts)
        s1, s2 = metrics.summarize(np.array(l1s), gt), metrics.summarize(np.array(l2s), gt)
        iod = np.median(metrics.interocular(gt))
        rows.append((side, s1["n"], iod, s1["nme"], s2["nme"], s2["failure"], s2["auc10"]))
    print()
    print("| face box px | faces | median eye distance px | level 1 NME % | cascade NME % | cascade failure % (>10%) "
          "| cascade AUC@10% |")
    print("|---|---|---|---|---|---|---|")
    for side, n, iod, n1, n2, fail, auc in rows:
        print(f"| {side} | {n} | {iod:.1f} | {n1:.2f} | {n2:.2f} | {fail:.2f} | {auc:.3f} |")
    if len(skipped):
        print(f"{len(skipped)} unreadable images skipped")


if __name__ == "__main__":
    run(main)
