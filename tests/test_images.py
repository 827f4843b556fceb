"""Any image a user gives: converted to 8-bit BGR, or a clear error naming the file."""
from pathlib import Path

import cv2
import numpy as np
import pytest

from facecascade.images import ImageReadError, list_image_inputs, read_image, write_image
from facecascade.skips import Skips


@pytest.fixture
def photo(test_data):
    return cv2.imread(str(test_data / "celeba_small/000054.jpg"))


def test_grayscale_rgba_and_16_bit_become_bgr8(tmp_path, photo):
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    rgba = cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)
    rgba[:, :, 3] = 128
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "deep.png"), photo.astype(np.uint16) * 257)
    for name in ("gray.png", "rgba.png", "deep.png"):
        img = read_image(tmp_path / name)
        assert img.dtype == np.uint8 and img.shape == photo.shape, name
    assert np.abs(read_image(tmp_path / "deep.png").astype(int) - photo).max() <= 1
    assert np.array_equal(read_image(tmp_path / "rgba.png"), photo)
    g = read_image(tmp_path / "gray.png")
    assert np.array_equal(g[:, :, 0], gray) and np.array_equal(g[:, :, 2], gray)


def test_float_images_become_bgr8(tmp_path, photo):
    """Float images as 0..1 (OpenCV writes 3-channel float TIFFs LogLuv coded, and they
    read back a little past 1) or as 0..255 both come out near the 8-bit photo."""
    unit = photo.astype(np.float32) / 255
    cv2.imwrite(str(tmp_path / "unit.tiff"), unit)
    assert cv2.imread(str(tmp_path / "unit.tiff"), cv2.IMREAD_UNCHANGED).max() > 1.0
    img = read_image(tmp_path / "unit.tiff")
    assert img.dtype == np.uint8 and img.shape == photo.shape
    assert np.abs(img.astype(int) - photo).mean() < 8
    wide = photo.astype(np.float32)
    wide[0, 0] = np.nan
    from facecascade.images import to_bgr8
    img = to_bgr8(wide)
    assert np.array_equal(img[1:], photo[1:]) and img[0, 0].tolist() == [0, 0, 0]


def test_exif_orientation_is_honoured(tmp_path, photo):
    """A JPEG stored landscape with EXIF orientation 6 (rotate 90 cw) reads as portrait."""
    from PIL import Image
    rgb = Image.fromarray(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    img = read_image(tmp_path / "rot.jpg")
    h, w = photo.shape[:2]
    assert img.shape[:2] == (w, h)


@pytest.mark.parametrize("content,words", [(b"", "empty file"), (b"not an image at all", "cannot decode"),
                                           (None, "not found")])
def test_bad_files_name_the_file_and_line(tmp_path, content, words):
    path = tmp_path / "bad.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImageReadError) as err:
        read_image(path, where="list.txt:12")
    assert "list.txt:12" in str(err.value) and "bad.jpg" in str(err.value) and words in str(err.value)


def test_truncated_jpeg_is_an_error_or_an_image_never_a_crash(tmp_path, photo):
    ok, buf = cv2.imencode(".jpg", photo)
    (tmp_path / "cut.jpg").write_bytes(buf.tobytes()[:200])
    try:
        img = read_image(tmp_path / "cut.jpg")
        assert img.dtype == np.uint8
    except ImageReadError as e:
        assert "cut.jpg" in str(e)


def test_write_is_atomic(tmp_path, photo):
    write_image(tmp_path / "out/a.png", photo)
    assert (tmp_path / "out/a.png").is_file()
    assert not list((tmp_path / "out").glob("*.part"))


def test_skipped_images_are_counted_reported_and_the_run_goes_on(tmp_path, photo, capsys):
    cv2.imwrite(str(tmp_path / "good.png"), photo)
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    skipped = Skips()
    got = [skipped.read(tmp_path / name, where=f"list.txt:{i}")
           for i, name in enumerate(["good.png", "bad.jpg", "missing.jpg", "good.png"], 1)]
    assert [g is None for g in got] == [False, True, True, False]
    np.testing.assert_array_equal(got[0], photo)
    assert len(skipped) == 2
    assert skipped.messages[0].startswith("list.txt:2: ") and "not found" in skipped.messages[1]
    err = capsys.readouterr().err.splitlines()
    assert err == [f"skip: {m}" for m in skipped.messages]
    quiet = Skips(report=False)
    assert quiet.read(tmp_path / "missing.jpg") is None and len(quiet) == 1
    assert capsys.readouterr().err == ""


def test_image_inputs_from_a_file_a_folder_and_a_list(tmp_path):
    (tmp_path / "photos" / "sub").mkdir(parents=True)
    for name in ("b.JPG", "sub/a.png", "notes.md"):
        (tmp_path / "photos" / name).write_bytes(b"")
    # a folder: its images, recursively, sorted; other files left out
    assert list_image_inputs(tmp_path / "photos") == [(tmp_path / "photos" / n, str(tmp_path / "photos" / n))
                                                      for n in ("b.JPG", "sub/a.png")]
    # a list: paths relative to the list's folder, comments and blank lines skipped, each
    # image named by its list line for error messages
    (tmp_path / "list.txt").write_text("# my photos\nphotos/b.JPG 1 2\n\n/abs/c.jpg\n")
    assert list_image_inputs(tmp_path / "list.txt") == [(tmp_path / "photos/b.JPG", f"{tmp_path / 'list.txt'}:2"),
                                                        (Path("/abs/c.jpg"), f"{tmp_path / 'list.txt'}:4")]
    assert list_image_inputs(tmp_path / "one.webp") == [(tmp_path / "one.webp", str(tmp_path / "one.webp"))]


def test_point_dots_stay_smaller_than_a_small_face():
    from facecascade.drawing import draw_points
    face = np.array([[0.0, 0.0], [4, 0], [2, 2], [0, 4], [4, 4]])     # a 10 px face's points, 4 px apart
    small = draw_points(np.zeros((1000, 1000, 3), np.uint8), face * 1 + 500)
    large = draw_points(np.zeros((1000, 1000, 3), np.uint8), face * 50 + 300)
    # the image's size alone gives both radius 5: the small face's dots merge into one blot of 243 px
    assert np.count_nonzero(small[..., 1]) <= 5 * 12                     # five dots of radius 1 (anti-aliased)
    assert np.count_nonzero(large[..., 1]) > 5 * 60                     # five dots of radius 5
    nan = draw_points(np.zeros((100, 100, 3), np.uint8), np.full((5, 2), np.nan))
    assert not nan.any()
