"""process_collection.py on a real Dask cluster with real Caffe: a collection of a few
hundred images (real faces, tiny synthetic ones, and the files that break pipelines:
corrupt, empty, grayscale, RGBA, 16-bit, 10000 px sides), run cleanly, with a worker
killed mid-run, with the driver interrupted and rerun, and after the folder gained
files; every run must end with exactly the rows of the clean run."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest

from facecascade.collection.listing import CollectionInput, read_shard_keys, shard_of, spill_listing
from facecascade.images import ImageTooLarge, read_image
from facecascade.paths import DEMO_DATA, REPO_ROOT

SCRIPT = REPO_ROOT / "3_demo" / "Code" / "process_collection.py"
REAL = ["000167.jpg", "000275.jpg", "000335.jpg", "001557.jpg"]
N_TINY = 260
SHARD_SIZE = 8
FLOAT_COLUMNS = ("box", "score", "onet_points", "points")


def make_collection(root):
    """-> {key: what the row must say} for the special files (the rest: tiny noise images)."""
    rng = np.random.default_rng(34)
    special = {}
    for name in REAL:
        (root / "real").mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO_DATA / "celeba" / name, root / "real" / name)
        special[f"real/{name}"] = "ok"
    face = cv2.imread(str(DEMO_DATA / "celeba" / "000275.jpg"))
    odd = root / "odd files"
    odd.mkdir()
    cv2.imwrite(str(odd / "gray.png"), cv2.cvtColor(face, cv2.COLOR_BGR2GRAY))
    cv2.imwrite(str(odd / "rgba.png"), np.dstack([face, np.full(face.shape[:2], 255, np.uint8)]))
    cv2.imwrite(str(odd / "sixteen bit.png"), face.astype(np.uint16) * 257)
    (odd / "empty.jpg").write_bytes(b"")
    (odd / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + rng.bytes(3000))
    from PIL import Image
    Image.new("1", (10000, 10000)).save(odd / "huge 10000x10000.png")  # 300 MB decoded, a few KB on disk
    cv2.imwrite(str(odd / "panorama 10000x64.png"), rng.integers(0, 255, (64, 10000, 3), dtype=np.uint8))
    special.update({"odd files/gray.png": "ok", "odd files/rgba.png": "ok", "odd files/sixteen bit.png": "ok",
                    "odd files/empty.jpg": "error", "odd files/corrupt.jpg": "error",
                    "odd files/huge 10000x10000.png": "error", "odd files/panorama 10000x64.png": "no_face"})
    for i in range(N_TINY):
        folder = root / "tiny" / f"{i % 7}" / f"{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"noise_{i:04d}.{'png' if i % 2 else 'jpg'}"),
                    rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    (root / "tiny" / "notes.txt").write_text("not an image: never listed from a folder\n")
    return special


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("collection") / "photos"
    root.mkdir()
    return root, make_collection(root)


def command(*args):
    return [sys.executable, str(SCRIPT), *map(str, args), "--shard-size", str(SHARD_SIZE), "--no-progress"]


def run_command(*args, timeout=300):
    proc = subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout, cwd="/")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_rows(out, *roots):
    """OUT's rows as {(image, face): row}, the input roots replaced in error reasons (one key, once)."""
    rows = {}
    for row in pq.read_table(Path(out) / "rows").to_pylist():
        key = (row["image"], row["face"])
        assert key not in rows, f"row {key} written twice"
        for root in roots:
            row["reason"] = row["reason"].replace(str(root), "INPUT")
        rows[key] = row
    return rows


def assert_same_rows(rows, expected):
    assert sorted(rows) == sorted(expected)
    for key, row in rows.items():
        ref = expected[key]
        for column, value in row.items():
            if column in FLOAT_COLUMNS and value is not None:
                np.testing.assert_allclose(np.asarray(value), np.asarray(ref[column]), atol=1e-3, err_msg=str(key))
            else:
                assert value == ref[column], (key, column)


@pytest.fixture(scope="module")
def clean_run(collection, tmp_path_factory, caffe):
    """The reference: one uninterrupted run on the default local cluster of 2 workers."""
    root, _ = collection
    out = tmp_path_factory.mktemp("clean") / "out"
    summary = run_command(root, "--out", out, "--workers", 2, "--align")
    return out, summary, read_rows(out, root)


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker cluster the tests reach as --scheduler, and can kill workers of."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with Client(lc) as client:
            yield lc, client


def test_listing_is_streamed_and_sharded_by_path(tmp_path, collection):
    root, special = collection
    keys = list(CollectionInput(root).keys())
    assert len(keys) == len(set(keys)) == N_TINY + len(special)  # notes.txt is not an image
    (root / "photos.txt").write_text("# a comment\nreal/000167.jpg\n\n" + str(root / "real" / "000275.jpg") + "\n")
    try:
        assert list(CollectionInput(root / "photos.txt").keys()) == ["real/000167.jpg", "real/000275.jpg"]
    finally:
        (root / "photos.txt").unlink()
    # a glob's keys are relative to its part without wildcards
    assert sorted(CollectionInput(str(root / "re*" / "*.jpg")).keys()) == [f"real/{n}" for n in REAL]
    # OUT inside INPUT is never listed (its aligned crops are PNGs)
    (root / "out" / "aligned").mkdir(parents=True)
    cv2.imwrite(str(root / "out" / "aligned" / "crop.png"), np.zeros((4, 4, 3), np.uint8))
    try:
        assert len(list(CollectionInput(root, exclude=root / "out").keys())) == len(keys)
    finally:
        shutil.rmtree(root / "out")
    # a key's shard depends on the key only, so a grown folder moves no image
    counts = spill_listing(CollectionInput(root), 16, tmp_path / "listing")
    assert sum(counts) == len(keys) and max(counts) < len(keys)
    for shard in range(16):
        assert all(shard_of(k, 16) == shard for k in read_shard_keys(tmp_path / "listing", shard))


def test_read_image_max_pixels_judges_the_header(collection):
    root, _ = collection
    with pytest.raises(ImageTooLarge, match="10000x10000 image, 100.0 Mpx, over the limit of 64 Mpx") as e:
        read_image(root / "odd files" / "huge 10000x10000.png", max_pixels=64e6)
    assert (e.value.width, e.value.height) == (10000, 10000)
    assert read_image(root / "odd files" / "panorama 10000x64.png", max_pixels=64e6).shape == (64, 10000, 3)


def test_clean_run_rows(collection, clean_run):
    root, special = collection
    out, summary, rows = clean_run
    images = {image for image, _ in rows}
    assert images == set(CollectionInput(root).keys())
    status = {image: row["status"] for (image, _), row in rows.items()}
    for key, expected in special.items():
        assert status[key] == expected, (key, [r for (i, _), r in rows.items() if i == key])
    assert rows[("odd files/huge 10000x10000.png", -1)]["width"] == 10000
    assert "over the limit" in rows[("odd files/huge 10000x10000.png", -1)]["reason"]
    assert "empty file" in rows[("odd files/empty.jpg", -1)]["reason"]
    assert "cannot decode" in rows[("odd files/corrupt.jpg", -1)]["reason"]
    for (image, face), row in rows.items():
        assert (row["status"] == "ok") == (face >= 0) and (row["status"] == "error") == bool(row["reason"])
        if face > 0:
            assert (image, face - 1) in rows
        if row["status"] == "ok":
            crop = cv2.imread(str(out / row["aligned"]))
            assert crop.shape == (112, 112, 3)
    faces = sum(r["status"] == "ok" for r in rows.values())
    errors = sum(r["status"] == "error" for r in rows.values())
    assert (summary["images"], summary["faces"], summary["errors"]) == (len(images), faces, errors) == \
        (summary["images_this_run"], summary["faces_this_run"], 3)
    assert summary["shards"] > 10 and len(list((out / "done").glob("*.json"))) == summary["shards"]
    # 16-bit and opaque RGBA copies of an image give its faces

    def boxes(image):
        return [r["box"] for (i, _), r in sorted(rows.items()) if i == image]

    for copy in ("odd files/rgba.png", "odd files/sixteen bit.png"):
        np.testing.assert_allclose(boxes(copy), boxes("real/000275.jpg"), atol=1e-3)


# MTCNN + cascade on the given images in a process with the workers' BLAS threads (one),
# printed as JSON: {image: [[box, onet_points, points], ...]}.
SAME_THREADS_AS_WORKERS = """
import json, sys
from facecascade.cascade import LandmarkCascade
from facecascade.images import read_image
from facecascade.mtcnn import MTCNN
det, lc = MTCNN(), LandmarkCascade.from_shipped()
out = {}
for path in sys.argv[1:]:
    image = read_image(path)
    faces = det.detect(image)
    points = lc.predict_detections(image, faces)
    out[path] = [[faces.boxes[k].tolist(), faces.points[k].tolist(), points[k].tolist()] for k in range(len(faces))]
print(json.dumps(out))
"""


def test_rows_are_those_of_the_detector_and_cascade(collection, clean_run, caffe):
    """The workers' rows equal MTCNN + cascade run on the same image in a process that,
    like each worker, runs BLAS on one thread.  (With another thread count, float32
    sums in another order move a box by hundredths of a pixel, and the cascade's
    chain of crops turns that into up to a pixel or two on a small face.)"""
    root, _ = collection
    rows = clean_run[2]
    names = ["real/000167.jpg", "odd files/sixteen bit.png"]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", SAME_THREADS_AS_WORKERS, *[str(root / n) for n in names]],
                          env=env, capture_output=True, text=True, check=True)
    expected = json.loads(proc.stdout.strip().splitlines()[-1])
    for name in names:
        faces = expected[str(root / name)]
        assert len(faces) >= 1
        for k, (box, onet_points, points) in enumerate(faces):
            row = rows[(name, k)]
            np.testing.assert_allclose(row["box"], box, atol=1e-3)
            np.testing.assert_allclose(row["onet_points"], onet_points, atol=1e-3)
            np.testing.assert_allclose(row["points"], points, atol=1e-3)
        assert (name, len(faces)) not in rows


def wait_for_markers(out, proc, at_least=1, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        done = list((out / "done").glob("*.json")) if (out / "done").is_dir() else []
        if len(done) >= at_least:
            return len(done)
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"no done marker in {out} after {timeout} s")


@pytest.mark.slow
def test_worker_killed_mid_run(collection, clean_run, cluster, tmp_path):
    """A worker process killed (SIGKILL) while shards run: the engine reruns its shard on
    a worker that lives, and the rows are those of the clean run."""
    root, _ = collection
    lc, client = cluster
    out = tmp_path / "out"
    proc = subprocess.Popen(command(root, "--out", out, "--align", "--scheduler", lc.scheduler_address),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    done_at_kill = wait_for_markers(out, proc)
    victim = next(iter(client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert done_at_kill < summary["shards"], "the worker died after the run, not during it"
    assert victim not in client.run(os.getpid).values()
    assert summary["shards_failed"] == 0 and summary["shards_run"] == summary["shards"]
    assert_same_rows(read_rows(out, root), clean_run[2])
    # every worker single-threaded, the one started in the killed one's place included
    # (OpenCV's own pool would otherwise take every core in each worker)
    assert set(client.run(cv2_threads).values()) == {1}


def cv2_threads():
    import cv2

    return cv2.getNumThreads()


def markers(out):
    return len(list((out / "done").glob("*.json")))


@pytest.mark.slow
def test_driver_killed_interrupted_and_rerun(collection, clean_run, cluster, tmp_path):
    """The driver (default local cluster) killed outright, rerun and stopped with Ctrl-C,
    rerun to the end: each rerun skips the finished shards, no worker outlives its driver,
    and the rows are those of the clean run."""
    import psutil

    root, _ = collection
    out = tmp_path / "out"
    runs = []
    for stop in (signal.SIGKILL, signal.SIGINT):
        proc = subprocess.Popen(command(root, "--out", out, "--align", "--workers", 2),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
        wait_for_markers(out, proc, at_least=markers(out) + 2 if out.is_dir() else 2)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(stop)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == (-signal.SIGKILL if stop == signal.SIGKILL else 130), stderr[-3000:]
        _, alive = psutil.wait_procs(workers, timeout=30)
        assert not alive, f"worker processes outlived their driver: {alive}"
        runs.append(markers(out))
    assert 2 <= runs[0] < runs[1] < clean_run[1]["shards"]
    summary = run_command(root, "--out", out, "--align", "--scheduler", cluster[0].scheduler_address)
    assert summary["shards_skipped"] >= runs[1] and summary["shards_run"] == summary["shards"] - summary["shards_skipped"]
    assert 0 < summary["images_this_run"] < summary["images"]
    assert_same_rows(read_rows(out, root), clean_run[2])


@pytest.mark.slow
def test_grown_folder_adds_only_the_new_images(collection, clean_run, cluster, tmp_path):
    """A rerun after the folder gained files processes only those (a new part in their
    shards): the old rows stay as they were, each new image gets its rows once."""
    root, _ = collection
    lc, _ = cluster
    grown, out = tmp_path / "photos", tmp_path / "out"
    shutil.copytree(root, grown)
    shutil.copytree(clean_run[0], out)
    new = {f"new/copy {i}.jpg": "real/000335.jpg" for i in range(3)}
    for key, original in new.items():
        (grown / key).parent.mkdir(exist_ok=True)
        shutil.copy(grown / original, grown / key)
    with pytest.raises(AssertionError, match="another job"):  # the manifest names the input it was made of
        run_command(grown, "--out", out, "--align", "--scheduler", lc.scheduler_address)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "input": str(grown), "input_root": str(grown)}))
    old_parts = {p.name: p.read_bytes() for p in (out / "rows").glob("*.parquet")}
    summary = run_command(grown, "--out", out, "--align", "--scheduler", lc.scheduler_address)
    assert summary["images_this_run"] == len(new) and summary["shards_run"] <= len(new)
    assert summary["images"] == clean_run[1]["images"] + len(new)
    assert all((out / "rows" / name).read_bytes() == data for name, data in old_parts.items())
    expected = dict(clean_run[2])
    for key, original in new.items():
        for (image, face), row in clean_run[2].items():
            if image == original:
                expected[(key, face)] = {**row, "image": key, "shard": shard_of(key, summary["shards"]), "aligned": None}
    rows = read_rows(out, grown, root)
    for (image, face), row in rows.items():
        if image in new:
            assert (out / row["aligned"]).is_file()
            row["aligned"] = None
    assert_same_rows(rows, expected)
