"""MTCNN's geometry: the image pyramid, P-Net's cells as boxes, and the one crop of
candidate boxes (R-Net, O-Net and the training samplers all crop with crop_from_levels).

A P-Net output cell (x, y) at scale s is the box [2x, 2y, 2x+12, 2y+12] / s.
"""
import cv2
import numpy as np

from ..runtime import PIXEL_MEAN as MEAN
from ..runtime import PIXEL_SCALE as SCALE

PNET_STRIDE, PNET_CELL = 2, 12
REMAP_MAX_ROWS = 32766
# Large-face levels: the pyramid levels whose 12 px window stands for faces of LARGE_FACE px
# and up; between them the pyramid may step by a finer factor (DetectorConfig.large_factor).
LARGE_FACE = 50.0


def large_step(factor, large_factor):
    """The pyramid's step between the large-face levels, None for `factor` throughout:
    large_factor equal to factor gives the reference's scales exactly (powers of one
    factor), not products of the same powers that differ in the last bits."""
    return None if large_factor is None or large_factor == factor else float(large_factor)


def pyramid_scales(height, width, min_face=20, factor=0.709, min_size=PNET_CELL, large_factor=None,
                   large_face=LARGE_FACE):
    """Scales at which P-Net's 12 px window covers faces of min_face px and up.

    large_factor (None or factor: factor throughout, as the reference): the step between
    the levels that look for faces of large_face px and up, from the first such level on
    (a finer step there costs little: those levels are small)."""
    large_factor = large_step(factor, large_factor)
    for name, f in (("factor", factor), ("large factor", large_factor)):
        if f is not None and not 0 < f < 1:
            raise ValueError(f"pyramid {name} must be in (0, 1), got {f}")
    if min_face <= 0:
        raise ValueError(f"min face must be > 0, got {min_face}")
    m = min_size / float(min_face)
    short = min(height, width) * m
    scales = []
    k = j = 0  # steps of factor, then of large_factor (powers, not a running product: the reference's scales)
    while short * factor ** k * (large_factor or 1.0) ** j >= min_size:
        scales.append(m * factor ** k * (large_factor or 1.0) ** j)
        if large_factor is not None and min_size / scales[-1] >= large_face:
            j += 1
        else:
            k += 1
    return scales


def cells_to_boxes(prob, offsets, scale, threshold):
    """P-Net output maps of one level -> candidate boxes (N, 9) in image pixels.

    prob (H', W') face probabilities; offsets (4, H', W').  Columns: x1 y1 x2 y2
    score dx1 dy1 dx2 dy2 (the regression is applied later, after NMS).
    """
    ys, xs = np.nonzero(prob >= threshold)
    if len(ys) == 0:
        return np.zeros((0, 9))
    x1 = (PNET_STRIDE * xs) / scale
    y1 = (PNET_STRIDE * ys) / scale
    x2 = (PNET_STRIDE * xs + PNET_CELL) / scale
    y2 = (PNET_STRIDE * ys + PNET_CELL) / scale
    reg = offsets[:, ys, xs].T
    return np.column_stack([x1, y1, x2, y2, prob[ys, xs], reg])


def normalise(images_nhwc):
    """uint8 N x H x W x 3 BGR -> float32 N x 3 x H x W, (x - 127.5) * 0.0078125."""
    x = np.asarray(images_nhwc, dtype=np.float32)
    return ((x - MEAN) * SCALE).transpose(0, 3, 1, 2)


def build_levels(image, scales):
    """[(scale, resized uint8 image)] for every scale; INTER_AREA when shrinking.

    A level is area-resized from the smallest image already made (the original
    or a finer level) that is at least twice its size, which costs less than
    resizing the original for every level and stays within a few grey levels
    of it (tests/test_mtcnn_geometry.py)."""
    h, w = image.shape[:2]
    levels = []
    for s in scales:
        hs, ws = int(np.ceil(h * s)), int(np.ceil(w * s))
        if (hs, ws) == (h, w):
            levels.append((s, image))
            continue
        src = image
        for _, finer in levels:  # finest first when scales descend; keep the smallest >= 2x
            if finer.shape[0] >= 2 * hs and finer.shape[1] >= 2 * ws and finer.shape[0] < src.shape[0]:
                src = finer
        interp = cv2.INTER_AREA if hs < h else cv2.INTER_LINEAR
        levels.append((s, cv2.resize(src, (ws, hs), interpolation=interp)))
    return levels


def float_level(img, cache=None):
    """img as float32, from `cache` (a dict, or None for no cache) when converted before.
    Keyed by id(img); the entry holds img itself, so its id cannot be reused while cached."""
    if cache is None:
        return img.astype(np.float32)
    if id(img) not in cache:
        cache[id(img)] = (img, img.astype(np.float32))
    return cache[id(img)][1]


def crop_from_levels(levels, boxes, size, float_cache=None):
    """Crops of boxes (N, 4+) resized to size x size -> (N, size, size, 3) float32 in
    [0, 255], zero outside the image.

    levels: [(scale, image at that scale)], scale 1.0 (the original) included.
    Each box is sampled bilinearly from the smallest level that still has at
    least `size` pixels across it (the original when none has), so large boxes
    are pre-filtered by the pyramid's area resize instead of aliasing.
    Vectorised per level: the sample positions of all boxes form one tall
    (N * size, size) map and one cv2.remap gathers them, no Python loop over boxes.
    float_cache: a dict kept by the caller while `levels` stay the same (one detect
    call): each level is converted to float32 once, not once per call (the original
    photo's conversion cost as much as its crops' remap).
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    n = len(boxes)
    out = np.zeros((n, size, size, 3), dtype=np.float32)
    if n == 0:
        return out
    scales = np.array([s for s, _ in levels])
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    need = size / np.maximum(side, 1e-6)
    # candidate levels have scale >= need; pick the smallest such; else the largest level
    ok = scales[None, :] >= need[:, None] - 1e-9
    masked = np.where(ok, scales[None, :], np.inf)
    choice = np.where(ok.any(axis=1), np.argmin(masked, axis=1), np.argmax(scales))
    t = (np.arange(size) + 0.5) / size  # sample positions across the box, 0..1
    for li in np.unique(choice):
        s, img = levels[li]
        sel = np.nonzero(choice == li)[0]
        b = boxes[sel]
        # sample coordinates in this level's pixels (pixel centres at integers)
        xs = (b[:, 0:1] + t[None, :] * (b[:, 2:3] - b[:, 0:1])) * s - 0.5   # (n, size)
        ys = (b[:, 1:2] + t[None, :] * (b[:, 3:4] - b[:, 1:2])) * s - 0.5
        map_x = np.broadcast_to(xs[:, None, :], (len(sel), size, size)).reshape(-1, size).astype(np.float32)
        map_y = np.broadcast_to(ys[:, :, None], (len(sel), size, size)).reshape(-1, size).astype(np.float32)
        # float source: no rounding of the interpolated values; zero padding outside
        src = float_level(img, float_cache)
        rows = (REMAP_MAX_ROWS // size) * size  # cv2.remap's images stay below 32767 rows
        crops = np.concatenate([
            cv2.remap(src, map_x[r:r + rows], map_y[r:r + rows], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            for r in range(0, len(map_x), rows)])
        out[sel] = crops.reshape(len(sel), size, size, 3)
    return out
