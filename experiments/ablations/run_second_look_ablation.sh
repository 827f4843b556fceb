#!/usr/bin/env bash
# What the second look changes (MTCNN.score_with_second_look; docs/notebook "Second look").
#
# The shipped det1/det2/det3, the contract evaluation with --rescore-rounds N
# --rescore-floor F, on wider_eval (the test set) and on wider_train (the nets'
# training set, to see whether a choice made on wider_eval holds elsewhere).
# Two evaluations at a time, one thread each: the AP figures do not depend on
# load, the times do (use the contract command alone for those).
# Outputs: mtcnn/Data/second_look_<set>_<variant>.out (last line: the JSON),
# PR curves and detections under mtcnn/Result/second_look/<set>_<variant>/.
# About 12 min on 2 cores.
ABLATION=second_look
source "$(dirname "$0")/../common/ablation_common.sh"
# the last step of the time the table was made (2026-11-23): O-Net's score, hard NMS
EVAL+=(--final-score onet --final-nms min "${REFERENCE_PYRAMID[@]}")
TRAIN+=(--final-score onet --final-nms min "${REFERENCE_PYRAMID[@]}")
run eval_r0 "${EVAL[@]}" --rescore-rounds 0 &
run eval_r1_f05 "${EVAL[@]}" --rescore-rounds 1 --rescore-floor 0.5; wait
run eval_r1_f03 "${EVAL[@]}" --rescore-rounds 1 --rescore-floor 0.3 &
run eval_r1_f01 "${EVAL[@]}" --rescore-rounds 1 --rescore-floor 0.1; wait
run eval_r2 "${EVAL[@]}" --rescore-rounds 2 &
run eval_r3 "${EVAL[@]}" --rescore-rounds 3; wait
run eval_r6 "${EVAL[@]}" --rescore-rounds 6 &
run train_r0 "${TRAIN[@]}" --rescore-rounds 0; wait
run train_r1_f01 "${TRAIN[@]}" --rescore-rounds 1 &
run train_r2 "${TRAIN[@]}" --rescore-rounds 2; wait
run train_r3 "${TRAIN[@]}" --rescore-rounds 3 &
run train_r6 "${TRAIN[@]}" --rescore-rounds 6; wait
