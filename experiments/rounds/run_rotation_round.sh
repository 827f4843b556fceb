#!/usr/bin/env bash
# Round 14: round 12 (occluders, share 0.3, from round 3's det2/det3) with a share $ROTATION
# (default 0.5) of each batch also turned by up to +-20 degrees about the crop centre, targets
# turned with it (mtcnn_nets.rotate).  Why: WIDER's faces in crowds and candid photos are often
# tilted, while most training faces (CUHK, LFW, posed WIDER faces) are upright; round 12 is the
# same run without the turns, so the two compare directly (one run each: round 12 with
# another seed moved wider_eval's AP by 0.9, docs/notebook).
# Side by side, one thread each, $MINUTES (55) minutes; three model folders result:
#   mtcnn/Result/model_r14_rnet (new det2), model_r14_onet (new det3), model_r14 (both).
# Then: bash experiments/ablations/run_round_ablation.sh r14
set -euo pipefail
cd "$(dirname "$0")/../.."
export REF=${REF:-f5b5b47}
exec bash experiments/common/finetune_two_nets.sh "${NAME:-r14}" --occlusion "${OCCLUSION:-0.3}" --rotation "${ROTATION:-0.5}"
