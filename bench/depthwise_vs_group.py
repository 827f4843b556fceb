#!/usr/bin/env python3
"""ConvolutionDepthwise (caffe_need) vs stock Convolution with group = channels,
forward and backward on CPU, single thread, at the depthwise shapes of the
level-1 net (batch 1 for inference, batch 64 for training).

    python bench/depthwise_vs_group.py [--repeats 20] [--batches 1,64]
Prints a table: median ms per call and the speed-up (group / depthwise).
"""
import argparse
import os
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from facecascade.caffe_loader import import_caffe
from facecascade.machine import describe

# (channels, input size, stride) of the level-1 net's six depthwise layers
LEVEL1_DW = [(96, 24, 2), (144, 12, 1), (144, 12, 2), (192, 6, 1), (192, 6, 2), (384, 3, 1)]


def make_net(caffe, layer_type, n, c, size, stride):
    group = "" if layer_type == "ConvolutionDepthwise" else f"group: {c}"
    # force_backward: a net without a loss would skip the backward pass
    text = f"""force_backward: true
layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: {n} dim: {c} dim: {size} dim: {size} }} }} }}
layer {{ name: "dw" type: "{layer_type}" bottom: "data" top: "dw"
  convolution_param {{ num_output: {c} kernel_size: 3 stride: {stride} pad: 1 bias_term: false {group}
    weight_filler {{ type: "msra" }} engine: CAFFE }} }}
"""
    if layer_type == "ConvolutionDepthwise":
        text = text.replace("engine: CAFFE", "")
    with tempfile.NamedTemporaryFile("w", suffix=".prototxt", delete=False) as f:
        f.write(text)
    net = caffe.Net(f.name, caffe.TRAIN)
    os.unlink(f.name)
    net.blobs["data"].data[...] = np.random.default_rng(0).standard_normal(net.blobs["data"].data.shape)
    return net


def timed(fn, repeats):
    fn()
    t = []
    for _ in range(repeats):
        s = time.perf_counter()
        fn()
        t.append(time.perf_counter() - s)
    return float(np.median(t)) * 1000


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    args = ap.parse_args(argv)
    caffe = import_caffe()
    print(describe())
    print(f"median of {args.repeats} runs, ms per call; ratio = group conv time / depthwise time\n")
    print("| batch | C x H x W, stride | group fwd | dw fwd | fwd ratio | group bwd | dw bwd | bwd ratio |")
    print("|---|---|---|---|---|---|---|---|")
    totals = {}
    for n in [int(b) for b in args.batches.split(",")]:
        tot = np.zeros(4)
        for c, size, stride in LEVEL1_DW:
            row = []
            for kind in ("Convolution", "ConvolutionDepthwise"):
                net = make_net(caffe, kind, n, c, size, stride)
                net.blobs["dw"].diff[...] = 1.0
                fwd = timed(lambda: net.forward(), args.repeats)
                bwd = timed(lambda: net.backward(), args.repeats)
                row += [fwd, bwd]
            g_f, g_b, d_f, d_b = row
            tot += [g_f, d_f, g_b, d_b]
            print(f"| {n} | {c}x{size}x{size}, s{stride} | {g_f:.3f} | {d_f:.3f} | {g_f / d_f:.1f}x "
                  f"| {g_b:.3f} | {d_b:.3f} | {g_b / d_b:.1f}x |")
        print(f"| {n} | **all six** | {tot[0]:.3f} | {tot[1]:.3f} | {tot[0] / tot[1]:.1f}x "
              f"| {tot[2]:.3f} | {tot[3]:.3f} | {tot[2] / tot[3]:.1f}x |")
        totals[n] = tot


if __name__ == "__main__":
    main()
