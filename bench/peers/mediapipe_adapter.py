#!/usr/bin/env python3
"""Adapter for mediapipe 0.10.21 (run with bench/.venvs/mediapipe/bin/python).
Protocol: bench/peers/_common.py.

- landmarks: FaceMesh (static_image_mode, refine_landmarks, up to 5 faces,
  min_detection_confidence 0.5), which runs its own BlazeFace detector on the
  whole image; 5 points from mesh indices IDX (the iris centres 468/473, nose
  tip 1, mouth corners 61/291).  Box = the bounding box of the 468 mesh
  points.  Which iris index is image-left was checked on the CUHK test list
  (see IDX).
- detect: FaceDetection full-range (model_selection=1),
  min_detection_confidence --min-score (default 0.2, low so that AP sees the
  whole precision/recall curve); box = its relative box x image size;
  points: none (its 6 keypoints are not our 5)."""


from _common import base_args, clean, serve, single_thread_env

# image-left eye, image-right eye, nose tip, image-left, image-right mouth corner.
# 468 is the iris of the subject's right eye = image-left (checked: mean x of
# 468 < mean x of 473 on cuhk_facepoint/test_net7876.txt faces).
IDX = (468, 473, 1, 61, 291)


def main():
    ap = base_args()
    ap.add_argument("--min-score", type=float, default=0.2)
    args = ap.parse_args()
    single_thread_env(args.threads)
    import mediapipe as mp
    import numpy as np

    if args.task == "detect":
        fd = mp.solutions.face_detection.FaceDetection(model_selection=1,
                                                       min_detection_confidence=args.min_score)

        def detect(img):
            h, w = img.shape[:2]
            res = fd.process(img)
            out = []
            for d in res.detections or []:
                b = d.location_data.relative_bounding_box
                x1, y1 = b.xmin * w, b.ymin * h
                out.append({"box": [x1, y1, x1 + b.width * w, y1 + b.height * h],
                            "score": d.score[0], "points": None})
            return clean(out)
        settings = f"FaceDetection full-range (model_selection=1), min score {args.min_score}, RGB"
    else:
        fm = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                             max_num_faces=5, min_detection_confidence=0.5)

        def detect(img):
            h, w = img.shape[:2]
            res = fm.process(img)
            out = []
            for lm in res.multi_face_landmarks or []:
                xy = np.array([[p.x * w, p.y * h] for p in lm.landmark])
                box = [*xy[:468].min(axis=0), *xy[:468].max(axis=0)]
                out.append({"box": box, "score": 1.0, "points": xy[list(IDX)]})
            return clean(out)
        settings = "FaceMesh static, refine_landmarks, 5 pts = mesh 468/473/1/61/291, RGB"
    serve("mediapipe", args.task, detect, {"mediapipe": mp.__version__}, settings)


if __name__ == "__main__":
    main()
