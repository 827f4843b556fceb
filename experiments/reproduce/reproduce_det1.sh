#!/usr/bin/env bash
# The shipped det1 retrained from its starting net by round 5b's logged iteration counts and
# compared with the shipped det1 (run_pnet_hard_round.sh with POS_IOU=0.5 MINUTES=31
# CONTINUE_MINUTES=33 was a wall-clock run on 2026-11-23): the det1 of 004a2a0
# (run_pnet_stage.sh, 30,000 steps) fine-tuned on random_12.npz + hard_12.npz (its own
# mined candidates), --pos-iou 0.5 --box-weight 1.0 --hard-neg-share 0.5, batch 384:
# 101,365 steps at lr 1e-3 then 31,501 at 1e-4, then from those weights 106,624 + 38,219.
#   bash experiments/reproduce/reproduce_det1.sh       (about 1.5 h on one core; a clone with history)
# Outputs: mtcnn/Result/model_det1repro (this det1 beside the shipped det2/det3),
# mtcnn/Data/reproduce_det1.out (the weight comparison).  The original ran on an Intel Xeon
# with the trainer of f5b5b47 (before the trainer zeroed subnormal weights at each save), so
# here the weights are another run of the same recipe, not the same bits: compare the
# detector's AP (bash experiments/ablations/run_round_ablation.sh-style evaluate.py with --model-dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
D=mtcnn/Data
START=mtcnn/Result/start_004a2a0
OUT=mtcnn/Result/det1repro
mkdir -p $D
bash experiments/common/models_at.sh 004a2a0 $START
[ -f $D/random_12.npz ] || $PY mtcnn/0_sampling/sample_random.py --size 12 --wider-neg 250 --wider-jitter 32 \
    --cuhk-pos 2 --cuhk-neg 6 > $D/sample_12.log 2>&1
[ -f $D/hard_12.npz ] || $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --size 12 --wider-every 1 \
    --cuhk-limit 300 --model-dir $START > $D/mine_12.log 2>&1
train_det1() {  # PHASE1 PHASE2 START_WEIGHTS OUT
    $PY mtcnn/1_train_pnet/train_pnet.py --data $D/random_12.npz $D/hard_12.npz --phases "$1" "$2" --batch 384 \
        --resume "$3" --box-weight 1.0 --pos-iou 0.5 --hard-neg-share 0.5 --out "$4" > $D/train_$(basename "$4").out 2>&1
}
train_det1 101365 31501 $START/det1.caffemodel $OUT
train_det1 106624 38219 $OUT/pnet.caffemodel ${OUT}_cont
M=mtcnn/Result/model_det1repro
mkdir -p $M
cp mtcnn/model/det2.* mtcnn/model/det3.* $M/
cp ${OUT}_cont/pnet_deploy.prototxt $M/det1.prototxt
cp ${OUT}_cont/pnet.caffemodel $M/det1.caffemodel
$PY mtcnn/5_evaluate/compare_models.py mtcnn/model $M | tee $D/reproduce_det1.out
