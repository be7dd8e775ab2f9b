"""Writes docs/RELIABILITY.md (to stdout) from what `scripts/reliability.sh` left in DIR."""
import json
import os
import sys

D = sys.argv[1]
out = []
w = out.append


def esc(s):
    return s.replace("|", "\\|").strip()


w("# Reliability")
w("")
mt = os.path.join(D, "machine.txt")
machine = dict(l.strip().split("=", 1) for l in open(mt) if "=" in l) if os.path.exists(mt) else {}
w("Regenerated from scratch by `scripts/reliability.sh` (bad inputs through the real release binary, "
  "the proptest fuzz targets, a loopback load test of `moodlens serve`, and `scripts/killtest.sh`); every "
  "row below is what that run printed. "
  + (f"Run {machine.get('date', '?')} at commit {machine.get('commit', '?')} on {machine.get('cores', '?')} "
     f"cores (load average at the start {machine.get('load_before', '?')}); " if machine else
     "Machine: 2 cores (this run did not record its load); ")
  + "commands under `nice -n 5`.")
notes = os.path.join(D, "NOTES.md")
if os.path.exists(notes):
    w("")
    w("**Notes on this run:** " + open(notes).read().strip())
w("")
w("## Bad inputs through the `moodlens` binary")
w("")
w("Exit code, whether it panicked or died on a signal (never, is the requirement), wall time, and the "
  "first lines of the message the user sees.")
w("")
w("| input | command | exit | panic/signal | ms | message |")
w("|---|---|---|---|---|---|")
bad = 0
for line in open(os.path.join(D, "rows.tsv")):
    what, cmd, rc, panic, ms, msg = (line.rstrip("\n").split("\t") + [""] * 6)[:6]
    bad += panic != "no"
    w(f"| {esc(what)} | `{esc(cmd)}` | {rc} | {panic} | {ms} | {esc(msg)} |")
w("")
w(f"Panics, signals or timeouts: **{bad}**.")
w("")
w("## Fuzz targets (proptest, bounded)")
w("")
w("proptest (no nightly needed) instead of cargo-fuzz; each target has a fixed case count so the "
  "run is bounded, and they also run in CI (`cargo test --release --workspace --all-targets`). "
  "Failing inputs would be kept by proptest in `proptest-regressions/` next to the test (the small corpus).")
w("")
w("| target | what it feeds | cases | exit | ms | result |")
w("|---|---|---|---|---|---|")
desc = {
    "fuzz_decode": ("`crates/vision/tests/fuzz_decode.rs`: `load_image`, `sniff_image`, `jpeg_is_complete`, "
                    "`open_input` on arbitrary bytes (.jpg/.png/.bmp/.webp/.avi/.mp4/.webm/.y4m), mutated and "
                    "truncated JPEG/PNG, PNG headers with huge dimensions", "128 x 3 + 12"),
    "fuzz_fer_csv": ("`crates/model/tests/fuzz_fer_csv.rs`: `fer_csv::read_csv` on arbitrary bytes, arbitrary "
                     "rows under a valid header, byte-mutated and truncated valid files", "256 x 3"),
    "fuzz_import": ("`crates/recommend/tests/fuzz_import.rs`: the `TmdbCsv`, `SpotifyCsv`, "
                    "`MovieLens` importers on generated rows (numbers, NaN/inf/1e309, quotes, dates) and raw bytes",
                    "96 x 3"),
    "fuzz_api": ("`crates/web/tests/fuzz_api.rs`: a real `moodlens serve` on loopback: arbitrary query strings "
                 "for `/api/recommend` and `/api/history`, arbitrary bodies for `/api/feedback` and "
                 "`/api/detect` (raw and multipart; random bytes, mutated and truncated photos), arbitrary "
                 "WebSocket text and binary messages; every answer must be 2xx or a 4xx with a JSON error, "
                 "and `/health` must answer afterwards", "96 x 2 + 48 + 64"),
}
fuzz_rows = open(os.path.join(D, "fuzz.tsv")).read().splitlines()
if not fuzz_rows:
    w("| (not run in this run: FUZZ=0) | | | | | |")
for line in fuzz_rows:
    name, rc, ms, res = (line.rstrip("\n").split("\t") + [""] * 4)[:4]
    d, c = desc.get(name, (name, "?"))
    w(f"| {name} | {d} | {c} | {rc} | {ms} | {esc(res)} |")
w("")
w("## Loopback load test of `moodlens serve`")
w("")
lj = os.path.join(D, "load.json")
if os.path.exists(lj):
    L = json.load(open(lj))
    photo = os.path.basename(open(os.path.join(D, "load-photo.txt")).read().strip())
    rd = lambda x: "–" if x is None else f"{x:.1f}"
    c = L["clients"]
    w(f"`scripts/peer/loadtest.py` against `moodlens serve --offline` (release binary, default limits: 2 workers, "
      f"8 live sessions) for {L['seconds']:.0f} s: {c['ws']} WebSocket clients each streaming a real photo "
      f"({photo}) "
      f"as JPEG frames at up to 15 fps and waiting for each reply, {c['flooders']} clients flooding frames as "
      f"fast as the socket takes them, and {c['post']} clients posting the photo to `/api/detect` in a loop. "
      "Server RSS sampled every second.")
    w("")
    w("| measure | value |")
    w("|---|---|")
    ws, fl, po, rss = L["ws"], L["flood"], L["post"], L["rss_mib"]
    w(f"| WebSocket frames sent / replies / timeouts (5 s) | {ws['sent']} / {ws['replies']} / {ws['timeouts']} |")
    w(f"| WebSocket reply latency p50 / p99 | {rd(ws['p50_ms'])} ms / {rd(ws['p99_ms'])} ms |")
    dropped = fl["dropped_fraction"]
    w(f"| flood: frames sent / replies received | {fl['sent']} / {fl['received']} "
      f"({'–' if dropped is None else f'{dropped * 100:.1f}% dropped, not queued'}) |")
    w(f"| `/api/detect` requests / status codes | {po['requests']} / {po['codes']} |")
    w(f"| `/api/detect` latency p50 / p99 | {rd(po['p50_ms'])} ms / {rd(po['p99_ms'])} ms |")
    w(f"| server RSS first / median / max | {rss['first']} / {rss['median']} / {rss['max']} MiB |")
    w(f"| client errors | {L['error_count']} {('(' + '; '.join(L['errors'][:3]) + ')') if L['errors'] else ''} |")
    rd_ = lambda f: open(os.path.join(D, f)).read().strip() if os.path.exists(os.path.join(D, f)) else "?"
    w(f"| server alive after the test / `/health` answered / panics in its log | {rd_('load-server.txt')} / "
      f"{'yes' if rd_('load-health.rc') == '0' else 'no'} / {rd_('load-panics.txt')} |")
    w("")
    w(f"Load test exit code: {rd_('load.rc')} ({'pass' if rd_('load.rc') == '0' else 'FAIL'}: the tool fails when "
      "the server died, a request failed on the connection, or RSS more than doubled).")
else:
    w("(the load test did not run: LOAD=0)")
w("")
w("## kill -9 during training")
w("")
w("`scripts/killtest.sh`: `moodlens train --data ../shared/data/fer2013/fer2013.csv.gz --limit 200 --epochs 4` "
  "run once uninterrupted (the reference, which also times the run), then killed with SIGKILL at random "
  "moments (uniform over the time its remaining epochs should take) and the moment `checkpoint.tmp/` "
  "appears (a checkpoint being written), restarted with `--resume` after every kill (fresh when no "
  "checkpoint existed yet). It passes when every restart loaded its checkpoint, the run completed, at "
  "least one kill landed inside the run, and the per-epoch history equals the reference's exactly.")
w("")
try:
    if os.path.exists(os.path.join(D, "killtest.from")):
        w("This table comes from a separate run of `scripts/killtest.sh` (" +
          open(os.path.join(D, "killtest.from")).read().strip() + "), reused by `KILL_FROM`.")
        w("")
    w(open(os.path.join(D, "killtest.md")).read().rstrip())
    rc = open(os.path.join(D, "killtest.rc")).read().strip()
    w("")
    w(f"Kill test exit code: {rc} ({'pass' if rc == '0' else 'FAIL'}).")
except OSError:
    w("(the kill test did not run)")
w("")
print("\n".join(out))
