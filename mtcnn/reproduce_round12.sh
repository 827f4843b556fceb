#!/usr/bin/env bash
# The shipped det2/det3 retrained from their starting nets and compared with the shipped files,
# weight by weight: round 12 (run_occlusion_round.sh, a 55-minute wall-clock run) repeated by
# its logged iteration counts (R-Net 23,308 steps at lr 1e-3 then 7,631 at 1e-4; O-Net 7,323
# then 2,438), then O-Net's landmark head refitted as for the shipped det3.
#   bash mtcnn/reproduce_round12.sh            (about an hour on 2 cores; a clone with history)
# Outputs: mtcnn/Result/model_r12repro_refit (det1-3), mtcnn/Data/reproduce_round12.out (the
# comparison).  Same to the bit needs the same kind of CPU as the original run (AMD EPYC,
# AVX-512) and Debian 12's OpenBLAS (OpenBLAS picks its kernels by CPU, and their sums round differently): elsewhere
# the weights differ in the last bits and grow apart over the run, like another seed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
NAME=${NAME:-r12repro}
bash mtcnn/rerun_round12.sh "$NAME"
M=mtcnn/Result/model_$NAME
$PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir $M --out ${M}_refit > mtcnn/Data/refit_$NAME.out 2>&1
$PY mtcnn/5_evaluate/compare_models.py mtcnn/model ${M}_refit | tee mtcnn/Data/reproduce_round12.out
