#!/usr/bin/env bash
# Issue 35's targets, the shipped det1-3 (mtcnn/model) and a candidate model folder side by side in one
# run, one process at a time, single thread (measurement only):
#   bash experiments/ablations/measure_precision_round.sh mtcnn/Result/model_r20 [LABEL]
# 1. bench/false_boxes.py: boxes per 100 photos at the default threshold and at 0.9 on the held-out
#    tenth of negatives/ and the CUHK one-face test photos (other boxes, found %); the peers where
#    bench/setup_peers.sh installed them (skipped with the reason otherwise)
# 2. the contract command on wider_eval, shipped then candidate (AP and sec_per_image); with CUT07=1
#    also at detect.py's cut (--min-score 0.7)
# 3. wider_eval in grey (bench/grayscale_copies.py), shipped then candidate
# 4. O-Net's own points on the cuhk test list (compare_landmarks.py: NME), the candidate's (and with
#    NME_SHIPPED=1 the shipped nets' too)
# 5. speed on the astronaut, alternating shipped / candidate / shipped / candidate (benchmark_speed.py)
# Outputs: mtcnn/Data/measure_LABEL_*.out (each ends with its JSON line), bench/Result/false_boxes_LABEL.out
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
[ $# -ge 1 ] || { echo "usage: bash experiments/ablations/measure_precision_round.sh MODEL_DIR [LABEL]" >&2; exit 2; }
M=$1
L=${2:-$(basename "$M")}
STEPS=" ${STEPS:-nme false wider gray speed} "
D=mtcnn/Data R=mtcnn/Result
mkdir -p $D bench/Result
step() { [[ "$STEPS" == *" $1 "* ]]; }
GT=../shared/data/wider_eval/wider_face_val_bbx_gt_subset.txt
IMAGES=../shared/data/wider_eval/images
if step nme; then
    WHO=("$L"); [ -z "${NME_SHIPPED:-}" ] || WHO=(shipped "$L")
    for who in "${WHO[@]}"; do
        dir=mtcnn/model; [ "$who" = shipped ] || dir=$M
        echo "$(date -u +%T) O-Net points $who"
        $PY mtcnn/5_evaluate/compare_landmarks.py --model-dir $dir --out $R/measure_${L}_nme_$who \
            > $D/measure_${L}_nme_$who.out 2>&1
    done
fi
if step false; then
    echo "$(date -u +%T) false boxes"
    $PY bench/false_boxes.py --candidate "$M" --candidate-label "ours: $L" --cuts 0.9 \
        --json bench/Result/false_boxes_$L.json > bench/Result/false_boxes_$L.out 2>&1
fi
if step wider; then
    for who in shipped "$L"; do
        dir=mtcnn/model; [ "$who" = shipped ] || dir=$M
        echo "$(date -u +%T) wider_eval $who"
        $PY mtcnn/evaluate.py --gt $GT --images $IMAGES --min-face 20 --model-dir $dir \
            --out $R/measure_${L}_eval_$who > $D/measure_${L}_eval_$who.out 2>&1
        [ -z "${CUT07:-}" ] || $PY mtcnn/evaluate.py --gt $GT --images $IMAGES --min-face 20 --model-dir $dir \
            --min-score 0.7 --out $R/measure_${L}_eval07_$who > $D/measure_${L}_eval07_$who.out 2>&1
    done
fi
if step gray; then
    $PY bench/grayscale_copies.py $IMAGES bench/Result/wider_eval_gray > /dev/null 2>&1
    for who in shipped "$L"; do
        dir=mtcnn/model; [ "$who" = shipped ] || dir=$M
        echo "$(date -u +%T) wider_eval in grey $who"
        $PY mtcnn/evaluate.py --gt $GT --images bench/Result/wider_eval_gray --min-face 20 --model-dir $dir \
            --out $R/measure_${L}_gray_$who > $D/measure_${L}_gray_$who.out 2>&1
    done
fi
if step speed; then
    for k in 1 2; do
        for who in shipped "$L"; do
            dir=mtcnn/model; [ "$who" = shipped ] || dir=$M
            $PY mtcnn/5_evaluate/benchmark_speed.py --backends caffe --runs 30 --model-dir $dir \
                > $D/measure_${L}_speed_${who}_$k.out 2>&1
        done
    done
fi
echo "$(date -u +%T) done: mtcnn/Data/measure_${L}_*.out, bench/Result/false_boxes_$L.out"
