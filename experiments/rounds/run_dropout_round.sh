#!/usr/bin/env bash
# Round 8: R-Net and O-Net fine-tuned from the shipped det2/det3 (round 3's) with Dropout
# $DROPOUT (default 0.25, the reference det3's ratio) on the fully connected features before the
# heads, in the training nets only, on round 3's data with its flags (--pos-iou 0.5
# --box-weight 1.0).  Why: the shipped nets score the faces of their 720 training images far
# better than wider_eval's (AP large 89.2 against 78.2, docs/notebook "Second look"), and the
# faces they lose on wider_eval are dropped by score; the reference det3 has a Dropout there,
# ours had none.  The deploy nets are unchanged (Dropout is the identity at test time).
# Side by side, one thread each, $MINUTES (55) minutes; three model folders result:
#   mtcnn/Result/model_r8_rnet (new det2), model_r8_onet (new det3), model_r8 (both).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash experiments/common/finetune_two_nets.sh r8 --dropout "${DROPOUT:-0.25}"
