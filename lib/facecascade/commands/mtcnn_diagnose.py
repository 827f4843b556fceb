"""Where the detector loses faces, stage by stage, on wider_train images
(training images: a diagnosis of what the nets learnt, not an accuracy figure)
or, with --gt, on any WIDER-format set (on wider_eval it shows where test faces
are lost; a diagnosis, the accuracy figure is mtcnn/evaluate.py's AP).

For --limit N wider_train images evenly spaced over the file, faces >= 20 px:
  - recall at IoU 0.5 after P-Net, R-Net and O-Net (medium 20-49, large >= 50, all);
  - faces P-Net found but R-Net dropped: the best IoU of their P-Net boxes and
    the highest R-Net score among those boxes;
  - faces R-Net found but O-Net dropped: rejected by score (< threshold), lost
    by O-Net's box regression (IoU < 0.5 after it), or by the final NMS, with
    O-Net's score and the IoU of the R-Net box it saw;
  - box regression: IoU with the face of the best box going into R-Net and of
    R-Net's output, for the faces R-Net keeps.
The last line printed is one JSON object.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.boxes import apply_regression, iou_matrix
from facecascade.images import read_image
from facecascade.mtcnn import add_detector_arguments, detector_from_args
from facecascade.paths import SHARED_DATA
from facecascade.wider import read_wider

BUCKETS = {"medium": (20, 50), "large": (50, np.inf), "all": (20, np.inf)}


def best_iou(gts, boxes):
    """(G,) best IoU of each face with any box (0 without boxes)."""
    if len(gts) == 0 or len(boxes) == 0:
        return np.zeros(len(gts))
    return iou_matrix(gts, boxes[:, :4]).max(axis=1)


def pct(values, q=(10, 50, 90)):
    return [round(float(v), 3) for v in np.percentile(values, q)] if len(values) else None


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_detector_arguments(ap)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "wider_train")
    ap.add_argument("--gt", type=Path, default=None,
                    help="WIDER-format ground truth, images in <its folder>/images "
                         "(default: <--data>/wider_train_bbx_gt.txt)")
    # --limit as in evaluate.py (an image count); here the N images are spread over the file
    ap.add_argument("--limit", type=int, default=80, help="N images evenly spaced over the gt file")
    args = ap.parse_args(argv)
    gt_file = args.gt or args.data / "wider_train_bbx_gt.txt"
    image_dir = gt_file.parent / "images"
    recs = read_wider(gt_file)
    recs = recs[::max(1, len(recs) // args.limit)][:args.limit]
    det = detector_from_args(args)
    n_faces = {b: 0 for b in BUCKETS}
    found = {s: {b: 0 for b in BUCKETS} for s in ("pnet", "rnet", "onet")}
    r_lost_iou, r_lost_score, o_lost_score, o_lost_iou = [], [], [], []
    o_lost = {"score": 0, "regression": 0, "nms": 0}
    r_in, r_out = [], []
    for rec in tqdm(recs, desc="diagnose", file=sys.stderr):
        img = read_image(image_dir / rec.name, where=f"{gt_file.name}:{rec.line}")
        gts = rec.boxes[(rec.boxes[:, 3] - rec.boxes[:, 1]) >= det.min_face]
        if len(gts) == 0:
            continue
        height = gts[:, 3] - gts[:, 1]
        p_boxes, levels = det.pnet_stage(img)
        r_boxes = det.rnet_stage(img, p_boxes, levels)
        o_boxes, _ = det.onet_stage(img, r_boxes, levels)
        hit = {s: best_iou(gts, b) >= 0.5 for s, b in (("pnet", p_boxes), ("rnet", r_boxes), ("onet", o_boxes))}
        for b, (lo, hi) in BUCKETS.items():
            sel = (height >= lo) & (height < hi)
            n_faces[b] += int(sel.sum())
            for s in hit:
                found[s][b] += int((hit[s] & sel).sum())
        if len(p_boxes):
            p_iou = iou_matrix(gts, p_boxes[:, :4])
            r_score, _, _ = det.score_boxes("rnet", img, p_boxes, levels)
            for g in np.nonzero(hit["pnet"] & ~hit["rnet"])[0]:
                r_lost_iou.append(p_iou[g].max())
                r_lost_score.append(r_score[p_iou[g] >= 0.5].max())
            r_best_in = p_iou.max(axis=1)
            r_best_out = best_iou(gts, r_boxes)
            keep = hit["rnet"]
            r_in += r_best_in[keep].tolist()
            r_out += r_best_out[keep].tolist()
        if len(r_boxes):
            o_score, o_reg, _ = det.score_boxes("onet", img, r_boxes, levels)
            regressed = apply_regression(np.column_stack([r_boxes[:, :4], o_score]), o_reg)
            in_iou, out_iou = iou_matrix(gts, r_boxes[:, :4]), iou_matrix(gts, regressed[:, :4])
            for g in np.nonzero(hit["rnet"] & ~hit["onet"])[0]:
                j = int(np.argmax(in_iou[g]))
                o_lost_score.append(o_score[j])
                o_lost_iou.append(in_iou[g, j])
                if o_score[j] < det.thresholds[2]:
                    o_lost["score"] += 1
                elif out_iou[g, j] < 0.5:
                    o_lost["regression"] += 1
                else:
                    o_lost["nms"] += 1
    out = {
        "model_dir": str(args.model_dir), "gt": str(gt_file), "n_images": len(recs), "n_faces": n_faces,
        "recall_pct": {s: {b: round(100 * found[s][b] / max(n_faces[b], 1), 1) for b in BUCKETS} for s in found},
        "rnet_dropped": {"n": len(r_lost_iou), "best_pnet_iou_p10_50_90": pct(r_lost_iou),
                         "max_rnet_score_p10_50_90": pct(r_lost_score)},
        "onet_dropped": {"n": sum(o_lost.values()), **o_lost, "onet_score_p10_50_90": pct(o_lost_score),
                         "rnet_box_iou_p10_50_90": pct(o_lost_iou)},
        "rnet_kept_iou_median": {"in": round(float(np.median(r_in)), 3) if r_in else None,
                                 "out": round(float(np.median(r_out)), 3) if r_out else None},
    }
    for s in found:
        print(f"recall after {s}: " + ", ".join(f"{b} {out['recall_pct'][s][b]}%" for b in BUCKETS))
    print(json.dumps(out))

