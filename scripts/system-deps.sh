#!/usr/bin/env bash
# Installs the system packages the build needs (OpenCV with headers, clang/libclang for the opencv
# crate's binding generator, pkg-config) and the tests need (chromium and chromium-driver for the web
# app's end-to-end tests; opencv-doc, whose sample photos are the face-free set of the detector
# tests) when any is missing. Nothing here is read by the binary at run time. Idempotent;
# Debian/Ubuntu (apt).
set -euo pipefail
pkgs=(libopencv-dev clang libclang-dev pkg-config opencv-doc chromium chromium-driver)
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
  base=() browser=()
  for p in "${missing[@]}"; do
    case "$p" in chromium*) browser+=("$p") ;; *) base+=("$p") ;; esac
  done
  if [ ${#base[@]} -gt 0 ]; then
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${base[@]}"
  fi
  # Chromium with its recommended packages (fonts etc.), as on the machines the e2e tests ran on.
  if [ ${#browser[@]} -gt 0 ]; then
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${browser[@]}"
  fi
  # (Ubuntu ships chromium as a snap stub; the e2e tests then need a chromium/chromedriver on PATH.)
fi
