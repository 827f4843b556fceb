#!/usr/bin/env python3
"""Face detection: AP by size bucket (docs/METRICS.md) and seconds per image on
a WIDER-format set, our MTCNN vs the peers, same images, same run, one thread.

    python bench/detection.py [GT_FILE] [--images DIR] [--limit N] [--astronaut-runs 20]

Default GT_FILE: ../shared/data/wider_eval/wider_face_val_bbx_gt_subset.txt,
images in <its folder>/images.  --limit N takes N images evenly spaced over
the file (AP is then over those images only).  Each detector runs in its own
process (bench/peers/<name>_adapter.py, the peers in their venvs from
bench/setup_peers.sh; "not installed" otherwise) on the whole image, once per
image; s/image is that call (image reading excluded).  Also the median of
--astronaut-runs calls on scikit-image's astronaut (512x512) after a warm-up.
Settings: MTCNNs min face 20, factor 0.709, thresholds 0.6/0.7/0.7 (ours on
pycaffe, cv2.dnn and onnxruntime (fp32, int8) with its second look, once more without it, and
once with its accuracy setting:
--mirror-stages rnet --factor 0.8); dlib HOG
upsample 1, adjust_threshold -0.5; mediapipe full-range, min score 0.2.
Ratios: AP of the row / AP of ours (pycaffe), s/image of the row / ours.
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
from peers.runner import PEERS, RESULT, pick, progress_printer, run_adapter

from facecascade.detection_metrics import evaluate
from facecascade.machine import describe
from facecascade.paths import SHARED_DATA
from facecascade.wider import read_wider

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent

DEFAULT_GT = SHARED_DATA / "wider_eval" / "wider_face_val_bbx_gt_subset.txt"
ASTRONAUT = "__astronaut__"


def astronaut_path():
    import cv2
    from skimage import data
    RESULT.mkdir(parents=True, exist_ok=True)
    p = RESULT / "astronaut.png"
    if not p.exists():
        cv2.imwrite(str(p), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return p


def f(v, d=1, scale=1.0):
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v * scale:.{d}f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gt", nargs="?", type=Path, default=DEFAULT_GT)
    ap.add_argument("--images", type=Path, help="image folder (default: <gt folder>/images)")
    ap.add_argument("--limit", type=int, default=0, help="N images evenly spaced over the file (0: all)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--astronaut-runs", type=int, default=20, help="0: skip the astronaut timing")
    ap.add_argument("--no-cv2", action="store_true", help="skip our MTCNN on cv2.dnn")
    args = ap.parse_args(argv)

    if not args.gt.is_file():
        raise SystemExit(f"{args.gt}: ground truth not found")
    images_dir = args.images or args.gt.parent / "images"
    gt_all = read_wider(args.gt)
    gt = [gt_all[i] for i in pick(len(gt_all), args.limit)]
    reqs = [{"id": g.name, "image": str((images_dir / g.name).resolve()), "box": None} for g in gt]
    if args.astronaut_runs:
        reqs.append({"id": ASTRONAUT, "image": str(astronaut_path()), "box": None,
                     "repeat": args.astronaut_runs})
    n_valid = sum(int((~g.invalid).sum()) for g in gt)

    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 for every detector"))
    lim = f"{len(gt)} images evenly spaced over the file (--limit {args.limit})" if args.limit else \
        f"all {len(gt)} images"
    print(f"set: {args.gt}, {lim}, {n_valid} valid faces")

    mf = ["--min-face", str(args.min_face)]
    runs = [("ours", "ours: our MTCNN (pycaffe)", ["--backend", "caffe", *mf])]
    if not args.no_cv2:
        runs.append(("ours", "ours: our MTCNN (cv2.dnn, ONNX files)", ["--backend", "opencv", *mf]))
    runs.append(("ours", "ours: our MTCNN (onnxruntime fp32)", ["--backend", "onnx", *mf]))
    runs.append(("ours", "ours: our MTCNN (onnxruntime int8)", ["--backend", "onnx", "--precision", "int8", *mf]))
    # the reference pipeline's cost and accuracy with the same nets
    runs.append(("ours", "ours: our MTCNN, no second look (pycaffe)",
                 ["--backend", "caffe", "--rescore-rounds", "0", *mf]))
    # the opt-in accuracy setting (docs/METHOD.md, "Mirror scoring")
    runs.append(("ours", "ours: our MTCNN, accuracy setting (pycaffe)",
                 ["--backend", "caffe", "--mirror-stages", "rnet", "--factor", "0.8", *mf]))
    labels = {"facenet_pytorch": "facenet-pytorch MTCNN", "mtcnn_ipazc": "mtcnn (ipazc)",
              "mediapipe": "mediapipe FaceDetection full-range", "dlib": "dlib HOG"}
    for p in [p for p in args.peers.split(",") if p]:
        if p not in PEERS:
            raise SystemExit(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
        runs.append((p, labels[p], mf if p in ("facenet_pytorch", "mtcnn_ipazc") else []))

    rows, notes, ref = [], [], None
    for peer, label, extra in runs:
        t0 = time.time()
        info, ans = run_adapter(peer, "detect", reqs, args=extra, progress=progress_printer(f"{label}"))
        if not info.get("ready"):
            rows.append((label, None, info["reason"]))
            continue
        vers = {k: v for k, v in info.get("versions", {}).items() if k != "machine"}
        notes.append(f"{label}: {info.get('settings', '')}; {json.dumps(vers)}; run {time.time() - t0:.0f} s")
        dets, times, errors = {}, [], 0
        for g in gt:
            a = ans.get(g.name)
            if a is None or a.get("error"):
                errors += 1
                continue
            dets[g.name] = np.array([[*fc["box"], fc["score"]] for fc in a["faces"]]).reshape(-1, 5)
            times.append(a["ms"] / 1000)
        res = evaluate(dets, gt)
        astro = ans.get(ASTRONAUT, {}).get("ms")
        r = {"ap": {b: res[f"ap_{b}"] for b in ("all", "large", "medium", "small")},
             "s_median": float(np.median(times)) if times else None,
             "s_mean": float(np.mean(times)) if times else None,
             "astronaut_ms": astro, "errors": errors, "n_det": res["n_detections"]}
        if ref is None and peer == "ours":
            ref = r
        rows.append((label, r, None))

    print()
    print("| detector | AP all % | large >=50 % | medium 20-49 % | small <20 % | s/image median | s/image mean "
          "| AP all / ours | s/image / ours | astronaut 512x512 ms (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, r, reason in rows:
        if r is None:
            print(f"| {label} | {reason} |||||||||")
            continue
        ap_ratio = r["ap"]["all"] / ref["ap"]["all"] if ref and ref["ap"]["all"] else None
        t_ratio = r["s_median"] / ref["s_median"] if ref and ref["s_median"] and r["s_median"] else None
        print(f"| {label} | {f(r['ap']['all'], 1, 100)} | {f(r['ap']['large'], 1, 100)} | "
              f"{f(r['ap']['medium'], 1, 100)} | {f(r['ap']['small'], 1, 100)} | {f(r['s_median'], 3)} | "
              f"{f(r['s_mean'], 3)} | {f(ap_ratio, 2)} | {f(t_ratio, 2)} | {f(r['astronaut_ms'], 1)} |")
        if r["errors"]:
            print(f"|   ({r['errors']} images failed in {label}; see bench/Result logs) |||||||||")
    print()
    for nt in notes:
        print(f"- {nt}")
    RESULT.mkdir(parents=True, exist_ok=True)
    (RESULT / "detection.json").write_text(json.dumps(
        {"gt": str(args.gt), "limit": args.limit, "rows": [(lb, r, rs) for lb, r, rs in rows]}, indent=1))


if __name__ == "__main__":
    main()
