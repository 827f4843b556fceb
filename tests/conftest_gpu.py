"""GPU helpers for tests: skip, with the reason printed, where no GPU is visible.

pytest loads only conftest.py by itself; use these by importing them:

    from conftest_gpu import requires_gpu, caffe_gpu  # noqa: F401  (fixtures)

    def test_depthwise_gpu_equals_stock(caffe_gpu):      # pycaffe in GPU mode, device 0
        ...

    def test_something(requires_gpu):                    # the visible GPUs' names
        ...

`run_layer_gtest(prefix, *args)` runs a build's caffe_need gtest
(test_caffe_need_layers; GTEST_CPU_CASES: its CPU cases only), for the CPU
and the CUDA build's tests alike.

`requires_gpu` skips unless nvidia-smi lists at least one GPU (and
CUDA_VISIBLE_DEVICES does not hide them all).  `caffe_gpu` also skips unless
the pycaffe the session imports is a CUDA build (a CPU_ONLY build aborts the
process on set_mode_gpu): on a GPU machine run the tests with
CAFFE_PREFIX=<prefix of `bash docker/build_caffe.sh --cuda`>, or inside the
CUDA image, where CAFFE_PREFIX is set.
"""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from facecascade import caffe_loader


def visible_gpus():
    """(names of the GPUs this process can use, reason when there are none)."""
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None and cvd.strip() in ("", "-1", "none", "NoDevFiles"):
        return [], f"CUDA_VISIBLE_DEVICES={cvd!r} hides every GPU"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return [], "no GPU visible: nvidia-smi not found"
    try:
        res = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return [], f"no GPU visible: nvidia-smi -L failed ({e})"
    names = [ln.strip() for ln in res.stdout.splitlines() if ln.startswith("GPU ")]
    if res.returncode != 0 or not names:
        msg = (res.stderr or res.stdout).strip().splitlines()
        return [], "no GPU visible: nvidia-smi -L listed none" + (f" ({msg[0]})" if msg else "")
    return names, ""


def prefix_mode(prefix):
    """'cuda' or 'cpu' as recorded by build_caffe.sh in <prefix>/build_info.txt, else None."""
    info = Path(prefix or "") / "build_info.txt"
    if prefix and info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("mode:"):
                return line.split(":", 1)[1].strip()
    return None


@pytest.fixture(scope="session")
def requires_gpu():
    names, reason = visible_gpus()
    if not names:
        pytest.skip(reason)
    return names


@pytest.fixture(scope="session")
def caffe_gpu(requires_gpu):
    """pycaffe set to GPU mode on device 0 (GPU-only tests)."""
    prefix = caffe_loader.caffe_prefix()
    mode = prefix_mode(prefix)
    if mode != "cuda":
        pytest.skip(f"pycaffe at {prefix} is a {mode or 'unknown'} build, not CUDA: run with "
                    "CAFFE_PREFIX=<prefix of bash docker/build_caffe.sh --cuda>")
    return caffe_loader.import_caffe(gpu=0)


def run_layer_gtest(prefix, *gtest_args, env=None):
    """Run <prefix>/bin/test_caffe_need_layers (caffe_need/test, built by build_caffe.sh);
    env: more environment variables; returns (return code, output, number of tests passed)."""
    binary = Path(prefix) / "bin" / "test_caffe_need_layers"
    assert binary.is_file(), f"{binary} missing: rerun bash docker/build_caffe.sh"
    res = subprocess.run([str(binary), *gtest_args], capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, GLOG_minloglevel="2", **(env or {})))
    passed = re.search(r"\[  PASSED  \] (\d+) tests?\.", res.stdout)
    return res.returncode, res.stdout + res.stderr, int(passed.group(1)) if passed else 0


# the typed tests on the CPU (float, double); a CUDA build also has them on the GPU (2, 3)
# and CpuForwardVsStockGpuTest, which need a GPU
GTEST_CPU_CASES = "--gtest_filter=ConvolutionDepthwiseLayerTest/0.*:ConvolutionDepthwiseLayerTest/1.*"
