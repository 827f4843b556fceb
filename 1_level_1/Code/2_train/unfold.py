#!/usr/bin/env python3
"""Turn a BatchNorm-folded deploy model (what 3_demo/Data ships) into weights
for the level's train net, to fine-tune the shipped models with train.py --weights.

    python 1_level_1/Code/2_train/unfold.py --level 1 --out 1_level_1/Result/l1_shipped_unfolded.caffemodel
BatchNorm statistics are measured on batches of the solver's training list (see
facecascade.landmark_net.unfold_batchnorm); prints the largest difference between
the folded model and the unfolded train net (TEST phase) on one batch.
"""
import argparse
import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from facecascade.caffe_loader import import_caffe
from facecascade.cli import run
from facecascade.landmark_net import unfold_batchnorm
from facecascade.paths import DEMO_DATA, REPO_ROOT
from facecascade.prototxt import read_solver
from facecascade.training import check_image_lists, resolve_paths

SOLVERS = {1: REPO_ROOT / "1_level_1/Code/2_train/solver.prototxt",
           2: REPO_ROOT / "2_level_2/Code/0_train/solver.prototxt"}


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
    caffe = import_caffe()
    deploy = args.deploy or DEMO_DATA / f"l{lv}_deploy.prototxt"
    model = args.model or DEMO_DATA / f"l{lv}.caffemodel"
    solver = Path(args.solver or SOLVERS[lv])
    with tempfile.TemporaryDirectory() as tmp:
        _, _, net_param, _ = resolve_paths(solver, tmp)
        check_image_lists(net_param)
        resolved = Path(tmp) / (Path(read_solver(solver).net).stem + ".resolved.prototxt")
        train_net = caffe.Net(str(resolved), caffe.TRAIN)
        folded = caffe.Net(str(deploy), str(model), caffe.TEST)
        n = unfold_batchnorm(train_net, folded, args.batches)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        train_net.save(str(out) + ".part")
        os.replace(str(out) + ".part", out)
        # check: the unfolded weights in TEST phase against the folded model
        test_net = caffe.Net(str(resolved), str(out), caffe.TEST)
        test_net.forward()
        data = test_net.blobs["data"].data
        folded.blobs["data"].reshape(*data.shape)
        folded.reshape()
        ref = next(iter(folded.forward(data=data).values()))
        diff = float(np.abs(test_net.blobs["fc2"].data - ref.reshape(test_net.blobs["fc2"].data.shape)).max())
    print(json.dumps({"unfolded_convs": n, "out": str(out), "max_abs_diff_test_phase": diff}))


if __name__ == "__main__":
    run(main)
