#!/usr/bin/env bash
# Regenerates docs/RELIABILITY.md from scratch: runs the real `moodlens` binary on bad inputs and
# records what happened, runs the bounded proptest fuzz targets, and the kill -9 training test
# (scripts/killtest.sh). Every row of the doc is what this run printed.
#
#   scripts/reliability.sh            # about 5-10 min on 2 loaded cores
#   KILLS=3 scripts/reliability.sh    # fewer kills
# Env: NO_BUILD=1 (use the existing target/release/moodlens), FUZZ=0 / KILL=0 (skip those parts),
#      KILL_FROM=<prefix> (use <prefix>.md/.log written by an earlier scripts/killtest.sh run),
#      REL_OUT (work folder), MOODLENS_DATA, NOTES (text put at the top of the doc).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NICE=(nice -n 5)
DATA=${MOODLENS_DATA:-$ROOT/../shared/data}
export MOODLENS_DATA=$DATA RAYON_NUM_THREADS=${THREADS:-2}
OUT=${REL_OUT:-$(mktemp -d /tmp/moodlens-rel.XXXXXX)}
mkdir -p "$OUT"
export MOODLENS_DB=$OUT/test.db
log() { echo "[reliability $(date -u +%H:%M:%S)] $*" >&2; }

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "building moodlens (release)"
  "${NICE[@]}" cargo build --release -q -p moodlens
fi
B=$ROOT/target/release/moodlens
{
  echo "cores=$(nproc)"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "date=$(date -u +%Y-%m-%dT%H:%MZ)"
  echo "commit=$(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty')"
} > "$OUT/machine.txt"
PHOTOS=("$DATA"/realfaces/happy/*.jpg)
PHOTO=${PHOTOS[0]}
F=$OUT/inputs
mkdir -p "$F"

# ---- bad inputs -------------------------------------------------------------------------------
head -c $(( $(stat -c %s "$PHOTO") / 2 )) "$PHOTO" > "$F/truncated.jpg"
echo "this is not an image" > "$F/text-as.png"
: > "$F/empty.jpg"
: > "$F/zero-length.mp4"
head -c 20000 /dev/urandom > "$F/random-bytes.avi"
head -c 20000 /dev/urandom > "$F/random-bytes.jpg"
python3 - "$F" <<'PY'
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
open(f"{d}/huge-dimensions.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
    chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
# JPEG SOF0 announcing 60000x60000
jpg = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
sof = bytes.fromhex("ffc0000b08") + struct.pack(">HH", 60000, 60000) + bytes.fromhex("01011100")
open(f"{d}/huge-dimensions.jpg", "wb").write(jpg + sof + bytes.fromhex("ffda0008010100003f00") + b"\x00" * 32 + b"\xff\xd9")
PY
# A face photo with its middle bytes scrambled (complete markers, corrupt entropy data).
python3 - "$PHOTO" "$F/scrambled.jpg" <<'PY'
import random, sys
b = bytearray(open(sys.argv[1], "rb").read())
r = random.Random(1)
for i in range(len(b) // 3, 2 * len(b) // 3, 7):
    b[i] = r.randrange(256)
open(sys.argv[2], "wb").write(bytes(b))
PY
cp "$PHOTO" "$F/photo-named.mp4"
# A one-second video without faces.
"${NICE[@]}" python3 - "$F/noface.y4m" <<'PY'
import sys
w, h = 160, 120
with open(sys.argv[1], "wb") as f:
    f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
    for i in range(30):
        f.write(b"FRAME\n" + bytes([90 + i]) * (w * h) + bytes([128]) * (w * h // 2))
PY
# FER CSVs: 10% malformed rows (tolerated), mostly malformed (refused), wrong header, truncated gzip.
python3 - "$F" "$DATA/fer2013/fer2013.csv.gz" <<'PY'
import gzip, sys
d, src = sys.argv[1], sys.argv[2]
with gzip.open(src, "rt") as f:
    header = f.readline()
    rows = [f.readline() for _ in range(400)]
bad = ["9," + rows[0].split(",", 1)[1], "3,1 2 3,Training\n", "x,y\n", "3," + "300 " * 2304 + ",Training\n",
       "3,\xff\xfe,PublicTest\n", rows[1].replace("Training", "Somewhere")]
mixed = [header] + [bad[i % len(bad)] if i % 10 == 0 else r for i, r in enumerate(rows)]
open(f"{d}/fer-10pct-bad.csv", "w", encoding="utf-8", errors="surrogateescape").writelines(mixed)
few = [header] + [bad[(i // 100) % len(bad)] if i % 100 == 0 else r for i, r in enumerate(rows)]
open(f"{d}/fer-1pct-bad.csv", "w", encoding="utf-8", errors="surrogateescape").writelines(few)
open(f"{d}/fer-mostly-bad.csv", "w").writelines([header] + [bad[i % 3 + 1] for i in range(50)] + rows[:5])
open(f"{d}/fer-wrong-header.csv", "w").writelines(["label,data,split\n"] + rows[:20])
raw = open(src, "rb").read(30000)
open(f"{d}/fer-truncated.csv.gz", "wb").write(raw)
open(f"{d}/fer-empty.csv", "w").close()
with open(f"{d}/fer-invalid-utf8.csv", "wb") as f:
    f.write(header.encode())
    for i, r in enumerate(rows[:100]):
        f.write(b"3,\xff\xfe 1,Training\n" if i == 50 else r.encode())
PY
# Catalogs.
printf 'id,title,genre,vote_average,vote_count,release_date\n1,,Drama,7,100,2000-01-01\nx,T,Drama,7,100,2000\n5,Ok,"Drama,Nonsense",7.5,300,1999-05-01\n6,Bad,Drama,99,1,2000\n7,"unclosed,Drama,7,1,2000\n8,NaN,Drama,NaN,inf,2000-13-45\n' > "$F/tmdb-bad-rows.csv"
printf 'a,b\n1,2\n' > "$F/tmdb-missing-columns.csv"
head -c 5000 /dev/urandom > "$F/spotify-binary.csv"
printf 'track_id,track_name,track_artist,valence,energy,danceability,speechiness,acousticness,instrumentalness,loudness,tempo,genre\nshort,Bad Id,X,0.5,0.6,0.5,0.3,0,0,-7.7,158,pop\n3AJwUDP919kvQ9QcozQPxg,Yellow,Coldplay,abc,0.6,0.5,0.3,0,0,-7.7,158,rock\n3AJwUDP919kvQ9QcozQPxh,Too Few\n3AJwUDP919kvQ9QcozQPxi,Huge,X,1e309,-5,0.5,0.3,0,0,-7.7,NaN,pop\n5e6x5YRnMJIKvYpZxLqdpH,Fortunate Son,CCR,0.43,0.75,0.64,0.06,0.29,0,-3.8,132,rock\n' > "$F/spotify-bad-rows.csv"
mkdir -p "$F/movielens-empty-dir"
mkdir -p "$F/movielens-bad"
printf 'movieId,title,genres\n1,Toy Story (1995),Animation|Children\n2,,Drama\nx,Broken (19xx),\n3,"Unclosed (2000),Drama\n' > "$F/movielens-bad/movies.csv"
printf 'movieId,imdbId,tmdbId\n1,114709,862\n1,,notanumber\n' > "$F/movielens-bad/links.csv"
printf 'userId,movieId,rating,timestamp\n1,1,4.0,1\n1,1,NaN,2\n1,1,-7,3\nzz\n' > "$F/movielens-bad/ratings.csv"
head -c 3000 /dev/urandom > "$F/garbage-weights.bpk"

ROWS=$OUT/rows.tsv
: > "$ROWS"
run_case() { # what, command...
  local what=$1; shift
  local t0 t1 rc
  t0=$(date +%s%N)
  set +e
  timeout 120 "${NICE[@]}" "$@" > "$OUT/case.out" 2> "$OUT/case.err"
  rc=$?
  t1=$(date +%s%N)
  local panic=no
  grep -q "panicked at" "$OUT/case.err" && panic=PANIC
  [ "$rc" -ge 128 ] && panic="SIGNAL $((rc - 128))"
  [ "$rc" -eq 124 ] && panic="TIMEOUT"
  local msg
  msg=$(grep -E "^error" "$OUT/case.err" | head -2)
  [ -z "$msg" ] && msg=$(grep -v '^\s*$' "$OUT/case.err" | grep -iE "error|warn|refus|skip|reject|bad|no face|malformed" | head -2)
  msg=$(echo "$msg" | sed 's/\x1b\[[0-9;]*m//g' | tr '\n' ' ' | cut -c1-220)
  [ -z "$msg" ] && msg=$(head -c 200 "$OUT/case.out" | tr '\n' ' ')
  local cmd="${*/#$B/moodlens}"
  cmd=${cmd//$F\//}
  cmd=${cmd//$DATA/..\/shared\/data}
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$what" "$cmd" "$rc" "$panic" "$(( (t1 - t0) / 1000000 ))" "$msg" >> "$ROWS"
  log "$what: rc $rc $panic"
  set -e
}
cd "$F"
run_case "truncated JPEG (first half of a photo)" "$B" detect truncated.jpg --json
run_case "text file named .png" "$B" detect text-as.png --json
run_case "empty .jpg" "$B" detect empty.jpg --json
run_case "random bytes named .jpg" "$B" detect random-bytes.jpg --json
run_case "JPEG with scrambled entropy data" "$B" detect scrambled.jpg --json
run_case "PNG header announcing 100000x100000" "$B" detect huge-dimensions.png --json
run_case "JPEG header announcing 60000x60000" "$B" detect huge-dimensions.jpg --json
run_case "missing file" "$B" detect does-not-exist.jpg --json
run_case "a good photo plus a truncated one" "$B" detect "$PHOTO" truncated.jpg --json
run_case "zero-length video (detect)" "$B" detect zero-length.mp4 --json
run_case "zero-length video (live)" "$B" live --headless --input zero-length.mp4 --no-recommend
run_case "random bytes named .avi (live)" "$B" live --headless --input random-bytes.avi --no-recommend
run_case "JPEG photo named .mp4 (live)" "$B" live --headless --input photo-named.mp4 --no-recommend
run_case "video without faces (live)" "$B" live --headless --input noface.y4m --no-recommend
run_case "missing camera" "$B" live --headless --camera 7 --no-recommend
run_case "garbage --weights file" "$B" detect "$PHOTO" --weights garbage-weights.bpk
run_case "FER CSV with 1% malformed rows (eval)" "$B" eval --data fer-1pct-bad.csv --split training --json
run_case "FER CSV with 10% malformed rows (eval)" "$B" eval --data fer-10pct-bad.csv --split training --json
run_case "FER CSV mostly malformed (eval)" "$B" eval --data fer-mostly-bad.csv --split training
run_case "FER CSV with a wrong header" "$B" eval --data fer-wrong-header.csv
run_case "truncated .csv.gz" "$B" eval --data fer-truncated.csv.gz
run_case "empty FER CSV" "$B" eval --data fer-empty.csv
run_case "FER CSV with one non-UTF-8 row" "$B" eval --data fer-invalid-utf8.csv --split training --json
run_case "missing FER data path (train)" "$B" train --data nowhere.csv --out "$OUT/run-missing" --epochs 1
run_case "TMDb CSV with bad rows" "$B" catalog import tmdb-csv tmdb-bad-rows.csv
run_case "TMDb CSV without the needed columns" "$B" catalog import tmdb-csv tmdb-missing-columns.csv
run_case "binary garbage as Spotify CSV" "$B" catalog import spotify-csv spotify-binary.csv
run_case "Spotify CSV with bad rows" "$B" catalog import spotify-csv spotify-bad-rows.csv
run_case "MovieLens folder without files" "$B" catalog import movielens movielens-empty-dir
run_case "MovieLens folder with bad rows" "$B" catalog import movielens movielens-bad
cd "$ROOT"

# ---- proptest fuzz targets (bounded case counts) ---------------------------------------------
log "proptest fuzz targets"
FUZZ_TSV=$OUT/fuzz.tsv
: > "$FUZZ_TSV"
for t in "moodlens-vision fuzz_decode" "moodlens-model fuzz_fer_csv" "moodlens-recommend fuzz_import" "moodlens-web fuzz_api"; do
  [ "${FUZZ:-1}" = 1 ] || break
  set -- $t
  a=$(date +%s%N)
  set +e
  "${NICE[@]}" cargo test --release -q -p "$1" --test "$2" > "$OUT/fuzz-$2.log" 2>&1
  rc=$?
  set -e
  b=$(date +%s%N)
  res=$(grep -E "^test result" "$OUT/fuzz-$2.log" | tail -1)
  printf '%s\t%s\t%s\t%s\n' "$2" "$rc" "$(( (b - a) / 1000000 ))" "$res" >> "$FUZZ_TSV"
done

# ---- loopback load test of moodlens serve -------------------------------------------------------
if [ "${LOAD:-1}" = 1 ]; then
  log "load test of moodlens serve (${LOAD_SECONDS:-60} s)"
  LOAD_VENV=${PEER_VENV:-$ROOT/.peer-venv}
  if ! "$LOAD_VENV/bin/python" -c "import websockets, psutil" 2>/dev/null; then
    python3 -m venv "$LOAD_VENV"
    "$LOAD_VENV/bin/pip" install -q websockets psutil
  fi
  echo "$PHOTO" > "$OUT/load-photo.txt"
  PORT=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  "${NICE[@]}" "$B" serve --port "$PORT" --offline --db "$OUT/serve.db" > "$OUT/serve.log" 2>&1 &
  SPID=$!
  for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && break
    sleep 0.5
  done
  set +e
  "$LOAD_VENV/bin/python" scripts/peer/loadtest.py --url "http://127.0.0.1:$PORT" --image "$PHOTO" \
    --ws-clients "${LOAD_WS:-6}" --flooders "${LOAD_FLOOD:-2}" --post-clients "${LOAD_POST:-4}" \
    --seconds "${LOAD_SECONDS:-60}" --pid "$SPID" --json "$OUT/load.json" > "$OUT/load.out" 2>&1
  echo "$?" > "$OUT/load.rc"
  curl -sf "http://127.0.0.1:$PORT/health" > "$OUT/load-health.json"; echo "$?" > "$OUT/load-health.rc"
  kill -0 "$SPID" 2>/dev/null && echo alive > "$OUT/load-server.txt" || echo dead > "$OUT/load-server.txt"
  kill "$SPID"; wait "$SPID" 2>/dev/null
  echo "$?" > "$OUT/load-server-exit.txt"
  grep -ciE "panicked" "$OUT/serve.log" > "$OUT/load-panics.txt"
  set -e
fi

# ---- kill -9 during training ---------------------------------------------------------------------
log "kill -9 training test"
if [ -n "${KILL_FROM:-}" ]; then
  # Reuse the output of an earlier `scripts/killtest.sh > OUT.md 2> OUT.log` run (the doc says so).
  cp "$KILL_FROM.md" "$OUT/killtest.md"
  grep -q '\] PASS$' "$KILL_FROM.log" && echo 0 > "$OUT/killtest.rc" || echo 1 > "$OUT/killtest.rc"
  echo "$KILL_FROM (run at $(date -u -r "$KILL_FROM.md" +%Y-%m-%dT%H:%MZ))" > "$OUT/killtest.from"
elif [ "${KILL:-1}" = 1 ]; then
  set +e
  KILLOUT=$OUT/kill scripts/killtest.sh > "$OUT/killtest.md" 2> "$OUT/killtest.log"
  echo "$?" > "$OUT/killtest.rc"
  set -e
fi

[ -n "${NOTES:-}" ] && echo "$NOTES" > "$OUT/NOTES.md"
python3 scripts/peer/make_reliability_doc.py "$OUT" > docs/RELIABILITY.md
log "wrote docs/RELIABILITY.md (raw output in $OUT)"
