"""Import pycaffe from the prefix docker/build_caffe.sh installed.

    from facecascade.caffe_loader import import_caffe
    caffe = import_caffe()            # CPU mode, glog quiet
    caffe = import_caffe(gpu=0)       # GPU 0 (CUDA build only)

The prefix is, in order: $CAFFE_PREFIX, the path in <repo>/.caffe_prefix
(written by the build script), or an importable `caffe` already on sys.path.
"""
import os
import sys

from .paths import REPO_ROOT

BUILD_COMMAND = "bash docker/build_caffe.sh"
_caffe = None


class CaffeNotBuilt(ImportError):
    pass


def caffe_prefix():
    """The install prefix of our Caffe build, or None."""
    env = os.environ.get("CAFFE_PREFIX")
    if env:
        return env
    marker = REPO_ROOT / ".caffe_prefix"
    if marker.is_file():
        prefix = marker.read_text().strip()
        if os.path.isdir(os.path.join(prefix, "python", "caffe")):
            return prefix
    return None


def import_caffe(gpu=None, quiet=True):
    """Import pycaffe once (in CPU mode) and return the module; gpu N selects GPU N.

    Without gpu the mode is left as it is: pycaffe's mode is one process-wide switch,
    and a net that runs on a GPU (runtime.CaffeNet, the MTCNN) selects its device
    itself, so importing again elsewhere must not move it to the CPU."""
    global _caffe
    if _caffe is None:
        if quiet:
            # glog reads these when libcaffe loads: only errors, to stderr.
            os.environ.setdefault("GLOG_minloglevel", "2")
            os.environ.setdefault("GLOG_logtostderr", "1")
        prefix = caffe_prefix()
        if prefix:
            path = os.path.join(prefix, "python")
            if path not in sys.path:
                sys.path.insert(0, path)
        try:
            import caffe  # noqa: F401  (pycaffe)
        except ImportError as e:
            where = f"prefix {prefix}" if prefix else "no prefix recorded in .caffe_prefix"
            raise CaffeNotBuilt(
                f"pycaffe could not be imported ({where}: {e}). Build it with:\n"
                f"    cd {REPO_ROOT} && {BUILD_COMMAND}") from e
        _caffe = caffe
        _caffe.set_mode_cpu()
    if gpu is not None:
        _caffe.set_device(int(gpu))
        _caffe.set_mode_gpu()
    return _caffe


def select_device(caffe, gpu=None):
    """pycaffe's one process-wide switch: CPU (gpu None) or CUDA device gpu."""
    if gpu is None:
        caffe.set_mode_cpu()
    else:
        caffe.set_device(int(gpu))
        caffe.set_mode_gpu()


def caffe_available():
    try:
        import_caffe()
        return True
    except CaffeNotBuilt:
        return False


def add_device_arguments(parser):
    """--gpu N for every script that runs nets (default: CPU)."""
    parser.add_argument("--gpu", type=int, default=None, metavar="N",
                        help="run Caffe on GPU N (CUDA build); default: CPU")
    return parser
