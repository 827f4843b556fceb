#!/usr/bin/env python3
"""False boxes, our MTCNN (shipped and candidate model folders) vs the peers, same images:
(a) on the held-out tenth of the face-free photos (../shared/data/negatives: every
10th line of negatives.txt, never used in training), where every box is false;
(b) on photos of one labelled face (CUHK test list), where every box that does not
overlap the list's face (IoU < 0.3) is an "other box".

    python bench/false_boxes.py [LIST] [--sets negatives cuhk] [--candidate DIR ...] [--peers ...]
        [--ours-flags "--nested-cover 0"] [--cuts 0.9] [--limit N]

Default LIST: ../shared/data/cuhk_facepoint/test_net7876.txt (2,027 web photos,
one face labelled in each; box + 5 points, CUHK format).  Each detector runs
once per photo on the whole image (bench/peers/<name>_adapter.py, the peers in
their venvs from bench/setup_peers.sh; a peer not installed is skipped with its
reason) with its own output threshold (MTCNNs: min face 20, thresholds
0.6/0.7/0.7; ours as shipped, so faces scored >= 0.7 after soft-NMS; mediapipe
min score 0.2; dlib adjust_threshold -0.5, as in bench/detection.py): that is
"the default threshold".  --candidate DIR adds our detector with --model-dir DIR
(e.g. a round's model folder) as a further row, in the same run.
CUHK: "other boxes" are an upper bound on false boxes, since a photo may hold
faces the list does not label (a second person, a face in a poster); every
detector is counted the same way.  "found %": photos where some box has IoU >=
0.3 with the list's face (CUHK boxes are tighter than WIDER's, so 0.3, as in
bench/landmark_accuracy.py).  The ">= S" columns (--cuts, default 0.9) count
only the boxes scored >= S, as a higher output threshold would (scores are each
detector's own: MTCNN face probabilities, ours the cascade score; dlib's are
SVM margins, mediapipe's its own).  Per 100 photos: boxes / photos run x 100.
Drawn: bench/Result/false_boxes_<set>_<name>.png, the 48 best-scored false /
other boxes of each detector in their photos (green: the list's face, red: the box).
The last line printed is one JSON object (also written to --json).
"""
import argparse
import json
import shlex
import time
from pathlib import Path

import numpy as np
from peers._common import MATCH_IOU
from peers.runner import PEERS, RESULT, pick, progress_printer, run_adapter

from facecascade.boxes import iou_matrix
from facecascade.machine import describe
from facecascade.negatives import NEGATIVES_LIST, held_out_photos, read_negatives
from facecascade.paths import SHARED_DATA
from facecascade.records import read_landmark_list

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

DEFAULT_LIST = SHARED_DATA / "cuhk_facepoint" / "test_net7876.txt"
LABELS = {"facenet_pytorch": "facenet-pytorch MTCNN", "mtcnn_ipazc": "mtcnn (ipazc)",
          "mediapipe": "mediapipe FaceDetection full-range", "dlib": "dlib HOG"}


def other_boxes(dets, box):
    """dets (N, 5) x1 y1 x2 y2 score, box (4,) -> (best score of a box with IoU >= MATCH_IOU
    with the list's face, -inf without one; the rows of dets with IoU < MATCH_IOU)."""
    if len(dets) == 0:
        return -np.inf, dets
    o = iou_matrix(dets[:, :4], np.asarray(box, dtype=np.float64)[None])[:, 0]
    hit = o >= MATCH_IOU
    return (float(dets[hit, 4].max()) if hit.any() else -np.inf), dets[o < MATCH_IOU]


def draw_sheet(path, items, images, face_boxes=None):
    """items: [(photo index, box, score)] best first -> a PNG of up to 48 photos, 6 per row;
    face_boxes: the list's face of each photo (drawn green), or None."""
    import cv2

    from facecascade.images import read_image

    tiles = []
    for k, box, score in items[:48]:
        img = read_image(images[k]).copy()
        if face_boxes is not None:
            g = [int(round(v)) for v in face_boxes[k]]
            cv2.rectangle(img, (g[0], g[1]), (g[2], g[3]), (0, 200, 0), 2)
        b = [int(round(v)) for v in box]
        cv2.rectangle(img, (b[0], b[1]), (b[2], b[3]), (0, 0, 255), 2)
        tile = cv2.resize(img, (160, 160))
        cv2.putText(tile, f"{score:.2f}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 255, 255), 1)
        tiles.append(tile)
    if not tiles:
        return
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % 6)
    sheet = np.vstack([np.hstack(tiles[r:r + 6]) for r in range(0, len(tiles), 6)])
    tmp = path.with_name(path.stem + ".tmp.png")
    cv2.imwrite(str(tmp), sheet)
    tmp.replace(path)


def boxes_of(answer):
    """An adapter's answer -> (N, 5) x1 y1 x2 y2 score, or None for an error."""
    if answer is None or answer.get("error"):
        return None
    return np.array([[*fc["box"], fc["score"]] for fc in answer["faces"]], dtype=np.float64).reshape(-1, 5)


def count_cuhk(answers, ids, face_boxes, cuts):
    """Other boxes and found faces on the one-face photos -> (figures, [(k, box, score)])."""
    errors = with_other = 0
    others, found = [], []
    for k, i in enumerate(ids):
        dets = boxes_of(answers.get(i))
        if dets is None:
            errors += 1
            continue
        best, other = other_boxes(dets, face_boxes[k])
        found.append(best)
        with_other += len(other) > 0
        others += [(k, row[:4].tolist(), float(row[4])) for row in other]
    scores, found = np.array([s for _, _, s in others]), np.array(found)
    done = len(ids) - errors
    per = 100.0 / max(done, 1)
    r = {"photos": done, "errors": errors, "found_pct": per * np.sum(found > -np.inf),
         "other_boxes": len(others), "other_per_100": per * len(others), "photos_with_other_pct": per * with_other}
    for c in cuts:
        r[f"found_pct_{c:g}"] = per * np.sum(found >= c)
        r[f"other_boxes_{c:g}"] = int(np.sum(scores >= c))
        r[f"other_per_100_{c:g}"] = per * r[f"other_boxes_{c:g}"]
    return r, others


def count_negatives(answers, ids, cuts):
    """Boxes on the face-free photos (all false) -> (figures, [(k, box, score)])."""
    errors = with_box = 0
    boxes = []
    for k, i in enumerate(ids):
        dets = boxes_of(answers.get(i))
        if dets is None:
            errors += 1
            continue
        with_box += len(dets) > 0
        boxes += [(k, row[:4].tolist(), float(row[4])) for row in dets]
    scores = np.array([s for _, _, s in boxes])
    done = len(ids) - errors
    per = 100.0 / max(done, 1)
    r = {"photos": done, "errors": errors, "boxes": len(boxes), "boxes_per_100": per * len(boxes),
         "photos_with_box_pct": per * with_box}
    for c in cuts:
        r[f"boxes_{c:g}"] = int(np.sum(scores >= c))
        r[f"boxes_per_100_{c:g}"] = per * r[f"boxes_{c:g}"]
    return r, boxes


def detectors(args):
    """[(key, label, peer, adapter args)]: ours as --ours-flags say, each --candidate, the peers."""
    mf = ["--min-face", str(args.min_face)]
    ours = ["--backend", "caffe", *mf, *shlex.split(args.ours_flags)]
    runs = [("ours", args.ours_label, "ours", ours)]
    labels = args.candidate_label or []
    for j, d in enumerate(args.candidate):
        label = labels[j] if j < len(labels) else f"ours: {d}"
        runs.append((f"candidate{j + 1}", label, "ours", [*ours, "--model-dir", str(d)]))
    for p in [p for p in args.peers.split(",") if p]:
        if p not in LABELS:
            raise SystemExit(f"unknown peer {p!r}; choose from {', '.join(LABELS)}")
        runs.append((p, LABELS[p], p, mf if p in ("facenet_pytorch", "mtcnn_ipazc") else []))
    return runs


def print_tables(cuhk_rows, neg_rows, cuts):
    if neg_rows:
        print()
        print("Held-out face-free photos (every box is false):")
        print("| detector | photos | boxes (per 100 photos) | " + "".join(f"boxes >= {c:g} (per 100) | " for c in cuts)
              + "photos with a box % | errors |")
        print("|---" * (5 + len(cuts)) + "|")
        for ln in neg_rows:
            print(ln)
    if cuhk_rows:
        print()
        print("One-face photos (boxes with IoU < 0.3 with the list's face):")
        print("| detector | photos | found % | other boxes (per 100 photos) | "
              + "".join(f"found % >= {c:g} | other boxes >= {c:g} (per 100) | " for c in cuts)
              + "photos with other boxes % | errors |")
        print("|---" * (6 + 2 * len(cuts)) + "|")
        for ln in cuhk_rows:
            print(ln)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("list", nargs="?", type=Path, default=DEFAULT_LIST,
                    help="a landmark list with one face box per line (CUHK format)")
    ap.add_argument("--root", type=Path, help="image folder (default: the list's folder)")
    ap.add_argument("--sets", nargs="+", choices=("negatives", "cuhk"), default=["negatives", "cuhk"],
                    help="which photo sets to run (default both)")
    ap.add_argument("--negatives-list", type=Path, default=NEGATIVES_LIST,
                    help="negatives.txt; its held-out tenth is run (facecascade.negatives)")
    ap.add_argument("--limit", type=int, default=0, help="N photos of each set, evenly spaced (0: all)")
    ap.add_argument("--peers", default=",".join(LABELS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--min-face", type=float, default=20, help="min face of the MTCNN detectors")
    ap.add_argument("--ours-flags", default="",
                    help="more flags for our detector (every row of ours), e.g. \"--nested-cover 0\"")
    ap.add_argument("--ours-label", default="ours: our MTCNN (pycaffe)")
    ap.add_argument("--candidate", type=Path, nargs="+", default=[], metavar="DIR",
                    help="model folders (det1-3) run as further rows of ours, e.g. mtcnn/Result/model_r20")
    ap.add_argument("--candidate-label", nargs="+", default=None, help="their labels, in order")
    ap.add_argument("--no-sheets", action="store_true", help="draw no PNG")
    ap.add_argument("--cuts", type=float, nargs="+", default=[0.9], metavar="S",
                    help="also count at these scores: boxes and found faces scored >= S (default 0.9)")
    ap.add_argument("--json", type=Path, default=RESULT / "false_boxes.json", help="where the figures go")
    args = ap.parse_args(argv)
    for d in args.candidate:
        if not (d / "det3.caffemodel").is_file():
            ap.error(f"--candidate {d}: no det3.caffemodel there")
    return args


def main(argv=None):
    args = parse_args(argv)
    reqs, cuhk_ids, neg_ids, face_boxes, images = [], [], [], [], {}
    if "cuhk" in args.sets:
        if not args.list.is_file():
            raise SystemExit(f"{args.list}: list not found (the shared data sets live in ../shared/data)")
        records = read_landmark_list(args.list, "cuhk", root=args.root)
        records = [records[i] for i in pick(len(records), args.limit)]
        cuhk_ids = [f"c{k}" for k in range(len(records))]
        face_boxes = [r.box for r in records]
        images["cuhk"] = [str(Path(r.image).resolve()) for r in records]
        reqs += [{"id": i, "image": im, "box": None} for i, im in zip(cuhk_ids, images["cuhk"])]
    if "negatives" in args.sets:
        photos = held_out_photos(read_negatives(args.negatives_list))
        photos = [photos[i] for i in pick(len(photos), args.limit)]
        neg_ids = [f"n{k}" for k in range(len(photos))]
        images["negatives"] = [str(p.image.resolve()) for p in photos]
        reqs += [{"id": i, "image": im, "box": None} for i, im in zip(neg_ids, images["negatives"])]

    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 for every detector"))
    if cuhk_ids:
        print(f"one-face photos: {args.list}, {len(cuhk_ids)} photos (--limit {args.limit}); other box: "
              f"IoU < {MATCH_IOU} with the list's face")
    if neg_ids:
        print(f"face-free photos: the held-out tenth of {args.negatives_list}, {len(neg_ids)} photos")

    cuhk_rows, neg_rows, notes, results = [], [], [], {"cuhk": {}, "negatives": {}}
    for key, label, peer, extra in detectors(args):
        t0 = time.time()
        info, ans = run_adapter(peer, "detect", reqs, args=extra, progress=progress_printer(label))
        if not info.get("ready"):
            print(f"skipped {label}: {info['reason']}")
            notes.append(f"{label}: skipped ({info['reason']})")
            continue
        vers = {k: v for k, v in info.get("versions", {}).items() if k != "machine"}
        notes.append(f"{label}: {info.get('settings', '')}; {json.dumps(vers)}; run {time.time() - t0:.0f} s")
        if neg_ids:
            r, boxes = count_negatives(ans, neg_ids, args.cuts)
            results["negatives"][label] = r
            neg_rows.append(f"| {label} | {r['photos']} | {r['boxes']} ({r['boxes_per_100']:.1f}) | "
                            + "".join(f"{r[f'boxes_{c:g}']} ({r[f'boxes_per_100_{c:g}']:.1f}) | " for c in args.cuts)
                            + f"{r['photos_with_box_pct']:.1f} | {r['errors']} |")
            if not args.no_sheets:
                draw_sheet(RESULT / f"false_boxes_negatives_{key}.png", sorted(boxes, key=lambda t: -t[2]),
                           images["negatives"])
        if cuhk_ids:
            r, others = count_cuhk(ans, cuhk_ids, face_boxes, args.cuts)
            results["cuhk"][label] = r
            cells = [f"{r['found_pct']:.1f}", f"{r['other_boxes']} ({r['other_per_100']:.1f})"]
            for c in args.cuts:
                cells += [f"{r[f'found_pct_{c:g}']:.1f}", f"{r[f'other_boxes_{c:g}']} ({r[f'other_per_100_{c:g}']:.1f})"]
            cuhk_rows.append(f"| {label} | {r['photos']} | {' | '.join(cells)} | {r['photos_with_other_pct']:.1f} | "
                             f"{r['errors']} |")
            if not args.no_sheets:
                draw_sheet(RESULT / f"false_boxes_cuhk_{key}.png", sorted(others, key=lambda t: -t[2]),
                           images["cuhk"], face_boxes)
    print_tables(cuhk_rows, neg_rows, args.cuts)
    print()
    for nt in notes:
        print(f"- {nt}")
    summary = {"list": str(args.list), "negatives_list": str(args.negatives_list), "n_cuhk": len(cuhk_ids),
               "n_negatives": len(neg_ids), "cuts": args.cuts, "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_name(args.json.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1))
    tmp.replace(args.json)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
