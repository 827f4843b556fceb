"""Run the landmark cascade on images and draw the result (the seed's demo).

    python 3_demo/Code/inference.py                        # the shipped demo images
    python 3_demo/Code/inference.py --images DIR           # your photos (no labels)
    python 3_demo/Code/inference.py --list LIST --format {celeba,cuhk,mtfl}

Draws ground truth green (when labelled), level 1 red, level 2 blue, the face
region yellow, into 3_demo/Result/draw_img/, and prints the time per image.
Level 1's region: the list's face box when it has one; else our MTCNN
detector's boxes when its models are shipped (--region detect, --detect);
else the whole image (the seed's mode).  With --detect an image without a
detected face gets no points (named on stderr, counted in the last line);
--region auto uses the whole image there.  Runs on pycaffe, or on OpenCV's
DNN module when Caffe is not built, or on onnxruntime (--backend onnx, --precision int8).
"""
import argparse
import time
from pathlib import Path

import numpy as np

from facecascade import drawing
from facecascade.cascade import DETECTOR_BOX_MARGIN, LandmarkCascade
from facecascade.images import IMAGE_EXTENSIONS, write_image
from facecascade.mtcnn import MTCNN, note_no_face
from facecascade.paths import DEMO_DATA, REPO_ROOT
from facecascade.records import FORMATS, FaceRecord, read_celeba, read_landmark_list
from facecascade.runtime import add_runtime_arguments, runtime_options
from facecascade.skips import Skips, add_strict_argument

DEMO_SETS = [
    dict(list=DEMO_DATA / "celeba/list_landmarks_celeba_demo.txt", format="celeba",
         bbox=DEMO_DATA / "celeba/list_bbox_celeba_demo.txt"),
    dict(list=DEMO_DATA / "cuhk/test_net7876_demo.txt", format="cuhk", bbox=None),
]


def load_detector(runtime, required=False):
    """Our MTCNN; None when its models are not shipped, unless required (--detect)."""
    try:
        return MTCNN(**runtime)
    except (ImportError, FileNotFoundError, OSError) as e:
        if required:
            raise
        print(f"note: MTCNN detector unavailable ({e}); using the whole image")
        return None


def face_boxes(image, record, region, detector):
    """The faces of one image for level 1: (list of boxes (None = whole image), their margin:
    the model card's around a list's box, DETECTOR_BOX_MARGIN around our MTCNN's).
    --region detect gives no face for an image where the detector finds none; auto falls
    back to the whole image there (the seed's mode, for face crops like CelebA's)."""
    if region == "whole":
        return [None], None
    if region in ("box", "auto") and record.box is not None:
        return [record.box], None
    if region in ("detect", "auto") and detector is not None:
        dets = detector.detect(image)
        boxes = [tuple(float(v) for v in b[:4]) for b in np.asarray(dets.boxes).reshape(-1, 4)]
        if record.points is not None and boxes:
            # a labelled image: keep the detection holding the labelled face
            centre = record.points.mean(0)
            d = [np.hypot(*(centre - [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])) for b in boxes]
            boxes = [boxes[int(np.argmin(d))]]
        if boxes:
            return boxes, DETECTOR_BOX_MARGIN
        note_no_face(record.where or record.image, detector)
        if region == "detect":
            return [], None
        print(f"  {record.image.name}: using the whole image instead (--region auto)")
    if region == "box":
        raise ValueError(f"{record.where or record.image}: --region box needs a face box")
    return [None], None


def collect(args, skips=None):
    """[(record, source label)] from --images / --list / the shipped demo sets."""
    if args.images:
        folder = Path(args.images)
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: not a folder")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise FileNotFoundError(f"{folder}: no images ({', '.join(sorted(IMAGE_EXTENSIONS))})")
        return [FaceRecord(p, None, None, "") for p in files]  # no list line to name
    sets = ([dict(list=Path(args.list), format=args.format, bbox=args.bbox)] if args.list else DEMO_SETS)
    out = []
    for s in sets:
        if s["format"] == "celeba":
            out += read_celeba(s["list"], args.root, bbox_file=s.get("bbox"), skips=skips)
        else:
            out += read_landmark_list(s["list"], s["format"], args.root, skips=skips)
    return out


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--images", help="folder of images to run on")
    src.add_argument("--list", help="labelled list (ground truth drawn green)")
    ap.add_argument("--format", choices=FORMATS, default="celeba", help="format of --list (default celeba)")
    ap.add_argument("--bbox", help="CelebA list_bbox_celeba.txt for a celeba --list")
    ap.add_argument("--root", help="image root of --list (default: the list's folder)")
    ap.add_argument("--region", choices=("auto", "whole", "box", "detect"), default="auto",
                    help="level 1's region (default auto: list box, else detector, else whole image)")
    ap.add_argument("--detect", action="store_true", help="same as --region detect")
    ap.add_argument("--out", default=str(REPO_ROOT / "3_demo/Result/draw_img"), help="output folder")
    ap.add_argument("--flip-test", action="store_true", help="average with the mirrored prediction")
    ap.add_argument("--l2-passes", type=int,
                    help="run level 2 N times, each on a crop re-centred on its last points "
                         "(default: 3_demo/Data/cascade.json's l2_passes, else 1)")
    add_runtime_arguments(ap, default="auto")
    add_strict_argument(ap)
    args = ap.parse_args(argv)
    region = "detect" if args.detect else args.region

    cascade = LandmarkCascade.from_shipped(**runtime_options(args), flip_test=args.flip_test,
                                           l2_passes=args.l2_passes)
    skipped = Skips(strict=args.strict)
    records = collect(args, skipped)
    # --detect needs the detector; auto only for images without a list's box
    wanted = region == "detect" or (region == "auto" and any(r.box is None for r in records))
    detector = load_detector(runtime_options(args), required=region == "detect") if wanted else None
    print(f"{len(records)} images, backend {cascade.backend}, region {region}")
    out = Path(args.out)
    faces = clamped = without_faces = 0
    times = []
    for rec in records:
        image = skipped.read(rec.image, where=rec.where)
        if image is None:
            continue
        t0 = time.perf_counter()
        boxes, margin = face_boxes(image, rec, region, detector)
        results = cascade.predict_batch([image] * len(boxes), boxes, margin=margin)
        dt = time.perf_counter() - t0
        times.append(dt)
        canvas = image.copy()
        if rec.points is not None:
            drawing.draw_points(canvas, rec.points, drawing.GREEN)
        for box, res in zip(boxes, results):
            if box is not None:
                drawing.draw_box(canvas, box, drawing.YELLOW)
            drawing.draw_points(canvas, res.l1, drawing.RED)
            drawing.draw_points(canvas, res.l2, drawing.BLUE)
            clamped += res.clamped
        faces += len(results)
        without_faces += not results
        write_image(out / (rec.image.stem + ".jpg"), canvas)
        print(f"  {rec.image.name}: {len(results)} face(s), {dt * 1000:.1f} ms")
    print(f"done: {len(times)} images, {faces} faces, {without_faces} images without a face, {len(skipped)} skipped, "
          f"{clamped} level-2 crops clamped; "
          f"median {np.median(times) * 1000 if times else 0:.1f} ms per image; drawings in {out}")

