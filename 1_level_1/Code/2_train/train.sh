#!/usr/bin/env bash
# Level-1 training (the seed's train.sh): resumes from the newest snapshot.
# Extra arguments go to train.py (see --help).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
py=${PYTHON:-$repo/.venv/bin/python}
exec "$py" "$here/train.py" --level 1 "$@"
