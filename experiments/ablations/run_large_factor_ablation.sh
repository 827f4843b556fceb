#!/usr/bin/env bash
# What a finer pyramid on the large-face levels alone changes (--large-factor F: the
# step between the levels that look for faces of --large-face (50) px and up; the
# finer levels keep --factor 0.709).  Those levels are small images, so the extra
# P-Net forwards cost little, unlike a finer pyramid everywhere (--factor 0.8,
# run_pyramid_factor_ablation.sh); docs/notebook "Finer large-face levels".
#
# The shipped det1/det2/det3, the contract evaluation with the shipped defaults
# otherwise, on wider_train (the nets' training set, where the choice is made) and on
# wider_eval (the test set).  Two evaluations at a time, one thread each: the AP
# figures do not depend on load, the times do (use the contract command alone).
# Outputs: mtcnn/Data/large_factor_<set>_<F>.out (last line: the JSON).
# SETS="train" runs wider_train only; LARGE_FACTORS="0.8 0.85" the steps (two at a time; 0.709,
# the value of --factor, is the reference pyramid);
# MIRROR=1 adds --mirror-stages rnet to every run (outputs large_factor_mirror_<set>_<F>.out).
# About 12 min on 2 cores (MIRROR=1 LARGE_FACTORS=0.9: 4 min).
ABLATION=large_factor
source "$(dirname "$0")/../common/ablation_common.sh"
read -r -a factors <<< "${LARGE_FACTORS:-0.709 0.75 0.8 0.85 0.9}"
extra=() tag=
if [ -n "${MIRROR:-}" ]; then extra=(--mirror-stages rnet) tag=mirror_; fi
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    for ((i = 0; i < ${#factors[@]}; i += 2)); do
        run ${tag}${set}_${factors[i]} "${D[@]}" --large-factor "${factors[i]}" "${extra[@]}" &
        if [ -n "${factors[i + 1]:-}" ]; then
            run ${tag}${set}_${factors[i + 1]} "${D[@]}" --large-factor "${factors[i + 1]}" "${extra[@]}"
        fi
        wait
    done
done
