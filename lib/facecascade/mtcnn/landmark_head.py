"""O-Net's landmark head refitted to the boxes O-Net sees in the detector.

O-Net was trained on landmark crops jittered around CUHK / LFW face boxes,
which are tighter than the WIDER-convention boxes its own box head learnt and
that R-Net hands it at detection time: its points were off by about 15 % of
the inter-ocular distance (docs/METHOD.md).  The landmark head `fc6-3` is a
linear map of the 256 features `prelu5`, so it can be refitted in closed form
(ridge regression) on crops taken exactly as the detector takes them: P-Net
and R-Net run on each training image, and every R-Net box around the
annotated face (and its mirror image, with mirrored targets) gives one sample.
Only `fc6-3` changes: face scores and boxes stay bit for bit the same.

    samples = LandmarkSamples()
    samples.add_image(det, image, points, face_box)   # per training face
    weights, bias = fit_linear_head(samples.features(), samples.targets())
    set_linear_head(det.nets["onet"], weights, bias)
"""
import numpy as np

from ..boxes import iou_matrix
from .detector import forward_caffe
from .pyramid import normalise
from .sampling import flip_targets, landmark_targets

FEATURE_BLOB, LANDMARK_HEAD = "prelu5", "fc6-3"
ONET_SIZE = 48


def boxes_around_face(candidates, points, face_box, min_iou=0.3):
    """The candidate boxes (N, 4+) that hold all 5 points and overlap the annotated
    face box (CUHK convention, tighter than the detector's) by IoU >= min_iou."""
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, np.shape(candidates)[-1])
    if len(candidates) == 0:
        return candidates[:, :4]
    p = np.asarray(points, dtype=np.float64).reshape(5, 2)
    inside = ((candidates[:, None, 0] <= p[None, :, 0]) & (p[None, :, 0] < candidates[:, None, 2]) &
              (candidates[:, None, 1] <= p[None, :, 1]) & (p[None, :, 1] < candidates[:, None, 3])).all(axis=1)
    overlap = iou_matrix(np.asarray(face_box, dtype=np.float64)[None, :4], candidates)[0] >= min_iou
    return candidates[inside & overlap, :4]


def onet_features(net, crops, batch=64):
    """O-Net's `prelu5` features (N, 256) of crops (N, 48, 48, 3) float BGR in [0, 255]."""
    x = normalise(crops)
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i:i + batch]
        forward_caffe(net, chunk)
        out.append(net.blobs[FEATURE_BLOB].data.reshape(len(chunk), -1).copy())
    return np.concatenate(out) if out else np.zeros((0, net.blobs[FEATURE_BLOB].data[0].size), np.float32)


def detector_landmark_crops(det, image, points, face_box, max_boxes=8, min_iou=0.2):
    """The R-Net boxes the detector hands O-Net around an annotated face (all 5 points
    inside, IoU >= min_iou with `face_box`; the best `max_boxes` by IoU), cropped at 48 px
    as the detector crops them -> (boxes (N, 4), crops (N, 48, 48, 3) float32 in [0, 255],
    landmark targets (N, 10) in crop units)."""
    cand, levels = det.pnet_stage(image)
    boxes = det.rnet_stage(image, cand, levels) if len(cand) else cand
    near = boxes_around_face(boxes, points, face_box, min_iou)
    if len(near) == 0:
        return near, np.zeros((0, ONET_SIZE, ONET_SIZE, 3), np.float32), np.zeros((0, 10))
    near = near[np.argsort(-iou_matrix(np.asarray(face_box, float)[None, :4], near)[0])][:max_boxes]
    crops = det.crop_candidates(image, near, levels, ONET_SIZE)
    targets = landmark_targets(near, np.broadcast_to(np.asarray(points, np.float64).reshape(1, 5, 2),
                                                     (len(near), 5, 2)))
    return near, crops, targets


class LandmarkSamples:
    """Features and targets of O-Net crops around annotated faces, each crop also mirrored."""

    def __init__(self, max_boxes_per_face=8, min_iou=0.2):
        self.max_boxes_per_face, self.min_iou = max_boxes_per_face, min_iou
        self._features, self._targets = [], []
        self.faces_used, self.faces_without_box = 0, 0

    def add_image(self, det, image, points, face_box):
        """Run the detector's P-Net and R-Net on `image` (H x W x 3 uint8 BGR) and add the
        R-Net boxes around the face (the best `max_boxes_per_face` by IoU) -> boxes used."""
        near, crops, targets = detector_landmark_crops(det, image, points, face_box, self.max_boxes_per_face,
                                                       self.min_iou)
        if len(near) == 0:
            self.faces_without_box += 1
            return near
        net = det.nets["onet"]
        self._features += [onet_features(net, crops), onet_features(net, crops[:, :, ::-1])]
        self._targets += [targets, flip_targets(np.zeros((len(near), 4)), targets)[1]]
        self.faces_used += 1
        return near

    def features(self):
        return np.concatenate(self._features).astype(np.float64)

    def targets(self):
        return np.concatenate(self._targets).astype(np.float64)

    def __len__(self):
        return sum(len(f) for f in self._features)


def fit_linear_head(features, targets, ridge=1.0):
    """Least squares with an L2 penalty `ridge` on the weights (not the bias):
    features (N, D), targets (N, K) -> weights (K, D), bias (K,) minimising
    ||features @ weights.T + bias - targets||^2 + ridge * ||weights||^2."""
    features, targets = np.asarray(features, np.float64), np.asarray(targets, np.float64)
    if len(features) <= features.shape[1]:
        raise ValueError(f"{len(features)} samples cannot fit a head of {features.shape[1]} features")
    mu_f, mu_t = features.mean(axis=0), targets.mean(axis=0)
    fc, tc = features - mu_f, targets - mu_t
    gram = fc.T @ fc + ridge * np.eye(features.shape[1])
    weights = np.linalg.solve(gram, fc.T @ tc).T
    return weights, mu_t - weights @ mu_f


def set_linear_head(net, weights, bias, layer=LANDMARK_HEAD):
    """Write weights (K, D) and bias (K,) into the InnerProduct `layer` of a pycaffe net."""
    params = net.params[layer]
    if params[0].data.shape != np.shape(weights) or params[1].data.shape != np.shape(bias):
        raise ValueError(f"{layer}: weights {np.shape(weights)} / bias {np.shape(bias)} do not fit "
                         f"{params[0].data.shape} / {params[1].data.shape}")
    params[0].data[...] = weights
    params[1].data[...] = bias
