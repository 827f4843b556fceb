#!/usr/bin/env python3
"""Step 0b: negatives from the face-free photos of ../shared/data/negatives (training part only).

The flags: --help; the code: facecascade.commands.mtcnn_negatives.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_negatives import main

if __name__ == "__main__":
    run(main)
