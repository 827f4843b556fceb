#!/usr/bin/env python
"""Compare the weights of two MTCNN model folders (det1-3 .prototxt + .caffemodel), blob by blob.

    python mtcnn/5_evaluate/compare_models.py mtcnn/model mtcnn/Result/train_shipped/model

For each net, one line per parameter blob that differs (all blobs with --all):
layer, blob index, shape, how many float32 values differ in their bits, and
the largest absolute difference; then the net's verdict (identical to the bit
or not).  Made to check that a retraining reproduces the shipped nets
(mtcnn/train_shipped.sh).  The last line printed is one JSON object:
{"det1": {"identical": ..., "differing": ..., "values": ..., "max_abs_diff": ...}, ...}.
"""
import argparse
import json
import math
from pathlib import Path

from facecascade.cli import run
from facecascade.nets import net_weights, weight_differences
from facecascade.runtime import load_net

NETS = ("det1", "det2", "det3")


def load_weights(folder, name):
    return net_weights(load_net(folder / f"{name}.prototxt", folder / f"{name}.caffemodel", backend="caffe").net)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir_a", type=Path)
    ap.add_argument("model_dir_b", type=Path)
    ap.add_argument("--nets", nargs="+", default=list(NETS), choices=NETS)
    ap.add_argument("--all", action="store_true", help="print every blob, not only those that differ")
    args = ap.parse_args(argv)
    summary = {}
    for name in args.nets:
        rows = weight_differences(load_weights(args.model_dir_a, name), load_weights(args.model_dir_b, name))
        print(f"{name}: {args.model_dir_a / name} against {args.model_dir_b / name}")
        for r in rows:
            if r["differing"] or args.all:
                diff = "missing / other shape" if r["max_abs_diff"] is None else f"max |a - b| {r['max_abs_diff']:.3g}"
                print(f"  {r['layer']:>10s}[{r['blob']}] {str(r['shape']):>16s}: "
                      f"{r['differing']:>7d} values differ, {diff}")
        differing = sum(r["differing"] for r in rows)
        values = sum(math.prod(r["shape"]) for r in rows)
        known = [r["max_abs_diff"] for r in rows if r["max_abs_diff"] is not None]
        summary[name] = dict(identical=differing == 0, differing=differing, values=values,
                             max_abs_diff=None if len(known) < len(rows) else max(known, default=0.0))
        verdict = "identical to the bit" if differing == 0 else f"{differing} of {values} values differ"
        print(f"  {name}: {verdict}")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    run(main)
