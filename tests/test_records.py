"""Every reader, with header, blank and malformed lines; coordinates to 0-based px."""
import numpy as np
import pytest

from facecascade import records as rec


def test_celeba_as_downloaded_with_headers_bbox_and_partition(tmp_path):
    (tmp_path / "list_landmarks_celeba.txt").write_text(
        "3\nlefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y\n"
        "000001.jpg    165   184   244   176   196   249   194   271   266   260\n"
        "\n"
        "000002.jpg 140 204 220 204 168 254 146 289 226 289\n"
        "000003.jpg 244 104 264 105 263 121 235 134 251 140\n")
    (tmp_path / "list_bbox_celeba.txt").write_text(
        "3\nimage_id x_1 y_1 width height\n000001.jpg 95 71 226 313\n000002.jpg 72 94 221 306\n"
        "000003.jpg 216 59 91 126\n")
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 2\n000003.jpg 0\n")
    all_ = rec.read_celeba(tmp_path / "list_landmarks_celeba.txt", tmp_path / "img_celeba",
                           bbox_file=tmp_path / "list_bbox_celeba.txt")
    assert [r.image.name for r in all_] == ["000001.jpg", "000002.jpg", "000003.jpg"]
    assert all_[0].image.parent.name == "img_celeba"
    np.testing.assert_array_equal(all_[0].points[0], [165, 184])
    np.testing.assert_array_equal(all_[0].points[4], [266, 260])
    assert all_[0].box == (95, 71, 95 + 226, 71 + 313)
    assert all_[1].where.endswith("list_landmarks_celeba.txt:5")
    test = rec.read_celeba(tmp_path / "list_landmarks_celeba.txt", bbox_file=None,
                           partition_file=tmp_path / "list_eval_partition.txt", partition="test")
    assert [r.image.name for r in test] == ["000002.jpg"]


def test_celeba_demo_list_without_headers(test_data):
    recs = rec.read_celeba(test_data / "celeba_small/list_landmarks_celeba.txt")
    assert len(recs) == 4 and recs[0].box is None
    assert all(r.points[0, 0] < r.points[1, 0] for r in recs)


def test_cuhk_box_order_is_left_right_top_bottom(tmp_path):
    f = tmp_path / "list.txt"
    f.write_text("net_7876/0_0_0.jpg 104 308 95 299 151 147 246 148 209 194 161 237 235 235\n\n")
    (r,) = rec.read_cuhk(f)
    assert r.box == (104, 95, 308, 299)
    assert r.image == tmp_path / "net_7876/0_0_0.jpg"
    np.testing.assert_array_equal(r.points[2], [209, 194])


def test_mtfl_order_and_one_based_conversion(tmp_path):
    f = tmp_path / "list.txt"
    f.write_text("lfw_5590/a.jpg 34.32 47.28 40.4 34.0 45.04 34.8 36.24 46.0 50.8 52.08\n"
                 "lfw_5590/b.jpg 30 40 35 31 41 30 31 40 50 51 1 2 1 3\n")
    a, b = rec.read_mtfl(f)
    np.testing.assert_allclose(a.points[0], [33.32, 33.8])     # x1, y1 minus 1
    np.testing.assert_allclose(a.points[4], [44.04, 51.08])
    np.testing.assert_allclose(b.points[1], [39, 30])           # attribute fields ignored
    (raw,) = rec.read_mtfl(tmp_path / "list.txt", one_based=False)[:1]
    np.testing.assert_allclose(raw.points[0], [34.32, 34.8])


@pytest.mark.parametrize("reader,line,words", [
    (rec.read_cuhk, "a.jpg 1 2 3 4 5\n", ["list.txt:1", "expected 14"]),
    (rec.read_cuhk, "a.jpg 10 5 3 40 1 1 1 1 1 1 1 1 1 1\n", ["list.txt:1", "empty box"]),
    (rec.read_mtfl, "ok.jpg 1 2 3 4 5 6 7 8 9 10\nb.jpg 1 2 3 4 5 6 7 8 nine 10\n", ["list.txt:2", "'nine'"]),
    (rec.read_celeba, "a.jpg 1 2 3 4 5 6 7 8 9\n", ["list.txt:1", "expected 10"]),
])
def test_malformed_lines_name_file_and_line(tmp_path, reader, line, words):
    f = tmp_path / "list.txt"
    f.write_text(line)
    with pytest.raises(rec.LabelFormatError) as err:
        reader(f)
    for w in words:
        assert w in str(err.value)


def test_missing_list_file(tmp_path):
    with pytest.raises(rec.LabelFormatError, match="not found"):
        rec.read_cuhk(tmp_path / "nope.txt")


def test_points_outside_image_are_a_label_error():
    r = rec.FaceRecord("x.jpg", np.array([[10, 10], [20, 10], [15, 15], [12, 20], [18, 20.0]]), where="l:7")
    rec.check_points_in_image(r, 30, 30)
    r.points[4, 0] = 45
    with pytest.raises(rec.LabelFormatError, match="l:7"):
        rec.check_points_in_image(r, 30, 30)


def test_records_round_trip(tmp_path):
    rs = [rec.FaceRecord(tmp_path / "img/a.jpg", np.arange(10.0).reshape(5, 2), (1, 2, 30, 40)),
          rec.FaceRecord(tmp_path / "img/b.jpg", np.ones((5, 2)), None)]
    rec.write_records(tmp_path / "train.txt", rs)
    back = rec.read_records(tmp_path / "train.txt")
    assert [b.image for b in back] == [r.image for r in rs]
    np.testing.assert_allclose(back[0].points, rs[0].points)
    assert back[0].box == (1, 2, 30, 40) and back[1].box is None


def test_shared_lists_read_completely(shared_data):
    assert len(rec.read_cuhk(shared_data / "cuhk_facepoint/train_net7876.txt")) == 5849
    assert len(rec.read_cuhk(shared_data / "cuhk_facepoint/test_net7876.txt")) == 2027
    lfw = rec.read_mtfl(shared_data / "lfw5590_80x80/train_lfw5590_80x80.txt")
    assert len(lfw) == 4151
    # 1-based lists: after the conversion the mean eye midpoint sits near the
    # 0-based centre of the 80x80 crops (39.5), not the 1-based one (40.5)
    mid = np.mean([(r.points[0, 0] + r.points[1, 0]) / 2 for r in lfw])
    assert abs(mid - 39.5) < abs(mid - 40.5)
    demo = rec.read_celeba(shared_data / "celeba_demo/list_landmarks_celeba_demo.txt")
    assert len(demo) == 8
