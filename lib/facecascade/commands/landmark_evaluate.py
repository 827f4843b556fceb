"""Evaluate level 1 and the cascade on any landmark list (docs/METRICS.md).

    python 2_level_2/Code/2_evaluate/evaluate.py --list LIST --format {celeba,cuhk,mtfl}

Shipped models by default; the image root defaults to the list's folder.  Lists
without boxes use the whole image as level 1's region; with boxes, --region
{whole,box} chooses (default box).  Writes the CED plot (ced.png), metrics.json
and the worst faces (ground truth green, level 1 red, level 2 blue) to --out.
The last line printed is one JSON object: n, nme_l1, nme_l2, failure_l2,
auc10_l2 (NME and failure in %, AUC in 0..1) and more.
"""
import argparse
import json
from pathlib import Path

from facecascade.cascade import SHIPPED, LandmarkCascade
from facecascade.evaluation import evaluate
from facecascade.geometry import L2_SCALES
from facecascade.paths import REPO_ROOT
from facecascade.records import FORMATS, read_landmark_list
from facecascade.runtime import add_runtime_arguments, runtime_options
from facecascade.skips import Skips, add_strict_argument


def add_model_arguments(ap, level2=True):
    ap.add_argument("--l1-deploy", default=str(SHIPPED["l1"][0]), help="level-1 deploy prototxt (default: shipped)")
    ap.add_argument("--l1-model", default=str(SHIPPED["l1"][1]), help="level-1 caffemodel (default: shipped)")
    if level2:
        ap.add_argument("--l2-deploy", default=str(SHIPPED["l2"][0]), help="level-2 deploy prototxt")
        ap.add_argument("--l2-model", default=str(SHIPPED["l2"][1]), help="level-2 caffemodel")
    ap.add_argument("--flip-test", action="store_true", help="average with the mirrored prediction")
    ap.add_argument("--model-card", help="cascade.json whose settings the flags below default to "
                                         "(default: 3_demo/Data/cascade.json, the shipped models')")
    ap.add_argument("--box-margin", type=float, help="level-1 margin around a face box (default: 3_demo/Data/cascade.json)")
    if level2:
        ap.add_argument("--l2-half-factor", type=float,
                        help="level-2 crop half-side / the --l2-scale length (default: 3_demo/Data/cascade.json; seed: 2.0)")
        ap.add_argument("--l2-passes", type=int,
                        help="run level 2 N times, each on a crop re-centred on its last points "
                             "(default: 3_demo/Data/cascade.json's l2_passes, else 1, the seed)")
        ap.add_argument("--l2-scale", choices=L2_SCALES,
                        help="level-2 crop scale rule (default: 3_demo/Data/cascade.json; seed: left_eye)")
        ap.add_argument("--l2-derotate", choices=("on", "off"),
                        help="level 2 on a crop turned upright by level 1's eye line (default: "
                             "3_demo/Data/cascade.json's l2_derotate; off when it has none)")
    add_runtime_arguments(ap, default="auto")


def main(argv=None, level2=True, default_out=REPO_ROOT / "2_level_2" / "Result" / "evaluate", doc=None):
    """doc: the --help text (1_level_1's evaluate.py gives its own)."""
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list", required=True, help="landmark list file")
    ap.add_argument("--format", required=True, choices=FORMATS, help="list format")
    ap.add_argument("--root", help="image root (default: the list's folder)")
    ap.add_argument("--region", choices=("whole", "box"), help="level 1's region (default: box if the list has boxes)")
    ap.add_argument("--out", default=str(default_out), help="results folder (default %(default)s)")
    ap.add_argument("--worst", type=int, default=20, help="worst faces to draw (default %(default)s)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N faces")
    add_model_arguments(ap, level2)
    add_strict_argument(ap)
    args = ap.parse_args(argv)

    skips = Skips(strict=args.strict)
    records = read_landmark_list(args.list, args.format, args.root, skips=skips)
    if args.limit:
        records = records[:args.limit]
    has_boxes = any(r.box is not None for r in records)
    region = args.region or ("box" if has_boxes else "whole")
    if region == "box" and not has_boxes:
        ap.error(f"--region box: {args.list} has no face boxes")
    cascade = LandmarkCascade(args.l1_deploy, args.l1_model,
                              getattr(args, "l2_deploy", None), getattr(args, "l2_model", None),
                              **runtime_options(args), flip_test=args.flip_test,
                              box_margin=args.box_margin, l2_half_factor=getattr(args, "l2_half_factor", None),
                              l2_scale=getattr(args, "l2_scale", None), l2_passes=getattr(args, "l2_passes", None),
                              l2_derotate={"on": True, "off": False, None: None}[getattr(args, "l2_derotate", None)],
                              model_card=args.model_card)
    result = evaluate(cascade, records, region, args.out, args.worst,
                      title=f"{Path(args.list).name} ({region})", skips=skips)
    print(f"{result['n']} faces evaluated; {skips.summary()}; region {region}; "
          f"backend {cascade.backend}; results in {args.out}")
    print(f"level 1: NME {result['nme_l1']:.2f}%  failure {result['failure_l1']:.2f}%  "
          f"AUC@10% {result['auc10_l1']:.3f}  diag {result['diag_error_l1']:.2f}%")
    if "nme_l2" in result:
        print(f"cascade: NME {result['nme_l2']:.2f}%  failure {result['failure_l2']:.2f}%  "
              f"AUC@10% {result['auc10_l2']:.3f}  diag {result['diag_error_l2']:.2f}%")
    result["backend"] = cascade.backend
    result["precision"] = args.precision
    print(json.dumps(result))

