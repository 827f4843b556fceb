"""Geometry round trips: labels <-> pixels, crop <-> image, flips, the level-2 crop, alignment."""
import numpy as np
import pytest

from facecascade import geometry as geo

PTS = np.array([[30.0, 40.0], [60.0, 41.0], [45.0, 55.0], [33.0, 70.0], [58.0, 71.0]])


def test_unit_round_trip_and_edges():
    r = geo.Region(10.0, 20.0, 80.0, 60.0)
    np.testing.assert_allclose(r.from_unit(r.to_unit(PTS)), PTS)
    np.testing.assert_allclose(r.to_unit([[10, 20], [90, 80]]), [[-1, -1], [1, 1]])
    whole = geo.Region.whole_image(100, 50)
    np.testing.assert_allclose(whole.to_unit([[-0.5, -0.5], [99.5, 49.5]]), [[-1, -1], [1, 1]])


def test_affine_agrees_with_unit_mapping():
    r = geo.Region(5.5, -3.0, 40.0, 40.0)
    uv = geo.apply_affine(r.affine(48), PTS)
    np.testing.assert_allclose(geo.net_to_unit(uv), r.to_unit(PTS))


def test_crop_puts_an_image_point_where_the_label_says(rng):
    """A bright 3x3 blob at a known place is found where the affine maps it."""
    img = np.zeros((200, 300, 3), np.uint8)
    img[119:122, 169:172] = 255
    for region in (geo.Region(100.0, 80.0, 96.0, 96.0), geo.Region.from_box((90, 60, 250, 190), 0.1)):
        crop = geo.crop(img, region, 48)
        y, x = np.unravel_index(crop[:, :, 0].argmax(), crop.shape[:2])
        expect = geo.apply_affine(region.affine(48), [[170, 120]])[0]
        assert abs(x - expect[0]) <= 1 and abs(y - expect[1]) <= 1


def test_big_shrink_is_area_averaged_not_aliased():
    stripes = np.zeros((960, 960, 3), np.uint8)
    stripes[:, ::2] = 255                          # 1-px stripes: mean 127.5
    crop = geo.crop(stripes, geo.Region.whole_image(960, 960), 48)
    assert abs(float(crop.mean()) - 127.5) < 3 and float(crop.std()) < 6


def test_flip_swaps_left_and_right():
    flipped = geo.flip_points(PTS, 100)
    # the image-left eye of the mirror is the mirrored image-right eye
    np.testing.assert_allclose(flipped[0], [99 - 60.0, 41.0])
    np.testing.assert_allclose(flipped[2], [99 - 45.0, 55.0])
    assert flipped[0, 0] < flipped[1, 0] and flipped[3, 0] < flipped[4, 0]
    np.testing.assert_allclose(geo.flip_points(flipped, 100), PTS)
    u = geo.Region(0, 0, 100, 100).to_unit(PTS)
    np.testing.assert_allclose(geo.flip_unit(geo.flip_unit(u)), u)


def test_flip_of_image_and_unit_labels_agree():
    img = np.zeros((48, 48, 3), np.uint8)
    img[10, 12] = 255
    uv = np.array([[12.0, 10.0]] * 5)
    mirrored_img = img[:, ::-1]
    y, x = np.unravel_index(mirrored_img[:, :, 0].argmax(), (48, 48))
    mirrored_unit = geo.flip_unit(geo.net_to_unit(uv))
    back_uv = (mirrored_unit + 1) * 24 - 0.5
    assert (x, y) == tuple(np.round(back_uv[0]).astype(int))


def test_level2_region_is_the_seed_rule():
    region, clamped = geo.level2_region(PTS, 200, 200)
    half = 2 * np.hypot(*(PTS[2] - PTS[0]))
    assert not clamped
    np.testing.assert_allclose(region.centre, PTS[2])
    np.testing.assert_allclose(region.width, 2 * half)


def test_level2_scale_rules_on_a_hand_made_face():
    # nose at the origin; eyes at (-3, -4) and (3, -4) (distance 5), mouth at (+-4, 3) (distance 5)
    pts = np.array([[-3, -4], [3, -4], [0, 0], [-4, 3], [4, 3]], float) + 100
    assert geo.level2_scale(pts, "left_eye") == pytest.approx(5.0)
    assert geo.level2_scale(pts, "points") == pytest.approx(5.0)
    turned = pts.copy()
    turned[0] = [100 - 1, 100 - 4]  # left eye swings towards the nose: the seed's scale shrinks
    assert geo.level2_scale(turned, "left_eye") == pytest.approx(np.hypot(1, 4))
    assert geo.level2_scale(turned, "points") == pytest.approx((np.hypot(1, 4) + 15) / 4)
    big = (pts - 100) * 4 + 150  # a face large enough for the crop's minimum size
    region, clamped = geo.level2_region(big, 300, 300, 1.35, "points")
    assert not clamped and region.width == pytest.approx(2 * 1.35 * 20)
    np.testing.assert_allclose(region.centre, [150, 150])
    with pytest.raises(ValueError, match="unknown level-2 scale"):
        geo.level2_scale(pts, "nose")


def test_level2_region_clips_and_clamps_but_is_never_empty():
    region, clamped = geo.level2_region(PTS, 80, 80)          # crop crosses the border: clipped
    assert region.is_inside(80, 80) and region.width > 8
    outside = PTS + [500, -400]                                 # level 1 way off the image
    region, clamped = geo.level2_region(outside, 80, 80)
    assert clamped and region.is_inside(80, 80) and region.width >= 8 and region.height >= 8
    collapsed = np.repeat(PTS[:1], 5, axis=0)                   # all points equal
    region, clamped = geo.level2_region(collapsed, 80, 80)
    assert clamped and region.width >= 8
    img = np.full((80, 80, 3), 7, np.uint8)
    assert geo.crop(img, region).shape == (48, 48, 3)


def test_level2_region_floor_follows_what_level_1_saw():
    small = PTS * 0.3 + 500                                     # a face of about 10 px in a 1000 px photo
    half = 1.35 * geo.level2_scale(small, "points")
    region, clamped = geo.level2_region(small, 1000, 1000, 1.35, "points", level1_side=14.0)
    assert not clamped and region.width == pytest.approx(2 * half)
    # against the photo's size (the default: level 1 saw the whole image) the floor is 50 px
    region, clamped = geo.level2_region(small, 1000, 1000, 1.35, "points")
    assert clamped and region.width == pytest.approx(100.0)
    collapsed = np.repeat(small[:1], 5, axis=0)
    region, clamped = geo.level2_region(collapsed, 1000, 1000, 1.35, "points", level1_side=400.0)
    assert clamped and region.width == pytest.approx(2 * geo.L2_MIN_HALF_SHARE * 400.0)


def test_similarity_alignment_recovers_a_known_transform():
    angle, scale, t = np.deg2rad(20), 1.7, np.array([12.0, -5.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = geo.ALIGN_TEMPLATE_112
    dst = src @ rot.T + t
    m = geo.similarity_transform(src, dst)
    np.testing.assert_allclose(geo.apply_affine(m, src), dst, atol=1e-9)
    img = np.zeros((300, 300, 3), np.uint8)
    aligned = geo.align_face(img, dst + 50)
    assert aligned.shape == (112, 112, 3)


@pytest.mark.parametrize("box,margin", [((10, 20, 50, 80), 0.0), ((10, 20, 50, 80), 0.25)])
def test_region_from_box_is_square_and_centred(box, margin):
    r = geo.Region.from_box(box, margin)
    assert r.width == r.height == pytest.approx(60 * (1 + 2 * margin))
    np.testing.assert_allclose(r.centre, (30, 50))
