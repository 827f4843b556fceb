#!/usr/bin/env python3
"""Landmark cascade speed (docs/METRICS.md): per-face latency of the whole cascade
(crop + preprocess + level 1 + level 2 + mapping back), single thread, median
of --runs after warm-up, for pycaffe, cv2.dnn (on the ONNX files), onnxruntime on
the float32 ONNX files and on the int8 ones; batched throughput with all cores; and
the ratio to the machine's limit (FLOPs per face / single-core FLOP rate of a large
float32 matrix multiply, measured here).

    python bench/landmark_speed.py [--runs 200] [--batch 64] [--repeats 3]
Each backend/thread setting runs in its own process (thread counts must be
set before the libraries load).  The latency processes run --repeats times,
the two backends alternating, and the table gives the median of their medians
with the range: on a shared VM one process alone can be a third off (a
cv2.dnn run read 2.40 ms where the two after it read 1.59-1.63).  Prints a
table with the machine; the last line is one JSON object {backend: ms per face}
(backends: caffe, opencv, onnx, onnx_int8).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# backend[_precision] -> the table's name
LABELS = {"caffe": "pycaffe", "opencv": "cv2.dnn (ONNX files)", "onnx": "onnxruntime fp32",
          "onnx_int8": "onnxruntime int8"}


def worker(args):
    import time

    import cv2
    import numpy as np
    cv2.setNumThreads(args.threads)
    from facecascade.cascade import LandmarkCascade
    from facecascade.images import read_image
    from facecascade.records import read_cuhk
    recs = read_cuhk(REPO / "3_demo/Data/cuhk/test_net7876_demo.txt")
    images = [read_image(r.image) for r in recs]
    boxes = [r.box for r in recs]
    backend, _, precision = args.backend.partition("_")
    lc = LandmarkCascade.from_shipped(backend=backend, precision=precision or "fp32", threads=args.threads)
    out = {"backend": args.backend, "threads": args.threads}
    if args.mode == "latency":
        for i in range(20):
            lc.predict(images[i % len(images)], boxes[i % len(boxes)])
        t = []
        for i in range(args.runs):
            s = time.perf_counter()
            lc.predict(images[i % len(images)], boxes[i % len(boxes)])
            t.append(time.perf_counter() - s)
        out["ms_per_face"] = float(np.median(t) * 1000)
        out["p90_ms"] = float(np.percentile(t, 90) * 1000)
    elif args.mode == "throughput":
        idx = [i % len(images) for i in range(args.batch)]
        imgs, bxs = [images[i] for i in idx], [boxes[i] for i in idx]
        lc.predict_batch(imgs, bxs)
        reps = max(3, args.runs // 20)
        s = time.perf_counter()
        for _ in range(reps):
            lc.predict_batch(imgs, bxs)
        out["faces_per_s"] = args.batch * reps / (time.perf_counter() - s)
    else:  # matmul FLOP rate of one core
        from facecascade.machine import matmul_gflops
        out["gflops"] = matmul_gflops()
    print(json.dumps(out))


def cascade_flops():
    """Multiply-adds x 2 of one face with a box through the shipped cascade: every
    net of its card (deploy nets) as many times as the card runs it."""
    from facecascade.caffe_loader import import_caffe
    from facecascade.cascade import MODEL_CARD, SHIPPED, card_net_files, read_settings
    from facecascade.nets import forward_flops
    caffe = import_caffe()
    card = read_settings(MODEL_CARD)
    if card["l2_first_pass"]:
        runs = [(card_net_files(MODEL_CARD, card["l2_first_pass"]), 1), (SHIPPED["l2"], card["l2_passes"] - 1)]
    else:
        runs = [(SHIPPED["l2"], card["l2_passes"])]
    if card["l1_any_angle"]:
        runs += [(card_net_files(MODEL_CARD, card["l1_any_angle"]), 1),
                 (SHIPPED["l1"], card["upright_passes"])]
    else:
        runs.append((SHIPPED["l1"], 1))
    return sum(n * forward_flops(caffe.Net(str(proto), str(model), caffe.TEST)) for (proto, model), n in runs)


def run(mode, backend, threads, args):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", mode, "--backend", backend, "--threads", str(threads),
           "--runs", str(args.runs), "--batch", str(args.batch)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3,
                    help="latency processes per backend, the backends alternating (default %(default)s)")
    ap.add_argument("--worker", choices=("latency", "throughput", "matmul"), help=argparse.SUPPRESS)
    ap.add_argument("--backend", default="caffe", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error(f"--repeats {args.repeats}: must be >= 1")
    if args.worker:
        args.mode = args.worker
        return worker(args)
    from facecascade.machine import describe
    cores = os.cpu_count()
    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 (latency), all cores (throughput)"))
    flops = cascade_flops()
    gflops = run("matmul", "caffe", 1, args)["gflops"]
    limit_ms = flops / (gflops * 1e9) * 1000
    print(f"cascade: {flops / 1e6:.1f} MFLOP per face (every net of the card, as often as it runs); one core: {gflops:.1f} GFLOP/s "
          f"(1024^2 float32 matmul) -> physical limit {limit_ms:.3f} ms per face\n")
    backends = tuple(LABELS)
    # alternating, so that a slow spell of the machine falls on both backends
    lat = {b: [] for b in backends}
    for _ in range(args.repeats):
        for backend in backends:
            lat[backend].append(run("latency", backend, 1, args))
    summary = {}
    print(f"| backend | ms per face, 1 thread (median of {args.repeats} processes x {args.runs} faces) | "
          f"range over the processes | p90 ms | x limit | faces/s, batch {args.batch}, {cores} threads |")
    print("|---|---|---|---|---|---|")
    for backend in backends:
        ms = sorted(r["ms_per_face"] for r in lat[backend])
        median, p90 = statistics.median(ms), statistics.median(r["p90_ms"] for r in lat[backend])
        thr = run("throughput", backend, cores, args)
        print(f"| {LABELS[backend]} | {median:.3f} | {ms[0]:.3f}-{ms[-1]:.3f} | "
              f"{p90:.3f} | {median / limit_ms:.1f}x | {thr['faces_per_s']:.0f} |")
        summary[backend] = round(median, 4)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
