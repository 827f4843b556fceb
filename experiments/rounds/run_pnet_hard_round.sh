#!/usr/bin/env bash
# Round 5 of the training pipeline (2026-11-23): a more selective P-Net.  The round-1 det1
# (run_pnet_stage.sh) hands R-Net about 1,100-1,500 candidates per WIDER image, and R-Net on
# them was a third of the detection time.  The MTCNN paper mines hard examples for R-Net and
# O-Net only; here P-Net's own false positives on wider_train (the candidates it keeps, cropped
# at 12 px as the detector crops them) become a share HARD_NEG_SHARE of each batch's negatives
# while det1 is fine-tuned, with box weight 1.0 as round 3 used for R-Net and O-Net.
# As run: HARD_NEG_SHARE=0.5 (out mtcnn/Result/pnet_hard) and, side by side, 0.25 (pnet_hard25),
# 70 minutes each (lr 1e-3, then 1e-4 for the last quarter), one thread each.
# The shipped det1 (round 5b): faces labelled from IoU 0.5, then a second time-based run from
# those weights (CONTINUE_MINUTES, same flags, a fresh lr schedule), as run:
#   MINUTES=31 POS_IOU=0.5 CONTINUE_MINUTES=33 OUT=mtcnn/Result/pnet_hard_pos50 bash experiments/rounds/run_pnet_hard_round.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-004a2a0}
MINUTES=${MINUTES:-70}
HARD_NEG_SHARE=${HARD_NEG_SHARE:-0.5}
BOX_WEIGHT=${BOX_WEIGHT:-1.0}
POS_IOU=${POS_IOU:-0.65}
CONTINUE_MINUTES=${CONTINUE_MINUTES:-0}
OUT=${OUT:-mtcnn/Result/pnet_hard}
START=mtcnn/Result/start_p5
mkdir -p $START
bash experiments/common/models_at.sh "$REF" $START
[ -f mtcnn/Data/random_12.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 12 --wider-neg 250 --wider-jitter 32 --cuhk-pos 2 --cuhk-neg 6 > mtcnn/Data/sample_12.log 2>&1
[ -f mtcnn/Data/hard_12.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --size 12 --wider-every 1 --cuhk-limit 300 --model-dir $START > mtcnn/Data/mine_12.log 2>&1
# train_det1 MINUTES START_WEIGHTS OUT_DIR: one time-based fine-tune with this round's flags
train_det1() {
    $PY mtcnn/1_train_pnet/train_pnet.py --data mtcnn/Data/random_12.npz mtcnn/Data/hard_12.npz --minutes "$1" --batch 384 \
        --resume "$2" --box-weight "$BOX_WEIGHT" --pos-iou "$POS_IOU" --hard-neg-share "$HARD_NEG_SHARE" \
        --out "$3" > mtcnn/Data/train_$(basename "$3").out 2>&1
}
train_det1 "$MINUTES" $START/det1.caffemodel $OUT
if [ "$CONTINUE_MINUTES" != 0 ]; then
    train_det1 "$CONTINUE_MINUTES" $OUT/pnet.caffemodel ${OUT}_cont
    OUT=${OUT}_cont
fi
NEW=mtcnn/Result/model_$(basename $OUT)
mkdir -p $NEW
cp $START/det2.* $START/det3.* $NEW/
cp $OUT/pnet_deploy.prototxt $NEW/det1.prototxt
cp $OUT/pnet.caffemodel $NEW/det1.caffemodel
echo "new models in $NEW; ship with: cp $NEW/* mtcnn/model/"
