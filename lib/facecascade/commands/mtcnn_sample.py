"""Step 0: random training crops (12, 24 or 48 px) from the shared data.

  - wider_train: random negatives, negatives beside each face, jittered
    positive/part crops (box regression targets: WIDER's box convention);
  - cuhk_facepoint train: landmark crops (48 only), classification-only
    positives (CUHK boxes are tighter than WIDER's), negatives;
  - lfw5590_80x80 (48 only): landmark crops around a box fitted to the points;
  - CelebA as downloaded (--celeba-landmarks ...; train partition only when
    --celeba-partition is given): landmark crops (48 only) and classification-
    only positives around the box fitted to the 5 points in the CUHK
    convention (CelebA's own boxes are looser, taller than wide, and follow
    neither WIDER's nor CUHK's convention), negatives that overlap neither that
    box nor CelebA's box from list_bbox_celeba.txt (the whole head) by IoU 0.3.
wider_eval is never read here.  Output: mtcnn/Data/random_<size>.npz.
"""
import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.mtcnn import sampling as ms
from facecascade.paths import REPO_ROOT, SHARED_DATA
from facecascade.records import read_celeba, read_cuhk, read_mtfl
from facecascade.skips import Skips, add_strict_argument
from facecascade.wider import read_wider

SOURCES = ("wider", "cuhk", "celeba", "lfw")


def sample_arguments(doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, choices=(12, 24, 48), required=True)
    ap.add_argument("--sources", nargs="+", choices=SOURCES, default=None,
                    help="default: wider cuhk lfw from --data, and celeba when --celeba-landmarks is given")
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    ap.add_argument("--out", type=Path, default=None, help="default mtcnn/Data/random_<size>.npz")
    ap.add_argument("--wider-neg", type=int, default=40, help="random negatives per WIDER image")
    ap.add_argument("--wider-jitter", type=int, default=16, help="jittered crops per WIDER face")
    ap.add_argument("--cuhk-limit", type=int, default=None, help="use only the first N CUHK faces")
    ap.add_argument("--cuhk-pos", type=int, default=1)
    ap.add_argument("--cuhk-neg", type=int, default=3)
    ap.add_argument("--landmarks", type=int, default=None, help="landmark crops per face (default 2 at 48, else 0)")
    ap.add_argument("--wider-every", type=int, default=1, help="use every N-th wider_train image")
    ap.add_argument("--lfw-limit", type=int, default=None)
    ap.add_argument("--celeba-landmarks", type=Path, default=None,
                    help="CelebA's list_landmarks_celeba.txt: also sample CelebA faces")
    ap.add_argument("--celeba-images", type=Path, default=None, help="img_celeba/ (default: beside the list)")
    ap.add_argument("--celeba-bbox", type=Path, default=None,
                    help="list_bbox_celeba.txt: negatives also keep off these boxes")
    ap.add_argument("--celeba-partition", type=Path, default=None,
                    help="list_eval_partition.txt: sample the train partition (0) only")
    ap.add_argument("--celeba-limit", type=int, default=None, help="use only the first N CelebA faces")
    ap.add_argument("--celeba-pos", type=int, default=1)
    ap.add_argument("--celeba-neg", type=int, default=2)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="wall-clock cap: WIDER for 50%%, CUHK (then CelebA) up to 80%%, LFW up to 100%% of it "
                         "(images in seeded random order, so a cut keeps a random subset)")
    ap.add_argument("--seed", type=int, default=0)
    add_strict_argument(ap)
    return ap


def sample_sources(builder, args, sources, rng, n_lm, min_face, skipped):
    """Every chosen source's crops into builder -> images used per source."""
    t_start = time.time()
    budget = 60 * args.max_minutes if args.max_minutes else float("inf")
    used = {"wider": 0, "cuhk": 0, "celeba": 0, "lfw": 0}

    def images(items, source, desc, share):
        """(item, image) for `items` = [(item, image path, 'file:line')], read in order
        until `share` of the time budget is spent; unreadable images are skipped and counted."""
        for item, path, where in tqdm(items, desc=desc):
            if time.time() - t_start > share * budget:
                break
            used[source] += 1
            img = skipped.read(path, where)
            if img is not None:
                yield item, img

    if "wider" in sources:
        wider_dir = args.data / "wider_train"
        wider = read_wider(wider_dir / "wider_train_bbx_gt.txt")[::args.wider_every]
        wider = [(r, wider_dir / "images" / r.name, f"wider_train_bbx_gt.txt:{r.line}")
                 for r in (wider[i] for i in rng.permutation(len(wider)))]
        for rec, img in images(wider, "wider", "wider_train", 0.5):
            ms.sample_wider_image(builder, img, rec.boxes, rng, n_neg=args.wider_neg,
                                  n_jitter=args.wider_jitter, min_face=min_face, blur_of_faces=rec.attribute("blur"))
    if "cuhk" in sources:
        cuhk = read_cuhk(args.data / "cuhk_facepoint" / "train_net7876.txt", skips=skipped)[:args.cuhk_limit]
        for rec, img in images([(r, r.image, r.where) for r in cuhk], "cuhk", "cuhk train", 0.8):
            ms.sample_landmark_face(builder, img, rec.box, rec.points, rng, n_landmark=n_lm,
                                    n_pos=args.cuhk_pos, n_neg=args.cuhk_neg)
    if "celeba" in sources:
        celeba = read_celeba(args.celeba_landmarks, images_dir=args.celeba_images, bbox_file=args.celeba_bbox,
                             partition_file=args.celeba_partition,
                             partition=0 if args.celeba_partition else None, skips=skipped)
        for rec, img in images([(r, r.image, r.where) for r in celeba[:args.celeba_limit]], "celeba", "celeba",
                               0.8):
            ms.sample_landmark_face(builder, img, ms.box_from_points(rec.points), rec.points, rng,
                                    n_landmark=n_lm, n_pos=args.celeba_pos, n_neg=args.celeba_neg,
                                    neg_avoid=None if rec.box is None else [rec.box])
    if "lfw" in sources and n_lm:
        lfw = read_mtfl(args.data / "lfw5590_80x80" / "train_lfw5590_80x80.txt", skips=skipped)[:args.lfw_limit]
        for rec, img in images([(r, r.image, r.where) for r in lfw], "lfw", "lfw5590", 1.0):
            ms.sample_landmark_face(builder, img, ms.box_from_points(rec.points), rec.points, rng,
                                    n_landmark=n_lm, n_pos=0, n_neg=0)
    return used


def main(argv=None, doc=None):
    ap = sample_arguments(doc)
    args = ap.parse_args(argv)
    sources = args.sources or [s for s in SOURCES if s != "celeba" or args.celeba_landmarks]
    if "celeba" in sources and not args.celeba_landmarks:
        ap.error("--sources celeba needs --celeba-landmarks (CelebA's list_landmarks_celeba.txt)")
    rng = np.random.default_rng(args.seed)
    out = args.out or REPO_ROOT / "mtcnn" / "Data" / f"random_{args.size}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    n_lm = args.landmarks if args.landmarks is not None else (2 if args.size == 48 else 0)
    min_face = {12: 12, 24: 20, 48: 24}[args.size]
    skipped = Skips(strict=args.strict)
    builder = ms.SampleBuilder(args.size)
    used = sample_sources(builder, args, sources, rng, n_lm, min_face, skipped)
    samples = builder.build()
    samples.save(out)
    print(f"{out}: {len(samples)} samples {samples.counts()} (box targets on {int(samples.reg.sum())}); "
          f"images used {used}; {skipped.summary()}")

