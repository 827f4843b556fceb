"""ONNX export, the onnx backend (onnxruntime), the opencv backend on the ONNX files, the
int8 models: against pycaffe on real images.

Tolerances stated here: every output of an exported net within 1e-4 of pycaffe's
(export_onnx.TOLERANCE); cascade points on onnx fp32 within 0.01 px of pycaffe's; the
detector's boxes and points within 0.05 px and scores within 1e-3 (soft-NMS's decay
multiplies the nets' 1e-6 differences); int8: cascade points within
2 % of the face box side on average, the detector finding each face pycaffe scores >= 0.85
(IoU >= 0.6: int8 box regression moves a profile face's box by up to ~15 % of its side).
"""
import json
import subprocess
import sys

import cv2
import numpy as np
import onnx
import pytest
import skimage.data

from facecascade.cascade import SHIPPED, LandmarkCascade
from facecascade.commands.export_onnx import TOLERANCE, real_inputs
from facecascade.images import read_image
from facecascade.mtcnn import MTCNN
from facecascade.onnx_export import SHIPPED_NETS, caffe_to_onnx, compare_with_caffe, onnx_path, stale_reason
from facecascade.paths import DEMO_DATA, REPO_ROOT
from facecascade.prototxt import PrototxtError
from facecascade.records import read_cuhk
from facecascade.runtime import OnnxNet, OpenCVNet, load_net

DEMO_CUHK = DEMO_DATA / "cuhk" / "test_net7876_demo.txt"


@pytest.fixture(scope="module")
def inputs(caffe):
    """{net: [batches]}: the crops and pyramid levels of the shipped demo images."""
    return real_inputs(photos=3)


@pytest.fixture(scope="module")
def astronaut():
    return cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.mark.parametrize("name", list(SHIPPED_NETS))
def test_shipped_onnx_files_were_exported_from_the_shipped_caffemodels(name):
    """A caffemodel retrained without `python 3_demo/Code/export_onnx.py [--int8]` fails here."""
    proto, weights, _ = SHIPPED_NETS[name]
    for precision in ("fp32", "int8"):
        assert stale_reason(onnx_path(weights, precision), proto, weights) is None


@pytest.mark.parametrize("name", list(SHIPPED_NETS))
def test_export_equals_pycaffe_on_real_inputs(caffe, inputs, name, tmp_path):
    """Exported again here, and the shipped file: every output within 1e-4 of pycaffe on
    the real crops / pyramid levels (P-Net: levels of many heights and widths, one model)."""
    proto, weights, dynamic = SHIPPED_NETS[name]
    fresh = tmp_path / f"{name}.onnx"
    onnx.save(caffe_to_onnx(proto, weights, dynamic_hw=dynamic), str(fresh))
    if dynamic:
        assert len({b.shape[2:] for b in inputs[name]}) > 5
    for path in (fresh, onnx_path(weights)):
        diffs = compare_with_caffe(proto, weights, path, inputs[name])
        assert max(diffs.values()) <= TOLERANCE, diffs


def test_export_of_batchnorm_scale_eltwise_dropout_and_caffe_ceil_pooling(caffe, tmp_path, rng):
    """Layers the shipped nets no longer have (BatchNorm + Scale are folded), and pooling
    where Caffe's rounding up matters (8 px, kernel 3, stride 2: 4 windows, 3 when rounded down)."""
    proto = tmp_path / "net.prototxt"
    proto.write_text("""name: "t" layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
      layer { name: "c1" type: "Convolution" bottom: "data" top: "c1" convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
      layer { name: "bn" type: "BatchNorm" bottom: "c1" top: "c1" }
      layer { name: "sc" type: "Scale" bottom: "c1" top: "c1" scale_param { bias_term: true } }
      layer { name: "c2" type: "Convolution" bottom: "c1" top: "c2" convolution_param { num_output: 4 kernel_size: 1 } }
      layer { name: "sum" type: "Eltwise" bottom: "c1" bottom: "c2" top: "sum" eltwise_param { coeff: 0.5 coeff: -2 } }
      layer { name: "pool" type: "Pooling" bottom: "sum" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
      layer { name: "drop" type: "Dropout" bottom: "pool" top: "pool" }
      layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 6 } }
      layer { name: "act" type: "PReLU" bottom: "fc" top: "fc" }
      layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }""")
    net = caffe.Net(str(proto), caffe.TEST)
    for blobs in net.params.values():
        for b in blobs:
            b.data[...] = rng.uniform(0.5, 1.5, b.data.shape) if b.data.size > 1 else 1.0
    weights = tmp_path / "net.caffemodel"
    net.save(str(weights))
    onnx.save(caffe_to_onnx(proto, weights), str(tmp_path / "net.onnx"))
    x = rng.uniform(-1, 1, (2, 3, 8, 8)).astype(np.float32)
    diffs = compare_with_caffe(proto, weights, tmp_path / "net.onnx", [x])
    assert max(diffs.values()) <= TOLERANCE, diffs


def test_export_names_the_prototxt_and_layer_of_an_unsupported_type(caffe, tmp_path):
    proto = tmp_path / "net.prototxt"
    proto.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }'
                     'layer { name: "lrn1" type: "LRN" bottom: "data" top: "lrn1" }')
    with pytest.raises(PrototxtError, match=rf"{proto}: layer 'lrn1': type LRN has no ONNX export"):
        caffe_to_onnx(proto, SHIPPED["l1"][1])


def test_missing_onnx_file_and_int8_on_caffe_are_clear_errors(caffe, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"l1\.onnx: model file not found"):
        load_net(SHIPPED["l1"][0], tmp_path / "l1.caffemodel", backend="onnx")
    with pytest.raises(ValueError, match="use --backend onnx"):
        load_net(*SHIPPED["l1"], backend="caffe", precision="int8")


def test_onnx_backend_cascade_gives_pycaffe_points(caffe):
    records = read_cuhk(DEMO_CUHK)
    images, boxes = [read_image(r.image) for r in records], [r.box for r in records]
    want = LandmarkCascade.from_shipped(backend="caffe").predict_batch(images, boxes)
    lc = LandmarkCascade.from_shipped(backend="onnx")
    assert lc.backend == "onnx" and lc.l1.session.get_session_options().intra_op_num_threads == 1
    # level 1's points agree to hundredths of a pixel; each crop after it is placed by the
    # last net's points, so the chain (turned level 1, level 2 twice) spreads that to tenths
    for a, b in zip(want, lc.predict_batch(images, boxes)):
        assert np.abs(a.l1 - b.l1).max() < 0.01 and np.abs(a.l2 - b.l2).max() < 0.2
    int8 = LandmarkCascade.from_shipped(backend="onnx", precision="int8", threads=2)
    assert int8.l1.path.name == "l1_int8.onnx" and int8.l1.session.get_session_options().intra_op_num_threads == 2
    errors = [np.abs(a.l2 - b.l2).mean() / (box[2] - box[0])
              for a, b, box in zip(want, int8.predict_batch(images, boxes), boxes)]
    assert np.mean(errors) < 0.02, errors


def test_opencv_backend_reads_the_onnx_files(caffe):
    """The same file as onnxruntime (OpenCV 5 reads no caffemodel), P-Net at two sizes."""
    rng = np.random.default_rng(0)
    for name, shapes in (("l1", [(48, 48)]), ("det1", [(37, 51), (120, 90)])):
        proto, weights, _ = SHIPPED_NETS[name]
        net = load_net(proto, weights, backend="opencv")
        assert isinstance(net, OpenCVNet) and net.source == onnx_path(weights)
        for shape in shapes:
            batch = rng.uniform(-1, 1, (2, 3, *shape)).astype(np.float32)
            want, got = OnnxNet(proto, weights).forward(batch), net.forward(batch)
            assert max(np.abs(want[k] - got[k]).max() for k in want) < 1e-4


def test_onnx_backend_detector_gives_pycaffe_boxes(caffe, astronaut):
    photos = [astronaut] + [read_image(DEMO_DATA / "celeba" / n) for n in ("000133.jpg", "000167.jpg")]
    ref, fp32 = MTCNN(backend="caffe"), MTCNN(backend="onnx")
    int8 = MTCNN(backend="onnx", precision="int8")
    for img in photos:
        a, b = ref.detect(img), fp32.detect(img)
        assert len(a) == len(b) >= 1
        assert np.abs(a.boxes - b.boxes).max() < 0.05 and np.abs(a.scores - b.scores).max() < 1e-3
        assert np.abs(a.points - b.points).max() < 0.05
        c = int8.detect(img)
        for box in a.boxes[a.scores >= 0.85]:
            assert max(_iou(box, other) for other in c.boxes) >= 0.6


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


@pytest.mark.slow
def test_commands_run_on_onnx_int8_with_threads(tmp_path, astronaut):
    """evaluate.py (cascade), detect_landmarks.py (detector + cascade) and mtcnn/evaluate.py on
    --backend onnx --precision int8 --threads 1: their last lines say so."""
    run = [sys.executable, "-W", "ignore"]
    flags = ["--backend", "onnx", "--precision", "int8", "--threads", "1"]
    r = subprocess.run([*run, str(REPO_ROOT / "2_level_2/Code/2_evaluate/evaluate.py"), "--list", str(DEMO_CUHK),
                        "--format", "cuhk", "--out", str(tmp_path / "ev"), *flags],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["backend"] == "onnx" and summary["precision"] == "int8" and summary["nme_l2"] < 8
    cv2.imwrite(str(tmp_path / "astronaut.jpg"), astronaut)
    r = subprocess.run([*run, str(REPO_ROOT / "3_demo/Code/detect_landmarks.py"), str(tmp_path / "astronaut.jpg"),
                        "--out", str(tmp_path / "dl"), *flags], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and json.loads(r.stdout.strip().splitlines()[-1])["faces"] >= 1, r.stderr[-2000:]
    r = subprocess.run([*run, str(REPO_ROOT / "3_demo/Code/inference.py"), "--images", str(tmp_path),
                        "--detect", "--out", str(tmp_path / "demo"), *flags], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "backend onnx" in r.stdout and "1 faces" in r.stdout.splitlines()[-1], r.stdout


def test_onnx_example_runs_level_1_with_onnxruntime_alone(tmp_path):
    """3_demo/Code/onnx_example.py (the README's Deploy example) imports neither Caffe nor
    facecascade, and gives level 1's points within 1.5 px of the cascade's level 1."""
    source = (REPO_ROOT / "3_demo/Code/onnx_example.py").read_text()
    assert "facecascade" not in source.replace('no facecascade', '') and "caffe" not in source.lower().replace(
        "no caffe", "")
    assert len(source.splitlines()) <= 25   # the README shows it whole
    l1 = LandmarkCascade(*SHIPPED["l1"], backend="onnx", l1_any_angle=False)   # level 1 on the box, alone
    for r in read_cuhk(DEMO_CUHK)[:3]:
        out = subprocess.run([sys.executable, str(REPO_ROOT / "3_demo/Code/onnx_example.py"),
                              str(onnx_path(SHIPPED["l1"][1])), str(r.image), *map(str, r.box)],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        points = np.array(json.loads(out.stdout))
        assert np.abs(points - l1.predict(read_image(r.image), r.box).l1).max() < 1.5
