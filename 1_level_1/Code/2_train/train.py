#!/usr/bin/env python3
"""Train a landmark level with its solver; resumable (newest snapshot is picked up).

    python 1_level_1/Code/2_train/train.py                 # level 1, 1_level_1/Result/train
    python 1_level_1/Code/2_train/train.py --level 2       # level 2, 2_level_2/Result/train
Prints images/s, writes train_log.csv and loss.png, snapshots every `snapshot`
iterations and on Ctrl-C; at the end recomputes BatchNorm statistics and
exports <name>_deploy.prototxt/.caffemodel and the BatchNorm-folded
<name>_folded_deploy.prototxt/_folded.caffemodel to Result/train/model.
"""
import argparse
import json
import os

# One BLAS thread: on 2 cores, two single-thread trainings side by side beat one
# two-thread training (docs/TRAINING.md). Set before Caffe loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from facecascade.caffe_loader import add_device_arguments
from facecascade.cli import run
from facecascade.paths import REPO_ROOT
from facecascade.training import SOLVERS, run_training


def main(argv=None, level=1):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", type=int, choices=(1, 2), default=level)
    ap.add_argument("--solver", help="solver prototxt (default: the level's solver.prototxt)")
    ap.add_argument("--out", help="run folder (default: <level>/Result/train)")
    ap.add_argument("--max-iter", type=int, help="override the solver's max_iter")
    ap.add_argument("--resume", default="auto", help="'auto' (newest snapshot), 'none', or a .solverstate")
    ap.add_argument("--weights", help="caffemodel to start from (fine-tuning); ignored when resuming")
    ap.add_argument("--bn-batches", type=int, default=50, help="batches for the final BatchNorm statistics")
    add_device_arguments(ap)
    args = ap.parse_args(argv)
    lv = args.level
    solver = args.solver or SOLVERS[lv]
    out = args.out or REPO_ROOT / f"{lv}_level_{lv}" / "Result" / "train"
    summary = run_training(solver, out, max_iter=args.max_iter, resume=args.resume, gpu=args.gpu,
                           bn_batches=args.bn_batches, log=lambda m: print(m, flush=True),
                           weights=args.weights)
    print(json.dumps(summary))


if __name__ == "__main__":
    run(main)
