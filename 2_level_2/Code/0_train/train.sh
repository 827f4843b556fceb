#!/usr/bin/env bash
# Level-2 training: resumes from the newest snapshot. Arguments go to train.py.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
exec "$py" "$repo/1_level_1/Code/2_train/train.py" --level 2 "$@"
