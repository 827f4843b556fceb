#!/usr/bin/env python3
"""Every face and its refined 5 points for a whole photo collection, on all cores (a local
Dask cluster) or on a Dask cluster (--scheduler), resumable, each image exactly once.

  python 3_demo/Code/process_collection.py photos/ --out /data/faces
  python 3_demo/Code/process_collection.py 'photos/**/*.jpg' --out /data/faces --scheduler tcp://HOST:8786

Full help: --help; the library: facecascade.collection.
"""
from facecascade.cli import run
from facecascade.commands.process_collection import main

if __name__ == "__main__":
    run(main)
