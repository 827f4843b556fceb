#!/usr/bin/env python3
"""Peak memory (resident set size) of the demo and of face detection on a
4000x3000 image, each in its own child process (peak RSS from os.wait4's
rusage of that child, i.e. getrusage(RUSAGE_CHILDREN) for one child).

    python bench/memory.py [--image PATH]

The image: scikit-image's astronaut (512x512) upscaled to 4000x3000 (bicubic),
written to bench/Result/astronaut_4000x3000.jpg, unless --image is given.
Rows:
- demo: 3_demo/Code/detect_landmarks.py (our MTCNN + cascade on every face;
  "not shipped" while mtcnn/model lacks det1-3) and 3_demo/Code/inference.py
  --region whole (the seed's demo: the cascade on the whole image);
- detection: each detector's adapter (bench/peers/<name>_adapter.py, one thread,
  min face 20 for the MTCNNs) loaded and idle ("loaded"), and after one
  detection on the image ("peak"), with the time of that detection.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers.runner import HERE as PEER_DIR
from peers.runner import PEERS, RESULT, peer_status, python_of, thread_env

from facecascade.machine import describe

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent


def make_image(path):
    import cv2
    from skimage import data
    big = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (4000, 3000),
                     interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return path


def measure(cmd, stdin_text="", timeout=600):
    """-> (exit code, peak RSS MiB, wall s, stdout)."""
    with tempfile.TemporaryFile("w+") as fin, tempfile.TemporaryFile("w+") as fout:
        fin.write(stdin_text)
        fin.seek(0)
        t0 = time.time()
        proc = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.STDOUT, text=True,
                                env=thread_env(1), cwd=str(REPO))
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                proc.kill()
                pid, status, ru = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - t0
        fout.seek(0)
        out = fout.read()
    return proc.returncode, ru.ru_maxrss / 1024.0, wall, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", type=Path)
    ap.add_argument("--peers", default=",".join(PEERS))
    args = ap.parse_args(argv)
    RESULT.mkdir(parents=True, exist_ok=True)
    image = args.image or make_image(RESULT / "astronaut_4000x3000.jpg")
    import cv2
    h, w = cv2.imread(str(image)).shape[:2]
    print(describe().replace("OPENBLAS_NUM_THREADS=unset", "threads: 1 in every child"))
    print(f"image: {image} ({w}x{h})")
    py = sys.executable
    rows = []

    with tempfile.TemporaryDirectory() as tmp:
        img_dir = Path(tmp) / "img"
        img_dir.mkdir()
        os.symlink(Path(image).resolve(), img_dir / Path(image).name)
        demos = [
            ("demo: 3_demo/Code/detect_landmarks.py (our MTCNN + cascade)",
             [py, "3_demo/Code/detect_landmarks.py", str(image), "--out", str(Path(tmp) / "dl")]),
            ("demo: 3_demo/Code/inference.py --region whole (cascade only)",
             [py, "3_demo/Code/inference.py", "--images", str(img_dir), "--region", "whole",
              "--out", str(Path(tmp) / "inf")]),
        ]
        for label, cmd in demos:
            rc, rss, wall, out = measure(cmd)
            if rc:
                missing = [n for n in ("det1", "det2", "det3")
                           if not (REPO / "mtcnn" / "model" / f"{n}.caffemodel").is_file()]
                reason = f"not shipped (mtcnn/model lacks {', '.join(missing)})" if missing \
                    else f"failed (exit {rc}): {out.strip().splitlines()[-1][:150] if out.strip() else ''}"
                rows.append((label, None, None, None, reason))
            else:
                rows.append((label, None, rss, wall, ""))

    request = json.dumps({"id": "big", "image": str(Path(image).resolve()), "box": None}) + "\n"
    dets = [("ours", "our MTCNN (pycaffe), min face 20", ["--backend", "caffe"]),
            ("ours", "our MTCNN (cv2.dnn), min face 20", ["--backend", "opencv"])]
    labels = {"facenet_pytorch": "facenet-pytorch MTCNN, min face 20", "mtcnn_ipazc": "mtcnn (ipazc), min face 20",
              "mediapipe": "mediapipe FaceDetection full-range", "dlib": "dlib HOG, upsample 1"}
    dets += [(p, labels[p], []) for p in args.peers.split(",") if p]
    for peer, label, extra in dets:
        ok, text = peer_status(peer)
        if not ok:
            rows.append((f"detection: {label}", None, None, None, text))
            continue
        cmd = [str(python_of(peer)), str(PEER_DIR / f"{peer}_adapter.py"), "--task", "detect", "--threads", "1", *extra]
        rc0, rss0, _, out0 = measure(cmd, "")
        if rc0 or '"ready": false' in out0:
            reason = next((json.loads(ln)["reason"] for ln in out0.splitlines()
                           if ln.startswith("{") and '"ready": false' in ln), f"failed (exit {rc0})")
            rows.append((f"detection: {label}", None, None, None, reason))
            continue
        rc, rss, wall, out = measure(cmd, request)
        ans = [json.loads(ln) for ln in out.splitlines() if ln.startswith('{"id"')]
        note = ""
        if rc or not ans or ans[0].get("error"):
            note = f"failed: {ans[0].get('error') if ans else out.strip()[-150:]}"
        else:
            note = f"{len(ans[0]['faces'])} faces, detection {ans[0]['ms'] / 1000:.2f} s"
        rows.append((f"detection: {label}", rss0, rss, wall, note))

    print()
    print("| process | peak RSS loaded, idle (MiB) | peak RSS (MiB) | wall s (incl. start-up) | note |")
    print("|---|---|---|---|---|")
    for label, rss0, rss, wall, note in rows:
        def g(v, d=0):
            return "" if v is None else f"{v:.{d}f}"
        print(f"| {label} | {g(rss0)} | {g(rss)} | {g(wall, 1)} | {note} |")


if __name__ == "__main__":
    main()
