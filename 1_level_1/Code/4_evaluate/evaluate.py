#!/usr/bin/env python3
"""Evaluate level 1 alone on a landmark list (docs/METRICS.md); same flags as
2_level_2/Code/2_evaluate/evaluate.py without the level-2 model.

    python 1_level_1/Code/4_evaluate/evaluate.py --list LIST --format {celeba,cuhk,mtfl}
        [--l1-deploy 1_level_1/Result/train/model/l1_folded_deploy.prototxt
         --l1-model 1_level_1/Result/train/model/l1_folded.caffemodel]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "2_level_2/Code/2_evaluate"))

from evaluate import main  # noqa: E402
from facecascade.cli import run  # noqa: E402
from facecascade.paths import REPO_ROOT  # noqa: E402

if __name__ == "__main__":
    run(main, level2=False, default_out=REPO_ROOT / "1_level_1" / "Result" / "evaluate", doc=__doc__)
