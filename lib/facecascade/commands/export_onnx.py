"""Export the shipped nets to ONNX (and int8), beside their caffemodels, and check them.

    python 3_demo/Code/export_onnx.py              # l1, l2, det1-3 -> <caffemodel>.onnx
    python 3_demo/Code/export_onnx.py --int8       # ... and <caffemodel>_int8.onnx

Each net is read from its deploy prototxt and caffemodel (facecascade.onnx_export) and
checked against pycaffe on real inputs: the crops and pyramid levels the cascade and the
detector make of the shipped demo images (3_demo/Data); the largest |difference| of each
output is printed, and one over --tolerance (1e-4) fails the command.  --int8 calibrates
on training images (cuhk train, wider_train: facecascade.onnx_quant) and writes the
quantised models.  Run it again whenever a caffemodel changes (tests/test_onnx.py fails
while an ONNX file is stale).  The last line printed is one JSON object.
"""
import argparse
import json
import sys

from facecascade.onnx_export import (
    LANDMARK_NETS,
    SHIPPED_NETS,
    caffe_to_onnx,
    compare_with_caffe,
    onnx_path,
    save_model,
)
from facecascade.paths import DEMO_DATA

TOLERANCE = 1e-4
DEMO_CUHK = DEMO_DATA / "cuhk" / "test_net7876_demo.txt"
DEMO_PHOTOS = DEMO_DATA / "celeba"


def real_inputs(photos=None):
    """{net: [input batches]} made of real images as the cascade and detector see them: the
    faces of the demo cuhk list, and `photos` of the demo photos (default all 8)."""
    from facecascade.onnx_quant import detector_calibration, landmark_calibration

    return {**landmark_calibration(faces=10**6, list_file=DEMO_CUHK),
            **detector_calibration(images=photos or 10**6, folder=DEMO_PHOTOS)}


def main(argv=None, doc=None):
    ap = argparse.ArgumentParser(description=doc or __doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nets", nargs="+", choices=list(SHIPPED_NETS), default=list(SHIPPED_NETS))
    ap.add_argument("--int8", action="store_true", help="also write the int8 models (calibration: about a minute)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE, help="max |pycaffe - onnx| (default %(default)g)")
    args = ap.parse_args(argv)

    report = {}
    for name in args.nets:
        proto, weights, dynamic = SHIPPED_NETS[name]
        path = save_model(caffe_to_onnx(proto, weights, dynamic_hw=dynamic), onnx_path(weights))
        report[name] = {"onnx": str(path), "bytes": path.stat().st_size}
    inputs = real_inputs()
    failed = []
    for name in args.nets:
        proto, weights, _ = SHIPPED_NETS[name]
        diffs = compare_with_caffe(proto, weights, onnx_path(weights), inputs[name])
        report[name]["max_abs_diff"] = diffs
        ok = max(diffs.values()) <= args.tolerance
        failed += [] if ok else [name]
        print(f"{name}: {report[name]['onnx']} ({report[name]['bytes']:,} bytes); max |pycaffe - onnxruntime| "
              f"on {sum(len(b) for b in inputs[name])} real inputs: "
              f"{', '.join(f'{k} {v:.2g}' for k, v in diffs.items())}{'' if ok else '  FAILED'}")
    if args.int8:
        from facecascade.onnx_quant import QUANTIZED_OPS, detector_calibration, landmark_calibration, quantize

        calib = {}
        if set(LANDMARK_NETS) & set(args.nets):
            calib.update(landmark_calibration())
        if {"det1", "det2", "det3"} & set(args.nets):
            calib.update(detector_calibration())
        for name in args.nets:
            weights = SHIPPED_NETS[name][1]
            path = quantize(onnx_path(weights), onnx_path(weights, "int8"), calib[name], QUANTIZED_OPS.get(name))
            report[name].update(int8=str(path), int8_bytes=path.stat().st_size,
                                calibration_inputs=sum(len(b) for b in calib[name]))
            print(f"{name}: {path} ({path.stat().st_size:,} bytes, calibrated on "
                  f"{report[name]['calibration_inputs']} training inputs)")
    print(json.dumps({"nets": report, "failed": failed, "tolerance": args.tolerance}))
    if failed:
        sys.exit(f"ONNX export differs from pycaffe by more than {args.tolerance:g}: {', '.join(failed)}")
