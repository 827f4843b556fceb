#!/usr/bin/env python3
"""Step 5: where the detector loses the faces it misses, stage by stage.

The flags: --help; the code: facecascade.commands.mtcnn_diagnose.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_diagnose import main

if __name__ == "__main__":
    run(main)
