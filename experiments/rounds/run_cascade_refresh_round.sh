#!/usr/bin/env bash
# Round 6 of the training pipeline (2026-11-23): R-Net and O-Net re-fitted to the new det1.
# The shipped det2/det3 (round 3) learnt from candidates of the round-1 det1; the det1 of
# round 5 (IoU >= 0.5 faces, its own mined false positives) passes other windows.  The MTCNN
# paper mines each stage's data with the stages before it, so here:
#   hard_24_r6.npz: candidates of the new det1 on wider_train (+ CUHK), for R-Net;
#   hard_48_r6.npz: candidates of the new det1 + the round-3 det2, for O-Net (mined with the
#                   old det2 so that both nets can train at once, one core each);
# then det2 and det3 are fine-tuned from the shipped ones on random + round-3 hard + round-6
# hard data, with round 3's flags (--pos-iou 0.5 --box-weight 1.0), MINUTES each, side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-f5b5b47}
MINUTES=${MINUTES:-55}
START=mtcnn/Result/start_r6
mkdir -p $START
bash experiments/common/models_at.sh "$REF" $START
D=mtcnn/Data
[ -f $D/hard_24_r6.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --size 24 --wider-every 1 --cuhk-limit 300 \
    --model-dir $START --out $D/hard_24_r6.npz > $D/mine_24_r6.log 2>&1 &
[ -f $D/hard_48_r6.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --size 48 --wider-every 1 --cuhk-limit 300 \
    --model-dir $START --out $D/hard_48_r6.npz > $D/mine_48_r6.log 2>&1 &
wait
$PY mtcnn/2_train_rnet/train_rnet.py --data $D/random_24.npz $D/hard_24.npz $D/hard_24_r6.npz --minutes "$MINUTES" \
    --resume $START/det2.caffemodel --pos-iou 0.5 --box-weight 1.0 --out mtcnn/Result/rnet_r6 > $D/train_rnet_r6.out 2>&1 &
$PY mtcnn/3_train_onet/train_onet.py --data $D/random_48.npz $D/hard_48.npz $D/hard_48_r6.npz --minutes "$MINUTES" --batch 128 \
    --resume $START/det3.caffemodel --pos-iou 0.5 --box-weight 1.0 --out mtcnn/Result/onet_r6 > $D/train_onet_r6.out 2>&1 &
wait
# Three model sets, to measure each new net alone and both together.
bash experiments/common/combine_models.sh $START mtcnn/Result/rnet_r6 mtcnn/Result/onet_r6 model_r6
echo "new models in mtcnn/Result/model_r6{,_rnet,_onet}; ship with: cp mtcnn/Result/model_r6/* mtcnn/model/"
