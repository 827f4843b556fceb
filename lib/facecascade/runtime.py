"""The one way nets are loaded and run, for every backend and every model here.

    net = load_net("deploy.prototxt", "model.caffemodel", backend="auto", gpu=None)
    outputs = net.forward(batch)       # batch: N x C x H x W float32 -> {output blob name: array}

Backends (one vocabulary for every script, flag and class):
  "caffe"   pycaffe, our build (docker/build_caffe.sh); `gpu` N runs it on CUDA device N
  "opencv"  OpenCV's dnn module reading the same prototxt/caffemodel (it maps
            ConvolutionDepthwise to a grouped Convolution)
  "auto"    "caffe" when our Caffe is built, else "opencv"

The device is chosen once, when the net is loaded, and belongs to that net: pycaffe's
CPU/GPU mode is one process-wide switch, so a Caffe net on a GPU selects its device
before each of its forwards, and loading another net on the CPU does not move it.
"""
from pathlib import Path

import numpy as np

from . import caffe_loader
from .prototxt import check_net

BACKENDS = ("auto", "caffe", "opencv")
# The input normalisation of every net here (MTCNN's reference values too).
PIXEL_MEAN = 127.5
PIXEL_SCALE = 0.0078125


def to_blob(images):
    """List/array of H x W x 3 uint8 BGR images (same size) -> N x 3 x H x W float32."""
    arr = np.asarray(images, dtype=np.float32)
    if arr.ndim == 3:
        arr = arr[None]
    return np.ascontiguousarray(((arr - PIXEL_MEAN) * PIXEL_SCALE).transpose(0, 3, 1, 2))


def check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    return backend


def resolve_backend(backend):
    """"auto" -> the backend it stands for here."""
    if check_backend(backend) == "auto":
        return "caffe" if caffe_loader.caffe_available() else "opencv"
    return backend


def _check_files(*paths):
    for f in paths:
        if not Path(f).is_file():
            raise FileNotFoundError(f"{f}: model file not found")


class CaffeNet:
    backend = "caffe"

    def __init__(self, prototxt, weights, gpu=None):
        _check_files(prototxt, weights)
        self.caffe = caffe_loader.import_caffe()
        self.gpu = None if gpu is None else int(gpu)
        self._select_device()
        check_net(prototxt, phases=(self.caffe.TEST,))
        self.net = self.caffe.Net(str(prototxt), str(weights), self.caffe.TEST)
        self.input_name = self.net.inputs[0]
        self.output_names = list(self.net.outputs)

    def _select_device(self):
        if self.gpu is None:
            self.caffe.set_mode_cpu()
        else:
            self.caffe.set_device(self.gpu)
            self.caffe.set_mode_gpu()

    def forward(self, batch):
        self._select_device()
        blob = self.net.blobs[self.input_name]
        if blob.data.shape != batch.shape:
            blob.reshape(*batch.shape)
            self.net.reshape()
        blob.data[...] = batch
        self.net.forward()
        # copied out: the blobs are overwritten by the next forward
        return {k: np.array(self.net.blobs[k].data, copy=True) for k in self.output_names}


class OpenCVNet:
    backend = "opencv"

    def __init__(self, prototxt, weights, gpu=None):
        import cv2
        _check_files(prototxt, weights)
        self.net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
        if gpu is None:
            self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
            self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        else:
            self.net.setPreferableBackend(cv2.dnn.DNN_BACKEND_CUDA)
            self.net.setPreferableTarget(cv2.dnn.DNN_TARGET_CUDA)
        self.output_names = list(self.net.getUnconnectedOutLayersNames())

    def forward(self, batch):
        self.net.setInput(np.ascontiguousarray(batch, dtype=np.float32))
        outs = self.net.forward(self.output_names)
        return {k: np.array(v, copy=True) for k, v in zip(self.output_names, outs)}


def load_net(prototxt, weights, backend="auto", gpu=None):
    backend = resolve_backend(backend)
    if backend == "caffe":
        return CaffeNet(prototxt, weights, gpu)
    return OpenCVNet(prototxt, weights, gpu)


def add_runtime_arguments(parser, default="auto"):
    """--backend and --gpu, the same for every script that runs nets."""
    parser.add_argument("--backend", choices=BACKENDS, default=default,
                        help=f"runtime of the nets (default {default}): caffe = pycaffe (our build), "
                             "opencv = OpenCV's dnn on the same files, auto = caffe if built")
    caffe_loader.add_device_arguments(parser)
    return parser
