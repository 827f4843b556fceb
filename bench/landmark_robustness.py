#!/usr/bin/env python3
"""Landmark robustness: the cuhk test faces transformed with their points, NME
and failure (NME > 10 %) per condition, level 1 and cascade, for the shipped
models, an optional candidate model folder, and mediapipe FaceMesh where
bench/setup_peers.sh installed it.

    python bench/landmark_robustness.py [--candidate DIR] [--limit N] [--no-peers]

Conditions (each deterministic: seeded per face and condition):
- upright: the image as it is, the list's face box;
- rot+30 ... rot180: the whole image turned (clockwise on screen for +) on a
  canvas grown to hold it, points turned along; the box: a box of the
  original's size centred on the turned box centre (what a rotation-aware
  detector would give);
- gray: grayscale as three equal channels; lowres20 / lowres12: the image
  shrunk until the eyes are 20 / 12 px apart and enlarged back; jpeg15: JPEG
  re-encoded at quality 15; occl_eye / occl_mouth: a solid rectangle of a
  random colour over one eye (alternately image-left and image-right) or over
  the mouth (facecascade.datagen.occluder_polygon, size 1); all with the box;
- tight80: an 80x80 crop framed like the MTFL crops (side 4.3x the largest
  centroid-to-point distance, centre shifted up to 5 % of the side), the
  cascade on the whole crop (no box); loose80: the same with side 8.5x.
Points keep their labels under rotation (point 1 is the eye that is
image-left when the face is upright).

HELD-OUT PART: tune and choose models on the even-indexed faces (0-based line
index of test_net7876.txt, "tune"); the odd-indexed faces ("held-out") are only
reported.  Both halves are printed.  --limit N takes N faces evenly spaced over
the list.  Prints the machine, a table per half, writes a PNG (cascade NME per
condition) and a JSON file under --out, and prints a JSON object last.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from peers.runner import PEERS, RESULT, pick, progress_printer, run_adapter
from tqdm import tqdm

from facecascade import datagen
from facecascade import geometry as geo
from facecascade.cascade import LandmarkCascade
from facecascade.images import read_image, write_image
from facecascade.machine import describe
from facecascade.metrics import FAILURE_THRESHOLD, nme_per_face
from facecascade.paths import DEMO_DATA, SHARED_DATA
from facecascade.records import read_cuhk

DEFAULT_LIST = SHARED_DATA / "cuhk_facepoint" / "test_net7876.txt"
ROTATIONS = (30, -30, 60, -60, 90, -90, 180)
CONDITIONS = ("upright", *[f"rot{a:+d}" if a != 180 else "rot180" for a in ROTATIONS],
              "gray", "lowres20", "lowres12", "jpeg15", "occl_eye", "occl_mouth", "tight80", "loose80")
TIGHT_FACTOR, LOOSE_FACTOR, CROP_PX = 4.3, 8.5, 80
BATCH = 64


def _turned_box(box, matrix):
    x1, y1, x2, y2 = box
    cx, cy = geo.apply_affine(matrix, [[(x1 + x2) / 2, (y1 + y2) / 2]])[0]
    hw, hh = (x2 - x1) / 2, (y2 - y1) / 2
    return (cx - hw, cy - hh, cx + hw, cy + hh)


def _framed(image, points, factor, rng):
    region = geo.point_frame(points, factor)
    shift = rng.uniform(-0.05, 0.05, 2) * region.width
    region = geo.Region(region.left + shift[0], region.top + shift[1], region.width, region.height)
    matrix = region.affine(CROP_PX)
    return geo.warp(image, matrix, CROP_PX), geo.apply_affine(matrix, points)


def transform(condition, image, points, box, rng, index):
    """-> (image, points, box or None for the whole image) of one face under `condition`."""
    if condition == "upright":
        return image, points, box
    if condition.startswith("rot"):
        img, pts, m = datagen.rotate_image(image, points, float(condition[3:]))
        return img, pts, _turned_box(box, m)
    if condition == "gray":
        return datagen.grayscale(image), points, box
    if condition.startswith("lowres"):
        return datagen.downscale_to_iod(image, points, float(condition[6:])), points, box
    if condition == "jpeg15":
        return datagen.jpeg_reencode(image, 15), points, box
    if condition.startswith("occl_"):
        part = condition[5:]
        poly = datagen.occluder_polygon(points, part, 1.0, which_eye=index % 2)
        return datagen.draw_occluder(image, poly, rng.integers(0, 256, 3)), points, box
    if condition in ("tight80", "loose80"):
        img, pts = _framed(image, points, TIGHT_FACTOR if condition == "tight80" else LOOSE_FACTOR, rng)
        return img, pts, None
    raise ValueError(f"unknown condition {condition!r}")


def faces_of(records, images, condition, seed):
    """The transformed faces of one condition, in order: [(image, points, box)]."""
    k = CONDITIONS.index(condition)
    return [transform(condition, img, rec.points, rec.box, np.random.default_rng([seed, i, k]), i)
            for i, (rec, img) in zip(indices_of(records), zip(records, images))]


def indices_of(records):
    return [r.extra["index"] for r in records]


def run_models(models, faces):
    """{label: (nme level 1 per face, nme cascade per face)} on `faces`."""
    gt = np.array([f[1] for f in faces])
    out = {}
    for label, cascade in models.items():
        l1, l2 = [], []
        for s in range(0, len(faces), BATCH):
            chunk = faces[s:s + BATCH]
            for res in cascade.predict_batch([f[0] for f in chunk], [f[2] for f in chunk]):
                l1.append(res.l1)
                l2.append(res.points)
        out[label] = (nme_per_face(np.array(l1), gt), nme_per_face(np.array(l2), gt))
    return out


def run_mediapipe(faces, condition, tmp):
    """mediapipe's 5 points on `faces` (its own detector, docs/ANCHORS.md protocol):
    nme per face with NaN where it found no face, or (None, reason)."""
    reqs = []
    for i, (img, pts, box) in enumerate(faces):
        path = Path(tmp) / f"{condition}_{i:05d}.png"
        write_image(path, img)
        b = box if box is not None else (-0.5, -0.5, img.shape[1] - 0.5, img.shape[0] - 0.5)
        reqs.append({"id": str(i), "image": str(path), "box": [float(v) for v in b]})
    info, answers = run_adapter("mediapipe", "landmarks", reqs, progress=progress_printer(f"mediapipe {condition}"))
    if not info.get("ready"):
        return None, info.get("reason", "not ready")
    nme = np.full(len(faces), np.nan)
    for i, (_, pts, _) in enumerate(faces):
        found = answers.get(str(i), {}).get("faces") or []
        if found and found[0].get("points") is not None and all(p is not None for p in found[0]["points"]):
            nme[i] = nme_per_face(np.array([found[0]["points"]]), np.array([pts]))[0]
    return nme, None


def summarise(nme):
    """NME % over faces found, failure % counting a face not found as a failure."""
    nme = np.asarray(nme, dtype=np.float64)
    found = np.isfinite(nme)
    fail = np.where(found, nme > FAILURE_THRESHOLD, True)
    return {"nme": round(float(np.mean(nme[found])) * 100, 2) if found.any() else None,
            "failure": round(float(np.mean(fail)) * 100, 2), "missed": int((~found).sum())}


def targets(table):
    """The issue's targets for one model on one half of the faces."""
    up = table["upright"]["l2"]["nme"]
    rot = max(table[c]["l2"]["nme"] for c in CONDITIONS if c.startswith("rot"))
    return {"rotated_worst_over_upright": round(rot / up, 3),
            "gray_over_colour": round(table["gray"]["l2"]["nme"] / up, 3),
            "tight80_nme": table["tight80"]["l2"]["nme"], "tight80_failure": table["tight80"]["l2"]["failure"],
            "l2_beats_l1_everywhere": all(table[c]["l2"]["nme"] < table[c]["l1"]["nme"] for c in CONDITIONS),
            "met": {"rotated<=1.3x": rot / up <= 1.3, "gray<=1.1x": table["gray"]["l2"]["nme"] / up <= 1.1,
                    "tight80<=5%,fail<=5%": (table["tight80"]["l2"]["nme"] <= 5.0
                                            and table["tight80"]["l2"]["failure"] <= 5.0)}}


def print_tables(results, labels, peer_label):
    for half in ("tune", "held-out"):
        print(f"\n{half} half ({'even' if half == 'tune' else 'odd'}-indexed faces of the list): "
              "NME % / failure % (level 1 | cascade)")
        head = ["condition"] + [f"{m} L1" for m in labels] + [f"{m} cascade" for m in labels]
        if peer_label:
            head.append(peer_label)
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for c in CONDITIONS:
            cells = [c]
            for lv in ("l1", "l2"):
                for m in labels:
                    s = results[m][half][c][lv]
                    cells.append(f"{s['nme']:.2f} / {s['failure']:.1f}")
            if peer_label:
                s = results[peer_label][half].get(c)
                cells.append("-" if s is None or s["nme"] is None else
                             f"{s['nme']:.2f} / {s['failure']:.1f} ({s['missed']} missed)")
            print("| " + " | ".join(cells) + " |")


def plot(results, labels, path):
    from facecascade.drawing import pyplot, save_figure
    plt = pyplot()
    fig, axes = plt.subplots(2, 1, figsize=(12, 7), sharex=True)
    x = np.arange(len(CONDITIONS))
    series = [(m, "l2") for m in labels] + [(m, "l1") for m in labels]
    width = 0.8 / len(series)
    for ax, half in zip(axes, ("tune", "held-out")):
        for k, (m, lv) in enumerate(series):
            vals = [results[m][half][c][lv]["nme"] for c in CONDITIONS]
            ax.bar(x + (k - len(series) / 2 + 0.5) * width, vals, width,
                   label=f"{m} {'cascade' if lv == 'l2' else 'level 1'}", alpha=1.0 if lv == "l2" else 0.45)
        ax.axhline(10, color="k", lw=0.5, ls=":")
        ax.set_ylabel("NME %")
        ax.set_yscale("log")
        ax.set_title(f"{half} half of cuhk test")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=2)
    axes[1].set_xticks(x)
    axes[1].set_xticklabels(CONDITIONS, rotation=45, ha="right")
    save_figure(fig, path)


def load_models(args):
    """The shipped cascade and, with --candidate, the candidate folder's: its l1 and
    cascade.json, and its l2 where it has one (else the shipped level 2)."""
    models = {"shipped": LandmarkCascade.from_shipped(backend="caffe")}
    if args.candidate:
        d = Path(args.candidate)
        l2 = d if (d / "l2.caffemodel").is_file() else DEMO_DATA
        card = d / "cascade.json"
        models["candidate"] = LandmarkCascade(d / "l1_deploy.prototxt", d / "l1.caffemodel",
                                              l2 / "l2_deploy.prototxt", l2 / "l2.caffemodel", backend="caffe",
                                              model_card=card if card.is_file() else DEMO_DATA / "cascade.json")
    return models


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("list", nargs="?", default=str(DEFAULT_LIST), help="CUHK-format list (default %(default)s)")
    ap.add_argument("--candidate", help="folder with l1_deploy.prototxt, l1.caffemodel, cascade.json and "
                                        "optionally l2_deploy.prototxt, l2.caffemodel (else the shipped level 2)")
    ap.add_argument("--limit", type=int, default=0, help="N faces evenly spaced over the list (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peers", action="store_true", help="skip mediapipe even where installed")
    ap.add_argument("--out", default=str(RESULT / "landmark_robustness"), help="folder for the PNG and JSON")
    args = ap.parse_args(argv)
    t0 = time.time()
    print(describe())
    records = read_cuhk(args.list)
    for i, r in enumerate(records):
        r.extra["index"] = i
    records = [records[i] for i in pick(len(records), args.limit)]
    images = [read_image(r.image, where=r.where) for r in tqdm(records, desc="reading", unit="img")]
    models = load_models(args)
    labels = list(models)
    peer = None if args.no_peers else "mediapipe"
    if peer:
        info = run_adapter(peer, "landmarks", [])[0]
        if not info.get("ready"):
            print(f"mediapipe skipped: {info.get('reason')}")
            peer = None
    halves = {"tune": np.array([i % 2 == 0 for i in indices_of(records)])}
    halves["held-out"] = ~halves["tune"]
    results = {m: {h: {} for h in halves} for m in labels + ([PEERS[peer]] if peer else [])}
    with tempfile.TemporaryDirectory() as tmp:
        for c in tqdm(CONDITIONS, desc="conditions", unit="cond"):
            faces = faces_of(records, images, c, args.seed)
            for m, (n1, n2) in run_models(models, faces).items():
                for h, mask in halves.items():
                    results[m][h][c] = {"l1": summarise(n1[mask]), "l2": summarise(n2[mask])}
            if peer:
                nme, _ = run_mediapipe(faces, c, tmp)
                for h, mask in halves.items():
                    results[PEERS[peer]][h][c] = None if nme is None else summarise(nme[mask])
    print_tables(results, labels, PEERS[peer] if peer else None)
    report = {"list": args.list, "faces": len(records), "seed": args.seed, "seconds": round(time.time() - t0, 1),
              "halves": {h: int(m.sum()) for h, m in halves.items()},
              "targets": {m: {h: targets(results[m][h]) for h in halves} for m in labels}, "results": results}
    print("\ntargets (cascade):")
    for m in labels:
        for h in halves:
            print(f"  {m:9s} {h:8s} {json.dumps(report['targets'][m][h])}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    plot(results, labels, out / "landmark_robustness.png")
    tmp_json = out / "landmark_robustness.json.part"
    tmp_json.write_text(json.dumps(report, indent=1))
    tmp_json.replace(out / "landmark_robustness.json")
    print(f"wrote {out / 'landmark_robustness.png'} and .json")
    print(json.dumps({k: report[k] for k in ("faces", "seconds", "halves", "targets")}))


if __name__ == "__main__":
    main()
