#!/usr/bin/env python3
"""MTCNN detection: python mtcnn/detect.py IMAGE|FOLDER|LIST [--out DIR] ...

The same command as mtcnn/4_detect/detect.py (flags: --help).
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_detect import main

if __name__ == "__main__":
    run(main)
