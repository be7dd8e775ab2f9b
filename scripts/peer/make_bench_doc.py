"""Writes docs/BENCHMARKS.md (to stdout) from the raw results `scripts/bench.sh` left in DIR.
Every number in the doc comes from those files. Standard library only."""
import glob
import json
import os
import statistics as st
import sys

D = sys.argv[1]


def load(name):
    try:
        with open(os.path.join(D, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def rounds(prefix):
    out = []
    for p in sorted(glob.glob(os.path.join(D, prefix + "-*.json"))):
        try:
            out.append(json.load(open(p)))
        except ValueError:
            pass
    return out


machine = dict(l.strip().split("=", 1) for l in open(os.path.join(D, "machine.txt")) if "=" in l)
med = st.median
lines = []
w = lines.append

w("# Benchmarks")
w("")
w("Regenerated from scratch by `scripts/bench.sh` (this whole file; the numbers are the ones that run")
w("printed, raw JSON kept in its output folder). "
  f"Run {machine.get('date', '?')} at commit {machine.get('commit', '?')}, release build.")
w("")
busy = machine.get("others", "").strip()
# A process above 20% CPU at the start means shared cores; the load average lags (it still counts
# commands that ended just before), so it is reported but not used for this.
idle = not busy
w(f"**Machine: {machine.get('cores', '?')} cores ({machine.get('cpu', '?')}).** Load average "
  f"before {machine.get('load_before', '?')}, after {machine.get('load_after', '?')}; busy processes at the "
  f"start: {busy or 'none'}. "
  + ("No other busy process at the start; absolute numbers still vary with the host (a shared VM). " if idle else
     "Other work used the same cores during these measurements, so absolute numbers are pessimistic and "
     "noisy. ")
  + "The comparisons are **ratios of runs alternated in the same script** (moodlens, then the peer, round "
  "after round). Every command ran under `nice -n 5` with 2 threads "
  "(`RAYON_NUM_THREADS=2`, OpenCV 2 threads, TensorFlow/PyTorch intra-op 2).")
notes = os.path.join(D, "NOTES.md")
if os.path.exists(notes):
    w("")
    w("**Notes on this run:** " + open(notes).read().strip())
w("")
w("## The Python peer")
w("")
init = load("peer-init.json") or {}
peer0 = (rounds("peer-one") or [{}])[0]
w("`scripts/peer/peer_pipeline.py`, installed by the script into a throwaway venv from PyPI "
  f"(opencv-python-headless {peer0.get('opencv', '?')}, tensorflow-cpu {peer0.get('tensorflow', '?')}): "
  "OpenCV Haar (`haarcascade_frontalface_default.xml`) + a Keras CNN with **the same architecture as "
  f"moodlens' compact net** ({init.get('params', '?')} parameters) and **random weights** (speed only). "
  "Haar settings as moodlens' `--detector haar` (320 px detection copy, equalised, scale 1.1, "
  "5 neighbours, min face 0.2), all faces of a frame classified in one batch, like moodlens. moodlens "
  "runs its defaults: the embedded YuNet detector with eye-aligned crops, and the classifier on its "
  "default engine. "
  "OpenCV 5 wheels no longer ship `CascadeClassifier`, hence `opencv-python-headless<5`.")
w("")
w("## End-to-end fps, 640x480 video")
w("")
w("Videos from `moodlens bench --make-video` (MJPG .avi, 30 fps): one face = a realfaces photo at "
  "240 px drifting; three faces = that plus two 160 px photos of other people. moodlens *default* scans the "
  "whole frame every 5th frame and only around tracked faces in between; *full scan* detects on "
  "every frame like the peer.")
w("")
w("| video | frames | moodlens default fps | moodlens full-scan fps | peer fps | default / peer | full scan / peer | faces found (moodlens / peer) |")
w("|---|---|---|---|---|---|---|---|")
fps_summary = {}
for v, label in (("one", "one face"), ("three", "three faces")):
    ml, mf, pe = rounds(f"ml-{v}"), rounds(f"mlfull-{v}"), rounds(f"peer-{v}")
    if not (ml and mf and pe):
        continue
    r1 = [a["fps"] / b["fps"] for a, b in zip(ml, pe)]
    r2 = [a["fps"] / b["fps"] for a, b in zip(mf, pe)]
    fmt = lambda xs: ", ".join(f"{x['fps']:.1f}" for x in xs)
    fps_summary[v] = dict(ml=med([x["fps"] for x in ml]), mf=med([x["fps"] for x in mf]),
                          pe=med([x["fps"] for x in pe]), r1=med(r1), r2=med(r2), ml_runs=ml, pe_runs=pe,
                          mf_runs=mf)
    w(f"| {label} | {ml[0]['frames']} | {fmt(ml)} | {fmt(mf)} | {fmt(pe)} | "
      f"{', '.join(f'{x:.2f}x' for x in r1)} | {', '.join(f'{x:.2f}x' for x in r2)} | "
      f"{ml[0]['face_observations']} / {pe[0]['face_observations']} |")
w("")
w("Per-stage mean milliseconds per frame (first round):")
w("")
w("| video | pipeline | decode | detect | preprocess | classify | track |")
w("|---|---|---|---|---|---|---|")
for v, label in (("one", "one face"), ("three", "three faces")):
    s = fps_summary.get(v)
    if not s:
        continue
    for name, run in (("moodlens default", s["ml_runs"][0]), ("moodlens full scan", s["mf_runs"][0]),
                      ("peer", s["pe_runs"][0])):
        p = run["per_frame_ms"]
        w(f"| {label} | {name} | {p['decode']:.2f} | {p['detect']:.2f} | {p['preprocess']:.3f} | "
          f"{p['classify']:.2f} | {p.get('track', float('nan')):.3f} |" if "track" in p else
          f"| {label} | {name} | {p['decode']:.2f} | {p['detect']:.2f} | {p['preprocess']:.3f} | "
          f"{p['classify']:.2f} | – |")
w("")

w("## Cold start to first prediction")
w("")
cold = {"moodlens": [], "peer": []}
for l in open(os.path.join(D, "cold.txt")):
    k, v = l.split()
    cold[k].append(int(v))
w("Wall time of a whole process that loads the model, reads one photo, detects and classifies its face "
  "and prints the result: `moodlens detect <photo> --json` vs `peer_pipeline.py detect` "
  "(Python start, TensorFlow import, model build, weights load).")
w("")
w("| | runs (ms) | median ms |")
w("|---|---|---|")
for k in ("moodlens", "peer"):
    if cold[k]:
        w(f"| {k} | {', '.join(map(str, cold[k]))} | {med(cold[k]):.0f} |")
if cold["moodlens"] and cold["peer"]:
    w(f"\nmoodlens starts {med(cold['peer']) / med(cold['moodlens']):.1f}x faster.")
w("")

w("## Classifier latency per face (the shipped model's architecture)")
w("")
lat_all = load("lat-moodlens.json") or []
lat_tta = load("lat-moodlens-tta.json") or []
lat_k = load("lat-keras.json") or []
tr_t = rounds("train-torch")
lat_t = tr_t[0]["latency"] if tr_t else []
ENGINE_NAMES = {"burn": "burn Flex", "ort": "ONNX Runtime 1.31", "opencv": "OpenCV DNN 4.6"}
engines = [e for e in ("burn", "ort", "opencv") if any(x.get("engine", "burn") == e for x in lat_all)]
lat_by = {e: [x for x in lat_all if x.get("engine", "burn") == e] for e in engines}
# the default engine (`auto`) is ONNX Runtime when its library is installed
default_engine = "ort" if "ort" in engines else "burn"
lat_ml = lat_by.get(default_engine, [])
w("Median over 200 calls on random crops, after 5 warm-up calls, one pass per face (`--no-tta`); "
  "moodlens = `Classifier::predict` (embedded weights; includes normalisation and softmax) on each "
  "engine, alternated per batch size in one `moodlens bench --classifier` run (the same network exported "
  "to ONNX for ONNX Runtime and OpenCV DNN, docs/ONNX.md), Keras = `model(x, training=False)` "
  "+ softmax, PyTorch = eval mode under `inference_mode` + softmax.")
w("")
w("| batch | " + " | ".join(f"moodlens {ENGINE_NAMES[e]} ms/face (ms/call)" for e in engines)
  + " | Keras ms/face | PyTorch ms/face |")
w("|---|" + "---|" * len(engines) + "---|---|")
for b in (1, 8):
    k = next((x for x in lat_k if x["batch"] == b), None)
    t = next((x for x in lat_t if x["batch"] == b), None)
    f = lambda x: f"{x['median_ms_per_face']:.2f}" if x else "–"
    cells = []
    for e in engines:
        m = next((x for x in lat_by[e] if x["batch"] == b), None)
        cells.append(f"{f(m)} ({m['median_ms_per_call']:.2f})" if m else "–")
    w(f"| {b} | " + " | ".join(cells) + f" | {f(k)} | {f(t)} |")
w("")
if lat_tta:
    spin = load("lat-moodlens-spin.json") or []
    if spin:
        w("")
        w("ONNX Runtime with its threads spinning between operators (`MOODLENS_ORT_SPIN=1`; the default lets "
          "them sleep, which keeps the other core free for detection in the video pipeline), one pass: "
          + ", ".join(f"batch {x['batch']} {x['median_ms_per_face']:.2f} ms per face" for x in spin) + ".")
        w("")
    w("As shipped (the model card's flip TTA: each face and its mirror in one batch), ms per face: "
      + "; ".join(f"{ENGINE_NAMES.get(e, e)} " + ", ".join(
          f"batch {x['batch']} {x['median_ms_per_face']:.2f}" for x in lat_tta if x.get("engine") == e)
          for e in engines) + ".")
    w("")
w(f"The default engine (`--engine auto`) is **{ENGINE_NAMES[default_engine]}**"
  + (" (its library installed by scripts/onnxruntime.sh)" if default_engine == "ort" else "") + ".")
w("")

w("## Training throughput (forward + backward + Adam, batch 64, random 48x48 inputs)")
w("")
tb, tk, tt = rounds("train-burn"), rounds("train-keras"), rounds("train-tch")
w("`moodlens bench --train` (burn 0.22, the compact net, autodiff; Flex, and libtorch through `--backend tch` "
  "when the script found a `--features tch` build) vs `scripts/peer/torch_train.py` "
  f"(PyTorch {tr_t[0]['torch'] if tr_t else '?'} CPU, same layers) vs Keras `fit`; 3 warm-up steps, "
  "20 timed steps, alternated per round.")
w("")
w("| round | burn Flex img/s | burn tch img/s | PyTorch img/s | Keras img/s | Flex / PyTorch | tch / PyTorch |")
w("|---|---|---|---|---|---|---|")
ratios, tch_ratios = [], []
for i, b in enumerate(tb):
    t = tr_t[i] if i < len(tr_t) else None
    k = tk[i] if i < len(tk) else None
    c = tt[i] if i < len(tt) else None
    ips = lambda x: f"{x['images_per_second']:.1f}" if x else "–"
    r = b["images_per_second"] / t["images_per_second"] if t else None
    rc = c["images_per_second"] / t["images_per_second"] if t and c else None
    if r:
        ratios.append(r)
    if rc:
        tch_ratios.append(rc)
    w(f"| {i + 1} | {ips(b)} | {ips(c)} | {ips(t)} | {ips(k)} | "
      f"{f'{r:.2f}x' if r else '–'} | {f'{rc:.2f}x' if rc else '–'} |")
w("")
if tch_ratios and ratios:
    best = "tch" if med(tch_ratios) > med(ratios) else "Flex"
    w(f"Median over rounds: Flex {med(ratios):.2f}x and tch {med(tch_ratios):.2f}x of PyTorch's throughput. "
      f"The faster backend here is **{best}**; `moodlens train --backend tch` needs a build with "
      "`--features tch` against a pip-installed torch 2.9 (docs/MODEL.md), so the default build stays on Flex.")
elif ratios:
    w(f"Median over rounds: Flex {med(ratios):.2f}x of PyTorch's throughput. The `tch` backend was not measured "
      "in this run (set TCH_BIN to a `--features tch` build of moodlens).")
w("")

w("## Accuracy (FER-2013 PrivateTest, 3,589 images)")
w("")
ev = load("eval.json") or {}
w("| model | PrivateTest accuracy | source |")
w("|---|---|---|")
evt = load("eval-tta.json") or {}
evs = load("eval-seed.json") or {}
if "accuracy" in ev:
    w(f"| moodlens embedded (compact, shipped weights), one pass | {100 * ev['accuracy']:.2f}% (macro recall {ev.get('macro_recall', 0):.3f}, n={ev.get('n')}) | `moodlens eval --split private-test --no-tta --json`, this run |")
else:
    w("| moodlens embedded | – (eval failed in this run) | |")
if "accuracy" in evt:
    w(f"| moodlens embedded as shipped (flip TTA) | {100 * evt['accuracy']:.2f}% (macro recall {evt.get('macro_recall', 0):.3f}) | `moodlens eval --split private-test --json`, this run |")
if "accuracy" in evs:
    w(f"| the original design (seed-ensemble: frozen ImageNet MobileNetV2 + EfficientNet-Lite0, 96x96) | {100 * evs['accuracy']:.2f}% (macro recall {evs.get('macro_recall', 0):.3f}) | `moodlens eval --arch seed-ensemble --weights crates/model/weights/seed-ensemble.bpk --split private-test --json`, this run |")
w("| mini-Xception | 66% | published |")
w("| VGG-style single network | 73.28% | published |")
w("| ensembles | ≈76.8% | published |")
w("")

w("## Memory over a long video")
w("")
rss = load("rss.json") or {}
sm = rss.get("samples", [])
try:
    rep = json.loads(rss.get("stdout", "{}"))
except ValueError:
    rep = {}
if sm:
    n = len(sm)
    pick = sorted(set([0, min(2, n - 1), n // 4, n // 2, 3 * n // 4, n - 1]))
    w(f"`moodlens bench --input <{rep.get('frames', '?')}-frame 640x480 video>` "
      f"({rep.get('frames', 0) / 30 / 60:.1f} minutes at 30 fps, processed in {rss.get('seconds', 0):.0f} s, "
      f"{rep.get('fps', 0):.1f} fps), VmRSS sampled every 5 s by `scripts/peer/rss_watch.py`:")
    w("")
    w("| t (s) | RSS MiB |")
    w("|---|---|")
    for i in pick:
        w(f"| {sm[i]['t']} | {sm[i]['rss_mib']} |")
    warm = sm[min(2, n - 1)]["rss_mib"]
    late = max(x["rss_mib"] for x in sm[n // 2:])
    w("")
    w(f"Peak RSS (VmHWM) {rss.get('peak_rss_mib')} MiB. RSS after warm-up {warm} MiB, highest in the second "
      f"half {late} MiB: growth {late - warm:+.1f} MiB over {len(sm)} samples -> "
      f"{'**flat**' if late - warm < 0.1 * warm + 5 else '**grows**'}.")
else:
    w("(no RSS samples in this run)")
w("")

w("## Targets")
w("")
one = fps_summary.get("one", {})
three = fps_summary.get("three", {})
def mark(ok):
    return "met" if ok else "**not met**"
if one:
    w(f"- ≥ 3x the Python pipeline's fps: one face {one['r1']:.2f}x (full scan {one['r2']:.2f}x), "
      f"three faces {three.get('r1', float('nan')):.2f}x: {mark(one['r1'] >= 3 and three.get('r1', 0) >= 3)}.")
    w(f"- ≥ 60 fps with one face on 2 cores: {one['ml']:.1f} fps (median): {mark(one['ml'] >= 60)}.")
if lat_ml:
    b1 = next(x for x in lat_ml if x["batch"] == 1)
    w(f"- Classifier ≤ 2 ms per face: {b1['median_ms_per_face']:.2f} ms at batch 1 ({ENGINE_NAMES[default_engine]}, "
      f"the default engine, one pass): {mark(b1['median_ms_per_face'] <= 2)}.")
    spin1 = next((x for x in (load("lat-moodlens-spin.json") or []) if x["batch"] == 1), None)
    if spin1:
        w(f"  With `MOODLENS_ORT_SPIN=1`: {spin1['median_ms_per_face']:.2f} ms "
          f"({mark(spin1['median_ms_per_face'] <= 2)}), at a cost to the video pipeline's fps, so not the default.")
    pt1 = next((x for x in lat_t if x["batch"] == 1), None)
    if pt1:
        w(f"- Classifier below PyTorch's in the same run: {b1['median_ms_per_face']:.2f} vs "
          f"{pt1['median_ms_per_face']:.2f} ms at batch 1: {mark(b1['median_ms_per_face'] < pt1['median_ms_per_face'])}.")
if cold["moodlens"]:
    w(f"- Cold start < 0.5 s: {med(cold['moodlens']) / 1000:.2f} s: {mark(med(cold['moodlens']) < 500)}.")
w("")
w("### Where the gaps come from")
w("")
if one:
    p, q = one["ml_runs"][0]["per_frame_ms"], one["pe_runs"][0]["per_frame_ms"]
    pf = one["mf_runs"][0]["per_frame_ms"]
    tot = 1000 / one["ml"]
    stages = p["decode"] + p["detect"] + p["preprocess"] + p["classify"] + p["track"]
    w(f"- One face, moodlens default: {tot:.1f} ms per frame end to end (wall clock). Decoding and detection "
      "of the next frame run on a second thread while the current frame is classified "
      "(`Pipeline::run`), so the stage times overlap: detect {:.1f} ms, classify {:.1f} ms, decode {:.1f}, "
      "preprocess {:.2f}, track {:.3f} per frame add up to {:.1f} ms. Run side by side, both halves slow "
      "each other down on 2 cores (compare the classifier latency below, measured alone)."
      .format(p["detect"], p["classify"], p["decode"], p["preprocess"], p["track"], stages))
    w(f"- Detection: a full scan costs {pf['detect']:.1f} ms with moodlens' YuNet and {q['detect']:.1f} ms with "
      f"the peer's Haar cascade; moodlens also scans less (region scans between full scans: {p['detect']:.1f} ms) "
      f"and overlaps detection with classification; its classifier call per frame takes {p['classify']:.1f} ms "
      f"against the peer's Keras call's {q['classify']:.1f} ms.")
    pt1 = next((x for x in lat_t if x["batch"] == 1), None)
    if one["r1"] < 3:
        budget = (1000 / one["pe"]) / 3
        w(f"- 3x the peer on one face means at most {budget:.1f} ms per frame (the peer takes "
          f"{1000 / one['pe']:.1f} ms); moodlens takes {tot:.1f} ms. The classifier ({ENGINE_NAMES[default_engine]} at batch 1) is "
          "the longer of the two overlapped halves.")
if three:
    p3 = three["ml_runs"][0]["per_frame_ms"]
    w(f"- Three faces ({1000 / three['ml']:.1f} ms per frame, {three['r1']:.2f}x the peer): region scans help "
      f"less (three regions to scan: detect {p3['detect']:.1f} ms) and the classifier runs a batch of 3 "
      f"({p3['classify']:.1f} ms per frame while detection runs beside it); both halves are about equally "
      "long" + ("." if three["r1"] >= 3 else ", so neither overlap nor scanning less brings this case to 3x: "
      "it needs a faster classifier (see the classifier latency against PyTorch's on the same network)."))
if lat_ml:
    b1 = next(x for x in lat_ml if x["batch"] == 1)
    pt1 = next((x for x in lat_t if x["batch"] == 1), None)
    burn1 = next((x for x in lat_by.get("burn", []) if x["batch"] == 1), None)
    w(f"- Classifier latency: {b1['median_ms_per_face']:.2f} ms per face at batch 1 on {ENGINE_NAMES[default_engine]}"
      + (f" against {burn1['median_ms_per_face']:.2f} ms on burn Flex" if burn1 and default_engine != "burn" else "")
      + (f" and PyTorch's {pt1['median_ms_per_face']:.2f} ms" if pt1 else "")
      + " in this run. burn's Flex convolutions are the slow part at batch 1 (/work/shared/BURN-0.22.md: "
      "6.1-6.6 ms idle, PyTorch 2.7-2.9 ms); the network costs about 0.23 GFLOP per face, so about 1.2-1.5 ms "
      "on two AVX2 cores is the floor in fp32.")
if not idle:
    w("- These numbers come from a machine whose 2 cores were shared with other work; on an idle machine "
      "absolute fps are higher.")
else:
    w("- Absolute times vary with the host between runs (a shared VM: the same binary's classifier latency "
      "differs from run to run); the ratios are taken within a run, alternating the pipelines.")
print("\n".join(lines))
