#!/usr/bin/env bash
# P-Net stage of the training pipeline, as run for the shipped model (single thread, niced).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
mkdir -p mtcnn/Data
nice -n 10 $PY mtcnn/0_sampling/sample_random.py --size 12 --wider-neg 250 --wider-jitter 32 --cuhk-pos 2 --cuhk-neg 6 > mtcnn/Data/sample_12.log 2>&1
rm -rf mtcnn/Result/pnet
# The shipped det1 is the iteration-22000 snapshot of this run (stopped by hand when
# the landmark trainings took the CPU; lr steps at 18000 and 25500).
nice -n 10 $PY mtcnn/1_train_pnet/train_pnet.py --iters 30000 --batch 384 --save-every 2000 --ship mtcnn/model > mtcnn/Data/train_pnet.out 2>&1
