#!/usr/bin/env python3
"""Export the shipped nets (l1, l2, det1-3) to ONNX beside their caffemodels and check
them against pycaffe on real inputs; --int8 also writes the quantised models
(<model>_int8.onnx, calibrated on training images).

  python 3_demo/Code/export_onnx.py
  python 3_demo/Code/export_onnx.py --int8

The last line printed is one JSON object (files, sizes, max |pycaffe - onnxruntime|).
"""
from facecascade.cli import run
from facecascade.commands.export_onnx import main

if __name__ == "__main__":
    run(main, doc=__doc__)
