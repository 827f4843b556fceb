#!/usr/bin/env python3
"""Grayscale copies of an image folder, for measuring a detector on grey photos.

    python bench/grayscale_copies.py ../shared/data/wider_eval/images bench/Result/wider_eval_gray
    python mtcnn/evaluate.py --gt ../shared/data/wider_eval/wider_face_val_bbx_gt_subset.txt \
        --images bench/Result/wider_eval_gray --min-face 20

Every image under SRC (recursively) is read as any script reads it
(facecascade.images.read_image: EXIF orientation honoured), converted to one
grey channel (OpenCV's BT.601 weights) and written under DST at the same
relative path as a single-channel JPEG (quality 95), as a grayscale photo would
be stored; an existing copy is kept.  The last line printed is one JSON object.
"""
import argparse
import json
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from facecascade.skips import Skips, add_strict_argument

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=Path, help="image folder")
    ap.add_argument("dst", type=Path, help="output folder (same layout)")
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    if not args.src.is_dir():
        raise SystemExit(f"{args.src}: not a folder")
    paths = sorted(p for p in args.src.rglob("*") if p.suffix.lower() in EXTENSIONS)
    skipped, written = Skips(strict=args.strict), 0
    for p in tqdm(paths, desc="grayscale copies", file=sys.stderr):
        out = (args.dst / p.relative_to(args.src)).with_suffix(".jpg")
        if out.is_file():
            continue
        img = skipped.read(p)
        if img is None:
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.stem + ".tmp.jpg")
        cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), [cv2.IMWRITE_JPEG_QUALITY, 95])
        tmp.replace(out)
        written += 1
    print(json.dumps({"src": str(args.src), "dst": str(args.dst), "images": len(paths), "written": written,
                      "skipped": skipped.counts()}))


if __name__ == "__main__":
    main()
