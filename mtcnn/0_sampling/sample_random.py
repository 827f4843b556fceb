#!/usr/bin/env python3
"""Step 0: random MTCNN training crops (12, 24 or 48 px) from the shared data.

The flags: --help; the code: facecascade.commands.mtcnn_sample.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_sample import main

if __name__ == "__main__":
    run(main)
