#!/usr/bin/env python
"""Step 0: random training crops (12, 24 or 48 px) from the shared data.

  - wider_train: random negatives, negatives beside each face, jittered
    positive/part crops (box regression targets: WIDER's box convention);
  - cuhk_facepoint train: landmark crops (48 only), classification-only
    positives (CUHK boxes are tighter than WIDER's), negatives;
  - lfw5590_80x80 (48 only): landmark crops around a box fitted to the points.
wider_eval is never read here.  Output: mtcnn/Data/random_<size>.npz.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib"))

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from facecascade import mtcnn_sampling as ms  # noqa: E402
from facecascade.images import ImageReadError, read_image  # noqa: E402
from facecascade.paths import REPO_ROOT, SHARED_DATA  # noqa: E402
from facecascade.wider import read_wider  # noqa: E402


def read_cuhk(path):
    """cuhk list -> [(image path, box xyxy, points 5x2, 'file:line')]."""
    out = []
    for ln, line in enumerate(Path(path).read_text().splitlines(), 1):
        p = line.split()
        if not p:
            continue
        if len(p) != 15:
            raise ValueError(f"{path}:{ln}: expected 15 fields, got {len(p)}")
        v = np.array([float(x) for x in p[1:]])
        out.append((Path(path).parent / p[0], np.array([v[0], v[2], v[1], v[3]]), v[4:].reshape(5, 2), f"{path}:{ln}"))
    return out


def read_mtfl(path):
    """MTFL-order list (x1..x5 y1..y5, 1-based) -> [(image path, points 5x2 0-based, 'file:line')]."""
    out = []
    for ln, line in enumerate(Path(path).read_text().splitlines(), 1):
        p = line.split()
        if not p:
            continue
        if len(p) != 11:
            raise ValueError(f"{path}:{ln}: expected 11 fields, got {len(p)}")
        v = np.array([float(x) for x in p[1:]])
        out.append((Path(path).parent / p[0], np.stack([v[:5], v[5:]], axis=1) - 1.0, f"{path}:{ln}"))
    return out


def cuhk_box_reference(records):
    """(centre below eye midpoint, side) in eye-to-mouth distances, medians over CUHK."""
    cy, side = [], []
    for _, box, pts, _ in records:
        eye = (pts[0] + pts[1]) / 2
        em = np.linalg.norm((pts[3] + pts[4]) / 2 - eye)
        cy.append(((box[1] + box[3]) / 2 - eye[1]) / em)
        side.append((box[2] - box[0]) / em)
    return float(np.median(cy)), float(np.median(side))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, choices=(12, 24, 48), required=True)
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
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="wall-clock cap: WIDER for 50%%, CUHK up to 80%%, LFW up to 100%% of it "
                         "(images in seeded random order, so a cut keeps a random subset)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    out = args.out or REPO_ROOT / "mtcnn" / "Data" / f"random_{args.size}.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    n_lm = args.landmarks if args.landmarks is not None else (2 if args.size == 48 else 0)
    min_face = {12: 12, 24: 20, 48: 24}[args.size]
    bad = 0
    builder = ms.SampleBuilder(args.size)

    import time
    t_start = time.time()
    budget = 60 * args.max_minutes if args.max_minutes else float("inf")
    used = {"wider": 0, "cuhk": 0, "lfw": 0}
    wider_dir = args.data / "wider_train"
    wider = read_wider(wider_dir / "wider_train_bbx_gt.txt")[::args.wider_every]
    for rec in tqdm([wider[i] for i in rng.permutation(len(wider))], desc="wider_train"):
        if time.time() - t_start > 0.5 * budget:
            break
        used["wider"] += 1
        try:
            img = read_image(wider_dir / "images" / rec.name, where=f"wider_train_bbx_gt.txt:{rec.line}")
        except ImageReadError as e:
            bad += 1
            print(f"skip: {e}", file=sys.stderr)
            continue
        ms.sample_wider_image(builder, img, rec.boxes, rng, n_neg=args.wider_neg,
                              n_jitter=args.wider_jitter, min_face=min_face)

    cuhk = read_cuhk(args.data / "cuhk_facepoint" / "train_net7876.txt")
    ref = cuhk_box_reference(cuhk)
    for path, box, pts, where in tqdm(cuhk[:args.cuhk_limit], desc="cuhk train"):
        if time.time() - t_start > 0.8 * budget:
            break
        used["cuhk"] += 1
        try:
            img = read_image(path, where=where)
        except ImageReadError as e:
            bad += 1
            print(f"skip: {e}", file=sys.stderr)
            continue
        ms.sample_landmark_face(builder, img, box, pts, rng, n_landmark=n_lm, n_pos=args.cuhk_pos,
                                n_neg=args.cuhk_neg)
    if n_lm:
        for path, pts, where in tqdm(read_mtfl(args.data / "lfw5590_80x80" / "train_lfw5590_80x80.txt")[:args.lfw_limit],
                                     desc="lfw5590"):
            if time.time() - t_start > budget:
                break
            used["lfw"] += 1
            try:
                img = read_image(path, where=where)
            except ImageReadError as e:
                bad += 1
                print(f"skip: {e}", file=sys.stderr)
                continue
            ms.sample_landmark_face(builder, img, ms.box_from_points(pts, ref), pts, rng,
                                    n_landmark=n_lm, n_pos=0, n_neg=0)
    samples = builder.build()
    samples.save(out)
    print(f"{out}: {len(samples)} samples {samples.counts()} (box targets on {int(samples.reg.sum())}); "
          f"images used {used}; skipped images: {bad}; CUHK box reference {ref}")


if __name__ == "__main__":
    main()
