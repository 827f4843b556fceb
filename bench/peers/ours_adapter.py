#!/usr/bin/env python3
"""Adapter for our own detector and cascade (run with the repository's .venv
python).  Protocol: bench/peers/_common.py.

Tasks: detect (our MTCNN), landmarks (our MTCNN finds the face, then the
cascade on its box; "extra": the O-Net points), gtbox (the cascade on the
given box grown by the cascade's margin).  --backend caffe|opencv for the
cascade; the MTCNN runs on pycaffe unless --det-backend cv2.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1] / "lib"))

from _common import base_args, clean, serve, single_thread_env, unavailable  # noqa: E402


def main():
    ap = base_args()
    ap.add_argument("--backend", default="caffe", help="cascade backend: caffe or opencv")
    ap.add_argument("--det-backend", default="caffe", choices=("caffe", "cv2"))
    ap.add_argument("--rescore-rounds", type=int, default=None,
                    help="the MTCNN's second look (default: the detector's own default; 0: off)")
    ap.add_argument("--factor", type=float, default=0.709, help="the MTCNN's pyramid factor")
    ap.add_argument("--mirror-stages", nargs="*", default=[],
                    help="the MTCNN's mirror scoring (default: off; MTCNN checks the names)")
    args = ap.parse_args()
    single_thread_env(args.threads)
    import cv2
    cv2.setNumThreads(args.threads)
    from facecascade.images import read_image
    from facecascade.machine import describe

    versions = {"machine": describe()}
    det = lc = None
    if args.task in ("detect", "landmarks"):
        from facecascade.mtcnn import MTCNN, RESCORE_ROUNDS, SHIPPED_MODEL_DIR
        missing = [n for n in ("det1", "det2", "det3")
                   if not all((SHIPPED_MODEL_DIR / f"{n}{e}").is_file() for e in (".prototxt", ".caffemodel"))]
        if missing:
            unavailable("ours", f"not shipped: mtcnn/model/{','.join(missing)} missing")
        rounds = RESCORE_ROUNDS if args.rescore_rounds is None else args.rescore_rounds
        det = MTCNN(min_face=args.min_face, factor=args.factor, thresholds=(0.6, 0.7, 0.7),
                    backend=args.det_backend, rescore_rounds=rounds, mirror_stages=args.mirror_stages)
    if args.task in ("landmarks", "gtbox"):
        from facecascade.cascade import DETECTOR_BOX_MARGIN, LandmarkCascade
        lc = LandmarkCascade.from_shipped(backend=args.backend)

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
        settings.append(f"our MTCNN min face {args.min_face:g}, {step}, thresholds 0.6/0.7/0.7, "
                        f"{look}, {mirror}, {det.final_score} score, {det.final_nms} last NMS, "
                        f"{'pycaffe' if args.det_backend == 'caffe' else 'cv2.dnn'}")
    if lc is not None:
        settings.append(f"cascade on {'pycaffe' if args.backend == 'caffe' else 'cv2.dnn'}, level 1 on a list's "
                        f"box + {lc.box_margin:.0%}, on the detector's + {DETECTOR_BOX_MARGIN:.0%}")
    settings = "; ".join(settings) + f"; {args.threads} thread(s)"
    serve("ours", args.task, detect, versions, settings, read=lambda p: read_image(p),
          post=post, on_box=on_box)


if __name__ == "__main__":
    main()
