#!/usr/bin/env bash
# Weight averaging along round 12's own run (stochastic weight averaging, no new training
# recipe): round 12 rerun by its logged iteration counts, as reproduce_round.sh 12 does (the
# same weights to the bit on the same kind of CPU), keeping a snapshot every 1000 steps
# (--keep-snapshots), then R-Net's and O-Net's snapshots averaged over three stretches of
# the run, fixed before any was measured:
#   p1:   the second half of phase 1 (lr 1e-3): R-Net 12000-23000, O-Net 4000-7000
#   p2:   phase 2 (lr 1e-4):                    R-Net 24000-30000, O-Net 8000-9000
#   late: both:                                 R-Net 12000-30000, O-Net 4000-9000
# and each pair measured by the contract evaluation on wider_train (where the choice is
# made) and wider_eval, beside the run's own final nets (round 12's, before the landmark
# head refit, which changes no score or box).
#   bash experiments/rounds/run_swa_round.sh        (about 63 min of training on 2 cores, then ~8 min)
# Outputs: mtcnn/Result/model_r12swa_<stretch> (det1-3), mtcnn/Data/swa_<set>_<model>.out.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
NAME=r12swa
R=mtcnn/Result
if [ ! -f $R/onet_$NAME/snapshots/onet_iter_9761.caffemodel ] || [ ! -f $R/rnet_$NAME/snapshots/rnet_iter_30939.caffemodel ]; then
    bash experiments/reproduce/rerun_round12.sh $NAME --keep-snapshots
fi
for stretch in "p1 12000 23000 4000 7000" "p2 24000 30000 8000 9000" "late 12000 30000 4000 9000"; do
    read -r s r0 r1 o0 o1 <<< "$stretch"
    $PY experiments/tools/average_snapshots.py $R/rnet_$NAME --from-iter $r0 --to-iter $r1 --out $R/rnet_${NAME}_$s
    $PY experiments/tools/average_snapshots.py $R/onet_$NAME --from-iter $o0 --to-iter $o1 --out $R/onet_${NAME}_$s
    bash experiments/common/combine_models.sh $R/start_f5b5b47 $R/rnet_${NAME}_$s $R/onet_${NAME}_$s model_${NAME}_$s
done
ABLATION=swa
source experiments/common/ablation_common.sh
for set in ${SETS:-train eval}; do
    if [ $set = train ]; then D=("${TRAIN[@]}"); else D=("${EVAL[@]}"); fi
    run ${set}_final "${D[@]}" --model-dir $R/model_$NAME &
    run ${set}_p1 "${D[@]}" --model-dir $R/model_${NAME}_p1
    wait
    run ${set}_p2 "${D[@]}" --model-dir $R/model_${NAME}_p2 &
    run ${set}_late "${D[@]}" --model-dir $R/model_${NAME}_late
    wait
done
