#!/usr/bin/env python3
"""The demo: the landmark cascade (and the detector where needed) on the demo photos or yours.

The flags: --help; the code: facecascade.commands.demo.
"""
from facecascade.cli import run
from facecascade.commands.demo import main

if __name__ == "__main__":
    run(main)
