#!/usr/bin/env python3
"""Step 5: the cascade's points on our detector's boxes against O-Net's own.

The flags: --help; the code: facecascade.commands.mtcnn_compare_landmarks.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_compare_landmarks import main

if __name__ == "__main__":
    run(main)
