#!/usr/bin/env bash
# The README's test command: runs the whole workspace's tests (release mode: the model tests are heavy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
cargo test --release --workspace --all-targets
