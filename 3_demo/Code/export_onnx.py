#!/usr/bin/env python3
"""The shipped nets (l1, l2, det1-3) as ONNX beside their caffemodels, checked against pycaffe; --int8 too.

The flags: --help; the code: facecascade.commands.export_onnx.
"""
from facecascade.cli import run
from facecascade.commands.export_onnx import main

if __name__ == "__main__":
    run(main)
