#!/usr/bin/env bash
# Round 12's run by its logged iteration counts, with FLAGS added (round 17, the shipped det2/det3: --blur-weight 3):
# R-Net 23,308 steps at lr 1e-3 then 7,631 at 1e-4, O-Net 7,323 then 2,438, from the
# det2/det3 of f5b5b47, --occlusion 0.3 (finetune_two_nets.sh NAME, round 3's data and flags).
#   bash experiments/reproduce/rerun_round12.sh NAME [FLAGS...]     e.g.  r12s2 --seed 2;  r12swa --keep-snapshots
# With no FLAGS: round 12's weights to the bit on the same kind of CPU (reproduce_round.sh 12).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: bash experiments/reproduce/rerun_round12.sh NAME [train_rnet/train_onet flags...]" >&2; exit 2; }
cd "$(dirname "$0")/../.."
NAME=$1
shift
REF=f5b5b47 RNET_PHASES="23308 7631" ONET_PHASES="7323 2438" \
    bash experiments/common/finetune_two_nets.sh "$NAME" --occlusion 0.3 "$@"
