"""Level-1 training data: each face's region -> 48x48 PNG + list line (path + 10 values in [-1, 1]).

    python 1_level_1/Code/0_gen_data/gen_data.py            # 0_raw_data/Data/{train,test}.txt
Augmentation flags below are on by default (the shipped models use them).
Output: 1_level_1/Data/l1_train.txt, l1_test.txt and their image folders.
"""
import argparse
import json

from facecascade import datagen
from facecascade import geometry as geo
from facecascade.paths import REPO_ROOT
from facecascade.records import LabelFormatError, read_records


def add_augment_arguments(ap, defaults=datagen.AugmentConfig()):
    g = ap.add_argument_group("augmentation")
    g.add_argument("--samples-per-face", type=int, default=defaults.samples_per_face,
                   help="augmented samples per training face (default %(default)s)")
    g.add_argument("--no-flip", action="store_true", help="no horizontal flips (flips swap left/right points)")
    g.add_argument("--max-rotation", type=float, default=defaults.max_rotation, help="degrees (default %(default)s)")
    g.add_argument("--scale-jitter", type=float, default=defaults.scale_jitter, help="default %(default)s")
    g.add_argument("--shift-jitter", type=float, default=defaults.shift_jitter, help="default %(default)s")
    g.add_argument("--whole-fraction", type=float, default=defaults.whole_fraction,
                   help="level 1: share of samples seeing the whole image (default %(default)s)")
    g.add_argument("--margin-min", type=float, default=defaults.margin_min, help="level 1 box margin, default %(default)s")
    g.add_argument("--margin-max", type=float, default=defaults.margin_max, help="default %(default)s")
    r = ap.add_argument_group("robustness augmentation (off by default; the rotation-robust models' "
                              "commands are in their solvers' headers)")
    r.add_argument("--full-rotation", type=float, default=defaults.full_rotation,
                   help="share of samples rotated uniformly over the full circle (default %(default)s)")
    r.add_argument("--point-frame-fraction", type=float, default=defaults.point_frame_fraction,
                   help="level 1: share of samples framed around the points' centroid (default %(default)s)")
    r.add_argument("--frame-range", type=float, nargs=2, default=(defaults.frame_min, defaults.frame_max),
                   metavar=("MIN", "MAX"), help="that frame's side / largest centroid-point distance "
                   "(default %(default)s; MTFL 80x80 crops: ~4.3)")
    r.add_argument("--grayscale", type=float, default=defaults.grayscale, help="probability (default %(default)s)")
    r.add_argument("--lowres", type=float, default=defaults.lowres,
                   help="probability of down/up-scaling the source (default %(default)s)")
    r.add_argument("--lowres-iod", type=float, nargs=2, default=(defaults.lowres_iod_min, defaults.lowres_iod_max),
                   metavar=("MIN", "MAX"), help="px between the eyes after downscaling (default %(default)s)")
    r.add_argument("--jpeg", type=float, default=defaults.jpeg, help="probability of JPEG re-encoding (default %(default)s)")
    r.add_argument("--jpeg-quality", type=int, nargs=2, default=(defaults.jpeg_quality_min, defaults.jpeg_quality_max),
                   metavar=("MIN", "MAX"), help="default %(default)s")
    r.add_argument("--occluder", type=float, default=defaults.occluder,
                   help="probability of an occluder over an eye, the eyes, the nose or the mouth (default %(default)s)")
    r.add_argument("--l1-rotation", type=float, default=defaults.l1_rotation,
                   help="level 2: sd in degrees of the simulated level-1 rotation error (default %(default)s)")
    r.add_argument("--l2-derotate", action="store_true",
                   help="level 2: crops turned upright by the eye line of the (simulated) level-1 points")


def augment_config(args, test=False):
    cfg = datagen.AugmentConfig(
        samples_per_face=args.samples_per_face, flip=not args.no_flip, max_rotation=args.max_rotation,
        scale_jitter=args.scale_jitter, shift_jitter=args.shift_jitter, whole_fraction=args.whole_fraction,
        margin_min=args.margin_min, margin_max=args.margin_max,
        l2_half_factor=getattr(args, "l2_half_factor", datagen.AugmentConfig.l2_half_factor),
        l2_scale=getattr(args, "l2_scale", datagen.AugmentConfig.l2_scale),
        full_rotation=args.full_rotation, point_frame_fraction=args.point_frame_fraction,
        frame_min=args.frame_range[0], frame_max=args.frame_range[1], grayscale=args.grayscale,
        lowres=args.lowres, lowres_iod_min=args.lowres_iod[0], lowres_iod_max=args.lowres_iod[1],
        jpeg=args.jpeg, jpeg_quality_min=args.jpeg_quality[0], jpeg_quality_max=args.jpeg_quality[1],
        occluder=args.occluder, l1_rotation=args.l1_rotation, l2_derotate=args.l2_derotate)
    if test:  # the held-out list: a few plain views per face, no flips or rotation
        cfg.samples_per_face, cfg.flip, cfg.max_rotation = 2, False, 0.0
        cfg.scale_jitter = cfg.shift_jitter = 0.0
        # ... but its rotations and degradations stay: the held-out loss then
        # measures the task being trained
    return cfg


def main(argv=None, level=1, doc=None):
    """doc: the --help text (crop_img.py, for level 2, gives its own)."""
    root = REPO_ROOT / f"{level}_level_{level}"
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", default=str(REPO_ROOT / "0_raw_data/Data/train.txt"), help="records list (divide_tr_te.py)")
    ap.add_argument("--test", default=str(REPO_ROOT / "0_raw_data/Data/test.txt"), help="records list")
    ap.add_argument("--out", default=str(root / "Data"), help="output folder (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N faces of each list (quick runs)")
    if level == 2:
        ap.add_argument("--l1-predictions", nargs=2, metavar=("TRAIN_PRED", "TEST_PRED"),
                        help="records lists of level-1 predictions for --train and --test "
                             "(1_level_1/Code/3_inference); default: simulated level-1 errors")
        ap.add_argument("--l2-half-factor", type=float, default=datagen.AugmentConfig.l2_half_factor,
                        help="crop half-side / the --l2-scale length (default %(default)s; the seed: 2.0)")
        ap.add_argument("--l2-scale", choices=geo.L2_SCALES, default=datagen.AugmentConfig.l2_scale,
                        help="crop scale: mean |nose - other points| ('points', default) or "
                             "|nose - left eye| ('left_eye', the seed)")
    add_augment_arguments(ap)
    args = ap.parse_args(argv)
    prefix = f"l{level}"
    report = {}
    for split, path, test in (("train", args.train, False), ("test", args.test, True)):
        records = read_records(path)
        if args.limit:
            records = records[:args.limit]
        l1 = None
        if getattr(args, "l1_predictions", None):
            pred = {str(r.image): r.points for r in read_records(args.l1_predictions[int(test)])}
            missing = [r.where for r in records if str(r.image) not in pred]
            if missing:
                raise LabelFormatError(f"{missing[0]}: no level-1 prediction for this image "
                                       f"in {args.l1_predictions[int(test)]}")
            l1 = [pred[str(r.image)] for r in records]
        res = datagen.generate(records, args.out, f"{prefix}_{split}.txt", level,
                               augment_config(args, test), seed=args.seed + test, l1_predictions=l1)
        report[split] = res
        print(f"{split}: {res['faces']} faces -> {res['written']} samples in {args.out}/{prefix}_{split}.txt; "
              f"skipped {sum(res['skipped'].values())} {res['skipped'] or ''}")
        for e in res["examples"]:
            print("  skipped:", e)
    print(json.dumps({k: {"faces": v["faces"], "samples": v["written"], "skipped": v["skipped"]}
                      for k, v in report.items()}))

