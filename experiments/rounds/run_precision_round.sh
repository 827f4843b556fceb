#!/usr/bin/env bash
# Round 20 (issue 35): the three nets fine-tuned from the det1-3 shipped at $REF with negatives from
# the face-free photos of ../shared/data/negatives (training part only: every 10th line of
# negatives.txt is held out for bench/false_boxes.py), grayscale crops balanced between faces and
# non-faces (--gray-share), and O-Net's points trained on the detector's own boxes
# (3_train_onet/mine_landmark_crops.py), then its landmark head refitted in closed form.
#
#   bash experiments/rounds/run_precision_round.sh                 # NAME=r20, all steps, one process at a time
#   STEPS="data48 onet" bash experiments/rounds/run_precision_round.sh      # some steps (order kept)
#
# Steps (each sampling / mining step skips an .npz that exists; delete it to remake it):
#   screen  sample_negatives.py --screen -> mtcnn/recipes/negatives_screened.txt (committed; photos dropped)
#   data48  random_48 (round 3's flags, no landmark crops: O-Net's points come from landmarks_48),
#           hard_48 (P-Net + R-Net candidates on wider_train + 300 CUHK photos), negatives_48
#           (random + R-Net candidates on the face-free photos), false_48 (the whole detector's false
#           boxes on wider_train, round 18), landmarks_48 (R-Net boxes around the CUHK / LFW training faces)
#   onet    train_onet.py from $START/det3, ONET_MINUTES at lr 1e-4 (last quarter 1e-5)
#   data24  random_24 (round 3's flags), hard_24 (P-Net candidates), negatives_24, false_24
#   rnet    train_rnet.py from $START/det2, RNET_MINUTES
#   data12  random_12, negatives_12 (random + P-Net candidates)
#   pnet    train_pnet.py from $START/det1, PNET_MINUTES
#   refit   refit_landmark_head.py on the new det1-3 -> mtcnn/Result/model_$NAME (a whole model folder)
# Batches: negatives : positives : parts (: landmarks) = 3 : 1 : 1 (: 2) as before; of the negatives,
# NEG_SHARE (0.3) come from the face-free photos and FALSE_SHARE (0.1) from the detector's false boxes
# on wider_train, half of the rest from the mined candidates (hard_*.npz); GRAY (0.25): at least that
# share of the face crops and of the non-face crops is grayscale, in equal shares.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
PY=${PY:-.venv/bin/python}
NAME=${NAME:-r20}
REF=${REF:-26c40c8}
STEPS=" ${STEPS:-screen data48 onet data24 rnet data12 pnet refit} "
ONET_MINUTES=${ONET_MINUTES:-35} RNET_MINUTES=${RNET_MINUTES:-25} PNET_MINUTES=${PNET_MINUTES:-12}
NEG_SHARE=${NEG_SHARE:-0.3} FALSE_SHARE=${FALSE_SHARE:-0.1} GRAY=${GRAY:-0.25}
D=mtcnn/Data R=mtcnn/Result
START=$R/start_$REF
mkdir -p $D $R
bash experiments/common/models_at.sh "$REF" $START
step() { [[ "$STEPS" == *" $1 "* ]]; }
build() { local out=$1; shift; [ -f "$out" ] || { echo "$(date -u +%T) $out"; "$@" > "${out%.npz}.out" 2>&1; }; }
FLAGS=(--lr 1e-4 --box-weight 1.0 --pos-iou 0.5 --occlusion 0.3 --blur-weight 3 --save-every 500
       --negatives-share "$NEG_SHARE" --gray-share "$GRAY")

step screen && [ ! -f mtcnn/recipes/negatives_screened.txt ] && \
    $PY mtcnn/0_sampling/sample_negatives.py --screen --model-dir $START > $D/screen_negatives.out 2>&1
if step data48; then
    build $D/random_48.npz $PY mtcnn/0_sampling/sample_random.py --size 48 --wider-every 1 --wider-neg 20 \
        --wider-jitter 12 --cuhk-limit 3000 --cuhk-pos 1 --cuhk-neg 1 --landmarks 0
    build $D/hard_48.npz $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 2 --wider-every 1 --cuhk-limit 300 \
        --model-dir $START
    build $D/negatives_48.npz $PY mtcnn/0_sampling/sample_negatives.py --size 48 --model-dir $START
    build $D/false_48.npz $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 3 --size 48 --wider-every 1 \
        --cuhk-limit 0 --model-dir $START
    build $D/landmarks_48.npz $PY mtcnn/3_train_onet/mine_landmark_crops.py --model-dir $START --max-minutes 8
fi
if step onet; then
    echo "$(date -u +%T) onet"
    $PY mtcnn/3_train_onet/train_onet.py --minutes "$ONET_MINUTES" --batch 128 --resume $START/det3.caffemodel \
        --data $D/random_48.npz $D/hard_48.npz $D/negatives_48.npz $D/false_48.npz $D/landmarks_48.npz \
        "${FLAGS[@]}" --false-neg-share "$FALSE_SHARE" --out $R/onet_$NAME > $D/train_onet_$NAME.out 2>&1
fi
if step data24; then
    build $D/random_24.npz $PY mtcnn/0_sampling/sample_random.py --size 24 --wider-neg 40 --wider-jitter 24 \
        --cuhk-limit 2500 --cuhk-pos 2 --cuhk-neg 3
    build $D/hard_24.npz $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 1 --wider-every 1 --cuhk-limit 300 \
        --model-dir $START
    build $D/negatives_24.npz $PY mtcnn/0_sampling/sample_negatives.py --size 24 --model-dir $START
    build $D/false_24.npz $PY mtcnn/2_train_rnet/mine_hard_examples.py --stages 3 --size 24 --wider-every 1 \
        --cuhk-limit 0 --model-dir $START
fi
if step rnet; then
    echo "$(date -u +%T) rnet"
    $PY mtcnn/2_train_rnet/train_rnet.py --minutes "$RNET_MINUTES" --resume $START/det2.caffemodel \
        --data $D/random_24.npz $D/hard_24.npz $D/negatives_24.npz $D/false_24.npz \
        "${FLAGS[@]}" --false-neg-share "$FALSE_SHARE" --out $R/rnet_$NAME > $D/train_rnet_$NAME.out 2>&1
fi
if step data12; then
    build $D/random_12.npz $PY mtcnn/0_sampling/sample_random.py --size 12 --wider-every 2
    build $D/negatives_12.npz $PY mtcnn/0_sampling/sample_negatives.py --size 12 --model-dir $START
fi
if step pnet; then
    echo "$(date -u +%T) pnet"
    $PY mtcnn/1_train_pnet/train_pnet.py --minutes "$PNET_MINUTES" --resume $START/det1.caffemodel \
        --data $D/random_12.npz $D/negatives_12.npz "${FLAGS[@]}" --out $R/pnet_$NAME > $D/train_pnet_$NAME.out 2>&1
fi
if step refit; then
    echo "$(date -u +%T) refit"
    M=$R/model_${NAME}_raw
    mkdir -p $M
    for n in 1 2 3; do cp $START/det$n.prototxt $START/det$n.caffemodel $M/; done
    [ -f $R/pnet_$NAME/pnet.caffemodel ] && cp $R/pnet_$NAME/pnet.caffemodel $M/det1.caffemodel
    [ -f $R/rnet_$NAME/rnet.caffemodel ] && cp $R/rnet_$NAME/rnet.caffemodel $M/det2.caffemodel
    [ -f $R/onet_$NAME/onet.caffemodel ] && cp $R/onet_$NAME/onet.caffemodel $M/det3.caffemodel
    $PY mtcnn/3_train_onet/refit_landmark_head.py --model-dir $M --out $R/model_$NAME > $D/refit_$NAME.out 2>&1
fi
echo "$(date -u +%T) round $NAME done: $R/model_$NAME"
