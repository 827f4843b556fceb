#!/usr/bin/env python3
"""Evaluate level 1 and the cascade on any landmark list (docs/METRICS.md).

    python 2_level_2/Code/2_evaluate/evaluate.py --list LIST --format {celeba,cuhk,mtfl}

Shipped models by default; the image root defaults to the list's folder.  Lists
without boxes use the whole image as level 1's region; with boxes, --region
{whole,box} chooses (default box).  Writes the CED plot (ced.png), metrics.json
and the worst faces (ground truth green, level 1 red, level 2 blue) to --out.
The last line printed is one JSON object: n, nme_l1, nme_l2, failure_l2,
auc10_l2 (NME and failure in %, AUC in 0..1) and more.
"""
from facecascade.cli import run
from facecascade.commands.landmark_evaluate import main

if __name__ == "__main__":
    run(main, doc=__doc__)
