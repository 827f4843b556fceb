"""Our caffe_need layers against real Caffe: ConvolutionDepthwise equals stock
Convolution with group = channels (forward and every gradient), passes a
finite-difference check (here through pycaffe, and in Caffe's own gtest
harness, caffe_need/test); the multi-label ImageData reads float labels
exactly, keeps the stock integer form, and refuses bad input without a core
dump."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest_gpu import GTEST_CPU_CASES, prefix_mode, requires_gpu, run_layer_gtest  # noqa: F401  (fixture)

from facecascade import caffe_loader

# (N, C, H, W, kernel, stride, pad, dilation, bias)
SHAPES = [
    (2, 4, 9, 9, 3, 1, 1, 1, True),
    (2, 4, 9, 9, 3, 2, 1, 1, True),
    (3, 3, 10, 7, 3, 2, 0, 1, False),
    (2, 5, 8, 8, 5, 1, 2, 1, True),
    (2, 3, 11, 11, 5, 2, 2, 1, False),
    (2, 3, 11, 11, 3, 1, 2, 2, True),
    (1, 6, 7, 9, 3, 1, 0, 2, False),
    (4, 8, 12, 12, 3, 2, 1, 1, True),
]


def conv_net(caffe, tmp_path, layer_type, n, c, h, w, k, s, p, d, bias, name="net"):
    group = f"group: {c}" if layer_type == "Convolution" else ""
    text = f"""force_backward: true
layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: {n} dim: {c} dim: {h} dim: {w} }} }} }}
layer {{ name: "conv" type: "{layer_type}" bottom: "data" top: "conv"
  convolution_param {{ num_output: {c} kernel_size: {k} stride: {s} pad: {p} dilation: {d}
    bias_term: {str(bias).lower()} {group} weight_filler {{ type: "gaussian" std: 1 }}
    bias_filler {{ type: "gaussian" std: 1 }} }} }}
"""
    path = tmp_path / f"{name}.prototxt"
    path.write_text(text)
    return caffe.Net(str(path), caffe.TRAIN)


def run_both(caffe, tmp_path, shape, rng):
    n, c, h, w, k, s, p, d, bias = shape
    dw = conv_net(caffe, tmp_path, "ConvolutionDepthwise", *shape, name="dw")
    ref = conv_net(caffe, tmp_path, "Convolution", *shape, name="ref")
    for i, blob in enumerate(dw.params["conv"]):
        ref.params["conv"][i].data[...] = blob.data
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    for net in (dw, ref):
        net.blobs["data"].data[...] = x
        net.forward()
    top_diff = rng.standard_normal(dw.blobs["conv"].data.shape).astype(np.float32)
    for net in (dw, ref):
        for blob in net.params["conv"]:
            blob.diff[...] = 0
        net.blobs["conv"].diff[...] = top_diff
        net.backward()
    return dw, ref


def assert_close(a, b, what):
    scale = max(float(np.abs(b).max()), 1.0)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * scale, err_msg=what)


def test_caffe_gtest_harness_on_depthwise(caffe):
    """Caffe's GradientChecker and a comparison with the stock grouped Convolution
    (forward, bottom / weight / bias gradients) over six geometries, float and double."""
    rc, out, passed = run_layer_gtest(caffe_loader.caffe_prefix(), GTEST_CPU_CASES)
    assert rc == 0 and passed == 4, out[-6000:]


def test_caffe_gtest_harness_on_gpu(requires_gpu):  # noqa: F811
    """With a CUDA build on a GPU (the CUDA image): every case, on the CPU and the GPU.
    (A child process: this session's pycaffe stays in CPU mode.)"""
    prefix = caffe_loader.caffe_prefix()
    if prefix_mode(prefix) != "cuda":
        pytest.skip(f"pycaffe at {prefix} is a {prefix_mode(prefix) or 'unknown'} build, not CUDA: the CUDA "
                    "build's gtest runs in tests/test_cuda_build.py")
    rc, out, passed = run_layer_gtest(prefix, "0")
    assert rc == 0 and passed == 11, out[-6000:]


def test_layers_registered(caffe):
    types = caffe.layer_type_list()
    assert "ConvolutionDepthwise" in types
    assert "ImageData" in types


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "n{}c{}_{}x{}_k{}s{}p{}d{}_{}".format(
    *s[:8], "bias" if s[8] else "nobias"))
def test_depthwise_equals_group_convolution(caffe, tmp_path, rng, shape):
    dw, ref = run_both(caffe, tmp_path, shape, rng)
    assert dw.blobs["conv"].data.shape == ref.blobs["conv"].data.shape
    assert_close(dw.blobs["conv"].data, ref.blobs["conv"].data, "forward")
    assert_close(dw.blobs["data"].diff, ref.blobs["data"].diff, "bottom gradient")
    assert_close(dw.params["conv"][0].diff, ref.params["conv"][0].diff, "weight gradient")
    if shape[-1]:
        assert_close(dw.params["conv"][1].diff, ref.params["conv"][1].diff, "bias gradient")
    else:
        assert len(dw.params["conv"]) == 1


def test_depthwise_finite_difference_gradient(caffe, tmp_path, rng):
    """loss = sum(top * R): analytic gradients vs central differences (float32, step 1e-2)."""
    shape = (2, 3, 7, 7, 3, 2, 1, 1, True)
    net = conv_net(caffe, tmp_path, "ConvolutionDepthwise", *shape)
    x = rng.standard_normal(net.blobs["data"].data.shape).astype(np.float32)
    net.blobs["data"].data[...] = x
    net.forward()
    r = rng.standard_normal(net.blobs["conv"].data.shape).astype(np.float32)

    def loss():
        net.forward()
        return float((net.blobs["conv"].data.astype(np.float64) * r).sum())

    for blob in net.params["conv"]:
        blob.diff[...] = 0
    net.blobs["conv"].diff[...] = r
    net.backward()
    analytic = {"data": net.blobs["data"].diff.copy(),
                "weight": net.params["conv"][0].diff.copy(),
                "bias": net.params["conv"][1].diff.copy()}
    targets = {"data": net.blobs["data"].data, "weight": net.params["conv"][0].data,
               "bias": net.params["conv"][1].data}
    step = 1e-2
    for name, arr in targets.items():
        flat = arr.reshape(-1)
        for i in rng.choice(flat.size, min(12, flat.size), replace=False):
            old = flat[i]
            flat[i] = old + step
            up = loss()
            flat[i] = old - step
            down = loss()
            flat[i] = old
            numeric = (up - down) / (2 * step)
            got = analytic[name].reshape(-1)[i]
            assert abs(numeric - got) <= 1e-2 * max(1.0, abs(numeric)), (name, i, numeric, got)


# ---------------------------------------------------------------- ImageData
def image_data_net(tmp_path, source, root, batch, mirror=False, new=48):
    text = f"""
layer {{ name: "data" type: "ImageData" top: "data" top: "label"
  transform_param {{ mirror: {str(mirror).lower()} }}
  image_data_param {{ source: "{source}" root_folder: "{root}/" batch_size: {batch}
    new_height: {new} new_width: {new} }} }}
"""
    path = tmp_path / "imagedata.prototxt"
    path.write_text(text)
    return path


def test_image_data_multi_label_floats_exact(caffe, tmp_path, test_data):
    root = test_data / "celeba_small"
    names = ["000054.jpg", "000133.jpg", "000167.jpg"]
    labels = np.array([[0.125, -0.5, 1e-3, 0.75, -0.999, 0.3333333, 0.1, 0.2, -0.3, 0.4],
                       [1.0, -1.0, 0.0, 0.5, 0.25, -0.25, 0.6, -0.6, 0.7, -0.7],
                       [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1]], np.float64)
    lst = tmp_path / "list.txt"
    lst.write_text("\n".join(n + " " + " ".join(repr(float(v)) for v in row)
                             for n, row in zip(names, labels)) + "\n\n")
    net = caffe.Net(str(image_data_net(tmp_path, lst, root, 3)), caffe.TEST)
    net.forward()
    assert net.blobs["data"].data.shape == (3, 3, 48, 48)
    assert net.blobs["label"].data.shape == (3, 10)
    np.testing.assert_array_equal(net.blobs["label"].data, labels.astype(np.float32))
    # the pixels are the image, resized: compare with OpenCV's resize of the file
    import cv2
    ref = cv2.resize(cv2.imread(str(root / names[0])), (48, 48)).transpose(2, 0, 1)
    assert np.abs(net.blobs["data"].data[0] - ref).mean() < 1.0


def test_image_data_integer_labels_keep_stock_shape(caffe, tmp_path, test_data):
    root = test_data / "celeba_small"
    lst = tmp_path / "list.txt"
    lst.write_text("000054.jpg 3\n000133.jpg 7\n")
    net = caffe.Net(str(image_data_net(tmp_path, lst, root, 2)), caffe.TEST)
    net.forward()
    assert net.blobs["label"].data.shape == (2,)
    np.testing.assert_array_equal(net.blobs["label"].data, [3, 7])


BAD_INPUT_SCRIPT = textwrap.dedent("""
    import sys
    from facecascade.caffe_loader import import_caffe
    caffe = import_caffe()
    try:
        caffe.Net({proto!r}, caffe.TEST)
    except RuntimeError as e:
        print("ERROR:", e)
        sys.exit(3)
    print("loaded")
""")


def run_isolated(proto):
    """Load a net in a child process: an abort there would be a signal exit code."""
    code = BAD_INPUT_SCRIPT.format(proto=str(proto))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", ["wrong_count", "not_a_number", "missing_image", "mirror_multilabel"])
def test_image_data_bad_input_is_one_line_error_not_abort(caffe, tmp_path, test_data, case):
    root = test_data / "celeba_small"
    lst = tmp_path / "bad_list.txt"
    good = "000054.jpg 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0\n"
    mirror = False
    if case == "wrong_count":
        lst.write_text(good + good + "000133.jpg 0.1 0.2 0.3\n")
        expect = ["bad_list.txt:3", "expected 10"]
    elif case == "not_a_number":
        lst.write_text(good + "000133.jpg 0.1 0.2 x 0.4 0.5 0.6 0.7 0.8 0.9 1.0\n")
        expect = ["bad_list.txt:2", "'x' is not a number"]
    elif case == "missing_image":
        lst.write_text(good + "\n" + "no_such.jpg 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 1.0\n")
        expect = ["bad_list.txt:3", "image not found", "no_such.jpg"]
    else:
        lst.write_text(good)
        mirror = True
        expect = ["mirror", "refused"]
    proc = run_isolated(image_data_net(tmp_path, lst, root, 2, mirror=mirror))
    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr[-2000:])
    line = [l for l in proc.stdout.splitlines() if l.startswith("ERROR:")]
    assert len(line) == 1
    for word in expect:
        assert word in line[0], line[0]
