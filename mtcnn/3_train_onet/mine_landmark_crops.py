#!/usr/bin/env python3
"""Step 3a: landmark crops on the detector's own boxes, for training O-Net's points.

The flags: --help; the code: facecascade.commands.mtcnn_landmark_crops.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_landmark_crops import main

if __name__ == "__main__":
    run(main)
