#!/usr/bin/env python3
"""How well each level-2 crop-scale rule (facecascade.geometry.level2_scale)
follows the face: for every face of a list, the rule's length over the
inter-ocular distance (a rule that follows the face, not the pose, keeps this
narrow) and the points' largest |x or y - nose| over the rule's length (the
half-factor a crop needs to hold all five points).  Ground-truth points only;
no images are read.

    python bench/level2_crop_scale.py                      # 0_raw_data/Data/train.txt (divide_tr_te.py)
    python bench/level2_crop_scale.py --list LIST --format cuhk|celeba|mtfl
"""
import argparse

import numpy as np

from facecascade import geometry as geo
from facecascade.cli import run
from facecascade.paths import REPO_ROOT
from facecascade.records import FORMATS, read_landmark_list, read_records


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", default=str(REPO_ROOT / "0_raw_data/Data/train.txt"),
                    help="records list of divide_tr_te.py (default), or a landmark list with --format")
    ap.add_argument("--format", choices=FORMATS, help="format of --list when it is not a records list")
    args = ap.parse_args(argv)
    records = read_landmark_list(args.list, args.format) if args.format else read_records(args.list)
    points = np.array([r.points for r in records], dtype=np.float64)
    iod = np.hypot(*(points[:, 0] - points[:, 1]).T)
    spread = np.abs(points - points[:, 2:3]).max(axis=(1, 2))
    print(f"list: {args.list}, {len(records)} faces")
    print("| rule | length / inter-ocular, 5 / 50 / 95 % | max abs(point - nose) / length, 50 / 90 / 99 % |")
    print("|---|---|---|")
    for rule in geo.L2_SCALES:
        length = np.array([geo.level2_scale(p, rule) for p in points])
        a = np.percentile(length / iod, [5, 50, 95])
        b = np.percentile(spread / length, [50, 90, 99])
        print(f"| {rule} | {a[0]:.2f} / {a[1]:.2f} / {a[2]:.2f} | {b[0]:.2f} / {b[1]:.2f} / {b[2]:.2f} |")


if __name__ == "__main__":
    run(main)
