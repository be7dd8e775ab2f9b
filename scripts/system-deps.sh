#!/usr/bin/env bash
# Installs the system packages the build needs (OpenCV with headers, clang/libclang for the opencv
# crate's binding generator, pkg-config) and the web app's end-to-end tests need (chromium,
# chromium-driver) when any is missing. Idempotent; Debian/Ubuntu (apt).
set -euo pipefail
pkgs=(libopencv-dev clang libclang-dev pkg-config chromium chromium-driver)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages: ${missing[*]} (install OpenCV 4 dev files, clang and libclang)" >&2
    exit 1
  fi
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  echo "installing system packages: ${missing[*]}" >&2
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  # (Ubuntu ships chromium as a snap stub; the e2e tests then need a chromium/chromedriver on PATH.)
fi
