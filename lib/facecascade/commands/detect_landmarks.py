"""End to end: any photo -> every face (our MTCNN) -> refined 5 points (the
landmark cascade, level 1 + level 2, run on each detected box).

Writes <out>/landmarks.json ({image: [{box, score, onet_landmarks, landmarks}]},
points in image pixels: image-left eye, image-right eye, nose, image-left and
image-right mouth corner) and <out>/drawn/<name>.jpg (box yellow, O-Net points
red, cascade points green).  --align also writes every face warped by the
similarity transform of its refined 5 points onto the 112x112 five-point
(ArcFace) template: <out>/aligned/<name>_<k>.png.

  python 3_demo/Code/detect_landmarks.py photo.jpg --align
  python 3_demo/Code/detect_landmarks.py 3_demo/Data/celeba --out /tmp/demo
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facecascade.images import list_image_inputs, write_image
from facecascade.mtcnn import add_detector_arguments, detector_from_args, note_no_face
from facecascade.paths import REPO_ROOT
from facecascade.runtime import runtime_options
from facecascade.skips import Skips, add_strict_argument


def add_landmark_arguments(ap):
    """The aligned-crop flags of every command that runs detector + cascade
    (detect_landmarks.py, process_collection.py)."""
    ap.add_argument("--align", action="store_true", help="write 112x112 aligned faces")
    ap.add_argument("--align-size", type=int, default=112)
    return ap


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="image files, folders or .txt lists of images")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "3_demo" / "Result" / "detect_landmarks")
    add_landmark_arguments(ap)
    add_detector_arguments(ap)
    add_strict_argument(ap)
    args = ap.parse_args(argv)

    from facecascade.cascade import LandmarkCascade
    from facecascade.drawing import GREEN, RED, YELLOW, draw_box, draw_points
    from facecascade.geometry import align_face

    det = detector_from_args(args)
    lc = LandmarkCascade.from_shipped(**runtime_options(args))   # the same runtime, device, threads, precision
    items = [it for a in args.inputs for it in list_image_inputs(a)]
    if not items:
        sys.exit(f"no images found in {args.inputs}")
    args.out.mkdir(parents=True, exist_ok=True)
    results, skipped, n_faces = {}, Skips(strict=args.strict), 0
    for path, where in tqdm(items, desc="faces + landmarks", file=sys.stderr, disable=len(items) < 5):
        img = skipped.read(path, where=where if where != str(path) else None)
        if img is None:
            continue
        faces = det.detect(img)
        if not len(faces):
            note_no_face(where, det)
        drawn = img.copy()
        entries = []
        refined = lc.predict_detections(img, faces)
        for k, (box, score, onet_pts, pts) in enumerate(zip(faces.boxes, faces.scores, faces.points, refined)):
            entries.append({"box": [round(float(v), 2) for v in box], "score": round(float(score), 5),
                            "onet_landmarks": np.round(onet_pts, 2).tolist(),
                            "landmarks": np.round(pts, 2).tolist()})
            draw_box(drawn, box, YELLOW, text=f"{score:.2f}")
            draw_points(drawn, onet_pts, RED)
            draw_points(drawn, pts, GREEN)
            if args.align:
                write_image(args.out / "aligned" / f"{Path(path).stem}_{k}.png",
                            align_face(img, pts, size=args.align_size))
        n_faces += len(entries)
        results[str(path)] = entries
        write_image(args.out / "drawn" / (Path(path).stem + ".jpg"), drawn)
    tmp = args.out / "landmarks.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(args.out / "landmarks.json")
    print(json.dumps({"images": len(results), "skipped": skipped.counts(), "faces": n_faces,
                      "images_without_faces": sum(not v for v in results.values()),
                      "json": str(args.out / "landmarks.json")}))

