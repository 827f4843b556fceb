#!/usr/bin/env bash
# The landmark accuracy figures of docs/RESULTS.md: level 1 alone and the cascade on
# cuhk_facepoint/test_net7876.txt (never trained on), shipped models, pycaffe,
# both level-1 regions, plain and with the test-time options (--flip-test,
# --l2-passes 2). Prints one JSON line per run (the evaluate command's contract).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
data=${FACECASCADE_DATA:-../shared/data}
run() {
  local name=$1; shift
  echo "# $name"
  .venv/bin/python 2_level_2/Code/2_evaluate/evaluate.py --list "$data/cuhk_facepoint/test_net7876.txt" \
      --format cuhk --out "2_level_2/Result/evaluate_$name" "$@" | tail -3
}
run box --region box
run whole --region whole
run box_flip --region box --flip-test
run whole_flip --region whole --flip-test
run box_passes2 --region box --l2-passes 2
run whole_passes2 --region whole --l2-passes 2
