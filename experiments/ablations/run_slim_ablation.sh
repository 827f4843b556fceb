#!/usr/bin/env bash
# Round 11's measurement (experiments/rounds/run_slim_round.sh first): the shipped nets and the half-width
# nets of round 11 (slim_rnet, slim_onet, both: slim) on both WIDER sets, as
# run_round_ablation.sh does for any round.
# Outputs: mtcnn/Data/slim_<set>_<model>.out (last line: the JSON).  About 15 min on 2 cores.
exec bash "$(dirname "$0")/run_round_ablation.sh" slim
