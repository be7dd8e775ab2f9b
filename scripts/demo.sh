#!/usr/bin/env bash
# The README's demo command: installs the system packages the build needs when missing, builds the
# release binary, then runs moodlens on its embedded defaults (model weights and catalogs built into
# the binary; no keys, no network): the local web app in the browser when a display is present,
# otherwise the manual mood selection. Extra arguments go to `moodlens` instead (e.g. `detect photo.jpg`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust from https://rustup.rs (rustup, stable toolchain)" >&2
  exit 1
fi
# ONNX Runtime's library from PyPI, the fastest classifier engine (docs/ONNX.md); without it
# moodlens classifies on burn.
bash scripts/onnxruntime.sh || echo "note: ONNX Runtime not installed; moodlens classifies with burn" >&2
cargo build --release -p moodlens
bin=./target/release/moodlens
if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  echo "Starting the local web app (127.0.0.1) in your browser; Ctrl-C here to stop." >&2
  exec "$bin" serve --open
fi
echo "No display here: choose a mood by hand (or: bash scripts/demo.sh detect <photo> | live --input <video> --headless | serve)." >&2
exec "$bin" recommend
