"""The detector's one config: DetectorConfig, presets, detector.json beside the models, the
shared argument group, and the one backend vocabulary."""
import argparse
import json

import numpy as np
import pytest

from facecascade.mtcnn import (
    MTCNN,
    REFERENCE,
    SHIPPED_MODEL_DIR,
    DetectorConfig,
    add_detector_arguments,
    config_from_args,
    preset_config,
    read_model_card,
    write_model_card,
)
from facecascade.runtime import BACKENDS


def parse(flags):
    ap = argparse.ArgumentParser()
    add_detector_arguments(ap)
    return ap.parse_args(flags)


def test_shipped_settings_are_stored_beside_the_models_and_are_the_default_preset():
    card = json.loads((SHIPPED_MODEL_DIR / "detector.json").read_text())
    assert DetectorConfig.from_dict(card["settings"]) == read_model_card() == preset_config("default")
    assert config_from_args(parse([])) == read_model_card()


def test_reference_preset_is_the_papers_pipeline():
    ref = preset_config("reference")
    assert ref == REFERENCE
    assert (ref.rescore_rounds, ref.final_score, ref.final_nms, ref.nested_cover, ref.large_factor) == \
        (0, "onet", "min", 0.0, None)
    assert (ref.min_face, ref.factor, ref.thresholds) == (20.0, 0.709, (0.6, 0.7, 0.7))


def test_flags_override_the_preset_and_unset_flags_keep_it():
    cfg = config_from_args(parse(["--preset", "reference", "--min-face", "40", "--rescore-rounds", "2"]))
    assert cfg == REFERENCE.replace(min_face=40, rescore_rounds=2)
    assert config_from_args(parse(["--large-factor", "0.709"])).large_factor is None   # = --factor: one step
    assert config_from_args(parse(["--mirror-stages", "onet"])).mirror_stages == ("onet",)


def test_a_model_folder_carries_its_own_settings(tmp_path):
    for n in ("det1", "det2", "det3"):
        for ext in (".prototxt", ".caffemodel"):
            (tmp_path / f"{n}{ext}").write_bytes((SHIPPED_MODEL_DIR / f"{n}{ext}").read_bytes())
    assert read_model_card(tmp_path) == DetectorConfig()          # none written: built-in defaults
    write_model_card(DetectorConfig(min_face=48, nested_cover=0), tmp_path)
    assert not list(tmp_path.glob("*.part*"))
    det = MTCNN(tmp_path)
    assert (det.min_face, det.nested_cover) == (48.0, 0.0)
    det.rescore_rounds = 0                                        # the detector's settings are its config's
    assert det.config.rescore_rounds == 0
    assert MTCNN(tmp_path, min_face=30).min_face == 30.0           # keyword settings replace the card's


def test_bad_settings_name_the_file(tmp_path):
    (tmp_path / "detector.json").write_text('{"settings": {"min_face": 20, "colour": "red"}}')
    with pytest.raises(ValueError, match=r"detector\.json: unknown settings colour"):
        read_model_card(tmp_path)
    (tmp_path / "detector.json").write_text('{"settings": {"final_nms": "hard"}}')
    with pytest.raises(ValueError, match=r"detector\.json: final_nms must be one of"):
        read_model_card(tmp_path)
    with pytest.raises(TypeError, match="unknown detector settings: min_fase"):
        DetectorConfig().replace(min_fase=20)


def test_one_backend_vocabulary_for_detector_and_cascade(caffe):
    img = np.zeros((64, 64, 3), np.uint8)
    assert set(BACKENDS) == {"auto", "caffe", "onnx", "opencv"}
    for backend in ("caffe", "onnx", "opencv", "auto"):
        assert len(MTCNN(backend=backend).detect(img)) == 0
    with pytest.raises(ValueError, match="backend must be one of"):
        MTCNN(backend="cv2")
    with pytest.raises(SystemExit):
        parse(["--backend", "cv2"])
