#!/usr/bin/env python3
"""Draw the labelled points of a list onto its images, to check the labels by eye.

    python 0_raw_data/Code/draw_point.py --list 0_raw_data/Data/train.txt [--n 50]
    python 0_raw_data/Code/draw_point.py --list LIST --format {celeba,cuhk,mtfl}
Image-left eye red, the other points green, face box yellow; written to
0_raw_data/Result/draw_img/.  Unreadable images are reported and skipped.
"""
import argparse
from pathlib import Path

from tqdm import tqdm

from facecascade import drawing
from facecascade.cli import run
from facecascade.images import write_image
from facecascade.paths import REPO_ROOT
from facecascade.records import FORMATS, read_landmark_list, read_records
from facecascade.skips import Skips, add_strict_argument


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", default=str(REPO_ROOT / "0_raw_data/Data/train.txt"))
    ap.add_argument("--format", choices=("records",) + FORMATS, default="records",
                    help="records (divide_tr_te.py output, default) or a source format")
    ap.add_argument("--root", help="image root (default: the list's folder)")
    ap.add_argument("--n", type=int, default=50, help="first N faces (0: all)")
    ap.add_argument("--out", default=str(REPO_ROOT / "0_raw_data/Result/draw_img"))
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    skipped = Skips(strict=args.strict)
    recs = (read_records(args.list, skips=skipped) if args.format == "records"
            else read_landmark_list(args.list, args.format, args.root, skips=skipped))
    if args.n:
        recs = recs[:args.n]
    for i, r in enumerate(tqdm(recs, unit="image")):
        img = skipped.read(r.image, where=r.where)
        if img is None:
            continue
        if r.box is not None:
            drawing.draw_box(img, r.box)
        drawing.draw_points(img, r.points[1:], drawing.GREEN)
        drawing.draw_points(img, r.points[:1], drawing.RED)
        write_image(Path(args.out) / f"{i:05d}_{Path(r.image).stem}.jpg", img)
    print(f"{len(recs) - skipped.counts().get('unreadable_image', 0)} drawn to {args.out}; {skipped.summary()}")


if __name__ == "__main__":
    run(main)
