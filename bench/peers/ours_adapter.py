#!/usr/bin/env python3
"""Adapter for our own detector and cascade (run with the repository's .venv
python).  Protocol: bench/peers/_common.py.

Tasks: detect (our MTCNN), landmarks (our MTCNN finds the face, then the
cascade on its box; "extra": the O-Net points), gtbox (the cascade on the
given box grown by the cascade's margin).  The detector takes every flag of
mtcnn/detect.py (facecascade.mtcnn.add_detector_arguments: --backend caffe|onnx|opencv,
--precision fp32|int8, --rescore-rounds, --factor, ...); --cascade-backend caffe|onnx|opencv
for the cascade (with the detector's --precision).
"""
from pathlib import Path

from _common import base_args, clean, serve, single_thread_env, unavailable

HERE = Path(__file__).resolve().parent


def engine_name(backend, precision):
    if backend == "caffe":
        return "pycaffe"
    return f"{'onnxruntime' if backend == 'onnx' else 'cv2.dnn'} on the {precision} ONNX files"


def main():
    ap = base_args(min_face=False)
    # the thread count must be in the environment before numpy and Caffe load
    single_thread_env(ap.parse_known_args()[0].threads)
    import cv2

    from facecascade.images import read_image
    from facecascade.machine import describe
    from facecascade.mtcnn import add_detector_arguments, detector_from_args

    ap.add_argument("--cascade-backend", default="caffe", choices=("caffe", "onnx", "opencv"),
                    help="the landmark cascade's backend")
    add_detector_arguments(ap)
    args = ap.parse_args()
    cv2.setNumThreads(args.threads)

    versions = {"machine": describe()}
    det = lc = None
    if args.task in ("detect", "landmarks"):
        missing = [n for n in ("det1", "det2", "det3")
                   if not all((args.model_dir / f"{n}{e}").is_file() for e in (".prototxt", ".caffemodel"))]
        if missing:
            unavailable("ours", f"not shipped: {', '.join(str(args.model_dir / n) for n in missing)} missing")
        det = detector_from_args(args)
    if args.task in ("landmarks", "gtbox"):
        from facecascade.cascade import DETECTOR_BOX_MARGIN, LandmarkCascade
        lc = LandmarkCascade.from_shipped(backend=args.cascade_backend, threads=args.threads,
                                          precision=args.precision if args.cascade_backend != "caffe" else "fp32")

    def detect(img):
        d = det.detect(img)
        return clean([{"box": b, "score": s, "points": p} for b, s, p in zip(d.boxes, d.scores, d.points)])

    def post(img, face):
        r = lc.predict(img, tuple(face["box"]), margin=DETECTOR_BOX_MARGIN)
        out = dict(face)
        out["extra"] = {"onet_points": face["points"]}
        out["points"] = [[round(float(x), 2), round(float(y), 2)] for x, y in r.points]
        return out

    def on_box(img, box):
        r = lc.predict(img, None if box is None else tuple(box))
        return clean([{"box": box or [0, 0, img.shape[1], img.shape[0]], "score": 1.0, "points": r.points}])[0]

    settings = []
    if det is not None:
        look = f"second look {det.rescore_rounds} rounds from {det.rescore_floor:g}" if det.rescore_rounds else \
            "no second look"
        mirror = f"mirror scoring at {'+'.join(det.mirror_stages)}" if det.mirror_stages else "no mirror scoring"
        step = f"factor {det.factor:g}" + (f" ({det.large_factor:g} between the levels for faces of "
                                          f"{det.large_face:g} px and up)" if det.large_factor else "")
        settings.append(f"our MTCNN min face {det.min_face:g}, {step}, thresholds "
                        f"{'/'.join(f'{t:g}' for t in det.thresholds)}, {look}, {mirror}, {det.final_score} score, "
                        f"{det.final_nms} last NMS"
                        f"{f' + nested boxes dropped at {det.nested_cover:g}' if det.nested_cover and det.final_nms == 'soft' else ''}"
                        f", {engine_name(args.backend, args.precision)}")
    if lc is not None:
        engine = engine_name(args.cascade_backend, args.precision)
        settings.append(f"cascade on {engine}, level 1 on a list's box + {lc.box_margin:.0%}, "
                        f"on the detector's + {DETECTOR_BOX_MARGIN:.0%}")
    settings = "; ".join(settings) + f"; {args.threads} thread(s)"
    serve("ours", args.task, detect, versions, settings, read=lambda p: read_image(p),
          post=post, on_box=on_box)


if __name__ == "__main__":
    main()
