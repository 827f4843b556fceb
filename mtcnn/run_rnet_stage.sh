#!/usr/bin/env bash
# R-Net stage of the training pipeline, as run for the shipped model (single thread, niced).
# The CPU was shared with higher-priority trainings (this job got a few % of one core), so
# every step is capped by wall-clock time (--max-minutes / --until) instead of by data size.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
UNTIL=${RNET_UNTIL:-16:40}
# random 24 px crops (this run: all 720 wider_train images, 2500 CUHK faces)
[ -f mtcnn/Data/random_24.npz ] || nice -n 10 $PY mtcnn/0_sampling/sample_random.py --size 24 --wider-neg 40 --wider-jitter 24 --cuhk-limit 2500 --cuhk-pos 2 --cuhk-neg 3 > mtcnn/Data/sample_24.log 2>&1
[ -f mtcnn/Data/hard_24.npz ] || nice -n 10 $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --cuhk-limit 300 --max-minutes 6 > mtcnn/Data/mine_24.log 2>&1
rm -rf mtcnn/Result/rnet
nice -n 10 $PY mtcnn/2_train_rnet/train_rnet.py --until "$UNTIL" --ship mtcnn/model > mtcnn/Data/train_rnet.out 2>&1
