#!/usr/bin/env bash
# Round 5 of the training pipeline (2026-11-23): a more selective P-Net.  The shipped det1
# (run_pnet_stage.sh) hands R-Net about 1,100-1,500 candidates per WIDER image, and R-Net on
# them is a third of the detection time.  The MTCNN paper mines hard examples for R-Net and
# O-Net only; here P-Net's own false positives on wider_train (the candidates it keeps, cropped
# at 12 px as the detector crops them) become half of each batch's negatives while det1 is
# fine-tuned, with box weight 1.0 as round 3 used for R-Net and O-Net.
# Single thread, meant to run beside other work on the 2-core dev machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-HEAD}
MINUTES=${MINUTES:-70}
START=mtcnn/Result/start_p5
mkdir -p $START
bash mtcnn/models_at.sh "$REF" $START
[ -f mtcnn/Data/random_12.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 12 --wider-neg 250 --wider-jitter 32 --cuhk-pos 2 --cuhk-neg 6 > mtcnn/Data/sample_12.log 2>&1
[ -f mtcnn/Data/hard_12.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --size 12 --wider-every 1 --cuhk-limit 300 --model-dir $START > mtcnn/Data/mine_12.log 2>&1
$PY mtcnn/1_train_pnet/train_pnet.py --data mtcnn/Data/random_12.npz mtcnn/Data/hard_12.npz --minutes "$MINUTES" --batch 384 \
    --resume $START/det1.caffemodel --box-weight 1.0 --out mtcnn/Result/pnet_hard > mtcnn/Data/train_pnet_hard.out 2>&1
NEW=mtcnn/Result/model_p5
mkdir -p $NEW
cp $START/det2.* $START/det3.* $NEW/
cp mtcnn/Result/pnet_hard/pnet_deploy.prototxt $NEW/det1.prototxt
cp mtcnn/Result/pnet_hard/pnet.caffemodel $NEW/det1.caffemodel
echo "new models in $NEW; ship with: cp $NEW/* mtcnn/model/"
