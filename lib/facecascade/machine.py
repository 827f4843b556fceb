"""What a benchmark ran on: CPU model, cores, library versions (printed with every table)."""
import os
import platform


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
