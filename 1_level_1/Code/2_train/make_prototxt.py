#!/usr/bin/env python3
"""Regenerate a level's train/test prototxt with NetSpec (facecascade.landmark_net).

The prototxt is a plain file users may edit afterwards; training derives the
deploy net from it.  Paths inside are relative to the prototxt's folder.
    python 1_level_1/Code/2_train/make_prototxt.py            # level 1
    python 1_level_1/Code/2_train/make_prototxt.py --level 2  # level 2
"""
import argparse

from facecascade import landmark_net
from facecascade.cli import run
from facecascade.paths import REPO_ROOT
from facecascade.prototxt import write_text

TRAIN_DIR = {1: REPO_ROOT / "1_level_1/Code/2_train", 2: REPO_ROOT / "2_level_2/Code/0_train"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", type=int, choices=(1, 2), default=1)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    lv = args.level
    out = TRAIN_DIR[lv] / f"l{lv}_mobilenet.prototxt"
    data = "../../Data"
    net = landmark_net.train_net(f"l{lv}", f"{data}/l{lv}_train.txt", f"{data}/l{lv}_test.txt",
                                 root_folder=f"{data}/", batch=args.batch)
    write_text(out, net)
    print(out)


if __name__ == "__main__":
    run(main)
