"""Drawing points, boxes and plots (PNG via matplotlib's Agg backend)."""
import cv2
import numpy as np

GREEN, RED, BLUE, YELLOW = (0, 255, 0), (0, 0, 255), (255, 0, 0), (0, 255, 255)  # BGR


def draw_points(img, points, color=GREEN, radius=None):
    """Draw 5 points in place.  Without a radius it scales with the image, but stays
    under a tenth of the points' own spread, so that the dots of a small face in a
    large photo do not cover the face."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not radius:
        finite = np.isfinite(pts).all(axis=1)
        spread = np.ptp(pts[finite], axis=0).max() if finite.any() else np.inf
        radius = max(1, int(round(min(max(img.shape[:2]) / 200, spread / 10))))
    for x, y in pts:
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, (int(round(x)), int(round(y))), radius, color, -1, cv2.LINE_AA)
    return img


def draw_box(img, box, color=YELLOW, text=None, thickness=None):
    """Draw a box in place, with `text` above it.  The line and the text scale with the
    image, the text no wider than about the box (small faces in crowds stay readable)."""
    thickness = thickness or max(1, int(round(max(img.shape[:2]) / 400)))
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(img, (x1, y1), (x2, y2), color, thickness)
    if text:
        # FONT_HERSHEY_SIMPLEX is about 20 px per character at scale 1
        scale = max(0.3, min(0.4 * thickness, 1.5 * (x2 - x1) / (20 * len(text))))
        weight = max(1, min(thickness, int(round(scale / 0.4))))
        cv2.putText(img, text, (x1, max(0, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale, color, weight,
                    cv2.LINE_AA)
    return img


def montage(images, columns=8, scale=2):
    """Tile same-sized images into one (for checking generated samples)."""
    images = [cv2.resize(i, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST) for i in images]
    h, w = images[0].shape[:2]
    rows = (len(images) + columns - 1) // columns
    out = np.zeros((rows * h, columns * w, 3), np.uint8)
    for k, im in enumerate(images):
        r, c = divmod(k, columns)
        out[r * h:(r + 1) * h, c * w:(c + 1) * w] = im
    return out


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path):
    from pathlib import Path
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)
    pyplot().close(fig)
