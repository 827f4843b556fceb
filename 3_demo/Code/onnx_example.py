"""Level 1 of the landmark cascade on onnxruntime alone (no Caffe, no facecascade): a face box -> 5 points.
    python onnx_example.py l1.onnx IMAGE X1 Y1 X2 Y2     # prints [[x, y] x 5], image pixels"""
import sys

import cv2
import numpy as np
import onnxruntime as ort

model, image, box = sys.argv[1], cv2.imread(sys.argv[2]), [float(v) for v in sys.argv[3:7]]  # image: BGR
side = max(box[2] - box[0], box[3] - box[1]) * 1.3               # the box squared, + 15 % on each side
left, top, f = (box[0] + box[2] - side) / 2, (box[1] + box[3] - side) / 2, min(1.0, 96 / side)
small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)   # no aliasing at 48 px
s = 48 / side / f                                                # small-image px -> net px (pixel centres)
crop = cv2.warpAffine(small, np.array([[s, 0, (0.5 / f - 0.5 - left) * f * s - 0.5],
                                       [0, s, (0.5 / f - 0.5 - top) * f * s - 0.5]]), (48, 48),
                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
blob = ((crop.astype(np.float32) - 127.5) * 0.0078125).transpose(2, 0, 1)[None]
unit = ort.InferenceSession(model).run(None, {"data": blob})[0].reshape(5, 2)   # [-1, 1] over the crop
print(np.round((unit + 1) / 2 * side + [left, top], 1).tolist())
