"""The detector's settings in one place: DetectorConfig, its named presets, the
settings shipped beside the models (mtcnn/model/detector.json, read like
3_demo/Data/cascade.json), and the one argument group every command builds it from.

Presets:
  default     the shipped pipeline: the detector.json of the model folder (built-in
              defaults where a folder has none)
  reference   the paper's pipeline (Zhang et al., the MATLAB/Caffe release) on our nets:
              no second look, O-Net's score, hard NMS over the smaller box, one pyramid
              factor, no nested-box rule

What each setting does: docs/METHOD.md; the flags and their reference values: docs/USAGE.md.
"""
import argparse
import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Optional

from ..atomic import write_text_atomic
from ..paths import REPO_ROOT
from ..runtime import add_runtime_arguments
from .pyramid import LARGE_FACE, PNET_CELL, large_step, pyramid_scales

SHIPPED_MODEL_DIR = REPO_ROOT / "mtcnn" / "model"
MODEL_CARD = "detector.json"
PRESETS = ("default", "reference")
# The second look: candidates scored in [RESCORE_FLOOR, threshold) are scored again on
# their regressed box, up to RESCORE_ROUNDS times (0: off).
RESCORE_FLOOR, RESCORE_ROUNDS = 0.1, 3
# Pyramid step between the large-face levels (pyramid.LARGE_FACE px and up).
LARGE_FACTOR = 0.8
FINAL_SCORES, FINAL_NMS = ("cascade", "onet"), ("soft", "min")
MIRROR_STAGES = ("rnet", "onet")
SOFT_NMS_SIGMA, SOFT_NMS_IOU = 0.5, 0.3
NESTED_COVER, NESTED_AREA_RATIO = 0.7, 2.0


@dataclass
class DetectorConfig:
    min_face: float = 20.0
    factor: float = 0.709
    thresholds: tuple = (0.6, 0.7, 0.7)
    nms_thresholds: tuple = (0.5, 0.7, 0.7, 0.7)
    large_face: float = LARGE_FACE
    large_factor: Optional[float] = LARGE_FACTOR          # None: `factor` throughout
    large_face_threshold: Optional[float] = None          # None: thresholds[0] on every level
    rescore_rounds: int = RESCORE_ROUNDS
    rescore_floor: float = RESCORE_FLOOR
    final_score: str = FINAL_SCORES[0]
    final_nms: str = FINAL_NMS[0]
    nested_cover: float = NESTED_COVER                    # 0: off
    mirror_stages: tuple = ()
    min_score: Optional[float] = None                     # None: what passes O-Net's threshold

    def __post_init__(self):
        self.min_face, self.factor = float(self.min_face), float(self.factor)
        self.thresholds = tuple(float(t) for t in self.thresholds)
        self.nms_thresholds = tuple(float(t) for t in self.nms_thresholds)
        if len(self.thresholds) != 3 or len(self.nms_thresholds) != 4:
            raise ValueError("thresholds: 3 values (P, R, O); nms_thresholds: 4 values")
        self.large_face = float(self.large_face)
        self.large_factor = large_step(self.factor, self.large_factor)
        # the pyramid settings are checked before any model is read
        pyramid_scales(PNET_CELL, PNET_CELL, self.min_face, self.factor, large_factor=self.large_factor)
        self.large_face_threshold = None if self.large_face_threshold is None else float(self.large_face_threshold)
        self.rescore_rounds, self.rescore_floor = int(self.rescore_rounds), float(self.rescore_floor)
        if self.final_score not in FINAL_SCORES:
            raise ValueError(f"final_score must be one of {FINAL_SCORES}, not {self.final_score!r}")
        if self.final_nms not in FINAL_NMS:
            raise ValueError(f"final_nms must be one of {FINAL_NMS}, not {self.final_nms!r}")
        self.nested_cover = float(self.nested_cover or 0.0)
        if not 0.0 <= self.nested_cover <= 1.0:
            raise ValueError(f"nested_cover must be in [0, 1], got {self.nested_cover}")
        bad = set(self.mirror_stages) - set(MIRROR_STAGES)
        if bad:
            raise ValueError(f"mirror_stages may hold {MIRROR_STAGES}, not {sorted(bad)}")
        self.mirror_stages = tuple(self.mirror_stages)
        self.min_score = None if self.min_score is None else float(self.min_score)

    def replace(self, **changes):
        """A validated copy with some settings changed."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown detector settings: {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_dict(self):
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, data, where="detector settings"):
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"{where}: unknown settings {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None


REFERENCE = DetectorConfig(large_factor=None, rescore_rounds=0, final_score="onet", final_nms="min",
                           nested_cover=0.0)


def read_model_card(model_dir=None):
    """The settings a model folder's nets are meant to run with: its detector.json, or the
    built-in defaults where it has none (a freshly trained folder)."""
    path = Path(model_dir or SHIPPED_MODEL_DIR) / MODEL_CARD
    if not path.is_file():
        return DetectorConfig()
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    return DetectorConfig.from_dict(data.get("settings", {}), str(path))


def write_model_card(config, model_dir, note=""):
    """Store `config` as the settings of the nets in model_dir (atomically)."""
    card = {"about": note or "settings the nets of this folder run with (facecascade.mtcnn.config)",
            "settings": config.to_dict()}
    write_text_atomic(Path(model_dir) / MODEL_CARD, json.dumps(card, indent=2) + "\n")


def preset_config(name="default", model_dir=None):
    if name == "default":
        return read_model_card(model_dir)
    if name == "reference":
        return replace(REFERENCE)
    raise ValueError(f"preset must be one of {PRESETS}, not {name!r}")


def pyramid_step(text):
    """argparse type of --factor and --large-factor: a float in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"a pyramid step must be in (0, 1), got {value:g}")
    return value


# flag -> (DetectorConfig field, argparse keywords); every default None = the preset's value
_D = DetectorConfig()
_FLAGS = {
    "--min-face": ("min_face", dict(type=float, metavar="PX", help=f"smallest face searched (default {_D.min_face:g})")),
    "--factor": ("factor", dict(type=pyramid_step, metavar="F", help=f"pyramid factor (default {_D.factor:g})")),
    "--thresholds": ("thresholds", dict(type=float, nargs=3, metavar=("P", "R", "O"),
                                        help="P-Net, R-Net, O-Net thresholds (default 0.6 0.7 0.7)")),
    "--large-face": ("large_face", dict(type=float, metavar="PX", help=(
        f"smallest face of the large-face levels (default {_D.large_face:g})"))),
    "--large-factor": ("large_factor", dict(type=pyramid_step, metavar="F", help=(
        f"pyramid step between the large-face levels (default {LARGE_FACTOR:g}; the value of --factor: "
        "one step throughout, the reference)"))),
    "--large-face-threshold": ("large_face_threshold", dict(type=float, metavar="T", help=(
        "P-Net threshold on the large-face levels (default: the first of --thresholds)"))),
    "--rescore-rounds": ("rescore_rounds", dict(type=int, metavar="N", help=(
        f"second look: candidates scored in [--rescore-floor, threshold) are scored again on their "
        f"regressed box, up to N times (default {RESCORE_ROUNDS}; 0 = the reference)"))),
    "--rescore-floor": ("rescore_floor", dict(type=float, metavar="F", help=(
        f"lowest score that gets a second look (default {RESCORE_FLOOR:g})"))),
    "--final-score": ("final_score", dict(choices=FINAL_SCORES, help=(
        "a face's score: geometric mean of R-Net's and O-Net's (cascade, default) or O-Net's (onet)"))),
    "--final-nms": ("final_nms", dict(choices=FINAL_NMS, help=(
        f"last NMS: Gaussian soft-NMS (soft, default; sigma {SOFT_NMS_SIGMA}, union IoU {SOFT_NMS_IOU}) or "
        "hard NMS 0.7 over the smaller box (min, the reference)"))),
    "--nested-cover": ("nested_cover", dict(type=float, metavar="C", help=(
        f"after soft-NMS drop a box lying >= C inside a better-scored box of >= {NESTED_AREA_RATIO:g}x its "
        f"area (default {NESTED_COVER:g}; 0: off)"))),
    "--mirror-stages": ("mirror_stages", dict(nargs="*", choices=MIRROR_STAGES, metavar="NET", help=(
        "rnet and/or onet also score each candidate's mirror image and average (default none); "
        "it takes every word after it, so put the input images before it"))),
}


def add_detector_arguments(ap, min_score=None, min_score_help=None):
    """The detector's flags, the same for every command that runs it: models, preset, each
    setting of DetectorConfig (unset: the preset's value), the last cut, runtime."""
    g = ap.add_argument_group("detector", "settings of the MTCNN (unset flags take the --preset's values)")
    g.add_argument("--model-dir", type=Path, default=SHIPPED_MODEL_DIR,
                   help="folder of det1-3 (.prototxt, .caffemodel) and their detector.json (default: shipped)")
    g.add_argument("--preset", choices=PRESETS, default="default",
                   help="default: the model folder's detector.json; reference: the paper's pipeline")
    for flag, (_, kw) in _FLAGS.items():
        g.add_argument(flag, default=None, **kw)
    g.add_argument("--min-score", type=float, default=min_score, metavar="S", help=min_score_help or (
        "keep only the faces scored >= S (default: all that pass the thresholds and stay over O-Net's "
        "threshold through soft-NMS); e.g. 0.98 where a false box costs more than a missed face"))
    add_runtime_arguments(ap, default="caffe")
    return ap


def config_from_args(args, **changes):
    """The DetectorConfig of add_detector_arguments' flags (+ changes)."""
    config = preset_config(args.preset, args.model_dir)
    given = {field: getattr(args, flag[2:].replace("-", "_")) for flag, (field, _) in _FLAGS.items()}
    given = {k: v for k, v in given.items() if v is not None}
    if args.min_score is not None:
        given["min_score"] = args.min_score
    given.update(changes)
    return config.replace(**given)
