"""The landmark net of both levels, as prototxt generated with NetSpec.

Architecture (the seed's table):
    48x48x3 -conv 3x3 c16 s2-> 24x24x16 -bottleneck t6 c24 n2 s2-> 12x12x24
    -bottleneck t6 c32 n2 s2-> 6x6x32 -bottleneck t6 c64 n2 s2-> 3x3x64
    -fc 256 (ReLU, dropout 0.3)-> 256 -fc-> 10
Each bottleneck block: 1x1 expand, 3x3 ConvolutionDepthwise, 1x1 project,
BatchNorm+Scale after every conv, ReLU after expand and depthwise, residual
Eltwise SUM on the second repeat.  Convolutions feeding BatchNorm carry no bias
(BatchNorm's mean would cancel it).  Euclidean loss, weight 100, on the 10
coordinates x1 y1 ... x5 y5 in [-1, 1] of the region the level sees.

The train prototxt is a plain file users edit; the deploy prototxt is derived
from it (deploy_from_train), and the shipped model folds every BatchNorm+Scale
into the convolution before it (fold_batchnorm), which removes a third of the
layers at inference and shrinks the caffemodel.
"""
import numpy as np

from .caffe_loader import import_caffe
from .geometry import NET_INPUT
from .nets import flush_denormals, net_weights  # noqa: F401 (net_weights: part of this module's API)

STAGES = ((24, 2, 2), (32, 2, 2), (64, 2, 2))   # (channels, repeats, first stride)
EXPANSION = 6
BN_PARAMS = [dict(lr_mult=0, decay_mult=0)] * 3  # BatchNorm statistics are not learned
LOSS_WEIGHT = 100


def _conv_bn(n, name, bottom, cout, kernel, stride, pad, relu, depthwise=False):
    L, P = _lp()
    layer = L.ConvolutionDepthwise if depthwise else L.Convolution
    # Given as convolution_param explicitly: NetSpec only maps stock type names.
    conv = layer(bottom, convolution_param=dict(
        num_output=cout, kernel_size=kernel, stride=stride, pad=pad, bias_term=False,
        weight_filler=dict(type="msra")))
    setattr(n, name, conv)
    setattr(n, name + "_bn", L.BatchNorm(conv, in_place=True, param=BN_PARAMS,
                                          batch_norm_param=dict(moving_average_fraction=0.99)))
    setattr(n, name + "_scale", L.Scale(conv, in_place=True, bias_term=True))
    if relu:
        setattr(n, name + "_relu", L.ReLU(conv, in_place=True))
    return conv


def _lp():
    caffe = import_caffe()
    return caffe.layers, caffe.params


def _body(n, data):
    """Everything from the input blob to fc2; returns the fc2 top."""
    L, P = _lp()
    x = _conv_bn(n, "conv1", data, 16, 3, 2, 1, relu=True)
    cin = 16
    for s, (cout, repeats, stride) in enumerate(STAGES, start=2):
        for r in range(1, repeats + 1):
            name = f"conv{s}_{r}"
            hidden = cin * EXPANSION
            block_in = x
            h = _conv_bn(n, name + "_expand", x, hidden, 1, 1, 0, relu=True)
            h = _conv_bn(n, name + "_dw", h, hidden, 3, stride if r == 1 else 1, 1,
                         relu=True, depthwise=True)
            h = _conv_bn(n, name + "_project", h, cout, 1, 1, 0, relu=False)
            if r > 1:
                h = L.Eltwise(block_in, h, operation=P.Eltwise.SUM)
                setattr(n, name + "_sum", h)
            x, cin = h, cout
    n.fc1 = L.InnerProduct(x, num_output=256, weight_filler=dict(type="xavier"),
                           bias_filler=dict(type="constant", value=0))
    n.fc1_relu = L.ReLU(n.fc1, in_place=True)
    n.fc1_drop = L.Dropout(n.fc1, in_place=True, dropout_ratio=0.3)
    n.fc2 = L.InnerProduct(n.fc1, num_output=10, weight_filler=dict(type="xavier"),
                           bias_filler=dict(type="constant", value=0))
    return n.fc2


def train_net(name, train_list, test_list, root_folder="", batch=64, test_batch=128):
    """NetParameter of the train/test net: multi-label ImageData (path + 10 floats)."""
    caffe = import_caffe()
    L = caffe.layers
    pb2 = caffe.proto.caffe_pb2
    n = caffe.NetSpec()
    data_kw = dict(ntop=2, transform_param=dict(scale=0.0078125, mean_value=[127.5] * 3))
    n.data, n.label = L.ImageData(
        image_data_param=dict(source=str(train_list), root_folder=str(root_folder), batch_size=batch,
                              shuffle=True, new_height=NET_INPUT, new_width=NET_INPUT),
        include=dict(phase=pb2.TRAIN), **data_kw)
    n.fc2 = _body(n, n.data)
    n.loss = L.EuclideanLoss(n.fc2, n.label, loss_weight=LOSS_WEIGHT)
    net = n.to_proto()
    net.name = name
    # A TEST-phase twin of the data layer (NetSpec cannot name two layers alike).
    test = pb2.LayerParameter()
    test.CopyFrom(net.layer[0])
    test.name = "data_test"
    test.image_data_param.source = str(test_list)
    test.image_data_param.batch_size = test_batch
    test.image_data_param.shuffle = False
    test.ClearField("include")
    test.include.add(phase=pb2.TEST)
    net.layer.insert(1, test)
    return net


def deploy_from_train(train):
    """Deploy NetParameter from a train NetParameter: data layers -> Input, loss
    and label-only layers dropped; Dropout dropped (identity at test time)."""
    caffe = import_caffe()
    pb2 = caffe.proto.caffe_pb2
    deploy = pb2.NetParameter()
    deploy.name = train.name
    data_types = {"ImageData", "Data", "HDF5Data", "MemoryData", "Input", "Python"}
    inp = deploy.layer.add(name="data", type="Input", top=["data"])
    inp.input_param.shape.add(dim=[1, 3, NET_INPUT, NET_INPUT])
    for layer in train.layer:
        if layer.type in data_types or layer.type.endswith("Loss") or layer.type in ("Dropout", "Accuracy"):
            continue
        if any(r.HasField("phase") and r.phase == pb2.TRAIN for r in layer.include):
            continue
        if "label" in layer.bottom:
            continue
        out = deploy.layer.add()
        out.CopyFrom(layer)
        out.ClearField("include")
        out.ClearField("exclude")
        # fillers mean nothing at deploy time (checked with HasField: touching a
        # sub-message would add an empty one to every layer)
        for param in ("convolution_param", "inner_product_param"):
            if out.HasField(param):
                for f in ("weight_filler", "bias_filler"):
                    getattr(out, param).ClearField(f)
    return deploy


def fold_batchnorm(deploy, weights):
    """Fold every Convolution/ConvolutionDepthwise -> BatchNorm -> Scale chain.

    deploy: NetParameter; weights: {layer name: [arrays]} (as from a caffe.Net).
    Returns (folded NetParameter, folded weights).  y = gamma * (Wx - mean) /
    sqrt(var + eps) + beta  becomes  W' = W * k, b' = (b - mean) * k + beta,
    k = gamma / sqrt(var + eps)."""
    caffe = import_caffe()
    pb2 = caffe.proto.caffe_pb2
    layers = list(deploy.layer)
    folded = pb2.NetParameter()
    folded.name = deploy.name
    new_weights = {}
    skip = set()
    for i, layer in enumerate(layers):
        if layer.name in skip:
            continue
        out = folded.layer.add()
        out.CopyFrom(layer)
        if layer.name in weights:
            new_weights[layer.name] = [np.array(w, dtype=np.float32, copy=True) for w in weights[layer.name]]
        if layer.type not in ("Convolution", "ConvolutionDepthwise"):
            continue
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        nxt2 = layers[i + 2] if i + 2 < len(layers) else None
        if not (nxt is not None and nxt.type == "BatchNorm" and nxt.bottom[0] == layer.top[0]
                and nxt2 is not None and nxt2.type == "Scale" and nxt2.bottom[0] == layer.top[0]):
            continue
        mean, var, factor = (np.array(a, dtype=np.float64) for a in weights[nxt.name])
        f = float(factor.ravel()[0])
        f = 1.0 / f if f != 0 else 0.0
        mean, var = mean * f, var * f
        eps = nxt.batch_norm_param.eps if nxt.batch_norm_param.HasField("eps") else 1e-5
        gamma, beta = (np.array(a, dtype=np.float64) for a in weights[nxt2.name][:2])
        k = gamma / np.sqrt(var + eps)
        w = np.array(weights[layer.name][0], dtype=np.float64)
        b = (np.array(weights[layer.name][1], dtype=np.float64)
             if len(weights[layer.name]) > 1 else np.zeros_like(mean))
        new_weights[layer.name] = [(w * k.reshape(-1, 1, 1, 1)).astype(np.float32),
                                   ((b - mean) * k + beta).astype(np.float32)]
        out.convolution_param.bias_term = True
        skip.update([nxt.name, nxt2.name])
    return folded, new_weights


def save_caffemodel(deploy, weights, path):
    """Write a caffemodel for `deploy` holding `weights`, through a caffe.Net."""
    import os
    import tempfile

    from .prototxt import write_text
    caffe = import_caffe()
    with tempfile.TemporaryDirectory() as tmp:
        proto = os.path.join(tmp, "net.prototxt")
        write_text(proto, deploy)
        net = caffe.Net(proto, caffe.TEST)
    for name, arrays in weights.items():
        for dst, src in zip(net.params[name], arrays):
            dst.data[...] = src.reshape(dst.data.shape)
    flush_denormals(net)
    tmp_path = str(path) + ".part"
    net.save(tmp_path)
    os.replace(tmp_path, str(path))


def unfold_batchnorm(train_net, folded_net, batches=20):
    """Load a BatchNorm-folded deploy model into a train net (conv -> BatchNorm ->
    Scale), so that training can go on from shipped weights.

    Folding lost the statistics, so they are measured again: the folded net runs
    on `batches` batches of the train net's own data, and each folded conv's
    output before its bias has per-channel mean m and variance v.  Then the
    conv keeps W', BatchNorm stores (m, v), and Scale gets gamma = sqrt(v + eps),
    beta = m + b': in TEST phase exactly the folded net, and in TRAIN phase
    (batch statistics ~ m, v) the same up to sampling noise, so BatchNorm goes
    on normalising as in training.  Returns the number of unfolded convs."""
    folded_names = list(folded_net._layer_names)
    convs = [(i, name) for i, (name, layer) in enumerate(zip(folded_names, folded_net.layers))
             if layer.type in ("Convolution", "ConvolutionDepthwise") and name + "_bn" in train_net.params]
    sums = {name: 0.0 for _, name in convs}
    squares = {name: 0.0 for _, name in convs}
    for _ in range(batches):
        train_net.forward(end="data")
        data = train_net.blobs["data"].data
        folded_net.blobs["data"].reshape(*data.shape)
        folded_net.reshape()
        folded_net.blobs["data"].data[...] = data
        start = 0
        for i, name in convs:
            folded_net._forward(start, i)   # up to the conv itself: its ReLU has not run yet
            start = i + 1
            top = folded_net.top_names[name][0]
            x = folded_net.blobs[top].data.astype(np.float64) - folded_net.params[name][1].data.reshape(1, -1, 1, 1)
            sums[name] = sums[name] + x.mean(axis=(0, 2, 3))
            squares[name] = squares[name] + (x ** 2).mean(axis=(0, 2, 3))
    for _, name in convs:
        mean = sums[name] / batches
        var = np.maximum(squares[name] / batches - mean ** 2, 0.0)
        w, b = (np.array(p.data) for p in folded_net.params[name])
        train_net.params[name][0].data[...] = w
        bn = train_net.params[name + "_bn"]
        bn[0].data[...] = mean
        bn[1].data[...] = var
        bn[2].data[...] = 1.0
        eps = 1e-5   # Caffe's default, what _conv_bn uses
        scale = train_net.params[name + "_scale"]
        scale[0].data[...] = np.sqrt(var + eps)
        scale[1].data[...] = mean + b
    for name in ("fc1", "fc2"):
        for dst, src in zip(train_net.params[name], folded_net.params[name]):
            dst.data[...] = src.data
    return len(convs)
