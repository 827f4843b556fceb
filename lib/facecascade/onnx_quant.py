"""int8 models: static QDQ quantisation of the exported ONNX nets (onnxruntime.quantization),
per output channel for the weights, calibrated on the inputs each net sees in use, made
from training images only (never from the sets the accuracy is measured on):

  l1    level-1 crops of cuhk train faces (list box + the model card's margin)
  l2    level-2 crops around the fp32 level 1's points on the same faces
  det1  P-Net's pyramid levels of wider_train images
  det2  R-Net's crops of the fp32 P-Net's candidates on those images
  det3  O-Net's crops of the fp32 R-Net's boxes on those images

    python 3_demo/Code/export_onnx.py --int8       # -> <model>_int8.onnx beside <model>.onnx

Weights int8 symmetric per channel in 7 bits (reduce_range), activations uint8 per tensor
(MinMax ranges over the calibration batches).  7-bit weights because x86 CPUs without VNNI
(AVX2, AVX-512 before VNNI) multiply uint8 by int8 in pairs summed into int16, which
saturates with 8-bit weights: with them the int8 detector found no face in the astronaut
photo on an AVX2 EPYC, while an AVX-512 one found it.  Biases stay float32: onnxruntime fuses DQ -> Conv/Gemm -> Q into
its int8 kernels all the same (as fast as int32 biases, measured), and int32 biases would
add a scale and a zero point per channel: 23 KB on a landmark level, over its 300 KB
budget.  PReLU, Softmax and the residual sums run in float32 between DequantizeLinear
and QuantizeLinear.  Tensor names are shortened (Caffe's names stay as their stems).
"""
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import geometry as geo
from .paths import SHARED_DATA
from .runtime import to_blob

CUHK_TRAIN = SHARED_DATA / "cuhk_facepoint" / "train_net7876.txt"
WIDER_TRAIN = SHARED_DATA / "wider_train"
# calibration sizes: enough for stable ranges, a minute of calibration in all
LANDMARK_FACES = 600
DETECTOR_IMAGES = 60
CANDIDATES_PER_IMAGE = 48
BATCH = 32
# The ops quantised per net (None: onnxruntime's default set).  P-Net and R-Net keep their
# PReLUs (Min, Mul, Add) in float32 between int8 convolutions: on the demo photos' crops
# (not the calibration set) their prob1 error to fp32 fell from 0.019 to 0.015 (P-Net)
# and 0.023 to 0.018 (R-Net), the threshold decisions flipped from 0.28 % to 0.22 % and
# 1.3 % to 0.0 %; O-Net's flipped more that way (0.66 % -> 1.97 %) and ran 3x slower.
QUANTIZED_OPS = {"det1": ["Conv", "Gemm"], "det2": ["Conv", "Gemm"]}


def _sample(items, n, seed=0):
    if len(items) <= n:
        return list(items)
    pick = np.random.default_rng(seed).choice(len(items), n, replace=False)
    return [items[i] for i in sorted(pick)]


def landmark_calibration(faces=LANDMARK_FACES, list_file=CUHK_TRAIN, seed=0):
    """{"l1": [batches], "l2": [batches], "l1_any_angle": l1's, "l2_robust": l2's} of
    N x 3 x 48 x 48 float32 from cuhk train faces, l2's crops placed by the fp32 ONNX
    level 1 as in use (the any-angle level 1 reads the same box crops as level 1, the
    first-pass level 2 the same crops as level 2)."""
    from .cascade import LandmarkCascade
    from .images import read_image
    from .records import read_cuhk

    records = _sample(read_cuhk(list_file), faces, seed)
    cascade = LandmarkCascade.from_shipped(backend="onnx")
    l1, l2 = [], []
    for i in tqdm(range(0, len(records), BATCH), desc="landmark calibration crops"):
        chunk = records[i:i + BATCH]
        images = [read_image(r.image, where=r.where) for r in chunk]
        results = cascade.predict_batch(images, [r.box for r in chunk])
        l1.append(to_blob(np.stack([geo.crop(im, r.l1_region) for im, r in zip(images, results)])))
        l2.append(to_blob(np.stack([geo.crop(im, r.l2_region) for im, r in zip(images, results)])))
    return {"l1": l1, "l1_any_angle": l1, "l2": l2, "l2_robust": l2}


def detector_calibration(images=DETECTOR_IMAGES, folder=WIDER_TRAIN, seed=0):
    """{"det1": [1 x 3 x h x w levels], "det2": [N x 3 x 24 x 24], "det3": [N x 3 x 48 x 48]}
    from wider_train images, the candidates found by the fp32 ONNX detector."""
    from .images import read_image
    from .mtcnn import MTCNN
    from .mtcnn.pyramid import MEAN, SCALE, normalise

    files = _sample(sorted(p for p in Path(folder).rglob("*.jpg")), images, seed)
    if not files:
        raise FileNotFoundError(f"{folder}: no .jpg images for the detector's calibration")
    det = MTCNN(backend="onnx")
    rng = np.random.default_rng(seed)
    out = {"det1": [], "det2": [], "det3": []}
    for f in tqdm(files, desc="detector calibration crops"):
        img = read_image(f)
        boxes, levels = det.pnet_stage(img)
        # every other level: the pyramid's levels are alike, and large ones are slow
        out["det1"] += [normalise(level[None]) for _, level in levels[::2]]
        for key, size, found in (("det2", 24, boxes), ("det3", 48, det.rnet_stage(img, boxes, levels))):
            if len(found):
                found = found[rng.permutation(len(found))[:CANDIDATES_PER_IMAGE]]
                crops = det.crop_candidates(img, found, levels, size)
                out[key].append(np.ascontiguousarray(((crops - MEAN) * SCALE).transpose(0, 3, 1, 2),
                                                     dtype=np.float32))
    return out


# onnxruntime.quantization's suffixes -> short ones (a few KB of a landmark level's 300)
_SUFFIXES = (("_DequantizeLinear_Output", "/dq"), ("_QuantizeLinear_Output", "/q"), ("_quantized_scale", "/qs"),
             ("_quantized_zero_point", "/qz"), ("_quantized", "/q8"), ("_scale", "/s"), ("_zero_point", "/z"))


def _short(name):
    for long, short in _SUFFIXES:
        name = name.replace(long, short)
    return name


def _compact(model):
    """The quantised model less what runtimes do not need: shape annotations of inner
    tensors, names of Q/DQ nodes; tensor names shortened."""
    del model.graph.value_info[:]
    for node in model.graph.node:
        node.name = "" if node.op_type in ("QuantizeLinear", "DequantizeLinear") else node.name
        node.input[:] = [_short(x) for x in node.input]
        node.output[:] = [_short(x) for x in node.output]
    for tensor in model.graph.initializer:
        tensor.name = _short(tensor.name)
    return model


class _Reader:
    """onnxruntime's CalibrationDataReader over a list of input batches."""

    def __init__(self, input_name, batches):
        self.input_name, self.batches = input_name, iter(batches)

    def get_next(self):
        batch = next(self.batches, None)
        return None if batch is None else {self.input_name: batch}

    def rewind(self):
        raise NotImplementedError


def quantize(fp32_path, int8_path, batches, op_types=None):
    """Static QDQ quantisation of one exported model -> int8_path (written atomically);
    op_types: the op types to quantise (default: onnxruntime's)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .atomic import atomic_path

    if not batches:
        raise ValueError(f"{fp32_path}: no calibration batches")
    model = onnx.load(str(fp32_path))
    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        with atomic_path(int8_path) as out:
            only = {} if op_types is None else {"op_types_to_quantize": list(op_types)}
            quantize_static(str(prepared), str(out), _Reader(input_name, batches), **only,
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8, reduce_range=True,
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"CalibTensorRangeSymmetric": False, "QuantizeBias": False})
            quantized = _compact(onnx.load(str(out)))
            # the source hashes of the fp32 model travel with its int8 model
            del quantized.metadata_props[:]
            quantized.metadata_props.extend(model.metadata_props)
            quantized.metadata_props.add(key="quantization", value="static QDQ, int8 weights per channel, "
                                         f"7-bit range (reduce_range), uint8 activations, MinMax over {len(batches)} calibration batches"
                                         + (f", ops {', '.join(op_types)}" if op_types else ""))
            onnx.save(quantized, str(out))
    return Path(int8_path)
