#!/usr/bin/env bash
# What hard-example mining changes (the MTCNN paper's method; issue #4 asks to measure it).
#
# Two R-Nets with the same recipe (seed 0, batch 256, 10,272 iterations, lr 1e-3 then 1e-4
# from iteration 7,684, face label IoU >= 0.65, box weight 0.5) that differ only in data:
#   mined : random_24.npz + hard_24.npz (P-Net candidates on wider_train) -- the det2 shipped
#           at commit ee0560a, trained by run_rnet_stage.sh (time-based run of the same length)
#   nomine: random_24.npz only                                    -- trained here
# Each is put between the same P-Net (det1) and O-Net (det3 of ee0560a) and measured by
#   - recall of wider_train faces >= 20 px at IoU 0.5 after P + R, and candidates per image
#     (mine_hard_examples.py --stages 2 prints both), and
#   - wider_eval AP after P + R (--stages 2) and after all three stages, with time per image.
# Outputs: mtcnn/Result/ablation/{mined,nomine}/ (mine_recall.log, eval_s2.out, eval_s3.out).
# About 30 min of training + 20 min of measuring, single thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
REF=${REF:-ee0560a}   # the commit whose det1/det2/det3 are the "mined" pipeline
GT=${FACECASCADE_DATA:-../shared/data}/wider_eval/wider_face_val_bbx_gt_subset.txt
IM=${FACECASCADE_DATA:-../shared/data}/wider_eval/images
OUT=mtcnn/Result/ablation
mkdir -p $OUT/mined $OUT/nomine
bash experiments/common/models_at.sh "$REF" $OUT/mined
if [ ! -f mtcnn/Result/rnet_nomine/rnet.caffemodel ]; then
    $PY mtcnn/2_train_rnet/train_rnet.py --data mtcnn/Data/random_24.npz --iters 10272 --lr-steps 7684 \
        --out mtcnn/Result/rnet_nomine > mtcnn/Data/train_rnet_nomine.out 2>&1
fi
cp $OUT/mined/det1.* $OUT/mined/det3.* $OUT/mined/det2.prototxt $OUT/nomine/
cp mtcnn/Result/rnet_nomine/rnet.caffemodel $OUT/nomine/det2.caffemodel
for v in mined nomine; do
    $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --wider-every 1 --cuhk-limit 0 \
        --model-dir $OUT/$v --out $OUT/$v/mined_48.npz > $OUT/$v/mine_recall.log 2>&1
    for st in 2 3; do
        $PY mtcnn/evaluate.py --gt "$GT" --images "$IM" --model-dir $OUT/$v --stages $st \
            --out $OUT/$v/eval_s$st > $OUT/$v/eval_s$st.out 2>&1
    done
    echo "== $v: $(tail -n 1 $OUT/$v/mine_recall.log | sed 's/.*wider_train: //')"
    for st in 2 3; do echo "   stages $st: $(tail -n 1 $OUT/$v/eval_s$st.out | cut -c1-200)"; done
done
