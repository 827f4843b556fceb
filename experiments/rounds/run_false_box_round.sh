#!/usr/bin/env bash
# Rounds 18 and 19: R-Net and O-Net fine-tuned from the det2/det3 shipped at $REF (round 17's) with
# the whole detector's false boxes (mine_hard_examples.py --stages 3: its output scored >= 0.1 that
# overlaps no face by IoU 0.3, cropped at 24 and 48 px) as a quarter of each batch's negatives
# (--false-neg-share), at lr 1e-4 (1e-5 for the last quarter) so the nets stay near the shipped
# ones; round 17's flags otherwise (--occlusion 0.3 --blur-weight 3).
#   round 18: bash experiments/rounds/run_false_box_round.sh            (NAME=r18 MINUTES=40 SHARE=0.25 REF=6a575e9)
#             false boxes on wider_train only
#   round 19: NAME=r19 CUHK_LIMIT=3000 CEILING=0.9 bash experiments/rounds/run_false_box_round.sh
#             also those on 3,000 CUHK training photos, scored below CEILING (unlabelled faces
#             there mostly score higher than clutter)
# Then: bash experiments/ablations/run_round_ablation.sh NAME; .venv/bin/python bench/false_boxes.py --peers ""
#       --ours-flags "--model-dir mtcnn/Result/model_NAME_refit" --cuts 0.9 0.98
# Outputs: mtcnn/Data/false_{24,48}.npz and false_cuhk_{24,48}.npz (kept: delete them to re-mine),
# the round's model folders (finetune_two_nets.sh), and mtcnn/Result/model_NAME_refit (O-Net's
# landmark head refitted).
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
NAME=${NAME:-r18}
REF=${REF:-6a575e9}
D=mtcnn/Data
START=mtcnn/Result/start_$REF
bash experiments/common/models_at.sh "$REF" $START
CUHK_LIMIT=${CUHK_LIMIT:-0}
for S in 24 48; do
    [ -f $D/false_$S.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 3 --size $S --wider-every 1 \
        --cuhk-limit 0 --model-dir $START > $D/mine_false_$S.out 2>&1 &
done
wait
EXTRA24="" EXTRA48=""
if [ "$CUHK_LIMIT" -gt 0 ]; then
    for S in 24 48; do
        [ -f $D/false_cuhk_$S.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 3 --size $S \
            --wider-every 0 --cuhk-limit "$CUHK_LIMIT" --false-ceiling "${CEILING:-0.9}" --model-dir $START \
            --out $D/false_cuhk_$S.npz > $D/mine_false_cuhk_$S.out 2>&1 &
    done
    wait
    EXTRA24=" $D/false_cuhk_24.npz" EXTRA48=" $D/false_cuhk_48.npz"
fi
REF=$REF MINUTES=${MINUTES:-40} \
    RNET_DATA="$D/random_24.npz $D/hard_24.npz $D/false_24.npz$EXTRA24" \
    ONET_DATA="$D/random_48.npz $D/hard_48.npz $D/false_48.npz$EXTRA48" \
    bash experiments/common/finetune_two_nets.sh "$NAME" --lr 1e-4 --occlusion 0.3 --blur-weight 3 \
    --false-neg-share "${SHARE:-0.25}"
$PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir mtcnn/Result/model_$NAME \
    --out mtcnn/Result/model_${NAME}_refit > $D/refit_$NAME.out 2>&1
echo "round $NAME: mtcnn/Result/model_${NAME}_refit (both nets, landmark head refitted)"
