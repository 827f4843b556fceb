#!/usr/bin/env python3
"""False boxes on photos of one labelled face: every box a detector outputs that
does not overlap the list's face (IoU < 0.3), our MTCNN vs the peers, same images.

    python bench/false_boxes.py [LIST] [--limit N] [--peers ...] [--ours-flags "--model-dir DIR"]

Default LIST: ../shared/data/cuhk_facepoint/test_net7876.txt (2,027 web photos,
one face labelled in each; box + 5 points, CUHK format).  Each detector runs
on the whole image once (bench/peers/<name>_adapter.py, the peers in their
venvs from bench/setup_peers.sh) with its own output threshold (MTCNNs: min
face 20, thresholds 0.6/0.7/0.7; ours as shipped, so faces scored >= 0.7 after
soft-NMS; mediapipe min score 0.2; dlib adjust_threshold -0.5, as in
bench/detection.py).  "Other boxes" are the boxes with IoU < 0.3 with the
list's face: an upper bound on false boxes, since a photo may hold faces the
list does not label (a second person, a face in a poster); every detector is
counted the same way.  "found %": photos where some box has IoU >= 0.3 with
the list's face (CUHK boxes are tighter than WIDER's, so 0.3, as in
bench/landmark_accuracy.py).  The ">= S" columns (--cuts, default 0.9) count
only the boxes scored >= S, as a higher output threshold would (scores are
each detector's own: MTCNN face probabilities, ours the cascade score; dlib's
are SVM margins, mediapipe's its own).  Drawn: bench/Result/false_boxes_<name>.png,
the 48 best-scored other boxes of each detector in their photos (green: the
list's face, red: the box).
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


def draw_sheet(path, items, records):
    """items: [(record index, box, score)] best first -> a PNG of up to 48 photos, 6 per row."""
    import cv2

    from facecascade.images import read_image

    tiles = []
    for k, box, score in items[:48]:
        img = read_image(records[k].image).copy()
        g = [int(round(v)) for v in records[k].box]
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("list", nargs="?", type=Path, default=DEFAULT_LIST,
                    help="a landmark list with one face box per line (CUHK format)")
    ap.add_argument("--root", type=Path, help="image folder (default: the list's folder)")
    ap.add_argument("--limit", type=int, default=0, help="N photos evenly spaced over the list (0: all)")
    ap.add_argument("--peers", default=",".join(LABELS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--min-face", type=float, default=20, help="min face of the MTCNN detectors")
    ap.add_argument("--ours-flags", default="",
                    help="more flags for our detector, e.g. \"--model-dir DIR\" or \"--nested-cover 0\"")
    ap.add_argument("--ours-label", default="ours: our MTCNN (pycaffe)")
    ap.add_argument("--no-sheets", action="store_true", help="draw no PNG")
    ap.add_argument("--cuts", type=float, nargs="+", default=[0.9], metavar="S",
                    help="also count at these scores: other boxes and found faces scored >= S (default 0.9)")
    ap.add_argument("--json", type=Path, default=RESULT / "false_boxes.json", help="where the figures go")
    args = ap.parse_args(argv)

    if not args.list.is_file():
        raise SystemExit(f"{args.list}: list not found (the shared data sets live in ../shared/data)")
    records = read_landmark_list(args.list, "cuhk", root=args.root)
    records = [records[i] for i in pick(len(records), args.limit)]
    reqs = [{"id": str(k), "image": str(Path(r.image).resolve()), "box": None} for k, r in enumerate(records)]
    n = len(records)

    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 for every detector"))
    lim = f"{n} photos evenly spaced over the list (--limit {args.limit})" if args.limit else f"all {n} photos"
    print(f"list: {args.list}, {lim}, one labelled face each; other box: IoU < {MATCH_IOU} with it")

    mf = ["--min-face", str(args.min_face)]
    runs = [("ours", args.ours_label, ["--backend", "caffe", *mf, *shlex.split(args.ours_flags)])]
    for p in [p for p in args.peers.split(",") if p]:
        if p not in LABELS:
            raise SystemExit(f"unknown peer {p!r}; choose from {', '.join(LABELS)}")
        runs.append((p, LABELS[p], mf if p in ("facenet_pytorch", "mtcnn_ipazc") else []))

    rows, notes, results = [], [], {}
    for peer, label, extra in runs:
        t0 = time.time()
        info, ans = run_adapter(peer, "detect", reqs, args=extra, progress=progress_printer(label))
        if not info.get("ready"):
            rows.append(f"| {label} | {info['reason']} ||||||")
            continue
        vers = {k: v for k, v in info.get("versions", {}).items() if k != "machine"}
        notes.append(f"{label}: {info.get('settings', '')}; {json.dumps(vers)}; run {time.time() - t0:.0f} s")
        errors = with_other = 0
        others, found = [], []
        for k in range(n):
            a = ans.get(str(k))
            if a is None or a.get("error"):
                errors += 1
                continue
            dets = np.array([[*fc["box"], fc["score"]] for fc in a["faces"]], dtype=np.float64).reshape(-1, 5)
            best, other = other_boxes(dets, records[k].box)
            found.append(best)
            with_other += len(other) > 0
            others += [(k, row[:4].tolist(), float(row[4])) for row in other]
        scores, found = np.array([s for _, _, s in others]), np.array(found)
        done = n - errors
        per = 100.0 / max(done, 1)
        r = {"photos": done, "errors": errors, "found_pct": per * np.sum(found > -np.inf),
             "other_boxes": len(others), "photos_with_other_pct": per * with_other}
        cells = [f"{r['found_pct']:.1f}", f"{len(others)} ({per * len(others):.1f})"]
        for c in args.cuts:
            r[f"found_pct_{c:g}"] = per * np.sum(found >= c)
            r[f"other_boxes_{c:g}"] = int(np.sum(scores >= c))
            cells += [f"{r[f'found_pct_{c:g}']:.1f}", f"{r[f'other_boxes_{c:g}']} ({per * r[f'other_boxes_{c:g}']:.1f})"]
        results[label] = r
        rows.append(f"| {label} | {done} | {' | '.join(cells)} | {r['photos_with_other_pct']:.1f} | {errors} |")
        if not args.no_sheets:
            name = "ours" if peer == "ours" else peer
            draw_sheet(RESULT / f"false_boxes_{name}.png", sorted(others, key=lambda t: -t[2]), records)

    print()
    print("| detector | photos | found % | other boxes (per 100 photos) | "
          + "".join(f"found % >= {c:g} | other boxes >= {c:g} (per 100) | " for c in args.cuts)
          + "photos with other boxes % | errors |")
    print("|---" * (6 + 2 * len(args.cuts)) + "|")
    for ln in rows:
        print(ln)
    print()
    for nt in notes:
        print(f"- {nt}")
    summary = {"list": str(args.list), "n": n, "results": results}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.json.with_name(args.json.name + ".tmp")
    tmp.write_text(json.dumps(summary, indent=1))
    tmp.replace(args.json)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
