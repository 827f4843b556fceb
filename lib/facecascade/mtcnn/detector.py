"""The MTCNN detector on our Caffe: P-Net over an image pyramid, then R-Net and O-Net on
the batched candidates, with the settings of one DetectorConfig (config.py).

    from facecascade.mtcnn import MTCNN
    det = MTCNN()                          # shipped mtcnn/model/det{1,2,3} + detector.json
    faces = det.detect(image_bgr)          # Detections: boxes (N,4), scores (N,), points (N,5,2)

Reference pipeline (Zhang et al.; the MATLAB/Caffe release; preset "reference"): input
(x - 127.5) * 0.0078125, BGR here (our nets were trained on BGR); pyramid scales
(12 / min_face) * factor^k while the short side stays >= 12 px; NMS 0.5 union within a
scale, 0.7 union across scales, 0.7 union after R-Net, 0.7 MIN after O-Net; thresholds
[0.6, 0.7, 0.7]; min face 20; factor 0.709.  Our additions, each a DetectorConfig
setting, are described in docs/METHOD.md: the second look (rescore_rounds,
rescore_floor), the cascade score and soft-NMS (final_score, final_nms), nested boxes
(nested_cover), finer large-face levels (large_factor), mirror scoring (mirror_stages).

Speed: each pyramid level is one forward of the whole resized image (the input blob is
reshaped; levels over PNET_MAX_PIXELS run in strips); R/O-Net candidates go through in
batches of CANDIDATE_BATCH; the crops of all candidates are bilinear samples gathered
from the pyramid level nearest above the needed resolution (pyramid.crop_from_levels).
"""
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..boxes import apply_regression, drop_nested, nms, soft_nms, square
from ..caffe_loader import select_device
from ..runtime import load_net, resolve_backend, runtime_options
from .config import (
    NESTED_AREA_RATIO,
    SHIPPED_MODEL_DIR,
    SOFT_NMS_IOU,
    SOFT_NMS_SIGMA,
    DetectorConfig,
    config_from_args,
    read_model_card,
)
from .pyramid import MEAN, PNET_CELL, SCALE, build_levels, cells_to_boxes, crop_from_levels, normalise, pyramid_scales
from .sampling import flip_targets

# The blobs the detector reads from each deploy net (the reference det1-3's names):
# face probability, box offsets, landmark offsets.
DEPLOY_OUTPUTS = {"pnet": ("prob1", "conv4-2", None), "rnet": ("prob1", "fc5-2", None),
                  "onet": ("prob1", "fc6-2", "fc6-3")}
# P-Net input pixels per forward: larger pyramid levels run in strips (pnet_maps)
PNET_MAX_PIXELS = 1_000_000
# R-Net / O-Net candidates per forward.  One forward of all candidates (5,000 on a
# 4000x3000 photo) grows every blob to that batch: hundreds of MB, freshly
# page-faulted whenever the batch outgrows the last one, and out of cache.  Chunks
# of a fixed size keep the blobs small and reused (bench/memory.py).
CANDIDATE_BATCH = 64


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


def forward_caffe(net, x):
    """One forward of a pycaffe net on the input x (N, C, H, W), its `data` blob reshaped to
    x's shape first where it differs (the nets' blobs then hold the outputs)."""
    blob = net.blobs["data"]
    if blob.data.shape != x.shape:
        blob.reshape(*x.shape)
        net.reshape()
    blob.data[...] = x
    net.forward()


class MTCNN:
    """The three-stage detector.  Nets are loaded once; forward calls reshape them."""

    def __init__(self, model_dir=None, config=None, *, backend="caffe", gpu=None, caffe=None, stages=3,
                 threads=None, precision="fp32", **settings):
        """model_dir: det1-3 (default: shipped); config: a DetectorConfig (default: the model
        folder's detector.json, see config.read_model_card); settings: DetectorConfig fields
        that replace the config's (MTCNN(min_face=40)).
        backend: "caffe" (pycaffe), "onnx" (onnxruntime on det1-3.onnx, or det1-3_int8.onnx
        with precision "int8"; `threads` threads, default 1) or "opencv" (cv2.dnn on the
        ONNX files; cv2.setNumThreads governs its threads); "auto": caffe when built (see
        runtime.load_net).  gpu: CUDA device N (caffe: this detector selects it before each
        forward).  stages < 3 loads only the first nets
        (hard-example mining runs P or P+R)."""
        config = read_model_card(model_dir) if config is None else config
        self.config = config.replace(**settings) if settings else replace(config)
        self.backend = resolve_backend(backend)
        self.gpu = None if gpu is None else int(gpu)
        self.precision = precision
        if self.backend == "caffe":
            from ..caffe_loader import import_caffe

            self.caffe = caffe or import_caffe()
        model_dir = Path(model_dir or SHIPPED_MODEL_DIR)
        self.nets = {}
        for key, name in (("pnet", "det1"), ("rnet", "det2"), ("onet", "det3"))[:stages]:
            proto, weights = model_dir / f"{name}.prototxt", model_dir / f"{name}.caffemodel"
            if self.backend == "caffe":
                for p in (proto, weights):
                    if not p.is_file():
                        raise FileNotFoundError(f"{p}: MTCNN model file not found (train it, or pass --model-dir)")
                if precision != "fp32":
                    raise ValueError(f"precision {precision}: pycaffe runs the float32 caffemodels; use backend onnx")
                # the raw pycaffe net: training code reads and sets its blobs (onet_landmarks)
                self._select_device()
                self.nets[key] = self.caffe.Net(str(proto), str(weights), self.caffe.TEST)
            else:  # the ONNX files beside the caffemodels (load_net names a missing one)
                self.nets[key] = load_net(proto, weights, self.backend, self.gpu, threads, precision)
        # float32 copies of the levels R-Net and O-Net crop from, made once per image: (image, {})
        self._float_levels = (None, {})
        self.pnet_max_pixels = PNET_MAX_PIXELS
        self.candidate_batch = CANDIDATE_BATCH
        self.heads = DEPLOY_OUTPUTS

    def _select_device(self):
        select_device(self.caffe, self.gpu)

    # -- stage 1 -----------------------------------------------------------
    def _forward(self, key, x):
        net = self.nets[key]
        cls, box, lm = self.heads[key]
        if self.backend != "caffe":
            out = net.forward(np.ascontiguousarray(x, dtype=np.float32))
            return out[cls], out[box], (out[lm] if lm else None)
        if self.gpu is not None:
            self._select_device()
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
    def crop_candidates(self, image, boxes, levels, size):
        """Candidates `boxes` (N, 4+) cropped as R-Net / O-Net see them (the hard-example
        miner crops its training samples with this too) -> (N, size, size, 3) float32."""
        if self._float_levels[0] is not image:  # a new image: the last one's copies go
            self._float_levels = (image, {})
        # the original image first: crop_from_levels picks the smallest level that is fine enough
        return crop_from_levels([(1.0, image)] + [(s, im) for s, im in levels if s < 1.0], boxes, size,
                                self._float_levels[1])

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
        self._float_levels = (None, {})  # not held between images (a large photo's are 100s of MB)
        keep = boxes[:, 4] >= (0.0 if self.min_score is None else self.min_score)
        return Detections(boxes[keep, :4], boxes[keep, 4], points[keep])

    def _time_stage(self, key, t0, boxes):
        self.last_stage_seconds[key] = time.perf_counter() - t0
        self.last_stage_boxes[key] = len(boxes)


def _config_property(name):
    return property(lambda self: getattr(self.config, name), lambda self, value: setattr(self.config, name, value),
                    doc=f"DetectorConfig.{name} of this detector")


# det.min_face, det.rescore_rounds, ...: the detector's settings are its config's fields
for _field in fields(DetectorConfig):
    setattr(MTCNN, _field.name, _config_property(_field.name))


def detector_from_args(args, **kwargs):
    """The MTCNN of add_detector_arguments' flags.  kwargs: DetectorConfig fields that
    replace the flags' values, or MTCNN's own arguments (backend, gpu, caffe, stages)."""
    runtime = {k: kwargs.pop(k) for k in ("backend", "gpu", "caffe", "stages", "threads", "precision")
               if k in kwargs}
    for key, value in runtime_options(args).items():
        runtime.setdefault(key, value)
    return MTCNN(args.model_dir, config_from_args(args, **kwargs), **runtime)


def note_no_face(where, detector):
    """Tell the user, on stderr above any progress bar, that an image gave no face at the
    detector's settings (the command lines also count such images in their summary)."""
    tqdm.write(f"{where}: no face found (--min-face {detector.min_face:g}, --thresholds "
               f"{' '.join(f'{t:g}' for t in detector.thresholds)})", file=sys.stderr)
