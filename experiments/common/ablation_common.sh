# Sourced by the run_*_ablation.sh scripts, after they set ABLATION (the name of
# their outputs): the two WIDER sets as evaluate.py arguments (EVAL: wider_eval,
# the test set; TRAIN: wider_train, the nets' training set) and
#   run NAME ARGS...   evaluate.py ARGS into mtcnn/Result/$ABLATION/NAME/, its
#                      output into mtcnn/Data/${ABLATION}_NAME.out (last line: the JSON)
# One thread per evaluation: the AP figures do not depend on load, the times do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
DATA=${FACECASCADE_DATA:-../shared/data}
EVAL=(--gt "$DATA/wider_eval/wider_face_val_bbx_gt_subset.txt" --images "$DATA/wider_eval/images")
TRAIN=(--gt "$DATA/wider_train/wider_train_bbx_gt.txt" --images "$DATA/wider_train/images")
# The reference pyramid (one step, --factor, throughout): the default until the finer
# large-face levels (2026-12-04 16:41 UTC, docs/notebook); the ablations made before them
# pass it, so that they remake their documented figures.
REFERENCE_PYRAMID=(--large-factor 0.709)
mkdir -p mtcnn/Data "mtcnn/Result/$ABLATION"
# EXTRA_FLAGS: more evaluate.py flags for every run, e.g. "--nested-cover 0" to remake the
# figures of the ablations made before the nested-box rule (2026-12-05, docs/notebook).
run() {
    local name=$1; shift
    # shellcheck disable=SC2086
    $PY mtcnn/evaluate.py "$@" ${EXTRA_FLAGS:-} --out "mtcnn/Result/$ABLATION/$name" > "mtcnn/Data/${ABLATION}_$name.out" 2>&1
    echo "$name: $(tail -1 "mtcnn/Data/${ABLATION}_$name.out" | cut -c1-120)"
}
