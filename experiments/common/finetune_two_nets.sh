#!/usr/bin/env bash
# One fine-tuning round of R-Net and O-Net on round 3's data (the data the shipped det2/det3
# were trained on), side by side, one thread each, for $MINUTES minutes (lr 1e-3, then 1e-4
# for the last quarter), starting from the det2/det3 shipped at commit $REF, with round 3's
# flags (--box-weight 1.0; --pos-iou 0.5 unless FLAGS give another) plus FLAGS for both nets.
# Then three model folders combine the new nets with the starting ones:
#   mtcnn/Result/NAME_rnet (new det2), NAME_onet (new det3), NAME (both).
#   bash experiments/common/finetune_two_nets.sh NAME [FLAGS...]       e.g.  r8 --dropout 0.25
# RNET_PHASES="N1 N2" / ONET_PHASES="N1 N2" replace a net's MINUTES by iteration counts
# (--phases, as a time run logs them at its end): the same weights on the same kind of CPU,
# whatever the load (experiments/reproduce/reproduce_round.sh).
# RNET_DATA / ONET_DATA: the nets' sample files (--data) in place of their defaults, round 3's
# (e.g. round 18 adds the whole detector's false boxes, experiments/rounds/run_false_box_round.sh).
# Round 3's data is made first where missing (experiments/common/make_round3_data.sh).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash experiments/common/finetune_two_nets.sh NAME [train_rnet/train_onet flags...]" >&2; exit 2; }
cd "$(dirname "$0")/../.."
NAME=$1
shift
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-f5b5b47}
MINUTES=${MINUTES:-55}
D=mtcnn/Data
START=mtcnn/Result/start_$REF
bash experiments/common/models_at.sh "$REF" $START
REF=$REF PY=$PY bash experiments/common/make_round3_data.sh 24 48
RNET_BUDGET=(--minutes "$MINUTES"); [ -z "${RNET_PHASES:-}" ] || RNET_BUDGET=(--phases $RNET_PHASES)
ONET_BUDGET=(--minutes "$MINUTES"); [ -z "${ONET_PHASES:-}" ] || ONET_BUDGET=(--phases $ONET_PHASES)
RNET_FILES=(); [ -z "${RNET_DATA:-}" ] || RNET_FILES=(--data $RNET_DATA)
ONET_FILES=(); [ -z "${ONET_DATA:-}" ] || ONET_FILES=(--data $ONET_DATA)
$PY mtcnn/2_train_rnet/train_rnet.py "${RNET_BUDGET[@]}" ${RNET_FILES[@]+"${RNET_FILES[@]}"} --resume $START/det2.caffemodel \
    --box-weight 1.0 --pos-iou 0.5 "$@" --out mtcnn/Result/rnet_$NAME > $D/train_rnet_$NAME.out 2>&1 &
RNET=$!
$PY mtcnn/3_train_onet/train_onet.py "${ONET_BUDGET[@]}" ${ONET_FILES[@]+"${ONET_FILES[@]}"} --batch 128 --resume $START/det3.caffemodel \
    --box-weight 1.0 --pos-iou 0.5 "$@" --out mtcnn/Result/onet_$NAME > $D/train_onet_$NAME.out 2>&1 &
ONET=$!
wait $RNET
wait $ONET
bash experiments/common/combine_models.sh $START mtcnn/Result/rnet_$NAME mtcnn/Result/onet_$NAME model_$NAME
echo "round $NAME models in mtcnn/Result/model_$NAME{_rnet,_onet,}; evaluate each with mtcnn/evaluate.py --model-dir"
