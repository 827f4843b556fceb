r"""Every face and its refined 5 points for a whole photo collection, on all cores of this
machine (a local Dask cluster) or on a Dask cluster (--scheduler), resumable: a rerun
after Ctrl-C, a kill or a crash skips the finished shards and ends with the rows of an
uninterrupted run, each image once.

INPUT: a folder (recursive), a list file (.txt/.lst/.list: one image per line, relative to
the list's folder) or a quoted glob ('photos/**/*.jpg').  OUT receives sharded Parquet
rows (OUT/rows/*.parquet: one row per face, one per image without a face or with an
error; read them with pyarrow.parquet.read_table("OUT/rows") or pandas.read_parquet),
done markers, and with --align the 112x112 aligned crops (OUT/aligned/shard-*/).  The
detector and cascade flags are those of detect_landmarks.py.  The last line printed is
a JSON object (images, faces, errors, seconds, ...).

  python 3_demo/Code/process_collection.py photos/ --out /data/faces
  python 3_demo/Code/process_collection.py photos.txt --out /data/faces --align --workers 8
  python 3_demo/Code/process_collection.py 'photos/**/*.jpg' --out /data/faces --scheduler tcp://HOST:8786

On a Dask cluster by hand: machines that see INPUT, OUT and this checkout (with its
.venv from docker/build_caffe.sh) at the same paths, e.g. on a shared file system:
  1. one machine:     .venv/bin/dask scheduler --port 8786
  2. every machine:   MALLOC_MMAP_THRESHOLD_=67108864 .venv/bin/dask worker tcp://SCHEDULER:8786 \
                          --nworkers $(nproc) --nthreads 1
  3. any machine:     .venv/bin/python 3_demo/Code/process_collection.py INPUT --out OUT --scheduler tcp://SCHEDULER:8786
Workers may join or leave while it runs (a lost worker's shard runs again on another);
a rerun of step 3 resumes the job.
"""
import argparse
import json
import sys
from pathlib import Path

from facecascade.commands.detect_landmarks import add_landmark_arguments
from facecascade.mtcnn import add_detector_arguments


def detector_flags(args):
    """The values of add_detector_arguments' flags in args (the workers rebuild the
    detector from them with detector_from_args)."""
    probe = add_detector_arguments(argparse.ArgumentParser(add_help=False))
    return {name: getattr(args, name) for name in vars(probe.parse_args([]))}


def main(argv=None, doc=None):
    from facecascade.collection.driver import MAX_PIXELS, SHARD_SIZE, run_collection

    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", help="a folder (recursive), a list file (.txt/.lst/.list) or a quoted glob")
    ap.add_argument("--out", type=Path, required=True, help="output folder (a rerun into it resumes the job)")
    ap.add_argument("--workers", type=int, default=None, metavar="N",
                    help="worker processes of the local cluster, one thread each (default: one per core)")
    ap.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="run on the Dask cluster of this scheduler (tcp://HOST:8786) instead of a local one; "
                         "its workers must see INPUT, OUT and this checkout at the same paths")
    ap.add_argument("--shard-size", type=int, default=SHARD_SIZE, metavar="N",
                    help=f"images per shard, fixed by the first run into OUT (default {SHARD_SIZE})")
    ap.add_argument("--max-pixels", type=float, default=MAX_PIXELS, metavar="P",
                    help=f"an image of more pixels is an error row, judged from its header before decoding "
                         f"(default {MAX_PIXELS:g})")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_landmark_arguments(ap)
    add_detector_arguments(ap)
    args = ap.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        ap.error("--workers must be >= 1")
    summary = run_collection(args.input, args.out, detector_flags(args), align=args.align,
                             align_size=args.align_size, max_pixels=args.max_pixels,
                             shard_size=args.shard_size, workers=args.workers, scheduler=args.scheduler,
                             progress=not args.no_progress)
    rate = summary["images_this_run"] / max(summary["seconds"], 1e-9)
    print(f"{summary['images']} images in OUT: {summary['faces']} faces, {summary['no_face']} without a face, "
          f"{summary['errors']} errors; this run: {summary['images_this_run']} images in {summary['seconds']:.1f} s "
          f"({rate:.1f} images/s) on {summary['workers']} workers, {summary['shards_run']} shards run, "
          f"{summary['shards_skipped']} already done, {summary['shards_failed']} failed", file=sys.stderr)
    print(json.dumps(summary))
    if summary["shards_failed"]:
        sys.exit(1)
