#!/usr/bin/env bash
# Regenerates docs/BENCHMARKS.md from scratch: moodlens vs the Python peer pipeline (OpenCV Haar +
# Keras CNN of the same architecture) side by side on the same generated 640x480 videos, cold start,
# classifier latency per engine (burn Flex, ONNX Runtime, OpenCV DNN; scripts/onnxruntime.sh
# installs ONNX Runtime's library), training throughput (burn Flex vs PyTorch CPU vs Keras), peak RSS over a long
# video, and the embedded model's accuracy.
#
#   scripts/bench.sh                 # everything (about 20-30 min on 2 loaded cores)
#   LONG_MINUTES=2 ROUNDS=1 scripts/bench.sh   # quicker
#
# Env: PEER_VENV (default .peer-venv; created from PyPI when missing, PEER_FRESH=1 recreates it),
#      TORCH_PY (python with torch; default: pip-installs PyPI's torch into the peer venv unless
#      /work/torchvenv exists), ROUNDS (alternating rounds per comparison, default 2),
#      FRAMES (default 300), LONG_MINUTES (RSS video, default 10), THREADS (default 2),
#      LONG_FRAMES (overrides the RSS video's frame count), NO_BUILD=1 (use target/release/moodlens),
#      MOODLENS_DATA (shared data, default ../shared/data), NOTES (text put at the top of the doc),
#      TCH_BIN (a moodlens built with `--features tch`: its training throughput is measured too; run
#      with TORCH_PY's torch/lib on LD_LIBRARY_PATH).
# Run it without an outer `nice`: every command inside already runs under `nice -n 5`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NICE=(nice -n 5)
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-2}
FRAMES=${FRAMES:-300}
LONG_MINUTES=${LONG_MINUTES:-10}
DATA=${MOODLENS_DATA:-$ROOT/../shared/data}
export MOODLENS_DATA=$DATA RAYON_NUM_THREADS=$THREADS PEER_THREADS=$THREADS TF_CPP_MIN_LOG_LEVEL=3
OUT=${BENCH_OUT:-$(mktemp -d /tmp/moodlens-bench.XXXXXX)}
mkdir -p "$OUT"
log() { echo "[bench $(date -u +%H:%M:%S)] $*" >&2; }

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "building moodlens (release)"
  "${NICE[@]}" cargo build --release -q -p moodlens
fi
B=$ROOT/target/release/moodlens

PEER_VENV=${PEER_VENV:-$ROOT/.peer-venv}
if [ "${PEER_FRESH:-0}" = 1 ]; then rm -rf "$PEER_VENV"; fi
if [ ! -x "$PEER_VENV/bin/python" ] || ! "$PEER_VENV/bin/python" -c "import cv2, tensorflow" 2>/dev/null; then
  log "creating the peer venv $PEER_VENV from PyPI (opencv-python-headless 4.x, tensorflow-cpu)"
  python3 -m venv "$PEER_VENV"
  "${NICE[@]}" "$PEER_VENV/bin/pip" install -q "opencv-python-headless<5" tensorflow-cpu numpy
fi
PY=$PEER_VENV/bin/python
if [ -z "${TORCH_PY:-}" ]; then
  if [ -x /work/torchvenv/bin/python ]; then TORCH_PY=/work/torchvenv/bin/python
  else
    # PyPI's torch (its Linux wheel also brings CUDA libraries, unused here; only the package
    # registry is reachable from these machines)
    "$PY" -c "import torch" 2>/dev/null || "${NICE[@]}" "$PEER_VENV/bin/pip" install -q torch
    TORCH_PY=$PY
  fi
fi

# Machine facts for the doc.
{
  echo "cores=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
  # running processes only (a stopped one, e.g. a training run paused with SIGSTOP for the
  # benchmark, takes no CPU; ps' %CPU is its lifetime average)
  echo "others=$(ps -eo stat,pcpu,comm --sort=-pcpu | awk 'NR>1 && $1 !~ /^T/ && $2>20 {printf "%s(%s%%) ", $3, $2}')"
} > "$OUT/machine.txt"

log "generating videos and peer weights"
"${NICE[@]}" "$B" bench --make-video "$OUT/one.avi" --faces 1 --frames "$FRAMES"
"${NICE[@]}" "$B" bench --make-video "$OUT/three.avi" --faces 3 --frames "$FRAMES"
"${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py init "$OUT/peer.weights.h5" > "$OUT/peer-init.json" 2>/dev/null

for v in one three; do
  for r in $(seq 1 "$ROUNDS"); do
    log "video $v round $r: moodlens (default), moodlens (--full-scan-every 1), peer"
    "${NICE[@]}" "$B" bench --input "$OUT/$v.avi" --json > "$OUT/ml-$v-$r.json"
    "${NICE[@]}" "$B" bench --input "$OUT/$v.avi" --full-scan-every 1 --json > "$OUT/mlfull-$v-$r.json"
    "${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py video "$OUT/peer.weights.h5" "$OUT/$v.avi" > "$OUT/peer-$v-$r.json" 2>/dev/null
  done
done

log "cold start to first prediction (one photo, whole process)"
PHOTOS=("$DATA"/realfaces/happy/*.jpg)
PHOTO=${PHOTOS[0]}
ms() { local a b; a=$(date +%s%N); "$@" > /dev/null 2>&1; b=$(date +%s%N); echo $(( (b - a) / 1000000 )); }
: > "$OUT/cold.txt"
for r in 1 2 3; do
  echo "moodlens $(ms "${NICE[@]}" "$B" detect "$PHOTO" --json)" >> "$OUT/cold.txt"
  echo "peer $(ms "${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py detect "$OUT/peer.weights.h5" "$PHOTO")" >> "$OUT/cold.txt"
done
"${NICE[@]}" "$B" detect "$PHOTO" --json > "$OUT/cold-moodlens-output.json" 2>/dev/null || true
"${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py detect "$OUT/peer.weights.h5" "$PHOTO" > "$OUT/cold-peer-output.json" 2>/dev/null || true

log "classifier latency (batch 1 and 8) on every engine: burn Flex, ONNX Runtime, OpenCV DNN"
# one pass per face (--no-tta), like the Keras and PyTorch numbers; then as shipped (flip TTA)
bash scripts/onnxruntime.sh
"${NICE[@]}" "$B" bench --classifier --no-tta --json > "$OUT/lat-moodlens.json"
"${NICE[@]}" "$B" bench --classifier --json > "$OUT/lat-moodlens-tta.json"
MOODLENS_ORT_SPIN=1 "${NICE[@]}" "$B" bench --classifier --engine ort --no-tta --json > "$OUT/lat-moodlens-spin.json" 2>/dev/null || echo '[]' > "$OUT/lat-moodlens-spin.json"
"${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py latency "$OUT/peer.weights.h5" > "$OUT/lat-keras.json" 2>/dev/null

for r in $(seq 1 "$ROUNDS"); do
  log "training throughput round $r: burn Flex, PyTorch, Keras"
  "${NICE[@]}" "$B" bench --train --json --iterations 20 > "$OUT/train-burn-$r.json"
  if [ -n "${TCH_BIN:-}" ]; then
    TORCH_LIB=$("$TORCH_PY" -c "import os, torch; print(os.path.join(os.path.dirname(torch.__file__), 'lib'))")
    LD_LIBRARY_PATH=$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} "${NICE[@]}" "$TCH_BIN" bench --train --backend tch --json --iterations 20 > "$OUT/train-tch-$r.json"
  fi
  "${NICE[@]}" "$TORCH_PY" scripts/peer/torch_train.py > "$OUT/train-torch-$r.json" 2>/dev/null
  "${NICE[@]}" "$PY" scripts/peer/peer_pipeline.py train > "$OUT/train-keras-$r.json" 2>/dev/null
done

log "accuracy of the embedded model on PrivateTest"
"${NICE[@]}" "$B" eval --data "$DATA/fer2013/fer2013.csv.gz" --split private-test --no-tta --json > "$OUT/eval.json" 2>/dev/null || echo '{}' > "$OUT/eval.json"
"${NICE[@]}" "$B" eval --data "$DATA/fer2013/fer2013.csv.gz" --split private-test --json > "$OUT/eval-tta.json" 2>/dev/null || echo '{}' > "$OUT/eval-tta.json"
bash scripts/imagenet-weights.sh
"${NICE[@]}" "$B" eval --arch seed-ensemble --weights crates/model/weights/seed-ensemble.bpk --data "$DATA/fer2013/fer2013.csv.gz" --split private-test --json > "$OUT/eval-seed.json" 2>/dev/null || echo '{}' > "$OUT/eval-seed.json"

LONG_FRAMES=${LONG_FRAMES:-$(( LONG_MINUTES * 60 * 30 ))}
log "memory: generating a video ($LONG_FRAMES frames) and sampling RSS while moodlens processes it"
"${NICE[@]}" "$B" bench --make-video "$OUT/long.avi" --faces 1 --frames "$LONG_FRAMES"
"${NICE[@]}" python3 scripts/peer/rss_watch.py 5 "$OUT/rss.json" -- "$B" bench --input "$OUT/long.avi" --json > /dev/null
rm -f "$OUT/long.avi"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

[ -n "${NOTES:-}" ] && echo "$NOTES" > "$OUT/NOTES.md"
python3 scripts/peer/make_bench_doc.py "$OUT" > docs/BENCHMARKS.md
log "wrote docs/BENCHMARKS.md (raw results in $OUT)"
cat docs/BENCHMARKS.md
