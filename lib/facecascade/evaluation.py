"""Evaluate the cascade on a landmark list (docs/METRICS.md): NME, per-point,
failure rate, CED + AUC@10 %, the seed's diagonal figure; CED plot and the
worst faces drawn.  Bad faces (unreadable images, coincident eyes, points outside
the image) are skipped and counted by facecascade.skips, before any is scored."""
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import drawing, metrics
from .atomic import write_text_atomic
from .images import read_image, write_image
from .records import POINT_NAMES
from .skips import Skips

BATCH = 64


def run_cascade(cascade, records, region="auto", batch=BATCH, progress=True, skips=None, score=False):
    """Predictions for every usable record (skips: facecascade.skips.Skips; default a
    new one).  score: also skip the faces whose points cannot be scored (skips.check_face).
    region: 'whole', 'box' (the record's box) or 'auto' (box when present).
    Returns (kept records, l1 (N,5,2), l2 (N,5,2) or None, l1 diagonals, l2 diagonals, skips)."""
    kept, l1, l2, d1, d2 = [], [], [], [], []
    skipped = Skips() if skips is None else skips
    todo = []

    def flush():
        if not todo:
            return
        imgs = [t[1] for t in todo]
        boxes = [t[2] for t in todo]
        for (rec, _, _), res in zip(todo, cascade.predict_batch(imgs, boxes)):
            kept.append(rec)
            l1.append(res.l1)
            d1.append(res.l1_region.diagonal)
            if res.l2 is not None:
                l2.append(res.l2)
                d2.append(res.l2_region.diagonal)
        todo.clear()

    for rec in tqdm(records, desc="faces", unit="face", disable=not progress):
        img = skipped.read(rec.image, where=rec.where)
        if img is None or (score and not skipped.check_face(rec, img.shape)):
            continue
        if region == "whole":
            box = None
        elif region == "box":
            if rec.box is None:
                raise ValueError(f"{rec.where}: --region box needs a face box; this list has none")
            box = rec.box
        else:
            box = rec.box
        todo.append((rec, img, box))
        if len(todo) >= batch:
            flush()
    flush()
    l1 = np.array(l1).reshape(-1, 5, 2)
    l2 = np.array(l2).reshape(-1, 5, 2) if l2 else None
    return kept, l1, l2, np.array(d1), np.array(d2), skipped


def plot_ced(curves, path, title):
    plt = drawing.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, nme in curves.items():
        x, y, auc = metrics.ced_auc(nme)
        ax.plot(x * 100, y, label=f"{label}: NME {np.mean(nme) * 100:.2f}%, AUC@10% {auc:.3f}")
    ax.set_xlabel("NME (% of inter-ocular distance)")
    ax.set_ylabel("share of faces")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title(title)
    drawing.save_figure(fig, path)


def draw_worst(records, gt, l1, l2, nme, out_dir, n=20):
    """The n faces with the largest final NME: ground truth green, level 1 red, level 2 blue."""
    out_dir = Path(out_dir)
    order = np.argsort(-nme)[:n]
    for rank, i in enumerate(order):
        img = read_image(records[i].image)
        drawing.draw_points(img, gt[i], drawing.GREEN)
        drawing.draw_points(img, l1[i], drawing.RED)
        if l2 is not None:
            drawing.draw_points(img, l2[i], drawing.BLUE)
        write_image(out_dir / f"{rank:02d}_nme{nme[i] * 100:.1f}_{Path(records[i].image).stem}.jpg", img)


def evaluate(cascade, records, region="auto", out_dir=None, worst=20, title="", progress=True, skips=None):
    """Figures of level 1 and the cascade on the same faces; NME/failure in %.
    "skipped" in the result: {reason: count} of skips (facecascade.skips), reading included."""
    kept, l1, l2, d1, d2, skipped = run_cascade(cascade, records, region, progress=progress, skips=skips,
                                                score=True)
    if not kept:
        raise ValueError(f"no usable face among {len(records)} records; first error: "
                         f"{skipped.messages[0] if skipped.messages else '-'}")
    gt = np.array([r.points for r in kept])
    s1 = metrics.summarize(l1, gt, d1)
    result = {"n": s1["n"], "skipped": skipped.counts(), "region": region,
              "nme_l1": s1["nme"], "failure_l1": s1["failure"], "auc10_l1": s1["auc10"],
              "diag_error_l1": s1["diag_error"], "diag_dropped_l1": s1["diag_dropped"],
              "nme_per_point_l1": dict(zip(POINT_NAMES, s1["nme_per_point"]))}
    curves = {"level 1": metrics.nme_per_face(l1, gt)}
    final = l1
    if l2 is not None:
        s2 = metrics.summarize(l2, gt, d2)
        result.update({"nme_l2": s2["nme"], "failure_l2": s2["failure"], "auc10_l2": s2["auc10"],
                       "diag_error_l2": s2["diag_error"], "diag_dropped_l2": s2["diag_dropped"],
                       "nme_per_point_l2": dict(zip(POINT_NAMES, s2["nme_per_point"]))})
        curves["cascade (level 2)"] = metrics.nme_per_face(l2, gt)
        final = l2
    if out_dir is not None:
        out_dir = Path(out_dir)
        plot_ced(curves, out_dir / "ced.png", title)
        draw_worst(kept, gt, l1, l2, metrics.nme_per_face(final, gt), out_dir / "worst", worst)
        write_text_atomic(out_dir / "metrics.json", json.dumps(result, indent=1))
    return result
