"""Negatives from the face-free photos of ../shared/data/negatives (training part only).

  python mtcnn/0_sampling/sample_negatives.py --screen            # -> mtcnn/recipes/negatives_screened.txt
  python mtcnn/0_sampling/sample_negatives.py --size 48           # -> mtcnn/Data/negatives_48.npz
  python mtcnn/0_sampling/sample_negatives.py --size 24           # -> mtcnn/Data/negatives_24.npz
  python mtcnn/0_sampling/sample_negatives.py --size 12           # -> mtcnn/Data/negatives_12.npz

The held-out tenth (every 10th line of negatives.txt, facecascade.negatives) is
never read here.  --screen runs the detector (--model-dir, its defaults) on the
training part and lists the photos where it scores a box >= --cut (they may hold
faces: a drawn face, a grid of face photos); sampling skips the listed photos.
Each kept photo gives --random random squares and up to --max-hard crops of the
candidates the stage before the net keeps on it (P-Net's for 12 and 24 px,
R-Net's for 48 px; --stages overrides), cropped as the detector crops them; all
are negatives.  train_*.py --negatives-share draws that share of each batch's
negatives from negatives_*.npz.  The last line printed is one JSON object.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade import negatives as neg
from facecascade.mtcnn import MTCNN
from facecascade.paths import REPO_ROOT
from facecascade.skips import Skips, add_strict_argument


def screen(args, photos, skipped):
    det = MTCNN(args.model_dir, min_face=args.min_face)
    dropped = []
    for p in tqdm(photos, desc="screen negatives", file=sys.stderr):
        img = skipped.read(p.image, where=p.where)
        if img is None:
            continue
        scores = det.detect(img).scores
        if len(scores) and scores.max() >= args.cut:
            dropped.append((p, float(scores.max())))
    neg.write_screened(args.screened, dropped, args.cut, args.model_dir)
    return {"screened_list": str(args.screened), "photos": len(photos), "dropped": len(dropped),
            "dropped_names": [p.name for p, _ in sorted(dropped, key=lambda t: -t[1])], "cut": args.cut}


def sample(args, photos, skipped):
    out = args.out or REPO_ROOT / "mtcnn" / "Data" / f"negatives_{args.size}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    stages = args.stages or neg.MINING_STAGES[args.size]
    det = MTCNN(args.model_dir, min_face=args.min_face, stages=stages) if args.max_hard else None
    rng = np.random.default_rng(args.seed)
    randoms, hards, t0, used = [], [], time.time(), 0
    for i in tqdm(rng.permutation(len(photos)), desc=f"negatives {args.size} px", file=sys.stderr):
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes:
            break
        p = photos[i]
        used += 1
        img = skipped.read(p.image, where=p.where)
        if img is None:
            continue
        r, h = neg.negative_crops(det, img, args.size, args.random, args.max_hard, rng, stages)
        randoms.append(r)
        hards.append(h)
    crops = np.concatenate(randoms + hards)
    neg.negative_set(crops, args.size).save(out)
    n_hard = sum(len(h) for h in hards)
    return {"out": str(out), "size": args.size, "photos_used": used, "random": len(crops) - n_hard,
            "hard": n_hard, "hard_stages": stages, "hard_per_photo": round(n_hard / max(used, 1), 2)}


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--screen", action="store_true", help="screen the training part and write --screened")
    ap.add_argument("--size", type=int, choices=(12, 24, 48), help="crop size to sample")
    ap.add_argument("--list", type=Path, default=neg.NEGATIVES_LIST)
    ap.add_argument("--screened", type=Path, default=neg.SCREENED_LIST)
    ap.add_argument("--cut", type=float, default=neg.SCREEN_CUT, help="screening: drop photos with a box >= this")
    ap.add_argument("--model-dir", type=Path, default=REPO_ROOT / "mtcnn" / "model")
    ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--random", type=int, default=8, help="random squares per photo (default %(default)s)")
    ap.add_argument("--max-hard", type=int, default=40,
                    help="detector candidates kept per photo, best-scored first (0: random crops only)")
    ap.add_argument("--stages", type=int, choices=(1, 2, 3), default=None,
                    help="candidates of these stages (default: 1 for 12 / 24 px, 2 for 48 px)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop after this much time (random photo order)")
    ap.add_argument("--out", type=Path, default=None, help="default mtcnn/Data/negatives_<size>.npz")
    ap.add_argument("--seed", type=int, default=0)
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    if args.screen == (args.size is not None):
        ap.error("give either --screen or --size")
    skipped = Skips(strict=args.strict)
    photos = neg.read_negatives(args.list, skips=skipped)
    if args.screen:
        summary = screen(args, neg.training_photos(photos), skipped)
    else:
        train = neg.training_photos(photos, neg.read_screened(args.screened))
        neg.check_training(train)
        summary = sample(args, train, skipped)
    summary["skipped"] = skipped.counts()
    print(json.dumps(summary))

