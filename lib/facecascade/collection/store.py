"""What a collection run leaves in OUT, and how it is written (always to a temporary
name that starts with '.', then renamed: atomic_path(private=True), so readers and
reruns never see half a file):

    OUT/manifest.json                      the job: input, shard count, settings
    OUT/rows/shard-000042.part-0.parquet   the rows of shard 42 (part 1, 2, ... hold
                                           images the folder gained after part 0)
    OUT/done/shard-000042.json             done marker: digest of the shard's listing, counts
    OUT/aligned/shard-000042/<name>_<face>.png   --align: the 112x112 crops
    OUT/_listing/                          the driver's spilled listing (rebuilt each run)

Rows (SCHEMA, one per face; one per image without a face or with an error):
image (key: path relative to INPUT), status (ok, no_face, error), face (0, 1, ...; -1
without a face), box [x1, y1, x2, y2], score, onet_points and points (the cascade's)
[[x, y] x 5: image-left eye, image-right eye, nose, image-left and image-right mouth
corner], width, height (of the image; null where unknown), reason (empty unless error),
aligned (the crop's path relative to OUT, empty without --align), shard, schema_version.
Image pixels, x right, y down.  Read them all with
pyarrow.parquet.read_table("OUT/rows") or pandas.read_parquet("OUT/rows").
"""
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import atomic_path
from .listing import CollectionError, shard_name

SCHEMA_VERSION = 1
POINTS = pa.list_(pa.list_(pa.float32(), 2), 5)
SCHEMA = pa.schema([
    ("image", pa.string()), ("status", pa.string()), ("face", pa.int32()),
    ("box", pa.list_(pa.float32(), 4)), ("score", pa.float32()),
    ("onet_points", POINTS), ("points", POINTS),
    ("width", pa.int32()), ("height", pa.int32()), ("reason", pa.string()),
    ("aligned", pa.string()), ("shard", pa.int32()), ("schema_version", pa.int16()),
], metadata={"facecascade.collection.schema_version": str(SCHEMA_VERSION)})
STATUSES = ("ok", "no_face", "error")


def write_json(path, obj):
    with atomic_path(path, private=True) as tmp:
        tmp.write_text(json.dumps(obj, indent=1, sort_keys=True))


def read_json(path):
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


class CollectionStore:
    """The files of one OUT folder."""

    def __init__(self, out):
        self.out = Path(out)
        self.rows_dir, self.done_dir = self.out / "rows", self.out / "done"
        self.listing_dir = self.out / "_listing"
        self.manifest_path = self.out / "manifest.json"

    def part_path(self, shard, part):
        return self.rows_dir / f"{shard_name(shard)}.part-{part}.parquet"

    def parts(self, shard):
        """The shard's finished part files, in part order."""
        found = self.rows_dir.glob(f"{shard_name(shard)}.part-*.parquet")
        return sorted(found, key=lambda p: int(p.name.rsplit(".part-", 1)[1].split(".")[0]))

    def marker_path(self, shard):
        return self.done_dir / f"{shard_name(shard)}.json"

    def marker(self, shard):
        return read_json(self.marker_path(shard))

    def aligned_path(self, shard, name):
        return self.out / "aligned" / shard_name(shard) / name

    def write_rows(self, shard, part, rows):
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        with atomic_path(self.part_path(shard, part), private=True) as tmp:
            pq.write_table(table, tmp)

    def shard_rows(self, shard, columns=None):
        """All rows of a shard's parts (one table, SCHEMA) ."""
        tables = [pq.read_table(p, columns=columns) for p in self.parts(shard)]
        if not tables:
            return SCHEMA.empty_table() if columns is None else SCHEMA.empty_table().select(columns)
        return pa.concat_tables(tables)

    def remove_stale_temporaries(self, shard):
        """Temporary files an attempt killed before its rename left (a live attempt's may go
        too: its rename then fails and the engine retries it)."""
        for folder in (self.rows_dir, self.done_dir):
            for tmp in folder.glob(f".{shard_name(shard)}.*.part.*"):
                tmp.unlink(missing_ok=True)

    def open_manifest(self, job):
        """Create OUT/manifest.json for a new job, or check that OUT was made by this one:
        another input or other settings would mix rows of two jobs."""
        old = read_json(self.manifest_path)
        if old is None:
            write_json(self.manifest_path, job)
            return job
        was, now = flatten({k: old.get(k) for k in MANIFEST_KEYS}), flatten({k: job.get(k) for k in MANIFEST_KEYS})
        changed = [f"{k}: {was.get(k)!r} then, {now.get(k)!r} now" for k in sorted(set(was) | set(now))
                   if was.get(k) != now.get(k)]
        if changed:
            raise CollectionError(f"{self.manifest_path}: this OUT holds another job ({'; '.join(changed)}); "
                                  "give a new --out, or the first run's input and settings")
        return old


# what a rerun into OUT must share with the first run
MANIFEST_KEYS = ("input_root", "settings", "schema_version")


def flatten(tree, prefix=""):
    """{"settings": {"detector": {"min_face": 20}}} -> {"settings.detector.min_face": 20}."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def counts_of(table):
    """images, faces, no_face, errors of rows (columns image, status)."""
    status = table.column("status").to_pylist()
    return {"images": len(set(table.column("image").to_pylist())), "faces": status.count("ok"),
            "no_face": status.count("no_face"), "errors": status.count("error")}
