#!/usr/bin/env bash
# Round 16: round 12 with its second phase (lr 1e-4) twice as long.  Why: in round 12's run
# (experiments/rounds/run_swa_round.sh, round 15) the mean of the 1e-4 phase's snapshots scored below
# its last weights, which suggests the nets were still gaining when that phase, a quarter
# of the run, ended.  From round 12's own phase-1 weights (the run_swa_round.sh run's
# snapshots at R-Net 23,308 / O-Net 7,323 steps, made first where missing), a fresh solver
# at lr 1e-4 for twice round 12's phase-2 steps (R-Net 2 x 7,631, O-Net 2 x 2,438), round
# 12's data and flags, side by side, one thread each; then the three model folders of
# combine_models.sh (mtcnn/Result/model_r16{,_rnet,_onet}).  Measure with
#   bash experiments/ablations/run_round_ablation.sh r16
#   bash experiments/rounds/run_long_phase2_round.sh       (about 30 min on 2 cores, after round 15's run)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
R=mtcnn/Result
D=mtcnn/Data
NAME=r16
RNET_START=$R/rnet_r12swa/snapshots/rnet_iter_23308.caffemodel
ONET_START=$R/onet_r12swa/snapshots/onet_iter_7323.caffemodel
if [ ! -f $RNET_START ] || [ ! -f $ONET_START ]; then
    bash experiments/reproduce/rerun_round12.sh r12swa --keep-snapshots
fi
FLAGS=(--box-weight 1.0 --pos-iou 0.5 --occlusion 0.3 --lr 1e-3)
$PY mtcnn/2_train_rnet/train_rnet.py --phases 0 15262 --resume $RNET_START "${FLAGS[@]}" \
    --out $R/rnet_$NAME > $D/train_rnet_$NAME.out 2>&1 &
RNET=$!
$PY mtcnn/3_train_onet/train_onet.py --phases 0 4876 --batch 128 --resume $ONET_START "${FLAGS[@]}" \
    --out $R/onet_$NAME > $D/train_onet_$NAME.out 2>&1 &
ONET=$!
wait $RNET
wait $ONET
bash experiments/common/combine_models.sh $R/start_f5b5b47 $R/rnet_$NAME $R/onet_$NAME model_$NAME
