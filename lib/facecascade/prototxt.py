"""Reading, checking and writing prototxt files before Caffe sees them.

Caffe CHECK-fails (SIGABRT, core dump) on an unknown layer type, a bottom no
layer produces or a missing input shape.  check_net() finds those first and
raises PrototxtError naming the file and the layer, so an edited prototxt gives
a Python error.
"""
from pathlib import Path

from google.protobuf import text_format

from .caffe_loader import import_caffe


class PrototxtError(ValueError):
    pass


def caffe_pb2():
    import_caffe()
    from caffe.proto import caffe_pb2 as pb2
    return pb2


def read_net(path):
    """Parse a net prototxt; syntax errors name the file, line and column."""
    pb2 = caffe_pb2()
    path = Path(path)
    if not path.is_file():
        raise PrototxtError(f"{path}: prototxt not found")
    net = pb2.NetParameter()
    try:
        text_format.Merge(path.read_text(), net)
    except text_format.ParseError as e:
        raise PrototxtError(f"{path}:{e}") from None
    return net


def read_solver(path):
    pb2 = caffe_pb2()
    solver = pb2.SolverParameter()
    try:
        text_format.Merge(Path(path).read_text(), solver)
    except text_format.ParseError as e:
        raise PrototxtError(f"{path}:{e}") from None
    return solver


def write_text(path, message):
    """Write a protobuf message as text, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text_format.MessageToString(message))
    tmp.replace(path)


def _in_phase(layer, phase):
    """Caffe's StateMeetsRule for the phase part of include/exclude rules."""
    if layer.include:
        return any(not r.HasField("phase") or r.phase == phase for r in layer.include)
    if layer.exclude:
        return not any(r.HasField("phase") and r.phase == phase for r in layer.exclude)
    return True


def check_net(net, where="net", phases=None):
    """Raise PrototxtError for what would make Caffe abort. `net` is a NetParameter
    or a path. Checked per phase (TRAIN and TEST unless given)."""
    if not hasattr(net, "layer"):
        where = str(net)
        net = read_net(net)
    pb2 = caffe_pb2()
    caffe = import_caffe()
    known = set(caffe.layer_type_list())
    if net.layers:
        raise PrototxtError(f"{where}: uses the V1 'layers' field; upgrade it with "
                            "upgrade_net_proto_text")
    for layer in net.layer:
        if layer.type not in known:
            raise PrototxtError(f"{where}: layer '{layer.name}': unknown layer type "
                                f"'{layer.type}' (this Caffe knows {len(known)} types, "
                                "see caffe.layer_type_list())")
    n_inputs = len(net.input)
    if n_inputs and not (len(net.input_shape) == n_inputs or len(net.input_dim) == 4 * n_inputs):
        raise PrototxtError(f"{where}: net inputs {list(net.input)} have no input_shape/input_dim")
    for phase in (phases or (pb2.TRAIN, pb2.TEST)):
        available = set(net.input)
        for layer in net.layer:
            if not _in_phase(layer, phase):
                continue
            label = f"{where}: layer '{layer.name}' (type {layer.type})"
            if layer.type == "Input" and len(layer.input_param.shape) == 0:
                raise PrototxtError(f"{label}: Input layer without input_param {{ shape {{ dim ... }} }}")
            for bottom in layer.bottom:
                if bottom not in available:
                    raise PrototxtError(f"{label}: bottom '{bottom}' is not produced by any "
                                        "earlier layer")
            for top in layer.top:
                if top in available and top not in layer.bottom:
                    raise PrototxtError(f"{label}: top '{top}' is already produced by an "
                                        "earlier layer (only in-place layers may reuse a name)")
                available.add(top)
    return net


def input_shape(net):
    """(N, C, H, W) of the first input of a deploy net."""
    for layer in net.layer:
        if layer.type == "Input":
            return tuple(layer.input_param.shape[0].dim)
    if net.input_shape:
        return tuple(net.input_shape[0].dim)
    if net.input_dim:
        return tuple(net.input_dim[:4])
    raise PrototxtError("net has no Input layer")
