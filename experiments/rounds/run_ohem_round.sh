#!/usr/bin/env bash
# Round 10: R-Net and O-Net fine-tuned from the shipped det2/det3 (round 3's) with the MTCNN
# paper's online hard sample mining (--ohem $OHEM, default 0.7: only the 70 % of each batch's
# face/non-face samples with the highest loss train the face score), on round 3's data with
# its flags (--pos-iou 0.5 --box-weight 1.0).  Why: the paper reports that it helps, our nets
# had not used it, and the faces they lose on wider_eval are dropped by score.
# Side by side, one thread each, $MINUTES (50) minutes; three model folders result:
#   mtcnn/Result/model_r10_rnet (new det2), model_r10_onet (new det3), model_r10 (both).
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${MINUTES:-50} exec bash experiments/common/finetune_two_nets.sh r10 --ohem "${OHEM:-0.7}"
