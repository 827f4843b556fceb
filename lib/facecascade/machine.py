"""What a benchmark ran on: CPU model, cores, library versions (printed with every table),
and the arithmetic rate the benchmarks compare themselves with."""
import os
import platform
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def describe():
    import cv2
    import numpy
    lines = [f"machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
             f"python {platform.python_version()}, numpy {numpy.__version__}, opencv {cv2.__version__}"]
    try:
        from .caffe_loader import caffe_prefix, import_caffe
        caffe = import_caffe()
        lines.append(f"caffe {caffe.__version__} (brocolli-caffe 9.0.2 + caffe_need) at {caffe_prefix()}")
    except ImportError:
        lines.append("caffe: not built")
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    lines.append(f"OPENBLAS_NUM_THREADS={threads}")
    return "\n".join(lines)


def matmul_gflops(n=1024, repeats=10):
    """FLOP/s / 1e9 of a float32 n x n matrix product through numpy's BLAS (median
    of `repeats` after one warm-up), in the threads this process started with
    (OPENBLAS_NUM_THREADS): what the core(s) can do on dense arithmetic, the
    limit the speed benchmarks compare a net's FLOPs with."""
    import numpy as np
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a @ a
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t0)
    return 2 * n ** 3 / float(np.median(times)) / 1e9
