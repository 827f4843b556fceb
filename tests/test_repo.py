"""Contracts of the repository: the README's two commands, .ci/run, every script's --help."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from facecascade.paths import REPO_ROOT

SCRIPTS = sorted(str(p.relative_to(REPO_ROOT)) for pattern in
                 ("0_raw_data/Code/*.py", "1_level_1/Code/*/*.py", "2_level_2/Code/*/*.py", "3_demo/Code/*.py",
                  "mtcnn/*.py", "mtcnn/*/*.py", "bench/*.py", "experiments/tools/*.py")
                 for p in REPO_ROOT.glob(pattern))


def readme_commands():
    text = (REPO_ROOT / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    return [l.strip() for l in block.strip().splitlines()]


def test_readme_starts_with_exactly_two_commands_and_ci_runs_the_second():
    demo, tests = readme_commands()
    assert demo.startswith("bash docker/build_caffe.sh && ") and "3_demo/Code/inference.py" in demo
    assert tests.startswith("bash docker/build_caffe.sh && ") and "pytest" in tests
    ci = [l for l in (REPO_ROOT / ".ci/run").read_text().splitlines() if l and not l.startswith(("#", "set ", "cd "))]
    assert ci == [tests]


def test_numbered_layout_exists():
    for path in ("0_raw_data/Code/divide_tr_te.py", "0_raw_data/Code/draw_point.py",
                 "1_level_1/Code/0_gen_data", "1_level_1/Code/1_draw_img", "1_level_1/Code/2_train/l1_mobilenet.prototxt",
                 "1_level_1/Code/2_train/solver.prototxt", "1_level_1/Code/2_train/train.sh",
                 "1_level_1/Code/3_inference", "1_level_1/Code/4_evaluate", "1_level_1/Code/5_crop_img",
                 "2_level_2/Code/0_train", "2_level_2/Code/1_inference", "2_level_2/Code/2_evaluate/evaluate.py",
                 "3_demo/Code/inference.py", "caffe_need/conv_dw_layer.cu", "docker/build_caffe.sh"):
        assert (REPO_ROOT / path).exists(), path


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_runs_from_another_directory(script, tmp_path):
    proc = subprocess.run([sys.executable, str(REPO_ROOT / script), "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


def tracked_python_files():
    try:
        out = subprocess.run(["git", "ls-files", "*.py"], cwd=REPO_ROOT, capture_output=True, text=True)
    except FileNotFoundError:      # no git at all (the Docker images)
        out = None
    if out is None or out.returncode != 0:  # an export without .git: every .py of the tree
        return sorted(p for p in REPO_ROOT.rglob("*.py") if ".venv" not in p.parts)
    return [REPO_ROOT / f for f in out.stdout.split()]


def test_no_sys_path_manipulation_in_scripts_or_tests():
    """facecascade is installed (pyproject.toml, editable into .venv by the build script): no
    script or test edits sys.path; the one exception is the loader that finds pycaffe in the
    Caffe build's prefix (it is not a pip package)."""
    allowed = {REPO_ROOT / "lib/facecascade/caffe_loader.py"}
    calls = re.compile(r"sys\.path\.(insert|append)\(|sys\.path\s*=")
    offenders = [str(p.relative_to(REPO_ROOT)) for p in tracked_python_files()
                 if p not in allowed and p.name != "test_repo.py" and calls.search(p.read_text())]
    assert offenders == []


def test_ruff_is_clean():
    """ruff (pinned in requirements.txt, configured in pyproject.toml) finds nothing."""
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--no-cache", "--output-format", "concise", str(REPO_ROOT)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
