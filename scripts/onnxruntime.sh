#!/usr/bin/env bash
# ONNX Runtime for moodlens' default classifier engine, from the package registry:
#   PyPI onnxruntime 1.31.1 (Microsoft, MIT licence) -> onnxruntime/capi/libonnxruntime.so.1.31.1
#   (the CPU build of ONNX Runtime's C API that the `ort` crate loads at run time; moodlens is not
#   linked against it and works without it, on burn)
# downloaded with `pip download` (no other network; the manylinux_2_28 x86_64 wheel, the same
# bytes for every Python version), checked against known SHA-256 sums and written with its
# licence and third-party notices to
#   $MOODLENS_ORT_DIR, else ${XDG_CACHE_HOME:-~/.cache}/moodlens/onnxruntime
# as libonnxruntime.so, where moodlens looks for it (after $MOODLENS_ORT_LIB, a file path, and
# before libonnxruntime.so beside the executable). Idempotent: a library already there with the
# right sum is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${MOODLENS_ORT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/moodlens/onnxruntime}
VERSION=1.31.1
WHEEL=onnxruntime-$VERSION-cp311-cp311-manylinux_2_28_x86_64.whl
WHEEL_SHA=5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f
LIB_SHA=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
LICENSE_SHA=2f07c72751aed99790b8a4869cf2311df85a860b22ded05fa22803587a48922c

ok() { [ -f "$DEST/$1" ] && [ "$(sha256sum "$DEST/$1" | cut -d' ' -f1)" = "$2" ]; }
if ok libonnxruntime.so "$LIB_SHA" && ok LICENSE "$LICENSE_SHA" && [ -f "$DEST/ThirdPartyNotices.txt" ]; then
  echo "ONNX Runtime $VERSION present in $DEST" >&2
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "scripts/onnxruntime.sh pins the Linux x86_64 wheel; on $(uname -s)-$(uname -m) put a libonnxruntime (>= 1.31) at $DEST/libonnxruntime.so or set MOODLENS_ORT_LIB (moodlens runs on burn meanwhile)" >&2
  exit 1
fi

PY=python3
if ! command -v "$PY" >/dev/null 2>&1 || ! "$PY" -m pip --version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    echo "installing python3-pip (for pip download)" >&2
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-pip
    PY=/usr/bin/python3
  else
    echo "python3 with pip is needed to download onnxruntime from PyPI" >&2
    exit 1
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "downloading onnxruntime $VERSION from PyPI (for its libonnxruntime.so)" >&2
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$TMP" \
  --python-version 3.11 --implementation cp --abi cp311 --platform manylinux_2_28_x86_64 \
  "onnxruntime==$VERSION"
check() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$1: SHA-256 $got, expected $2 (the package changed?)" >&2
    exit 1
  fi
}
check "$TMP/$WHEEL" "$WHEEL_SHA"
"$PY" -m zipfile -e "$TMP/$WHEEL" "$TMP/x"
check "$TMP/x/onnxruntime/capi/libonnxruntime.so.$VERSION" "$LIB_SHA"
check "$TMP/x/onnxruntime/LICENSE" "$LICENSE_SHA"
mkdir -p "$DEST"
cp "$TMP/x/onnxruntime/LICENSE" "$DEST/LICENSE"
cp "$TMP/x/onnxruntime/ThirdPartyNotices.txt" "$DEST/ThirdPartyNotices.txt"
cat > "$DEST/NOTICE.txt" <<NOTICE
libonnxruntime.so: ONNX Runtime $VERSION (CPU), Copyright (c) Microsoft Corporation, MIT licence
(LICENSE; the notices of the software it includes: ThirdPartyNotices.txt), unchanged from
onnxruntime/capi/libonnxruntime.so.$VERSION of PyPI's $WHEEL
(SHA-256 $WHEEL_SHA). Installed by moodlens' scripts/onnxruntime.sh.
NOTICE
# atomically: a half-copied library must never be loaded
cp "$TMP/x/onnxruntime/capi/libonnxruntime.so.$VERSION" "$DEST/.libonnxruntime.so.tmp"
mv "$DEST/.libonnxruntime.so.tmp" "$DEST/libonnxruntime.so"
echo "ONNX Runtime $VERSION written to $DEST" >&2
