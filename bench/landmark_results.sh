#!/usr/bin/env bash
# The README's landmark accuracy figures: level 1 alone and the cascade on
# cuhk_facepoint/test_net7876.txt (never trained on), shipped models, pycaffe,
# both level-1 regions. Prints one JSON line per run (the evaluate command's contract).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${FACECASCADE_DATA:-../shared/data}
for region in box whole; do
  echo "# region $region"
  .venv/bin/python 2_level_2/Code/2_evaluate/evaluate.py --list "$data/cuhk_facepoint/test_net7876.txt" \
      --format cuhk --region "$region" --out "2_level_2/Result/evaluate_$region" | tail -3
done
