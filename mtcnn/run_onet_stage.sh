#!/usr/bin/env bash
# O-Net stage of the training pipeline, as run for the shipped model (single thread, niced):
# random 48 px crops with CUHK/LFW landmark crops, hard examples mined with the shipped
# P-Net + R-Net, O-Net training, shipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
UNTIL=${ONET_UNTIL:-17:08}
nice -n 10 $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-neg 30 --wider-jitter 16 --cuhk-limit 3000 --cuhk-pos 1 --cuhk-neg 2 --landmarks 2 > mtcnn/Data/sample_48.log 2>&1
nice -n 10 $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --cuhk-limit 1000 > mtcnn/Data/mine_48.log 2>&1
rm -rf mtcnn/Result/onet
nice -n 10 $PY mtcnn/3_train_onet/train_onet.py --until "$UNTIL" --ship mtcnn/model > mtcnn/Data/train_onet.out 2>&1
