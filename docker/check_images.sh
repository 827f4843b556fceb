#!/usr/bin/env bash
# Build both Docker images with a real engine and run the project in each:
#
#   bash docker/check_images.sh [--images "cpu cuda"] [--jobs N] [--cuda-arch LIST]
#                               [--train-iters N] [--out DIR] [--shared DIR] [--rebase]
#
# 1. A Docker engine: if `docker info` does not answer, installs docker.io
#    (apt-get) where dockerd is missing and starts dockerd in the background.
# 2. The base image debian:12: if it is not there and cannot be pulled, makes it
#    with debootstrap (--variant=minbase bookworm, from the Debian mirror apt
#    uses here) and `docker import`.  Our machines reach the package registries
#    through their own CA: the local base gets this machine's CA bundle under a
#    path of its own, and pip is pointed at it in the base's /etc/pip.conf.
#    That is a property of our machines, kept here, never in the Dockerfiles.
# 3. Builds facecascade:cpu (docker/Dockerfile.cpu) and facecascade:cuda
#    (docker/Dockerfile), one at a time, with CAFFE_JOBS=N.
# 4. In each image, as a user that is not root (the caller, or uid 4321 when
#    the caller is root), with the results in mounted folders: the demo
#    (3_demo/Code/inference.py), detect_landmarks.py --align on a demo photo, a
#    short level-1 training on the development data (../shared/data, mounted
#    read-only: divide_tr_te.py, gen_data.py --limit, train.py --max-iter N)
#    and evaluate.py on its model; that every file written is the user's; the
#    test suite (as root, ../shared mounted at /shared).  For the CUDA image
#    also the CUDA compile/link test (tests/test_cuda_build.py) in its build
#    stage, which has the toolkit (the final image has none).
# 5. Prints a table (image, build minutes, size, each step's result) and writes
#    it to OUT/check_images.md; the logs of every step are in OUT/<image>/.
#    Exit status 1 if any step failed.
#
# Run it before a change to docker/, requirements.txt or caffe_need/ lands (CI
# runs the README's test command only: a full image build does not fit its time).
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES="cpu cuda"
JOBS=2
CUDA_ARCH=
TRAIN_ITERS=300
OUT=$REPO/docker/check
SHARED=$REPO/../shared
REBASE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --images) IMAGES=$2; shift 2 ;;
    --jobs) JOBS=$2; shift 2 ;;
    --cuda-arch) CUDA_ARCH=$2; shift 2 ;;
    --train-iters) TRAIN_ITERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --shared) SHARED=$2; shift 2 ;;
    --rebase) REBASE=1; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "check_images.sh: unknown option $1 (--help)" >&2; exit 2 ;;
  esac
done
# All below is one function, parsed whole before it runs: editing this file while a
# check runs (they take an hour) cannot change the running one.
main() {
for image in $IMAGES; do
  case "$image" in cpu|cuda) ;; *) echo "check_images.sh: --images takes cpu and/or cuda, not $image" >&2; exit 2 ;; esac
done
SHARED=$(cd "$SHARED" && pwd) || { echo "check_images.sh: no shared folder $SHARED" >&2; exit 2; }
[ -d "$SHARED/data/cuhk_facepoint" ] ||
  { echo "check_images.sh: $SHARED/data has no cuhk_facepoint/ (the development data)" >&2; exit 2; }
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
log() { printf '[check_images %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# ---------------------------------------------------------------- 1. engine
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    log "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd (log: $OUT/dockerd.log)"
  nohup dockerd >"$OUT/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "check_images.sh: dockerd did not answer, see $OUT/dockerd.log" >&2; exit 1; }
fi
ENGINE=$(docker version -f 'engine {{.Server.Version}}' 2>/dev/null || echo "engine ?")

# ---------------------------------------------------------------- 2. base image
apt_mirror() {  # the first Debian archive URI apt uses here
  local uri
  uri=$(sed -n 's/^URIs: *\(\S*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb \(\[[^]]*\] \)\?\(\S*\/debian\)\/\? .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
  echo "${uri:-http://deb.debian.org/debian}"
}
make_base() {
  local mirror rootfs
  mirror=$(apt_mirror)
  rootfs=$(mktemp -d /tmp/debian12-rootfs.XXXXXX)
  command -v debootstrap >/dev/null ||
    { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  log "making debian:12 with debootstrap from $mirror (log: $OUT/debootstrap.log)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$OUT/debootstrap.log" 2>&1
  # as the official image: bookworm, -updates and -security, main; no package caches
  rm -f "$rootfs/etc/apt/sources.list" "$rootfs"/var/cache/apt/archives/*.deb
  rm -rf "$rootfs"/var/lib/apt/lists/*
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # this machine's CA bundle (installing ca-certificates in a build regenerates the
  # system bundle, so it lives under its own path) and pip pointed at it
  mkdir -p "$rootfs/usr/local/share/host-ca"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/host-ca/ca-certificates.crt"
  printf '[global]\ncert = /usr/local/share/host-ca/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
  tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:12 >/dev/null
  rm -rf "$rootfs"
}
if [ "$REBASE" = 1 ] || ! docker image inspect debian:12 >/dev/null 2>&1; then
  if [ "$REBASE" = 0 ] && timeout 60 docker pull -q debian:12 >/dev/null 2>&1; then
    BASE="debian:12 (pulled)"
  else
    make_base
    BASE="debian:12 (debootstrap, made now)"
  fi
else
  BASE="debian:12 (local, $(docker image inspect -f '{{.Created}}' debian:12 | cut -c1-16))"
fi
log "base: $BASE"

# ---------------------------------------------------------------- helpers
declare -A RESULT BUILD_MIN SIZE
FAILED=0
if [ "$(id -u)" = 0 ]; then RUN_USER=4321:4321; else RUN_USER="$(id -u):$(id -g)"; fi

# step IMAGE NAME SUMMARY-FUNCTION COMMAND...: runs COMMAND, logs to OUT/IMAGE/NAME.log,
# records "ok (<summary>)" or "FAILED (...)".
step() {
  local image=$1 name=$2 summarize=$3; shift 3
  local logf=$OUT/$image/$name.log start rc=0
  log "$image: $name"
  start=$(date +%s)
  "$@" >"$logf" 2>&1 || rc=$?
  local secs=$(( $(date +%s) - start )) summary
  summary=$($summarize "$logf" "$rc" 2>/dev/null || true)
  if [ "$rc" = 0 ] && [ -n "$summary" ] && [ "${summary#FAILED}" = "$summary" ]; then
    RESULT[$image.$name]="ok: $summary, ${secs} s"
  else
    RESULT[$image.$name]="FAILED (rc $rc${summary:+: $summary}; $(realpath --relative-to="$REPO" "$logf"))"
    FAILED=1
  fi
  log "$image: $name -> ${RESULT[$image.$name]}"
}

last_json() { grep '^{' "$1" | tail -1; }
json_field() { last_json "$1" | grep -o "\"$2\": *[^,}]*" | head -1 | sed 's/.*: *//; s/"//g'; }

sum_demo() {  # "done: 14 images, 14 faces, ..."
  local line; line=$(grep -o '^done: [0-9]* images, [0-9]* faces' "$1" | tail -1)
  [ -n "$line" ] && [ "$(find "$WORK/results/3_demo/Result" -name '*.jpg' | wc -l)" -gt 0 ] && echo "${line#done: }"
}
sum_detect() {
  local faces aligned
  faces=$(json_field "$1" faces); aligned=$(find "$WORK/out" -name '*.png' -path '*aligned*' | wc -l)
  [ -n "$faces" ] && [ "$aligned" -gt 0 ] && echo "$faces faces, $aligned aligned crops"
}
sum_train() {  # train.py's last line: {"iter": 300, "test_loss": ..., "caffemodel": ...}
  local it loss; it=$(json_field "$1" iter); loss=$(json_field "$1" test_loss)
  [ -n "$it" ] && [ -f "$WORK/results/1_level_1/Result/train/model/l1_folded.caffemodel" ] &&
    printf '%s iterations, held-out loss %.4f, l1_folded.caffemodel\n' "$it" "$loss"
}
sum_eval() {
  local m; m=$(json_field "$1" nme_l1)
  [ -n "$m" ] && printf 'level-1 NME %.2f %% on %s faces\n' "$m" "$(json_field "$1" n)"
}
sum_owner() {
  local bad; bad=$(find "$WORK" -mindepth 1 ! -user "${RUN_USER%:*}" | head -3)
  if [ -n "$bad" ]; then echo "FAILED: not the user's: $bad"; else echo "$(find "$WORK" -type f | wc -l) files, all uid ${RUN_USER%:*}"; fi
}
sum_pytest() {  # pytest's closing line, "N passed, M skipped in 1.23s" (-q) or between "="s
  grep -E '[0-9]+ (passed|failed|errors?|skipped).* in [0-9.]+s' "$1" | tail -1 |
    sed 's/=//g; s/^ *//; s/ in [0-9.]*s.*//'
}

# the tree docker build sends (tracked and untracked files that git does not ignore)
context_tar() { (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
                 tar --null -T - --ignore-failed-read -c 2>/dev/null); }

cuda_build_test() {  # tests/test_cuda_build.py in the CUDA image's build stage
  context_tar | docker run -i --rm -e CUDA_HOME=/usr/lib/nvidia-cuda-toolkit -e CAFFE_PREFIX=/opt/caffe \
    facecascade:cuda-build bash -c 'set -e; mkdir -p /tmp/src; tar -x -C /tmp/src; cd /tmp/src
      /opt/venv/bin/python -m pip install -q --no-deps -e .
      export CUDA_TEST_ARCH="$(sed -n "s/^cuda_arch: //p" /opt/caffe/build_info.txt)"
      # the toolkit'"'"'s libcuda1 dependency diverts glvnd'"'"'s libGL (OpenCV highgui links it) for the
      # NVIDIA driver'"'"'s: the build stage loads it from there (the final image has it in place)
      export LD_LIBRARY_PATH=/usr/lib/mesa-diverted/x86_64-linux-gnu
      /opt/venv/bin/python -m pytest -p no:cacheprovider -q -rs tests/test_cuda_build.py'
}

check_image() {
  local image=$1 file=docker/Dockerfile.cpu start
  [ "$image" = cuda ] && file=docker/Dockerfile
  mkdir -p "$OUT/$image"
  WORK=$OUT/$image/work
  rm -rf "$WORK"
  mkdir -p "$WORK"/results/{0_raw_data/Data,1_level_1/Data,1_level_1/Result,3_demo/Result} "$WORK/photos" "$WORK/out"
  cp "$REPO/3_demo/Data/celeba/$(ls "$REPO/3_demo/Data/celeba" | grep -m1 '\.jpg$')" "$WORK/photos/"
  chown -R "$RUN_USER" "$WORK"

  local args=(--build-arg "CAFFE_JOBS=$JOBS")
  [ "$image" = cuda ] && [ -n "$CUDA_ARCH" ] && args+=(--build-arg "CUDA_ARCH=$CUDA_ARCH")
  log "$image: docker build -f $file (log: $OUT/$image/build.log)"
  start=$(date +%s)
  if ! docker build -f "$REPO/$file" "${args[@]}" -t "facecascade:$image" "$REPO" >"$OUT/$image/build.log" 2>&1; then
    RESULT[$image.build]="FAILED ($(realpath --relative-to="$REPO" "$OUT/$image/build.log"))"
    BUILD_MIN[$image]=-; SIZE[$image]=-; FAILED=1
    return
  fi
  BUILD_MIN[$image]=$(awk -v s=$(( $(date +%s) - start )) 'BEGIN { printf "%.1f", s / 60 }')
  # a build whose Caffe layer came from Docker's cache says so (its minutes are not a build's)
  grep -q '^\[build_caffe\] compiled in' "$OUT/$image/build.log" ||
    BUILD_MIN[$image]="${BUILD_MIN[$image]} (Caffe layer cached)"
  SIZE[$image]=$(docker image inspect -f '{{.Size}}' "facecascade:$image" | awk '{ printf "%.2f GB", $1 / 1e9 }')
  RESULT[$image.build]="ok"
  log "$image: built in ${BUILD_MIN[$image]} min, ${SIZE[$image]}"

  if [ "$image" = cuda ]; then
    # first the CUDA image's own check: its build stage (toolkit, compilers, the compiled
    # tree) from the cache; the test's build uses the image's arch list, so it reuses the tree
    docker build -f "$REPO/$file" "${args[@]}" --target build -t facecascade:cuda-build "$REPO" \
      >"$OUT/$image/build-stage.log" 2>&1 || true
    step "$image" cuda_build_test sum_pytest cuda_build_test
  fi
  # the commands of docker/README.md, run from the work folder ($PWD there)
  local img=facecascade:$image data=$SHARED/data
  local user=(--user "$RUN_USER") mounts=(
    -v "$data:/data/facecascade:ro" -e FACECASCADE_DATA=/data/facecascade
    -v "$WORK/results/0_raw_data/Data:/workspace/0_raw_data/Data"
    -v "$WORK/results/1_level_1/Data:/workspace/1_level_1/Data"
    -v "$WORK/results/1_level_1/Result:/workspace/1_level_1/Result")
  step "$image" demo sum_demo docker run --rm "${user[@]}" \
    -v "$WORK/results/3_demo/Result:/workspace/3_demo/Result" "$img" python 3_demo/Code/inference.py
  step "$image" detect sum_detect docker run --rm "${user[@]}" \
    -v "$WORK/photos:/photos:ro" -v "$WORK/out:/out" "$img" \
    python 3_demo/Code/detect_landmarks.py /photos --align --out /out
  step "$image" train sum_train docker run --rm "${user[@]}" "${mounts[@]}" "$img" bash -c "set -e
    python 0_raw_data/Code/divide_tr_te.py --cuhk /data/facecascade/cuhk_facepoint/train_net7876.txt --test-fraction 0.05
    python 1_level_1/Code/0_gen_data/gen_data.py --limit 600
    python 1_level_1/Code/2_train/train.py --max-iter $TRAIN_ITERS --bn-batches 4"
  step "$image" evaluate sum_eval docker run --rm "${user[@]}" "${mounts[@]}" "$img" \
    python 1_level_1/Code/4_evaluate/evaluate.py \
      --list /data/facecascade/cuhk_facepoint/test_net7876.txt --format cuhk --limit 300 \
      --l1-deploy 1_level_1/Result/train/model/l1_folded_deploy.prototxt \
      --l1-model 1_level_1/Result/train/model/l1_folded.caffemodel
  step "$image" owner sum_owner true
  step "$image" tests sum_pytest docker run --rm -v "$SHARED:/shared:ro" "$img" \
    python -m pytest -p no:cacheprovider -q
}

START=$(date -u +%Y-%m-%dT%H:%M)
for image in $IMAGES; do check_image "$image"; done

# ---------------------------------------------------------------- 5. table
STEPS="build demo detect train evaluate owner tests cuda_build_test"
{
  echo "docker/check_images.sh, started $START UTC on $(hostname) ($(nproc) cores, CAFFE_JOBS=$JOBS);"
  echo "$ENGINE, base $BASE; steps run as uid ${RUN_USER%:*}, the test suite as root."
  echo
  echo "| image | build min | size | $(echo $STEPS | sed 's/ / | /g') |"
  echo "|$(for _ in image min size $STEPS; do printf -- '---|'; done)"
  for image in $IMAGES; do
    row="| facecascade:$image | ${BUILD_MIN[$image]:--} | ${SIZE[$image]:--} |"
    for s in $STEPS; do row="$row ${RESULT[$image.$s]:--} |"; done
    echo "$row"
  done
} | tee "$OUT/check_images.md"
return $FAILED
}
main
