#!/usr/bin/env python3
"""Adapter for dlib (dlib-bin + face_recognition_models; run with
bench/.venvs/dlib/bin/python).  Protocol: bench/peers/_common.py.

Detector: the HOG frontal face detector, upsample --upsample (default 1),
adjust_threshold --adjust (default -0.5, so that AP sees more of the
precision/recall curve); scores = its detection scores.  Points: dlib's
5-point shape predictor (shape_predictor_5_face_landmarks) gives a DIFFERENT
point set (outer and inner corner of each eye, base of the nose); "points"
holds our 5 slots filled as: eye centre = the mean of its two corners, the
nose base in the nose slot, and no mouth corners (null) -- so only the eyes are
comparable with the other peers; the 5 raw dlib points are in "extra"."""


from _common import base_args, serve, single_thread_env


def main():
    ap = base_args()
    ap.add_argument("--upsample", type=int, default=1)
    ap.add_argument("--adjust", type=float, default=-0.5)
    args = ap.parse_args()
    single_thread_env(args.threads)
    import dlib
    import face_recognition_models as frm
    hog = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(frm.pose_predictor_five_point_model_location()) if args.task != "detect" else None

    def detect(img):
        rects, scores, _ = hog.run(img, args.upsample, args.adjust)
        out = []
        for r, s in zip(rects, scores):
            face = {"box": [float(r.left()), float(r.top()), float(r.right() + 1), float(r.bottom() + 1)],
                    "score": round(float(s), 5), "points": None}
            if sp is not None:
                shape = sp(img, r)
                raw = [[float(shape.part(i).x), float(shape.part(i).y)] for i in range(5)]
                # model order: 0,1 = one eye's corners, 2,3 = the other eye's, 4 = nose base
                e1 = [(raw[0][0] + raw[1][0]) / 2, (raw[0][1] + raw[1][1]) / 2]
                e2 = [(raw[2][0] + raw[3][0]) / 2, (raw[2][1] + raw[3][1]) / 2]
                left, right = sorted([e1, e2])  # by x: image-left first
                face["points"] = [left, right, raw[4], None, None]
                face["extra"] = {"dlib_points": raw}
            out.append(face)
        return out

    serve("dlib", args.task, detect, {"dlib": dlib.__version__},
          f"HOG frontal detector, upsample {args.upsample}, adjust_threshold {args.adjust}"
          + ("" if sp is None else "; 5-point shape predictor (eye corners + nose base)"))


if __name__ == "__main__":
    main()
