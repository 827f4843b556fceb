#!/usr/bin/env bash
# Run every benchmark in order and print all tables (one machine, one run).
#
#   bash bench/run_all.sh                       # full runs (about 50 min on 2 cores)
#   LM_LIMIT=300 DET_LIMIT=60 bash bench/run_all.sh   # the limits of some runs in docs/notebook/benchmarks.md (~9 min)
#
# Peers appear when bash bench/setup_peers.sh has been run ("not installed"
# otherwise).  Run on an otherwise idle machine: the timings are single-thread
# medians, and other load changes them.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-.venv/bin/python}"
LM_LIMIT="${LM_LIMIT:-0}"
DET_LIMIT="${DET_LIMIT:-0}"
step() { echo; echo "================ $*"; echo; "$@"; }
step "$PY" bench/depthwise_vs_group.py
step "$PY" bench/landmark_speed.py
step "$PY" bench/landmark_accuracy.py --limit "$LM_LIMIT"
step "$PY" bench/landmark_face_size.py --limit "$LM_LIMIT"
step "$PY" bench/detection.py --limit "$DET_LIMIT"
step "$PY" bench/false_boxes.py --limit "$LM_LIMIT"
step "$PY" bench/memory.py
step "$PY" bench/mtcnn_layer_times.py --candidates 64,64
step "$PY" bench/mtcnn_work.py --limit "$DET_LIMIT"
step "$PY" bench/level2_crop_scale.py --list "${FACECASCADE_DATA:-../shared/data}/cuhk_facepoint/train_net7876.txt" --format cuhk
