#!/usr/bin/env python3
"""Landmark accuracy (docs/METRICS.md) of our cascade vs the peers, on any list
in a supported format, same faces, same run.

    python bench/landmark_accuracy.py [LIST] [--format cuhk|celeba|mtfl] [--limit N]

Default LIST: ../shared/data/cuhk_facepoint/test_net7876.txt.  Rows:
- ours, cascade on the list's face box (grown by the cascade's 15 % margin;
  the whole image for lists without boxes), pycaffe;
- ours, our MTCNN finds the face, then the cascade on its box; and our
  MTCNN's own O-Net points ("not shipped" while mtcnn/model lacks det1-3);
- each peer (bench/peers/<peer>_adapter.py in its own venv; "not installed" when
  bench/setup_peers.sh has not made it), protocol of docs/ANCHORS.md: the
  peer's own detector on the whole image, retried on the zero-padded and the
  2x upscaled image, the detection with the highest IoU with the list's box
  kept (IoU >= 0.3; lists without boxes use the box of the gt points grown
  by 50 %).  Latency includes the peer's detection and retries.
NME, per-point NME and the median ms/face are over the faces the method
found; failure % and AUC@10 % count a face not found as a failure.  All
timings: one thread (OMP/OPENBLAS/MKL/TF threads = 1), image reading excluded.
--limit N takes N faces evenly spaced over the list.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
from peers.runner import PEERS, RESULT, pick, progress_printer, run_adapter

from facecascade.machine import describe
from facecascade.metrics import FAILURE_THRESHOLD, ced_auc, interocular, point_errors
from facecascade.paths import SHARED_DATA
from facecascade.records import read_landmark_list

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

DEFAULT_LIST = SHARED_DATA / "cuhk_facepoint" / "test_net7876.txt"
POINTS = ("LE", "RE", "N", "LM", "RM")


def guess_format(path):
    with open(path) as f:
        for line in f:
            tokens = line.split()
            if len(tokens) >= 11:
                if len(tokens) == 15:
                    return "cuhk"
                return "celeba" if "celeba" in Path(path).name.lower() else "mtfl"
    raise SystemExit(f"{path}: cannot guess the format; pass --format")


def points_box(points):
    lo, hi = points.min(axis=0), points.max(axis=0)
    c, half = (lo + hi) / 2, (hi - lo).max() * 0.75
    return [float(c[0] - half), float(c[1] - half), float(c[0] + half), float(c[1] + half)]


def score_rows(gt, preds, point_mask=None):
    """gt (N, 5, 2); preds: list of (5, 2) arrays or None (not found).
    point_mask: which points the method has (others excluded from its NME)."""
    n = len(gt)
    found = np.array([p is not None for p in preds])
    mask = np.ones(5, bool) if point_mask is None else np.asarray(point_mask)
    per_face = np.full(n, np.inf)
    per_point = np.full((n, 5), np.nan)
    if found.any():
        p = np.stack([preds[i] for i in np.nonzero(found)[0]]).astype(np.float64)
        g = gt[found]
        err = point_errors(np.nan_to_num(p), g) / interocular(g)[:, None]
        per_point[found] = np.where(mask, err, np.nan)
        per_face[found] = err[:, mask].mean(axis=1)
    _, _, auc = ced_auc(per_face)
    return {
        "found": 100.0 * found.mean(),
        "nme": 100.0 * per_face[found].mean() if found.any() else float("nan"),
        "failure": 100.0 * (per_face > FAILURE_THRESHOLD).mean(),
        "auc10": auc,
        "per_point": [100.0 * np.nanmean(per_point[found, k]) if found.any() and mask[k] else float("nan")
                      for k in range(5)],
    }


def fmt(v, digits=2):
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def row(label, s, ms):
    pp = " ".join(fmt(v) or "-" for v in s["per_point"])
    return (f"| {label} | {fmt(s['found'], 1)} | {fmt(s['nme'])} | {fmt(s['failure'])} | {fmt(s['auc10'], 3)} "
            f"| {pp} | {fmt(ms, 1)} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("list", nargs="?", type=Path, default=DEFAULT_LIST)
    ap.add_argument("--format", choices=("cuhk", "celeba", "mtfl"))
    ap.add_argument("--root", type=Path, help="image folder (default: the list's folder)")
    ap.add_argument("--limit", type=int, default=0, help="N faces evenly spaced over the list (0: all)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--min-face", type=float, default=20, help="min face of the MTCNN detectors")
    args = ap.parse_args(argv)

    if not args.list.is_file():
        raise SystemExit(f"{args.list}: list not found (the shared data sets live in ../shared/data)")
    fmt_name = args.format or guess_format(args.list)
    records = read_landmark_list(args.list, fmt_name, root=args.root)
    idx = pick(len(records), args.limit)
    records = [records[i] for i in idx]
    gt = np.stack([r.points for r in records])
    reqs = []
    for k, r in enumerate(records):
        box = list(map(float, r.box)) if r.box is not None else points_box(r.points)
        reqs.append({"id": str(k), "image": str(Path(r.image).resolve()), "box": box,
                     "list_box": None if r.box is None else box})
    n = len(records)

    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 for every method"))
    limit_txt = f"{n} faces evenly spaced over the list (--limit {args.limit})" if args.limit else f"all {n} faces"
    print(f"list: {args.list} ({fmt_name}), {limit_txt}")
    print(f"peers: retries whole -> zero-padded -> 2x upscaled (<= 1024 px); kept detection: highest IoU "
          f"with the list's box, >= 0.3; MTCNN min face {args.min_face:g}")
    results, lines, notes = {}, [], []

    def run(peer, task, extra=()):
        t0 = time.time()
        info, ans = run_adapter(peer, task, reqs, args=extra, progress=progress_printer(f"{peer} {task}"))
        if info.get("ready"):
            notes.append(f"{peer} {task}: {info.get('settings', '')}; "
                         f"{json.dumps({k: v for k, v in info.get('versions', {}).items() if k != 'machine'})}; "
                         f"run {time.time() - t0:.0f} s")
        return info, ans

    def collect(ans, key="points", extra=None):
        preds, ms = [], []
        for k in range(n):
            a = ans.get(str(k))
            face = a["faces"][0] if a and a.get("faces") else None
            pts = None
            if face is not None:
                pts = face.get("extra", {}).get(extra) if extra else face.get(key)
            if pts is not None:
                pts = np.array([[np.nan, np.nan] if p is None else p for p in pts], dtype=np.float64)
                ms.append(a["ms"])
            preds.append(pts)
        return preds, (float(np.median(ms)) if ms else None)

    header = ("| method | found % | NME % | fail % (>10%, misses count) | AUC@10% | per point NME % "
              + " ".join(POINTS) + " | ms/face (median, 1 thread) |")
    sep = "|---|---|---|---|---|---|---|"

    # ours on the list's box
    info, ans = run("ours", "gtbox", ["--cascade-backend", "caffe"])
    if info.get("ready"):
        preds, ms = collect(ans)
        s = score_rows(gt, preds)
        results["ours_gtbox"] = s
        box_txt = "list box + 15% margin" if records[0].box is not None else "whole image (no box in list)"
        lines.append(row(f"ours: cascade L1+L2 on {box_txt} (pycaffe)", s, ms))
    else:
        lines.append(f"| ours: cascade on the list box | {info['reason']} |||||||")
    # ours with our MTCNN
    info, ans = run("ours", "landmarks", ["--min-face", str(args.min_face)])
    if info.get("ready"):
        preds, ms = collect(ans)
        results["ours_mtcnn_cascade"] = s = score_rows(gt, preds)
        lines.append(row("ours: our MTCNN box -> cascade L1+L2", s, ms))
        preds, _ = collect(ans, extra="onet_points")
        results["ours_mtcnn_onet"] = s = score_rows(gt, preds)
        lines.append(row("ours: our MTCNN O-Net points", s, ms))
    else:
        lines.append(f"| ours: our MTCNN -> cascade | {info['reason']} |||||||")

    wanted = [p for p in args.peers.split(",") if p]
    for peer in wanted:
        if peer not in PEERS:
            raise SystemExit(f"unknown peer {peer!r}; choose from {', '.join(PEERS)}")
        extra = ["--min-face", str(args.min_face)] if peer in ("facenet_pytorch", "mtcnn_ipazc") else []
        info, ans = run(peer, "landmarks", extra)
        label = {"facenet_pytorch": "facenet-pytorch MTCNN O-Net",
                 "mtcnn_ipazc": "mtcnn (ipazc) O-Net",
                 "mediapipe": "mediapipe FaceMesh -> 5 pts",
                 "dlib": "dlib HOG + 5-pt predictor: EYES ONLY (eye = mean of its 2 corners)"}[peer]
        if not info.get("ready"):
            lines.append(f"| {PEERS[peer]} | {info['reason']} |||||||")
            continue
        preds, ms = collect(ans)
        got = [q for q in preds if q is not None]
        if got and peer != "dlib":
            share = 100.0 * np.mean([q[0, 0] < q[1, 0] for q in got])
            notes.append(f"{peer}: its first eye point is the image-left one on {share:.1f}% of the found faces "
                         f"(ground truth: {100.0 * np.mean(gt[:, 0, 0] < gt[:, 1, 0]):.1f}%)")
        mask = [True, True, False, False, False] if peer == "dlib" else None
        results[peer] = s = score_rows(gt, preds, mask)
        vers = info.get("versions", {})
        version = " ".join(f"{k} {v}" for k, v in vers.items() if k != "machine")
        lines.append(row(f"{label} ({version})", s, ms))

    print()
    print(header)
    print(sep)
    for ln in lines:
        print(ln)
    print()
    for nt in notes:
        print(f"- {nt}")
    print("- dlib's 5-point model marks eye corners and the nose base, not our points: its row scores only "
          "the eye centres (NME over 2 points), not comparable with the 5-point rows.")
    RESULT.mkdir(parents=True, exist_ok=True)
    (RESULT / "landmark_accuracy.json").write_text(json.dumps(
        {"list": str(args.list), "n": n, "limit": args.limit, "results": results}, indent=1))


if __name__ == "__main__":
    main()
