"""Caffe weights as data: reading caffemodels, subnormal weights, averaging, FLOPs,
ensembles.  Running nets: facecascade.runtime."""
from pathlib import Path

import numpy as np

from . import caffe_loader
from .prototxt import caffe_pb2, check_net, read_net

# Layer types whose parameters are learnt: a caffemodel without them would leave the
# fillers' values in place without a word from Caffe.
LEARNED_LAYER_TYPES = ("Convolution", "ConvolutionDepthwise", "Deconvolution", "InnerProduct", "PReLU",
                       "Scale", "BatchNorm", "Bias")


def _subnormal(data):
    return (data != 0) & (np.abs(data) < np.finfo(np.float32).tiny)


def subnormal_weights(net):
    """{layer: (subnormal weights, weights)} of a pycaffe net, for the layers that hold
    any subnormal weight (see flush_denormals)."""
    out = {}
    for name, blobs in net.params.items():
        n = sum(int(_subnormal(b.data).sum()) for b in blobs)
        if n:
            out[name] = (n, sum(b.data.size for b in blobs))
    return out


def flush_denormals(net):
    """Set the subnormal weights of a pycaffe net (|w| < 1.2e-38, float32's smallest
    normal) to zero; returns how many there were.

    Weight decay drives the weights of dead units towards zero until they are
    subnormal (19-24 % of the R-Net / O-Net fully connected weights as first
    trained).  Their products are below float32's resolution of any sum they join,
    so zero changes nothing measurable, but many x86 cores (Intel's above all) take
    a slow microcode path for every subnormal operand: on an Intel Xeon, R-Net's
    576 -> 128 InnerProduct took 9.92 ms instead of 0.13 ms per 64 candidates
    (`bench/mtcnn_layer_times.py`, which prints subnormal_weights).  Trainers call
    this before saving."""
    count = 0
    for blobs in net.params.values():
        for blob in blobs:
            sub = _subnormal(blob.data)
            n = int(sub.sum())
            if n:
                blob.data[sub] = 0
                count += n
    return count


def net_weights(net):
    """{layer name: [arrays]} of a caffe.Net."""
    return {name: [np.array(b.data, copy=True) for b in blobs] for name, blobs in net.params.items()}


def read_caffemodel(path):
    """A .caffemodel file as Caffe's NetParameter; a missing or unreadable file is an
    error naming it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found")
    param = caffe_pb2().NetParameter()
    try:
        param.ParseFromString(path.read_bytes())
    except Exception as e:  # protobuf's DecodeError
        raise ValueError(f"{path}: not a caffemodel ({e})") from None
    return param


def caffemodel_weights(path):
    """{layer name: [float32 arrays]} of a .caffemodel file, read with Caffe's protobuf
    (no net needed, so a file of another net is an error here, not a Caffe abort)."""
    param = read_caffemodel(path)
    out = {}
    for layer in list(param.layer) + list(param.layers):  # V2 and V1 layer lists
        if layer.blobs:
            out[layer.name] = [np.array(b.data, dtype=np.float32).reshape(
                tuple(b.shape.dim) if b.HasField("shape") else (b.num, b.channels, b.height, b.width))
                for b in layer.blobs]
    return out


def average_weights(net, caffemodels):
    """Set every parameter of a pycaffe net to its element-wise mean over `caffemodels`
    (snapshots of the same net, matched by layer name), summed in float64; returns the
    net.  A file that lacks a layer of the net, or holds it in another shape, raises
    ValueError naming both.

    Why: stochastic weight averaging (Izmailov et al., UAI 2018): the mean of the
    snapshots along one training run's late steps lies nearer the middle of the
    minimum they wander around than any one of them (measured on the shipped recipe's
    run: no mean beat its last weights; experiments/README.md).  MTCNN's nets have no
    BatchNorm, so the mean needs no statistics recomputed."""
    if not caffemodels:
        raise ValueError("average_weights: no caffemodel given")
    sums = {name: [np.zeros(b.data.shape, np.float64) for b in blobs] for name, blobs in net.params.items()}
    for path in caffemodels:
        weights = caffemodel_weights(path)
        for name, totals in sums.items():
            arrays = weights.get(name, [])
            if len(arrays) != len(totals) or any(a.size != t.size for a, t in zip(arrays, totals)):
                raise ValueError(f"{path}: holds no weights of layer {name} in the net's shapes "
                                 f"{[t.shape for t in totals]}")
            for total, a in zip(totals, arrays):
                total += a.reshape(total.shape)
    for name, blobs in net.params.items():
        for blob, total in zip(blobs, sums[name]):
            blob.data[...] = (total / len(caffemodels)).astype(np.float32)
    return net


def weight_differences(weights_a, weights_b):
    """Blob-by-blob comparison of two {layer name: [arrays]} (net_weights): one row
    (layer, blob index, shape, values that differ, max |a - b|) per blob of either; a
    blob that only one side has, or of another shape, counts all its values as
    differing with max_abs_diff None."""
    rows = []
    for name in list(weights_a) + [n for n in weights_b if n not in weights_a]:
        blobs_a, blobs_b = weights_a.get(name, []), weights_b.get(name, [])
        for i in range(max(len(blobs_a), len(blobs_b))):
            a = blobs_a[i] if i < len(blobs_a) else None
            b = blobs_b[i] if i < len(blobs_b) else None
            if a is None or b is None or a.shape != b.shape:
                present = [x for x in (a, b) if x is not None]
                rows.append(dict(layer=name, blob=i, shape=present[0].shape,
                                 differing=max(x.size for x in present), max_abs_diff=None))
                continue
            # float32 bit patterns, not values: -0.0 against 0.0 differ too
            bits_a, bits_b = (np.ascontiguousarray(x, np.float32).view(np.uint32) for x in (a, b))
            differing = int(np.count_nonzero(bits_a != bits_b))
            diff = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
            rows.append(dict(layer=name, blob=i, shape=a.shape, differing=differing, max_abs_diff=diff))
    return rows


def forward_flops(net):
    """2 x the multiply-adds of one forward of a pycaffe net at its current input
    shape (Convolution, ConvolutionDepthwise and InnerProduct layers; the rest
    is a few percent): each output element of such a layer costs one multiply-add
    per weight of its filter."""
    total = 0
    for name, layer in zip(net._layer_names, net.layers):
        if layer.type in ("Convolution", "ConvolutionDepthwise", "InnerProduct"):
            weights = net.params[name][0].data
            per_output = weights[0].size                   # one filter / one row of the matrix
            total += 2 * per_output * net.blobs[net.top_names[name][0]].data.size
    return total


def deploy_input_size(prototxt):
    from .prototxt import input_shape
    return input_shape(read_net(prototxt))[2:]


def ensemble_net(prototxts, caffemodels, outputs):
    """K nets of the same input as one net whose blobs `outputs` are the means of the
    K nets' blobs of those names: (deploy NetParameter, weights NetParameter).

    Every layer of net k but the Input is copied with "_k" added to its name and to
    its blob names ("data" stays shared); one Eltwise SUM with coefficients 1/K per
    output then writes the mean under the original name, so code that reads the
    output blobs by name runs the ensemble unchanged, at K times the arithmetic.
    Why: a test of whether the nets' errors are variance (which averaging K
    independently trained nets removes) or bias (which it keeps): experiments/README.md."""
    if len(prototxts) != len(caffemodels) or not prototxts:
        raise ValueError("ensemble_net: give one caffemodel per prototxt, at least one of each")
    pb2 = caffe_pb2()
    deploy, weights = pb2.NetParameter(), pb2.NetParameter()
    for k, (proto_path, model_path) in enumerate(zip(prototxts, caffemodels)):
        net = read_net(proto_path)
        check_net(net, proto_path)
        layers = list(net.layer)
        if not layers or layers[0].type != "Input" or list(layers[0].top) != ["data"]:
            raise ValueError(f"{proto_path}: the first layer must be an Input with top 'data'")
        if k == 0:
            deploy.name = f"{net.name}_ensemble{len(prototxts)}"
            deploy.layer.add().CopyFrom(layers[0])
            first_outputs = {top for layer in layers for top in layer.top}
        elif layers[0].input_param != deploy.layer[0].input_param:
            raise ValueError(f"{proto_path}: another input shape than {prototxts[0]}")
        tops = {top for layer in layers for top in layer.top}
        missing = [o for o in outputs if o not in tops or o not in first_outputs]
        if missing:
            raise ValueError(f"{proto_path}: no blob {', '.join(missing)} to average")
        model = read_caffemodel(model_path)
        blobs = {layer.name: layer.blobs for layer in model.layer if layer.blobs}
        for layer in layers[1:]:
            copy = deploy.layer.add()
            copy.CopyFrom(layer)
            copy.name = f"{layer.name}_{k}"
            copy.bottom[:] = [b if b == "data" else f"{b}_{k}" for b in layer.bottom]
            copy.top[:] = [f"{t}_{k}" for t in layer.top]
            if layer.name in blobs:
                weights.layer.add(name=copy.name, type=layer.type).blobs.extend(blobs[layer.name])
            elif layer.type in LEARNED_LAYER_TYPES:
                raise ValueError(f"{model_path}: holds no weights of layer {layer.name} of {proto_path}")
    for name in outputs:
        mean = deploy.layer.add(name=name, type="Eltwise", top=[name],
                                bottom=[f"{name}_{k}" for k in range(len(prototxts))])
        mean.eltwise_param.operation = pb2.EltwiseParameter.SUM
        mean.eltwise_param.coeff.extend([1.0 / len(prototxts)] * len(prototxts))
    return deploy, weights


def write_ensemble(prototxts, caffemodels, outputs, out_prototxt, out_caffemodel):
    """ensemble_net() written to two files (temp names, then renamed), after checking
    that every weight blob has the shape the net gives it: Caffe aborts on a
    mismatch when it loads the file, so a caffemodel of another net is an error
    naming it here instead."""
    from google.protobuf import text_format

    deploy, weights = ensemble_net(prototxts, caffemodels, outputs)
    out_prototxt, out_caffemodel = Path(out_prototxt), Path(out_caffemodel)
    tmp_proto = out_prototxt.with_name(out_prototxt.name + ".tmp")
    tmp_proto.write_text(text_format.MessageToString(deploy))
    caffe = caffe_loader.import_caffe()
    net = caffe.Net(str(tmp_proto), caffe.TEST)
    for layer in weights.layer:
        k = int(layer.name.rsplit("_", 1)[1])
        wanted = [tuple(b.data.shape) for b in net.params[layer.name]]
        # Caffe's Blob::ShapeEquals: the shape exactly, or the count for a legacy 4-d blob
        found = [tuple(b.shape.dim) if b.HasField("shape") else (b.num, b.channels, b.height, b.width)
                 for b in layer.blobs]
        same = len(wanted) == len(found) and all(
            w == f if b.HasField("shape") else int(np.prod(w)) == int(np.prod(f))
            for w, f, b in zip(wanted, found, layer.blobs))
        if not same:
            tmp_proto.unlink()
            raise ValueError(f"{caffemodels[k]}: layer {layer.name.rsplit('_', 1)[0]} holds blobs of shapes "
                             f"{found}, {prototxts[k]} needs {wanted}")
    tmp_model = out_caffemodel.with_name(out_caffemodel.name + ".tmp")
    tmp_model.write_bytes(weights.SerializeToString())
    tmp_proto.replace(out_prototxt)
    tmp_model.replace(out_caffemodel)
    return out_prototxt, out_caffemodel
