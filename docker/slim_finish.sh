#!/usr/bin/env bash
# The second half of the cuts of docker/slim_install.sh, in a layer of its own
# after the build stage's long one (Debian packages, venv, Caffe compile), so
# that editing it does not compile Caffe again:
#
#   bash docker/slim_finish.sh VENV
#
# - puts back numpy/_core/tests/_natype.py (from the same numpy wheel): numpy
#   2.2's numpy.testing, which scipy imports at run time, imports it, and
#   slim_install.sh's cut of the test folders removed it;
# - removes the sources and headers the wheels carry for compiling against
#   them (*.c, *.cc, *.h, *.pyx, *.pxd, *.pxi: pyarrow/src, onnx's C++,
#   numpy.distutils' and f2py's C, scipy's Cython): the final image has no
#   compiler, so nothing can use them there;
# - replaces a library file that is a byte-for-byte copy of another in the same
#   folder by a link to it (wheels cannot hold links: pyarrow ships
#   libarrow_python.so, .so.2600 and .so.2600.1.0 as three copies).
# Then checks that numpy.testing and scipy.linalg import.  Prints what each
# step saved.  Run it in the build stage of docker/Dockerfile*, never on a
# native checkout (it deletes files).
set -euo pipefail
[ $# -eq 1 ] || { sed -n '2,22p' "$0" >&2; exit 2; }
VENV=$1
PY=$VENV/bin/python
[ -x "$PY" ] || { echo "slim_finish.sh: no venv at $VENV" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mb() { du -sm "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }

if [ -d "$SITE/numpy" ] && [ ! -f "$SITE/numpy/_core/tests/_natype.py" ]; then
  v=$("$PY" -c 'import importlib.metadata as m; print(m.version("numpy"))')
  tmp=$(mktemp -d)
  "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "numpy==$v"
  "$PY" - "$tmp" "$SITE" <<'EOF'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/numpy-*.whl")[0]
names = zipfile.ZipFile(wheel).namelist()
if "numpy/_core/tests/_natype.py" in names:
    zipfile.ZipFile(wheel).extract("numpy/_core/tests/_natype.py", sys.argv[2])
    print("slim_finish.sh: numpy/_core/tests/_natype.py put back from", wheel.rsplit("/", 1)[1])
EOF
  rm -rf "$tmp"
fi

before=$(mb "$SITE")
find "$SITE" -type f \( -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.pyx' -o -name '*.pxd' \
  -o -name '*.pxi' \) -delete
echo "slim_finish.sh: sources and headers of the wheels: $((before - $(mb "$SITE"))) MB"

before=$(mb "$SITE")
n=0
while read -r dir; do
  # the copies in DIR, biggest name last: keep the longest name (the file the sonames point at)
  while read -r sum keep; do
    for f in $(find "$dir" -maxdepth 1 -type f -name '*.so*' -exec md5sum {} + | awk -v s="$sum" '$1 == s { print $2 }'); do
      [ "$f" = "$keep" ] && continue
      ln -sf "$(basename "$keep")" "$f"
      n=$((n + 1))
    done
  done < <(find "$dir" -maxdepth 1 -type f -name '*.so*' -size +100k -exec md5sum {} + |
           awk '{ print $1, length($2), $2 }' | sort -k1,1 -k2,2n | awk '{ last[$1] = $3; c[$1]++ }
           END { for (s in c) if (c[s] > 1) print s, last[s] }')
done < <(find "$SITE" -type f -name '*.so*' -size +100k -printf '%h\n' | sort -u)
echo "slim_finish.sh: $n duplicate libraries made links: $((before - $(mb "$SITE"))) MB"

"$PY" -c "import numpy.testing, scipy.linalg, pyarrow, pyarrow.parquet, onnx, cv2" &&
  echo "slim_finish.sh: numpy.testing, scipy.linalg, pyarrow.parquet, onnx and cv2 import"
