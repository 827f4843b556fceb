#!/usr/bin/env python
"""MTCNN detection entry point: python mtcnn/detect.py IMAGE|FOLDER|LIST [--out DIR] ...

Thin wrapper over mtcnn/4_detect/detect.py (same flags; --help there).
"""
import runpy
import sys
from pathlib import Path

if __name__ == "__main__":
    script = Path(__file__).resolve().parent / "4_detect" / "detect.py"
    sys.argv[0] = str(script)
    runpy.run_path(str(script), run_name="__main__")
