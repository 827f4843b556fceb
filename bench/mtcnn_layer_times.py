#!/usr/bin/env python3
"""Where MTCNN's CPU time goes, layer by layer, in this Caffe build: P-Net on
one pyramid level, R-Net and O-Net on a batch of candidates, single thread,
median of --repeats forwards of each layer after a warm-up.

    python bench/mtcnn_layer_times.py [--level 460x614] [--candidates 1000,50] [--repeats 10]

Prints the machine, the Caffe prefix and which of caffe_need's faster CPU
forwards are compiled in (build_info.txt), then a table per net: ms per layer
and the share of PReLU, Pooling and Convolution layers.  Two of caffe_need's
kernels are also timed against the stock path of the same build, all three
variants alternating in every repeat so that they see the same machine load:
the direct convolution (conv_layer.cpp) against im2col + GEMM
(CAFFE_NEED_DIRECT_CONV=0), and the AVX2 max pooling (max_pool_simd.hpp)
against pooling_layer.cpp's loop (CAFFE_NEED_SIMD_POOL=0).  The last table
has the totals of each.  The detector itself scores candidates in batches of
64 (`--candidates 64,64`).

To time the stock PReLU and Pooling layers, build a second prefix without them
and point CAFFE_PREFIX at it:

    mkdir -p /tmp/stock && mv caffe_need/prelu_layer.cpp caffe_need/pooling_layer.cpp /tmp/stock/
    bash docker/build_caffe.sh --prefix /tmp/caffe-stock --no-activate; mv /tmp/stock/*.cpp caffe_need/
    CAFFE_PREFIX=/tmp/caffe-stock python bench/mtcnn_layer_times.py
"""
import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from facecascade.caffe_loader import caffe_prefix, import_caffe
from facecascade.machine import describe
from facecascade.mtcnn import SHIPPED_MODEL_DIR
from facecascade.nets import subnormal_weights

DIRECT_CONV_SWITCH = "CAFFE_NEED_DIRECT_CONV"   # read by caffe_need/conv_layer.cpp at every forward
SIMD_POOL_SWITCH = "CAFFE_NEED_SIMD_POOL"        # read by caffe_need/pooling_layer.cpp at every forward
# timed variants: the switches each sets to "0" (the others stay on)
VARIANTS = {"ours": (), "gemm": (DIRECT_CONV_SWITCH,), "pool_loop": (SIMD_POOL_SWITCH,)}


def layer_times(net, repeats):
    """Median ms of each layer's forward (net._forward(i, i)), in layer order,
    for each of VARIANTS, alternating. -> names, types, {variant: ms}"""
    names = list(net._layer_names)
    times = {variant: np.zeros((repeats, len(names))) for variant in VARIANTS}
    switches = (DIRECT_CONV_SWITCH, SIMD_POOL_SWITCH)
    saved = {k: os.environ.get(k) for k in switches}
    try:
        for r in range(-1, repeats):                      # r = -1: warm-up
            for variant, off in VARIANTS.items():
                for k in switches:
                    os.environ[k] = "0" if k in off else "1"
                for i in range(len(names)):
                    t0 = time.perf_counter()
                    net._forward(i, i)
                    if r >= 0:
                        times[variant][r, i] = time.perf_counter() - t0
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    types = [net.layers[i].type for i in range(len(names))]
    return names, types, {variant: np.median(t, axis=0) * 1000 for variant, t in times.items()}


def kind_ms(types, ms, kind):
    """Total ms of the layers of one type."""
    return float(sum(v for t, v in zip(types, ms) if t == kind))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--level", default="460x614", help="P-Net input HxW (the first pyramid level of a "
                                                       "1024x768 WIDER image at min face 20)")
    ap.add_argument("--candidates", default="1000,50", help="R-Net,O-Net batch sizes")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--model-dir", type=Path, default=SHIPPED_MODEL_DIR)
    args = ap.parse_args(argv)
    caffe = import_caffe()
    print(describe())
    info = Path(caffe_prefix()) / "build_info.txt"
    need = next((l.split(":", 1)[1].split() for l in info.read_text().splitlines() if l.startswith("caffe_need:")),
                []) if info.is_file() else []
    fast = [f for f in ("conv_layer.cpp", "prelu_layer.cpp", "pooling_layer.cpp") if f in need]
    print(f"caffe_need faster CPU forwards compiled in: {', '.join(fast) if fast else 'none (stock layers)'}")
    h, w = (int(v) for v in args.level.split("x"))
    n_r, n_o = (int(v) for v in args.candidates.split(","))
    rng = np.random.default_rng(0)
    rows = {}
    for name, shape in (("det1", (1, 3, h, w)), ("det2", (n_r, 3, 24, 24)), ("det3", (n_o, 3, 48, 48))):
        net = caffe.Net(str(args.model_dir / f"{name}.prototxt"), str(args.model_dir / f"{name}.caffemodel"),
                        caffe.TEST)
        net.blobs["data"].reshape(*shape)
        net.reshape()
        net.blobs["data"].data[...] = rng.uniform(-1, 1, shape)
        rows[name] = (shape, *layer_times(net, args.repeats))
        # weights a slow path may handle (nets.flush_denormals): shipped models hold none
        sub = subnormal_weights(net)
        print(f"{name}: {sum(n for n, _ in sub.values())} subnormal weights"
              + "".join(f"; {layer} {n} of {size}" for layer, (n, size) in sub.items()))
    for name, (shape, names, types, variants) in rows.items():
        ms = variants["ours"]
        total = ms.sum()
        print(f"\n{name}, input {'x'.join(map(str, shape))}: {total:.1f} ms (caffe_need's kernels where they apply)")
        print("| layer | type | ms | share |")
        print("|---|---|---|---|")
        for n, t, v in zip(names, types, ms):
            if v >= 0.05:
                print(f"| {n} | {t} | {v:.2f} | {100 * v / total:.0f}% |")
        for kind in ("PReLU", "Pooling", "Convolution"):
            part = kind_ms(types, ms, kind)
            print(f"| all {kind} | | {part:.2f} | {100 * part / total:.0f}% |")
    print("\n| net | input | total ms | PReLU ms | Pooling ms | Convolution ms | "
          "total ms, GEMM convolutions | Convolution ms, GEMM | total ms, loop pooling | Pooling ms, loop |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (shape, names, types, variants) in rows.items():
        ms, gemm, loop = variants["ours"], variants["gemm"], variants["pool_loop"]
        print(f"| {name} | {'x'.join(map(str, shape))} | {ms.sum():.1f} | {kind_ms(types, ms, 'PReLU'):.1f} | "
              f"{kind_ms(types, ms, 'Pooling'):.1f} | {kind_ms(types, ms, 'Convolution'):.1f} | "
              f"{gemm.sum():.1f} | {kind_ms(types, gemm, 'Convolution'):.1f} | "
              f"{loop.sum():.1f} | {kind_ms(types, loop, 'Pooling'):.1f} |")


if __name__ == "__main__":
    main()
