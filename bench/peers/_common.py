"""Shared by the adapters in bench/peers/ (each runs with its own peer's venv
python: only numpy and Pillow may be assumed here).

Protocol: an adapter is started as

    <venv>/bin/python bench/peers/<peer>_adapter.py --task detect|landmarks [--min-face 20]

It loads its models, prints one JSON line {"ready": true, "peer", "versions",
"settings"}, then reads JSON lines from stdin, one per request:

    {"id": "...", "image": "/abs/path.jpg", "box": [x1, y1, x2, y2] or null,
     "repeat": n (optional)}

and answers each with one JSON line

    {"id": ..., "faces": [{"box": [x1, y1, x2, y2], "score": s,
                           "points": [[x, y] * 5] or null}], "ms": t, "tries": k}

Task "detect": every face of one call on the whole image; ms = that call
(with "repeat": n, the median of n timed calls after one warm-up, all times in
"ms_all").  Task "landmarks" (docs/ANCHORS.md protocol): the peer's own
detector on the whole image, retried on the zero-padded and the 2x upscaled
image while no detection overlaps the given box (IoU >= MATCH_IOU); the
detection closest to the box (highest IoU) is kept, or "faces": [] when none
overlaps; ms = the time of all tries together.  Points are 0-based image px,
image-left eye, image-right eye, nose, image-left and image-right mouth corner.
Image reading is never timed.
"""
import json
import sys
import time

import numpy as np
from PIL import Image, ImageOps

MATCH_IOU = 0.3
PAD = 0.5  # padding per side, as a share of the image's long side


def read_rgb(path):
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.ascontiguousarray(np.asarray(im.convert("RGB")))


def iou(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _variants(img):
    """(name, image, offset, scale): a face at p in the variant is at p / scale - offset."""
    h, w = img.shape[:2]
    yield "whole", img, 0, 1.0
    pad = int(round(PAD * max(h, w)))
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)))
    yield "padded", padded, pad, 1.0
    if max(h, w) <= 1024:
        up = np.asarray(Image.fromarray(img).resize((2 * w, 2 * h), Image.BILINEAR))
        yield "upscaled", up, 0, 2.0
        up_pad = np.asarray(Image.fromarray(padded).resize((2 * padded.shape[1], 2 * padded.shape[0]),
                                                           Image.BILINEAR))
        yield "padded+upscaled", up_pad, pad, 2.0


def _map_back(face, offset, scale):
    out = dict(face)
    out["box"] = [v / scale - offset for v in face["box"]]
    if face.get("points") is not None:
        out["points"] = [None if p is None else [p[0] / scale - offset, p[1] / scale - offset]
                         for p in face["points"]]
    return out


def landmarks_with_retries(detect, img, box, post=None):
    """detect(img) -> list of faces (dicts) in img's px.  -> (face or None, ms, tries).
    post(img, face) -> face: a second stage run on the kept face (timed too)."""
    best, best_iou, tries = None, -1.0, 0
    t0 = time.perf_counter()
    for _, var, offset, scale in _variants(img):
        tries += 1
        for face in detect(var):
            f = _map_back(face, offset, scale)
            o = iou(f["box"], box) if box is not None else 1.0
            if o > best_iou:
                best, best_iou = f, o
        if best_iou >= MATCH_IOU:
            break
    if best_iou < MATCH_IOU:
        best = None
    elif post is not None:
        best = post(img, best)
    ms = (time.perf_counter() - t0) * 1000
    return best, ms, tries


def serve(peer, task, detect, versions, settings, read=read_rgb, post=None, on_box=None):
    """The request loop.  detect(image) -> [{"box", "score", "points"}].
    post: see landmarks_with_retries.  on_box(img, box) -> face: task "gtbox"
    (a landmark stage run on the given box, no detector)."""
    print(json.dumps({"ready": True, "peer": peer, "versions": versions, "settings": settings}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        out = {"id": req["id"]}
        try:
            img = read(req["image"])
            if task == "detect":
                repeat = int(req.get("repeat", 0))
                if repeat:
                    detect(img)  # warm-up
                times, faces = [], []
                for _ in range(max(1, repeat)):
                    t0 = time.perf_counter()
                    faces = detect(img)
                    times.append((time.perf_counter() - t0) * 1000)
                out.update(faces=faces, ms=float(np.median(times)), tries=1)
                if repeat:
                    out["ms_all"] = times
            elif task == "gtbox":
                t0 = time.perf_counter()
                face = on_box(img, req.get("box"))
                out.update(faces=[face], ms=(time.perf_counter() - t0) * 1000, tries=1)
            else:
                face, ms, tries = landmarks_with_retries(detect, img, req.get("box"), post)
                out.update(faces=[face] if face is not None else [], ms=ms, tries=tries)
        except Exception as e:  # one bad image must not end the run
            out.update(faces=[], ms=None, error=f"{type(e).__name__}: {e}")
        print(json.dumps(out), flush=True)


def base_args(min_face=True):
    """The flags every adapter takes; min_face=False for one that defines --min-face itself."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=("detect", "landmarks", "gtbox"), required=True)
    if min_face:
        ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--threads", type=int, default=1)
    return ap


def clean(faces):
    """Round for JSON; scores keep full precision: many confident faces score 0.99999+,
    and rounding would tie them and reorder the AP ranking."""
    out = []
    for f in faces:
        g = {"box": [round(float(v), 2) for v in f["box"]], "score": float(f.get("score", 1.0)),
             "points": None if f.get("points") is None else
             [None if p is None else [round(float(p[0]), 2), round(float(p[1]), 2)] for p in f["points"]]}
        if "extra" in f:
            g["extra"] = f["extra"]
        out.append(g)
    return out


def unavailable(peer, reason):
    """The adapter cannot run here (e.g. models not shipped): say so and stop."""
    print(json.dumps({"ready": False, "peer": peer, "reason": reason}), flush=True)
    sys.exit(0)


def single_thread_env(threads=1):
    """Set before the peer's library loads (the caller sets them too)."""
    import os
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
              "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(k, str(threads))
