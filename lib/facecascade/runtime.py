"""The one way nets are loaded and run, for every backend and every model here.

    net = load_net("deploy.prototxt", "model.caffemodel", backend="auto", gpu=None)
    outputs = net.forward(batch)       # batch: N x C x H x W float32 -> {output blob name: array}

Backends (one vocabulary for every script, flag and class):
  "caffe"   pycaffe, our build (docker/build_caffe.sh); `gpu` N runs it on CUDA device N
  "onnx"    onnxruntime on the ONNX file beside the caffemodel (model.onnx, or
            model_int8.onnx with precision "int8"; onnx_export.py writes them), or on
            `weights` itself when it is an .onnx file; one thread unless `threads` says more
  "opencv"  OpenCV's dnn module on the same ONNX file (OpenCV 5 has no Caffe importer);
            on the prototxt/caffemodel with OpenCV 4 when no ONNX file was exported
  "auto"    "caffe" when our Caffe is built, else "onnx" when onnxruntime is installed,
            else "opencv"

The device is chosen once, when the net is loaded, and belongs to that net: pycaffe's
CPU/GPU mode is one process-wide switch, so a Caffe net on a GPU selects its device
before each of its forwards, and loading another net on the CPU does not move it.
"""
import importlib.util
from pathlib import Path

import numpy as np

from . import caffe_loader
from .prototxt import check_net

BACKENDS = ("auto", "caffe", "onnx", "opencv")
# Model variants of the ONNX backends: float32 (exported), int8 (onnx_quant.py, static QDQ).
PRECISIONS = ("fp32", "int8")
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
        if caffe_loader.caffe_available():
            return "caffe"
        return "onnx" if importlib.util.find_spec("onnxruntime") else "opencv"
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
        caffe_loader.select_device(self.caffe, self.gpu)

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


def model_file(weights, precision="fp32"):
    """The ONNX file the onnx and opencv backends run for a caffemodel (or an .onnx file
    given as it is)."""
    from .onnx_export import onnx_path

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    weights = Path(weights)
    return weights if weights.suffix == ".onnx" else onnx_path(weights, precision)


class OnnxNet:
    """onnxruntime on one ONNX model: intra-op threads `threads` (default 1, the speed
    figures' setting), one inter-op thread, sequential execution."""
    backend = "onnx"

    def __init__(self, prototxt, weights, gpu=None, threads=None, precision="fp32"):
        import onnxruntime as ort

        self.path = model_file(weights, precision)
        _check_files(self.path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or 1)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = ["CPUExecutionProvider"]
        if gpu is not None:
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise RuntimeError(f"--gpu {gpu}: this onnxruntime has no CUDA provider "
                                   f"(has {', '.join(ort.get_available_providers())}); install onnxruntime-gpu")
            providers = [("CUDAExecutionProvider", {"device_id": int(gpu)})] + providers
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=providers)
        except Exception as e:  # onnxruntime's Fail / InvalidGraph
            raise ValueError(f"{self.path}: onnxruntime cannot load it ({e})") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [o.name for o in self.session.get_outputs()]

    def forward(self, batch):
        outs = self.session.run(self.output_names, {self.input_name: np.ascontiguousarray(batch, dtype=np.float32)})
        return dict(zip(self.output_names, outs))


class OpenCVNet:
    backend = "opencv"

    def __init__(self, prototxt, weights, gpu=None, threads=None, precision="fp32"):
        import cv2
        path = model_file(weights, precision)
        if threads:
            cv2.setNumThreads(int(threads))   # process-wide in OpenCV
        if path.is_file():
            self.source = path
            self.net = cv2.dnn.readNetFromONNX(str(path))
        elif precision == "fp32" and hasattr(cv2.dnn, "readNetFromCaffe"):
            # OpenCV 4 on a net not exported yet (a freshly trained one)
            _check_files(prototxt, weights)
            self.source = Path(weights)
            self.net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
        else:
            raise FileNotFoundError(f"{path}: model file not found (OpenCV {cv2.__version__} reads ONNX: "
                                    "python 3_demo/Code/export_onnx.py)")
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


def load_net(prototxt, weights, backend="auto", gpu=None, threads=None, precision="fp32"):
    """A net of `backend` (see the module's docstring); threads: onnx's intra-op threads
    (default 1) or OpenCV's (cv2.setNumThreads; default: as it is); pycaffe's come from
    OPENBLAS_NUM_THREADS.  precision "int8" runs the quantised ONNX model (onnx, opencv)."""
    backend = resolve_backend(backend)
    if backend == "caffe":
        if precision != "fp32":
            raise ValueError(f"precision {precision}: the caffe backend runs the float32 caffemodel; "
                             "use --backend onnx")
        return CaffeNet(prototxt, weights, gpu)
    cls = OnnxNet if backend == "onnx" else OpenCVNet
    return cls(prototxt, weights, gpu, threads, precision)


def runtime_options(args):
    """The load_net keywords of add_runtime_arguments' flags."""
    return dict(backend=args.backend, gpu=args.gpu, threads=getattr(args, "threads", None),
                precision=getattr(args, "precision", "fp32"))


def add_runtime_arguments(parser, default="auto"):
    """--backend, --threads, --precision and --gpu, the same for every script that runs nets."""
    parser.add_argument("--backend", choices=BACKENDS, default=default,
                        help=f"runtime of the nets (default {default}): caffe = pycaffe (our build), "
                             "onnx = onnxruntime on the exported .onnx files, opencv = OpenCV's dnn on them, "
                             "auto = caffe if built")
    if "--threads" not in parser._option_string_actions:  # a bench adapter has its own (the same meaning)
        parser.add_argument("--threads", type=int, default=None, metavar="N",
                            help="threads per net for onnx (default 1) and opencv (default: OpenCV's); "
                                 "pycaffe: OPENBLAS_NUM_THREADS")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="fp32, or int8: the quantised *_int8.onnx models (onnx and opencv backends)")
    caffe_loader.add_device_arguments(parser)
    return parser
