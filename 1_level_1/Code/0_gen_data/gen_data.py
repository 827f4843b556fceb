#!/usr/bin/env python3
"""Level-1 training data: each face's region -> 48x48 PNG + list line.

The flags: --help; the code: facecascade.commands.landmark_data.
"""
from facecascade.cli import run
from facecascade.commands.landmark_data import main

if __name__ == "__main__":
    run(main)
