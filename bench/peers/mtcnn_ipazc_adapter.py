#!/usr/bin/env python3
"""Adapter for ipazc's mtcnn (run with bench/.venvs/mtcnn_ipazc/bin/python).
Protocol: bench/peers/_common.py.  RGB input (a BGR feed costs it much
accuracy), TensorFlow on the CPU with --threads intra/inter-op threads, min
face --min-face, thresholds 0.6/0.7/0.7, scale factor 0.709."""
import os

from _common import base_args, clean, serve, single_thread_env

# keypoint names of mtcnn 1.x, in our order (image-left eye first)
KEYS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def main():
    args = base_args().parse_args()
    single_thread_env(args.threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import importlib.metadata as md

    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from mtcnn import MTCNN
    det = MTCNN(device="CPU:0")
    kw = dict(min_face_size=int(args.min_face), threshold_pnet=0.6, threshold_rnet=0.7,
              threshold_onet=0.7, scale_factor=0.709)

    def detect(img):
        faces = det.detect_faces(img, **kw)
        out = []
        for f in faces:
            x, y, w, h = f["box"]
            kp = f.get("keypoints") or {}
            pts = [list(kp[k]) for k in KEYS] if all(k in kp for k in KEYS) else None
            out.append({"box": [x, y, x + w, y + h], "score": f["confidence"], "points": pts})
        return clean(out)

    serve("mtcnn_ipazc", args.task, detect,
          {"mtcnn": md.version("mtcnn"), "tensorflow": tf.__version__},
          f"min face {args.min_face:g}, factor 0.709, thresholds 0.6/0.7/0.7, RGB, "
          f"{args.threads} thread(s)")


if __name__ == "__main__":
    main()
