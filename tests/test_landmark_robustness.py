"""The robustness augmentations of facecascade.datagen and the de-rotated level 2,
on real photos: the points must go where the face goes.

Augmented samples are checked by painting five coloured discs on a real face at
its five points: in every 48x48 sample, the pixel under label k must be closest
to the colour of the disc that label belongs to (label k's own colour, or the
colour of its mirror point in a flipped sample)."""
import numpy as np
import pytest

from facecascade import datagen
from facecascade import geometry as geo
from facecascade.cascade import LandmarkCascade
from facecascade.images import read_image
from facecascade.metrics import nme_per_face
from facecascade.records import read_cuhk

COLOURS = np.array([[0, 0, 255], [0, 255, 0], [255, 0, 0], [0, 255, 255], [255, 0, 255]], dtype=np.float64)


@pytest.fixture(scope="module")
def cuhk_faces(shared_data):
    records = read_cuhk(shared_data / "cuhk_facepoint" / "test_net7876.txt")
    return [(r, read_image(r.image)) for r in records[:6]]


def painted(image, points):
    import cv2
    out = image.copy()
    radius = max(2, int(0.15 * np.linalg.norm(points[0] - points[1])))
    for p, c in zip(points, COLOURS):
        cv2.circle(out, (int(round(p[0])), int(round(p[1]))), radius, c.tolist(), -1)
    return out


def colour_at(img, unit):
    """Index of the disc colour nearest to the pixel under each unit point."""
    uv = (np.asarray(unit) + 1) * geo.NET_INPUT / 2 - 0.5
    out = []
    for x, y in uv:
        px = img[int(np.clip(round(y), 0, geo.NET_INPUT - 1)), int(np.clip(round(x), 0, geo.NET_INPUT - 1))]
        out.append(int(np.argmin(np.linalg.norm(COLOURS - px, axis=1))))
    return np.array(out)


def test_rotate_image_quarter_turn_moves_pixels_and_points(cuhk_faces):
    rec, img = cuhk_faces[0]
    h, w = img.shape[:2]
    out, pts, _ = datagen.rotate_image(img, rec.points, 90)
    # a quarter turn clockwise is a pixel permutation: (x, y) -> (h - 1 - y, x)
    assert out.shape == (w, h, 3)
    assert np.abs(out.astype(int) - np.rot90(img, -1).astype(int)).max() <= 1
    np.testing.assert_allclose(pts, np.stack([h - 1 - rec.points[:, 1], rec.points[:, 0]], 1), atol=1e-6)
    assert geo.eye_line_degrees(pts) == pytest.approx(geo.eye_line_degrees(rec.points) + 90, abs=1e-6)


@pytest.mark.parametrize("full_rotation", [0.0, 1.0])
def test_level1_samples_points_follow_the_face(cuhk_faces, full_rotation):
    """Rotated anywhere on the circle (or upright), flipped or not, JPEG-coded and
    shrunk: every label lies on its own disc (its mirror's after a flip)."""
    cfg = datagen.AugmentConfig(samples_per_face=12, full_rotation=full_rotation, jpeg=0.5,
                                jpeg_quality_min=40, lowres=0.5, lowres_iod_min=24, point_frame_fraction=0.3,
                                whole_fraction=0.0)   # whole 400 px images shrink the discs to a pixel
    rng = np.random.default_rng(0)
    flipped = upright = 0
    angles = []
    for rec, img in cuhk_faces[:3]:
        for sample, unit in datagen.make_samples(painted(img, rec.points), rec, 1, cfg, rng):
            seen = colour_at(sample, unit)
            if (seen == np.arange(5)).all():
                upright += 1
            else:
                assert (seen == geo.FLIP_ORDER).all(), seen
                flipped += 1
            angles.append(geo.eye_line_degrees(unit))
    assert flipped > 5 and upright > 5
    if full_rotation:
        assert np.ptp(angles) > 180      # the labels turn with the face
    else:
        assert np.abs(angles).max() < 25


def test_flip_swaps_left_and_right(cuhk_faces):
    rec, img = cuhk_faces[1]
    cfg = datagen.AugmentConfig(samples_per_face=16, max_rotation=0.0)
    for sample, unit in datagen.make_samples(painted(img, rec.points), rec, 1, cfg, np.random.default_rng(3)):
        assert unit[0, 0] < unit[1, 0] and unit[3, 0] < unit[4, 0]   # still image-left first
    mirrored = geo.flip_unit(unit)
    np.testing.assert_allclose(mirrored[0], [-unit[1, 0], unit[1, 1]])
    np.testing.assert_allclose(mirrored[3], [-unit[4, 0], unit[4, 1]])


def test_grayscale_gives_three_equal_channels(cuhk_faces):
    rec, img = cuhk_faces[2]
    assert np.ptp(img.astype(int), axis=2).max() > 20      # a colour photo to start with
    gray = datagen.grayscale(img)
    assert gray.shape == img.shape
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    cfg = datagen.AugmentConfig(samples_per_face=4, grayscale=1.0)
    for sample, _ in datagen.make_samples(img, rec, 1, cfg, np.random.default_rng(0)):
        assert (sample[..., 0] == sample[..., 2]).all()


def test_degradations_keep_the_points(cuhk_faces):
    rec, img = cuhk_faces[3]
    p = rec.points
    iod = np.linalg.norm(p[0] - p[1])
    small = datagen.downscale_to_iod(img, p, 12)
    assert small.shape == img.shape and np.abs(small.astype(int) - img).mean() > 1
    assert datagen.downscale_to_iod(img, p, 2 * iod) is img          # never enlarged
    coded = datagen.jpeg_reencode(img, 15)
    assert coded.shape == img.shape and np.abs(coded.astype(int) - img).mean() > 0.5
    for part, covered, free in (("eye", [0], [3, 4]), ("mouth", [3, 4], [0, 1])):
        out = datagen.draw_occluder(img, datagen.occluder_polygon(p, part), (7, 200, 9))
        for k in covered:
            assert tuple(out[int(round(p[k, 1])), int(round(p[k, 0]))]) == (7, 200, 9)
        for k in free:
            assert (out[int(round(p[k, 1])), int(round(p[k, 0]))] == img[int(round(p[k, 1])), int(round(p[k, 0]))]).all()
    # and in samples with every degradation on, the labels stay on their discs
    cfg = datagen.AugmentConfig(samples_per_face=8, flip=False, max_rotation=0.0, jpeg=1.0, jpeg_quality_min=30,
                                whole_fraction=0.0,
                                lowres=1.0, lowres_iod_min=20, lowres_iod_max=25)
    for sample, unit in datagen.make_samples(painted(img, p), rec, 1, cfg, np.random.default_rng(1)):
        assert (colour_at(sample, unit) == np.arange(5)).all()


def test_level2_derotated_crop_is_upright_and_maps_back(cuhk_faces):
    rec, img = cuhk_faces[4]
    turned, pts, _ = datagen.rotate_image(img, rec.points, 120)
    h, w = turned.shape[:2]
    m, region, angle, _ = geo.level2_crop(pts, w, h, geo.L2_HALF_FACTOR, geo.L2_SCALE, derotate=True)
    assert angle == pytest.approx(geo.eye_line_degrees(rec.points) + 120 - 360 * (angle < 0), abs=1e-6)
    crop_pts = geo.apply_affine(m, pts)
    assert abs(geo.eye_line_degrees(crop_pts)) < 1e-6                 # eyes level in the crop
    unit = geo.net_to_unit(crop_pts)
    np.testing.assert_allclose(geo.unit_to_image(m, unit), pts, atol=1e-6)
    # the same crop of the upright face, up to interpolation
    m0, *_ = geo.level2_crop(rec.points, img.shape[1], img.shape[0], geo.L2_HALF_FACTOR, geo.L2_SCALE,
                             derotate=True)
    a, b = geo.warp(turned, m, 48).astype(int), geo.warp(img, m0, 48).astype(int)
    assert np.abs(a - b).mean() < 6


@pytest.mark.parametrize("angle", [0, 75, 180, -120])
def test_upright_frame_turns_a_face_at_any_roll_upright(cuhk_faces, angle):
    rec, img = cuhk_faces[2]
    turned, pts, _ = datagen.rotate_image(img, rec.points, angle)
    m, turned_by = geo.upright_frame(pts, 2.3)
    assert turned_by == pytest.approx(geo.eye_line_degrees(pts))
    crop_pts = geo.apply_affine(m, pts)
    assert abs(geo.eye_line_degrees(crop_pts)) < 1e-6                 # eyes level
    assert crop_pts[0, 0] < crop_pts[1, 0] and crop_pts[2, 1] < crop_pts[3, 1]   # and not upside down
    np.testing.assert_allclose(crop_pts.mean(0), [23.5, 23.5], atol=1e-4)       # centroid in the middle
    radius = np.linalg.norm(crop_pts - crop_pts.mean(0), axis=1).max()
    assert radius == pytest.approx(geo.NET_INPUT / (2 * 2.3), rel=1e-5)
    np.testing.assert_allclose(geo.unit_to_image(m, geo.net_to_unit(crop_pts)), pts, atol=1e-4)
    assert geo.upright_frame(np.ones((5, 2)), 2.3) is None                     # degenerate guess


def test_old_model_card_keeps_axis_aligned_level2(tmp_path):
    from facecascade.cascade import read_settings
    card = tmp_path / "cascade.json"
    card.write_text('{"box_margin": 0.15, "l2_half_factor": 1.35, "l2_scale": "points"}')
    assert read_settings(card)["l2_derotate"] is False
    card.write_text('{"box_margin": 0.15, "l2_half_factor": 1.35, "l2_scale": "points", "l2_derotate": true}')
    assert read_settings(card)["l2_derotate"] is True


@pytest.fixture(scope="module")
def shipped_cascade(caffe):
    return LandmarkCascade.from_shipped(backend="caffe")


# The shipped cascade on turned and on gray cuhk test photos (the first 6 faces of the
# list; bench/landmark_robustness.py measures them all).  Measured 2026-12-07: mean NME
# 4.0 % (+30 deg) and 4.4 % (-30 deg); 8.4 % and 8.9 % when level 2 ran on axis-aligned
# crops (the models shipped before the de-rotation); gray 4.2 %.
ROTATED_ANGLE = 30
ROTATED_MAX_NME = 0.065
GRAY_MAX_NME = 0.07


def _box_turned(box, matrix):
    x1, y1, x2, y2 = box
    cx, cy = geo.apply_affine(matrix, [[(x1 + x2) / 2, (y1 + y2) / 2]])[0]
    return (cx - (x2 - x1) / 2, cy - (y2 - y1) / 2, cx + (x2 - x1) / 2, cy + (y2 - y1) / 2)


def _turned_faces(cuhk_faces, angle):
    """The faces' images turned by angle -> images, their boxes turned with them, points."""
    images, boxes, gt = [], [], []
    for rec, img in cuhk_faces:
        turned, pts, m = datagen.rotate_image(img, rec.points, angle)
        images.append(turned)
        boxes.append(_box_turned(rec.box, m))
        gt.append(pts)
    return images, boxes, gt


@pytest.mark.parametrize("angle", [ROTATED_ANGLE, -ROTATED_ANGLE])
def test_cascade_finds_the_points_of_a_rotated_photo(cuhk_faces, shipped_cascade, angle):
    images, boxes, gt = _turned_faces(cuhk_faces, angle)
    res = shipped_cascade.predict_batch(images, boxes)
    nme = nme_per_face(np.array([r.points for r in res]), np.array(gt))
    assert nme.mean() < ROTATED_MAX_NME, nme
    # level 2 saw the faces upright: its crop turned with them
    assert np.median([abs(r.l2_angle) for r in res]) > abs(angle) / 2


def test_cascade_finds_the_points_of_a_grayscale_photo(cuhk_faces, shipped_cascade):
    images = [datagen.grayscale(img) for _, img in cuhk_faces]
    res = shipped_cascade.predict_batch(images, [rec.box for rec, _ in cuhk_faces])
    nme = nme_per_face(np.array([r.points for r in res]), np.array([rec.points for rec, _ in cuhk_faces]))
    assert nme.mean() < GRAY_MAX_NME, nme


def test_unfolded_shipped_level1_trains_from_where_the_folded_one_stands(caffe, tmp_path, test_data):
    """unfold.py: the shipped (BatchNorm-folded) level 1 as train-net weights gives
    the folded model's outputs in TEST phase, and nearly so in TRAIN phase
    (batch statistics), so fine-tuning starts from the shipped model."""
    from facecascade import landmark_net as ln
    from facecascade.paths import DEMO_DATA
    from facecascade.prototxt import write_text
    from facecascade.records import read_celeba
    from facecascade.training import unfold_deploy_model
    recs = read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    data = tmp_path / "Data"
    cfg = datagen.AugmentConfig(samples_per_face=16, whole_fraction=0.0)
    datagen.generate(recs, data, "l1_train.txt", 1, cfg, seed=0, progress=False)
    datagen.generate(recs, data, "l1_test.txt", 1, cfg, seed=1, progress=False)
    write_text(tmp_path / "net.prototxt", ln.train_net("l1", data / "l1_train.txt", data / "l1_test.txt",
                                                      root_folder=f"{data}/", batch=32, test_batch=32))
    (tmp_path / "solver.prototxt").write_text('net: "net.prototxt"\ntype: "Adam"\nbase_lr: 0.001\n'
                                              'lr_policy: "fixed"\nmax_iter: 1\nsnapshot_prefix: "l1"\n')
    out = tmp_path / "unfolded.caffemodel"
    res = unfold_deploy_model(tmp_path / "solver.prototxt", DEMO_DATA / "l1_deploy.prototxt",
                              DEMO_DATA / "l1.caffemodel", out, batches=2)
    assert res["unfolded_convs"] == 19
    assert res["max_abs_diff_test_phase"] < 1e-4
    # TRAIN phase (batch statistics, dropout): the loss is that of a trained model
    net = caffe.Net(str(tmp_path / "net.prototxt"), str(out), caffe.TRAIN)
    losses = [float(net.forward()["loss"]) for _ in range(2)]
    fresh = caffe.Net(str(tmp_path / "net.prototxt"), caffe.TRAIN)
    assert np.mean(losses) < 0.3 * float(fresh.forward()["loss"])


# The shipped cascade (its card names the any-angle level 1) on the same 6 photos
# turned a quarter or half turn: measured 2026-12-07 mean NME 4.2 % (+90), 4.1 % (-90),
# 4.4 % (180); without the any-angle level 1 (the cascade as shipped before) 75-108 %.
TURNED_MAX_NME = 0.06


@pytest.mark.parametrize("angle", [90, -90, 180])
def test_cascade_finds_the_points_of_an_upside_down_photo(caffe, cuhk_faces, shipped_cascade, angle):
    assert shipped_cascade.l1_any_angle is not None and shipped_cascade.l2_derotate
    images, boxes, gt = _turned_faces(cuhk_faces, angle)
    res = shipped_cascade.predict_batch(images, boxes)
    nme = nme_per_face(np.array([r.points for r in res]), np.array(gt))
    assert nme.mean() < TURNED_MAX_NME, nme
    # the any-angle level 1 is what finds them: without it the same nets fail
    plain = LandmarkCascade.from_shipped(backend="caffe", l1_any_angle=False)
    res = plain.predict_batch(images, boxes)
    assert nme_per_face(np.array([r.points for r in res]), np.array(gt)).mean() > 0.3


def test_level1_reads_an_upright_face_on_its_own_box_region(caffe, cuhk_faces, shipped_cascade):
    """A first guess within the roll the shipped level 1 was trained on (card key
    l1_trained_roll, 15 degrees): level 1 reads the box region unturned, so an upright
    face gets exactly the level-1 points of the cascade without the any-angle net."""
    assert shipped_cascade.l1_trained_roll == 15.0
    upright = [(rec, img) for rec, img in cuhk_faces if abs(geo.eye_line_degrees(rec.points)) < 8]
    assert len(upright) >= 3
    images, boxes = [img for _, img in upright], [rec.box for rec, _ in upright]
    plain = LandmarkCascade.from_shipped(backend="caffe", l1_any_angle=False)
    for a, b in zip(shipped_cascade.predict_batch(images, boxes), plain.predict_batch(images, boxes)):
        np.testing.assert_allclose(a.l1, b.l1, atol=1e-9)   # the same crop, mapped back by its inverse
    # a turned face's level-1 crop is its box region turned upright: the same face, so
    # nearly the same points as the upright face's, turned with it
    rec, img = upright[0]
    turned, pts, m = datagen.rotate_image(img, rec.points, 100)
    got = shipped_cascade.predict(turned, _box_turned(rec.box, m)).l1
    want = geo.apply_affine(m, plain.predict(img, rec.box).l1)
    assert np.abs(got - want).max() < 0.1 * np.linalg.norm(rec.points[0] - rec.points[1])


def test_card_naming_a_missing_any_angle_level1_says_so(caffe, tmp_path):
    from facecascade.cascade import SHIPPED
    card = tmp_path / "cascade.json"
    card.write_text('{"l1_any_angle": "turned"}')
    with pytest.raises(FileNotFoundError, match=r"turned_deploy\.prototxt: named by .*cascade\.json"):
        LandmarkCascade(*SHIPPED["l1"], backend="caffe", model_card=card)


def test_second_level1_pass_only_without_a_box(caffe, cuhk_faces):
    """l1_passes 2 (card key): a face without a box gets level 1 again on a frame
    around its first points; a face with a box keeps its single pass."""
    from facecascade.cascade import L1_REFRAME_FACTOR
    once = LandmarkCascade.from_shipped(backend="caffe", l1_passes=1, l1_any_angle=False)
    twice = LandmarkCascade.from_shipped(backend="caffe", l1_passes=2, l1_any_angle=False)
    (rec, img), (rec2, img2) = cuhk_faces[:2]
    a, b = once.predict_batch([img, img2], [rec.box, None]), twice.predict_batch([img, img2], [rec.box, None])
    np.testing.assert_allclose(a[0].l1, b[0].l1, atol=1e-4)
    assert a[1].l1_region == geo.Region.whole_image(img2.shape[1], img2.shape[0])
    assert b[1].l1_region == geo.point_frame(a[1].l1, L1_REFRAME_FACTOR)
    assert not np.allclose(a[1].l1, b[1].l1)
