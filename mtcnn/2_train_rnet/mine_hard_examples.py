#!/usr/bin/env python3
"""Step 2: hard examples for the next MTCNN stage (the previous stages' candidates, labelled by IoU).

The flags: --help; the code: facecascade.commands.mtcnn_mine.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_mine import main

if __name__ == "__main__":
    run(main)
