#!/usr/bin/env python3
"""Step 4: detect faces with our MTCNN on an image, a folder or a list file.

The flags: --help; the code: facecascade.commands.mtcnn_detect.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_detect import main

if __name__ == "__main__":
    run(main)
