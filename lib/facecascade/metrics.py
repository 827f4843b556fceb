"""Landmark metrics as defined in docs/METRICS.md (errors in original image px).

- NME: per face, mean over the 5 points of |pred - gt| / |gt_left_eye - gt_right_eye|;
  reported as the mean over faces, in %.  Per-point NME likewise.
- failure rate: % of faces with NME > 10 %.
- CED on [0, 10 %] and AUC@10 % = area under it / 0.10 (0..1).
- the seed's figure: per-point error / diagonal of the image the level ran on,
  averaged; a face with this error >= 0.1 is "dropped".
"""
import numpy as np

FAILURE_THRESHOLD = 0.10


def point_errors(pred, gt):
    """(N, 5) Euclidean errors in px."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1, 5, 2)
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 5, 2)
    return np.linalg.norm(pred - gt, axis=2)


def interocular(gt):
    gt = np.asarray(gt, dtype=np.float64).reshape(-1, 5, 2)
    d = np.linalg.norm(gt[:, 0] - gt[:, 1], axis=1)
    if np.any(d <= 0):
        raise ValueError("ground truth with coincident eyes: inter-ocular distance is 0")
    return d


def nme_per_face(pred, gt):
    """(N,) NME of each face as a fraction (not %)."""
    return point_errors(pred, gt).mean(axis=1) / interocular(gt)


def nme_per_point(pred, gt):
    """(5,) mean normalised error of each point, as a fraction."""
    return (point_errors(pred, gt) / interocular(gt)[:, None]).mean(axis=0)


def ced_auc(nme, limit=FAILURE_THRESHOLD, steps=1000):
    """(thresholds, cumulative share, AUC in 0..1) of the CED on [0, limit]."""
    nme = np.asarray(nme, dtype=np.float64)
    x = np.linspace(0.0, limit, steps + 1)
    if nme.size == 0:
        return x, np.zeros_like(x), 0.0
    y = (nme[None, :] <= x[:, None]).mean(axis=1)
    auc = float(np.trapezoid(y, x) / limit)
    return x, y, auc


def diagonal_error(pred, gt, diagonals):
    """The seed's figure: (N,) mean point error / diagonal of the image the level ran on."""
    d = np.asarray(diagonals, dtype=np.float64).reshape(-1)
    return point_errors(pred, gt).mean(axis=1) / d


def summarize(pred, gt, diagonals=None):
    """All landmark figures for one prediction set; NME and failure in %."""
    per_face = nme_per_face(pred, gt)
    _, _, auc = ced_auc(per_face)
    out = {
        "n": int(per_face.size),
        "nme": float(per_face.mean() * 100) if per_face.size else float("nan"),
        "failure": float((per_face > FAILURE_THRESHOLD).mean() * 100) if per_face.size else float("nan"),
        "auc10": auc,
        "nme_per_point": [float(v * 100) for v in nme_per_point(pred, gt)] if per_face.size else [],
    }
    if diagonals is not None:
        diag = diagonal_error(pred, gt, diagonals)
        out["diag_error"] = float(diag.mean() * 100)
        out["diag_dropped"] = float((diag >= 0.1).mean() * 100)
    return out
