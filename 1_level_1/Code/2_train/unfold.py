#!/usr/bin/env python3
"""Turn a BatchNorm-folded deploy model (what 3_demo/Data ships) into weights
for the level's train net, to fine-tune the shipped models with train.py --weights.

    python 1_level_1/Code/2_train/unfold.py --level 1 --solver 1_level_1/Code/2_train/solver_robust.prototxt \
        --out 1_level_1/Result/l1_shipped_unfolded.caffemodel
BatchNorm statistics are measured on batches of the solver's training list
(facecascade.landmark_net.unfold_batchnorm).  The last line is JSON with the
largest difference between the folded model and the unfolded train net (TEST
phase) on one batch: float rounding (~1e-7) when all went well.
"""
import argparse
import json
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from facecascade.cli import run
from facecascade.paths import DEMO_DATA
from facecascade.training import SOLVERS, unfold_deploy_model


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", type=int, choices=(1, 2), default=1)
    ap.add_argument("--solver", help="solver whose train net and list are used (default: the level's solver.prototxt)")
    ap.add_argument("--deploy", help="folded deploy prototxt (default: 3_demo/Data/l<level>_deploy.prototxt)")
    ap.add_argument("--model", help="folded caffemodel (default: 3_demo/Data/l<level>.caffemodel)")
    ap.add_argument("--out", required=True, help="caffemodel to write, for train.py --weights")
    ap.add_argument("--batches", type=int, default=20, help="training batches for the statistics (default %(default)s)")
    args = ap.parse_args(argv)
    lv = args.level
    print(json.dumps(unfold_deploy_model(args.solver or SOLVERS[lv], args.deploy or DEMO_DATA / f"l{lv}_deploy.prototxt",
                                         args.model or DEMO_DATA / f"l{lv}.caffemodel", args.out, args.batches)))


if __name__ == "__main__":
    run(main)
