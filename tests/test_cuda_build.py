"""The CUDA side of the build, proved on a machine without a GPU.

- caffe_need/*.cu compile with nvcc for sm_90 against the Caffe headers of the
  installed (CPU) prefix: a quick check that fails before the long build does.
- docker/build_caffe.sh --cuda --cuda-arch 90 compiles and links the whole
  Caffe tree with our .cu layers (cached by the script's key: the first run
  takes tens of minutes, later ones seconds), leaves .caffe_prefix alone, and
  its pycaffe imports and runs in CPU mode without a GPU or driver, the ImageData
  layer's prefetch thread (the training nets' input) included.
- Where a GPU is visible, the CUDA build's ConvolutionDepthwise runs on it
  and agrees with the CPU, and caffe_need's gtest (test_caffe_need_layers)
  passes on the GPU too: depthwise against the stock grouped convolution and
  GradientChecker, our CPU PReLU / MAX pooling / convolution forwards against
  the stock CUDA kernels.

Everything here skips, with the reason printed, only where nvcc is absent
(CUDA_HOME, default /usr/local/cuda); the GPU test also where no GPU is
visible.  CAFFE_JOBS sets the build's make jobs (default: all cores).
"""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest_gpu import GTEST_CPU_CASES, requires_gpu, run_layer_gtest  # noqa: F401  (fixture)

from facecascade import caffe_loader
from facecascade.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "docker" / "build_caffe.sh"
CUDA_HOME = Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))
NVCC = CUDA_HOME / "bin" / "nvcc"
ARCH = "90"
# The build's arch list: sm_90 here; docker/check_images.sh sets the CUDA image's own
# list (which has sm_90) in its build stage, so the test reuses the image's compiled tree.
BUILD_ARCH = os.environ.get("CUDA_TEST_ARCH", ARCH)
# Same venv python as the tests, no apt: the CPU build before the tests set both up.
COMMON = ["--cuda", "--cuda-arch", BUILD_ARCH, "--no-apt", "--no-venv", "--python", sys.executable]
BUILD_TIMEOUT_S = int(os.environ.get("CUDA_BUILD_TIMEOUT", 80 * 60))


@pytest.fixture(scope="module")
def nvcc():
    if not os.access(NVCC, os.X_OK):
        pytest.skip(f"nvcc not found at {NVCC} (set CUDA_HOME): the CUDA build is not checked")
    return NVCC


def run_script(*args, timeout=600):
    res = subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO_ROOT, capture_output=True,
                         text=True, timeout=timeout)
    assert res.returncode == 0, (f"build_caffe.sh {' '.join(args)} failed (rc {res.returncode}):\n"
                                 f"{res.stdout[-4000:]}\n{res.stderr[-8000:]}")
    return res.stdout


@pytest.fixture(scope="module")
def cuda_config(nvcc):
    """The CUDA build's keys, prefix and Makefile.config (fetches cuBLAS/cuRAND if needed)."""
    out = run_script(*COMMON, "--print-config")
    head, config = out.split("----- Makefile.config", 1)
    fields = dict(ln.split("=", 1) for ln in head.splitlines() if "=" in ln)
    fields["config"] = config
    return fields


def config_list(config, var):
    """All directories a Makefile.config assigns or appends to VAR (make variables skipped)."""
    dirs = []
    for ln in config.splitlines():
        m = re.match(rf"{var}\s*\+?:?=\s*(.*)", ln)
        if m:
            dirs += [d for d in m.group(1).split() if not d.startswith("$(")]
    return dirs


def test_caffe_need_cu_compiles_for_sm90(nvcc, cuda_config, tmp_path):
    prefix = caffe_loader.caffe_prefix()
    if not prefix or not (Path(prefix) / "include" / "caffe" / "proto" / "caffe.pb.h").is_file():
        pytest.fail("no installed Caffe prefix with headers: run bash docker/build_caffe.sh",
                    pytrace=False)
    sources = sorted((REPO_ROOT / "caffe_need").glob("*.cu"))
    assert sources, "caffe_need has no .cu file"
    # CPU_ONLY stays undefined: the headers take their CUDA branch (cuBLAS, cuRAND).
    includes = [f"{prefix}/include", str(CUDA_HOME / "include"),
                *config_list(cuda_config["config"], "INCLUDE_DIRS")]
    # the host compiler the build uses where the toolkit needs an older one (CUDA 11: g++-11)
    cxx = re.search(r"^CUSTOM_CXX := (\S+)", cuda_config["config"], re.M)
    ccbin = ["-ccbin", cxx.group(1)] if cxx else []
    for src in sources:
        obj = tmp_path / (src.stem + ".o")
        cmd = [str(nvcc), *ccbin, f"-arch=sm_{ARCH}", "-std=c++17", "-O2", "-Xcompiler", "-fPIC",
               "-DNDEBUG", *(f"-I{d}" for d in includes), "-c", str(src), "-o", str(obj)]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"{' '.join(cmd)}\n{res.stderr[-6000:]}"
        assert obj.stat().st_size > 0


@pytest.fixture(scope="module")
def cuda_build(cuda_config):
    """Run the script's CUDA mode (sm_90 only); seconds when the key is cached."""
    marker = REPO_ROOT / ".caffe_prefix"
    before = marker.read_text() if marker.is_file() else None
    jobs = os.environ.get("CAFFE_JOBS", str(os.cpu_count() or 1))
    out = run_script(*COMMON, "--jobs", jobs, timeout=BUILD_TIMEOUT_S)
    after = marker.read_text() if marker.is_file() else None
    assert after == before, "a CUDA build must not change .caffe_prefix (the CPU build's)"
    prefix = Path(cuda_config["PREFIX"])
    assert str(prefix) in out
    return prefix


@pytest.mark.slow
def test_cuda_build_compiles_and_links(cuda_build, cuda_config):
    prefix = cuda_build
    assert (prefix / ".complete").read_text().strip() == cuda_config["FULL_KEY"]
    info = (prefix / "build_info.txt").read_text()
    assert "mode: cuda" in info
    assert f"arch=compute_{ARCH},code=sm_{ARCH}" in info
    assert "conv_dw_layer.cu" in info
    lib = next(prefix.glob("lib/libcaffe.so*"))
    ldd = subprocess.run(["ldd", str(lib)], capture_output=True, text=True).stdout
    for dep in ("libcudart", "libcublas", "libcurand"):
        assert re.search(rf"{dep}\.so\S* => /", ldd), f"{dep} not linked or not found:\n{ldd}"
    assert "not found" not in ldd, ldd
    # device code is in the library, our depthwise kernels among it
    sections = subprocess.run(["readelf", "-SW", str(lib)], capture_output=True, text=True).stdout
    assert ".nv_fatbin" in sections
    syms = subprocess.run(["nm", "-DC", "--defined-only", str(lib)], capture_output=True,
                          text=True).stdout
    assert "ConvolutionDepthwiseLayer<float>::Forward_gpu" in syms
    assert "ConvolutionDepthwiseLayer<float>::Backward_gpu" in syms
    for tool in ("caffe", "upgrade_net_proto_text", "test_caffe_need_layers"):
        assert os.access(prefix / "bin" / tool, os.X_OK), tool


# Runs in a child process: the session may already hold the CPU pycaffe, and a
# Caffe CHECK failure aborts the process.
_DEPTHWISE_CHECK = textwrap.dedent("""
    import json, os, sys, tempfile
    import numpy as np
    import caffe
    net_txt = '''
    force_backward: true
    input: "data" input_shape { dim: 2 dim: 4 dim: 9 dim: 7 }
    layer { name: "dw" type: "ConvolutionDepthwise" bottom: "data" top: "dw"
      convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1
        weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "constant" value: 0.1 } } }
    layer { name: "ref" type: "Convolution" bottom: "data" top: "ref"
      convolution_param { num_output: 4 group: 4 kernel_size: 3 stride: 2 pad: 1 } }
    '''
    mode = sys.argv[1]
    if mode == "gpu":
        caffe.set_device(0)
        caffe.set_mode_gpu()
    else:
        caffe.set_mode_cpu()
    with tempfile.NamedTemporaryFile("w", suffix=".prototxt", delete=False) as f:
        f.write(net_txt)
    net = caffe.Net(f.name, caffe.TEST)
    net.params["ref"][0].data[...] = net.params["dw"][0].data
    net.params["ref"][1].data[...] = net.params["dw"][1].data
    rng = np.random.default_rng(0)
    net.blobs["data"].data[...] = rng.standard_normal((2, 4, 9, 7)).astype(np.float32)
    net.forward()
    dw, ref = net.blobs["dw"].data.copy(), net.blobs["ref"].data.copy()
    g = rng.standard_normal(dw.shape).astype(np.float32)
    grads = []
    for a, b in (("dw", "ref"), ("ref", "dw")):  # bottom diff through one branch at a time
        net.blobs[a].diff[...] = g
        net.blobs[b].diff[...] = 0
        net.backward()
        grads.append(net.blobs["data"].diff.copy())
    print(json.dumps({"forward_diff": float(np.abs(dw - ref).max()),
                      "backward_diff": float(np.abs(grads[0] - grads[1]).max()),
                      "grad_norm": float(np.abs(grads[0]).max()),
                      "shape": list(dw.shape), "out": dw.ravel()[:16].tolist(),
                      "bottom_diff": grads[0].ravel()[:16].tolist()}))
""")


def run_depthwise(prefix, mode):
    env = dict(os.environ, CAFFE_PREFIX=str(prefix), PYTHONPATH=str(prefix / "python"), GLOG_minloglevel="2")
    res = subprocess.run([sys.executable, "-c", _DEPTHWISE_CHECK, mode], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, f"rc {res.returncode}\n{res.stdout}\n{res.stderr[-4000:]}"
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_cuda_build_runs_on_cpu_without_gpu(cuda_build):
    """The CUDA libcaffe loads (cudart, cuBLAS, cuRAND resolve) and works in CPU mode."""
    result = run_depthwise(cuda_build, "cpu")
    assert result["shape"] == [2, 4, 5, 4]
    assert result["forward_diff"] < 1e-5 and result["backward_diff"] < 1e-5, result
    assert result["grad_norm"] > 0
    # the gtest's CPU cases (typed tests 0 and 1: CPU float, double) in the CUDA build
    rc, out, passed = run_layer_gtest(cuda_build, GTEST_CPU_CASES)
    assert rc == 0 and passed == 4, out[-6000:]



# The training nets' ImageData layer in CPU mode, in a child process (a CUDA error aborts it):
# its prefetch thread (Caffe's InternalThread) asked CUDA for the device even in CPU mode, which
# aborts where no NVIDIA driver is ("CUDA driver version is insufficient"): the CUDA image could
# not train on a machine without a GPU.  docker/patch_caffe_cuda.py makes it GPU mode only.
_IMAGE_DATA_CHECK = textwrap.dedent("""
    import json, os, sys
    import cv2
    import numpy as np
    import caffe
    caffe.set_mode_cpu()
    work = sys.argv[1]
    rng = np.random.default_rng(0)
    for i in range(2):
        cv2.imwrite(os.path.join(work, f"{i}.png"), rng.integers(0, 256, (20, 16, 3), dtype=np.uint8))
    with open(os.path.join(work, "list.txt"), "w") as f:
        f.write("0.png 0.25 -0.5\\n1.png 0.75 0.125\\n")
    with open(os.path.join(work, "net.prototxt"), "w") as f:
        f.write('layer { name: "data" type: "ImageData" top: "data" top: "label" '
                f'image_data_param {{ source: "{work}/list.txt" root_folder: "{work}/" '
                'batch_size: 2 new_height: 12 new_width: 10 } }')
    net = caffe.Net(os.path.join(work, "net.prototxt"), caffe.TRAIN)
    for _ in range(3):  # several batches: the prefetch thread fills them
        net.forward()
    print(json.dumps({"data": list(net.blobs["data"].data.shape),
                      "label": net.blobs["label"].data.tolist()}))
""")


@pytest.mark.slow
def test_cuda_build_image_data_trains_on_cpu_without_gpu(cuda_build, tmp_path):
    """The ImageData prefetch thread of a CUDA build runs in CPU mode, driver or not."""
    env = dict(os.environ, CAFFE_PREFIX=str(cuda_build), PYTHONPATH=str(cuda_build / "python"),
               GLOG_minloglevel="2")
    res = subprocess.run([sys.executable, "-c", _IMAGE_DATA_CHECK, str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=300)
    assert res.returncode == 0, f"rc {res.returncode}\n{res.stdout}\n{res.stderr[-4000:]}"
    result = json.loads(res.stdout.strip().splitlines()[-1])
    assert result["data"] == [2, 3, 12, 10]
    assert sorted(map(tuple, result["label"])) == [(0.25, -0.5), (0.75, 0.125)], result

@pytest.mark.slow
def test_cuda_build_depthwise_on_gpu_matches_cpu(cuda_build, requires_gpu):  # noqa: F811
    import numpy as np
    cpu = run_depthwise(cuda_build, "cpu")
    gpu = run_depthwise(cuda_build, "gpu")
    # depthwise CUDA kernels == stock grouped convolution on the GPU, both passes
    assert gpu["forward_diff"] < 1e-5 and gpu["backward_diff"] < 1e-5, gpu
    np.testing.assert_allclose(gpu["out"], cpu["out"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gpu["bottom_diff"], cpu["bottom_diff"], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_packed_cuda_build_needs_neither_our_debian_libraries_nor_opencv(cuda_build, tmp_path):
    """docker/pack_gpu_check.sh (how the GPU check ran on a bare GPU host): unpacked, the
    gtest finds every library in the pack, the host's C/C++ and CUDA runtimes aside, with
    OpenCV's stubbed, and runs."""
    out = tmp_path / "gc.tar.gz"
    res = subprocess.run(["bash", str(REPO_ROOT / "docker" / "pack_gpu_check.sh"), str(out),
                          "--prefix", str(cuda_build)], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout + res.stderr[-4000:]
    subprocess.run(["tar", "xzf", str(out), "-C", str(tmp_path)], check=True)
    binary = cuda_build / "bin" / "test_caffe_need_layers"
    found = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    cuda_libs = re.findall(r"=> (\S*lib(?:cudart|cublas|curand)\S*)", found)
    cuda_dirs = sorted({str(Path(m).parent) for m in cuda_libs})
    env = {"LD_LIBRARY_PATH": ":".join([str(tmp_path / "stubs"), str(tmp_path / "deps"), *cuda_dirs])}
    packed = tmp_path / "prefix" / "bin" / "test_caffe_need_layers"
    ldd = subprocess.run(["ldd", str(packed)], capture_output=True, text=True, env=dict(os.environ, **env)).stdout
    # what every host has (glibc, the C++ runtime) and what the GPU host's driver / CUDA give
    host = re.compile(r"lib(c|m|dl|pthread|rt|resolv|nsl|util|anl|stdc\+\+|gcc_s"
                      r"|cuda\w*|cublas\w*|curand)\.so|ld-linux|linux-vdso")
    for line in ldd.splitlines():
        name, _, where = line.strip().partition(" => ")
        assert "not found" not in line, ldd
        if where and not host.match(name):
            assert where.startswith(str(tmp_path)), f"{name} resolved outside the pack: {where}"
    assert re.search(rf"libopencv_core\S* => {re.escape(str(tmp_path / 'stubs'))}", ldd), ldd
    rc, out_text, passed = run_layer_gtest(tmp_path / "prefix", GTEST_CPU_CASES, env=env)
    assert rc == 0 and passed == 4, out_text[-6000:]


@pytest.mark.slow
def test_cuda_build_layer_gtest_on_gpu(cuda_build, requires_gpu):  # noqa: F811
    """Every case of caffe_need/test on CPU and GPU: 4 CPU, 4 GPU typed tests, 3 CPU-vs-GPU."""
    rc, out, passed = run_layer_gtest(cuda_build, "0")
    assert rc == 0 and passed == 11, out[-6000:]
