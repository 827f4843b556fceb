#!/usr/bin/env bash
# Round 7: R-Net and O-Net fine-tuned from the det2/det3 shipped at commit $REF (round 3's) with
# the face label taken from IoU $POS_IOU (default 0.4: every part crop, IoU 0.4-0.65, trains the
# face class) instead of round 3's 0.5, on round 3's data and with its box weight.  Round 3 moved
# the label from 0.65 to 0.5 and that was its largest gain (docs/notebook "Round 3"); the faces
# O-Net still drops come with R-Net boxes at IoU 0.52-0.75 (median 0.62) and are rejected by
# score (diagnose_stages.py on wider_eval, docs/notebook "Second look").
# The two nets train side by side, one thread each, for $MINUTES minutes (lr 1e-3, then 1e-4 for
# the last quarter); then three model folders combine them with the shipped nets:
#   mtcnn/Result/model_r7_rnet (new det2), model_r7_onet (new det3), model_r7 (both).
# The data (round 3's) and the rest: experiments/common/finetune_two_nets.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash experiments/common/finetune_two_nets.sh r7 --pos-iou "${POS_IOU:-0.4}"
