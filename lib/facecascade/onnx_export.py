"""Caffe deploy nets (prototxt + caffemodel) as ONNX models, for onnxruntime, OpenCV 5 and
every other runtime that reads ONNX.

    python 3_demo/Code/export_onnx.py             # the five shipped nets -> <caffemodel>.onnx beside them
    model = caffe_to_onnx("det1.prototxt", "det1.caffemodel", dynamic_hw=True)

The prototxt is read with our Caffe's protobuf classes (prototxt.read_net), the weights
with nets.caffemodel_weights; the graph is built with the `onnx` package's helpers, one
node (or a few) per Caffe layer, tensors named after Caffe's blobs so that the outputs keep
their Caffe names (prob1, conv4-2, fc2, ...).  Layers: Convolution and
ConvolutionDepthwise (a Conv with group = channels), InnerProduct (Flatten + Gemm),
ReLU, PReLU (as Min, Mul, Add: faster in onnxruntime), Pooling MAX (Caffe's ceil
rounding), Eltwise (SUM / PROD / MAX), Softmax,
BatchNorm and Scale (as Mul / Add on per-channel constants), Dropout (dropped).  A layer
of another type is an error naming the prototxt and the layer.

The batch dimension is dynamic in every model; dynamic_hw makes height and width
dynamic too (P-Net runs on every pyramid level).  The metadata records the sha256 of the
prototxt and the caffemodel the model was made from (SOURCE_KEYS), so a test can tell a
stale ONNX file from a current one without Caffe.
"""
import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .atomic import atomic_path
from .nets import caffemodel_weights
from .paths import DEMO_DATA, REPO_ROOT
from .prototxt import PrototxtError, check_net, read_net

# opset 13: per-axis Softmax and per-channel QuantizeLinear (int8, onnx_quant.py);
# OpenCV 4.x and 5.x and every onnxruntime since 1.6 read it.
OPSET = 13
MTCNN_MODEL_DIR = REPO_ROOT / "mtcnn" / "model"
# name -> (prototxt, caffemodel, dynamic height and width)
SHIPPED_NETS = {
    "l1_any_angle": (DEMO_DATA / "l1_any_angle_deploy.prototxt", DEMO_DATA / "l1_any_angle.caffemodel", False),
    "l1": (DEMO_DATA / "l1_deploy.prototxt", DEMO_DATA / "l1.caffemodel", False),
    "l2": (DEMO_DATA / "l2_deploy.prototxt", DEMO_DATA / "l2.caffemodel", False),
    "l2_robust": (DEMO_DATA / "l2_robust_deploy.prototxt", DEMO_DATA / "l2_robust.caffemodel", False),
    "det1": (MTCNN_MODEL_DIR / "det1.prototxt", MTCNN_MODEL_DIR / "det1.caffemodel", True),
    "det2": (MTCNN_MODEL_DIR / "det2.prototxt", MTCNN_MODEL_DIR / "det2.caffemodel", False),
    "det3": (MTCNN_MODEL_DIR / "det3.prototxt", MTCNN_MODEL_DIR / "det3.caffemodel", False),
}
LANDMARK_NETS = ("l1_any_angle", "l1", "l2", "l2_robust")
SOURCE_KEYS = ("source_prototxt_sha256", "source_caffemodel_sha256")


def onnx_path(weights, precision="fp32"):
    """The ONNX file of a caffemodel: model.caffemodel -> model.onnx (fp32) or
    model_int8.onnx (int8), beside it."""
    weights = Path(weights)
    return weights.with_name(weights.stem + ("" if precision == "fp32" else f"_{precision}") + ".onnx")


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _pair(param, field, default):
    """Caffe's kernel_size / stride / pad / dilation of a layer parameter -> (h, w): its
    <field>_h and <field>_w when set, else its value (repeated in ConvolutionParameter:
    0, 1 or 2 values), else the default."""
    h_field = {"kernel_size": "kernel_h"}.get(field, f"{field}_h")
    if h_field in param.DESCRIPTOR.fields_by_name and param.HasField(h_field):
        return getattr(param, h_field), getattr(param, h_field[:-1] + "w")
    value = getattr(param, field)
    if isinstance(value, int):
        values = [value] if param.HasField(field) else []
    else:
        values = list(value)
    if not values:
        return default, default
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


class _Builder:
    """Caffe layers -> ONNX nodes.  Caffe's in-place layers (ReLU top == bottom) reuse a
    blob name; ONNX tensors are written once, so every write but a blob's last gets a
    suffixed name and `current` maps each blob to the tensor that holds it now."""

    def __init__(self, net, weights, where):
        self.net, self.weights, self.where = net, weights, where
        self.nodes, self.initializers, self.current = [], [], {}
        self.last_writer = {}
        for i, layer in enumerate(net.layer):
            for top in layer.top:
                self.last_writer[top] = i

    def const(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, np.float32), name))
        return name

    def blobs(self, layer, count):
        found = self.weights.get(layer.name, [])
        if len(found) < count:
            raise PrototxtError(f"{self.where}: layer '{layer.name}' has {len(found)} weight blobs in the "
                                f"caffemodel, needs {count}")
        return found

    def out_name(self, index, layer, top):
        return top if self.last_writer[top] == index else f"{top}/{layer.name}"

    def add(self, op, inputs, output, name, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def layer(self, index, layer):
        kind = layer.type
        if kind in ("Input", "Dropout"):  # Dropout: the identity at test time
            self.current[layer.top[0]] = layer.top[0] if kind == "Input" else self.current[layer.bottom[0]]
            return
        handler = getattr(self, "_" + kind.lower(), None)
        if handler is None:
            raise PrototxtError(f"{self.where}: layer '{layer.name}': type {kind} has no ONNX export "
                                "(facecascade.onnx_export)")
        bottoms = [self.current[b] for b in layer.bottom]
        out = self.out_name(index, layer, layer.top[0])
        self.current[layer.top[0]] = handler(layer, bottoms, out)

    # -- one method per Caffe layer type --------------------------------------
    def _convolution(self, layer, bottoms, out, depthwise=False):
        p = layer.convolution_param
        blobs = self.blobs(layer, 2 if p.bias_term else 1)
        w = blobs[0]
        (kh, kw), (sh, sw) = _pair(p, "kernel_size", 1), _pair(p, "stride", 1)
        (ph, pw), (dh, dw) = _pair(p, "pad", 0), _pair(p, "dilation", 1)
        group = w.shape[0] if depthwise else p.group
        inputs = [bottoms[0], self.const(f"{layer.name}/w", w.reshape(w.shape[0], -1, kh, kw))]
        if p.bias_term:
            inputs.append(self.const(f"{layer.name}/b", blobs[1].reshape(-1)))
        return self.add("Conv", inputs, out, layer.name, kernel_shape=[kh, kw], strides=[sh, sw],
                        pads=[ph, pw, ph, pw], dilations=[dh, dw], group=int(group))

    def _convolutiondepthwise(self, layer, bottoms, out):
        return self._convolution(layer, bottoms, out, depthwise=True)

    def _innerproduct(self, layer, bottoms, out):
        p = layer.inner_product_param
        if p.axis != 1 or p.transpose:
            raise PrototxtError(f"{self.where}: layer '{layer.name}': InnerProduct with axis {p.axis} / "
                                "transpose has no ONNX export")
        blobs = self.blobs(layer, 2 if p.bias_term else 1)
        w = blobs[0].reshape(p.num_output, -1)
        flat = self.add("Flatten", [bottoms[0]], f"{layer.name}/flat", f"{layer.name}/flatten", axis=1)
        inputs = [flat, self.const(f"{layer.name}/w", w)]
        if p.bias_term:
            inputs.append(self.const(f"{layer.name}/b", blobs[1].reshape(-1)))
        return self.add("Gemm", inputs, out, layer.name, transB=1)

    def _relu(self, layer, bottoms, out):
        slope = layer.relu_param.negative_slope
        if slope:
            return self.add("LeakyRelu", bottoms, out, layer.name, alpha=float(slope))
        return self.add("Relu", bottoms, out, layer.name)

    def _prelu(self, layer, bottoms, out):
        """x + (slope - 1) * min(x, 0): PReLU in three plain ops.  onnxruntime's PRelu
        kernel with a per-channel slope is its slowest node here (P-Net on a 700 x 1000
        level: PReLU1 took 171 ms of 600, 24 ns per value; R-Net and O-Net forwards run
        1.7-1.9x faster with these three ops: the ONNX entry of docs/notebook)."""
        slope = self.blobs(layer, 1)[0].reshape(-1)
        # per channel: (C, 1, 1) broadcasts over N x C x H x W; after an InnerProduct
        # the blob is N x C and the slope (1, C) (OpenCV 4 misreads a (C,) one in int8 models)
        shape = (1, -1) if self._is_flat(layer.bottom[0]) else (-1, 1, 1)
        negative = self.add("Min", [bottoms[0], self.const(f"{layer.name}/zero", np.float32(0))],
                            f"{layer.name}/neg", f"{layer.name}/min")
        scaled = self.add("Mul", [negative, self.const(f"{layer.name}/slope-1", (slope - 1).reshape(shape))],
                          f"{layer.name}/scaled", f"{layer.name}/mul")
        return self.add("Add", [bottoms[0], scaled], out, layer.name)

    def _is_flat(self, blob):
        for layer in self.net.layer:
            if blob in layer.top and layer.type == "InnerProduct":
                return True
        return False

    def _pooling(self, layer, bottoms, out):
        p = layer.pooling_param
        if p.pool != p.MAX or p.global_pooling:
            raise PrototxtError(f"{self.where}: layer '{layer.name}': only MAX pooling (not global) has an "
                                "ONNX export here")
        (kh, kw), (sh, sw), (ph, pw) = _pair(p, "kernel_size", 1), _pair(p, "stride", 1), _pair(p, "pad", 0)
        # Caffe rounds the output size up (ceil_mode, our Caffe's default) and, with padding,
        # drops a last window that would start in the padding; ONNX's ceil_mode=1 and
        # onnxruntime follow the same rule.
        ceil = int(p.ceil_mode) if "ceil_mode" in p.DESCRIPTOR.fields_by_name else 1
        return self.add("MaxPool", bottoms, out, layer.name, kernel_shape=[kh, kw], strides=[sh, sw],
                        pads=[ph, pw, ph, pw], ceil_mode=ceil)

    def _eltwise(self, layer, bottoms, out):
        p = layer.eltwise_param
        coeffs = list(p.coeff)
        if p.operation == p.SUM and coeffs and any(c != 1 for c in coeffs):
            bottoms = [self.add("Mul", [b, self.const(f"{layer.name}/coeff{i}", np.float32(c))],
                                f"{layer.name}/scaled{i}", f"{layer.name}/mul{i}")
                       for i, (b, c) in enumerate(zip(bottoms, coeffs))]
        op = {p.SUM: "Sum", p.PROD: "Mul", p.MAX: "Max"}[p.operation]
        if op == "Mul" and len(bottoms) > 2:
            raise PrototxtError(f"{self.where}: layer '{layer.name}': Eltwise PROD of more than 2 inputs")
        return self.add(op, bottoms, out, layer.name)

    def _softmax(self, layer, bottoms, out):
        return self.add("Softmax", bottoms, out, layer.name, axis=int(layer.softmax_param.axis))

    def _batchnorm(self, layer, bottoms, out):
        mean, var, factor = self.blobs(layer, 3)[:3]
        s = 0.0 if factor.reshape(-1)[0] == 0 else 1.0 / factor.reshape(-1)[0]
        inv_std = 1.0 / np.sqrt(var.reshape(-1) * s + layer.batch_norm_param.eps)
        return self._affine(layer, bottoms[0], out, inv_std, -mean.reshape(-1) * s * inv_std)

    def _scale(self, layer, bottoms, out):
        p = layer.scale_param
        blobs = self.blobs(layer, 2 if p.bias_term else 1)
        bias = blobs[1].reshape(-1) if p.bias_term else None
        return self._affine(layer, bottoms[0], out, blobs[0].reshape(-1), bias)

    def _affine(self, layer, bottom, out, scale, bias):
        """x * scale + bias per channel (axis 1)."""
        shape = (1, -1) if self._is_flat(layer.bottom[0]) else (-1, 1, 1)
        mul_out = out if bias is None else f"{layer.name}/scaled"
        self.add("Mul", [bottom, self.const(f"{layer.name}/scale", scale.reshape(shape))], mul_out,
                 f"{layer.name}/mul")
        if bias is None:
            return out
        return self.add("Add", [mul_out, self.const(f"{layer.name}/bias", bias.reshape(shape))], out,
                        f"{layer.name}/add")


def net_outputs(net):
    """Caffe's net.outputs: the blobs some layer writes and no later layer reads."""
    read, written = set(), []
    for layer in net.layer:
        read.update(b for b in layer.bottom if b not in layer.top)
        written += [t for t in layer.top if t not in written]
    return [b for b in written if b not in read and not any(
        layer.type == "Input" and b in layer.top for layer in net.layer)]


def caffe_to_onnx(prototxt, caffemodel, dynamic_hw=False):
    """The ONNX ModelProto of a deploy prototxt + caffemodel (checked by onnx.checker)."""
    net = read_net(prototxt)
    check_net(net, str(prototxt))
    weights = caffemodel_weights(caffemodel)
    builder = _Builder(net, weights, str(prototxt))
    inputs = [layer for layer in net.layer if layer.type == "Input"]
    if len(inputs) != 1:
        raise PrototxtError(f"{prototxt}: needs exactly one Input layer, has {len(inputs)}")
    n, c, h, w = inputs[0].input_param.shape[0].dim
    dims = ["N", int(c), "H", "W"] if dynamic_hw else ["N", int(c), int(h), int(w)]
    for i, layer in enumerate(net.layer):
        builder.layer(i, layer)
    outputs = net_outputs(net)
    graph = helper.make_graph(
        builder.nodes, net.name or Path(prototxt).stem,
        [helper.make_tensor_value_info(inputs[0].top[0], TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs],
        builder.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="facecascade.onnx_export")
    model.ir_version = 8  # readable by onnxruntime >= 1.14 and OpenCV 4.x
    inferred = onnx.shape_inference.infer_shapes(model)
    del model.graph.output[:]
    model.graph.output.extend(inferred.graph.output)
    for key, path in zip(SOURCE_KEYS, (prototxt, caffemodel)):
        model.metadata_props.add(key=key, value=sha256(path))
    model.doc_string = f"{Path(prototxt).name} + {Path(caffemodel).name}, exported by facecascade.onnx_export"
    onnx.checker.check_model(model, full_check=True)
    return model


def save_model(model, path):
    with atomic_path(path) as tmp:
        onnx.save(model, str(tmp))
    return Path(path)


def metadata(path):
    return {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}


def stale_reason(onnx_file, prototxt, caffemodel):
    """None when `onnx_file` was exported from these prototxt and caffemodel files, else why not."""
    if not Path(onnx_file).is_file():
        return f"{onnx_file}: missing (python 3_demo/Code/export_onnx.py)"
    meta = metadata(onnx_file)
    for key, path in zip(SOURCE_KEYS, (prototxt, caffemodel)):
        if meta.get(key) != sha256(path):
            return f"{onnx_file}: made from another {Path(path).name} (re-run python 3_demo/Code/export_onnx.py)"
    return None


def compare_with_caffe(prototxt, caffemodel, onnx_file, batches):
    """Max |pycaffe - onnxruntime| per output blob over `batches` (N x C x H x W float32)."""
    from .runtime import CaffeNet, OnnxNet

    caffe_net, onnx_net = CaffeNet(prototxt, caffemodel), OnnxNet(prototxt, onnx_file)
    worst = {}
    for batch in batches:
        want, got = caffe_net.forward(batch), onnx_net.forward(batch)
        if set(want) != set(got):
            raise ValueError(f"{onnx_file}: outputs {sorted(got)}, the Caffe net's {sorted(want)}")
        for name, value in want.items():
            diff = float(np.abs(value.reshape(got[name].shape) - got[name]).max()) if value.size else 0.0
            worst[name] = max(worst.get(name, 0.0), diff)
    return worst
