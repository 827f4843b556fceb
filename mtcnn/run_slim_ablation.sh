#!/usr/bin/env bash
# Round 11's measurement (mtcnn/run_slim_round.sh first): the contract evaluation with the
# shipped defaults, on wider_train (the nets' training set, where a choice is made) and on
# wider_eval (the test set), for the shipped nets and for the half-width nets of round 11:
# det2 alone (slim_rnet), det3 alone (slim_onet) and both (slim), each beside the shipped
# det1.  Two evaluations at a time, one thread each: the AP figures do not depend on load,
# the times do (time with the contract command alone, alternating).
# Outputs: mtcnn/Data/slim_<set>_<model>.out (last line: the JSON).  About 15 min on 2 cores.
ABLATION=slim
source "$(dirname "$0")/ablation_common.sh"
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_shipped "${D[@]}" --model-dir mtcnn/model &
    run ${set}_slim "${D[@]}" --model-dir mtcnn/Result/model_slim
    wait
    run ${set}_slim_rnet "${D[@]}" --model-dir mtcnn/Result/model_slim_rnet &
    run ${set}_slim_onet "${D[@]}" --model-dir mtcnn/Result/model_slim_onet
    wait
done
