"""Face detection average precision, as docs/METRICS.md defines it.

- AP at IoU >= 0.5, VOC all-point interpolation; detections sorted by score
  over the whole set; each gt matched at most once (VOC rule: a detection goes
  to the gt it overlaps most; if that gt is taken, the detection is an FP).
- gt marked invalid is ignored: a detection matched to it is neither TP nor FP.
- Size buckets by gt box height: large >= 50 px, medium 20-50 px, small < 20.
  For a bucket, detections matched to gt of other buckets are ignored; an
  unmatched detection is an FP of the bucket its own height falls in.
"""
import numpy as np

from .boxes import iou_matrix
from .wider import WIDER_ATTRIBUTES

BUCKETS = {"large": (50.0, np.inf), "medium": (20.0, 50.0), "small": (0.0, 20.0)}


def bucket_of(heights):
    heights = np.asarray(heights, dtype=np.float64)
    out = np.empty(heights.shape, dtype=object)
    for name, (lo, hi) in BUCKETS.items():
        out[(heights >= lo) & (heights < hi)] = name
    return out


def voc_ap(recall, precision):
    """VOC all-point interpolated AP from recall/precision arrays (detections in score order)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


def match_detections(dets, gts, invalid, iou_threshold=0.5):
    """Match one image's detections to its gt.

    dets (D, 5) x1 y1 x2 y2 score; gts (G, 4); invalid (G,) bool.
    -> matched (D,) int: index of the gt a detection is a TP/ignore for, or -1.
    Detections are processed in score order (the global order restricted to the
    image gives the same greedy result).
    """
    dets = np.asarray(dets, dtype=np.float64).reshape(-1, 5)
    gts = np.asarray(gts, dtype=np.float64).reshape(-1, 4)
    matched = np.full(len(dets), -1, dtype=np.int64)
    if len(dets) == 0 or len(gts) == 0:
        return matched
    ious = iou_matrix(dets[:, :4], gts)
    taken = np.zeros(len(gts), dtype=bool)
    for d in np.argsort(-dets[:, 4], kind="stable"):
        g = int(np.argmax(ious[d]))
        if ious[d, g] < iou_threshold:
            continue
        if invalid[g]:
            matched[d] = g  # ignored, whether or not the gt was hit before
        elif not taken[g]:
            taken[g] = True
            matched[d] = g
    return matched


def recall_by_attribute(detections, ground_truth, iou_threshold=0.5, buckets=("large", "medium")):
    """Where the PR curve ends, split by WIDER's face attributes: for each bucket,
    attribute and value, (valid faces, faces found), a face found when a detection
    is matched to it by evaluate()'s rule (all detections kept, so the recalls are
    evaluate()'s recall at the end of the curve, per attribute value).

    -> {bucket: {attribute: {value: (n, found)}}}, attributes as in wider.WIDER_ATTRIBUTES.
    Why: the faces a detector misses differ between sets by what they look like (on
    wider_eval most medium faces are heavily blurred, on wider_train few), and a recall
    per kind of face tells a weaker detector from a harder set (docs/TRAINING.md)."""
    out = {b: {a: {} for a in WIDER_ATTRIBUTES} for b in buckets}
    for rec in ground_truth:
        gts, invalid = rec.boxes, rec.invalid
        if len(gts) == 0:
            continue
        dets = np.asarray(detections.get(rec.name, np.zeros((0, 5))), dtype=np.float64).reshape(-1, 5)
        found = np.zeros(len(gts), dtype=bool)
        m = match_detections(dets, gts, invalid, iou_threshold)
        found[m[m >= 0]] = True
        gt_b = bucket_of(gts[:, 3] - gts[:, 1])
        values = {a: rec.attribute(a) for a in WIDER_ATTRIBUTES}
        for g in np.where(~invalid)[0]:
            if gt_b[g] not in out:
                continue
            for a, v in values.items():
                n, f = out[gt_b[g]][a].get(int(v[g]), (0, 0))
                out[gt_b[g]][a][int(v[g])] = (n + 1, f + int(found[g]))
    return {b: {a: dict(sorted(v.items())) for a, v in attrs.items()} for b, attrs in out.items()}


def evaluate(detections, ground_truth, iou_threshold=0.5):
    """AP overall and per size bucket.

    detections: dict name -> (D, 5) array; ground_truth: list of WiderImage.
    -> dict with ap_all, ap_large, ap_medium, ap_small (fractions 0..1), the
    counts, and 'curves' {bucket: (recall, precision)} for plotting.
    """
    scores, det_bucket, gt_bucket_of_det, status = [], [], [], []
    n_pos = {"all": 0, **{b: 0 for b in BUCKETS}}
    for rec in ground_truth:
        gts, invalid = rec.boxes, rec.invalid
        gt_b = bucket_of(gts[:, 3] - gts[:, 1]) if len(gts) else np.zeros(0, dtype=object)
        for b in BUCKETS:
            n_pos[b] += int(np.sum((gt_b == b) & ~invalid))
        n_pos["all"] += int(np.sum(~invalid))
        dets = np.asarray(detections.get(rec.name, np.zeros((0, 5))), dtype=np.float64).reshape(-1, 5)
        if len(dets) == 0:
            continue
        m = match_detections(dets, gts, invalid, iou_threshold)
        for d in range(len(dets)):
            scores.append(dets[d, 4])
            det_bucket.append(bucket_of(dets[d, 3] - dets[d, 1])[()])
            if m[d] < 0:
                status.append("fp")
                gt_bucket_of_det.append(None)
            else:
                status.append("ignore" if invalid[m[d]] else "tp")
                gt_bucket_of_det.append(gt_b[m[d]])
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    status = np.asarray(status, dtype=object)[order] if len(order) else np.zeros(0, dtype=object)
    det_bucket = np.asarray(det_bucket, dtype=object)[order] if len(order) else np.zeros(0, dtype=object)
    gt_bucket_of_det = np.asarray(gt_bucket_of_det, dtype=object)[order] if len(order) else np.zeros(0, dtype=object)

    result = {"n_images": len(ground_truth), "n_detections": int(len(scores)),
              "n_gt": dict(n_pos), "curves": {}}
    for b in ["all", *BUCKETS]:
        if b == "all":
            tp = status == "tp"
            fp = status == "fp"
        else:
            tp = (status == "tp") & (gt_bucket_of_det == b)
            fp = (status == "fp") & (det_bucket == b)
        use = tp | fp
        tp_c = np.cumsum(tp[use]).astype(np.float64)
        fp_c = np.cumsum(fp[use]).astype(np.float64)
        if n_pos[b] == 0:
            result[f"ap_{b}"] = float("nan")
            result["curves"][b] = (np.zeros(0), np.zeros(0))
            continue
        recall = tp_c / n_pos[b]
        precision = tp_c / np.maximum(tp_c + fp_c, 1e-12)
        result[f"ap_{b}"] = voc_ap(recall, precision)
        result["curves"][b] = (recall, precision)
    return result


def plot_pr(result, path, title="PR curves"):
    """PR curves of every bucket into a PNG (matplotlib Agg)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for b, (rec, prec) in result["curves"].items():
        if len(rec):
            ax.plot(rec, prec, label=f"{b}: AP {100 * result[f'ap_{b}']:.1f}% (n={result['n_gt'][b]})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left")
    ax.set_title(title)
    fig.tight_layout()
    from pathlib import Path
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(path)
