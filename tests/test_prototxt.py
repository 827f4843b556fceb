"""The prototxt checker turns what would abort Caffe into Python errors naming
the file and layer; scripts print them as one line, with no core dump."""
import subprocess
import sys

import pytest

from facecascade.paths import REPO_ROOT
from facecascade.prototxt import PrototxtError, check_net

INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n'
CONV = ('layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{top}" '
        'convolution_param {{ num_output: 4 kernel_size: 3 }} }}\n')


def write(tmp_path, text, name="net.prototxt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_net_passes(caffe, tmp_path):
    path = write(tmp_path, INPUT + CONV.format(name="c1", bottom="data", top="c1")
                 + 'layer { name: "r" type: "ReLU" bottom: "c1" top: "c1" }\n')
    check_net(path)


@pytest.mark.parametrize("case,text,words", [
    ("unknown_type", INPUT + 'layer { name: "odd" type: "Convolutoin" bottom: "data" top: "x" }\n',
     ["layer 'odd'", "unknown layer type 'Convolutoin'"]),
    ("missing_bottom", INPUT + CONV.format(name="c1", bottom="dta", top="c1"),
     ["layer 'c1'", "bottom 'dta'"]),
    ("duplicate_top", INPUT + CONV.format(name="c1", bottom="data", top="x")
     + CONV.format(name="c2", bottom="data", top="x"), ["layer 'c2'", "top 'x'"]),
    ("no_input_shape", 'layer { name: "data" type: "Input" top: "data" }\n', ["layer 'data'", "shape"]),
    ("syntax", INPUT + 'layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" \n', ["net.prototxt:"]),
])
def test_checker_names_file_and_layer(caffe, tmp_path, case, text, words):
    path = write(tmp_path, text)
    with pytest.raises(PrototxtError) as err:
        check_net(path)
    msg = str(err.value)
    assert str(path) in msg
    for w in words:
        assert w in msg, msg


def test_in_phase_duplicates_are_fine(caffe, tmp_path):
    text = ('layer { name: "a" type: "Input" top: "data" include { phase: TRAIN } '
            'input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n'
            'layer { name: "b" type: "Input" top: "data" include { phase: TEST } '
            'input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }\n')
    check_net(write(tmp_path, text))


def test_unknown_layer_type_in_a_script_is_one_line_error(caffe, tmp_path, test_data):
    """The evaluation script given an edited prototxt with a typo: exit 2, one
    line on stderr naming the file and layer, no SIGABRT."""
    bad = write(tmp_path, INPUT + 'layer { name: "odd" type: "Convolutoin" bottom: "data" top: "x" }\n',
                "edited_deploy.prototxt")
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "2_level_2/Code/2_evaluate/evaluate.py"),
         "--list", str(test_data / "celeba_small/list_landmarks_celeba.txt"), "--format", "celeba",
         "--l1-deploy", str(bad), "--out", str(tmp_path / "out"), "--backend", "caffe"],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "edited_deploy.prototxt" in lines[0] and "Convolutoin" in lines[0]
