#!/usr/bin/env bash
# The README's demo command: installs the system packages the build needs when missing, builds the
# release binary, then runs moodlens on its embedded defaults (model weights and catalogs built into
# the binary; no keys, no network): a live webcam session when a camera is present, otherwise the
# manual mood selection. Extra arguments go to `moodlens` instead (e.g. `detect photo.jpg`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust from https://rustup.rs (rustup, stable toolchain)" >&2
  exit 1
fi
cargo build --release -p moodlens
bin=./target/release/moodlens
if [ $# -gt 0 ]; then
  exec "$bin" "$@"
fi
if [ -e /dev/video0 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  echo "Webcam found: press q or Esc in the window to end the session." >&2
  exec "$bin" live
fi
echo "No webcam/display here: choose a mood by hand (or run: bash scripts/demo.sh detect <photo>)." >&2
exec "$bin" recommend
