"""MTCNN face detector on our Caffe (P-, R-, O-Net; docs/METHOD.md for our changes).

    from facecascade.mtcnn import MTCNN, DetectorConfig
    det = MTCNN()                                   # shipped nets, mtcnn/model/detector.json
    det = MTCNN(config=preset_config("reference"))  # the paper's pipeline on the same nets
    faces = det.detect(image_bgr)                   # Detections: boxes, scores, points

config.py: the settings, presets and argument group; pyramid.py: pyramid, cells, crops;
detector.py: the stages.
"""
from .config import (
    FINAL_NMS,
    FINAL_SCORES,
    LARGE_FACTOR,
    MIRROR_STAGES,
    NESTED_AREA_RATIO,
    NESTED_COVER,
    PRESETS,
    REFERENCE,
    RESCORE_FLOOR,
    RESCORE_ROUNDS,
    SHIPPED_MODEL_DIR,
    SOFT_NMS_IOU,
    SOFT_NMS_SIGMA,
    DetectorConfig,
    add_detector_arguments,
    config_from_args,
    preset_config,
    pyramid_step,
    read_model_card,
    write_model_card,
)
from .detector import (
    CANDIDATE_BATCH,
    DEPLOY_OUTPUTS,
    MTCNN,
    PNET_MAX_PIXELS,
    Detections,
    detector_from_args,
    empty_detections,
    forward_caffe,
    note_no_face,
)
from .pyramid import (
    LARGE_FACE,
    MEAN,
    PNET_CELL,
    PNET_STRIDE,
    SCALE,
    build_levels,
    cells_to_boxes,
    crop_from_levels,
    large_step,
    normalise,
    pyramid_scales,
)

