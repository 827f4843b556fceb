#!/usr/bin/env python3
"""Run level 1 over a records list and write the predicted points.

The flags: --help; the code: facecascade.commands.landmark_inference.
"""
from facecascade.cli import run
from facecascade.commands.landmark_inference import main

if __name__ == "__main__":
    run(main)
