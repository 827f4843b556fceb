"""Hard examples for the next stage (the MTCNN paper's method): run the trained
previous stage(s) on the training images and label every candidate it keeps
by its IoU with the ground truth (negative < 0.3, part 0.4-0.65, positive
>= 0.65).  The crops are taken exactly as the detector takes them
(MTCNN.crop_candidates).

  --stages 1 --size 24: P-Net candidates -> R-Net data (mtcnn/Data/hard_24.npz)
  --stages 1 --size 12: P-Net candidates -> P-Net's own hard examples, for a
                        P-Net fine-tune that passes fewer non-faces (hard_12.npz)
  --stages 2 --size 48: P-Net + R-Net candidates -> O-Net data (hard_48.npz)
  --stages 3 --size 24|48: the whole detector's false boxes (its output, with its
                        defaults, scored >= --false-floor, IoU < 0.3 with every
                        face) -> negatives for R-Net / O-Net (false_24.npz,
                        false_48.npz; train_*.py --false-neg-share); wider_train
                        by default.  CUHK labels one face per photo, so the other
                        faces the detector finds there would be taught as
                        non-faces: CUHK photos (--cuhk-limit) are mined only with
                        --false-ceiling, which keeps the false boxes scored below
                        it (unlabelled faces mostly score higher than clutter)

Images: wider_train (all faces, box targets) and cuhk_facepoint train
(classification only: one annotated face per image, CUHK's tighter box).
wider_eval is never read.  Prints candidate counts per class and the recall of
the stage on wider_train faces >= min face (what the next stage can still find).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

from facecascade.caffe_loader import add_device_arguments, import_caffe
from facecascade.mtcnn import MTCNN
from facecascade.mtcnn import sampling as ms
from facecascade.mtcnn.mining import MiningTally, mine_cuhk, mine_wider
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_cuhk
from facecascade.skips import Skips, add_strict_argument
from facecascade.wider import read_wider


def mining_arguments(doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", type=int, choices=(1, 2, 3), required=True)
    ap.add_argument("--size", type=int, choices=(12, 24, 48), default=None,
                    help="crop size (default 24 after P-Net, 48 after R-Net and after O-Net)")
    ap.add_argument("--false-floor", type=float, default=0.1,
                    help="--stages 3: lowest final score of a false box that is kept (default %(default)s)")
    ap.add_argument("--false-ceiling", type=float, default=None,
                    help="--stages 3: keep only the false boxes scored below this (default: all); "
                         "needed to mine CUHK photos at --stages 3")
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "mtcnn" / "model")
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--max-neg", type=int, default=60, help="negatives kept per WIDER image")
    ap.add_argument("--wider-every", type=int, default=3,
                    help="use every N-th wider_train image (3: 240 images over all 61 events; the shared "
                         "CPU made the full set too slow here; 0: none)")
    ap.add_argument("--cuhk-limit", type=int, default=None,
                    help="CUHK training photos to mine (default 3000; --stages 3: none, more only with "
                         "--false-ceiling)")
    ap.add_argument("--cuhk-max-neg", type=int, default=6)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="stop after this wall-clock time (WIDER images for 80%% of it, then CUHK) and keep "
                         "what was mined; images are visited in a seeded random order so a cut is a random subset")
    ap.add_argument("--seed", type=int, default=0)
    add_device_arguments(ap)
    add_strict_argument(ap)
    return ap


def check_arguments(ap, args):
    size = args.size or {1: 24, 2: 48, 3: 48}[args.stages]
    if size == 12 and args.stages != 1:
        ap.error("--size 12 (P-Net's own hard examples) needs --stages 1")
    if args.stages == 3 and args.cuhk_limit and args.false_ceiling is None:
        ap.error("--stages 3 on CUHK photos needs --false-ceiling (they hold faces their list does not "
                 "label, which would be taught as non-faces; below a ceiling such as 0.9 few of them remain)")
    if args.false_ceiling is not None and args.stages != 3:
        ap.error("--false-ceiling applies to --stages 3 only")
    if args.wider_every < 0:
        ap.error("--wider-every must be >= 0")
    if args.cuhk_limit is None:
        args.cuhk_limit = 0 if args.stages == 3 else 3000
    return size


def main(argv=None, doc=None):
    ap = mining_arguments(doc)
    args = ap.parse_args(argv)
    size = check_arguments(ap, args)
    out = args.out or REPO_ROOT / "mtcnn" / "Data" / f"{'false' if args.stages == 3 else 'hard'}_{size}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    caffe = import_caffe(args.gpu)
    if args.stages == 3:
        # the detector as shipped: its false boxes are what a user sees
        det = MTCNN(args.model_dir, min_face=args.min_face, caffe=caffe, min_score=args.false_floor)
    else:
        # no second look and the reference pyramid: the shipped det2/det3 were trained on data mined so
        det = MTCNN(args.model_dir, min_face=args.min_face, caffe=caffe, stages=args.stages, rescore_rounds=0,
                    large_factor=None)
    rng = np.random.default_rng(args.seed)
    skipped, tally = Skips(strict=args.strict), MiningTally()
    t_start = time.time()
    budget = 60 * args.max_minutes if args.max_minutes else float("inf")
    wider_dir = args.data / "wider_train"
    wider = read_wider(wider_dir / "wider_train_bbx_gt.txt")[::args.wider_every] if args.wider_every else []
    wider = [wider[i] for i in rng.permutation(len(wider))]
    parts = mine_wider(det, wider, wider_dir, args, size, rng, skipped, tally, t_start + 0.8 * budget)
    cuhk = read_cuhk(args.data / "cuhk_facepoint" / "train_net7876.txt", skips=skipped)
    parts += mine_cuhk(det, cuhk, args, size, rng, skipped, tally, t_start + budget)
    if not parts:
        sys.exit(f"error: nothing mined (wider_train images {tally.n_wider}, CUHK photos {tally.n_cuhk}): "
                 f"{out} not written")
    samples = ms.SampleSet.concat(parts)
    samples.save(out)
    recall = tally.n_found / max(tally.n_faces, 1)
    wider_line = (f"; wider_train: {tally.n_cand / tally.n_wider:.1f} candidates/image, recall of faces >= "
                  f"{args.min_face:g} px at IoU 0.5: {100 * recall:.1f}% ({tally.n_found}/{tally.n_faces})"
                  ) if tally.n_wider else ""
    print(f"{out}: {len(samples)} samples {samples.counts()}; {skipped.summary()}; "
          f"images mined: wider_train {tally.n_wider}, cuhk {tally.n_cuhk}{wider_line}")
