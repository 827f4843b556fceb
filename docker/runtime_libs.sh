#!/usr/bin/env bash
# Copy the shared libraries that a Caffe install needs at run time into a tree
# that the final stage of docker/Dockerfile*.cpu COPYs over /:
#
#   bash docker/runtime_libs.sh DEST PREFIX [VENV]
#
# DEST gets each library of the ldd closure of PREFIX's libcaffe, tools and
# pycaffe module at its own path (the soname link and the file it names), and
# DEST/usr/share/doc/facecascade-runtime-libs/packages.txt names the Debian
# packages they come from (left-out.txt: the libraries left out, and why).  Left out: libraries of the packages every Debian
# image has (the essential set and apt, with their dependencies: glibc,
# libstdc++, zlib, ...), those of python3 and libpython3.11 and their
# dependencies (the final stage installs them), and the venv's wheels (they
# bring their own).
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

# packages whose files the final image already has: the essential set and apt (every
# Debian image), python3 and libpython3.11 (the final stage installs them), with all
# they depend on
seeds=$(dpkg-query -W -f='${Package} ${Essential}\n' | awk '$2 == "yes" { print $1 }')
skip_pkgs=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
              --no-replaces --no-enhances $seeds apt python3 libpython3.11 2>/dev/null |
            grep -v '^ ' | sed 's/:.*//' | sort -u)
[ -n "$skip_pkgs" ] || echo "runtime_libs.sh: no apt lists (apt-get update): copying the base's libraries too" >&2

# every resolved library (ldd lists the whole closure), not the prefix's or venv's own
mapfile -t libs < <(ldd "${objects[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' |
                    sort -u | grep -v -e "^$PREFIX/" ${VENV:+-e "^$VENV/"})
declare -A real_of owner
paths=()
for lib in "${libs[@]}"; do
  real=$(readlink -f "$lib")
  real_of[$lib]=$real
  paths+=("$real" "${real#/usr}")  # dpkg names /lib/... files by their unmerged path
done
# one dpkg query for all ("pkg:arch: /path" per line; diverted files name several)
while IFS= read -r line; do
  owner[$(basename "${line##*: }")]=$(echo "${line%%: *}" | sed 's/:[^,]*//g; s/,.*//')
done < <(dpkg-query -S "${paths[@]}" 2>/dev/null || true)

mkdir -p "$DEST"
: >"$DEST.packages"
: >"$DEST.left-out"
for lib in "${libs[@]}"; do
  real=${real_of[$lib]}
  pkg=${owner[$(basename "$real")]:-}
  if [ -n "$pkg" ] && grep -qx "$pkg" <<<"$skip_pkgs"; then
    echo "$(basename "$lib") $pkg" >>"$DEST.left-out"; continue
  fi
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
sort -u "$DEST.left-out" >"$doc/left-out.txt"  # "<soname> <package>": in the final image already
rm -f "$DEST.packages" "$DEST.left-out"
echo "runtime_libs.sh: $(find "$DEST" -type f -name '*.so*' | wc -l) libraries" \
     "($(du -sh "$DEST" | cut -f1)) from $(wc -l <"$doc/packages.txt") packages in $DEST"
