#!/usr/bin/env python3
"""Run the whole cascade (level 1 then level 2) over a records list and write
the refined points; flags as 1_level_1/Code/3_inference/inference.py plus the
level-2 model.

    python 2_level_2/Code/1_inference/inference.py [--list 0_raw_data/Data/test.txt]
"""


from facecascade.cli import run
from facecascade.commands.landmark_inference import main

if __name__ == "__main__":
    run(main, level=2, doc=__doc__)
