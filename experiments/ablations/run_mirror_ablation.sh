#!/usr/bin/env bash
# What mirror scoring changes (--mirror-stages): R-Net and/or O-Net also score the
# crop flipped left-right of each candidate it scores at least the second look's
# floor, and the face probabilities, box offsets (and O-Net's landmarks) of the two
# are averaged; docs/notebook "Mirror scoring".
#
# The shipped det1/det2/det3, the contract evaluation with the shipped defaults
# otherwise, on wider_train (the nets' training set, where the choice is made) and on
# wider_eval (the test set).  Two evaluations at a time, one thread each: the AP
# figures do not depend on load, the times do (use the contract command alone).
# Outputs: mtcnn/Data/mirror_<set>_<variant>.out (last line: the JSON).
# SETS="train" runs wider_train only.  About 17 min on 2 cores.
ABLATION=mirror
source "$(dirname "$0")/../common/ablation_common.sh"
EVAL+=("${REFERENCE_PYRAMID[@]}") TRAIN+=("${REFERENCE_PYRAMID[@]}")
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_off "${D[@]}" &
    run ${set}_onet "${D[@]}" --mirror-stages onet; wait
    run ${set}_rnet "${D[@]}" --mirror-stages rnet &
    run ${set}_both "${D[@]}" --mirror-stages rnet onet; wait
done
# R-Net's mirror scoring with a finer pyramid (run_pyramid_factor_ablation.sh) as well,
# and at detect.py's cut (--min-score 0.7)
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_rnet_factor_0.8 "${D[@]}" --mirror-stages rnet --factor 0.8 --large-factor 0.8 &
    run ${set}_rnet_min_score_0.7 "${D[@]}" --mirror-stages rnet --min-score 0.7; wait
done
