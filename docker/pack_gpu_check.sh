#!/usr/bin/env bash
# Pack a CUDA build (build_caffe.sh --cuda) for docker/gpu_check.sh on a GPU host that
# has the NVIDIA driver and CUDA 13's cudart / cuBLAS / cuRAND, but not our build's
# Debian libraries (e.g. a bare cloud GPU machine, where neither apt nor Docker is at hand).
#
#   bash docker/pack_gpu_check.sh OUT.tar.gz [--prefix DIR]
#
# The tarball holds prefix/ (bin, lib, build_info.txt), deps/ (every library the
# build links, except glibc, libstdc++, libgcc and the CUDA libraries, which the host
# has) and stubs/: no-op stand-ins for the OpenCV libraries, whose dependency tree
# (GDAL, Qt, codecs) is far larger than the rest together; the gtest and `caffe time`
# never call OpenCV.  On the GPU host, from a checkout of this repository:
#
#   mkdir /tmp/gc && tar xzf OUT.tar.gz -C /tmp/gc
#   LD_LIBRARY_PATH=/tmp/gc/stubs:/tmp/gc/deps:<dirs of libcudart.so.13, libcublas.so.13, libcurand.so.10> \
#     bash docker/gpu_check.sh --prefix /tmp/gc/prefix
#
# Default prefix: build_caffe.sh --cuda --cuda-arch 90's (the tests' CUDA build).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:?usage: bash docker/pack_gpu_check.sh OUT.tar.gz [--prefix DIR]}
shift
PREFIX=
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX=$2; shift 2 ;;
    *) echo "pack_gpu_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$PREFIX" ]; then
  PY=$REPO/.venv/bin/python
  PREFIX=$(bash "$REPO/docker/build_caffe.sh" --cuda --cuda-arch 90 --no-apt --no-venv --python "$PY" \
           --print-config | sed -n 's/^PREFIX=//p')
fi
grep -qx "mode: cuda" "$PREFIX/build_info.txt" 2>/dev/null ||
  { echo "pack_gpu_check.sh: no CUDA build at $PREFIX (bash docker/build_caffe.sh --cuda --cuda-arch 90)" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/prefix" "$stage/deps" "$stage/stubs"
cp -a "$PREFIX/bin" "$PREFIX/lib" "$PREFIX/build_info.txt" "$stage/prefix/"
binaries=("$PREFIX/lib/libcaffe.so" "$PREFIX/bin/caffe" "$PREFIX/bin/test_caffe_need_layers")

# The host's own: glibc, the C++ runtime, the CUDA libraries and driver; ours: OpenCV stubs.
host_lib='^(libc|libm|libdl|libpthread|librt|libresolv|libnsl|libutil|libanl|ld-linux-x86-64|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt|libcurand)\.so'
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
declare -A seen=()
todo=("${binaries[@]}")
while [ ${#todo[@]} -gt 0 ]; do
  file=${todo[-1]}; unset 'todo[-1]'
  for name in $(needed "$file"); do
    [[ -n "${seen[$name]:-}" || $name == libcaffe.so* || $name =~ $host_lib ]] && continue
    seen[$name]=1
    [[ $name == libopencv_* ]] && continue
    # (awk reads to the end: an early exit would stop ldconfig with SIGPIPE, a pipefail)
    path=$(ldconfig -p | awk -v n="$name" '$1 == n && /x86-64/ && !found { print $NF; found = 1 }')
    [ -n "$path" ] || { echo "pack_gpu_check.sh: $name (needed by $file) not found" >&2; exit 1; }
    cp "$(readlink -f "$path")" "$stage/deps/$name"
    todo+=("$path")
  done
done

# One library defines every OpenCV function the binaries name, as a no-op; each OpenCV
# soname they need is a stub (the dynamic linker then resolves the names in the first).
nm -D --undefined-only "${binaries[@]}" 2>/dev/null | awk '$NF ~ /2cv[0-9]/ { print $NF }' | sort -u |
  awk 'BEGIN { print "// no-op stand-ins for OpenCV functions that the GPU check never calls" }
       { print "extern \"C\" void " $1 "() {}" }' >"$stage/cv_stub.cpp"
for name in "${!seen[@]}"; do
  [[ $name == libopencv_* ]] || continue
  g++ -shared -fPIC -Wl,-soname,"$name" -o "$stage/stubs/$name" "$stage/cv_stub.cpp"
done
rm "$stage/cv_stub.cpp"
tar czf "$OUT.part" -C "$stage" prefix deps stubs
mv "$OUT.part" "$OUT"
echo "packed $PREFIX: $(ls "$stage/deps" | wc -l) libraries, $(ls "$stage/stubs" | wc -l) OpenCV stubs -> $OUT ($(du -h "$OUT" | cut -f1))"
