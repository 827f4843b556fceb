"""Reader for WIDER FACE ground-truth files (wider_face_*_bbx_gt.txt format).

    name.jpg                  (relative to the images folder)
    N                         (number of faces)
    x1 y1 w h blur expression illumination invalid occlusion pose   (N lines)

An image without faces has N = 0 followed by one line of zeros (or N = 1 with a
zero-size box).  Errors name file:line.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class WiderFormatError(ValueError):
    pass


# The face attributes of a ground-truth line: their column in WiderImage.attributes and
# their values (blur 0 clear / 1 normal / 2 heavy; expression 0 typical / 1 exaggerated;
# illumination 0 normal / 1 extreme; occlusion 0 none / 1 partial / 2 heavy; pose 0 typical
# / 1 atypical).  Column 3 is the "invalid" flag, kept as WiderImage.invalid.
WIDER_ATTRIBUTES = {"blur": 0, "expression": 1, "illumination": 2, "occlusion": 4, "pose": 5}


@dataclass
class WiderImage:
    name: str                       # path relative to the images folder
    boxes: np.ndarray               # (N, 4) float x1 y1 x2 y2
    invalid: np.ndarray             # (N,) bool: the official "invalid" flag
    attributes: np.ndarray = field(default=None)  # (N, 6) int blur .. pose
    line: int = 0                   # 1-based line of the name in the file

    def attribute(self, name):
        """(N,) int values of one WIDER_ATTRIBUTES attribute (0 where the record has none)."""
        if self.attributes is None:
            return np.zeros(len(self.boxes), np.int64)
        return self.attributes[:, WIDER_ATTRIBUTES[name]]


def read_wider(path):
    """Parse a WIDER ground-truth file -> list of WiderImage."""
    path = Path(path)
    if not path.is_file():
        raise WiderFormatError(f"{path}: ground-truth file not found")
    lines = path.read_text().splitlines()
    out = []
    i = 0
    n_lines = len(lines)
    while i < n_lines:
        name = lines[i].strip()
        if not name:
            i += 1
            continue
        name_line = i + 1
        if i + 1 >= n_lines:
            raise WiderFormatError(f"{path}:{name_line}: image name {name!r} without a face count")
        try:
            count = int(lines[i + 1].strip())
        except ValueError:
            raise WiderFormatError(
                f"{path}:{i + 2}: expected the face count of {name!r}, got {lines[i + 1].strip()!r}") from None
        if count < 0:
            raise WiderFormatError(f"{path}:{i + 2}: negative face count {count}")
        n_rows = max(count, 1)  # a count of 0 is followed by one line of zeros
        if i + 2 + n_rows > n_lines:
            raise WiderFormatError(f"{path}:{i + 2}: {name!r} announces {count} faces but the file ends")
        rows = []
        for k in range(n_rows):
            ln = i + 2 + k
            parts = lines[ln].split()
            if len(parts) < 4:
                raise WiderFormatError(f"{path}:{ln + 1}: expected 'x1 y1 w h ...', got {lines[ln].strip()!r}")
            try:
                vals = [float(v) for v in parts[:10]]
            except ValueError:
                raise WiderFormatError(f"{path}:{ln + 1}: non-numeric field in {lines[ln].strip()!r}") from None
            vals += [0.0] * (10 - len(vals))
            rows.append(vals)
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, 10)
        if count == 0:
            rows = rows[:0]
        keep = (rows[:, 2] > 0) & (rows[:, 3] > 0)  # zero-size placeholder rows
        rows = rows[keep]
        boxes = rows[:, :4].copy()
        boxes[:, 2] += boxes[:, 0]
        boxes[:, 3] += boxes[:, 1]
        out.append(WiderImage(name=name, boxes=boxes, invalid=rows[:, 7] > 0,
                              attributes=rows[:, 4:10].astype(np.int64), line=name_line))
        i += 2 + n_rows
    return out


def write_wider(path, records):
    """Write records (name, boxes (N, 4) xyxy) in the WIDER ground-truth format, or
    (name, boxes, scores (N,)) in the WIDER prediction format (x y w h score a line,
    what the WIDER FACE evaluation code reads per image; an image without boxes gets
    one line of zeros, as in the ground truth)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        for name, boxes, *scores in records:
            boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
            f.write(f"{name}\n{len(boxes)}\n")
            if scores:
                if len(boxes) == 0:
                    f.write("0 0 0 0 0\n")       # as in the ground truth: read_wider reads both
                for b, score in zip(boxes, np.asarray(scores[0], dtype=np.float64).reshape(-1)):
                    f.write(f"{b[0]:.1f} {b[1]:.1f} {b[2] - b[0]:.1f} {b[3] - b[1]:.1f} {score:.4f}\n")
                continue
            if len(boxes) == 0:
                f.write("0 0 0 0 0 0 0 0 0 0 \n")
            for b in boxes:
                f.write(f"{int(round(b[0]))} {int(round(b[1]))} {int(round(b[2] - b[0]))} "
                        f"{int(round(b[3] - b[1]))} 0 0 0 0 0 0 \n")
    tmp.replace(path)
