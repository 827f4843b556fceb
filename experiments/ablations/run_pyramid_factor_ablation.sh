#!/usr/bin/env bash
# What a finer image pyramid changes (--factor; the reference's: 0.709), the same
# step throughout (--large-factor set to it): more levels, so a face lands closer to
# the 12 px P-Net was trained on, for more P-Net forwards and candidates;
# docs/notebook "Mirror scoring and a finer pyramid".
#
# The shipped det1/det2/det3, the contract evaluation with the shipped defaults
# otherwise, on wider_train (the nets' training set, where the choice is made) and on
# wider_eval (the test set).  Two evaluations at a time, one thread each: the AP
# figures do not depend on load, the times do (use the contract command alone).
# Outputs: mtcnn/Data/factor_<set>_<factor>.out (last line: the JSON).
# SETS="train" runs wider_train only; FACTORS="0.75 0.8" the factors (two at a time).
# About 5 min on 2 cores.
ABLATION=factor
source "$(dirname "$0")/../common/ablation_common.sh"
read -r -a factors <<< "${FACTORS:-0.75 0.8}"
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    for ((i = 0; i < ${#factors[@]}; i += 2)); do
        run ${set}_${factors[i]} "${D[@]}" --factor "${factors[i]}" --large-factor "${factors[i]}" &
        if [ -n "${factors[i + 1]:-}" ]; then
            run ${set}_${factors[i + 1]} "${D[@]}" --factor "${factors[i + 1]}" --large-factor "${factors[i + 1]}"
        fi
        wait
    done
done
