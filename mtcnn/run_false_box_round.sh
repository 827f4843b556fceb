#!/usr/bin/env bash
# Round 18: R-Net and O-Net fine-tuned from the det2/det3 shipped at $REF (round 17's) with the
# whole detector's false boxes on wider_train (mine_hard_examples.py --stages 3: its output
# scored >= 0.3 that overlaps no face by IoU 0.3, cropped at 24 and 48 px) as a quarter of each
# batch's negatives (--false-neg-share), at lr 1e-4 (1e-5 for the last quarter) so the nets stay
# near the shipped ones; round 17's flags otherwise (--occlusion 0.3 --blur-weight 3).
#   bash mtcnn/run_false_box_round.sh                 (NAME=r18 MINUTES=40 SHARE=0.25 REF=6a575e9)
# Then: bash mtcnn/run_round_ablation.sh r18; bash mtcnn/5_evaluate/false_boxes.py --model-dir ...
# Outputs: mtcnn/Data/false_{24,48}.npz (kept: delete them to re-mine), the round's model folders
# (finetune_two_nets.sh), and mtcnn/Result/model_NAME_refit (O-Net's landmark head refitted).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
NAME=${NAME:-r18}
REF=${REF:-6a575e9}
D=mtcnn/Data
START=mtcnn/Result/start_$REF
bash mtcnn/models_at.sh "$REF" $START
for S in 24 48; do
    [ -f $D/false_$S.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 3 --size $S --wider-every 1 \
        --cuhk-limit 0 --model-dir $START > $D/mine_false_$S.out 2>&1 &
done
wait
REF=$REF MINUTES=${MINUTES:-40} \
    RNET_DATA="$D/random_24.npz $D/hard_24.npz $D/false_24.npz" \
    ONET_DATA="$D/random_48.npz $D/hard_48.npz $D/false_48.npz" \
    bash mtcnn/finetune_two_nets.sh "$NAME" --lr 1e-4 --occlusion 0.3 --blur-weight 3 \
    --false-neg-share "${SHARE:-0.25}"
$PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir mtcnn/Result/model_$NAME \
    --out mtcnn/Result/model_${NAME}_refit > $D/refit_$NAME.out 2>&1
echo "round $NAME: mtcnn/Result/model_${NAME}_refit (both nets, landmark head refitted)"
