#!/usr/bin/env python3
"""Run level 1 (or the cascade) over a records list and write the predicted points.

    python 1_level_1/Code/3_inference/inference.py [--list 0_raw_data/Data/test.txt]
        [--l1-deploy 1_level_1/Result/train/model/l1_folded_deploy.prototxt
         --l1-model 1_level_1/Result/train/model/l1_folded.caffemodel]   # default: the shipped models
Writes a records list with the predicted points (same images, same boxes) to
--out (default 1_level_1/Result/l1_<list>.txt); 4_evaluate and 5_crop_img read it.
"""
from facecascade.cli import run
from facecascade.commands.landmark_inference import main

if __name__ == "__main__":
    run(main, doc=__doc__)
