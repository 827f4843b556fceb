"""Reading any image a user may give us as 8-bit BGR (OpenCV's order).

Grayscale, RGBA/LA, 16-bit and float images are converted; EXIF orientation is
honoured (OpenCV's IMREAD_COLOR does that for JPEGs).  Failures raise
ImageReadError naming the file (and the list line, when the caller gives one),
never a crash deeper down.
"""
import warnings
from pathlib import Path

import cv2
import numpy as np

# the file types the command lines pick up from a folder (anything OpenCV reads works named directly)
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
LIST_EXTENSIONS = (".txt", ".lst", ".list")


class ImageReadError(ValueError):
    pass


class ImageTooLarge(ImageReadError):
    """An image over the caller's pixel limit, found from its header before decoding it
    (a 10000x10000 PNG of a few KB decodes to 300 MB)."""

    def __init__(self, message, width, height):
        super().__init__(message)
        self.width, self.height = width, height


def header_size(path):
    """(width, height) from the image file's header without decoding the pixels (Pillow
    reads headers lazily), or None where Pillow does not know the format."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns (and past twice its limit raises) on decompression bombs; the caller judges size
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS, saved = None, Image.MAX_IMAGE_PIXELS
            try:
                with Image.open(path) as im:
                    return im.size
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def to_bgr8(img, where="image"):
    """Any decoded array (H x W, H x W x 1/3/4; uint8/uint16/float) -> H x W x 3 uint8."""
    if img is None or img.size == 0:
        raise ImageReadError(f"{where}: empty image")
    if img.dtype == np.uint16:
        img = (img.astype(np.float32) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        # floats are usually 0..1, but OpenCV's own float TIFFs (LogLuv coded) come
        # back a few percent past 1; a 0..255 image peaking under 2 would be black anyway
        scale = 255.0 if np.nanmax(img) <= 2.0 else 1.0
        img = np.nan_to_num(img, nan=0.0, posinf=255.0 / scale, neginf=0.0)
        img = np.clip(img * scale + 0.5, 0, 255).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ImageReadError(f"{where}: unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3:
        raise ImageReadError(f"{where}: unsupported image shape {img.shape}")
    channels = img.shape[2]
    if channels == 1:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if channels == 2:  # gray + alpha
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return np.ascontiguousarray(img)
    if channels == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    raise ImageReadError(f"{where}: unsupported channel count {channels}")


def read_image(path, where=None, max_pixels=None):
    """Read `path` as H x W x 3 uint8 BGR.  `where` (e.g. 'list.txt:12') prefixes errors.
    max_pixels: an image of more pixels raises ImageTooLarge, judged from the header
    where Pillow reads it (before decoding), else after decoding."""
    path = Path(path)
    prefix = f"{where}: " if where else ""
    if not path.is_file():
        raise ImageReadError(f"{prefix}{path}: image not found")
    if max_pixels is not None:
        _check_pixels(header_size(path), max_pixels, f"{prefix}{path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size == 0:
        raise ImageReadError(f"{prefix}{path}: empty file")
    # IMREAD_UNCHANGED keeps 16-bit and alpha; it ignores EXIF orientation, so
    # 8-bit 3-channel images are decoded again with IMREAD_COLOR, which honours it.
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageReadError(f"{prefix}{path}: cannot decode (corrupt or not an image)")
    if img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3:
        img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    elif img.ndim >= 2:
        oriented = cv2.imdecode(data, cv2.IMREAD_COLOR)
        img = to_bgr8(img, f"{prefix}{path}")
        if oriented is not None and oriented.shape[:2] != img.shape[:2]:
            img = oriented  # EXIF rotated it; colour depth already reduced there
    if max_pixels is not None:
        _check_pixels((img.shape[1], img.shape[0]), max_pixels, f"{prefix}{path}")
    return img


def _check_pixels(size, max_pixels, where):
    if size is not None and size[0] * size[1] > max_pixels:
        width, height = size
        raise ImageTooLarge(f"{where}: {width}x{height} image, {width * height / 1e6:.1f} Mpx, over the limit "
                            f"of {max_pixels / 1e6:g} Mpx", width, height)


def list_image_inputs(arg):
    """An image, a folder (recursively, sorted) or a text list of image paths (one per line,
    relative to the list's folder, '#' comments) -> [(path, where)], where names the list
    line an image came from (the path itself otherwise), for error messages."""
    p = Path(arg)
    if p.is_dir():
        return [(f, str(f)) for f in sorted(p.rglob("*")) if f.suffix.lower() in IMAGE_EXTENSIONS]
    if p.suffix.lower() in LIST_EXTENSIONS:
        out = []
        for ln, line in enumerate(p.read_text().splitlines(), 1):
            line = line.strip()
            if line and not line.startswith("#"):
                f = Path(line.split()[0])
                out.append((f if f.is_absolute() else p.parent / f, f"{p}:{ln}"))
        return out
    return [(p, str(p))]


def write_image(path, img):
    """Write atomically (temp name, then rename) so an interrupted run leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix or ".png"
    ok, buf = cv2.imencode(ext, img)
    if not ok:
        raise ImageReadError(f"{path}: cannot encode image")
    tmp = path.with_name(path.name + ".part")
    buf.tofile(str(tmp))
    tmp.replace(path)
