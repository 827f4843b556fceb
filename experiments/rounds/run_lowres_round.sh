#!/usr/bin/env bash
# Fourth round, as run 2026-11-22/23 (single thread each, the two trainings side by side on
# the 2-core dev machine).  It starts from the det2/det3 shipped at commit $REF (round 3,
# run_finetune_stage.sh) and adds one thing the wider_eval diagnosis pointed at
# (docs/notebook, "Round 4"): most faces lost are 20-50 px ones that R-Net / O-Net score
# low, and such faces reach the nets soft (upsampled), unlike most training faces; --low-res 0.3
# shrinks 30% of each batch to 35-100% of its side and blows it back up.
# The data are round 3's (random_24/hard_24, random_48/hard_48 mined with round 3's R-Net);
# the flags otherwise as round 3 (--pos-iou 0.5 --box-weight 1.0).
# Outputs: mtcnn/Result/{rnet_r4,onet_r4}; models assembled in mtcnn/Result/model_r4 (both new),
# model_r4_onet (round-3 det2 + new det3), model_r4_rnet (new det2 + round-3 det3).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-65030ca}
# wall-clock budgets of the run (23:29 to 00:35 and 00:50 UTC); iterations reached: see "Round 4"
RNET_MINUTES=${RNET_MINUTES:-66}
ONET_MINUTES=${ONET_MINUTES:-81}
START=mtcnn/Result/start_$REF
bash experiments/common/models_at.sh "$REF" $START
$PY mtcnn/2_train_rnet/train_rnet.py --minutes "$RNET_MINUTES" --resume $START/det2.caffemodel \
    --pos-iou 0.5 --box-weight 1.0 --low-res 0.3 --out mtcnn/Result/rnet_r4 > mtcnn/Data/train_rnet_r4.out 2>&1 &
RNET_PID=$!
$PY mtcnn/3_train_onet/train_onet.py --minutes "$ONET_MINUTES" --batch 128 --resume $START/det3.caffemodel \
    --pos-iou 0.5 --box-weight 1.0 --low-res 0.3 --out mtcnn/Result/onet_r4 > mtcnn/Data/train_onet_r4.out 2>&1 &
ONET_PID=$!
wait $RNET_PID   # one wait per job: a bare `wait` would not stop the script when a training fails
wait $ONET_PID
for v in model_r4 model_r4_onet model_r4_rnet; do
    mkdir -p mtcnn/Result/$v
    cp $START/* mtcnn/Result/$v/
done
cp mtcnn/Result/rnet_r4/rnet.caffemodel mtcnn/Result/model_r4/det2.caffemodel
cp mtcnn/Result/rnet_r4/rnet.caffemodel mtcnn/Result/model_r4_rnet/det2.caffemodel
cp mtcnn/Result/onet_r4/onet.caffemodel mtcnn/Result/model_r4/det3.caffemodel
cp mtcnn/Result/onet_r4/onet.caffemodel mtcnn/Result/model_r4_onet/det3.caffemodel
echo "models in mtcnn/Result/model_r4*; measure each with mtcnn/evaluate.py --model-dir DIR"
