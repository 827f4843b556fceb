#!/usr/bin/env python3
"""Step 5: evaluate the MTCNN detector on WIDER-format ground truth (AP, PR curve, speed).

The flags: --help; the code: facecascade.commands.mtcnn_evaluate.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_evaluate import main

if __name__ == "__main__":
    run(main)
