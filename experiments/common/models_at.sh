#!/usr/bin/env bash
# Write the det1/det2/det3 prototxts and caffemodels shipped at git commit REF into DIR,
# the starting point of the run_*.sh training rounds (needs the repository's history).
#   bash experiments/common/models_at.sh REF DIR      (DIR absolute or relative to the repository root)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash experiments/common/models_at.sh REF DIR" >&2; exit 2; }
cd "$(dirname "$0")/../.."
mkdir -p "$2"
for f in det1.prototxt det1.caffemodel det2.prototxt det2.caffemodel det3.prototxt det3.caffemodel; do
    git show "$1:mtcnn/model/$f" > "$2/$f.tmp"
    mv "$2/$f.tmp" "$2/$f"
done
