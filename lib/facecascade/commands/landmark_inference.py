"""Run level 1 (or the cascade) over a records list and write the predicted points.

    python 1_level_1/Code/3_inference/inference.py [--list 0_raw_data/Data/test.txt]
        [--l1-deploy 1_level_1/Result/train/model/l1_folded_deploy.prototxt
         --l1-model 1_level_1/Result/train/model/l1_folded.caffemodel]   # default: the shipped models
Writes a records list with the predicted points (same images, same boxes) to
--out (default 1_level_1/Result/l1_<list>.txt); 4_evaluate and 5_crop_img read it.
"""
import argparse
import json
from pathlib import Path

from facecascade.cascade import SHIPPED, LandmarkCascade
from facecascade.evaluation import run_cascade
from facecascade.paths import REPO_ROOT
from facecascade.records import FaceRecord, read_records, write_records
from facecascade.runtime import add_runtime_arguments, runtime_options
from facecascade.skips import Skips, add_strict_argument


def main(argv=None, level=1, doc=None):
    """doc: the --help text (2_level_2's inference.py gives its own)."""
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", default=str(REPO_ROOT / "0_raw_data/Data/test.txt"), help="records list")
    ap.add_argument("--l1-deploy", default=str(SHIPPED["l1"][0]))
    ap.add_argument("--l1-model", default=str(SHIPPED["l1"][1]))
    if level == 2:
        ap.add_argument("--l2-deploy", default=str(SHIPPED["l2"][0]))
        ap.add_argument("--l2-model", default=str(SHIPPED["l2"][1]))
    ap.add_argument("--region", choices=("auto", "whole", "box"), default="auto")
    ap.add_argument("--out", help=f"output records list (default {level}_level_{level}/Result/l{level}_<list>.txt)")
    add_runtime_arguments(ap, default="auto")
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    skips = Skips(strict=args.strict)
    records = read_records(args.list, skips=skips)
    cascade = LandmarkCascade(args.l1_deploy, args.l1_model, getattr(args, "l2_deploy", None),
                              getattr(args, "l2_model", None), **runtime_options(args))
    kept, l1, l2, _, _, skipped = run_cascade(cascade, records, args.region, skips=skips)
    pred = l2 if level == 2 else l1
    out = Path(args.out or REPO_ROOT / f"{level}_level_{level}" / "Result" / f"l{level}_{Path(args.list).name}")
    write_records(out, [FaceRecord(r.image, p, r.box) for r, p in zip(kept, pred)])
    print(f"{len(kept)} faces predicted; {skipped.summary()} -> {out}")
    print(json.dumps({"faces": len(kept), "skipped": skipped.counts(), "out": str(out)}))

