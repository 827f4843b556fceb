#!/usr/bin/env bash
# Round 3's training data (the data the shipped det2/det3 were fine-tuned on), made where
# mtcnn/Data lacks it, as run_rnet_stage.sh / run_finetune_stage.sh made it:
#   24: random_24.npz + hard_24.npz (mined with the det1 of ee0560a)
#   48: random_48.npz + hard_48.npz (mined with that det1 and the round-3 det2, shipped at $REF)
#   bash experiments/common/make_round3_data.sh [24] [48]        (default: both sizes)
# A clone with its history is needed (experiments/common/models_at.sh).  Both sizes' steps run side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-f5b5b47}
SIZES=${*:-24 48}
D=mtcnn/Data
mkdir -p $D
MINE=mtcnn/Result/mine_round3
bash experiments/common/models_at.sh ee0560a $MINE
bash experiments/common/models_at.sh "$REF" mtcnn/Result/start_$REF
cp mtcnn/Result/start_$REF/det2.* $MINE/
want() { [[ " $SIZES " == *" $1 "* ]] && [ ! -f $D/$2.npz ]; }
want 24 random_24 && $PY mtcnn/0_sampling/sample_random.py --size 24 --wider-neg 40 --wider-jitter 24 \
    --cuhk-limit 2500 --cuhk-pos 2 --cuhk-neg 3 > $D/sample_24.log 2>&1 &
want 48 random_48 && $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-every 1 --wider-neg 20 --wider-jitter 12 \
    --cuhk-limit 3000 --cuhk-pos 1 --cuhk-neg 1 --landmarks 2 > $D/sample_48.log 2>&1 &
wait
want 24 hard_24 && $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --wider-every 1 --cuhk-limit 300 \
    --model-dir $MINE > $D/mine_24.log 2>&1 &
want 48 hard_48 && $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --wider-every 1 --cuhk-limit 300 \
    --model-dir $MINE > $D/mine_48.log 2>&1 &
wait
for s in $SIZES; do
  for f in random_$s hard_$s; do
    [ -f $D/$f.npz ] || { echo "$D/$f.npz was not made: see $D/*.log" >&2; exit 1; }
  done
done
