"""Run the adapters of bench/peers/ in subprocesses (used by the benchmark
scripts, with the repository's .venv python).

    from runner import PEERS, peer_status, run_adapter
    info, answers = run_adapter("mediapipe", "landmarks", requests)

Each peer runs with its own venv's python (bench/.venvs/<peer>/bin/python,
made by bench/setup_peers.sh); "ours" runs with the python running the
benchmark.  Every adapter gets OMP/OPENBLAS/MKL/TF thread variables = threads.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
VENVS = BENCH / ".venvs"
RESULT = BENCH / "Result"

# name -> label used in tables
PEERS = {
    "facenet_pytorch": "facenet-pytorch MTCNN",
    "mtcnn_ipazc": "mtcnn (ipazc)",
    "mediapipe": "mediapipe",
    "dlib": "dlib",
}


def python_of(peer):
    if peer == "ours":
        return Path(sys.executable)
    return VENVS / peer / "bin" / "python"


def peer_status(peer):
    """-> (ok: bool, text): 'ok <versions>' or 'not installed: <reason>'."""
    if peer == "ours":
        return True, "ours"
    py = python_of(peer)
    status_file = VENVS / peer / "STATUS"
    if not py.exists():
        return False, "not installed (run bash bench/setup_peers.sh)"
    text = status_file.read_text().strip() if status_file.exists() else "no STATUS file"
    if not text.startswith("ok"):
        return False, f"not installed: {text}"
    return True, text[3:]


def thread_env(threads=1):
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        env[k] = str(threads)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def run_adapter(peer, task, requests, args=(), threads=1, timeout=None, progress=None):
    """Start bench/peers/<peer>_adapter.py, feed it the requests, collect the answers.

    -> (info, answers): info = the adapter's ready line plus "log" (its stderr
    file), or {"ready": False, "reason": ...}; answers = {id: answer}.
    """
    ok, text = peer_status(peer)
    if not ok:
        return {"ready": False, "reason": text}, {}
    RESULT.mkdir(parents=True, exist_ok=True)
    log = RESULT / f"{peer}_{task}.log"
    cmd = [str(python_of(peer)), str(HERE / f"{peer}_adapter.py"), "--task", task, "--threads", str(threads), *args]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for r in requests:
            f.write(json.dumps(r) + "\n")
        req_file = f.name
    answers, info = {}, None
    t0 = time.time()
    try:
        with open(req_file) as fin, open(log, "w") as ferr:
            proc = subprocess.Popen(cmd, stdin=fin, stdout=subprocess.PIPE, stderr=ferr, text=True,
                                    env=thread_env(threads), cwd=str(BENCH.parent))
            for line in proc.stdout:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                msg = json.loads(line)
                if info is None and "ready" in msg:
                    info = msg
                    if not msg["ready"]:
                        break
                    continue
                if "id" in msg:
                    answers[msg["id"]] = msg
                    if progress:
                        progress(len(answers), len(requests))
                if timeout and time.time() - t0 > timeout:
                    proc.kill()
                    break
            proc.wait()
    finally:
        os.unlink(req_file)
    if info is None:
        tail = log.read_text()[-800:] if log.exists() else ""
        info = {"ready": False, "reason": f"adapter failed (exit {proc.returncode}): {tail.strip()[-400:]}"}
    info["log"] = str(log)
    return info, answers


def pick(n_total, limit):
    """Indices of `limit` items evenly spaced over n_total (all of them for limit 0): the
    benchmarks' --limit."""
    import numpy as np

    if not limit or limit >= n_total:
        return list(range(n_total))
    return sorted(set(np.linspace(0, n_total - 1, limit).round().astype(int).tolist()))


def progress_printer(label):
    def p(done, total):
        if done == total or done % 50 == 0:
            print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)
    return p
