#!/usr/bin/env bash
# Round 11: slim R-Net and O-Net (--width $WIDTH, default 0.5: every trunk layer at half its
# channels, about a third of the multiply-adds) trained from scratch on round 3's data with
# round 3's flags (--pos-iou 0.5 --box-weight 1.0), side by side, one thread each, $MINUTES
# (60) minutes.  Why: the 0.08 s target is past the reference nets' arithmetic on one core
# (bench/mtcnn_work.py), and R-Net and O-Net lose wider_eval faces that they keep on
# wider_train, so smaller nets might cost little accuracy, or even generalise better.
# Then three model folders combine the new nets with the shipped det1-3 (mtcnn/model):
#   mtcnn/Result/model_slim (both new), model_slim_rnet (new det2), model_slim_onet (new det3).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
MINUTES=${MINUTES:-60}
WIDTH=${WIDTH:-0.5}
D=mtcnn/Data
PY=$PY bash experiments/common/make_round3_data.sh 24 48
$PY mtcnn/2_train_rnet/train_rnet.py --minutes "$MINUTES" --width "$WIDTH" \
    --box-weight 1.0 --pos-iou 0.5 --out mtcnn/Result/rnet_slim > $D/train_rnet_slim.out 2>&1 &
RNET=$!
$PY mtcnn/3_train_onet/train_onet.py --minutes "$MINUTES" --width "$WIDTH" --batch 128 \
    --box-weight 1.0 --pos-iou 0.5 --out mtcnn/Result/onet_slim > $D/train_onet_slim.out 2>&1 &
ONET=$!
wait $RNET
wait $ONET
bash experiments/common/combine_models.sh mtcnn/model mtcnn/Result/rnet_slim mtcnn/Result/onet_slim model_slim
echo "round 11 models in mtcnn/Result/model_slim{_rnet,_onet,}; evaluate each with mtcnn/evaluate.py --model-dir"
