#!/usr/bin/env python3
"""Draw the labels of generated 48x48 samples onto a montage, to check them by eye.

    python 1_level_1/Code/1_draw_img/draw_img.py [--list 1_level_1/Data/l1_train.txt] [--n 64]
Writes <level>/Result/draw_img/montage_<list>.png (points: image-left eye red,
the other points green, so a missed left/right swap after a flip shows).
"""
import argparse
from pathlib import Path

import numpy as np

from facecascade import drawing
from facecascade import geometry as geo
from facecascade.cli import run
from facecascade.images import read_image, write_image
from facecascade.paths import REPO_ROOT
from facecascade.records import read_label_list


def main(argv=None, level=1):
    root = REPO_ROOT / f"{level}_level_{level}"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", default=str(root / "Data" / f"l{level}_train.txt"), help="ImageData list")
    ap.add_argument("--n", type=int, default=64, help="samples to draw (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(root / "Result" / "draw_img"), help="output folder")
    args = ap.parse_args(argv)
    rows = read_label_list(args.list)
    pick = np.random.default_rng(args.seed).choice(len(rows), min(args.n, len(rows)), replace=False)
    tiles = []
    for i in pick:
        rel, values = rows[i]
        img = read_image(Path(args.list).parent / rel)
        scale = 4
        big = np.ascontiguousarray(np.repeat(np.repeat(img, scale, 0), scale, 1))
        pts = (np.asarray(values).reshape(5, 2) + 1) * (geo.NET_INPUT * scale / 2) - 0.5
        drawing.draw_points(big, pts[1:], drawing.GREEN, radius=3)
        drawing.draw_points(big, pts[:1], drawing.RED, radius=3)
        tiles.append(big)
    out = Path(args.out) / f"montage_{Path(args.list).stem}.png"
    write_image(out, drawing.montage(tiles, columns=8, scale=1))
    print(out)


if __name__ == "__main__":
    run(main)
