#!/usr/bin/env bash
# A fine-tuning round's measurement (finetune_two_nets.sh NAME, or a run_*_round.sh, first):
# the contract evaluation with the shipped defaults, on wider_train (the nets' training set,
# where a choice is made) and on wider_eval (the test set), for the shipped nets and the
# round's model folders: new det2 alone (NAME_rnet), new det3 alone (NAME_onet) and both
# (NAME), each beside the det1 they were combined with.  Two evaluations at a time, one
# thread each: the AP figures do not depend on load, the times do (time with the contract
# command alone, alternating).
#   bash experiments/ablations/run_round_ablation.sh NAME       e.g.  r12, slim
# Outputs: mtcnn/Data/NAME_<set>_<model>.out (last line: the JSON).  About 15 min on 2 cores.
[ $# -eq 1 ] || { echo "usage: bash experiments/ablations/run_round_ablation.sh NAME" >&2; exit 2; }
NAME=$1
ABLATION=$NAME
source "$(dirname "$0")/../common/ablation_common.sh"
for m in "" _rnet _onet; do
    [ -f "mtcnn/Result/model_$NAME$m/det3.caffemodel" ] || { echo "mtcnn/Result/model_$NAME$m: no models" >&2; exit 1; }
done
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_shipped "${D[@]}" --model-dir mtcnn/model &
    run ${set}_$NAME "${D[@]}" --model-dir mtcnn/Result/model_$NAME
    wait
    run ${set}_${NAME}_rnet "${D[@]}" --model-dir mtcnn/Result/model_${NAME}_rnet &
    run ${set}_${NAME}_onet "${D[@]}" --model-dir mtcnn/Result/model_${NAME}_onet
    wait
done
