#!/usr/bin/env bash
# O-Net stage of the training pipeline, as run for the shipped model (single thread, normal
# priority, 2026-11-22 19:05-20:05 UTC): random 48 px crops with CUHK/LFW landmark crops
# (reused from the earlier, time-capped sampling run: --wider-every 2 and the 7-minute cap
# kept 360 wider_train images, 767 CUHK faces, 1062 LFW faces), hard examples mined with the
# shipped P-Net + the new R-Net on ALL 720 wider_train images + 300 CUHK faces, O-Net
# training until $ONET_UNTIL (lr 1e-3 for 75% of the time, then 1e-4), shipping.
# --iters 1000000 only keeps the solver's multistep points out of reach: with --until the
# schedule is time-based.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
UNTIL=${ONET_UNTIL:-20:05}
[ -f mtcnn/Data/random_48.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-every 2 --wider-neg 20 --wider-jitter 12 --cuhk-limit 1500 --cuhk-pos 1 --cuhk-neg 1 --landmarks 2 --lfw-limit 2000 --max-minutes 7 > mtcnn/Data/sample_48.log 2>&1
[ -f mtcnn/Data/hard_48.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --wider-every 1 --cuhk-limit 300 > mtcnn/Data/mine_48.log 2>&1
rm -rf mtcnn/Result/onet
$PY mtcnn/3_train_onet/train_onet.py --until "$UNTIL" --iters 1000000 --batch 128 --ship mtcnn/model > mtcnn/Data/train_onet.out 2>&1
