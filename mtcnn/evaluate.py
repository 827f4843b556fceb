#!/usr/bin/env python
"""MTCNN evaluation entry point: python mtcnn/evaluate.py --gt GT_FILE --images IMAGE_DIR [--min-face 20]

Thin wrapper over mtcnn/5_evaluate/evaluate.py (same flags; --help there).
"""
import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    script = Path(__file__).resolve().parent / "5_evaluate" / "evaluate.py"
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")
