"""Step 4: detect faces with our MTCNN on an image, a folder or a list file.

Writes <out>/detections.json ({image: [{box, score, landmarks}, ...]}) and one
drawn image per input (<out>/drawn/<name>.jpg: boxes with scores, 5 points).
Any image OpenCV reads works: grayscale, RGBA and 16-bit are converted, EXIF
orientation is honoured (facecascade.images.read_image).  Unreadable images
are skipped and counted, with the reason printed; an image without a face is
named on stderr and counted (images_without_faces in the summary line).

  python mtcnn/4_detect/detect.py photo.jpg
  python mtcnn/4_detect/detect.py some/folder --out /tmp/faces
  python mtcnn/4_detect/detect.py list.txt          # one image path per line
"""
import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from facecascade.drawing import GREEN, YELLOW, draw_box, draw_points
from facecascade.images import list_image_inputs, write_image
from facecascade.mtcnn import add_detector_arguments, detector_from_args, note_no_face
from facecascade.paths import REPO_ROOT
from facecascade.skips import Skips, add_strict_argument


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="image files, folders or .txt lists of images")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / "detect")
    ap.add_argument("--no-draw", action="store_true")
    add_detector_arguments(ap)
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    det = detector_from_args(args)
    items = [it for a in args.inputs for it in list_image_inputs(a)]
    if not items:
        sys.exit(f"no images found in {args.inputs}")
    args.out.mkdir(parents=True, exist_ok=True)
    results, skipped = {}, Skips(strict=args.strict)
    for path, where in tqdm(items, desc="detect", file=sys.stderr, disable=len(items) < 5):
        img = skipped.read(path, where=where if where != str(path) else None)
        if img is None:
            continue
        faces = det.detect(img)
        results[str(path)] = faces.to_json()
        if not len(faces):
            note_no_face(where, det)
        if not args.no_draw:
            for b, s, p in zip(faces.boxes, faces.scores, faces.points):
                draw_box(img, b, YELLOW, text=f"{s:.2f}")
                draw_points(img, p, GREEN)
            write_image(args.out / "drawn" / (Path(path).stem + ".jpg"), img)
    tmp = args.out / "detections.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    tmp.replace(args.out / "detections.json")
    n_faces = sum(len(v) for v in results.values())
    print(json.dumps({"images": len(results), "skipped": skipped.counts(), "faces": n_faces,
                      "images_without_faces": sum(not v for v in results.values()),
                      "json": str(args.out / "detections.json")}))
    return results

