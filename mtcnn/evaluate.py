#!/usr/bin/env python3
"""MTCNN evaluation: python mtcnn/evaluate.py --gt GT_FILE --images IMAGE_DIR [--min-face 20]

The same command as mtcnn/5_evaluate/evaluate.py (flags: --help).
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_evaluate import main

if __name__ == "__main__":
    run(main)
