#!/usr/bin/env python3
"""MTCNN's arithmetic per image, and the least time it could take on one core
of this machine.  For the images of a WIDER-format set, single thread:
  - FLOPs (2 x the multiply-adds of the convolution and fully connected layers,
    facecascade.nets.forward_flops) of every forward the detector makes: P-Net
    on each pyramid level (or strip of one), R-Net and O-Net on each batch of
    candidates, the second look's rescoring included;
  - the detector's own wall time per stage.
The FLOPs divided by the rate of a float32 1024 x 1024 matrix product on one
core (facecascade.machine.matmul_gflops) give the "limit": the time the nets
alone would take if every layer ran as fast as a large matrix product, with
cropping, pooling, PReLU, NMS and image decoding free.

    python bench/mtcnn_work.py [GT_FILE] [--images DIR] [--limit N] [--rescore-rounds N]

Default GT_FILE: ../shared/data/wider_eval/wider_face_val_bbx_gt_subset.txt,
images in <its folder>/images; --limit N takes N images evenly spaced over the
file.  Medians over the images (the median of the total is not the sum of the
stages' medians).  The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.caffe_loader import import_caffe
from facecascade.machine import describe, matmul_gflops
from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.nets import forward_flops
from facecascade.paths import SHARED_DATA
from facecascade.skips import Skips
from facecascade.wider import read_wider

DEFAULT_GT = SHARED_DATA / "wider_eval" / "wider_face_val_bbx_gt_subset.txt"
STAGES = (("pnet", "det1"), ("rnet", "det2"), ("onet", "det3"))


class FlopCounter:
    """FLOPs of a forward of each net at an input shape, from a second copy of
    the nets (the detector's own are never reshaped by the count); per shape once."""

    def __init__(self, caffe, model_dir):
        self.nets = {key: caffe.Net(str(model_dir / f"{name}.prototxt"), str(model_dir / f"{name}.caffemodel"),
                                    caffe.TEST) for key, name in STAGES}
        self.known = {}

    def __call__(self, key, shape):
        if (key, shape) not in self.known:
            net = self.nets[key]
            net.blobs["data"].reshape(*shape)
            net.reshape()
            self.known[key, shape] = forward_flops(net)
        return self.known[key, shape]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gt", nargs="?", type=Path, default=DEFAULT_GT)
    ap.add_argument("--images", type=Path, help="image folder (default: <gt folder>/images)")
    ap.add_argument("--limit", type=int, default=0, help="N images evenly spaced over the file (0: all)")
    add_detector_arguments(ap)
    args = ap.parse_args(argv)
    if not args.gt.is_file():
        raise SystemExit(f"{args.gt}: ground truth not found")
    images_dir = args.images or args.gt.parent / "images"
    gt = read_wider(args.gt)
    if args.limit and args.limit < len(gt):
        gt = [gt[i] for i in sorted(set(np.linspace(0, len(gt) - 1, args.limit).round().astype(int)))]

    caffe = import_caffe()
    print(describe())
    rate = matmul_gflops()
    print(f"matmul rate (float32 1024 x 1024, one thread): {rate:.1f} GFLOP/s")
    det = detector_from_args(args, caffe=caffe)
    count = FlopCounter(caffe, args.model_dir)
    forwards = []                                  # (key, input shape) of each forward of one image
    detector_forward = det._forward

    def counted_forward(key, x):
        forwards.append((key, tuple(x.shape)))
        return detector_forward(key, x)

    det._forward = counted_forward
    keys = [key for key, _ in STAGES]
    flops = {key: [] for key in keys + ["total"]}
    inputs = {key: [] for key in keys}             # P-Net: pixels of its inputs; R/O-Net: crops
    seconds = {key: [] for key in keys + ["total"]}
    skipped = Skips()
    for g in tqdm(gt, desc="detect", file=sys.stderr):
        image = skipped.read(images_dir / g.name, where=f"{args.gt}:{g.line}")
        if image is None:
            continue
        forwards.clear()
        t0 = time.perf_counter()
        det.detect(image)
        seconds["total"].append(time.perf_counter() - t0)
        for key in keys:
            mine = [shape for k, shape in forwards if k == key]
            flops[key].append(sum(count(key, shape) for shape in mine))
            inputs[key].append(sum(np.prod(s[2:]) if key == "pnet" else s[0] for s in mine))
            seconds[key].append(det.last_stage_seconds.get(key, 0.0))
        flops["total"].append(sum(flops[key][-1] for key in keys))

    med = {key: float(np.median(v)) for key, v in flops.items()}
    sec = {key: float(np.median(v)) for key, v in seconds.items()}
    n = len(seconds["total"])
    print(f"\nset: {args.gt}, {n} images{f' (--limit {args.limit})' if args.limit else ''}, "
          f"{len(skipped)} unreadable; min face {det.min_face:g}, second look {det.rescore_rounds} rounds; "
          f"medians per image")
    print("| stage | input per image | GFLOP | limit ms (GFLOP / matmul rate) | measured ms | measured / limit |")
    print("|---|---|---|---|---|---|")
    what = {"pnet": "Mpx of pyramid", "rnet": "crops", "onet": "crops"}
    for key in keys + ["total"]:
        size = "" if key == "total" else \
            f"{np.median(inputs[key]) / (1e6 if key == 'pnet' else 1):.{2 if key == 'pnet' else 0}f} {what[key]}"
        limit_ms = med[key] / rate / 1e6
        print(f"| {key} | {size} | {med[key] / 1e9:.2f} | {limit_ms:.1f} | {sec[key] * 1000:.1f} | "
              f"{sec[key] * 1000 / limit_ms:.1f}x |")
    print(json.dumps({"n_images": n, "matmul_gflops": round(rate, 1),
                      "gflop_per_image": {k: round(v / 1e9, 3) for k, v in med.items()},
                      "limit_ms": {k: round(v / rate / 1e6, 1) for k, v in med.items()},
                      "measured_ms": {k: round(v * 1000, 1) for k, v in sec.items()},
                      "rescore_rounds": det.rescore_rounds, "min_face": det.min_face}))


if __name__ == "__main__":
    main()
