#!/usr/bin/env bash
# Round 9: O-Net fine-tuned from the det3 shipped at $START_REF (default HEAD) without the
# landmark loss (--pts-weight 0; round 3's data and flags otherwise: --pos-iou 0.5
# --box-weight 1.0), for $MINUTES (55) minutes on one thread, then its landmark head fitted in
# closed form on the detector's own crops (3_train_onet/refit_landmark_head.py).  Why: O-Net's
# 256 features serve both its face score and its landmarks, and the landmark head can now be
# fitted afterwards, so the features may be left to the face score and the box alone; the
# faces O-Net loses on wider_eval are dropped by score (docs/notebook "Second look").
#   mtcnn/Result/model_r9: det1, det2 as shipped at $START_REF, the new det3 (evaluate it
#   with mtcnn/evaluate.py --model-dir mtcnn/Result/model_r9).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
START_REF=${START_REF:-HEAD}
MINUTES=${MINUTES:-55}
D=mtcnn/Data
START=mtcnn/Result/start_r9
bash experiments/common/models_at.sh "$START_REF" $START
PY=$PY bash experiments/common/make_round3_data.sh 48
$PY mtcnn/3_train_onet/train_onet.py --minutes "$MINUTES" --batch 128 --resume $START/det3.caffemodel \
    --box-weight 1.0 --pos-iou 0.5 --pts-weight 0 --out mtcnn/Result/onet_r9 > $D/train_onet_r9.out 2>&1
mkdir -p mtcnn/Result/model_r9_trained
cp $START/det* mtcnn/Result/model_r9_trained/
cp mtcnn/Result/onet_r9/onet_deploy.prototxt mtcnn/Result/model_r9_trained/det3.prototxt
cp mtcnn/Result/onet_r9/onet.caffemodel mtcnn/Result/model_r9_trained/det3.caffemodel
$PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir mtcnn/Result/model_r9_trained \
    --out mtcnn/Result/model_r9 > $D/refit_r9.out 2>&1
echo "round 9 models in mtcnn/Result/model_r9; evaluate with mtcnn/evaluate.py --model-dir mtcnn/Result/model_r9"
