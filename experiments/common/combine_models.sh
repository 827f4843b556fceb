#!/usr/bin/env bash
# The three model folders a training round that fine-tunes R-Net and O-Net side by side is
# measured with: each new net alone next to the starting ones, and both together.
#   bash experiments/common/combine_models.sh START RNET_OUT ONET_OUT NAME
# START holds det1-3 (experiments/common/models_at.sh); RNET_OUT / ONET_OUT are train_rnet.py / train_onet.py
# --out folders; writes mtcnn/Result/NAME (both new), NAME_rnet (new det2), NAME_onet (new det3).
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: bash experiments/common/combine_models.sh START RNET_OUT ONET_OUT NAME" >&2; exit 2; }
cd "$(dirname "$0")/../.."
START=$1 RNET_OUT=$2 ONET_OUT=$3 NAME=$4
for d in $NAME ${NAME}_rnet ${NAME}_onet; do
  mkdir -p mtcnn/Result/$d
  cp "$START"/det* mtcnn/Result/$d/
done
for d in $NAME ${NAME}_rnet; do
  cp "$RNET_OUT"/rnet_deploy.prototxt mtcnn/Result/$d/det2.prototxt
  cp "$RNET_OUT"/rnet.caffemodel mtcnn/Result/$d/det2.caffemodel
done
for d in $NAME ${NAME}_onet; do
  cp "$ONET_OUT"/onet_deploy.prototxt mtcnn/Result/$d/det3.prototxt
  cp "$ONET_OUT"/onet.caffemodel mtcnn/Result/$d/det3.caffemodel
done
echo "models in mtcnn/Result/$NAME{,_rnet,_onet}"
