"""MTCNN's three nets as Caffe NetSpecs (train and deploy), and the training loop.

Nets (Zhang et al. 2016; PReLU everywhere):
  P-Net 12x12, fully convolutional: conv3x3 10, max-pool 3x3 s2, conv3x3 16,
        conv3x3 32, 1x1 heads: face score (2) and box offsets (4).
  R-Net 24x24: conv3x3 28, pool, conv3x3 48, pool, conv2x2 64, fc 128; score, box.
  O-Net 48x48: conv3x3 32, pool, conv3x3 64, pool, conv3x3 64, pool, conv2x2 128,
        fc 256; score, box, 5 landmarks.
Deploy layer/blob names: prob1 (scores), conv4-2 / fc5-2 / fc6-2 (boxes), fc6-3
(landmarks), as in the reference det1/det2/det3.

Losses with stock layers only (see docs/TRAINING.md, "Losses"):
  - classification: SoftmaxWithLoss with ignore_label -1; part and landmark
    samples carry label -1, so only positives and negatives count, and the loss
    is normalised by their number.  With pos_iou < 0.65 (training flag
    --pos-iou) parts whose crop has IoU >= pos_iou with its face count as
    positives too.
  - box regression: EuclideanLoss between (prediction * roi_mask) and the
    target, where roi_mask is 1 for positives/parts with a WIDER-convention
    box and 0 otherwise, and the target is already 0 there.  A masked sample
    gives exactly zero loss and zero gradient.  (EuclideanLoss divides by the
    batch size; loss weights account for the share of masked rows.)
  - landmarks: the same with pts_mask (1 for landmark samples only).
  - online hard sample mining (the paper's, opt-in: training flag --ohem K):
    before each step the batch's face scores are computed, and only the share
    K (the paper: 0.7) of the labelled samples with the highest face/non-face
    loss keep their label; the rest get -1, so SoftmaxWithLoss ignores them
    (`ohem_labels`).  Box and landmark losses are untouched, as in the paper.
"""
from pathlib import Path

INPUT_SIZE = {"pnet": 12, "rnet": 24, "onet": 48}
HEADS = {"pnet": ("conv4-1", "conv4-2", None), "rnet": ("fc5-1", "fc5-2", None),
         "onet": ("fc6-1", "fc6-2", "fc6-3")}

def _conv_layer(L, bottom, n, k):
    return L.Convolution(bottom, num_output=n, kernel_size=k, stride=1,
                         weight_filler=dict(type="xavier"), bias_filler=dict(type="constant", value=0),
                         param=[dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)])


def _fc_layer(L, bottom, n):
    return L.InnerProduct(bottom, num_output=n, weight_filler=dict(type="xavier"),
                          bias_filler=dict(type="constant", value=0),
                          param=[dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)])


def _prelu(L, bottom, in_place):
    return L.PReLU(bottom, in_place=in_place, prelu_param=dict(filler=dict(type="constant", value=0.25)))


def _dropout(n, L, name, bottom, ratio):
    """In-place Dropout named `name` when ratio > 0 (the reference det3 has one, 0.25,
    after its 256 fc); returns the top the heads read."""
    if not ratio:
        return bottom
    n[name] = L.Dropout(bottom, in_place=True, dropout_ratio=ratio)
    return n[name]


def scaled_width(channels, width):
    """A trunk layer's channel count at width factor `width` (4 at least)."""
    return max(4, int(round(channels * width)))


def _body(n, L, P, net, data, dropout=0.0, in_place=True, width=1.0):
    """Shared trunk; sets heads on NetSpec n and returns (cls, box, landmark) tops.
    dropout: ratio of a Dropout on the R-/O-Net fully connected features before the
    heads (training nets only: at test time Dropout is the identity, so deploy nets
    leave it out and the weights are the same either way).
    in_place: PReLU writes over its input (training nets: less memory).  An in-place
    PReLU copies its input on every forward, for the backward pass; deploy nets give
    each PReLU its own top instead, which spares that copy (a memory-bound pass: a
    third to a half of PReLU's time).
    width: every trunk layer's channels times this (scaled_width; the heads keep
    theirs): 1 is the reference architecture, 0.5 a net of about a third of its
    multiply-adds."""
    MAX = P.Pooling.MAX

    def _conv(L, bottom, c, k):  # a trunk layer
        return _conv_layer(L, bottom, scaled_width(c, width), k)

    def _fc(L, bottom, c):  # a trunk layer
        return _fc_layer(L, bottom, scaled_width(c, width))

    if net == "pnet":
        n["conv1"] = _conv(L, data, 10, 3)
        n["PReLU1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["PReLU1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 16, 3)
        n["PReLU2"] = _prelu(L, n["conv2"], in_place)
        n["conv3"] = _conv(L, n["PReLU2"], 32, 3)
        n["PReLU3"] = _prelu(L, n["conv3"], in_place)
        n["conv4-1"] = _conv_layer(L, n["PReLU3"], 2, 1)
        n["conv4-2"] = _conv_layer(L, n["PReLU3"], 4, 1)
        return n["conv4-1"], n["conv4-2"], None
    if net == "rnet":
        n["conv1"] = _conv(L, data, 28, 3)
        n["prelu1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["prelu1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 48, 3)
        n["prelu2"] = _prelu(L, n["conv2"], in_place)
        n["pool2"] = L.Pooling(n["prelu2"], pool=MAX, kernel_size=3, stride=2)
        n["conv3"] = _conv(L, n["pool2"], 64, 2)
        n["prelu3"] = _prelu(L, n["conv3"], in_place)
        n["conv4"] = _fc(L, n["prelu3"], 128)
        n["prelu4"] = _prelu(L, n["conv4"], in_place)
        feat = _dropout(n, L, "drop4", n["prelu4"], dropout)
        n["fc5-1"] = _fc_layer(L, feat, 2)
        n["fc5-2"] = _fc_layer(L, feat, 4)
        return n["fc5-1"], n["fc5-2"], None
    if net == "onet":
        n["conv1"] = _conv(L, data, 32, 3)
        n["prelu1"] = _prelu(L, n["conv1"], in_place)
        n["pool1"] = L.Pooling(n["prelu1"], pool=MAX, kernel_size=3, stride=2)
        n["conv2"] = _conv(L, n["pool1"], 64, 3)
        n["prelu2"] = _prelu(L, n["conv2"], in_place)
        n["pool2"] = L.Pooling(n["prelu2"], pool=MAX, kernel_size=3, stride=2)
        n["conv3"] = _conv(L, n["pool2"], 64, 3)
        n["prelu3"] = _prelu(L, n["conv3"], in_place)
        n["pool3"] = L.Pooling(n["prelu3"], pool=MAX, kernel_size=2, stride=2)
        n["conv4"] = _conv(L, n["pool3"], 128, 2)
        n["prelu4"] = _prelu(L, n["conv4"], in_place)
        n["conv5"] = _fc(L, n["prelu4"], 256)
        n["prelu5"] = _prelu(L, n["conv5"], in_place)
        feat = _dropout(n, L, "drop5", n["prelu5"], dropout)
        n["fc6-1"] = _fc_layer(L, feat, 2)
        n["fc6-2"] = _fc_layer(L, feat, 4)
        n["fc6-3"] = _fc_layer(L, feat, 10)
        return n["fc6-1"], n["fc6-2"], n["fc6-3"]
    raise ValueError(f"unknown net {net!r}: pnet, rnet or onet")


def train_netspec(caffe, net, batch, loss_weights=(1.0, 0.5, 1.0), dropout=0.0, width=1.0):
    L, P = caffe.layers, caffe.params
    s = INPUT_SIZE[net]
    n = caffe.NetSpec()
    has_lm = HEADS[net][2] is not None
    shapes = [dict(dim=[batch, 3, s, s]), dict(dim=[batch]), dict(dim=[batch, 4]), dict(dim=[batch, 4])]
    if has_lm:
        shapes += [dict(dim=[batch, 10]), dict(dim=[batch, 10])]
        n.data, n.label, n.roi, n.roi_mask, n.pts, n.pts_mask = L.Input(shape=shapes, ntop=6)
    else:
        n.data, n.label, n.roi, n.roi_mask = L.Input(shape=shapes, ntop=4)
    if dropout and net == "pnet":
        raise ValueError("dropout: P-Net has no fully connected layer (R-Net and O-Net only)")
    cls, box, lm = _body(n, L, P, net, n.data, dropout, width=width)
    n.cls_loss = L.SoftmaxWithLoss(cls, n.label, loss_param=dict(ignore_label=-1, normalize=True),
                                   loss_weight=loss_weights[0])
    n.box_flat = L.Flatten(box)
    n.box_masked = L.Eltwise(n.box_flat, n.roi_mask, operation=P.Eltwise.PROD)
    n.box_loss = L.EuclideanLoss(n.box_masked, n.roi, loss_weight=loss_weights[1])
    if has_lm:
        n.pts_masked = L.Eltwise(lm, n.pts_mask, operation=P.Eltwise.PROD)
        n.pts_loss = L.EuclideanLoss(n.pts_masked, n.pts, loss_weight=loss_weights[2])
    return n.to_proto()


def deploy_netspec(caffe, net, height=None, width=None, channel_width=1.0):
    L, P = caffe.layers, caffe.params
    s = INPUT_SIZE[net]
    n = caffe.NetSpec()
    n.data = L.Input(shape=[dict(dim=[1, 3, height or s, width or s])])
    cls, box, lm = _body(n, L, P, net, n.data, in_place=False, width=channel_width)
    n.prob1 = L.Softmax(cls)
    return n.to_proto()


def write_prototxts(caffe, net, out_dir, batch, loss_weights=(1.0, 0.5, 1.0), dropout=0.0, width=1.0):
    """train.prototxt, deploy.prototxt into out_dir; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train = out_dir / f"{net}_train.prototxt"
    deploy = out_dir / f"{net}_deploy.prototxt"
    train.write_text(f"name: \"{net}\"\n" + str(train_netspec(caffe, net, batch, loss_weights, dropout, width)))
    deploy.write_text(f"name: \"{net}\"\n" + str(deploy_netspec(caffe, net, channel_width=width)))
    return train, deploy


def write_solver(caffe, path, train_net, base_lr, max_iter, step_at, snapshot_prefix, solver_type="Adam"):
    from caffe.proto import caffe_pb2
    sp = caffe_pb2.SolverParameter()
    sp.train_net = str(train_net)
    sp.type = solver_type
    sp.base_lr = base_lr
    sp.momentum = 0.9
    sp.momentum2 = 0.999
    sp.weight_decay = 0.0005
    sp.lr_policy = "multistep"
    for s in step_at:
        sp.stepvalue.append(int(s))
    sp.gamma = 0.1
    sp.max_iter = max_iter
    sp.display = 0
    sp.snapshot = 0
    sp.snapshot_prefix = str(snapshot_prefix)
    sp.solver_mode = caffe_pb2.SolverParameter.CPU
    Path(path).write_text(str(sp))
    return path
