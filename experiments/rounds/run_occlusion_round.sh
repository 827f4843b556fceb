#!/usr/bin/env bash
# Round 12: R-Net and O-Net fine-tuned from the shipped det2/det3 (round 3's) with occluders:
# a share $OCCLUSION (default 0.3) of each batch's face, part and negative crops gets a
# rectangle of another crop pasted in (mtcnn_nets.occlude), on round 3's data with its flags
# (--pos-iou 0.5 --box-weight 1.0).  Why: the nets lose wider_eval's medium faces by score,
# WIDER's faces in crowds are often partly hidden, and most training faces are whole; rounds
# 4 and 7-11 changed resolution, labels, regularisation and width, none the occlusion.
# Side by side, one thread each, $MINUTES (55) minutes; three model folders result:
#   mtcnn/Result/model_r12_rnet (new det2), model_r12_onet (new det3), model_r12 (both).
# NAME (r12), REF (f5b5b47: the nets to start from) and MINUTES set another round, e.g. round 13:
#   NAME=r13 REF=fe92b9c OCCLUSION=0.5 MINUTES=30 bash experiments/rounds/run_occlusion_round.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash experiments/common/finetune_two_nets.sh "${NAME:-r12}" --occlusion "${OCCLUSION:-0.3}"
