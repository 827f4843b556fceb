"""The input of a collection run, streamed, and its stable shards.

INPUT is a folder (walked recursively), a list file (.txt/.lst/.list: one image per
line, relative to the list's folder, '#' comments) or a glob ('photos/**/*.jpg').  Each
image is known by its key: its path relative to the input's root, '/'-separated (an
absolute path where a list names an image outside its folder).

An image's shard is a hash of its key modulo the shard count fixed at the first run
(manifest.json): it never depends on the other files, so a shard keeps its images when
the folder gains files (the new ones land in shards of their own hash, which then run
again for those images only; worker.process_shard).

The listing is never held in memory: one streaming pass appends each key to its shard's
list file under OUT/_listing/ (a bounded buffer), and the driver reads back one shard's
list at a time.
"""
import glob
import hashlib
import json
import os
import shutil
from pathlib import Path

from ..images import IMAGE_EXTENSIONS, LIST_EXTENSIONS

GLOB_CHARS = set("*?[")
# keys buffered before they are appended to their shards' list files
SPILL_BUFFER = 10_000


class CollectionError(ValueError):
    """A collection run that cannot start: bad INPUT, or an OUT made by another job."""


def shard_of(key, n_shards):
    """The shard of an image key: a hash, so it never moves when other files come or go."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest(),
                          "big") % n_shards


def shard_name(shard):
    return f"shard-{shard:06d}"


def keys_digest(keys):
    """Digest of a shard's sorted keys (its done marker holds it: a changed listing reruns it)."""
    h = hashlib.sha1()
    for key in keys:
        h.update(key.encode("utf-8", "surrogateescape") + b"\0")
    return h.hexdigest()


class CollectionInput:
    """INPUT (a folder, a list file or a glob) -> its root and a stream of image keys.
    `exclude`: a folder never listed (OUT, when it lies inside INPUT)."""

    def __init__(self, spec, exclude=None):
        self.spec = str(spec)
        self.exclude = Path(exclude).resolve() if exclude is not None else None
        path = Path(self.spec)
        if path.is_dir():
            self.kind, self.root = "folder", path.resolve()
        elif path.is_file() and path.suffix.lower() in LIST_EXTENSIONS:
            self.kind, self.root = "list", path.parent.resolve()
        elif path.is_file():
            self.kind, self.root = "file", path.parent.resolve()
        elif GLOB_CHARS & set(self.spec):
            self.kind, self.root = "glob", glob_root(self.spec)
        else:
            raise CollectionError(f"{self.spec}: no such folder, list file or image, and not a glob pattern")

    def path_of(self, key):
        """The file of an image key (an absolute key stays as it is)."""
        return self.root / key

    def keys(self):
        """Every image key, streamed (folder order, not sorted: shards sort their own)."""
        if self.kind == "folder":
            yield from self._walk(self.root)
        elif self.kind == "list":
            yield from self._list_lines(Path(self.spec))
        elif self.kind == "file":
            yield Path(self.spec).name
        else:
            for name in glob.iglob(self.spec, recursive=True):
                if os.path.isfile(name) and not self._excluded(Path(name).resolve()):
                    yield self._key(Path(name).resolve())

    def _key(self, path):
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def _excluded(self, path):
        return self.exclude is not None and (path == self.exclude or self.exclude in path.parents)

    def _walk(self, top):
        """Files with an image extension under `top`, depth first; only the folders still to
        visit are held (os.walk would hold each folder's whole name list).  Links to
        folders are not followed (no cycles)."""
        stack = [top]
        while stack:
            folder = stack.pop()
            if self._excluded(folder):
                continue
            subfolders = []
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        subfolders.append(Path(entry.path))
                    elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                        yield self._key(Path(entry.path))
            stack.extend(sorted(subfolders, reverse=True))

    def _list_lines(self, list_path):
        with open(list_path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    name = Path(line.split()[0])
                    yield self._key(name if name.is_absolute() else Path(os.path.normpath(self.root / name)))


def glob_root(pattern):
    """The folder a glob's keys are relative to: its longest leading part without wildcards."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed).resolve() if fixed else Path.cwd()


def count_keys(source):
    return sum(1 for _ in source.keys())


def spill_listing(source, n_shards, folder):
    """Stream the listing into one list file per shard (JSON strings, one per line: any
    file name survives) under `folder`, rewritten from scratch -> lines per shard."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    counts = [0] * n_shards
    buffer, buffered = {}, 0
    for key in source.keys():
        shard = shard_of(key, n_shards)
        buffer.setdefault(shard, []).append(json.dumps(key))
        counts[shard] += 1
        buffered += 1
        if buffered >= SPILL_BUFFER:
            _flush(buffer, folder)
            buffer, buffered = {}, 0
    _flush(buffer, folder)
    return counts


def _flush(buffer, folder):
    for shard, lines in buffer.items():
        with open(folder / f"{shard_name(shard)}.txt", "a") as f:
            f.write("\n".join(lines) + "\n")


def read_shard_keys(folder, shard):
    """A shard's keys from its list file: sorted, each once (a list may repeat an image)."""
    path = Path(folder) / f"{shard_name(shard)}.txt"
    if not path.is_file():
        return []
    with open(path) as f:
        return sorted({json.loads(line) for line in f if line.strip()})
