#!/usr/bin/env python
"""K MTCNN model folders as one: each of --nets (default det2 det3) becomes one Caffe
net that runs the K folders' nets side by side and outputs the mean of their face
probabilities, box offsets and landmarks (facecascade.nets.ensemble_net); det1 and the
nets not named are copied from the first folder.  The output folder works wherever a
model folder does (`mtcnn/evaluate.py --model-dir OUT`), at K times those nets' time.

    python experiments/tools/ensemble_models.py --out mtcnn/Result/model_ens3 \\
        mtcnn/Result/model_r12 mtcnn/Result/model_r12s1 mtcnn/Result/model_r12s2

A measurement tool, not a shipped model: if K nets trained alike miss the same faces,
averaging them gains nothing and their errors are bias (the data, the recipe), not
run-to-run variance (docs/notebook, "Round 12's seeds as one ensemble").
"""
import argparse
import json
import shutil
from pathlib import Path

from facecascade.cli import run
from facecascade.mtcnn import DEPLOY_OUTPUTS
from facecascade.nets import write_ensemble

NETS = {"det1": "pnet", "det2": "rnet", "det3": "onet"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dirs", type=Path, nargs="+", help="model folders holding det1-3 .prototxt/.caffemodel")
    ap.add_argument("--out", type=Path, required=True, help="the ensemble's model folder")
    ap.add_argument("--nets", nargs="+", choices=sorted(NETS), default=["det2", "det3"],
                    help="the nets averaged (default det2 det3)")
    args = ap.parse_args(argv)
    for d in args.model_dirs:
        for name in NETS:
            for ext in ("prototxt", "caffemodel"):
                if not (d / f"{name}.{ext}").is_file():
                    ap.error(f"{d / f'{name}.{ext}'}: not found (a model folder holds det1-3)")
    if args.out.resolve() in [d.resolve() for d in args.model_dirs]:
        ap.error(f"--out {args.out}: is one of the model folders")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, net in NETS.items():
        proto, model = args.out / f"{name}.prototxt", args.out / f"{name}.caffemodel"
        if name in args.nets:
            outputs = [o for o in DEPLOY_OUTPUTS[net] if o]
            write_ensemble([d / f"{name}.prototxt" for d in args.model_dirs],
                           [d / f"{name}.caffemodel" for d in args.model_dirs], outputs, proto, model)
        else:
            shutil.copyfile(args.model_dirs[0] / f"{name}.prototxt", proto)
            shutil.copyfile(args.model_dirs[0] / f"{name}.caffemodel", model)
    print(json.dumps({"out": str(args.out), "nets": sorted(args.nets), "members": [str(d) for d in args.model_dirs]}))


if __name__ == "__main__":
    run(main)
