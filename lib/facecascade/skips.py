"""The one bad-input policy of every command that reads a list or a folder.

A bad item (a malformed list line, a missing or corrupt image, a non-finite value,
coincident eyes, a point outside its image) is skipped and counted with its reason and
`file:line`, printed as `skip: ...` on its own line (above any progress bar), summarised
at the end and reported in the command's JSON as {"skipped": {reason: count}}.  With
`--strict` the first one stops the run with that message (exit code 2).  What was
computed before a skip is kept; outputs are written atomically (facecascade.atomic).

    skips = Skips(strict=args.strict)
    records = read_cuhk(list_file, skips=skips)      # malformed lines skipped, counted
    img = skips.read(rec.image, where=rec.where)     # None for an unreadable image
    skips.check_face(rec, img.shape)                 # False for unusable points
    print(json.dumps({..., "skipped": skips.counts()}))
"""
import sys
from collections import Counter

import numpy as np
from tqdm import tqdm

from .images import ImageReadError, read_image

REASONS = {
    "malformed_line": "a list line that does not parse",
    "non_finite": "a NaN or infinite value",
    "empty_box": "a face box of zero or negative size",
    "unreadable_image": "an image that is missing, empty or cannot be decoded",
    "coincident_eyes": "eyes less than MIN_EYE_DISTANCE px apart (NME undefined)",
    "point_outside_image": "a point more than POINT_TOLERANCE px outside its image",
}
MIN_EYE_DISTANCE = 1.0
POINT_TOLERANCE = 1.0


class InputError(ValueError):
    """A bad input item under --strict."""


def add_strict_argument(parser):
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first bad input (malformed line, unreadable image, unusable points) "
                             "instead of skipping and counting it")
    return parser


class Skips:
    def __init__(self, strict=False, report=True):
        self.strict, self.report = strict, report
        self.messages = []          # "reason: file:line: what", in order
        self._counts = Counter()

    def __len__(self):
        return len(self.messages)

    def add(self, reason, message):
        if reason not in REASONS:
            raise ValueError(f"unknown skip reason {reason!r}")
        if self.strict:
            raise InputError(message)
        self._counts[reason] += 1
        self.messages.append(message)
        if self.report:   # through tqdm: on a line of its own under a progress bar
            tqdm.write(f"skip: {message}", file=sys.stderr)

    def counts(self):
        """{reason: count} of what was skipped, for the JSON summary."""
        return dict(sorted(self._counts.items()))

    def read(self, path, where=None):
        """read_image(path, where), or None for an unreadable image (skipped)."""
        try:
            return read_image(path, where=where)
        except ImageReadError as e:
            self.add("unreadable_image", str(e))
            return None

    def check_face(self, record, image_shape):
        """True if the record's points can be scored on this image; else skipped, False."""
        pts = record.points
        if pts is None:
            return True
        where = record.where or str(record.image)
        if not np.all(np.isfinite(pts)):
            self.add("non_finite", f"{where}: non-finite point")
            return False
        if np.linalg.norm(pts[0] - pts[1]) < MIN_EYE_DISTANCE:
            self.add("coincident_eyes", f"{where}: the eyes are {np.linalg.norm(pts[0] - pts[1]):.2f} px apart")
            return False
        h, w = image_shape[:2]
        t = POINT_TOLERANCE
        if pts[:, 0].min() < -t or pts[:, 1].min() < -t or pts[:, 0].max() > w - 1 + t or pts[:, 1].max() > h - 1 + t:
            self.add("point_outside_image", f"{where}: a point lies outside the {w}x{h} image {record.image}")
            return False
        return True

    def summary(self):
        """One line for the end of a run."""
        if not self.messages:
            return "skipped: none"
        return "skipped: " + ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in self.counts().items())
