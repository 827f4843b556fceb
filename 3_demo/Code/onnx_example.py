"""Level 1 of the landmark cascade on onnxruntime alone (no Caffe, no facecascade): a face box -> 5 points
in image pixels (image-left eye, image-right eye, nose, mouth corners).  python onnx_example.py l1.onnx photo.jpg 104 100 292 288"""
import argparse

import cv2
import numpy as np
import onnxruntime as ort

ap = argparse.ArgumentParser(description=__doc__)
ap.add_argument("model"), ap.add_argument("image"), ap.add_argument("box", nargs=4, type=float, help="x1 y1 x2 y2")
args = ap.parse_args()
image, (x1, y1, x2, y2) = cv2.imread(args.image), args.box                     # BGR, as the nets were trained
side = max(x2 - x1, y2 - y1) * 1.3                                           # the box squared, + 15 % a side
left, top, f = (x1 + x2 - side) / 2, (y1 + y2 - side) / 2, min(1.0, 96 / side)
small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)    # no aliasing at 48 px
s = 48 / side                                                                # image px -> net px, pixel centres:
crop = cv2.warpAffine(small, np.array([[s / f, 0, (0.5 / f - 0.5 - left) * s - 0.5],
                                       [0, s / f, (0.5 / f - 0.5 - top) * s - 0.5]]), (48, 48),
                      flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
blob = ((crop.astype(np.float32) - 127.5) * 0.0078125).transpose(2, 0, 1)[None]
unit = ort.InferenceSession(args.model).run(None, {"data": blob})[0].reshape(5, 2)   # [-1, 1] over the crop
print(np.round((unit + 1) / 2 * side + [left, top], 1).tolist())
