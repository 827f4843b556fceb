"""Where things are: the repository, the shared development data, shipped models."""
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# ../shared/data beside the checkout (CI and our machines); a user's own clone
# points FACECASCADE_DATA at wherever the data sets were unpacked.
SHARED_DATA = Path(os.environ.get("FACECASCADE_DATA", REPO_ROOT.parent / "shared" / "data"))
DEMO_DATA = REPO_ROOT / "3_demo" / "Data"
TEST_DATA = REPO_ROOT / "tests" / "data"


def repo_path(*parts) -> Path:
    return REPO_ROOT.joinpath(*parts)
