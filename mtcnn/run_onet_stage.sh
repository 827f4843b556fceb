#!/usr/bin/env bash
# O-Net stage of the training pipeline, as run for the shipped model (single thread, niced):
# random 48 px crops with CUHK/LFW landmark crops, hard examples mined with the shipped
# P-Net + R-Net, O-Net training, shipping.  Time-capped like run_rnet_stage.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
UNTIL=${ONET_UNTIL:-17:10}
nice -n 10 $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-every 2 --wider-neg 20 --wider-jitter 12 --cuhk-limit 1500 --cuhk-pos 1 --cuhk-neg 1 --landmarks 2 --lfw-limit 2000 --max-minutes 7 > mtcnn/Data/sample_48.log 2>&1
nice -n 10 $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --cuhk-limit 200 --max-minutes 5 > mtcnn/Data/mine_48.log 2>&1
rm -rf mtcnn/Result/onet
nice -n 10 $PY mtcnn/3_train_onet/train_onet.py --until "$UNTIL" --batch 64 --ship mtcnn/model > mtcnn/Data/train_onet.out 2>&1
