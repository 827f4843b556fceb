#!/usr/bin/env python3
"""Throughput and driver memory of 3_demo/Code/process_collection.py.

    python bench/collection_throughput.py [--images N] [--workers 1 2] [--tiny 10000 100000]

1. images/s on WIDER-like photos (the first N of ../shared/data/wider_eval, default 120)
   with a local cluster of 1 and of 2 worker processes, each run into a fresh OUT, and
   the scaling from 1 to 2; against 3_demo/Code/detect_landmarks.py in one process on
   the same images (its rate: the time of N images less that of 1, so start-up is out).
   process_collection's rate: images / processing seconds (its summary; start-up, i.e.
   listing, cluster and nets, reported apart).
2. the driver's peak RSS (psutil, sampled every 50 ms; its own process only, not the
   workers) over whole runs on 10,000 and 100,000 tiny synthetic images (8x8 PNGs, no
   face), which shows whether it grows with the number of images: with its local
   cluster (whose scheduler runs inside the driver's process) and alone, on a cluster
   of `dask scheduler` + `dask worker` processes started here.
3. an estimate for 1,000,000 WIDER-like images on N machines of C cores from the
   measured per-core rate: images per CPU second of the 1-worker run (the nets run in
   the task's thread; CPU time stays near what an unshared core takes where the wall
   rate does not), printed as a table.

Writes bench/Result/collection_throughput.json; the last line printed is that JSON.
Other processes on the machine slow the 2-worker run: run it on an idle machine.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

from facecascade.machine import describe
from facecascade.paths import REPO_ROOT, SHARED_DATA

COLLECTION = REPO_ROOT / "3_demo" / "Code" / "process_collection.py"
DETECT = REPO_ROOT / "3_demo" / "Code" / "detect_landmarks.py"
RESULT = REPO_ROOT / "bench" / "Result"
SINGLE_THREAD = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_sampled(cmd):
    """Run cmd -> (stdout, wall s, peak RSS MiB of that process alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=SINGLE_THREAD)
    peak, me = [0], psutil.Process(proc.pid)

    def sample():
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], me.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{stderr[-3000:]}")
    return stdout, time.perf_counter() - t0, peak[0] / 2 ** 20


def collection_run(input_path, out, workers, shard_size, scheduler=None):
    where = ["--scheduler", scheduler] if scheduler else ["--workers", str(workers)]
    stdout, wall, peak = run_sampled([sys.executable, str(COLLECTION), str(input_path), "--out", str(out),
                                      *where, "--shard-size", str(shard_size), "--no-progress"])
    summary = json.loads(stdout.strip().splitlines()[-1])
    return {"workers": workers, "images": summary["images_this_run"], "faces": summary["faces_this_run"],
            "errors": summary["errors"], "wall_s": round(wall, 2), "start_s": summary["start_seconds"],
            "processing_s": summary["processing_seconds"],
            "images_per_s": round(summary["images_this_run"] / summary["processing_seconds"], 3),
            "cpu_s": summary["cpu_seconds_this_run"],
            "images_per_cpu_s": round(summary["images_this_run"] / max(summary["cpu_seconds_this_run"], 1e-9), 3),
            "faces_per_s": round(summary["faces_this_run"] / summary["processing_seconds"], 3),
            "driver_peak_rss_mib": round(peak, 1)}


def detect_landmarks_rate(images, tmp):
    """detect_landmarks.py in one process: (N images - 1 image) wall and CPU time ->
    images/s and images per CPU second (its CPU time: getrusage of the waited child)."""
    walls, cpus = {}, {}
    for n in (1, len(images)):
        listing = tmp / f"dl_{n}.txt"
        listing.write_text("\n".join(str(p) for p in images[:n]) + "\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        _, walls[n], _ = run_sampled([sys.executable, str(DETECT), str(listing), "--out", str(tmp / f"dl_{n}")])
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus[n] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    n = len(images)
    return {"images": n, "wall_s": round(walls[n], 2), "wall_1_image_s": round(walls[1], 2),
            "images_per_s": round((n - 1) / max(walls[n] - walls[1], 1e-9), 3),
            "images_per_cpu_s": round((n - 1) / max(cpus[n] - cpus[1], 1e-9), 3)}


def make_tiny(folder, n):
    """n 8x8 PNGs (no face: below P-Net's 12 px window), 1000 per sub-folder."""
    import cv2
    import numpy as np
    img = np.zeros((8, 8, 3), np.uint8)
    ok, buf = cv2.imencode(".png", img)
    data = buf.tobytes()
    for i in range(n):
        sub = folder / f"{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"tiny_{i:07d}.png").write_bytes(data)


def external_cluster_run(input_path, out, workers, port=18799):
    """collection_run on a cluster of `dask scheduler` + `dask worker` processes: the
    driver's RSS alone (with a local cluster, the scheduler lives in the driver's process)
    -> the run's figures + the scheduler's peak RSS."""
    dask = Path(sys.executable).with_name("dask")
    scheduler = subprocess.Popen([str(dask), "scheduler", "--port", str(port), "--dashboard-address", ":0"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        time.sleep(3)
        worker = subprocess.Popen([str(dask), "worker", f"tcp://127.0.0.1:{port}", "--nworkers", str(workers),
                                   "--nthreads", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  env=SINGLE_THREAD)
        time.sleep(5)
        result = collection_run(input_path, out, workers, 500, scheduler=f"tcp://127.0.0.1:{port}")
        result["scheduler_rss_mib_at_end"] = round(psutil.Process(scheduler.pid).memory_info().rss / 2 ** 20, 1)
        return result
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=60)


def estimate(per_core, images=1_000_000, machines=(1, 10, 100), cores=16, price=0.04):
    """Wall hours and core-hours of `images` at the measured per-core rate; cost at
    `price` per core-hour (an assumption, e.g. a cloud vCPU)."""
    core_hours = images / per_core / 3600
    return [{"machines": m, "cores_each": cores, "wall_hours": round(core_hours / (m * cores), 2),
             "core_hours": round(core_hours, 1), "cost_usd": round(core_hours * price, 2)} for m in machines]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120, help="WIDER-like images (first N of wider_eval)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tiny", type=int, nargs="*", default=[10_000, 100_000], help="tiny image counts (memory)")
    ap.add_argument("--shard-size", type=int, default=2,
                    help="shard size of the WIDER-like runs (small: shards are hashed, so a few large ones would leave a worker idle)")
    ap.add_argument("--price", type=float, default=0.04, help="assumed USD per core-hour for the estimate")
    args = ap.parse_args()
    print(describe(), flush=True)
    wider = sorted((SHARED_DATA / "wider_eval" / "images").rglob("*.jpg"))[:args.images]
    if not wider:
        sys.exit(f"no WIDER images under {SHARED_DATA / 'wider_eval'} (set FACECASCADE_DATA)")
    result = {"date": datetime.now(timezone.utc).isoformat(timespec="minutes"), "machine": describe().splitlines()[0],
              "load_avg_1min_before": os.getloadavg()[0], "wider_images": len(wider)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        listing = tmp / "wider.txt"
        listing.write_text("\n".join(str(p) for p in wider) + "\n")
        runs = [collection_run(listing, tmp / f"out_{w}", w, args.shard_size) for w in args.workers]
        for r in runs:
            print(f"process_collection --workers {r['workers']}: {r['images_per_s']:.2f} images/s, "
                  f"{r['faces_per_s']:.2f} faces/s (start {r['start_s']:.1f} s, processing {r['processing_s']:.1f} s); "
                  f"{r['images_per_cpu_s']:.2f} images per CPU second of the workers", flush=True)
        result["collection"] = runs
        rates = {r["workers"]: r["images_per_s"] for r in runs}
        if 1 in rates and 2 in rates:
            result["scaling_2_over_1"] = round(rates[2] / rates[1], 3)
            print(f"scaling 1 -> 2 workers: {result['scaling_2_over_1']:.2f}x", flush=True)
        result["detect_landmarks"] = detect_landmarks_rate(wider, tmp)
        dl = result["detect_landmarks"]
        print(f"detect_landmarks.py, one process: {dl['images_per_s']:.2f} images/s, {dl['images_per_cpu_s']:.2f} "
              "images per CPU second (all its threads)", flush=True)
        result["load_avg_1min_after"] = os.getloadavg()[0]
        result["driver_memory"] = []
        for n in args.tiny:
            make_tiny(tmp / f"tiny_{n}", n)
            r = collection_run(tmp / f"tiny_{n}", tmp / f"tiny_out_{n}", 2, 500)
            e = external_cluster_run(tmp / f"tiny_{n}", tmp / f"tiny_ext_{n}", 2)
            result["driver_memory"].append({"listed_images": n, "shard_size": 500, "local_cluster": r,
                                            "external_cluster": e})
            print(f"{n} tiny images: driver peak RSS {r['driver_peak_rss_mib']:.1f} MiB with its local cluster's "
                  f"scheduler, {e['driver_peak_rss_mib']:.1f} MiB alone (external scheduler: "
                  f"{e['scheduler_rss_mib_at_end']:.1f} MiB at the end); {r['images_per_s']:.0f} images/s", flush=True)
    if 1 in rates:
        # the per-core rate: images per CPU second of the 1-worker run (what one core does when it
        # is not shared; the wall rate of that run also counts time other processes took)
        per_core = runs[args.workers.index(1)]["images_per_cpu_s"]
        result["estimate_1M"] = {"per_core_images_per_s": per_core, "price_usd_per_core_hour": args.price,
                                 "rows": estimate(per_core, price=args.price)}
        for row in result["estimate_1M"]["rows"]:
            print(f"1M images on {row['machines']} x {row['cores_each']} cores: {row['wall_hours']} h, "
                  f"{row['core_hours']} core-hours, ${row['cost_usd']}")
    RESULT.mkdir(parents=True, exist_ok=True)
    (RESULT / "collection_throughput.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
