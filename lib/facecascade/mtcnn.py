"""MTCNN face detector on our Caffe: P-Net over an image pyramid, then R-Net
and O-Net on the batched candidates.

    from facecascade.mtcnn import MTCNN
    det = MTCNN()                          # shipped mtcnn/model/det{1,2,3}
    faces = det.detect(image_bgr)          # Detections: boxes (N,4), scores (N,), points (N,5,2)

Reference pipeline details (Zhang et al.; the MATLAB/Caffe release):
input (x - 127.5) * 0.0078125, BGR here (our nets were trained on BGR);
pyramid scales (12 / min_face) * factor^k while the short side stays >= 12 px;
NMS 0.5 union within a scale, 0.7 union across scales, 0.7 union after R-Net,
0.7 MIN after O-Net; thresholds [0.6, 0.7, 0.7]; min face 20; factor 0.709.
A P-Net output cell (x, y) at scale s is the box [2x, 2y, 2x+12, 2y+12] / s.

One addition of ours, the second look (`rescore_rounds`, `rescore_floor`): an
R-Net or O-Net candidate that scores below the stage's threshold but at least
the floor is cropped again at the box its own regression gives and scored
again; the new crop's box, score, offsets (and landmarks) replace the old
ones, for up to `rescore_rounds` rounds while candidates stay in that range.
The faces R-Net drops mostly come with P-Net boxes at IoU 0.5-0.7 to the
face (mtcnn/5_evaluate/diagnose_stages.py), and the net rejects such crops;
on the corrected box it often accepts the face (more faces found at the same
thresholds, mtcnn/README "Second look").

Two more, in the last step (`final_score`, `final_nms`; mtcnn/README "Cascade
score and soft-NMS"): a face's score is the geometric mean of R-Net's and
O-Net's face probabilities ("cascade"; the reference: O-Net's alone), and the
last NMS is Gaussian soft-NMS over union IoU (boxes.soft_nms; the reference:
hard NMS 0.7 over the smaller box).  Soft-NMS lowers the scores of overlapping
boxes rather than dropping them; what falls below `min_score` (by default
O-Net's threshold) leaves, so the output stays as sparse as the reference's,
while evaluate.py keeps the lower tail (down to 0.05) for the PR curve.
Soft-NMS over union IoU keeps a mouth or an eye found inside a face (their
union IoU is small), which the reference's NMS over the smaller box drops; so
the soft step then drops a box lying at least `nested_cover` (0.7) inside a
better-scored box of at least twice its area (boxes.drop_nested; mtcnn/README
"Nested boxes").

And one in the pyramid (`large_factor`; mtcnn/README "Finer large-face levels"): from
the first level that looks for faces of LARGE_FACE (50) px and up, the levels step by
LARGE_FACTOR (0.8) instead of the reference's 0.709, so a large face lands nearer the
12 px P-Net was trained on; those levels are small images, so the extra ones cost little.

An opt-in one, mirror scoring (`mirror_stages`; mtcnn/README "Mirror scoring"): R-Net
and/or O-Net also score the crop flipped left-right of each candidate they score at
least the second look's floor, and the face probability, box offsets and landmarks of
the mirror, mapped back, are averaged with the crop's.  It costs that net's forwards
once more for those candidates.

Speed: each pyramid level is one Caffe forward of the whole resized image
(the input blob is reshaped); R/O-Net candidates go through in batches of
CANDIDATE_BATCH; the crops of all candidates are bilinear samples gathered
with numpy from the pyramid level nearest above the needed resolution (a
mip-map, so large faces are not aliased), with no Python loop over windows.
"""
import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from .boxes import apply_regression, drop_nested, nms, soft_nms, square
from .caffe_loader import add_device_arguments
from .mtcnn_sampling import flip_targets
from .paths import REPO_ROOT

SHIPPED_MODEL_DIR = REPO_ROOT / "mtcnn" / "model"
MEAN, SCALE = 127.5, 0.0078125
PNET_STRIDE, PNET_CELL = 2, 12
# The blobs the detector reads from each deploy net (the reference det1-3's names):
# face probability, box offsets, landmark offsets.
DEPLOY_OUTPUTS = {"pnet": ("prob1", "conv4-2", None), "rnet": ("prob1", "fc5-2", None),
                  "onet": ("prob1", "fc6-2", "fc6-3")}
REMAP_MAX_ROWS = 32766
# P-Net input pixels per forward: larger pyramid levels run in strips (pnet_maps)
PNET_MAX_PIXELS = 1_000_000
# R-Net / O-Net candidates per forward.  One forward of all candidates (5,000 on a
# 4000x3000 photo) grows every blob to that batch: hundreds of MB, freshly
# page-faulted whenever the batch outgrows the last one, and out of cache.  Chunks
# of a fixed size keep the blobs small and reused (bench/memory.py, README).
CANDIDATE_BATCH = 64
# The second look (module docstring): candidates scored in [RESCORE_FLOOR, threshold)
# are scored again on their regressed box, up to RESCORE_ROUNDS times (0: off).
RESCORE_FLOOR, RESCORE_ROUNDS = 0.1, 3


# Large-face levels: the pyramid levels whose 12 px window stands for faces of LARGE_FACE px
# and up.  Between them the pyramid steps by LARGE_FACTOR, finer than the reference's 0.709
# (those levels are small images, so the extra ones cost little; mtcnn/README "Finer
# large-face levels"); on them P-Net's threshold may be lowered (large_face_threshold, off
# by default), as P-Net has few windows to judge there.
LARGE_FACE, LARGE_FACTOR = 50.0, 0.8
# The last step (module docstring): cascade score, Gaussian soft-NMS with this sigma,
# decaying only boxes over this union IoU with a better one (faces side by side keep
# their scores in crowds).
FINAL_SCORES, FINAL_NMS = ("cascade", "onet"), ("soft", "min")
# Mirror scoring (module docstring, off by default): the nets that may also score mirrored crops.
MIRROR_STAGES = ("rnet", "onet")
SOFT_NMS_SIGMA, SOFT_NMS_IOU = 0.5, 0.3
# the soft last step then drops a box lying at least NESTED_COVER inside a better-scored box of at
# least NESTED_AREA_RATIO times its area (mtcnn/README "Nested boxes")
NESTED_COVER, NESTED_AREA_RATIO = 0.7, 2.0


def pyramid_step(text):
    """argparse type of --factor and --large-factor: a float in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a pyramid step must be in (0, 1), got {value:g}")
    return value


def add_addition_arguments(ap):
    """Command-line flags of our additions to the reference pipeline (detect.py, evaluate.py):
    the second look, the large-face levels, the cascade score and soft-NMS, mirror scoring."""
    ap.add_argument("--large-face-threshold", type=float, default=None, metavar="T",
                    help="P-Net threshold on the pyramid levels that look for faces of --large-face px and "
                         "up (default: the first of --thresholds everywhere, as the reference pipeline)")
    ap.add_argument("--large-face", type=float, default=LARGE_FACE, metavar="PX",
                    help="smallest face size of the levels --large-factor and --large-face-threshold apply to "
                         f"(default {LARGE_FACE:g})")
    ap.add_argument("--large-factor", type=pyramid_step, default=LARGE_FACTOR, metavar="F",
                    help="pyramid step between the levels that look for faces of --large-face px and up "
                         f"(default {LARGE_FACTOR:g}; those levels are small, so a finer step there costs "
                         "little: mtcnn/README \"Finer large-face levels\"); the value of --factor gives "
                         "the reference pipeline's one step")
    ap.add_argument("--rescore-rounds", type=int, default=RESCORE_ROUNDS, metavar="N",
                    help="second look: R-Net / O-Net candidates scored in [--rescore-floor, threshold) are "
                         f"scored again on their regressed box, up to N times (default {RESCORE_ROUNDS}; "
                         "0: the reference pipeline)")
    ap.add_argument("--rescore-floor", type=float, default=RESCORE_FLOOR, metavar="F",
                    help=f"lowest score that gets a second look (default {RESCORE_FLOOR})")
    ap.add_argument("--final-score", choices=FINAL_SCORES, default=FINAL_SCORES[0],
                    help="a face's score: the geometric mean of R-Net's and O-Net's face probabilities "
                         "(cascade, default) or O-Net's alone (onet, the reference pipeline)")
    ap.add_argument("--final-nms", choices=FINAL_NMS, default=FINAL_NMS[0],
                    help=f"last NMS: Gaussian soft-NMS (soft, default: sigma {SOFT_NMS_SIGMA}, over union IoU "
                         f"{SOFT_NMS_IOU}) or hard NMS 0.7 over the smaller box (min, the reference pipeline)")
    ap.add_argument("--nested-cover", type=float, default=NESTED_COVER, metavar="C",
                    help="after soft-NMS, drop a face whose box lies at least C inside a better-scored box of "
                         f"at least {NESTED_AREA_RATIO:g}x its area: a mouth, an eye or a nose found inside a "
                         f"face (default {NESTED_COVER:g}; 0: off, as before 2026-12-05; mtcnn/README "
                         "\"Nested boxes\")")
    ap.add_argument("--mirror-stages", nargs="*", choices=MIRROR_STAGES, default=[], metavar="NET",
                    help="rnet and/or onet: that net also scores the mirror image (the crop flipped "
                         "left-right) of each candidate it scores at least --rescore-floor, and the two "
                         "outputs are averaged (default: none, as the reference pipeline; "
                         "mtcnn/README \"Mirror scoring\"); it takes every word after it, so put "
                         "the input images before it")


def add_detector_arguments(ap, min_score=None, min_score_help=None):
    """Every flag of the detector (models, pyramid, thresholds, our additions, last cut,
    backend, device): detect.py, evaluate.py and the scripts that run the detector share
    them, so each takes any setting the others do.  min_score: the --min-score default."""
    ap.add_argument("--model-dir", type=Path, default=SHIPPED_MODEL_DIR)
    ap.add_argument("--min-face", type=float, default=20)
    ap.add_argument("--factor", type=pyramid_step, default=0.709, help="pyramid factor")
    ap.add_argument("--thresholds", type=float, nargs=3, default=(0.6, 0.7, 0.7))
    add_addition_arguments(ap)
    ap.add_argument("--min-score", type=float, default=min_score, metavar="S", help=min_score_help or (
        "keep only the faces scored >= S (default: all that pass the thresholds and stay over O-Net's "
        "threshold through soft-NMS); e.g. 0.98 for photos where a false box costs more than a missed face"))
    ap.add_argument("--backend", choices=("caffe", "cv2"), default="caffe",
                    help="pycaffe (default) or OpenCV's dnn reading the same prototxt/caffemodel")
    add_device_arguments(ap)
    return ap


def detector_from_args(args, **kwargs):
    """The MTCNN of add_detector_arguments' flags; kwargs: further MTCNN arguments, or ones
    that replace a flag's."""
    settings = dict(min_face=args.min_face, factor=args.factor, thresholds=args.thresholds, gpu=args.gpu,
                    backend=args.backend, rescore_rounds=args.rescore_rounds, rescore_floor=args.rescore_floor,
                    min_score=args.min_score, large_face_threshold=args.large_face_threshold,
                    large_face=args.large_face, final_score=args.final_score, final_nms=args.final_nms,
                    nested_cover=args.nested_cover, mirror_stages=args.mirror_stages, large_factor=args.large_factor)
    settings.update(kwargs)
    return MTCNN(args.model_dir, **settings)


def note_no_face(where, detector):
    """Tell the user, on stderr above any progress bar, that an image gave no face at the
    detector's settings (the command lines also count such images in their summary)."""
    tqdm.write(f"{where}: no face found (--min-face {detector.min_face:g}, --thresholds "
               f"{' '.join(f'{t:g}' for t in detector.thresholds)})", file=sys.stderr)


@dataclass
class Detections:
    boxes: np.ndarray   # (N, 4) float x1 y1 x2 y2 in image pixels
    scores: np.ndarray  # (N,)
    points: np.ndarray  # (N, 5, 2): image-left eye, image-right eye, nose, mouth corners

    def __len__(self):
        return len(self.scores)

    def to_json(self):
        return [{"box": [round(float(v), 2) for v in b], "score": round(float(s), 5),
                 "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in p]}
                for b, s, p in zip(self.boxes, self.scores, self.points)]


def empty_detections():
    return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))


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


def forward_caffe(net, x):
    """One forward of a pycaffe net on the input x (N, C, H, W), its `data` blob reshaped to
    x's shape first where it differs (the nets' blobs then hold the outputs)."""
    blob = net.blobs["data"]
    if blob.data.shape != x.shape:
        blob.reshape(*x.shape)
        net.reshape()
    blob.data[...] = x
    net.forward()


def normalise(images_nhwc):
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


def crop_from_levels(levels, boxes, size):
    """Crops of boxes (N, 4+) resized to size x size -> (N, size, size, 3) float32 in
    [0, 255], zero outside the image.

    levels: [(scale, image at that scale)], scale 1.0 (the original) included.
    Each box is sampled bilinearly from the smallest level that still has at
    least `size` pixels across it (the original when none has), so large boxes
    are pre-filtered by the pyramid's area resize instead of aliasing.
    Vectorised per level: the sample positions of all boxes form one tall
    (N * size, size) map and one cv2.remap gathers them, no Python loop over boxes.
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
        src = img.astype(np.float32)
        rows = (REMAP_MAX_ROWS // size) * size  # cv2.remap's images stay below 32767 rows
        crops = np.concatenate([
            cv2.remap(src, map_x[r:r + rows], map_y[r:r + rows], cv2.INTER_LINEAR,
                      borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            for r in range(0, len(map_x), rows)])
        out[sel] = crops.reshape(len(sel), size, size, 3)
    return out


class MTCNN:
    """The three-stage detector.  Nets are loaded once; forward calls reshape them."""

    def __init__(self, model_dir=None, min_face=20, factor=0.709, thresholds=(0.6, 0.7, 0.7),
                 nms_thresholds=(0.5, 0.7, 0.7, 0.7), gpu=None, caffe=None, stages=3, backend="caffe",
                 rescore_rounds=RESCORE_ROUNDS, rescore_floor=RESCORE_FLOOR, min_score=None,
                 large_face_threshold=None, large_face=LARGE_FACE, final_score="cascade", final_nms="soft",
                 mirror_stages=(), large_factor=LARGE_FACTOR, nested_cover=NESTED_COVER):
        """backend "caffe": pycaffe; "cv2": OpenCV's dnn module on the same prototxt/caffemodel
        (faster on CPU; cv2.setNumThreads governs its threads).  rescore_rounds,
        rescore_floor: the second look (module docstring); 0 rounds: none.
        min_score: detect() drops the faces of its result scored below it (default
        None: none, but soft-NMS drops the boxes it lowers below O-Net's threshold;
        0: none at all).
        Unlike a higher last threshold it changes nothing before the output: the
        second look rescores the candidates under a stage's threshold, so raising
        O-Net's threshold hands more candidates to it, and some of them climb over
        the new threshold.  With soft-NMS the scores below O-Net's threshold are
        those of overlapping boxes that soft-NMS lowered.
        final_score "cascade" | "onet", final_nms "soft" | "min": the last step
        (module docstring); "onet" and "min" are the reference pipeline's.
        nested_cover: after soft-NMS, a box lying at least this much inside a better-scored
        box of at least NESTED_AREA_RATIO times its area is dropped (boxes.drop_nested);
        0 or None: none is (with final_nms "min" it never applies: that NMS drops them).
        mirror_stages: "rnet" and/or "onet", the nets that also score the mirrored crops
        of their candidates (mirror scoring, module docstring); (): none, as the reference.
        large_face_threshold: P-Net's threshold on the pyramid levels whose 12 px window
        stands for faces of `large_face` px and up (scale <= 12 / large_face); None: the
        first of `thresholds` on every level, as in the reference.
        large_factor: the pyramid's step between those levels (pyramid_scales); None or
        `factor`: `factor` throughout, as in the reference."""
        if backend not in ("caffe", "cv2"):
            raise ValueError(f"backend must be 'caffe' or 'cv2', not {backend!r}")
        self.min_face, self.factor = float(min_face), float(factor)
        self.large_factor = large_step(self.factor, large_factor)
        # the pyramid settings checked before the nets are loaded
        pyramid_scales(PNET_CELL, PNET_CELL, self.min_face, self.factor, large_factor=self.large_factor)
        self.backend = backend
        if backend == "caffe":
            from .caffe_loader import import_caffe

            self.caffe = caffe or import_caffe(gpu)
        model_dir = Path(model_dir or SHIPPED_MODEL_DIR)
        self.nets = {}
        # stages < 3 loads only the first nets (hard-example mining runs P or P+R)
        for key, name in (("pnet", "det1"), ("rnet", "det2"), ("onet", "det3"))[:stages]:
            proto, weights = model_dir / f"{name}.prototxt", model_dir / f"{name}.caffemodel"
            for p in (proto, weights):
                if not p.is_file():
                    raise FileNotFoundError(f"{p}: MTCNN model file not found (train it, or pass --model-dir)")
            if backend == "caffe":
                self.nets[key] = self.caffe.Net(str(proto), str(weights), self.caffe.TEST)
            else:
                net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))
                net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
                net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
                self.nets[key] = net
        self.pnet_max_pixels = PNET_MAX_PIXELS
        self.candidate_batch = CANDIDATE_BATCH
        self.thresholds = tuple(float(t) for t in thresholds)
        self.nms_thresholds = tuple(float(t) for t in nms_thresholds)
        self.rescore_rounds, self.rescore_floor = int(rescore_rounds), float(rescore_floor)
        self.min_score = None if min_score is None else float(min_score)
        if final_score not in FINAL_SCORES:
            raise ValueError(f"final_score must be one of {FINAL_SCORES}, not {final_score!r}")
        if final_nms not in FINAL_NMS:
            raise ValueError(f"final_nms must be one of {FINAL_NMS}, not {final_nms!r}")
        self.final_score, self.final_nms = final_score, final_nms
        self.nested_cover = float(nested_cover or 0.0)
        if not 0.0 <= self.nested_cover <= 1.0:
            raise ValueError(f"nested_cover must be in [0, 1], got {nested_cover}")
        self.large_face_threshold = None if large_face_threshold is None else float(large_face_threshold)
        self.large_face = float(large_face)
        bad = set(mirror_stages) - set(MIRROR_STAGES)
        if bad:
            raise ValueError(f"mirror_stages may hold {MIRROR_STAGES}, not {sorted(bad)}")
        self.mirror_stages = tuple(mirror_stages)
        self.heads = DEPLOY_OUTPUTS

    # -- stage 1 -----------------------------------------------------------
    def _forward(self, key, x):
        net = self.nets[key]
        cls, box, lm = self.heads[key]
        if self.backend == "cv2":
            names = [cls, box] + ([lm] if lm else [])
            net.setInput(np.ascontiguousarray(x, dtype=np.float32))
            outs = net.forward(names)
            return outs[0], outs[1], (outs[2] if lm else None)
        forward_caffe(net, x)
        return (net.blobs[cls].data, net.blobs[box].data, None if lm is None else net.blobs[lm].data)

    def pnet_maps(self, img):
        """P-Net's face-probability map (H', W') and box offsets (4, H', W') for one
        pyramid level.  Levels over `pnet_max_pixels` run in horizontal strips, so
        Caffe's per-layer buffers stay bounded (a 4000x3000 photo at min face 20
        has a 2400x1800 first level): each strip starts on an even row, and a
        strip keeps only the cells whose 13 input rows (2r .. 2r+12) and pooling
        windows lie inside it, so the maps equal those of one forward."""
        h, w = img.shape[:2]
        rows = max(PNET_CELL * 4, int(self.pnet_max_pixels // max(w, 1)) // 2 * 2)
        if h <= rows:
            prob, reg, _ = self._forward("pnet", normalise(img[None]))
            return prob[0, 1].copy(), reg[0].copy()
        step = rows - PNET_CELL  # even: the next strip's first cell follows the last kept one
        probs, regs = [], []
        y0 = 0
        while True:
            last = y0 + rows >= h
            prob, reg, _ = self._forward("pnet", normalise(img[None, y0:y0 + rows]))
            keep = prob.shape[2] if last else step // 2
            probs.append(prob[0, 1, :keep].copy())
            regs.append(reg[0, :, :keep].copy())
            if last:
                break
            y0 += step
        return np.concatenate(probs, axis=0), np.concatenate(regs, axis=1)

    def pnet_threshold(self, scale):
        """P-Net's threshold at pyramid scale `scale` (large_face_threshold on large-face levels)."""
        if self.large_face_threshold is not None and PNET_CELL / scale >= self.large_face:
            return self.large_face_threshold
        return self.thresholds[0]

    def pnet_stage(self, image, levels=None):
        """-> (candidates (N, 5) squared boxes with scores, pyramid levels)."""
        h, w = image.shape[:2]
        scales = pyramid_scales(h, w, self.min_face, self.factor, large_factor=self.large_factor,
                                large_face=self.large_face)
        levels = build_levels(image, scales) if levels is None else levels
        found = []
        for s, img in levels:
            prob, reg = self.pnet_maps(img)
            cand = cells_to_boxes(prob, reg, s, self.pnet_threshold(s))
            if len(cand):
                cand = cand[nms(cand[:, :5], self.nms_thresholds[0], "union")]
                found.append(cand)
        if not found:
            return np.zeros((0, 5)), levels
        cand = np.concatenate(found)
        cand = cand[nms(cand[:, :5], self.nms_thresholds[1], "union")]
        boxes = apply_regression(cand[:, :5], cand[:, 5:9])
        return square(boxes), levels

    # -- stages 2 and 3 ------------------------------------------------------
    @staticmethod
    def crop_candidates(image, boxes, levels, size):
        """Candidates `boxes` (N, 4+) cropped as R-Net / O-Net see them (the hard-example
        miner crops its training samples with this too) -> (N, size, size, 3) float32."""
        # the original image first: crop_from_levels picks the smallest level that is fine enough
        return crop_from_levels([(1.0, image)] + [(s, im) for s, im in levels if s < 1.0], boxes, size)

    def forward_candidates(self, key, x):
        """R-Net or O-Net on the normalised crops x (N, 3, S, S), in batches of
        candidate_batch -> face scores (N,), box offsets (N, 4), landmarks (N, 10) or None."""
        n = len(x)
        score, offsets = np.empty(n, np.float32), np.empty((n, 4), np.float32)
        points = None if key == "rnet" else np.empty((n, 10), np.float32)
        for i in range(0, n, self.candidate_batch):
            prob, reg, lm = self._forward(key, x[i:i + self.candidate_batch])
            # copied out: with pycaffe these are views of the net's blobs, which the next forward overwrites
            score[i:i + len(prob)] = prob[:, 1]
            offsets[i:i + len(prob)] = reg.reshape(len(prob), 4)
            if points is not None:
                points[i:i + len(prob)] = lm.reshape(len(prob), 10)
        return score, offsets, points

    def score_boxes(self, key, image, boxes, levels):
        """R-Net ("rnet") or O-Net ("onet") on the candidates `boxes` (N, 4+), cropped
        as the detector crops them -> face scores (N,), box offsets (N, 4) and
        O-Net's landmark outputs (N, 10) (None for R-Net)."""
        crops = self.crop_candidates(image, boxes, levels, {"rnet": 24, "onet": 48}[key])
        x = ((crops - MEAN) * SCALE).transpose(0, 3, 1, 2)
        score, offsets, points = self.forward_candidates(key, x)
        if key in self.mirror_stages:
            # the candidates seen in a mirror (crop flipped left-right), outputs mapped back and
            # averaged; those scored under the second look's floor are rejected outright, as there
            look = np.flatnonzero(score >= self.rescore_floor)
            m_score, m_offsets, m_points = self.forward_candidates(key, np.ascontiguousarray(x[look, :, :, ::-1]))
            # flip_targets maps a crop's targets to its mirror's, and back
            m_offsets, m_points = flip_targets(m_offsets, np.zeros((len(look), 10)) if points is None else m_points)
            score[look] = 0.5 * (score[look] + m_score)
            offsets[look] = 0.5 * (offsets[look] + m_offsets)
            if points is not None:
                points[look] = 0.5 * (points[look] + m_points)
        return score, offsets, points

    def score_with_second_look(self, key, image, boxes, levels, threshold):
        """score_boxes, then the second look, for up to rescore_rounds rounds:
        candidates scored in [rescore_floor, threshold) are scored again on their
        regressed, squared box, and that box, score, offsets and landmarks replace
        the old ones.  -> boxes (N, 4), scores (N,), offsets (N, 4), landmarks (N, 10) or None."""
        boxes = np.array(boxes[:, :4], dtype=np.float64)
        score, reg, points = self.score_boxes(key, image, boxes, levels)
        for _ in range(self.rescore_rounds):
            again = np.flatnonzero((score >= self.rescore_floor) & (score < threshold))
            if len(again) == 0:
                break
            moved = square(apply_regression(np.column_stack([boxes[again], score[again]]), reg[again]))[:, :4]
            score2, reg2, points2 = self.score_boxes(key, image, moved, levels)
            boxes[again], score[again], reg[again] = moved, score2, reg2
            if points is not None:
                points[again] = points2
        return boxes, score, reg, points

    def rnet_stage(self, image, boxes, levels):
        if len(boxes) == 0:
            return np.zeros((0, 5))
        boxes, score, reg, _ = self.score_with_second_look("rnet", image, boxes, levels, self.thresholds[1])
        keep = score >= self.thresholds[1]
        boxes = np.column_stack([boxes[keep, :4], score[keep]])
        reg = reg[keep]
        pick = nms(boxes, self.nms_thresholds[2], "union")
        return square(apply_regression(boxes[pick], reg[pick]))

    def onet_stage(self, image, boxes, levels):
        if len(boxes) == 0:
            return np.zeros((0, 5)), np.zeros((0, 5, 2))
        boxes_in = boxes
        boxes, score, reg, lm = self.score_with_second_look("onet", image, boxes, levels, self.thresholds[2])
        keep = score >= self.thresholds[2]
        b = boxes[keep, :4]
        lm = lm.reshape(len(score), 5, 2)[keep]
        wh = np.stack([b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)[:, None, :]
        points = b[:, None, :2] + lm * wh
        face = score[keep]
        if self.final_score == "cascade":
            # column 4 of the candidates: R-Net's score (after its second look)
            face = np.sqrt(face * boxes_in[keep, 4])
        out = apply_regression(np.column_stack([b, face]), reg[keep])
        if self.final_nms == "min":
            pick = nms(out, self.nms_thresholds[3], "min")
            return out[pick], points[pick]
        # a given min_score here only saves work (detect() drops the same boxes, see soft_nms)
        floor = self.thresholds[2] if self.min_score is None else self.min_score
        pick, decayed = soft_nms(out, SOFT_NMS_SIGMA, SOFT_NMS_IOU, min_score=floor)
        out, points = out[pick], points[pick]
        out[:, 4] = decayed
        if self.nested_cover:
            # soft-NMS over union IoU keeps a mouth or an eye found inside a face (their IoU is small)
            pick = drop_nested(out, self.nested_cover, NESTED_AREA_RATIO)
            out, points = out[pick], points[pick]
        return out, points

    def detect(self, image, stages=None):
        """image: H x W x 3 uint8 BGR -> Detections (after `stages` stages: 1, 2 or 3;
        default all loaded nets)."""
        stages = len(self.nets) if stages is None else stages
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"detect() needs an H x W x 3 uint8 BGR image, got {image.shape} {image.dtype}")
        # wall seconds and candidates out of each stage of the last call (speed breakdowns)
        self.last_stage_seconds, self.last_stage_boxes = {}, {}
        if min(image.shape[:2]) < PNET_CELL:
            return empty_detections()
        t0 = time.perf_counter()
        boxes, levels = self.pnet_stage(image)
        self._time_stage("pnet", t0, boxes)
        if stages >= 2:
            t0 = time.perf_counter()
            boxes = self.rnet_stage(image, boxes, levels)
            self._time_stage("rnet", t0, boxes)
        if stages >= 3:
            t0 = time.perf_counter()
            boxes, points = self.onet_stage(image, boxes, levels)
            self._time_stage("onet", t0, boxes)
        else:
            points = np.full((len(boxes), 5, 2), np.nan)
        keep = boxes[:, 4] >= (0.0 if self.min_score is None else self.min_score)
        return Detections(boxes[keep, :4], boxes[keep, 4], points[keep])

    def _time_stage(self, key, t0, boxes):
        self.last_stage_seconds[key] = time.perf_counter() - t0
        self.last_stage_boxes[key] = len(boxes)
