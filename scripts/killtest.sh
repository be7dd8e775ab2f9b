#!/usr/bin/env bash
# kill -9 test for training checkpoints: first an uninterrupted `moodlens train --limit 200
# --epochs 4` on FER-2013 (the reference, and its wall time T), then the same run killed with SIGKILL
# at random moments (uniform over the time the remaining epochs should take, from T) and right when a
# checkpoint is being written (checkpoint.tmp/ exists), several times, resuming with --resume after
# each kill; then checks that the checkpoint always loaded, the run completed with all epochs, and
# its history equals the reference's. Prints a Markdown table on stdout, progress on stderr.
# Env: KILLS (random kills, default 4), CKPT_KILLS (kills during checkpoint writing, default 4),
#      EPOCHS (default 4), LIMIT (images per split and class, default 200), KILL_NICE,
#      KILLOUT (work folder), MOODLENS_DATA.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
B=$ROOT/target/release/moodlens
DATA=${MOODLENS_DATA:-$ROOT/../shared/data}
W=${KILLOUT:-$(mktemp -d /tmp/moodlens-kill.XXXXXX)}
rm -rf "$W"; mkdir -p "$W"
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-2}
EPOCHS=${EPOCHS:-4}
ARGS=(--data "$DATA/fer2013/fer2013.csv.gz" --limit "${LIMIT:-200}" --epochs "$EPOCHS" --batch-size 32 --seed 7 --patience 10)
RUN=$W/run
log() { echo "[killtest $(date -u +%H:%M:%S)] $*" >&2; }

PID=
start() { # resume-or-fresh; sets PID
  local extra=()
  if [ -d "$RUN/checkpoint" ] || [ -d "$RUN/checkpoint.old" ]; then extra=(--resume); fi
  echo "== start ${extra[*]:-fresh}" >> "$W/train.log"
  nice -n "${KILL_NICE:-5}" "$B" train "${ARGS[@]}" --out "$RUN" "${extra[@]}" >> "$W/train.log" 2>&1 &
  PID=$!
}
state() {
  local s=""
  for d in checkpoint checkpoint.tmp checkpoint.old; do [ -d "$RUN/$d" ] && s="$s $d/"; done
  echo "${s:- (nothing yet)}"
}
epochs_done() {
  local d
  for d in checkpoint checkpoint.old; do
    if [ -f "$RUN/$d/state.json" ]; then python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['epochs_done'])" "$RUN/$d/state.json" 2>/dev/null && return; fi
  done
  echo 0
}

log "uninterrupted reference run"
a=$(date +%s%N)
nice -n "${KILL_NICE:-5}" "$B" train "${ARGS[@]}" --out "$W/reference" > "$W/reference.log" 2>&1
T_MS=$(( ($(date +%s%N) - a) / 1000000 ))
log "reference run: ${T_MS} ms"
echo "Uninterrupted reference run: $(( T_MS / 1000 )).$(( T_MS % 1000 / 100 )) s for $EPOCHS epochs."
echo
echo "| # | kill moment | after the kill on disk | epochs in checkpoint | next start |"
echo "|---|---|---|---|---|"
n=0
ok=1
kill_one() { # mode
  local mode=$1 pid t
  if [ "$mode" = ckpt ] && [ -d "$RUN/checkpoint.tmp" ]; then
    # A half-written checkpoint left by an earlier kill: the next save removes it anyway; moved
    # aside here so that the wait below sees the new process's own write.
    mv "$RUN/checkpoint.tmp" "$W/stale-checkpoint.tmp.$n"
  fi
  start; pid=$PID
  if [ "$mode" = ckpt ]; then
    # Every other time, let one checkpoint complete first (so the kill also hits the renames of an
    # existing checkpoint/ to checkpoint.old/); then wait until a checkpoint is being written.
    if [ $(( n % 2 )) = 1 ]; then
      while kill -0 "$pid" 2>/dev/null && [ ! -d "$RUN/checkpoint.tmp" ]; do sleep 0.005; done
      while kill -0 "$pid" 2>/dev/null && [ -d "$RUN/checkpoint.tmp" ]; do sleep 0.005; done
    fi
    while kill -0 "$pid" 2>/dev/null && [ ! -d "$RUN/checkpoint.tmp" ]; do sleep 0.005; done
    # a few ms into the write, randomly
    sleep "0.0$(( RANDOM % 5 ))"
    t="during checkpoint writing"
  else
    # uniform over the time the remaining epochs should take (plus start-up), from the reference
    local left=$(( EPOCHS - $(epochs_done) ))
    t=$(awk -v T="$T_MS" -v r="$RANDOM" -v left="$left" -v e="$EPOCHS" \
      'BEGIN { printf "%.2f", 0.3 + (r / 32767) * (T / 1000) * left / e }')
    sleep "$t"
    t="random, ${t} s after start"
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    n=$((n + 1))
    local st; st=$(state)
    local ep; ep=$(epochs_done)
    echo "| $n | $t | $st | $ep | $( [ "$ep" = 0 ] && [ ! -d "$RUN/checkpoint" ] && [ ! -d "$RUN/checkpoint.old" ] && echo fresh || echo '--resume') |"
    log "kill $n ($t): on disk:$st, epochs $ep"
  else
    wait "$pid"; log "the run ended before the kill ($t)"
  fi
}
for i in $(seq 1 "${KILLS:-4}"); do
  [ "$(epochs_done)" -ge "$EPOCHS" ] && break
  kill_one random
done
for i in $(seq 1 "${CKPT_KILLS:-4}"); do
  [ "$(epochs_done)" -ge "$EPOCHS" ] && break
  kill_one ckpt
done
log "final resume to completion"
start; wait "$PID"; rc=$?
echo
echo "Final run ($(grep '^== start' "$W/train.log" | tail -1 | cut -c10-)): exit code $rc; epochs in checkpoint: $(epochs_done); starts: $(grep -c '^== start' "$W/train.log") ($(grep -c '^== start --resume' "$W/train.log") with --resume); checkpoint load errors: $(grep -ciE 'cannot read or apply|bad state file' "$W/train.log")."
grep -E "error|panicked" "$W/train.log" | sed 's/\x1b\[[0-9;]*m//g' | sort | uniq -c | sed 's/^/    /' | head -5
[ "$rc" = 0 ] && [ "$(epochs_done)" = "$EPOCHS" ] || ok=0
[ "$n" -gt 0 ] || { log "no kill landed inside the run"; ok=0; }

python3 - "$RUN/history.json" "$W/reference/history.json" <<'PY'
import json, sys
try:
    a, b = (json.load(open(p)) for p in sys.argv[1:3])
except Exception as e:
    print(f"\nHistory comparison impossible: {e}")
    sys.exit(3)
def rows(h):
    h = h.get("history", []) if isinstance(h, dict) else h
    return [(r["epoch"], round(r["val_accuracy"], 6), round(r["train_loss"], 6)) for r in h]
ra, rb = rows(a), rows(b)
print("\n| epoch | killed+resumed: val acc, train loss | uninterrupted: val acc, train loss |")
print("|---|---|---|")
for x, y in zip(ra, rb):
    print(f"| {x[0]} | {x[1]}, {x[2]} | {y[1]}, {y[2]} |")
print(f"\nIdentical histories: {'yes' if ra == rb else 'no'}.")
sys.exit(0 if ra == rb and ra else 3)
PY
[ $? = 0 ] || ok=0
[ "$ok" = 1 ] && log "PASS" || { log "FAIL"; exit 1; }
