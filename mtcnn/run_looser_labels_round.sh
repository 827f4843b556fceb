#!/usr/bin/env bash
# Round 7: R-Net and O-Net fine-tuned from the det2/det3 shipped at commit $REF (round 3's) with
# the face label taken from IoU $POS_IOU (default 0.4: every part crop, IoU 0.4-0.65, trains the
# face class) instead of round 3's 0.5, on round 3's data and with its box weight.  Round 3 moved
# the label from 0.65 to 0.5 and that was its largest gain (mtcnn/README.md "Round 3"); the faces
# O-Net still drops come with R-Net boxes at IoU 0.52-0.75 (median 0.62) and are rejected by
# score (diagnose_stages.py on wider_eval, mtcnn/README.md "Second look").
# The two nets train side by side, one thread each, for $MINUTES minutes (lr 1e-3, then 1e-4 for
# the last quarter); then three model folders combine them with the shipped nets:
#   mtcnn/Result/model_r7_rnet (new det2), model_r7_onet (new det3), model_r7 (both).
# Data: mtcnn/Data/random_24.npz, hard_24.npz, random_48.npz, hard_48.npz as made by
# run_rnet_stage.sh and run_finetune_stage.sh (they skip a step whose file exists).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-f5b5b47}
MINUTES=${MINUTES:-55}
POS_IOU=${POS_IOU:-0.4}
for f in random_24 hard_24 random_48 hard_48; do
  [ -f mtcnn/Data/$f.npz ] || { echo "mtcnn/Data/$f.npz missing: run mtcnn/run_finetune_stage.sh's sampling and mining steps first" >&2; exit 1; }
done
START=mtcnn/Result/start_$REF
bash mtcnn/models_at.sh "$REF" $START
$PY mtcnn/2_train_rnet/train_rnet.py --minutes "$MINUTES" --resume $START/det2.caffemodel \
    --pos-iou "$POS_IOU" --box-weight 1.0 --out mtcnn/Result/rnet_r7 > mtcnn/Data/train_rnet_r7.out 2>&1 &
RNET=$!
$PY mtcnn/3_train_onet/train_onet.py --minutes "$MINUTES" --batch 128 --resume $START/det3.caffemodel \
    --pos-iou "$POS_IOU" --box-weight 1.0 --out mtcnn/Result/onet_r7 > mtcnn/Data/train_onet_r7.out 2>&1 &
ONET=$!
wait $RNET
wait $ONET
bash mtcnn/combine_models.sh $START mtcnn/Result/rnet_r7 mtcnn/Result/onet_r7 model_r7
echo "round 7 models in mtcnn/Result/model_r7{_rnet,_onet,}; evaluate each with mtcnn/evaluate.py --model-dir"
