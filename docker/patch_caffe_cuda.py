#!/usr/bin/env python3
"""CUDA-only edits to the brocolli-caffe 9.0.2 sdist (after docker/patch_caffe.py).

docker/build_caffe.sh runs this in --cuda mode only and hashes this file into
the CUDA build key only, so the CPU build (key and tree) does not depend on it.
Every edit keeps the source valid for CUDA 12 as well as CUDA 13: it uses
APIs that exist in both.  Like patch_caffe.py, each edit names the exact text
it expects and fails loudly when it is missing.

    python3 docker/patch_caffe_cuda.py CAFFE_SRC_DIR
"""
import argparse
import pathlib
import sys

# (file, old, new, count): `count` occurrences of `old` must exist.
EDITS_CUDA = [
    # .cu objects include the generated caffe.pb.h too: without this
    # prerequisite a wide `make -j` (docker build on many cores) races protoc.
    ("Makefile", "$(BUILD_DIR)/cuda/%.o: %.cu | $(ALL_BUILD_DIRS)",
     "$(BUILD_DIR)/cuda/%.o: %.cu $(PROTO_GEN_HEADER) | $(ALL_BUILD_DIRS)", 1),
    # CUDA 13 removed cudaDeviceProp::clockRate, ::deviceOverlap and
    # ::kernelExecTimeoutEnabled; cudaDeviceGetAttribute has them in 12 and 13.
    ("src/caffe/common.cpp",
     '  LOG(INFO) << "Clock rate:                    " << prop.clockRate;\n',
     '  int clock_rate = 0, gpu_overlap = 0, exec_timeout = 0;\n'
     '  CUDA_CHECK(cudaDeviceGetAttribute(&clock_rate, cudaDevAttrClockRate, device));\n'
     '  CUDA_CHECK(cudaDeviceGetAttribute(&gpu_overlap, cudaDevAttrGpuOverlap, device));\n'
     '  CUDA_CHECK(cudaDeviceGetAttribute(&exec_timeout, cudaDevAttrKernelExecTimeout,\n'
     '                                    device));\n'
     '  LOG(INFO) << "Clock rate:                    " << clock_rate;\n', 1),
    ("src/caffe/common.cpp", "(prop.deviceOverlap ? ", "(gpu_overlap ? ", 1),
    ("src/caffe/common.cpp", "(prop.kernelExecTimeoutEnabled ? ", "(exec_timeout ? ", 1),
    # The fork declares ProposalLayer::Backward_gpu but never defines it (its
    # Backward_cpu is empty too): "explicit instantiation but no definition".
    ("src/caffe/layers/proposal_layer.cu", "INSTANTIATE_LAYER_GPU_FUNCS(ProposalLayer);",
     "template <typename Dtype>\n"
     "void ProposalLayer<Dtype>::Backward_gpu(const vector<Blob<Dtype>*>& top,\n"
     "    const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {}\n\n"
     "INSTANTIATE_LAYER_GPU_FUNCS(ProposalLayer);", 1),
    # The data-prefetch thread (ImageData, Data, ...) asked CUDA for the current device and
    # set it in the thread even in CPU mode: without an NVIDIA driver ("CUDA driver version
    # is insufficient") a CPU-mode training aborted.  Only GPU mode touches the device now.
    ("src/caffe/internal_thread.cpp",
     "#ifndef CPU_ONLY\n  CUDA_CHECK(cudaGetDevice(&device));\n#endif\n",
     "#ifndef CPU_ONLY\n  if (Caffe::mode() == Caffe::GPU) {\n    CUDA_CHECK(cudaGetDevice(&device));\n  }\n"
     "#endif\n", 1),
    ("src/caffe/internal_thread.cpp",
     "#ifndef CPU_ONLY\n  CUDA_CHECK(cudaSetDevice(device));\n#endif\n",
     "#ifndef CPU_ONLY\n  if (mode == Caffe::GPU) {\n    CUDA_CHECK(cudaSetDevice(device));\n  }\n"
     "#endif\n", 1),
]


def _cpu_fallback(layer, cls, indent=""):
    """The fork's converter layers have no CUDA kernels, only STUB_GPU for
    CPU_ONLY: with CUDA their Forward_gpu/Backward_gpu were never defined and
    libcaffe had undefined symbols.  In GPU mode they now run their CPU code
    (none of them is used by this project's nets)."""
    old = f"{indent}#ifdef CPU_ONLY\n{indent}STUB_GPU({cls});\n{indent}#endif\n"
    new = (f"{indent}#ifdef CPU_ONLY\n{indent}STUB_GPU({cls});\n{indent}#else\n"
           "// No CUDA kernels for this layer: GPU mode runs the CPU code.\n"
           "template <typename Dtype>\n"
           f"void {cls}<Dtype>::Forward_gpu(const vector<Blob<Dtype>*>& bottom,\n"
           "    const vector<Blob<Dtype>*>& top) { this->Forward_cpu(bottom, top); }\n"
           "template <typename Dtype>\n"
           f"void {cls}<Dtype>::Backward_gpu(const vector<Blob<Dtype>*>& top,\n"
           "    const vector<bool>& propagate_down, const vector<Blob<Dtype>*>& bottom) {\n"
           "  this->Backward_cpu(top, propagate_down, bottom);\n}\n"
           f"{indent}#endif\n")
    return (f"src/caffe/layers/{layer}.cpp", old, new, 1)


EDITS_CUDA += [
    _cpu_fallback("relu6_layer", "ReLU6Layer"),
    _cpu_fallback("hardswish_layer", "HardSwishLayer"),
    _cpu_fallback("hardsigmoid_layer", "HardSigmoidLayer"),
    _cpu_fallback("maxunpool_layer", "MaxUnPoolLayer"),
    _cpu_fallback("upsample_layer", "UpsampleLayer", "    "),
    _cpu_fallback("pixelshuffle_layer", "PixelShuffleLayer", "    "),
]


def apply(src: pathlib.Path) -> None:
    for rel, old, new, count in EDITS_CUDA:
        path = src / rel
        text = path.read_text()
        found = text.count(old)
        if found != count:
            sys.exit(f"patch_caffe_cuda: {rel}: expected {count} x {old!r}, found {found}; "
                     "is this the brocolli-caffe 9.0.2 sdist?")
        path.write_text(text.replace(old, new))
    print(f"patch_caffe_cuda: {len(EDITS_CUDA)} CUDA edits applied in {src}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", type=pathlib.Path, help="unpacked brocolli-caffe-9.0.2 directory")
    apply(ap.parse_args().src)
