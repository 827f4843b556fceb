#!/usr/bin/env python3
"""Run the whole cascade (level 1 then level 2) over a records list and write
the refined points; flags as 1_level_1/Code/3_inference/inference.py plus the
level-2 model.

    python 2_level_2/Code/1_inference/inference.py [--list 0_raw_data/Data/test.txt]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "1_level_1/Code/3_inference"))

from inference import main  # noqa: E402
from facecascade.cli import run  # noqa: E402

if __name__ == "__main__":
    run(main, level=2, doc=__doc__)
