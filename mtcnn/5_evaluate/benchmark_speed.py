#!/usr/bin/env python
"""Detection speed per docs/METRICS.md: ms per image at min face 20,
factor 0.709, thresholds [0.6, 0.7, 0.7], single thread, median of >= 20 runs
after a warm-up, on scikit-image's astronaut (512x512) and optionally more
images; pycaffe and cv2.dnn backends reported separately (--backends).  Any
other setting of detect.py can be timed with its flag (--rescore-rounds 0, ...).  Prints the machine
and the load average (other jobs on a shared CPU inflate the times).
The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import skimage.data

from facecascade.cli import run
from facecascade.images import read_image
from facecascade.machine import describe
from facecascade.mtcnn import add_detector_arguments, detector_from_args


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("images", nargs="*", type=Path, help="more images to time (default: astronaut only)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--backends", nargs="+", default=["caffe", "opencv"], choices=["caffe", "opencv"],
                    help="time each of these backends in turn (replaces --backend)")
    add_detector_arguments(ap)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    print(describe())
    print(f"load average before: {os.getloadavg()}")
    imgs = {"astronaut": cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)}
    for p in args.images:
        imgs[p.name] = read_image(p)
    out = {}
    for be in args.backends:
        det = detector_from_args(args, backend=be)
        for name, img in imgs.items():
            det.detect(img)
            t = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                faces = det.detect(img)
                t.append(time.perf_counter() - t0)
            out[f"{be}:{name}"] = {"ms_median": round(1000 * float(np.median(t)), 2),
                                   "ms_min": round(1000 * float(np.min(t)), 2),
                                   "faces": len(faces), "size": list(img.shape[:2])}
            print(f"{be:6s} {name}: median {out[f'{be}:{name}']['ms_median']} ms "
                  f"(min {out[f'{be}:{name}']['ms_min']} ms), {len(faces)} faces")
    out["load_average_after"] = os.getloadavg()
    print(json.dumps(out))


if __name__ == "__main__":
    run(main)
