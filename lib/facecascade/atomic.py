"""Atomic outputs: every file is written under a temporary name beside its final one and
renamed when complete, so an interrupted run leaves the old file or the new one, never
half of one.

    with atomic_path("out/model.caffemodel") as tmp:    # tmp: "out/model.caffemodel.part"
        net.save(str(tmp))
    write_text_atomic("out/metrics.json", text)
"""
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

PART_SUFFIX = ".part"


@contextmanager
def atomic_path(path, private=False):
    """Yield a temporary path beside `path` (same folder, same suffix last, so writers that
    choose a format by extension still do); on success rename it to `path`, on error remove it.
    private: a hidden name of its own (".<name>.<random>.part<suffix>"), for files that two
    attempts may write at once (a retried task) in a folder that readers list while it
    fills (pyarrow's datasets skip names that start with '.')."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if private:
        tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex}{PART_SUFFIX}{path.suffix}")
    else:
        tmp = path.with_name(f"{path.stem}{PART_SUFFIX}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path, text):
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path, data, **kw):
    write_text_atomic(path, json.dumps(data, **kw) + "\n")
