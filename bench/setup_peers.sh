#!/usr/bin/env bash
# Install the peers we compare against, each into its own virtual environment
# under bench/.venvs/<peer>/ (git-ignored).  Optional: no test and neither of
# the README's two commands needs them; the benchmarks print "not installed"
# for a peer whose environment is missing or broken.
#
#   bash bench/setup_peers.sh                 # all peers
#   bash bench/setup_peers.sh mediapipe dlib  # some of them
#
# Peers (names used by the benchmarks and bench/peers/<name>_adapter.py):
#   facenet_pytorch  facenet-pytorch 2.6.0 (MTCNN).  It pins torch<2.3,
#                    torchvision<0.18, numpy<2.  PyPI has no CPU-only torch
#                    2.2 wheel: its manylinux torch 2.2.2 wheel is the CUDA 12.1
#                    build and does not import without the nvidia-*-cu12
#                    libraries (ValueError: libcublas.so.*[0-9] not found), so we
#                    install the wheel with its CUDA dependencies (about 2.5 GB
#                    of downloads, ~4.5 GB on disk); it runs on the CPU when the
#                    machine has no GPU.
#   mtcnn_ipazc      mtcnn (ipazc) 1.0.0 on tensorflow-cpu.
#   mediapipe        mediapipe 0.10.21 (later versions ship no FaceMesh models
#                    and have no `solutions` API).
#   dlib             dlib-bin (prebuilt dlib wheels) + face_recognition_models
#                    (shape_predictor_5_face_landmarks.dat, mmod CNN model).
#                    face_recognition_models uses pkg_resources: setuptools<81.
# Everything runs offline after this: all models ship inside the packages.
#
# Environment: PYTHON (default python3, needs 3.9-3.12; tested on 3.11);
# REINSTALL=1 rebuilds environments that already work (default: kept).
# Exit status: 0 if every requested peer installed and imports, else 1
# (the others are still installed).  A peer's outcome is written to
# bench/.venvs/<peer>/STATUS ("ok ..." or "failed: reason").
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="$HERE/.venvs"
PY="${PYTHON:-python3}"
mkdir -p "$VENVS"

ALL_PEERS=(facenet_pytorch mtcnn_ipazc mediapipe dlib)
PEERS=("$@")
[ ${#PEERS[@]} -eq 0 ] && PEERS=("${ALL_PEERS[@]}")

requirements() {
    case "$1" in
        facenet_pytorch) echo "facenet-pytorch==2.6.0 torch==2.2.2 torchvision==0.17.2 numpy<2 pillow" ;;
        mtcnn_ipazc)     echo "mtcnn==1.0.0 tensorflow-cpu pillow" ;;
        mediapipe)       echo "mediapipe==0.10.21 numpy<2 pillow" ;;
        dlib)            echo "dlib-bin face_recognition_models==0.3.0 setuptools<81 numpy pillow" ;;
        *) return 1 ;;
    esac
}

# A check that the peer imports and finds its shipped model files.
check_code() {
    case "$1" in
        facenet_pytorch) echo 'import torch, facenet_pytorch, importlib.metadata as m; from facenet_pytorch import MTCNN; MTCNN(device="cpu"); print("facenet-pytorch", m.version("facenet-pytorch"), "torch", torch.__version__)' ;;
        mtcnn_ipazc)     echo 'import importlib.metadata as m, tensorflow as tf; from mtcnn import MTCNN; MTCNN(); print("mtcnn", m.version("mtcnn"), "tensorflow", tf.__version__)' ;;
        mediapipe)       echo 'import mediapipe as mp; mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True).close(); print("mediapipe", mp.__version__)' ;;
        dlib)            echo 'import dlib, face_recognition_models as f; dlib.shape_predictor(f.pose_predictor_five_point_model_location()); print("dlib", dlib.__version__)' ;;
    esac
}

failed=0
for peer in "${PEERS[@]}"; do
    reqs="$(requirements "$peer")" || { echo "unknown peer '$peer' (choose from: ${ALL_PEERS[*]})"; failed=1; continue; }
    env="$VENVS/$peer"
    log="$VENVS/$peer.log"
    echo "== $peer: $reqs  (log: $log)"
    # already there and working: keep it (REINSTALL=1 forces a fresh venv)
    if [ "${REINSTALL:-0}" != 1 ] && [ -x "$env/bin/python" ] &&
       out="$(cd /tmp && "$env/bin/python" -c "$(check_code "$peer")" 2>/dev/null)"; then
        echo "ok $(echo "$out" | tail -1)" > "$env/STATUS"
        echo "   already installed: $(cat "$env/STATUS")"
        continue
    fi
    rm -rf "$env"
    if ! "$PY" -m venv "$env" >"$log" 2>&1; then
        echo "   failed: could not create a virtual environment with $PY"
        failed=1; continue
    fi
    # shellcheck disable=SC2086
    if ! "$env/bin/python" -m pip install --upgrade pip >>"$log" 2>&1 ||
       ! "$env/bin/python" -m pip install $reqs >>"$log" 2>&1; then
        reason="$(grep -E '^ERROR' "$log" | tail -2 | tr '\n' ' ')"
        echo "failed: pip install $reqs: ${reason:-see $log}" > "$env/STATUS"
        echo "   $(cat "$env/STATUS")"; failed=1; continue
    fi
    if out="$(cd /tmp && "$env/bin/python" -c "$(check_code "$peer")" 2>>"$log")"; then
        echo "ok $(echo "$out" | tail -1)" > "$env/STATUS"
    else
        echo "failed: installed but does not import or load its models (see $log)" > "$env/STATUS"
        failed=1
    fi
    echo "   $(cat "$env/STATUS")"
done
exit $failed
