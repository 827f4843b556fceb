#!/usr/bin/env bash
# One fine-tuning round of R-Net and O-Net on round 3's data (the data the shipped det2/det3
# were trained on), side by side, one thread each, for $MINUTES minutes (lr 1e-3, then 1e-4
# for the last quarter), starting from the det2/det3 shipped at commit $REF, with round 3's
# flags (--box-weight 1.0; --pos-iou 0.5 unless FLAGS give another) plus FLAGS for both nets.
# Then three model folders combine the new nets with the starting ones:
#   mtcnn/Result/NAME_rnet (new det2), NAME_onet (new det3), NAME (both).
#   bash mtcnn/finetune_two_nets.sh NAME [FLAGS...]       e.g.  r8 --dropout 0.25
# Round 3's data is made first where missing (mtcnn/Data/random_24, hard_24, random_48,
# hard_48 .npz, as run_rnet_stage.sh / run_finetune_stage.sh made them): hard_24 mined with the
# det1 of ee0560a, hard_48 with that det1 and the round-3 det2 (the shipped one).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash mtcnn/finetune_two_nets.sh NAME [train_rnet/train_onet flags...]" >&2; exit 2; }
cd "$(dirname "$0")/.."
NAME=$1
shift
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-f5b5b47}
MINUTES=${MINUTES:-55}
D=mtcnn/Data
mkdir -p $D
START=mtcnn/Result/start_$REF
bash mtcnn/models_at.sh "$REF" $START
MINE=mtcnn/Result/mine_round3
bash mtcnn/models_at.sh ee0560a $MINE
cp $START/det2.* $MINE/
[ -f $D/random_24.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 24 --wider-neg 40 --wider-jitter 24 \
    --cuhk-limit 2500 --cuhk-pos 2 --cuhk-neg 3 > $D/sample_24.log 2>&1 &
[ -f $D/random_48.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-every 1 --wider-neg 20 --wider-jitter 12 \
    --cuhk-limit 3000 --cuhk-pos 1 --cuhk-neg 1 --landmarks 2 > $D/sample_48.log 2>&1 &
wait
[ -f $D/hard_24.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --wider-every 1 --cuhk-limit 300 \
    --model-dir $MINE > $D/mine_24.log 2>&1 &
[ -f $D/hard_48.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --wider-every 1 --cuhk-limit 300 \
    --model-dir $MINE > $D/mine_48.log 2>&1 &
wait
for f in random_24 hard_24 random_48 hard_48; do
  [ -f $D/$f.npz ] || { echo "$D/$f.npz was not made: see $D/*.log" >&2; exit 1; }
done
$PY mtcnn/2_train_rnet/train_rnet.py --minutes "$MINUTES" --resume $START/det2.caffemodel \
    --box-weight 1.0 --pos-iou 0.5 "$@" --out mtcnn/Result/rnet_$NAME > $D/train_rnet_$NAME.out 2>&1 &
RNET=$!
$PY mtcnn/3_train_onet/train_onet.py --minutes "$MINUTES" --batch 128 --resume $START/det3.caffemodel \
    --box-weight 1.0 --pos-iou 0.5 "$@" --out mtcnn/Result/onet_$NAME > $D/train_onet_$NAME.out 2>&1 &
ONET=$!
wait $RNET
wait $ONET
bash mtcnn/combine_models.sh $START mtcnn/Result/rnet_$NAME mtcnn/Result/onet_$NAME model_$NAME
echo "round $NAME models in mtcnn/Result/model_$NAME{_rnet,_onet,}; evaluate each with mtcnn/evaluate.py --model-dir"
