"""mtcnn/train_shipped.sh, the one script that makes the shipped det1-3: its commands need no
git history and name only files of the repository, and the whole chain runs at tiny sizes."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from facecascade.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "mtcnn" / "train_shipped.sh"


def dry_run(*args):
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run", *args], cwd="/", capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line[2:] for line in proc.stdout.splitlines() if line.startswith("+ ")]


def test_the_recipe_reads_no_git_history_and_names_existing_scripts_and_weights():
    commands = dry_run()
    assert not any(re.search(r"\bgit\b", c) for c in commands)
    scripts = {w for c in commands for w in c.split() if w.endswith(".py")}
    assert scripts and all((REPO_ROOT / s).is_file() for s in scripts), scripts
    weights = {w for c in commands for w in c.split() if w.startswith("mtcnn/recipes/")}
    assert weights and all((REPO_ROOT / w).exists() for w in weights), weights
    trainings = [c for c in commands if "/train_" in c and "--phases" in c]
    assert len(trainings) == 4                              # det1 twice, det2, det3
    assert any("--phases 23308 7631" in c and "--blur-weight 3" in c for c in trainings)


def test_only_det23_keeps_the_shipped_det1_and_bad_arguments_are_refused():
    commands = dry_run("--only", "det23")
    assert not any("train_pnet.py" in c for c in commands)
    assert any(c.startswith("cp mtcnn/model/det1.prototxt mtcnn/model/det1.caffemodel") for c in commands)
    proc = subprocess.run(["bash", str(SCRIPT), "--only", "det4"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "det1 or det23" in proc.stderr
    assert "--dry-run" in subprocess.run(["bash", str(SCRIPT), "--help"], capture_output=True, text=True).stdout


@pytest.mark.slow
def test_the_whole_chain_runs_at_smoke_sizes_into_a_model_folder_that_detects(caffe, shared_data, tmp_path):
    """About a minute: every sampling, mining, training and refit step on a few images."""
    work = tmp_path / "work"
    env = {"PY": sys.executable, "FACECASCADE_DATA": str(shared_data), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(["bash", str(SCRIPT), "--smoke", "--work", str(work)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    model = work / "model"
    assert sorted(p.name for p in model.iterdir() if p.suffix in (".caffemodel", ".prototxt")) == [
        f"det{i}.{ext}" for i in (1, 2, 3) for ext in ("caffemodel", "prototxt")]
    out = subprocess.run([sys.executable, str(REPO_ROOT / "mtcnn/detect.py"), "--model-dir", str(model),
                          str(REPO_ROOT / "3_demo/Data/celeba"), "--out", str(tmp_path / "det")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])["images"] > 0
    assert Path(tmp_path / "det" / "detections.json").is_file()
