#!/usr/bin/env bash
# Copy the shared libraries that a Caffe install needs at run time into a tree
# that the final stage of docker/Dockerfile*.cpu COPYs over /:
#
#   bash docker/runtime_libs.sh DEST PREFIX [VENV]
#
# DEST gets each library of the ldd closure of PREFIX's libcaffe, tools and
# pycaffe module at its own path (the soname link and the file it names), and
# DEST/usr/share/doc/facecascade-runtime-libs/packages.txt names the Debian
# packages they come from.  Left out: libraries of the packages every Debian
# image has (priority "required": glibc, libstdc++, zlib, ...), those of
# libpython3.11 and its dependencies (the final stage installs it), and the
# venv's wheels (they bring their own).
#
# Why not apt-get install those packages in the final stage: libcaffe links
# OpenCV's highgui, imgcodecs and videoio (the fork's video and display
# layers), whose package dependencies (Qt, GDAL, FFmpeg, Mesa with LLVM) add
# about 670 MB; the files the loader actually needs are about half of that.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
DEST=$1
PREFIX=$2
VENV=${3:-}

# the binaries whose dependencies we need
mapfile -t objects < <(find "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/python" -type f \
                         \( -name '*.so*' -o -perm -u+x \) -print)
[ "${#objects[@]}" -gt 0 ] || { echo "runtime_libs.sh: nothing to scan in $PREFIX" >&2; exit 1; }

# packages whose files the final image already has
skip_pkgs=$(
  dpkg-query -W -f='${Package} ${Priority}\n' | awk '$2 == "required" { print $1 }'
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances libpython3.11 python3 2>/dev/null | grep -v '^ ' || true
)
skip_pkgs=$(echo "$skip_pkgs" | sed 's/:.*//' | sort -u)

mkdir -p "$DEST"
: >"$DEST.packages"
# every resolved library (ldd lists the whole closure), not the prefix's own
ldd "${objects[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u |
while read -r lib; do
  case "$lib" in "$PREFIX"/*|"${VENV:-/nonexistent}"/*) continue ;; esac
  real=$(readlink -f "$lib")
  pkg=$(dpkg-query -S "$real" 2>/dev/null | head -1 | cut -d: -f1) || pkg=
  if [ -n "$pkg" ] && echo "$skip_pkgs" | grep -qx "$pkg"; then continue; fi
  # the soname at the real directory (/lib is /usr/lib on Debian 12), and its file
  dir=$(readlink -f "$(dirname "$lib")")
  mkdir -p "$DEST$dir" "$DEST$(dirname "$real")"
  cp -a "$real" "$DEST$real"
  [ "$dir/$(basename "$lib")" = "$real" ] || ln -sfr "$DEST$real" "$DEST$dir/$(basename "$lib")"
  echo "${pkg:-unpackaged}" >>"$DEST.packages"
done
doc=$DEST/usr/share/doc/facecascade-runtime-libs
mkdir -p "$doc"
sort -u "$DEST.packages" >"$doc/packages.txt"
rm -f "$DEST.packages"
echo "runtime_libs.sh: $(find "$DEST" -type f -name '*.so*' | wc -l) libraries" \
     "($(du -sh "$DEST" | cut -f1)) from $(wc -l <"$doc/packages.txt") packages in $DEST"
