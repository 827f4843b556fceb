"""Box arithmetic for the MTCNN detector and its sampling (numpy, vectorised).

Boxes are float arrays (N, 4) of corners x1 y1 x2 y2 in 0-based pixels, x right,
y down; a box covers [x1, x2) x [y1, y2), so its width is x2 - x1 (no "+1" of
the MATLAB code: widths and IoUs are the same at every scale that way).
Boxes with scores are (N, 5): the score in column 4.
"""
import numpy as np


def area(boxes):
    boxes = np.asarray(boxes, dtype=np.float64)
    return np.maximum(boxes[..., 2] - boxes[..., 0], 0) * np.maximum(boxes[..., 3] - boxes[..., 1], 0)


def iou(box, boxes, mode="union"):
    """IoU of one box (4,) with boxes (N, 4).

    mode "union": intersection / union; "min": intersection / the smaller area
    (MTCNN's last NMS uses it so that a small box inside a big one is removed).
    """
    return iou_matrix(np.asarray(box, dtype=np.float64)[None, :4], boxes, mode)[0]


def iou_matrix(a, b, mode="union"):
    """IoU of every box in a (N, 4+) with every box in b (M, 4+) -> (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1])[:, :4]
    b = np.asarray(b, dtype=np.float64).reshape(-1, np.shape(b)[-1])[:, :4]
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.maximum(iw, 0) * np.maximum(ih, 0)
    area_a, area_b = area(a)[:, None], area(b)[None, :]
    if mode == "union":
        denom = area_a + area_b - inter
    elif mode == "min":
        denom = np.minimum(area_a, area_b)
    else:
        raise ValueError(f"IoU mode must be 'union' or 'min', not {mode!r}")
    return np.where(denom > 0, inter / np.maximum(denom, 1e-12), 0.0)


def nms(boxes, threshold, mode="union", scores=None):
    """Greedy non-maximum suppression -> indices kept, best score first.

    A box is dropped when its IoU (mode) with an already kept, higher-scored
    box is above `threshold` (ties in score: the earlier box ranks higher).
    Scores default to column 4 of `boxes`.

    The result is the greedy loop's, computed without comparing every kept box
    with every other one: only boxes that overlap can suppress each other, so
    the pairs over `threshold` are found first (overlapping_pairs, vectorised)
    and the greedy pass walks those pairs only.  P-Net hands NMS
    thousands of boxes per pyramid level; this is what keeps it cheap.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if mode not in ("union", "min"):
        raise ValueError(f"NMS mode must be 'union' or 'min', not {mode!r}")
    if not 0 <= threshold <= 1:
        raise ValueError(f"NMS threshold must be in [0, 1], got {threshold}")
    n = len(boxes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    scores = boxes[:, 4] if scores is None else np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    a, b = overlapping_pairs(boxes, threshold, mode)
    # each pair: the higher-ranked box may suppress the other
    winner = np.where(rank[a] < rank[b], a, b)
    loser = a + b - winner
    by_rank = np.argsort(rank[winner], kind="stable")
    winner, loser = winner[by_rank], loser[by_rank]
    suppressed = np.zeros(n, dtype=bool)
    if len(winner):
        starts = np.flatnonzero(np.r_[True, winner[1:] != winner[:-1]])
        ends = np.r_[starts[1:], len(winner)]
        for i, lo, hi in zip(winner[starts].tolist(), starts.tolist(), ends.tolist()):
            if not suppressed[i]:  # kept: boxes are visited best first
                suppressed[loser[lo:hi]] = True
    return order[~suppressed[order]]


def soft_nms(boxes, sigma=0.5, iou_floor=0.3, min_score=0.0, mode="union"):
    """Gaussian soft-NMS (Bodla et al., ICCV 2017) -> (indices, scores), best first.

    Greedy like `nms`, but the highest-scored remaining box lowers the scores of
    the boxes it overlaps instead of removing them: a score s becomes
    s * exp(-IoU^2 / sigma) where IoU (mode) > iou_floor.  A box leaves once its
    score is below `min_score`.  Duplicates of a face (IoU near 1) drop far
    down the ranking; a second face partly hidden by the first keeps a usable
    score, and faces side by side (IoU <= iou_floor) keep theirs.  Scores in
    column 4 of `boxes`; returns the kept boxes' indices and their new scores.

    Filtering the result at a score t gives the same boxes and scores as a run
    with min_score = t: a box below t can only lower boxes scored lower still.
    Quadratic time in the number of boxes (linear memory): meant for the few
    boxes O-Net passes.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if mode not in ("union", "min"):
        raise ValueError(f"soft-NMS mode must be 'union' or 'min', not {mode!r}")
    if sigma <= 0:
        raise ValueError(f"soft-NMS sigma must be > 0, got {sigma}")
    scores = boxes[:, 4].copy() if len(boxes) else np.zeros(0)
    live = np.flatnonzero(scores >= min_score)  # indices into boxes, in input order
    scores = scores[live]
    kept, kept_scores = [], []
    while len(live):
        # the best live box (ties: the earlier box, as in nms); one IoU row per
        # kept box keeps memory linear in the number of boxes
        j = int(np.argmax(scores))
        kept.append(live[j])
        kept_scores.append(scores[j])
        live, scores = np.delete(live, j), np.delete(scores, j)
        o = iou_matrix(boxes[kept[-1]][None], boxes[live], mode)[0]
        scores = np.where(o > iou_floor, scores * np.exp(-(o * o) / sigma), scores)
        still = scores >= min_score
        live, scores = live[still], scores[still]
    return np.asarray(kept, dtype=np.int64), np.asarray(kept_scores, dtype=np.float64)


def drop_nested(boxes, cover=0.7, area_ratio=2.0):
    """Boxes that lie inside a better, larger box, dropped -> indices kept, best score first.

    Greedy like `nms`: box i is dropped when an already kept, higher-scored box
    k covers at least `cover` of i's area (IoU over the smaller box) and is at
    least `area_ratio` times i's area: a mouth, an eye or a nose found inside a
    face.  A box of about the same size as the better one (a duplicate, or two
    faces side by side) is left to the NMS before it, and a larger box is
    never dropped for a smaller one inside it.  Scores in column 4.  Quadratic
    in the number of boxes: meant for the few boxes O-Net passes.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    if not 0 < cover <= 1:
        raise ValueError(f"nested-box cover must be in (0, 1], got {cover}")
    if area_ratio < 1:
        raise ValueError(f"nested-box area ratio must be >= 1, got {area_ratio}")
    n = len(boxes)
    order = np.argsort(-boxes[:, 4], kind="stable") if n else np.zeros(0, dtype=np.int64)
    b = boxes[order]
    inside = iou_matrix(b[:, :4], b[:, :4], "min") >= cover
    a = area(b)
    larger = a[:, None] >= area_ratio * a[None, :]  # [k, i]: k at least area_ratio x i
    dropped = np.zeros(n, dtype=bool)
    for i in range(n):
        k = np.flatnonzero(inside[:i, i] & larger[:i, i] & ~dropped[:i])
        dropped[i] = len(k) > 0
    return order[~dropped]


def overlapping_pairs(boxes, threshold, mode="union", candidates="auto", max_pairs=1 << 22):
    """Index pairs (a, b) of boxes (N, 4+) whose IoU (mode) is above threshold >= 0,
    each unordered pair once.

    Only boxes that overlap can qualify; the candidate pairs come from one of two
    vectorised generators (candidates "sweep" or "grid"; "auto" takes the one
    with fewer candidates for these boxes): sweep_runs suits boxes of mixed
    sizes (P-Net's candidates across scales), grid_runs boxes of one size (those
    of one pyramid level).  The candidates are expanded and filtered in slices
    of at most max_pairs."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    generators = {"sweep": sweep_runs, "grid": grid_runs}
    if candidates == "auto":
        order, owner, starts, counts = min((g(boxes) for g in generators.values()), key=lambda r: r[3].sum())
    else:
        order, owner, starts, counts = generators[candidates](boxes)
    cum = np.cumsum(counts)
    firsts, seconds = [], []
    lo = 0
    while lo < len(counts):
        # the runs [lo, hi) hold at most max_pairs candidates (one run may exceed it)
        base = cum[lo - 1] if lo else 0
        hi = max(lo + 1, int(np.searchsorted(cum, base + max_pairs, side="right")))
        c = counts[lo:hi]
        total = int(c.sum())
        if total:
            i = np.repeat(owner[lo:hi], c)
            j = np.repeat(starts[lo:hi], c) + (np.arange(total) - np.repeat(np.cumsum(c) - c, c))
            i, j = order[i], order[j]
            iw = np.maximum(np.minimum(x2[i], x2[j]) - np.maximum(x1[i], x1[j]), 0)
            ih = np.maximum(np.minimum(y2[i], y2[j]) - np.maximum(y1[i], y1[j]), 0)
            inter = iw * ih
            denom = areas[i] + areas[j] - inter if mode == "union" else np.minimum(areas[i], areas[j])
            overlap = np.where(denom > 0, inter / np.maximum(denom, 1e-12), 0.0)
            hit = overlap > threshold
            firsts.append(i[hit])
            seconds.append(j[hit])
        lo = hi
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def sweep_runs(boxes):
    """Candidate pairs of overlapping_pairs as runs: with the boxes sorted by x1
    (`order`), the box at position p is paired with the `count` boxes from
    position `start` on; here those after it while their x1 < its x2 (a pair
    that does not overlap in x has no intersection).  -> order, owner, start, count."""
    x1, x2 = boxes[:, 0], boxes[:, 2]
    order = np.argsort(x1, kind="stable")
    pos = np.arange(len(boxes))
    ends = np.searchsorted(x1[order], x2[order], side="left")
    return order, pos, pos + 1, np.maximum(ends - pos - 1, 0)


def grid_runs(boxes):
    """Candidate pairs of overlapping_pairs as runs (see sweep_runs), from a grid:
    two boxes can only overlap when their top-left corners are less than the
    longest box side G apart in x and in y, so the corners are bucketed on a
    grid of (slightly more than) G, and a box is paired with the later boxes of
    its own bucket and with the boxes of 4 of its 8 neighbour buckets (the other
    4 pair with it from their side).  `order` sorts the boxes by bucket, so a
    bucket is one run."""
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    n = len(boxes)
    side = max(float(np.max(x2 - x1)), float(np.max(y2 - y1)), 0.0)
    # any cell >= side works: (1 + 1e-9) so that rounding never splits a gap < side over
    # two cell borders, and at most 2^20 cells a side so that the keys fit in int64
    span = max(float(np.ptp(x1)), float(np.ptp(y1)))
    cell = max(side * (1 + 1e-9) + 1e-9, span / 2 ** 20)
    bx = np.floor((x1 - x1.min()) / cell).astype(np.int64)
    by = np.floor((y1 - y1.min()) / cell).astype(np.int64) + 1  # +1: by - 1 >= 0, no wrap into the next column
    rows = int(by.max()) + 2
    key = bx * rows + by
    order = np.argsort(key, kind="stable")
    keys = key[order]
    pos = np.arange(n)
    starts = [pos + 1]
    counts = [np.searchsorted(keys, keys, side="right") - pos - 1]
    for offset in (rows - 1, rows, rows + 1, 1):  # neighbours (x+1, y-1), (x+1, y), (x+1, y+1), (x, y+1)
        lo = np.searchsorted(keys, keys + offset, side="left")
        starts.append(lo)
        counts.append(np.searchsorted(keys, keys + offset, side="right") - lo)
    return order, np.tile(pos, 5), np.concatenate(starts), np.concatenate(counts)


def regression_targets(crops, gt):
    """Offsets the nets learn: (gt corner - crop corner) / crop side, per corner.

    crops (N, 4) and gt (N, 4) -> (N, 4) [dx1, dy1, dx2, dy2].
    """
    crops = np.asarray(crops, dtype=np.float64)[:, :4]
    gt = np.asarray(gt, dtype=np.float64)[:, :4]
    w = (crops[:, 2] - crops[:, 0])[:, None]
    h = (crops[:, 3] - crops[:, 1])[:, None]
    return (gt - crops) / np.concatenate([w, h, w, h], axis=1)


def apply_regression(boxes, offsets):
    """Inverse of regression_targets: crop boxes (N, 4+) + offsets (N, 4) -> boxes.

    Extra columns of `boxes` (the score) are kept.
    """
    boxes = np.array(boxes, dtype=np.float64, copy=True)
    offsets = np.asarray(offsets, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    boxes[:, 0] += offsets[:, 0] * w
    boxes[:, 1] += offsets[:, 1] * h
    boxes[:, 2] += offsets[:, 2] * w
    boxes[:, 3] += offsets[:, 3] * h
    return boxes


def square(boxes):
    """Squares with the same centre and side = the longer side (MTCNN's rerec)."""
    boxes = np.array(boxes, dtype=np.float64, copy=True)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    cx = boxes[:, 0] + w / 2
    cy = boxes[:, 1] + h / 2
    boxes[:, 0] = cx - side / 2
    boxes[:, 1] = cy - side / 2
    boxes[:, 2] = cx + side / 2
    boxes[:, 3] = cy + side / 2
    return boxes


def crop_resize(image, boxes, size, out=None):
    """Crop boxes (N, 4+) out of `image` (H x W x 3 uint8), zero-padded where
    they leave the image, each resized to size x size -> (N, size, size, 3) uint8.

    Boxes are rounded to integer pixels first (as the reference pad() does).
    One small cv2.resize per box: the remap itself is the cost, Python's loop
    over a few hundred candidates is not.
    """
    import cv2

    boxes = np.asarray(boxes, dtype=np.float64)
    n = len(boxes)
    if out is None:
        out = np.zeros((n, size, size, 3), dtype=np.uint8)
    if n == 0:
        return out
    h, w = image.shape[:2]
    ib = np.round(boxes[:, :4]).astype(np.int64)
    ib[:, 2] = np.maximum(ib[:, 2], ib[:, 0] + 1)
    ib[:, 3] = np.maximum(ib[:, 3], ib[:, 1] + 1)
    sx1, sy1 = np.clip(ib[:, 0], 0, w), np.clip(ib[:, 1], 0, h)
    sx2, sy2 = np.clip(ib[:, 2], 0, w), np.clip(ib[:, 3], 0, h)
    for i in range(n):
        bw, bh = ib[i, 2] - ib[i, 0], ib[i, 3] - ib[i, 1]
        if sx2[i] <= sx1[i] or sy2[i] <= sy1[i]:
            out[i] = 0
            continue
        patch = image[sy1[i]:sy2[i], sx1[i]:sx2[i]]
        if sx1[i] != ib[i, 0] or sy1[i] != ib[i, 1] or sx2[i] != ib[i, 2] or sy2[i] != ib[i, 3]:
            canvas = np.zeros((bh, bw, 3), dtype=np.uint8)
            oy, ox = sy1[i] - ib[i, 1], sx1[i] - ib[i, 0]
            canvas[oy:oy + patch.shape[0], ox:ox + patch.shape[1]] = patch
            patch = canvas
        interp = cv2.INTER_AREA if bw > size else cv2.INTER_LINEAR
        out[i] = cv2.resize(patch, (size, size), interpolation=interp)
    return out


def xywh_to_xyxy(boxes):
    boxes = np.array(boxes, dtype=np.float64, copy=True).reshape(-1, 4)
    boxes[:, 2] += boxes[:, 0]
    boxes[:, 3] += boxes[:, 1]
    return boxes
