#!/usr/bin/env bash
# Build Caffe (BVLC lineage, the brocolli-caffe 9.0.2 sdist from PyPI) with our
# caffe_need/ layers compiled in, plus the project's Python virtual environment.
#
# The same script runs natively (CPU, tests and CI) and inside docker/Dockerfile
# (CUDA).  Results are cached outside the checkout:
#   $CAFFE_CACHE/build-<base key>/   patched source tree, built in place; the key
#                                    hashes everything but caffe_need/, so a
#                                    caffe_need edit recompiles only that file.
#   $CAFFE_CACHE/caffe-<full key>/   installed prefix (lib, bin, include, python);
#                                    the full key adds caffe_need/, so a second run
#                                    with unchanged inputs takes seconds.
# The chosen prefix is written to <repo>/.caffe_prefix, which lib/facecascade/
# caffe_loader.py reads.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash docker/build_caffe.sh [options]

  --cuda              build with CUDA (default: CPU only); cuDNN stays off. Arch list
                      from nvcc's version: CUDA 11.8 sm_50..sm_90 + PTX 9.0, CUDA 12
                      sm_60..sm_90 + PTX 9.0, CUDA 13 sm_75..sm_90 + PTX 9.0 (CUDA 13
                      dropped compute capability < 7.5). nvcc: $CUDA_HOME/bin/nvcc, else
                      /usr/local/cuda, else Debian's nvidia-cuda-toolkit; CUDA 11 compiles
                      with g++-11 (its newest supported host compiler) when g++ is newer
  --cuda-arch "LIST"  override the arch list: compute capabilities ("90", "75 90+PTX",
                      "sm_90"; +PTX also embeds PTX) or a raw -gencode list
                      ("-gencode arch=compute_90,code=sm_90")
  --prefix DIR        install prefix (default: $CAFFE_CACHE/caffe-<key>)
  --venv DIR          Python virtual environment (default: <repo>/.venv)
  --python EXE        interpreter for the venv (default: python3)
  --jobs N            parallel make jobs (default: nproc)
  --no-apt            do not install Debian packages (they must already be there)
  --no-venv           use the interpreter given by --python as is (no venv, no pip)
  --no-package        do not install the facecascade package (lib/) into the venv (the
                      Docker images build Caffe before the project is copied in)
  --activate          record the prefix in <repo>/.caffe_prefix, which caffe_loader
                      (and so the tests and scripts) use: the default for CPU builds
  --no-activate       leave <repo>/.caffe_prefix alone: the default for --cuda builds,
                      so a CUDA build never replaces the CPU build the tests use; use
                      it with CAFFE_PREFIX=<prefix> or pass --activate
  --print-config      configure only: print the Makefile.config, keys and prefix, exit;
                      the apt and venv steps still run (skip them with --no-apt and
                      --no-venv), and --cuda fetches cuBLAS/cuRAND if the toolkit lacks them
  -h, --help          this text
Environment: CAFFE_CACHE (default ~/.cache/cascaded_mobilenet_v2)
EOF
}

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CAFFE_CACHE:-$HOME/.cache/cascaded_mobilenet_v2}
SDIST_NAME=brocolli-caffe
SDIST_VERSION=9.0.2
SDIST_SHA256=c6410cc60bdd6db685d441b66be7df05410f8850ac88d6b75d48ef9b2315c08a
MODE=cpu
CUDA_ARCH_OVERRIDE=
PREFIX=
VENV=$REPO/.venv
PYTHON=python3
JOBS=$(nproc)
DO_APT=1
DO_VENV=1
DO_PACKAGE=1
ACTIVATE=auto
PRINT_CONFIG=0

while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) MODE=cuda ;;
    --cuda-arch) CUDA_ARCH_OVERRIDE=$2; shift ;;
    --prefix) PREFIX=$2; shift ;;
    --venv) VENV=$2; shift ;;
    --python) PYTHON=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --no-apt) DO_APT=0 ;;
    --no-venv) DO_VENV=0 ;;
    --no-package) DO_PACKAGE=0 ;;
    --activate) ACTIVATE=1 ;;
    --no-activate) ACTIVATE=0 ;;
    --print-config) PRINT_CONFIG=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build_caffe.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[build_caffe] %s\n' "$*"; }
sha() { sha256sum | cut -c1-16; }

# ---------------------------------------------------------------- 1. Debian packages
APT_PACKAGES="build-essential cmake pkg-config python3-dev python3-venv
  libboost-system-dev libboost-thread-dev libboost-filesystem-dev libboost-python-dev
  libboost-regex-dev libprotobuf-dev protobuf-compiler libgoogle-glog-dev libgflags-dev
  libhdf5-dev libopenblas-dev libopencv-dev liblmdb-dev libleveldb-dev libsnappy-dev"
if [ "$DO_APT" = 1 ]; then
  # shellcheck disable=SC2086
  missing=$(for p in $APT_PACKAGES; do dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null |
            grep -q '^ii' || echo "$p"; done)
  if [ -n "$missing" ]; then
    log "installing Debian packages: $(echo $missing)"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# ---------------------------------------------------------------- 2. Python environment
if [ "$DO_VENV" = 1 ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  req_key=$(cat "$REPO/requirements.txt" | sha)
  if [ "$(cat "$VENV/.requirements.key" 2>/dev/null)" != "$req_key" ]; then
    log "installing requirements.txt into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$REPO/requirements.txt"
    echo "$req_key" > "$VENV/.requirements.key"
  fi
  # The facecascade package (lib/), editable: scripts and tests import it from here.
  if [ "$DO_PACKAGE" = 1 ] && [ "$("$VENV/bin/python" -c 'import facecascade, os; print(os.path.dirname(facecascade.__file__))' 2>/dev/null)" \
       != "$REPO/lib/facecascade" ]; then
    log "installing the facecascade package (editable) into $VENV"
    "$VENV/bin/python" -m pip install -q --no-deps -e "$REPO"
  fi
  PY=$VENV/bin/python
else
  PY=$(command -v "$PYTHON")
fi
PY_INCLUDE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
PY_LIBDIR=$("$PY" -c "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))")
PY_VER=$("$PY" -c "import sys; print('%d.%d' % sys.version_info[:2])")
NUMPY_INCLUDE=$("$PY" -c "import numpy; print(numpy.get_include())")
NUMPY_VER=$("$PY" -c "import numpy; print(numpy.__version__)")

# ---------------------------------------------------------------- 3. build configuration
# nvcc: $CUDA_HOME, else NVIDIA's /usr/local/cuda, else Debian's nvidia-cuda-toolkit
# (nvcc in /usr/lib/nvidia-cuda-toolkit/bin, headers and libraries in the system paths).
CUDA_DIR=${CUDA_HOME:-/usr/local/cuda}
if [ -z "${CUDA_HOME:-}" ] && [ ! -x "$CUDA_DIR/bin/nvcc" ] && [ -x /usr/lib/nvidia-cuda-toolkit/bin/nvcc ]; then
  CUDA_DIR=/usr/lib/nvidia-cuda-toolkit
fi
CUDA_CXX=
CUDA_ARCH=
CUDA_EXTRA=
# CUDA-only source edits (CUDA 13 API removals, GPU functions the fork declares
# but never defines, a make -j race of .cu objects): hashed into the key and applied
# in CUDA mode only, so the CPU build's key and tree do not depend on them.
CUDA_PATCH=$REPO/docker/patch_caffe_cuda.py
# "75 90+PTX" / "sm_90" -> -gencode list; a list that already has -gencode is kept.
gencode_list() {
  case "$1" in *-gencode*) echo "$1"; return ;; esac
  local cc out=
  for cc in $1; do
    local ptx=0
    case "$cc" in *+PTX|*+ptx) ptx=1; cc=${cc%+*} ;; esac
    cc=${cc#sm_}; cc=${cc#compute_}; cc=${cc//./}
    case "$cc" in ''|*[!0-9]*) echo "build_caffe.sh: bad --cuda-arch item '$cc'" >&2; return 1 ;; esac
    out="$out -gencode arch=compute_$cc,code=sm_$cc"
    [ "$ptx" = 0 ] || out="$out -gencode arch=compute_$cc,code=compute_$cc"
  done
  echo "${out# }"
}
if [ "$MODE" = cuda ]; then
  NVCC=$CUDA_DIR/bin/nvcc
  [ -x "$NVCC" ] || { echo "build_caffe.sh: --cuda needs nvcc at $NVCC (set CUDA_HOME)" >&2; exit 1; }
  NVCC_MAJOR=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
  NVCC_MINOR=$("$NVCC" --version | sed -n 's/.*release [0-9]*\.\([0-9]*\).*/\1/p')
  if [ -n "$CUDA_ARCH_OVERRIDE" ]; then
    CUDA_ARCH=$(gencode_list "$CUDA_ARCH_OVERRIDE")
  elif [ "$NVCC_MAJOR" -le 11 ]; then
    # CUDA 11.8: Maxwell ... Hopper (11.8 is the first release that knows sm_89/sm_90).
    CUDA_ARCH="-gencode arch=compute_50,code=sm_50 -gencode arch=compute_52,code=sm_52
      -gencode arch=compute_60,code=sm_60 -gencode arch=compute_61,code=sm_61
      -gencode arch=compute_70,code=sm_70 -gencode arch=compute_75,code=sm_75
      -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86
      -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90
      -gencode arch=compute_90,code=compute_90"
  elif [ "$NVCC_MAJOR" -ge 13 ]; then
    # CUDA 13 dropped compute capability < 7.5 (Pascal, Volta).
    CUDA_ARCH="-gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80
      -gencode arch=compute_86,code=sm_86 -gencode arch=compute_89,code=sm_89
      -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90"
  else
    CUDA_ARCH="-gencode arch=compute_60,code=sm_60 -gencode arch=compute_61,code=sm_61
      -gencode arch=compute_70,code=sm_70 -gencode arch=compute_75,code=sm_75
      -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86
      -gencode arch=compute_89,code=sm_89 -gencode arch=compute_90,code=sm_90
      -gencode arch=compute_90,code=compute_90"
  fi
  # CUDA 11 refuses host compilers newer than GCC 11 (Debian 12's g++ is 12): Caffe's
  # Makefile passes $(CXX) to nvcc as -ccbin, so all of Caffe is compiled with g++-11
  # (same libstdc++ ABI as the system's).
  if [ "$NVCC_MAJOR" -le 11 ] && [ "$(g++ -dumpversion 2>/dev/null | cut -d. -f1)" -gt 11 ] 2>/dev/null; then
    command -v g++-11 >/dev/null ||
      { echo "build_caffe.sh: CUDA $NVCC_MAJOR.$NVCC_MINOR needs g++-11 (apt-get install g++-11)" >&2; exit 1; }
    CUDA_CXX=g++-11
  fi
  # cuBLAS / cuRAND: from the toolkit when it has them (the CUDA devel images),
  # else from NVIDIA's PyPI wheels (a bare nvcc install, as on our CI machines).
  has_header() { [ -f "$CUDA_DIR/include/$1" ] || [ -f "/usr/include/$1" ]; }
  if ! has_header cublas_v2.h || ! has_header curand.h; then
    WHEELS=$CACHE/cuda-libs-$NVCC_MAJOR.$NVCC_MINOR
    if [ ! -f "$WHEELS/.complete" ]; then
      if [ "$NVCC_MAJOR" -ge 13 ]; then suffix=; else suffix=-cu$NVCC_MAJOR; fi
      # cuBLAS of the toolkit's own release (its version is the CUDA version).
      cublas="nvidia-cublas$suffix==$NVCC_MAJOR.$NVCC_MINOR.*"
      log "fetching cuBLAS/cuRAND headers and libraries ($cublas, nvidia-curand$suffix)"
      rm -rf "$WHEELS"
      "$PY" -m pip install -q --no-deps --target "$WHEELS" "$cublas" "nvidia-curand$suffix" ||
        "$PY" -m pip install -q --no-deps --target "$WHEELS" "nvidia-cublas$suffix" "nvidia-curand$suffix"
      touch "$WHEELS/.complete"
    fi
    # the include and lib dirs of both wheels, each once (cu13 wheels share one)
    incs=$(find "$WHEELS" \( -name cublas_v2.h -o -name curand.h \) -printf '%h\n' | sort -u)
    libs=$(find "$WHEELS" \( -name 'libcublas.so*' -o -name 'libcurand.so*' \) -printf '%h\n' | sort -u)
    [ -n "$incs" ] && [ -n "$libs" ] || { echo "build_caffe.sh: no cuBLAS/cuRAND in $WHEELS" >&2; exit 1; }
    for d in $libs; do  # wheels ship only versioned names
      for f in "$d"/lib*.so.*; do ln -sf "$(basename "$f")" "${f%%.so.*}.so"; done
    done
    CUDA_EXTRA="INCLUDE_DIRS += $(echo $incs)
LIBRARY_DIRS += $(echo $libs)
LINKFLAGS +=$(for d in $libs; do printf ' -Wl,-rpath,%s' "$d"; done)"
  fi
fi

# One line: CPU_ONLY for the CPU build, the host compiler CUDA 11 needs, or empty (the
# config text is hashed into the build key: the other builds' keys stay as they were).
MODE_LINE=
if [ "$MODE" = cpu ]; then MODE_LINE="CPU_ONLY := 1"; elif [ -n "$CUDA_CXX" ]; then MODE_LINE="CUSTOM_CXX := $CUDA_CXX"; fi
MAKEFILE_CONFIG="# generated by docker/build_caffe.sh
$MODE_LINE
USE_CUDNN := 0
USE_OPENCV := 1
USE_LEVELDB := 1
USE_LMDB := 1
USE_HDF5 := 1
BLAS := open
BLAS_INCLUDE := /usr/include/x86_64-linux-gnu/openblas-pthread
CUDA_DIR := $CUDA_DIR
CUDA_ARCH := $(echo $CUDA_ARCH)
PYTHON_LIBRARIES := boost_python${PY_VER/./} python$PY_VER
PYTHON_INCLUDE := $PY_INCLUDE $NUMPY_INCLUDE
PYTHON_LIB := $PY_LIBDIR
WITH_PYTHON_LAYER := 1
INCLUDE_DIRS := \$(PYTHON_INCLUDE) /usr/include/opencv4 /usr/include/hdf5/serial /usr/local/include
LIBRARY_DIRS := \$(PYTHON_LIB) /usr/lib/x86_64-linux-gnu/hdf5/serial /usr/local/lib /usr/lib
LINKFLAGS := -Wl,-rpath,$PY_LIBDIR
$CUDA_EXTRA
BUILD_DIR := build
DISTRIBUTE_DIR := distribute
Q ?= @"

# caffe_need/*.hpp|cpp|cu: our layers; caffe_need/test/test_*.cpp: their gtest, built
# with Caffe's test main into <prefix>/bin/<name> (names must differ from stock tests').
caffe_need_files() {
  { find "$REPO/caffe_need" -maxdepth 1 -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' \)
    find "$REPO/caffe_need/test" -maxdepth 1 -type f -name 'test_*.cpp' 2>/dev/null || true; } | sort
}
caffe_need_tests() { caffe_need_files | grep '/test/test_[^/]*\.cpp$' | xargs -r -n1 basename | sed 's/\.cpp$//'; }
# The keys must not depend on where the checkout (and so .venv) lives: numpy's
# headers of one version are the same in every venv, so the venv's prefix is
# masked out of the hashed config (CI clones into a new folder each run).
PY_PREFIX=$("$PY" -c "import sys; print(sys.prefix)")
KEY_CONFIG=${MAKEFILE_CONFIG//$PY_PREFIX/<python-prefix>}
BASE_KEY=$( { echo "$SDIST_SHA256 $MODE py$PY_VER numpy$NUMPY_VER"; echo "$KEY_CONFIG";
              cat "$REPO/docker/patch_caffe.py";
              if [ "$MODE" = cuda ]; then cat "$CUDA_PATCH"; fi; } | sha)
NEED_KEY=$(caffe_need_files | while read -r f; do basename "$f"; cat "$f"; done | sha)
FULL_KEY=$(echo "$BASE_KEY $NEED_KEY" | sha)
BUILD=$CACHE/build-$BASE_KEY
SRC=$BUILD/$SDIST_NAME-$SDIST_VERSION
[ -n "$PREFIX" ] || PREFIX=$CACHE/caffe-$FULL_KEY
[ "$ACTIVATE" != auto ] || { [ "$MODE" = cpu ] && ACTIVATE=1 || ACTIVATE=0; }

if [ "$PRINT_CONFIG" = 1 ]; then
  up=no; [ "$(cat "$PREFIX/.complete" 2>/dev/null)" = "$FULL_KEY" ] && up=yes
  cat <<EOF
MODE=$MODE
BASE_KEY=$BASE_KEY
FULL_KEY=$FULL_KEY
BUILD=$BUILD
PREFIX=$PREFIX
UP_TO_DATE=$up
ACTIVATE=$ACTIVATE
----- Makefile.config
$MAKEFILE_CONFIG
EOF
  exit 0
fi

finish() {
  if [ "$ACTIVATE" = 1 ]; then
    echo "$PREFIX" > "$REPO/.caffe_prefix"
    how="caffe is found through lib/facecascade/caffe_loader.py (.caffe_prefix), or
           export PYTHONPATH=$PREFIX/python"
  else
    how=".caffe_prefix left unchanged (--no-activate); use this build with
           export CAFFE_PREFIX=$PREFIX  (or PYTHONPATH=$PREFIX/python)"
  fi
  cat <<EOF
[build_caffe] Caffe ($MODE) is ready in $PREFIX
  Python:  $PY  ($how)
  Tools:   $PREFIX/bin/caffe
  Demo:    $PY 3_demo/Code/inference.py
  Tests:   $PY -m pytest
EOF
}

if [ -f "$PREFIX/.complete" ] && [ "$(cat "$PREFIX/.complete")" = "$FULL_KEY" ]; then
  log "up to date (key $FULL_KEY)"
  finish
  exit 0
fi

# ---------------------------------------------------------------- 4. source tree
mkdir -p "$CACHE"
TARBALL=$CACHE/$SDIST_NAME-$SDIST_VERSION.tar.gz
if [ ! -f "$TARBALL" ] || ! echo "$SDIST_SHA256  $TARBALL" | sha256sum -c --quiet 2>/dev/null; then
  log "downloading $SDIST_NAME==$SDIST_VERSION from PyPI"
  tmpd=$(mktemp -d)
  "$PY" -m pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$tmpd" \
        "$SDIST_NAME==$SDIST_VERSION" 2>/dev/null ||
    "$PY" -m pip download -q --no-deps --no-binary :all: -d "$tmpd" "$SDIST_NAME==$SDIST_VERSION"
  mv "$tmpd/$SDIST_NAME-$SDIST_VERSION.tar.gz" "$TARBALL.part"
  rm -rf "$tmpd"
  echo "$SDIST_SHA256  $TARBALL.part" | sha256sum -c --quiet ||
    { echo "build_caffe.sh: sha256 mismatch for $SDIST_NAME-$SDIST_VERSION" >&2; exit 1; }
  mv "$TARBALL.part" "$TARBALL"
fi
if [ ! -f "$BUILD/.patched" ]; then
  log "unpacking and patching into $BUILD"
  rm -rf "$BUILD"; mkdir -p "$BUILD"
  tar xzf "$TARBALL" -C "$BUILD"
  "$PY" "$REPO/docker/patch_caffe.py" "$SRC"
  if [ "$MODE" = cuda ]; then "$PY" "$CUDA_PATCH" "$SRC"; fi
  mkdir -p "$BUILD/pristine"
  touch "$BUILD/.patched"
fi
# Rewritten every run: it holds this checkout's venv paths (objects do not
# depend on it, so make rebuilds nothing for that).
echo "$MAKEFILE_CONFIG" > "$SRC/Makefile.config"

# caffe_need: headers to include/caffe/layers, sources to src/caffe/layers, tests to
# src/caffe/test.  Copy only changed files (make then rebuilds only those); restore a
# stock file when our replacement of it is removed from caffe_need.
dest_of() {
  case "$1" in
    test_*.cpp) echo "$SRC/src/caffe/test/$1" ;;
    *.hpp) echo "$SRC/include/caffe/layers/$1" ;;
    *) echo "$SRC/src/caffe/layers/$1" ;;
  esac
}
src_of() { case "$1" in test_*.cpp) echo "$REPO/caffe_need/test/$1" ;; *) echo "$REPO/caffe_need/$1" ;; esac; }
touch "$BUILD/caffe_need.manifest"
current=$(caffe_need_files | xargs -r -n1 basename)
changed_headers=""
for name in $current; do
  dest=$(dest_of "$name")
  if [ -f "$dest" ] && [ ! -f "$BUILD/pristine/$name" ] && ! grep -qx "$name" "$BUILD/caffe_need.manifest"; then
    cp -p "$dest" "$BUILD/pristine/$name"
  fi
  if ! cmp -s "$(src_of "$name")" "$dest"; then
    cp "$(src_of "$name")" "$dest"
    case "$name" in *.hpp) changed_headers="$changed_headers caffe/layers/$name" ;; esac
  fi
done
for name in $(cat "$BUILD/caffe_need.manifest"); do
  if ! echo "$current" | grep -qx "$name"; then
    dest=$(dest_of "$name")
    if [ -f "$BUILD/pristine/$name" ]; then cp "$BUILD/pristine/$name" "$dest"; touch "$dest"; else rm -f "$dest"; fi
    case "$name" in *.hpp) changed_headers="$changed_headers caffe/layers/$name" ;; esac
  fi
done
echo "$current" > "$BUILD/caffe_need.manifest"
# This Makefile's dependency files name no headers, so make would not rebuild
# the sources that include a changed header: touch them.  A header that
# includes a changed one counts as changed (simd_vectors.hpp reaches
# conv_layer.cpp only through direct_conv.hpp).  grep finds no includer of a
# new header: that is no error.
includers() { grep -rlF "$@" || true; }
pending=$changed_headers
while [ -n "$pending" ]; do
  found=""
  for rel in $pending; do
    for f in $(includers --include='*.hpp' "$rel" "$SRC/include"); do
      case " $changed_headers " in *" ${f#"$SRC"/include/} "*) ;;
        *) changed_headers="$changed_headers ${f#"$SRC"/include/}"; found="$found ${f#"$SRC"/include/}" ;; esac
    done
  done
  pending=$found
done
for rel in $changed_headers; do
  includers --include='*.cpp' --include='*.cu' "$rel" "$SRC/src" "$SRC/tools" "$SRC/python"
done | xargs -r touch

# ---------------------------------------------------------------- 5. compile
log "compiling ($MODE, $JOBS jobs) in $SRC"
start=$(date +%s)
# (the Makefile's own name for build/ in a release build, which make's targets use)
TEST_BINS=$(caffe_need_tests | sed 's|^|.build_release/test/|; s|$|.testbin|')
# shellcheck disable=SC2086  # one make target per test
make -C "$SRC" -j"$JOBS" lib tools pycaffe $TEST_BINS >"$BUILD/make.log" 2>&1 ||
  { tail -60 "$BUILD/make.log" >&2; echo "build_caffe.sh: make failed, full log: $BUILD/make.log" >&2; exit 1; }
log "compiled in $(( $(date +%s) - start )) s"

# ---------------------------------------------------------------- 6. install
STAGE=$PREFIX.tmp.$$
rm -rf "$STAGE"; mkdir -p "$STAGE"/{lib,bin,python,include/caffe/proto}
cp -a "$SRC"/build/lib/libcaffe.so* "$STAGE/lib/"
for b in "$SRC"/build/tools/*.bin; do cp "$b" "$STAGE/bin/$(basename "$b" .bin)"; done
# caffe_need's gtest: Caffe's test main, rpath $ORIGIN/../lib (the prefix's libcaffe)
for t in $(caffe_need_tests); do cp "$SRC/.build_release/test/$t.testbin" "$STAGE/bin/$t"; done
cp -r "$SRC/python/caffe" "$STAGE/python/caffe"
rm -rf "$STAGE/python/caffe/__pycache__" "$STAGE/python/caffe/test" "$STAGE/python/caffe/_caffe.cpp"
cp -r "$SRC/include/caffe" "$STAGE/include/"
cp "$SRC"/build/src/caffe/proto/caffe.pb.h "$STAGE/include/caffe/proto/"
cp "$SRC/src/caffe/proto/caffe.proto" "$STAGE/include/caffe/proto/"
cat > "$STAGE/build_info.txt" <<EOF
source: $SDIST_NAME==$SDIST_VERSION sha256 $SDIST_SHA256
mode: $MODE
cuda_arch: $(echo $CUDA_ARCH)
python: $PY_VER ($PY)  numpy: $NUMPY_VER
caffe_need: $(echo $current)
key: $FULL_KEY
built: $(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
echo "$FULL_KEY" > "$STAGE/.complete"
rm -rf "$PREFIX"
mkdir -p "$(dirname "$PREFIX")"
mv "$STAGE" "$PREFIX"
# Keep the cache bounded: the three newest prefixes of this mode (cpu/cuda)
# stay, and the prefix recorded in .caffe_prefix is never removed (a CUDA
# build must not delete the CPU build the tests use, nor the reverse).
active=$(cat "$REPO/.caffe_prefix" 2>/dev/null || true)
for d in $(ls -1dt "$CACHE"/caffe-* 2>/dev/null | grep -v '\.tmp\.' || true); do
  if [ "$(sed -n 's/^mode: //p' "$d/build_info.txt" 2>/dev/null)" = "$MODE" ]; then echo "$d"; fi
done | tail -n +4 | { grep -vxF "${active:-/nonexistent}" || true; } | xargs -r rm -rf
finish
