#!/usr/bin/env bash
# R-Net stage of the training pipeline, as run for the shipped model (single thread, normal
# priority, 2026-11-22 18:18-19:05 UTC): random 24 px crops (reused from the earlier run:
# all 720 wider_train images, 2500 CUHK faces), hard examples mined with the shipped P-Net on
# ALL 720 wider_train images + 300 CUHK faces, R-Net training until $RNET_UNTIL (lr 1e-3 for
# 75% of the time, then 1e-4), shipping.  --iters 1000000 only keeps the solver's multistep
# points out of reach: with --until the schedule is time-based.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
UNTIL=${RNET_UNTIL:-19:05}
[ -f mtcnn/Data/random_24.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 24 --wider-neg 40 --wider-jitter 24 --cuhk-limit 2500 --cuhk-pos 2 --cuhk-neg 3 > mtcnn/Data/sample_24.log 2>&1
[ -f mtcnn/Data/hard_24.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --wider-every 1 --cuhk-limit 300 > mtcnn/Data/mine_24.log 2>&1
rm -rf mtcnn/Result/rnet
$PY mtcnn/2_train_rnet/train_rnet.py --until "$UNTIL" --iters 1000000 --ship mtcnn/model > mtcnn/Data/train_rnet.out 2>&1
