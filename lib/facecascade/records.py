"""Landmark data sets as downloaded -> one canonical record.

Every reader yields FaceRecord(image, points, box, where): `points` is a (5, 2)
float array of 0-based pixel coordinates in the order image-left eye,
image-right eye, nose, image-left mouth corner, image-right mouth corner;
`box` is (x1, y1, x2, y2) or None; `where` is "file:line" for messages.

Formats (see ../shared/data/README.md):
- celeba: list_landmarks_celeba.txt / list_landmarks_align_celeba.txt, with
  their two header lines (count, column names) or without (the demo list);
  optional list_bbox_celeba.txt (x_1 y_1 width height) and
  list_eval_partition.txt.
- cuhk:   path left right top bottom x1 y1 ... x5 y5  (box = x_min x_max y_min y_max).
- mtfl:   path x1 ... x5 y1 ... y5. These lists are 1-based (MATLAB): the mean
  eye midpoint of the 80x80 LFW crops is at x = 40.4, the 1-based centre
  being 40.5 and the 0-based 39.5; the reader subtracts 1.
- ours:   path v1 ... v10, the list files gen_data writes for Caffe's
  ImageData layer (points in [-1, 1] of the 48x48 image); read with
  read_label_list.
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import numpy as np

FORMATS = ("celeba", "cuhk", "mtfl")
POINT_NAMES = ("left_eye", "right_eye", "nose", "left_mouth", "right_mouth")


class LabelFormatError(ValueError):
    """A bad list line; `reason` is its facecascade.skips reason."""

    def __init__(self, message, reason="malformed_line"):
        super().__init__(message)
        self.reason = reason


@dataclass
class FaceRecord:
    image: Path
    points: Optional[np.ndarray]          # (5, 2) float64, 0-based px
    box: Optional[Tuple[float, float, float, float]] = None  # x1, y1, x2, y2
    where: str = ""
    extra: dict = field(default_factory=dict)


def _numbers(tokens, where, expected):
    if len(tokens) != expected:
        raise LabelFormatError(f"{where}: expected {expected} numbers after the image "
                               f"name, found {len(tokens)}")
    try:
        values = np.array([float(t) for t in tokens], dtype=np.float64)
    except ValueError:
        bad = next(t for t in tokens if not _is_number(t))
        raise LabelFormatError(f"{where}: '{bad}' is not a number") from None
    if not np.all(np.isfinite(values)):
        raise LabelFormatError(f"{where}: non-finite value", "non_finite")
    return values


def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _lines(path) -> Iterator[Tuple[int, List[str]]]:
    """(1-based line number, tokens) of the non-blank lines of a text file."""
    path = Path(path)
    if not path.is_file():
        raise LabelFormatError(f"{path}: list file not found")
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, line in enumerate(f, 1):
            tokens = line.split()
            if tokens:
                yield no, tokens


def _parse_lines(path, parse, skips=None):
    """parse(no, tokens, where) over the non-blank lines -> the records it returns (None: no
    record).  A bad line raises LabelFormatError, or with `skips` (facecascade.skips.Skips)
    is skipped and counted, so one bad line does not stop a list."""
    out = []
    for no, tokens in _lines(path):
        try:
            rec = parse(no, tokens, f"{path}:{no}")
        except LabelFormatError as e:
            if skips is None:
                raise
            skips.add(e.reason, str(e))
            continue
        if rec is not None:
            out.append(rec)
    return out


def _is_celeba_header(no, tokens):
    # line 1: the image count alone; line 2: column names (lefteye_x ... or image_id ...)
    if no <= 2 and len(tokens) == 1 and tokens[0].isdigit():
        return True
    return no <= 2 and not _is_number(tokens[-1])


def read_celeba(landmarks_file, images_dir=None, bbox_file=None,
                partition_file=None, partition=None, skips=None) -> List[FaceRecord]:
    """CelebA exactly as downloaded. partition: 0 train, 1 val, 2 test, or a name.
    skips: bad lines skipped and counted (facecascade.skips) instead of raising."""
    landmarks_file = Path(landmarks_file)
    images_dir = Path(images_dir) if images_dir else landmarks_file.parent

    def box_line(no, tokens, where):
        if _is_celeba_header(no, tokens):
            return None
        x, y, w, h = _numbers(tokens[1:], where, 4)
        return tokens[0], (x, y, x + w, y + h)

    boxes = dict(_parse_lines(bbox_file, box_line, skips)) if bbox_file else {}
    wanted = None
    if partition_file is not None and partition is not None:
        code = int({"train": 0, "val": 1, "test": 2}.get(str(partition), partition))

        def partition_line(no, tokens, where):
            if len(tokens) != 2 or not tokens[1].isdigit():
                raise LabelFormatError(f"{where}: expected 'name partition'")
            return tokens[0] if int(tokens[1]) == code else None

        wanted = set(_parse_lines(partition_file, partition_line, skips))

    def landmark_line(no, tokens, where):
        if _is_celeba_header(no, tokens) or (wanted is not None and tokens[0] not in wanted):
            return None
        pts = _numbers(tokens[1:], where, 10).reshape(5, 2)
        return FaceRecord(images_dir / tokens[0], pts, boxes.get(tokens[0]), where)

    return _parse_lines(landmarks_file, landmark_line, skips)


def read_cuhk(list_file, root=None, skips=None) -> List[FaceRecord]:
    list_file = Path(list_file)
    root = Path(root) if root else list_file.parent

    def line(no, tokens, where):
        v = _numbers(tokens[1:], where, 14)
        left, right, top, bottom = v[:4]
        if right <= left or bottom <= top:
            raise LabelFormatError(f"{where}: empty box (left right top bottom = {v[:4]})", "empty_box")
        return FaceRecord(root / tokens[0], v[4:].reshape(5, 2), (left, top, right, bottom), where)

    return _parse_lines(list_file, line, skips)


def read_mtfl(list_file, root=None, one_based=True, skips=None) -> List[FaceRecord]:
    list_file = Path(list_file)
    root = Path(root) if root else list_file.parent

    def line(no, tokens, where):
        # The original MTFL lists add 4 attribute fields (gender smile glasses pose).
        values = tokens[1:11] if len(tokens) == 15 else tokens[1:]
        v = _numbers(values, where, 10)
        pts = np.stack([v[:5], v[5:]], axis=1)
        return FaceRecord(root / tokens[0], pts - 1.0 if one_based else pts, None, where)

    return _parse_lines(list_file, line, skips)


def read_landmark_list(list_file, fmt, root=None, skips=None, **kw) -> List[FaceRecord]:
    """Dispatch on a format name from FORMATS."""
    if fmt == "celeba":
        return read_celeba(list_file, images_dir=root, skips=skips, **kw)
    if fmt == "cuhk":
        return read_cuhk(list_file, root, skips=skips)
    if fmt == "mtfl":
        return read_mtfl(list_file, root, skips=skips)
    raise ValueError(f"unknown format {fmt!r}; choose from {FORMATS}")


def check_points_in_image(record: FaceRecord, width, height, tolerance=1.0):
    """Points outside the image by more than `tolerance` px are a label error."""
    p = record.points
    if p is None:
        return
    if (p[:, 0].min() < -tolerance or p[:, 1].min() < -tolerance or
            p[:, 0].max() > width - 1 + tolerance or p[:, 1].max() > height - 1 + tolerance):
        raise LabelFormatError(f"{record.where}: a point lies outside the "
                               f"{width}x{height} image {record.image}")


# ---------------------------------------------------------------- our own list files
def write_label_list(path, rows):
    """rows: (relative image path, (10,) values). Written to a temp name, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        for rel, values in rows:
            f.write(rel + " " + " ".join(f"{v:.6f}" for v in np.ravel(values)) + "\n")
    tmp.replace(path)


def read_label_list(path, expected=10, skips=None):
    """Our ImageData list: [(relative path, (expected,) float array)]."""
    return _parse_lines(path, lambda no, tokens, where: (tokens[0], _numbers(tokens[1:], where, expected)), skips)


# ---------------------------------------------------------------- split files
# 0_raw_data/Code/divide_tr_te.py writes every data set, whatever its source
# format, as one canonical "records" list: image path (relative to the list's
# folder, or absolute), 10 point values (x1 y1 ... x5 y5, 0-based px), then
# the face box x1 y1 x2 y2 or four '-' when the source has none.
def write_records(path, records):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        for r in records:
            image = Path(r.image)
            try:
                image = image.resolve().relative_to(path.parent.resolve())
            except ValueError:
                image = image.resolve()
            pts = " ".join(f"{v:.3f}" for v in np.ravel(r.points))
            box = " ".join(f"{v:.2f}" for v in r.box) if r.box is not None else "- - - -"
            f.write(f"{image} {pts} {box}\n")
    tmp.replace(path)


def read_records(path, skips=None) -> List[FaceRecord]:
    path = Path(path)

    def line(no, tokens, where):
        if len(tokens) != 15:
            raise LabelFormatError(f"{where}: expected image path, 10 point values and "
                                   f"4 box values (or '- - - -'), found {len(tokens) - 1} values")
        pts = _numbers(tokens[1:11], where, 10).reshape(5, 2)
        box = None if tokens[11] == "-" else tuple(_numbers(tokens[11:15], where, 4))
        image = Path(tokens[0])
        return FaceRecord(image if image.is_absolute() else path.parent / image, pts, box, where)

    return _parse_lines(path, line, skips)
