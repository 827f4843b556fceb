"""The worker side of a collection run: the nets, loaded once per worker process by a
Dask worker plugin, and one shard's task.

A shard's task is idempotent, so the engine may run it again after a lost worker: it
reads the images its shard's finished parts already hold, processes only the others
(all of them, the first time) into the next part, then writes the done marker.  One
bad image (corrupt, empty, over --max-pixels, or any error inside the nets) becomes an
error row, never a failed shard.
"""
import argparse
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from distributed import WorkerPlugin, get_worker

from ..images import ImageReadError, ImageTooLarge, read_image, write_image
from .listing import keys_digest, read_shard_keys
from .store import SCHEMA_VERSION, CollectionStore, counts_of, write_json

PLUGIN_NAME = "facecascade-collection-nets"
PROGRESS_TOPIC = "facecascade-collection-progress"
# seconds between a task's progress events (the driver's bar)
PROGRESS_EVERY = 0.5


@dataclass(frozen=True)
class ShardJob:
    """What every shard task of a run shares (small: it travels with each task)."""
    input_root: str  # absolute: image keys are relative to it
    out: str
    align: bool
    align_size: int
    max_pixels: float


class CollectionNets(WorkerPlugin):
    """MTCNN + the landmark cascade, built once in each worker process from the values of
    add_detector_arguments' flags (the cascade on the detector's --backend and --gpu)."""

    name = PLUGIN_NAME

    def __init__(self, detector_flags):
        self.detector_flags = dict(detector_flags)
        self.detector = self.cascade = None

    def setup(self, worker):
        import cv2

        from ..cascade import LandmarkCascade
        from ..mtcnn import detector_from_args

        # One worker per core, each single-threaded: the nanny limits BLAS and OpenMP to one
        # thread, but OpenCV's own pool (the crops' resize and remap) would spread over every
        # core, so one worker alone borrowed the idle cores and two workers fought over them.
        cv2.setNumThreads(max(1, int(self.detector_flags.get("threads") or 1)))
        args = argparse.Namespace(**self.detector_flags)
        self.detector = detector_from_args(args)
        self.cascade = LandmarkCascade.from_shipped(backend=args.backend, gpu=args.gpu)


def process_shard(job, shard, listing, digest):
    """Rows for the shard's keys (in the driver's `listing` folder, `digest` as the driver
    read them) not yet in its parts -> the shard's counts (all parts) and those of this attempt."""
    t0, cpu0 = time.perf_counter(), time.thread_time()
    keys = read_shard_keys(listing, shard)
    if keys_digest(keys) != digest:
        raise RuntimeError(f"{listing}: the listing of shard {shard} changed after the driver read it")
    nets = get_worker().plugins[PLUGIN_NAME]
    store = CollectionStore(job.out)
    store.remove_stale_temporaries(shard)
    done = set(store.shard_rows(shard, columns=["image"]).column("image").to_pylist())
    todo = [k for k in keys if k not in done]
    rows, last_event, faces = [], time.monotonic(), 0
    for i, key in enumerate(todo):
        image_rows = image_rows_of(nets, store, job, shard, key)
        rows.extend(image_rows)
        faces += sum(r["status"] == "ok" for r in image_rows)
        if time.monotonic() - last_event >= PROGRESS_EVERY or i == len(todo) - 1:
            get_worker().log_event(PROGRESS_TOPIC, {"shard": shard, "images": i + 1, "faces": faces})
            last_event = time.monotonic()
    if todo:
        store.write_rows(shard, len(store.parts(shard)), rows)
    totals = counts_of(store.shard_rows(shard, columns=["image", "status"]))
    new = {"images": len(todo), "faces": faces, "errors": sum(r["status"] == "error" for r in rows),
           "no_face": sum(r["status"] == "no_face" for r in rows)}
    marker = {"shard": shard, "digest": digest, "listed": len(keys), "parts": len(store.parts(shard)),
              **totals, "seconds_last_attempt": round(time.perf_counter() - t0, 3), "schema_version": SCHEMA_VERSION}
    write_json(store.marker_path(shard), marker)
    # CPU seconds of this thread (the nets run single-threaded in it): the per-core cost,
    # whatever else the machine runs
    return {"shard": shard, "totals": totals, "new": new, "seconds": time.perf_counter() - t0,
            "cpu_seconds": time.thread_time() - cpu0}


def image_rows_of(nets, store, job, shard, key):
    """The rows of one image: one per face, or one no_face / error row."""
    base = {"image": key, "shard": shard, "schema_version": SCHEMA_VERSION, "reason": "", "aligned": "",
            "face": -1, "box": None, "score": None, "onet_points": None, "points": None,
            "width": None, "height": None}
    path = Path(job.input_root) / key  # an absolute key stays as it is
    try:
        image = read_image(path, max_pixels=job.max_pixels)
    except ImageTooLarge as e:
        return [{**base, "status": "error", "reason": str(e), "width": e.width, "height": e.height}]
    except (ImageReadError, OSError) as e:
        return [{**base, "status": "error", "reason": str(e)}]
    base.update(height=image.shape[0], width=image.shape[1])
    try:
        faces = nets.detector.detect(image)
        points = nets.cascade.predict_detections(image, faces)
    except Exception as e:  # one image's failure (a bug, memory) must not fail its whole shard
        return [{**base, "status": "error", "reason": f"{path}: {type(e).__name__}: {e}"}]
    if not len(faces):
        return [{**base, "status": "no_face"}]
    rows = []
    for k, (box, score, onet_points, pts) in enumerate(zip(faces.boxes, faces.scores, faces.points, points)):
        row = {**base, "status": "ok", "face": k, "box": [float(v) for v in box], "score": float(score),
               "onet_points": onet_points.tolist(), "points": pts.tolist()}
        if job.align:
            row["aligned"] = write_aligned(store, shard, key, k, image, pts, job.align_size)
        rows.append(row)
    return rows


def aligned_name(key, face):
    """A crop's file name from its row key (image, face): the image's name made safe for
    any file system, plus a hash of the whole key (two folders may hold the same name)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", key.rsplit("/", 1)[-1].rsplit(".", 1)[0])[:60]
    digest = hashlib.sha1(key.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{stem}-{digest}_{face}.png"


def write_aligned(store, shard, key, face, image, points, size):
    from ..geometry import align_face

    path = store.aligned_path(shard, aligned_name(key, face))
    write_image(path, align_face(image, points, size=size))
    return path.relative_to(store.out).as_posix()
