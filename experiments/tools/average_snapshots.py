#!/usr/bin/env python
"""Average the snapshots of one training run into one net (stochastic weight averaging).

    python experiments/tools/average_snapshots.py mtcnn/Result/rnet_r12swa --from-iter 12000 \\
        --out mtcnn/Result/rnet_r12swa_avg

RUN is a train_pnet.py / train_rnet.py / train_onet.py --out folder trained with
--keep-snapshots (its snapshots/NET_iter_N.caffemodel).  The snapshots whose N lies in
[--from-iter, --to-iter] and is a multiple of --every (evenly spaced: the extra ones
saved at a phase's end are left out) are averaged element-wise (facecascade.nets.
average_weights).  --out gets NET.caffemodel and NET_deploy.prototxt, the layout of a
training --out folder, so experiments/common/combine_models.sh takes it as is.  The last line
printed is one JSON object: {"net", "snapshots", "iters", "out"}.
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path

from facecascade.caffe_loader import import_caffe
from facecascade.cli import run
from facecascade.nets import average_weights, flush_denormals

SNAPSHOT = re.compile(r"^(pnet|rnet|onet)_iter_(\d+)\.caffemodel$")


def kept_snapshots(run_dir):
    """(net, {iteration: path}) of a run folder's snapshots/ (train_*.py --keep-snapshots)."""
    found = {}
    for f in sorted((run_dir / "snapshots").glob("*.caffemodel")):
        m = SNAPSHOT.match(f.name)
        if m:
            found.setdefault(m.group(1), {})[int(m.group(2))] = f
    if not found:
        raise FileNotFoundError(f"{run_dir / 'snapshots'}: no NET_iter_N.caffemodel (train with --keep-snapshots)")
    if len(found) > 1:
        sys.exit(f"error: {run_dir / 'snapshots'}: snapshots of several nets ({', '.join(sorted(found))})")
    return next(iter(found.items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, help="a training --out folder with snapshots/ (--keep-snapshots)")
    ap.add_argument("--from-iter", type=int, required=True, help="first iteration averaged")
    ap.add_argument("--to-iter", type=int, default=None, help="last iteration averaged (default: the last kept)")
    ap.add_argument("--every", type=int, default=1000, help="average the snapshots at multiples of this")
    ap.add_argument("--out", type=Path, required=True, help="folder for NET.caffemodel + NET_deploy.prototxt")
    args = ap.parse_args(argv)
    if args.every <= 0:
        ap.error(f"--every {args.every}: must be > 0")
    net_name, snapshots = kept_snapshots(args.run_dir)
    last = args.to_iter if args.to_iter is not None else max(snapshots)
    iters = [i for i in sorted(snapshots) if args.from_iter <= i <= last and i % args.every == 0]
    if not iters:
        ap.error(f"no snapshot of {args.run_dir} at a multiple of {args.every} in [{args.from_iter}, {last}] "
                 f"(kept: {min(snapshots)}-{max(snapshots)})")
    deploy = args.run_dir / f"{net_name}_deploy.prototxt"
    if not deploy.is_file():
        raise FileNotFoundError(f"{deploy}: not found (the run folder's deploy net)")
    caffe = import_caffe()
    net = caffe.Net(str(deploy), caffe.TEST)
    try:
        average_weights(net, [snapshots[i] for i in iters])
    except ValueError as e:  # a snapshot of another net
        sys.exit(f"error: {e}")
    flush_denormals(net)
    args.out.mkdir(parents=True, exist_ok=True)
    final = args.out / f"{net_name}.caffemodel"
    tmp = args.out / f"{net_name}.tmp.caffemodel"
    net.save(str(tmp))
    tmp.replace(final)
    if deploy.resolve() != (args.out / deploy.name).resolve():
        shutil.copyfile(deploy, args.out / deploy.name)
    print(f"{net_name}: the mean of {len(iters)} snapshots, iterations {iters[0]}-{iters[-1]} every "
          f"{args.every} -> {final}")
    print(json.dumps({"net": net_name, "snapshots": len(iters), "iters": [iters[0], iters[-1]], "out": str(final)}))


if __name__ == "__main__":
    run(main)
