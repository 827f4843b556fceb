#!/usr/bin/env bash
# GPU check of a CUDA build of our Caffe (build_caffe.sh --cuda), on one GPU:
#   1. caffe_need's gtest (test_caffe_need_layers): ConvolutionDepthwise against the
#      stock grouped Convolution and Caffe's GradientChecker, on the CPU and on the
#      GPU; our CPU PReLU / MAX pooling / convolution forwards against the stock CUDA
#      kernels of the same layers;
#   2. the shipped nets with their weights on the GPU against the CPU (`caffe test`
#      on the deploy files' zero input: every output value, every layer on the way);
#   3. `caffe time` forward times of the shipped nets on that GPU, as a table.
#
#   bash docker/gpu_check.sh [--prefix DIR] [--gpu ID] [--iterations N]
#
# Default prefix: $CAFFE_PREFIX (the CUDA image sets it).  Exit status 1 if the gtest
# fails or a shipped net's GPU output differs from the CPU's by more than 1e-4.
# To run it on a GPU host without our build's Debian libraries, see
# docker/pack_gpu_check.sh.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${CAFFE_PREFIX:-}
GPU=0
ITERATIONS=50
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    --gpu) GPU=$2; shift 2 ;;
    --iterations) ITERATIONS=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
[ -n "$PREFIX" ] || { echo "gpu_check.sh: give --prefix DIR or set CAFFE_PREFIX (a CUDA build's prefix)" >&2; exit 2; }
grep -qx "mode: cuda" "$PREFIX/build_info.txt" 2>/dev/null ||
  { echo "gpu_check.sh: $PREFIX is not a CUDA build of build_caffe.sh (no 'mode: cuda' in build_info.txt)" >&2; exit 2; }

echo "prefix: $PREFIX"
sed -n 's/^\(key\|cuda_arch\|built\): /  \1: /p' "$PREFIX/build_info.txt"
nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader 2>/dev/null |
  sed 's/^/gpu: /' || echo "gpu: nvidia-smi not available"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo
echo "== caffe_need gtest, GPU $GPU"
status=0
GLOG_minloglevel=2 "$PREFIX/bin/test_caffe_need_layers" "$GPU" || status=$?

echo
echo "== shipped nets with their weights, GPU $GPU against the CPU (caffe test, zero input)"
echo "| net | outputs | max abs difference |"
echo "|---|---|---|"
# "Batch 0, <blob> = <value>" lines: every value of every output blob
outputs() { { "$PREFIX/bin/caffe" test -model "$1" -weights "$2" -iterations 1 "${@:3}" 2>&1 || true; } |
            sed -n 's/.*Batch 0, \([^ ]*\) = \(.*\)/\1 \2/p'; }
for net in 3_demo/Data/l1 3_demo/Data/l2 mtcnn/model/det1 mtcnn/model/det2 mtcnn/model/det3; do
  proto=$REPO/${net}_deploy.prototxt; [ -f "$proto" ] || proto=$REPO/$net.prototxt
  outputs "$proto" "$REPO/$net.caffemodel" >"$tmp/cpu.txt"
  outputs "$proto" "$REPO/$net.caffemodel" -gpu "$GPU" >"$tmp/gpu.txt"
  diff=$(paste -d' ' "$tmp/cpu.txt" "$tmp/gpu.txt" | awk '
         $1 != $3 { bad = 1 } { d = $2 - $4; d = d < 0 ? -d : d; if (d > m) m = d }
         END { if (bad || NR == 0) print "failed"; else printf "%.2g\n", m }')
  n=$(wc -l <"$tmp/cpu.txt")
  [ "$n" -eq "$(wc -l <"$tmp/gpu.txt")" ] || diff=failed
  if [ "$diff" = failed ] || awk -v d="$diff" 'BEGIN { exit !(d > 1e-4) }'; then status=1; fi
  echo "| $(basename "$net") | $n | $diff |"
done

echo
echo "== forward time on GPU $GPU (caffe time, $ITERATIONS iterations; weights as in the deploy files' fillers)"
# name, deploy prototxt, input N C H W
nets=(
  "level 1, batch 1|3_demo/Data/l1_deploy.prototxt|1 3 48 48"
  "level 1, batch 64|3_demo/Data/l1_deploy.prototxt|64 3 48 48"
  "level 2, batch 64|3_demo/Data/l2_deploy.prototxt|64 3 48 48"
  "P-Net, 614x420 (the first level of a 1024x700 photo)|mtcnn/model/det1.prototxt|1 3 420 614"
  "R-Net, 300 crops|mtcnn/model/det2.prototxt|300 3 24 24"
  "O-Net, 40 crops|mtcnn/model/det3.prototxt|40 3 48 48"
)
echo "| net | input | forward ms |"
echo "|---|---|---|"
for entry in "${nets[@]}"; do
  IFS='|' read -r name proto shape <<<"$entry"
  copy=$tmp/$(basename "$proto")
  # the deploy files' first four dim lines are the input's N C H W
  awk -v shape="$shape" 'BEGIN { split(shape, d, " ") }
       /dim:/ && k < 4 { k++; sub(/dim: *[0-9]+/, "dim: " d[k]) } { print }' "$REPO/$proto" >"$copy"
  ms=$( { "$PREFIX/bin/caffe" time -model "$copy" -gpu "$GPU" -iterations "$ITERATIONS" 2>&1 || true; } |
       sed -n 's/.*Average Forward pass: \([0-9.]*\) ms.*/\1/p')
  echo "| $name | ${shape// /x} | ${ms:-failed} |"
done
exit $status
