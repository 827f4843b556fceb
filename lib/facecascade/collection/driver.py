"""The driver of a collection run: list INPUT into stable shards, start or join a Dask
cluster, keep a bounded number of shard tasks in flight, show progress, sum up.

Its memory does not grow with the collection: the listing is streamed to per-shard list
files (listing.spill_listing) that the tasks read their keys from, one shard's keys are
read back (for its digest) only when it is submitted, at most `in_flight` shard futures exist at a time, and a finished one is released at
once.  The engine reschedules the task of a lost worker (`allowed-failures` times, then
the shard is reported as failed and the next run retries it).
"""
import argparse
import contextlib
import os
import shutil
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

from tqdm import tqdm

from .listing import CollectionError, CollectionInput, count_keys, keys_digest, read_shard_keys, spill_listing
from .store import SCHEMA_VERSION, CollectionStore
from .worker import PROGRESS_TOPIC, CollectionNets, ShardJob, process_shard

# default images per shard: a lost worker costs at most one shard's work again
SHARD_SIZE = 500
# default pixel limit: a larger image is an error row (a 48 Mpx photo passes, a 10000 x 10000 bomb does not)
MAX_PIXELS = 64e6
# the runtime flags (add_detector_arguments) that change the rows, so a rerun must keep them
# (--gpu and --threads only change the speed)
RESULT_FLAGS = ("backend", "precision")
# glibc's threshold for serving an allocation with its own mmap, in the workers (dask_client)
WORKER_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(64 * 2 ** 20)}
# times the scheduler reschedules the task of a worker that died before the shard is failed
ALLOWED_FAILURES = 3


@contextlib.contextmanager
def dask_client(workers=None, scheduler=None):
    """A Client of the cluster at `scheduler`, or of a new LocalCluster of `workers`
    single-threaded worker processes (default: one per core), closed afterwards."""
    import dask
    from distributed import Client, LocalCluster

    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in each worker, which also freezes glibc's mmap
    # threshold at 128 KiB: every larger numpy temporary of the nets is then mapped and unmapped
    # afresh (page faults: 13 % more CPU per image on WIDER photos; bench/collection_throughput.py)
    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **WORKER_MALLOC}
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.nanny.pre-spawn-environ": environ}):
        if scheduler:
            try:
                client = Client(scheduler, timeout=30)
            except OSError as e:
                raise CollectionError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
            with client:
                yield client
            return
        n = workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                yield client


class Progress:
    """The bar (images/s, faces/s) fed by the workers' progress events and the finished
    shards; events of a shard retried after a lost worker start again from 0."""

    def __init__(self, total, enabled=True):
        self.lock = threading.Lock()
        self.live, self.finished = {}, set()
        self.images = self.faces = 0
        self.t0 = time.perf_counter()
        self.bar = tqdm(total=total, desc="images", unit="img", file=sys.stderr, disable=not enabled,
                        smoothing=0.05)

    def on_event(self, event):
        msg = event[1]
        with self.lock:
            if msg["shard"] not in self.finished:
                self.live[msg["shard"]] = (msg["images"], msg["faces"])

    def shard_done(self, shard, new):
        with self.lock:
            self.finished.add(shard)
            self.live.pop(shard, None)
            self.images += new["images"]
            self.faces += new["faces"]

    def refresh(self):
        with self.lock:
            images = self.images + sum(i for i, _ in self.live.values())
            faces = self.faces + sum(f for _, f in self.live.values())
        seconds = max(time.perf_counter() - self.t0, 1e-9)
        self.bar.n = images
        self.bar.set_postfix_str(f"{faces} faces, {faces / seconds:.1f} faces/s", refresh=False)
        self.bar.refresh()

    def close(self):
        self.refresh()
        self.bar.close()


def plan(source, store, settings, shard_size):
    """The job's manifest (created on the first run: the shard count from a counting pass
    over the listing), and the listing spilled into per-shard files -> (manifest, counts)."""
    job = {"input": source.spec, "input_root": str(source.root), "settings": settings,
           "schema_version": SCHEMA_VERSION}
    if not store.manifest_path.is_file():
        job["shards"] = max(1, -(-count_keys(source) // max(1, shard_size)))
    manifest = store.open_manifest(job)
    # a folder of this run's own: a task of an earlier, interrupted run never reads it half written
    shutil.rmtree(store.listing_dir, ignore_errors=True)
    listing = store.listing_dir / uuid.uuid4().hex
    return manifest, listing, spill_listing(source, manifest["shards"], listing)


def run_collection(input_spec, out, detector_flags, align=False, align_size=112, max_pixels=MAX_PIXELS,
                   shard_size=SHARD_SIZE, workers=None, scheduler=None, progress=True):
    """Process every image of INPUT into OUT (see the package docstring) -> the summary.
    detector_flags: the values of add_detector_arguments' flags (by their dest names)."""
    from ..mtcnn.config import config_from_args

    t0 = time.perf_counter()
    out = Path(out).resolve()
    source = CollectionInput(input_spec, exclude=out)
    store = CollectionStore(out)
    flags = argparse.Namespace(**detector_flags)
    # the settings the rows depend on: the detector's, resolved (preset + flags), and the models'
    runtime = {k: str(v) if isinstance(v, Path) else v for k, v in detector_flags.items() if k in RESULT_FLAGS}
    settings = {"detector": config_from_args(flags).to_dict(), "model_dir": str(Path(flags.model_dir).resolve()),
                "runtime": runtime, "align": bool(align), "align_size": int(align_size), "max_pixels": float(max_pixels)}
    manifest, listing, counts = plan(source, store, settings, shard_size)
    job = ShardJob(str(source.root), str(out), bool(align), int(align_size), float(max_pixels))
    with dask_client(workers, scheduler) as client:
        client.register_plugin(CollectionNets(detector_flags))
        ready = time.perf_counter()
        runner = ShardRunner(client, store, job, listing, counts, progress)
        runner.run(manifest["shards"])
        processed = time.perf_counter()
    shutil.rmtree(store.listing_dir, ignore_errors=True)
    summary = store_summary(store, manifest["shards"])
    # start: listing, cluster and nets; processing: the shards (the images/s of a long run)
    summary.update(runner.report(), seconds=round(time.perf_counter() - t0, 2), start_seconds=round(ready - t0, 2),
                   processing_seconds=round(processed - ready, 2), workers=runner.workers, out=str(out))
    return summary


@contextlib.contextmanager
def stop_on_ctrl_c():
    """An Event that Ctrl-C (SIGINT) sets, in place of a KeyboardInterrupt raised wherever
    the main thread happens to be (inside the Dask client's calls it may be lost)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


class ShardRunner:
    """Submits the shards whose done marker does not match their listing, at most two per
    worker thread at a time, and collects their results."""

    def __init__(self, client, store, job, listing, counts, progress=True):
        self.client, self.store, self.job, self.listing, self.counts = client, store, job, listing, counts
        self.workers, self.counted = 1, 0.0
        self.count_workers()
        self.skipped, self.failed, self.done, self.cpu_seconds = 0, [], 0, 0.0
        self.progress = Progress(0, enabled=progress)

    def count_workers(self):
        """Worker threads of the cluster (workers may join or leave one we did not start),
        asked at most every 5 s; two shards in flight per thread keep every one busy."""
        if time.monotonic() - self.counted >= 5.0:
            self.workers = max(1, sum(self.client.nthreads().values()))
            self.counted = time.monotonic()
        return 2 * self.workers

    def pending(self, n_shards):
        """(shard, digest of its keys) of every shard still to run, read one at a time."""
        for shard in range(n_shards):
            if not self.counts[shard]:
                continue
            digest = keys_digest(read_shard_keys(self.listing, shard))
            marker = self.store.marker(shard)
            if marker is not None and marker.get("digest") == digest:
                self.skipped += 1
                continue
            yield shard, digest

    def run(self, n_shards):
        todo = sum(c for s, c in enumerate(self.counts) if self.store.marker(s) is None)
        self.progress.bar.total = todo or None
        self.client.subscribe_topic(PROGRESS_TOPIC, self.progress.on_event)
        shards, futures = self.pending(n_shards), {}
        try:
            with stop_on_ctrl_c() as stop:
                self.submit_and_collect(shards, futures, stop)
        finally:
            self.client.unsubscribe_topic(PROGRESS_TOPIC)
            self.progress.close()

    def submit_and_collect(self, shards, futures, stop):
        """Keep two shards per worker thread in flight until every shard is done; Ctrl-C
        (`stop` set) ends the run at the next check (a finished shard is kept, the others
        run again next time)."""
        while not stop.is_set():
            while len(futures) < self.count_workers():
                nxt = next(shards, None)
                if nxt is None:
                    break
                # the task reads its keys from the listing (small tasks: the scheduler keeps less)
                shard, digest = nxt
                futures[self.client.submit(process_shard, self.job, shard, str(self.listing), digest, pure=False,
                                           retries=1, key=f"collection-shard-{shard}-{digest[:12]}")] = shard
            if not futures:
                return
            finished = [f for f in futures if f.done()]
            for f in finished:
                self.collect(f, futures.pop(f))
            if not finished:
                time.sleep(0.2)
            self.progress.refresh()
        raise KeyboardInterrupt

    def collect(self, future, shard):
        if future.status == "finished":
            result = future.result()
            self.done += 1
            self.progress.shard_done(shard, result["new"])
            self.cpu_seconds += result["cpu_seconds"]
        else:
            reason = f"{type(future.exception()).__name__}: {future.exception()}"
            self.failed.append({"shard": shard, "reason": reason})
            tqdm.write(f"shard {shard} failed: {reason} (a rerun retries it)", file=sys.stderr)
        future.release()

    def report(self):
        return {"images_this_run": self.progress.images, "faces_this_run": self.progress.faces,
                "cpu_seconds_this_run": round(self.cpu_seconds, 2), "shards_run": self.done,
                "shards_skipped": self.skipped, "shards_failed": len(self.failed),
                "failed": self.failed[:20]}


def store_summary(store, n_shards):
    """images, faces, no_face, errors over every finished shard of OUT."""
    totals = {"images": 0, "faces": 0, "no_face": 0, "errors": 0, "shards": n_shards}
    for shard in range(n_shards):
        marker = store.marker(shard)
        for key in ("images", "faces", "no_face", "errors"):
            totals[key] += marker.get(key, 0) if marker else 0
    return totals
