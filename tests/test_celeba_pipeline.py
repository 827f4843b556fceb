"""CelebA exactly as downloaded (Img/img_celeba, Anno/ with header lines,
Eval/list_eval_partition.txt) through the split and level-1 data generation."""
import subprocess
import sys

from facecascade.paths import REPO_ROOT
from facecascade.records import read_label_list, read_records


def test_celeba_layout_to_training_lists(tmp_path, celeba_download):
    c = celeba_download
    names = c.names
    split = tmp_path / "split"
    subprocess.run([sys.executable, str(REPO_ROOT / "0_raw_data/Code/divide_tr_te.py"),
                    "--celeba-landmarks", str(c.landmarks), "--celeba-images", str(c.images),
                    "--celeba-bbox", str(c.bbox), "--celeba-partition", str(c.partition),
                    "--out", str(split)], check=True, capture_output=True, timeout=120)
    train, test = read_records(split / "train.txt"), read_records(split / "test.txt")
    assert [r.image.name for r in test] == [names[0]]
    assert sorted(r.image.name for r in train) == sorted(names[1:])
    assert train[0].box == (60.0, 10.0, 180.0, 130.0)
    data = tmp_path / "Data"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "1_level_1/Code/0_gen_data/gen_data.py"),
                           "--train", str(split / "train.txt"), "--test", str(split / "test.txt"),
                           "--out", str(data), "--samples-per-face", "3"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_label_list(data / "l1_train.txt")
    assert len(rows) == 3 * len(train)
    assert all(abs(v).max() <= 1.5 for _, v in rows)
    assert (data / rows[0][0]).is_file()
