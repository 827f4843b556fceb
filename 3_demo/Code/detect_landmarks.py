#!/usr/bin/env python3
"""Every face of your photos: our MTCNN, then the landmark cascade on each face.

The flags: --help; the code: facecascade.commands.detect_landmarks.
"""
from facecascade.cli import run
from facecascade.commands.detect_landmarks import main

if __name__ == "__main__":
    run(main)
