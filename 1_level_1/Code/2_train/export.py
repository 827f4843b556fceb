#!/usr/bin/env python3
"""Export a training snapshot as deployable models, optionally shipping them.

    python 1_level_1/Code/2_train/export.py --level 1 [--snapshot FILE.caffemodel] [--ship [NAME]]
Recomputes BatchNorm statistics with the snapshot's weights, writes the deploy
and BatchNorm-folded models to <level>/Result/train/model, and with --ship
copies the folded pair to 3_demo/Data/l<level>_deploy.prototxt / l<level>.caffemodel
(what the demo, the evaluation and the tests use by default), or with --ship NAME
to 3_demo/Data/NAME_deploy.prototxt / NAME.caffemodel (l1_any_angle: the any-angle
level 1 that 3_demo/Data/cascade.json names).
"""
import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


from facecascade.cli import run
from facecascade.paths import DEMO_DATA, REPO_ROOT
from facecascade.training import SOLVERS, export_snapshot, latest_snapshot


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", type=int, choices=(1, 2), default=1)
    ap.add_argument("--snapshot", help="caffemodel snapshot (default: the newest of the run)")
    ap.add_argument("--out", help="run folder (default: <level>/Result/train)")
    ap.add_argument("--bn-batches", type=int, default=50)
    ap.add_argument("--ship", nargs="?", const="", metavar="NAME",
                    help="copy the folded model into 3_demo/Data as l<level>, or as NAME")
    args = ap.parse_args(argv)
    lv = args.level
    out = Path(args.out or REPO_ROOT / f"{lv}_level_{lv}" / "Result" / "train")
    snap = args.snapshot
    if not snap:
        state = latest_snapshot(out / "snapshot")
        if state is None:
            raise FileNotFoundError(f"{out / 'snapshot'}: no snapshot to export")
        snap = str(state).replace(".solverstate", ".caffemodel")
    summary = export_snapshot(SOLVERS[lv], snap, out, args.bn_batches)
    summary["snapshot"] = str(snap)
    if args.ship is not None:
        name = args.ship or f"l{lv}"
        shutil.copyfile(summary["deploy"], DEMO_DATA / f"{name}_deploy.prototxt")
        shutil.copyfile(summary["caffemodel"], DEMO_DATA / f"{name}.caffemodel")
        summary["shipped"] = str(DEMO_DATA)
    print(json.dumps(summary))


if __name__ == "__main__":
    run(main)
