#!/usr/bin/env python3
"""Level-1 training data: each face's region -> 48x48 PNG + list line (path + 10 values in [-1, 1]).

    python 1_level_1/Code/0_gen_data/gen_data.py            # 0_raw_data/Data/{train,test}.txt
Augmentation flags below are on by default (the shipped models use them).
Output: 1_level_1/Data/l1_train.txt, l1_test.txt and their image folders.
"""
from facecascade.cli import run
from facecascade.commands.landmark_data import main

if __name__ == "__main__":
    run(main, doc=__doc__)
