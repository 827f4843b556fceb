#!/usr/bin/env python3
"""Split landmark data into train / test(or val) record lists (0_raw_data/Data/).

CelebA as downloaded (official partition when given, else a seeded split):
    python 0_raw_data/Code/divide_tr_te.py --celeba-landmarks Anno/list_landmarks_celeba.txt \\
        --celeba-images Img/img_celeba --celeba-bbox Anno/list_bbox_celeba.txt \\
        --celeba-partition Eval/list_eval_partition.txt
Our development data (CUHK list + MTFL list), holding out a seeded validation part:
    python 0_raw_data/Code/divide_tr_te.py --cuhk ../shared/data/cuhk_facepoint/train_net7876.txt \\
        --mtfl ../shared/data/lfw5590_80x80/train_lfw5590_80x80.txt --test-fraction 0.05
Writes train.txt and test.txt in the canonical records format (facecascade.records).
"""
import argparse
from pathlib import Path

import numpy as np

from facecascade import records as rec
from facecascade.cli import run
from facecascade.paths import REPO_ROOT


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--celeba-landmarks", help="list_landmarks_celeba.txt (or _align_)")
    ap.add_argument("--celeba-images", help="img_celeba/ folder (default: beside the list)")
    ap.add_argument("--celeba-bbox", help="list_bbox_celeba.txt (optional)")
    ap.add_argument("--celeba-partition", help="list_eval_partition.txt (optional): official split")
    ap.add_argument("--cuhk", action="append", default=[], help="CUHK-format list (repeatable)")
    ap.add_argument("--mtfl", action="append", default=[], help="MTFL-format list (repeatable)")
    ap.add_argument("--test-fraction", type=float, default=0.2,
                    help="share held out when no official partition is given (default 0.2, seed's 80/20)")
    ap.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    ap.add_argument("--out", default=str(REPO_ROOT / "0_raw_data" / "Data"), help="output folder")
    args = ap.parse_args(argv)

    train, test = [], []
    pool = []
    if args.celeba_landmarks:
        if args.celeba_partition:
            kw = dict(images_dir=args.celeba_images, bbox_file=args.celeba_bbox,
                      partition_file=args.celeba_partition)
            train += rec.read_celeba(args.celeba_landmarks, partition=0, **kw)
            train += rec.read_celeba(args.celeba_landmarks, partition=1, **kw)
            test += rec.read_celeba(args.celeba_landmarks, partition=2, **kw)
        else:
            pool += rec.read_celeba(args.celeba_landmarks, images_dir=args.celeba_images,
                                    bbox_file=args.celeba_bbox)
    for path in args.cuhk:
        pool += rec.read_cuhk(path)
    for path in args.mtfl:
        pool += rec.read_mtfl(path)
    if not pool and not train:
        ap.error("give --celeba-landmarks, --cuhk or --mtfl")
    if pool:
        order = np.random.default_rng(args.seed).permutation(len(pool))
        n_test = int(round(len(pool) * args.test_fraction))
        test += [pool[i] for i in order[:n_test]]
        train += [pool[i] for i in order[n_test:]]
    out = Path(args.out)
    rec.write_records(out / "train.txt", train)
    rec.write_records(out / "test.txt", test)
    print(f"train: {len(train)} faces -> {out / 'train.txt'}")
    print(f"test:  {len(test)} faces -> {out / 'test.txt'}")


if __name__ == "__main__":
    run(main)
