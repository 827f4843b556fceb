"""The evaluation command's contract: `evaluate.py --list LIST --format F` on the
shipped models, image root = the list's folder, last line one JSON object."""
import json
import subprocess
import sys

import pytest

from facecascade.paths import REPO_ROOT

EVALUATE = REPO_ROOT / "2_level_2/Code/2_evaluate/evaluate.py"
KEYS = {"n", "nme_l1", "nme_l2", "failure_l2", "auc10_l2"}


def run(args, tmp_path):
    proc = subprocess.run([sys.executable, str(EVALUATE), *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_celeba_list_without_boxes_uses_the_whole_image(tmp_path, test_data):
    res = run(["--list", str(test_data / "celeba_small/list_landmarks_celeba.txt"), "--format", "celeba"], tmp_path)
    assert KEYS <= res.keys() and res["n"] == 4 and res["region"] == "whole"
    assert 0 <= res["auc10_l2"] <= 1 and res["nme_l1"] > 0
    assert (tmp_path / "out/ced.png").is_file() and len(list((tmp_path / "out/worst").glob("*.jpg"))) == 4


def run_raw(args, tmp_path):
    return subprocess.run([sys.executable, str(EVALUATE), *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)


def test_bad_input_is_skipped_and_counted_by_reason_and_strict_stops_at_the_first(tmp_path, test_data):
    """One policy (facecascade.skips): malformed lines, unreadable images, coincident eyes and
    points far outside the image are each skipped with file:line, counted by reason in the
    JSON, and the good faces are still scored; --strict stops at the first, exit code 2."""
    lst = tmp_path / "list.txt"
    src = (test_data / "celeba_small/list_landmarks_celeba.txt").read_text().splitlines()[2:]
    (tmp_path / "broken.jpg").write_bytes(b"garbage")
    for name in ("000054.jpg", "000133.jpg"):
        (tmp_path / name).write_bytes((test_data / "celeba_small" / name).read_bytes())
    good = [l for l in src if l.split()[0] in ("000054.jpg", "000133.jpg")]
    values = src[0].split()[1:]
    lines = list(good)
    lines.append("broken.jpg " + " ".join(values))                                  # line 3
    lines.append("missing.jpg " + " ".join(values))                                 # line 4
    lines.append("000054.jpg 1 2 3")                                                # line 5: malformed
    lines.append("000054.jpg 100 100 100 100 " + " ".join(values[4:]))              # line 6: coincident eyes
    lines.append("000054.jpg 99999 5 " + " ".join(values[2:]))                      # line 7: point outside
    lines.append("000054.jpg nan 5 " + " ".join(values[2:]))                        # line 8: non-finite
    lst.write_text("\n".join(lines) + "\n")
    proc = run_raw(["--list", str(lst), "--format", "celeba"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res["n"] == 2
    assert res["skipped"] == {"coincident_eyes": 1, "malformed_line": 1, "non_finite": 1,
                              "point_outside_image": 1, "unreadable_image": 2}
    for no in range(3, 9):
        assert f"skip: {lst}:{no}:" in proc.stderr
    strict = run_raw(["--list", str(lst), "--format", "celeba", "--strict"], tmp_path)
    assert strict.returncode == 2 and f"error: {lst}:5: expected 10 numbers" in strict.stderr
    assert "Traceback" not in strict.stderr


@pytest.mark.parametrize("region", ["box", "whole"])
def test_cuhk_test_list_both_regions(tmp_path, shared_data, region):
    res = run(["--list", str(shared_data / "cuhk_facepoint/test_net7876.txt"), "--format", "cuhk",
               "--region", region, "--limit", "60"], tmp_path)
    assert KEYS <= res.keys() and res["n"] == 60 and res["region"] == region
