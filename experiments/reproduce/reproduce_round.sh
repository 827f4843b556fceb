#!/usr/bin/env bash
# A shipped det2/det3 retrained from its starting nets and compared with the shipped files,
# weight by weight: round 12's run repeated by its logged iteration counts (rerun_round12.sh:
# R-Net 23,308 steps at lr 1e-3 then 7,631 at 1e-4; O-Net 7,323 then 2,438) with the round's
# flags, then O-Net's landmark head refitted as for the shipped det3.
#   bash experiments/reproduce/reproduce_round.sh [17|12]     (default 17, the det2/det3 shipped now, made with
#                                              --blur-weight 3; 12: the pair shipped until round 17)
# About an hour on 2 cores; needs a clone with history (the starting nets and the shipped pair
# come from git).  Outputs: mtcnn/Result/model_r<ROUND>repro_refit (det1-3),
# mtcnn/Data/reproduce_round<ROUND>.out (the comparison).  Same to the bit needs the same kind of
# CPU as the original runs (AMD EPYC, AVX-512) and Debian 12's OpenBLAS (OpenBLAS picks its
# kernels by CPU, and their sums round differently): elsewhere the weights differ in the last
# bits and grow apart over the run, like another seed.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUND=${1:-17}
case $ROUND in
    17) FLAGS=(--blur-weight 3); SHIPPED_AT=6a575e9 ;;   # the commit that shipped the pair
    12) FLAGS=(); SHIPPED_AT=fe92b9c ;;
    *) echo "usage: bash experiments/reproduce/reproduce_round.sh [17|12]" >&2; exit 2 ;;
esac
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
NAME=r${ROUND}repro
bash experiments/reproduce/rerun_round12.sh "$NAME" "${FLAGS[@]}"
M=mtcnn/Result/model_$NAME
$PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir $M --out ${M}_refit > mtcnn/Data/refit_$NAME.out 2>&1
bash experiments/common/models_at.sh $SHIPPED_AT mtcnn/Result/shipped_r$ROUND
$PY mtcnn/5_evaluate/compare_models.py mtcnn/Result/shipped_r$ROUND ${M}_refit | tee mtcnn/Data/reproduce_round$ROUND.out
