#!/usr/bin/env python3
"""Evaluate level 1 and the cascade on any landmark list (NME, failure, CED).

The flags: --help; the code: facecascade.commands.landmark_evaluate.
"""
from facecascade.cli import run
from facecascade.commands.landmark_evaluate import main

if __name__ == "__main__":
    run(main)
