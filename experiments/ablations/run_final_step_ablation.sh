#!/usr/bin/env bash
# What the last step's two additions change: the cascade score (--final-score) and
# soft-NMS (--final-nms), each alone and together, and where soft-NMS's lowered
# scores are cut (--min-score); docs/notebook "Cascade score and soft-NMS".
#
# The shipped det1/det2/det3, the contract evaluation, on wider_train (the nets'
# training set, where the choices were made) and on wider_eval (the test set).
# Two evaluations at a time, one thread each: the AP figures do not depend on
# load, the times do (use the contract command alone for those).
# Outputs: mtcnn/Data/final_step_<set>_<variant>.out (last line: the JSON),
# PR curves and detections under mtcnn/Result/final_step/<set>_<variant>/.
# About 14 min on 2 cores.
ABLATION=final_step
source "$(dirname "$0")/../common/ablation_common.sh"
EVAL+=("${REFERENCE_PYRAMID[@]}") TRAIN+=("${REFERENCE_PYRAMID[@]}")
REF=(--final-score onet --final-nms min)
for set in train eval; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_reference "${D[@]}" "${REF[@]}" &
    run ${set}_cascade_min "${D[@]}" --final-score cascade --final-nms min; wait
    run ${set}_onet_soft "${D[@]}" --final-score onet --final-nms soft &
    run ${set}_default "${D[@]}"; wait
    run ${set}_default_min_score_0.5 "${D[@]}" --min-score 0.5 &
    run ${set}_default_min_score_0.7 "${D[@]}" --min-score 0.7; wait
done
