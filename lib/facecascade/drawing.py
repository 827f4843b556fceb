"""Drawing points, boxes and plots (PNG via matplotlib's Agg backend)."""
import cv2
import numpy as np

GREEN, RED, BLUE, YELLOW = (0, 255, 0), (0, 0, 255), (255, 0, 0), (0, 255, 255)  # BGR


def draw_points(img, points, color=GREEN, radius=None):
    """Draw 5 points in place; radius scales with the image when not given."""
    radius = radius or max(1, int(round(max(img.shape[:2]) / 200)))
    for x, y in np.asarray(points, dtype=np.float64).reshape(-1, 2):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, (int(round(x)), int(round(y))), radius, color, -1, cv2.LINE_AA)
    return img


def draw_box(img, box, color=YELLOW, text=None, thickness=None):
    thickness = thickness or max(1, int(round(max(img.shape[:2]) / 400)))
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cv2.rectangle(img, (x1, y1), (x2, y2), color, thickness)
    if text:
        cv2.putText(img, text, (x1, max(0, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, color, thickness, cv2.LINE_AA)
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
