#!/usr/bin/env python3
"""Evaluate level 1 alone on a landmark list (docs/METRICS.md); same flags as
2_level_2/Code/2_evaluate/evaluate.py without the level-2 model.

    python 1_level_1/Code/4_evaluate/evaluate.py --list LIST --format {celeba,cuhk,mtfl}
        [--l1-deploy 1_level_1/Result/train/model/l1_folded_deploy.prototxt
         --l1-model 1_level_1/Result/train/model/l1_folded.caffemodel]
"""


from facecascade.cli import run
from facecascade.commands.landmark_evaluate import main
from facecascade.paths import REPO_ROOT

if __name__ == "__main__":
    run(main, level2=False, default_out=REPO_ROOT / "1_level_1" / "Result" / "evaluate", doc=__doc__)
