// moodlens page: camera session over a WebSocket, photo upload, manual mood, recommendations,
// feedback, likes and history. Plain JS, no build step. Data from the server is inserted as text only.
"use strict";

const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
// box and bar colours
const COLORS = {
  angry: "#d62728", disgust: "#8c564b", fear: "#9467bd", happy: "#f2b705",
  sad: "#1f77b4", surprise: "#17becf", neutral: "#7f7f7f",
};
// label text on the overlay's (opaque) label box: each at least 4.5:1 against LABEL_BG
const LABEL_BG = "#0d1117";
const LABEL_COLORS = {
  angry: "#ff8a80", disgust: "#d9b8a6", fear: "#c9a8ff", happy: "#ffd54f",
  sad: "#8ec8ff", surprise: "#7fe3f0", neutral: "#c8c8c8", other: "#e6e9ef",
};
const STRATEGY_WORDS = {
  match: "match: films and music with the same mood",
  uplift: "uplift: the music starts at your mood and gets brighter step by step",
  calm: "calm: gentle films and quiet music",
  comfort: "comfort: warm, moving films and soft music",
};
const SOURCE_WORDS = { camera: "camera", image: "photo", manual: "mood button", cli: "command line", video: "video" };
const CAPTURE_WIDTH = 480;
const MAX_PHOTO_SIDE = 2560; // photos are downscaled to this before upload
const NO_FACE_HINT_MS = 1200;

const $ = (id) => document.getElementById(id);
const TAB = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => (b % 36).toString(36)).join("");
const state = {
  ws: null, wsOpened: false, stream: null, awaiting: false, finishing: false, live: false,
  frames: 0, framesWithFaces: 0, lastFaces: [], noFaceSince: null, t0: 0,
  reading: null, readings: 0, lastRecs: null, lastSummary: null, lastDetect: null,
  uploads: 0, analysed: 0, startToken: 0, feedback: new Map(), history: [], historyCount: 0, historyPoints: [],
  maxUpload: 10 * 1024 * 1024, serverDown: false, bars: null,
  LABEL_BG, LABEL_COLORS,
};
window.moodlens = state; // for the end-to-end tests and the curious

// ---------- small helpers

function setStatus(msg, kind) {
  const s = $("status");
  s.textContent = msg || "";
  s.className = kind || "";
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function pct(p) { return Math.round(p * 100) + "%"; }
function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }
function sizeText(bytes) {
  const mb = bytes / (1024 * 1024);
  return mb >= 1 ? (Number.isInteger(mb) ? mb : mb.toFixed(1)) + " MB" : Math.ceil(bytes / 1024) + " KB";
}
function localTime(secs) {
  return new Date(secs * 1000).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

function strategy() {
  const r = document.querySelector('input[name="strategy"]:checked');
  return r ? r.value : "";
}

// enabled/disabled without `disabled`, so a focused button keeps the focus
function setEnabled(id, on) { $(id).setAttribute("aria-disabled", on ? "false" : "true"); }
function enabled(id) { return $(id).getAttribute("aria-disabled") !== "true"; }

const UNREACHABLE = "The moodlens server is unreachable (is `moodlens serve` still running?). Retrying…";

async function api(path, opts) {
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    serverLost();
    throw new Error(UNREACHABLE);
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    throw new Error(body && body.error ? body.error : "The server answered " + res.status + " " + res.statusText);
  }
  return body;
}

// ---------- connection watch: an error while the server is away, cleared when it is back

let healthTimer = null;
function scheduleHealth(ms) {
  clearTimeout(healthTimer);
  healthTimer = setTimeout(checkHealth, ms);
}

async function checkHealth() {
  let h = null;
  try {
    const r = await fetch("/health", { cache: "no-store" });
    if (r.ok) h = await r.json();
  } catch (e) { h = null; }
  if (!h) { serverLost(); return null; }
  if (h.limits && h.limits.max_upload_bytes) state.maxUpload = h.limits.max_upload_bytes;
  if (state.serverDown) {
    state.serverDown = false;
    const msg = "Reconnected to the moodlens server.";
    setStatus(msg, "ok");
    setTimeout(() => { if ($("status").textContent === msg) setStatus(""); }, 4000);
    loadHistory(); loadLikes();
  }
  scheduleHealth(10000);
  return h;
}

function serverLost() {
  if (!state.serverDown) {
    state.serverDown = true;
    if (state.live) endLive();
    setStatus(UNREACHABLE, "error");
  }
  scheduleHealth(2000);
}

// ---------- drawing

function drawOverlay(faces, w, h, displayEl, mirrored) {
  const c = $("overlay");
  const dw = displayEl.clientWidth, dh = displayEl.clientHeight;
  if (!dw || !dh || !w || !h) return;
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(dw * dpr); c.height = Math.round(dh * dpr);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, dw, dh);
  const sx = dw / w, sy = dh / h;
  const mx = (x) => (mirrored ? dw - x : x);
  g.font = "bold 14px system-ui, sans-serif";
  faces.forEach((f, n) => {
    const b = f.bbox;
    const color = COLORS[f.emotion] || "#1f56c4";
    const bw = b.w * sx, bh = b.h * sy;
    const x = mirrored ? dw - (b.x + b.w) * sx : b.x * sx, y = b.y * sy;
    g.lineWidth = 3; g.strokeStyle = color;
    g.strokeRect(x, y, bw, bh);
    if ($("show-landmarks").checked && f.landmarks) {
      for (const p of f.landmarks) {
        g.beginPath();
        g.arc(mx(p[0] * sx), p[1] * sy, 3, 0, 2 * Math.PI);
        g.fillStyle = color; g.fill();
        g.lineWidth = 1; g.strokeStyle = LABEL_BG; g.stroke();
      }
    }
    const lines = (f.top3 || []).map((t) => t.emotion + " " + pct(t.probability));
    if (faces.length > 1 && lines.length) lines[0] = "Face " + (n + 1) + ": " + lines[0];
    if (!lines.length) return;
    const lh = 17;
    const boxW = Math.max(...lines.map((l) => g.measureText(l).width)) + 10;
    let ly = y - lines.length * lh - 4;
    if (ly < 0) ly = y + bh + 4;
    if (ly + lines.length * lh + 4 > dh) ly = Math.max(0, y + 4);
    const lx = Math.min(Math.max(0, x), Math.max(0, dw - boxW));
    g.fillStyle = LABEL_BG;
    g.fillRect(lx, ly, boxW, lines.length * lh + 4);
    lines.forEach((l, i) => {
      const e = (f.top3[i] || {}).emotion;
      g.fillStyle = LABEL_COLORS[e] || LABEL_COLORS.other;
      g.fillText(l, lx + 5, ly + 15 + i * lh);
    });
  });
}

function clearOverlay() {
  const c = $("overlay");
  c.getContext("2d").setTransform(1, 0, 0, 1, 0, 0);
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
  c.width = c.width; // resets the bitmap
}

function drawBars(probs, label) {
  state.bars = probs ? { probs, label } : null;
  const c = $("bars");
  const cw = c.clientWidth || 300, ch = c.clientHeight || 168;
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(cw * dpr); c.height = Math.round(ch * dpr);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cw, ch);
  $("chart-face").textContent = label || "";
  const left = 70, right = 44, rowH = ch / EMOTIONS.length;
  g.font = "13px system-ui, sans-serif";
  g.textBaseline = "middle";
  EMOTIONS.forEach((e, i) => {
    const p = probs ? (probs[e] || 0) : 0;
    const y = i * rowH;
    g.fillStyle = "#1d2330";
    g.fillText(e, 4, y + rowH / 2);
    g.fillStyle = "#e8ebf1";
    g.fillRect(left, y + 3, cw - left - right, rowH - 6);
    g.fillStyle = COLORS[e];
    g.fillRect(left, y + 3, (cw - left - right) * p, rowH - 6);
    g.fillStyle = "#1d2330";
    g.fillText(probs ? pct(p) : "", cw - right + 6, y + rowH / 2);
  });
  c.setAttribute("aria-label", probs
    ? "What the face shows " + (label || "") + ": " +
      EMOTIONS.map((e) => [e, probs[e] || 0]).sort((a, b) => b[1] - a[1]).map(([e, p]) => e + " " + pct(p)).join(", ")
    : "No face analysed yet.");
}

function showFaces(faces) {
  const ul = $("faces");
  ul.replaceChildren();
  faces.forEach((f, n) => {
    const top = (f.top3 || []).map((t) => t.emotion + " " + pct(t.probability)).join(", ");
    const li = el("li", "Face " + (n + 1) + ": " + f.emotion + " — " + top, "face");
    li.style.borderLeftColor = COLORS[f.emotion] || "#1f56c4";
    ul.appendChild(li);
  });
}

// faces left to right as the viewer sees them (the camera preview is mirrored)
function orderFaces(faces, mirrored) {
  return faces.slice().sort((a, b) => (mirrored ? b.bbox.x - a.bbox.x : a.bbox.x - b.bbox.x));
}

function clearLive() {
  clearOverlay();
  $("fps").textContent = "";
  $("hint").textContent = "";
  showFaces([]);
  drawBars(null, "");
  state.lastFaces = [];
  state.noFaceSince = null;
}

function clearResults(line) {
  state.lastRecs = null;
  $("mood-title").textContent = "Suggestions";
  $("mood-line").textContent = line || "Finish a camera session, analyse a photo or pick a mood.";
  $("recommendations").replaceChildren();
  $("shuffle").hidden = true;
}

function pressMood(mood) {
  document.querySelectorAll("#mood-buttons button").forEach((b) =>
    b.setAttribute("aria-pressed", b.dataset.mood === mood ? "true" : "false"));
}

function showStageMessage(msg) {
  const img = $("stage").querySelector("img.photo");
  if (img) img.remove();
  $("video").style.display = "none";
  $("stage-empty").textContent = msg;
  $("stage-empty").style.display = "flex";
}

// ---------- camera session

function wsUrl() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
}

async function listCameras() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
  let devices = [];
  try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (e) { return; }
  const sel = $("camera-select"), keep = sel.value;
  const cams = devices.filter((d) => d.kind === "videoinput");
  sel.replaceChildren();
  if (!cams.length || cams.every((c) => !c.deviceId)) {
    sel.appendChild(el("option", "default camera")).value = "";
    return;
  }
  cams.forEach((c, i) => { const o = el("option", c.label || "Camera " + (i + 1)); o.value = c.deviceId; sel.appendChild(o); });
  const cur = state.stream && state.stream.getVideoTracks()[0];
  const curId = cur && cur.getSettings ? cur.getSettings().deviceId : null;
  sel.value = curId || keep || sel.options[0].value;
}

async function startCamera() {
  if (state.live || !enabled("start-camera")) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus("This browser gives no camera access here (it needs http://localhost or https).", "error");
    return;
  }
  setStatus("Asking for the camera…");
  const dev = $("camera-select").value;
  const token = ++state.startToken;
  state.frames = 0; state.framesWithFaces = 0;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: dev ? { deviceId: { exact: dev }, width: { ideal: 640 }, height: { ideal: 480 } }
        : { width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
  } catch (e) {
    if (e.name === "NotAllowedError" || e.name === "SecurityError") {
      setStatus("Camera access was denied. Allow it in the browser's site settings, or pick a mood / use a photo instead.", "error");
    } else if (e.name === "NotFoundError" || e.name === "OverconstrainedError" || e.name === "DevicesNotFoundError") {
      setStatus("No camera was found. Pick a mood or use a photo instead.", "error");
    } else if (e.name === "NotReadableError") {
      setStatus("The camera is in use by another program.", "error");
    } else {
      setStatus("The camera could not be started: " + e.message, "error");
    }
    return;
  }
  if (token !== state.startToken) {
    // a mood, a photo or Stop came first while the browser was asking: not wanted any more
    stream.getTracks().forEach((t) => t.stop());
    return;
  }
  state.stream = stream;
  const img = $("stage").querySelector("img.photo");
  if (img) img.remove();
  clearLive();
  clearResults("Camera on: press Finish for your mood and suggestions, or Stop to end without saving.");
  pressMood(null);
  state.reading = null;
  const video = $("video");
  $("stage-empty").style.display = "none";
  video.style.display = "block";
  video.srcObject = stream;
  try { await video.play(); } catch (e) { /* autoplay muted: fine */ }
  state.live = true; state.finishing = false; state.awaiting = false;
  state.frames = 0; state.framesWithFaces = 0; state.t0 = performance.now();
  setEnabled("start-camera", false); setEnabled("finish", true); setEnabled("stop", true);
  updateStrategyNote();
  // focus follows the session: Start is now inactive, Finish is what comes next
  if (document.activeElement === $("start-camera") || document.activeElement === document.body) $("finish").focus();
  listCameras();
  openSocket();
}

function openSocket() {
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (e) {
    setStatus("Could not connect to the server: " + e.message, "error");
    endLive();
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws; state.wsOpened = false;
  ws.onopen = () => { state.wsOpened = true; setStatus("Connected. Reading your expression…", "ok"); };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    onMessage(m);
  };
  ws.onerror = () => {};
  ws.onclose = (ev) => {
    if (state.ws !== ws) return; // closed by us
    state.ws = null;
    if (!state.live) return;
    const opened = state.wsOpened;
    endLive();
    if (!opened) {
      whyNoSession();
    } else if (ev.code === 1006 || ev.code === 1011 || ev.code === 1001) {
      serverLost();
    } else {
      setStatus("The server ended the session" + (ev.reason ? ": " + ev.reason : ".") + " Start the camera again to continue.", "error");
    }
  };
}

// the WebSocket never opened: a busy server (503) or no server at all
async function whyNoSession() {
  const h = await checkHealth();
  if (!h) return; // reported as unreachable
  if (h.max_sessions && h.sessions_in_use >= h.max_sessions) {
    setStatus("The server is busy: it takes " + plural(h.max_sessions, "live camera session", "live camera sessions") +
      " at a time and all are in use (another tab or window?). Close it or try again in a moment; a mood button or a photo works now.", "error");
  } else {
    setStatus("The server did not accept the live session. Try again in a moment.", "error");
  }
}

function onMessage(m) {
  if (m.type === "hello") {
    sendFrame();
  } else if (m.type === "frame") {
    if (!state.live) return;
    state.awaiting = false;
    state.frames += 1;
    const faces = orderFaces(m.faces, true);
    state.lastFaces = faces;
    if (faces.length) { state.framesWithFaces += 1; state.noFaceSince = null; $("hint").textContent = ""; }
    else {
      const now = performance.now();
      if (state.noFaceSince === null) state.noFaceSince = now;
      if (now - state.noFaceSince >= NO_FACE_HINT_MS) {
        $("hint").textContent = "No face in view — move closer, face the camera, or add more light.";
      }
    }
    drawOverlay(faces, m.width, m.height, $("video"), true);
    drawBars(faces[0] ? faces[0].probabilities : null, faces[0] ? (faces.length > 1 ? "(face 1, this moment)" : "(this moment)") : "");
    showFaces(faces);
    const secs = (performance.now() - state.t0) / 1000;
    $("fps").textContent = (state.frames / Math.max(secs, 0.001)).toFixed(1) + " pictures analysed per second";
    scheduleFrame();
  } else if (m.type === "error") {
    state.awaiting = false;
    setStatus(m.message, "error");
    scheduleFrame();
  } else if (m.type === "summary") {
    state.lastSummary = m.summary;
    const session = state.finishing;
    endLive();
    if (m.recommendations) {
      const s = m.summary;
      state.reading = {
        id: typeof session === "string" ? session : newReadingId(), source: "camera", label: s.final_mood,
        probabilities: EMOTIONS.map((e) => s.mean_probabilities[e] || 0),
      };
      renderRecs(m.recommendations);
      setStatus("Session finished: your mood is " + s.final_mood + ".", "ok");
      showResults();
      loadHistory();
    } else {
      setStatus(m.message || "Session finished without a mood: no face was seen.", "error");
      $("start-camera").focus();
    }
  }
}

function scheduleFrame() {
  if (state.live && !state.finishing) setTimeout(sendFrame, 30);
}

const capture = document.createElement("canvas");

function sendFrame() {
  const ws = state.ws, video = $("video");
  if (!ws || ws.readyState !== WebSocket.OPEN || state.awaiting || state.finishing || !state.live) return;
  if (!video.videoWidth) { setTimeout(sendFrame, 100); return; }
  const scale = Math.min(1, CAPTURE_WIDTH / video.videoWidth);
  capture.width = Math.round(video.videoWidth * scale);
  capture.height = Math.round(video.videoHeight * scale);
  capture.getContext("2d").drawImage(video, 0, 0, capture.width, capture.height);
  state.awaiting = true;
  capture.toBlob((blob) => {
    if (!blob || !state.ws || state.ws.readyState !== WebSocket.OPEN) { state.awaiting = false; return; }
    blob.arrayBuffer().then((buf) => state.ws && state.ws.send(buf));
  }, "image/jpeg", 0.8);
}

function newReadingId() {
  state.readings += 1;
  return TAB + "-r" + state.readings;
}

function finish() {
  if (!state.live || state.finishing || !enabled("finish")) return;
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { endLive(); return; }
  const id = newReadingId();
  state.finishing = id;
  setEnabled("finish", false); // stays focused
  setStatus("Finishing the session…");
  state.ws.send(JSON.stringify({ type: "finish", strategy: strategy(), session: id }));
}

function stopSession() {
  if (!state.live) return;
  endLive();
  clearResults();
  setStatus("Stopped. Nothing was saved.", "ok");
  $("start-camera").focus();
}

// ends the live session: camera off, socket closed, nothing left drawn
function endLive() {
  state.startToken += 1; // a camera still being asked for is not started
  const hadFocus = [$("finish"), $("stop")].includes(document.activeElement);
  state.live = false; state.finishing = false; state.awaiting = false;
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  if (state.ws) { const ws = state.ws; state.ws = null; try { ws.close(); } catch (e) { /* closed */ } }
  $("video").srcObject = null;
  clearLive();
  showStageMessage("Camera off. Start it again, or drop a photo here.");
  setEnabled("start-camera", true); setEnabled("finish", false); setEnabled("stop", false);
  updateStrategyNote();
  if (hadFocus) $("start-camera").focus();
}

// after Finish (or a photo) the results get the focus; on a phone they are below: scroll there
function showResults() {
  const t = $("mood-title");
  t.focus({ preventScroll: true });
  if (window.innerWidth <= 900) t.scrollIntoView({ block: "start" });
  else t.scrollIntoView({ block: "nearest" });
}

// ---------- photo upload

function canvasBlob(canvas, type, quality) {
  return new Promise((ok) => canvas.toBlob(ok, type, quality));
}

// a picture the browser can read, downscaled to MAX_PHOTO_SIDE when larger; null if unreadable
async function preparePhoto(file) {
  let bmp;
  try { bmp = await createImageBitmap(file, { imageOrientation: "from-image" }); } catch (e) { return null; }
  const side = Math.max(bmp.width, bmp.height);
  if (side <= MAX_PHOTO_SIDE && file.size <= state.maxUpload) { bmp.close(); return { blob: file, scaled: false }; }
  const k = Math.min(1, MAX_PHOTO_SIDE / side);
  const c = document.createElement("canvas");
  c.width = Math.round(bmp.width * k); c.height = Math.round(bmp.height * k);
  c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
  bmp.close();
  const blob = await canvasBlob(c, "image/jpeg", 0.9);
  return blob ? { blob, scaled: true } : null;
}

async function analysePhoto(file) {
  if (!file) return;
  if (state.live) endLive();
  state.startToken += 1;
  // the previous photo's results go at once: nothing on screen belongs to the wrong picture
  clearLive();
  clearResults("Analysing the photo…");
  pressMood(null);
  state.reading = null;
  showStageMessage("Analysing the photo…");
  setStatus("Analysing the photo…");
  const prepared = await preparePhoto(file);
  let body;
  if (prepared) {
    body = prepared.blob;
  } else if (file.size > state.maxUpload) {
    return photoFailed("file too large (max " + sizeText(state.maxUpload) + ")");
  } else if (file.type && !file.type.startsWith("image/")) {
    return photoFailed("That file is not a picture: choose a JPEG, PNG or WebP photo.");
  } else {
    body = file; // e.g. TIFF: the server reads more formats than the browser shows
  }
  state.uploads += 1;
  let r;
  try {
    r = await api("/api/detect", { method: "POST", body, headers: { "Content-Type": body.type || "application/octet-stream" } });
  } catch (e) {
    return photoFailed(e.message);
  }
  state.analysed += 1;
  state.lastDetect = r;
  const img = el("img", null, "photo");
  img.alt = "the photo being analysed";
  const shown = await new Promise((ok) => { img.onload = () => ok(true); img.onerror = () => ok(false); img.src = URL.createObjectURL(body); });
  if (shown) {
    $("stage-empty").style.display = "none";
    $("frame").insertBefore(img, $("overlay"));
    drawOverlay(r.faces, r.width, r.height, img, false);
  } else {
    showStageMessage("(no preview for this picture format)");
  }
  const faces = r.faces;
  showFaces(faces);
  drawBars(faces[0] ? faces[0].probabilities : null, faces[0] ? "(face 1)" : "");
  if (!faces.length) {
    clearResults("No face found in the photo.");
    setStatus("No face found in the photo (faces should be at least a fifth of the picture's height).", "error");
    return;
  }
  setStatus(plural(faces.length, "face", "faces") + " found.", "ok");
  const probs = EMOTIONS.map((e) => r.summary.mean_probabilities[e] || 0);
  const same = state.lastPhoto && state.lastPhoto.key === probs.join(",");
  // the same picture again is the same reading (no new history entry)
  const id = same ? state.lastPhoto.id : newReadingId();
  state.lastPhoto = { key: probs.join(","), id };
  state.reading = { id, source: "image", label: r.summary.final_mood, probabilities: probs };
  await recommend();
  showResults();
}

function photoFailed(msg) {
  clearLive();
  clearResults("Choose another photo, start the camera or pick a mood.");
  showStageMessage("No photo.");
  setStatus(msg, "error");
}

// ---------- recommendations

function titleFor(reading) {
  if (reading.source === "camera") return "Session mood: " + reading.label;
  if (reading.source === "image") return "Photo mood: " + reading.label;
  return "Your mood: " + reading.label;
}

async function recommend(shuffle) {
  const m = state.reading;
  if (!m) return;
  const q = new URLSearchParams({ strategy: strategy(), source: m.source, session: m.id, mood: m.label });
  if (shuffle) q.set("shuffle", "true");
  if (m.probabilities) q.set("probabilities", m.probabilities.map((p) => p.toFixed(5)).join(","));
  try {
    const rec = await api("/api/recommend?" + q.toString());
    if (state.reading !== m) return; // something newer was asked for meanwhile
    renderRecs(rec);
    loadHistory();
  } catch (e) {
    setStatus(e.message, "error");
  }
}

async function setFeedback(item, liked) {
  const cur = state.feedback.get(item.key);
  try {
    if (cur && cur.liked === liked) {
      // pressing the chosen button again undoes it
      await api("/api/feedback?item=" + encodeURIComponent(item.key), { method: "DELETE" });
      state.feedback.delete(item.key);
      setStatus("Undone: " + cur.title, "ok");
    } else {
      const r = await api("/api/feedback", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ item: item.key, liked }),
      });
      state.feedback.set(r.item_key, { liked, title: r.title, kind: r.kind });
      if (r.item_key !== item.key) state.feedback.set(item.key, { liked, title: r.title, kind: r.kind });
      setStatus((liked ? "Liked: " : "Disliked (won't be suggested again): ") + r.title, "ok");
    }
  } catch (e) { setStatus(e.message, "error"); return; }
  refreshFeedbackMarks();
  renderLikes();
}

function feedbackButtons(item) {
  const span = el("span", null, "fb");
  const mk = (label, liked) => {
    const b = el("button", label, liked ? "like" : "dislike");
    b.type = "button";
    b.dataset.key = item.key;
    b.setAttribute("aria-pressed", "false");
    b.setAttribute("aria-label", label + ": " + (item.kind === "track" ? (item.artist || "") + " — " + item.title : item.title));
    b.onclick = () => setFeedback(item, liked);
    return b;
  };
  span.appendChild(mk("Like", true));
  span.appendChild(mk("Dislike", false));
  return span;
}

function refreshFeedbackMarks() {
  document.querySelectorAll("#recommendations li[data-key]").forEach((li) => {
    const f = state.feedback.get(li.dataset.key);
    const like = li.querySelector("button.like"), dislike = li.querySelector("button.dislike");
    if (!like) return;
    like.setAttribute("aria-pressed", f && f.liked ? "true" : "false");
    dislike.setAttribute("aria-pressed", f && !f.liked ? "true" : "false");
    like.textContent = f && f.liked ? "Liked" : "Like";
    dislike.textContent = f && !f.liked ? "Disliked" : "Dislike";
    li.classList.toggle("disliked", !!(f && !f.liked));
    li.classList.toggle("liked", !!(f && f.liked));
    let note = li.querySelector(".fb-note");
    if (f && !f.liked) {
      if (!note) { note = el("div", null, "fb-note"); li.appendChild(note); }
      note.textContent = "Disliked: it won't be suggested again (press Disliked to undo).";
    } else if (note) note.remove();
  });
}

function itemLine(it) {
  const li = el("li", null, it.kind);
  li.dataset.key = it.key;
  const a = el("a", it.kind === "track" ? (it.artist || "?") + " — " + it.title : it.title + (it.year ? " (" + it.year + ")" : ""));
  a.href = it.link; a.target = "_blank"; a.rel = "noopener noreferrer";
  li.appendChild(a);
  const extra = [];
  if (it.genres && it.genres.length) extra.push(it.genres.slice(0, 3).join(", "));
  if (it.rating) extra.push(it.rating.toFixed(1) + "/10");
  if (it.music_mood) extra.push(it.music_mood);
  if (extra.length) li.appendChild(el("span", " · " + extra.join(" · "), "muted"));
  if (it.reason) li.appendChild(el("div", it.reason, "reason"));
  if (it.kind !== "playlist") li.appendChild(feedbackButtons(it));
  return li;
}

function strategyLine(rec) {
  const chosen = strategy();
  const words = STRATEGY_WORDS[rec.strategy] || rec.strategy;
  return (chosen ? "Suggestions by " : "Suggestions by the usual choice for this mood, ") + words + "." +
    (rec.genres && rec.genres.length ? " Film genres: " + rec.genres.slice(0, 3).join(", ") + "." : "");
}

function renderRecs(rec) {
  state.lastRecs = rec;
  $("mood-title").textContent = state.reading ? titleFor(state.reading) : "Mood: " + rec.mood;
  $("mood-line").textContent = strategyLine(rec);
  $("shuffle").hidden = false;
  const box = $("recommendations");
  box.replaceChildren();
  for (const n of rec.notices || []) box.appendChild(el("p", n, "notice"));
  if (rec.people && rec.people.length) {
    box.appendChild(el("p", rec.people.map((p) => "person " + p.person + ": " + p.mood).join(" · ") +
      " — one list that suits everyone", "people"));
  }
  const section = (name, items) => {
    if (!items || !items.length) return;
    box.appendChild(el("h3", name));
    const ol = el("ol");
    items.forEach((it) => ol.appendChild(itemLine(it)));
    box.appendChild(ol);
  };
  section("Movies", rec.movies);
  section("Music", rec.music);
  section("Playlists", rec.playlists);
  refreshFeedbackMarks();
}

function updateStrategyNote() {
  $("strategy-note").textContent = state.live ? "Used when you press Finish." :
    (state.reading ? "Changing it updates the suggestions now." : "");
}

// ---------- likes

async function loadLikes() {
  let r;
  try { r = await api("/api/feedback"); } catch (e) { return; }
  state.feedback = new Map(r.feedback.map((f) => [f.item_key, { liked: f.liked, title: f.title, kind: f.kind }]));
  refreshFeedbackMarks();
  renderLikes();
}

function renderLikes() {
  const ul = $("likes");
  ul.replaceChildren();
  const seen = new Set();
  for (const [key, f] of state.feedback) {
    if (seen.has(f.title + f.liked)) continue;
    seen.add(f.title + f.liked);
    const li = el("li");
    li.dataset.key = key;
    li.appendChild(el("span", (f.liked ? "Liked: " : "Disliked: ") + f.title));
    const b = el("button", "Undo", "undo");
    b.type = "button";
    b.setAttribute("aria-label", "Undo " + (f.liked ? "like" : "dislike") + " of " + f.title);
    b.onclick = async () => {
      try { await api("/api/feedback?item=" + encodeURIComponent(key), { method: "DELETE" }); } catch (e) { setStatus(e.message, "error"); return; }
      for (const [k, g] of Array.from(state.feedback)) if (g.title === f.title) state.feedback.delete(k);
      setStatus("Undone: " + f.title, "ok");
      refreshFeedbackMarks();
      renderLikes();
      const next = $("likes").querySelector("button") || $("likes-h");
      if (next === $("likes-h")) next.setAttribute("tabindex", "-1");
      next.focus();
    };
    li.appendChild(b);
    ul.appendChild(li);
  }
  $("likes-empty").hidden = ul.children.length > 0;
}

// ---------- history

async function loadHistory() {
  let h;
  try { h = await api("/api/history?last=200"); } catch (e) { $("history-note").textContent = e.message; return; }
  state.history = h.sessions;
  state.historyCount = h.count;
  if (h.database) $("db-path").textContent = h.database;
  const n = h.count, shown = h.sessions.length;
  $("history-note").textContent = !n ? "No history yet." :
    (shown < n ? "The last " + shown + " of " : "") + plural(n, "entry", "entries") +
    " saved: one per finished camera session, analysed photo or chosen mood (changing the strategy or asking for new picks updates it). Point at a dot or click it for details.";
  $("clear-history").setAttribute("aria-disabled", n ? "false" : "true");
  drawHistory();
  renderHistoryTable();
  const d = state.historyDetail;
  if (d && !h.sessions.some((s) => s.id === d)) showHistoryDetail(null);
}

function niceStep(span, maxTicks) {
  const steps = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 30 * 86400, 91 * 86400, 365 * 86400];
  for (const s of steps) if (span / s <= maxTicks) return s;
  return steps[steps.length - 1];
}

function drawHistory() {
  const s = state.history;
  const c = $("history");
  const cw = c.clientWidth || 600, ch = c.clientHeight || 200;
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.round(cw * dpr); c.height = Math.round(ch * dpr);
  const g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, cw, ch);
  state.historyPoints = [];
  const legend = $("history-legend");
  if (!legend.children.length) {
    for (const e of EMOTIONS) { const sp = el("span", e); sp.style.setProperty("--c", COLORS[e]); legend.appendChild(sp); }
  }
  if (!s.length) {
    c.setAttribute("aria-label", "History chart: no entries yet.");
    return;
  }
  const left = 78, right = 14, top = 12, bottom = 26;
  const W = cw - left - right, H = ch - top - bottom;
  let t0 = s[0].time, t1 = s[s.length - 1].time;
  if (t1 - t0 < 120) { const mid = (t0 + t1) / 2; t0 = mid - 60; t1 = mid + 60; }
  const pad = (t1 - t0) * 0.04; t0 -= pad; t1 += pad;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * W;
  const y = (v) => top + ((1 - v) / 2) * H;
  g.font = "12px system-ui, sans-serif"; g.textBaseline = "middle";
  g.strokeStyle = "#d5d9e2"; g.lineWidth = 1; g.fillStyle = "#4a5263";
  for (const [v, label] of [[1, "pleasant"], [0, "neutral"], [-1, "unpleasant"]]) {
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(left + W, y(v)); g.stroke();
    g.fillText(label, 4, y(v));
  }
  // time axis in local time, ticks at round steps that fit
  const step = niceStep(t1 - t0, Math.max(2, Math.floor(W / 110)));
  const tz = new Date().getTimezoneOffset() * 60;
  let t = Math.ceil((t0 - tz * (step >= 86400 ? 1 : 0)) / step) * step + (step >= 86400 ? tz : 0);
  g.textBaseline = "alphabetic";
  const dayFmt = { month: "short", day: "numeric" };
  const timeFmt = { hour: "2-digit", minute: "2-digit" };
  let lastRight = -1;
  for (; t <= t1; t += step) {
    const d = new Date(t * 1000);
    const label = step >= 86400 ? d.toLocaleDateString([], dayFmt) : d.toLocaleTimeString([], timeFmt);
    const w = g.measureText(label).width, xx = x(t);
    if (xx - w / 2 < lastRight + 8 || xx + w / 2 > cw) continue;
    g.strokeStyle = "#e6e9ef"; g.beginPath(); g.moveTo(xx, top); g.lineTo(xx, top + H); g.stroke();
    g.fillStyle = "#4a5263"; g.fillText(label, xx - w / 2, ch - 6);
    lastRight = xx + w / 2;
  }
  g.strokeStyle = "#9aa3b5"; g.lineWidth = 1.5;
  g.beginPath();
  s.forEach((r, i) => (i ? g.lineTo(x(r.time), y(r.valence)) : g.moveTo(x(r.time), y(r.valence))));
  g.stroke();
  s.forEach((r) => {
    const px = x(r.time), py = y(r.valence);
    state.historyPoints.push({ x: px, y: py, id: r.id });
    g.fillStyle = COLORS[r.mood] || "#333";
    g.beginPath(); g.arc(px, py, r.id === state.historyDetail ? 9 : 6, 0, Math.PI * 2); g.fill();
    if (r.id === state.historyDetail) { g.strokeStyle = "#1d2330"; g.lineWidth = 2; g.stroke(); }
  });
  c.setAttribute("aria-label", "History chart, " + plural(s.length, "entry", "entries") + " from " +
    localTime(s[0].time) + " to " + localTime(s[s.length - 1].time) + "; the same data is in the table below. Latest mood: " +
    s[s.length - 1].mood + ".");
}

function entryText(r) {
  const films = r.items.filter((i) => i.kind === "movie").map((i) => i.title);
  const music = r.items.filter((i) => i.kind === "track").map((i) => i.title);
  return { films, music };
}

function nearestPoint(ev) {
  const rect = $("history").getBoundingClientRect();
  const px = ev.clientX - rect.left, py = ev.clientY - rect.top;
  let best = null, bd = 14 * 14;
  for (const p of state.historyPoints) {
    const d = (p.x - px) ** 2 + (p.y - py) ** 2;
    if (d <= bd) { bd = d; best = p; }
  }
  return best;
}

function showHistoryDetail(id, sticky) {
  const box = $("history-detail");
  box.replaceChildren();
  state.historyDetail = sticky ? id : state.historyDetail;
  const r = state.history.find((s) => s.id === id);
  if (!r) { if (sticky || id === null) state.historyDetail = null; drawHistory(); return; }
  const card = el("div", null, "card");
  card.appendChild(el("strong", localTime(r.time) + " — " + r.mood));
  card.appendChild(el("div", "From: " + (SOURCE_WORDS[r.source] || r.source) + " · suggestions: " + (STRATEGY_WORDS[r.strategy] || r.strategy)));
  const { films, music } = entryText(r);
  if (films.length) card.appendChild(el("div", "Films: " + films.join(", ")));
  if (music.length) card.appendChild(el("div", "Music: " + music.join(", ")));
  const del = el("button", "Delete this entry", "delete-entry");
  del.type = "button";
  del.onclick = () => deleteEntry(r.id);
  card.appendChild(del);
  box.appendChild(card);
  drawHistory();
}

function renderHistoryTable() {
  const tb = $("history-table").querySelector("tbody");
  tb.replaceChildren();
  for (const r of state.history.slice().reverse()) {
    const tr = el("tr");
    tr.dataset.id = r.id;
    const { films, music } = entryText(r);
    tr.appendChild(el("td", localTime(r.time)));
    tr.appendChild(el("td", r.mood));
    tr.appendChild(el("td", SOURCE_WORDS[r.source] || r.source));
    tr.appendChild(el("td", r.strategy));
    tr.appendChild(el("td", films.concat(music).join(", ")));
    const td = el("td");
    const b = el("button", "Delete", "delete-entry");
    b.type = "button";
    b.setAttribute("aria-label", "Delete the entry of " + localTime(r.time) + " (" + r.mood + ")");
    b.onclick = () => deleteEntry(r.id, true);
    td.appendChild(b);
    tr.appendChild(td);
    tb.appendChild(tr);
  }
}

async function deleteEntry(id, fromTable) {
  try { await api("/api/history/" + id, { method: "DELETE" }); } catch (e) { setStatus(e.message, "error"); return; }
  if (state.historyDetail === id) state.historyDetail = null;
  $("history-detail").replaceChildren();
  setStatus("History entry deleted.", "ok");
  await loadHistory();
  const next = fromTable ? $("history-table").querySelector("button.delete-entry") : null;
  (next || $("history-h")).focus();
}

async function clearHistory(yes) {
  if (yes) {
    try { await api("/api/history", { method: "DELETE" }); } catch (e) { setStatus(e.message, "error"); return; }
    setStatus("The whole history was deleted (likes and dislikes stay).", "ok");
    state.historyDetail = null;
    $("history-detail").replaceChildren();
    await loadHistory();
  }
  $("clear-confirm").hidden = true;
  $("clear-history").hidden = false;
  $("clear-history").focus();
}

// ---------- wiring

function init() {
  $("history-h").setAttribute("tabindex", "-1");
  $("start-camera").onclick = startCamera;
  $("finish").onclick = finish;
  $("stop").onclick = stopSession;
  $("camera-select").onchange = () => { if (state.live) { endLive(); startCamera(); } };
  document.querySelectorAll("#mood-buttons button").forEach((b) => {
    b.onclick = () => {
      const mood = b.dataset.mood;
      if (state.live) { endLive(); setStatus("Camera stopped (nothing saved): showing suggestions for the mood you picked.", "ok"); }
      state.startToken += 1;
      const cur = state.reading;
      if (cur && cur.source === "manual" && cur.label === mood && state.lastRecs) return; // already shown
      pressMood(mood);
      const img = $("stage").querySelector("img.photo");
      if (img) { img.remove(); clearLive(); showStageMessage("Start the camera, or drop a photo here."); }
      state.reading = { id: newReadingId(), source: "manual", label: mood };
      updateStrategyNote();
      recommend();
    };
  });
  document.querySelectorAll('input[name="strategy"]').forEach((r) => {
    r.onchange = () => { updateStrategyNote(); if (state.reading && !state.live) recommend(); };
  });
  $("shuffle").onclick = () => recommend(true);
  $("file").onchange = (e) => {
    const f = e.target.files[0];
    e.target.value = ""; // the same file chosen again is analysed again
    analysePhoto(f);
  };
  const stage = $("stage");
  stage.addEventListener("dragover", (e) => { e.preventDefault(); stage.classList.add("dragover"); });
  stage.addEventListener("dragleave", () => stage.classList.remove("dragover"));
  stage.addEventListener("drop", (e) => {
    e.preventDefault(); stage.classList.remove("dragover");
    if (e.dataTransfer.files.length) analysePhoto(e.dataTransfer.files[0]);
  });
  $("show-landmarks").onchange = () => {
    const img = $("stage").querySelector("img.photo");
    if (img && state.lastDetect) drawOverlay(state.lastDetect.faces, state.lastDetect.width, state.lastDetect.height, img, false);
  };
  const hc = $("history");
  hc.addEventListener("mousemove", (ev) => {
    const p = nearestPoint(ev);
    if (!state.historyDetail) { if (p) showHistoryDetail(p.id, false); }
  });
  hc.addEventListener("click", (ev) => { const p = nearestPoint(ev); showHistoryDetail(p ? p.id : null, true); });
  $("clear-history").onclick = () => {
    if ($("clear-history").getAttribute("aria-disabled") === "true") return;
    $("clear-history").hidden = true; $("clear-confirm").hidden = false; $("clear-no").focus();
  };
  $("clear-yes").onclick = () => clearHistory(true);
  $("clear-no").onclick = () => clearHistory(false);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      drawBars(state.bars ? state.bars.probs : null, state.bars ? state.bars.label : "");
      drawHistory();
      const img = $("stage").querySelector("img.photo");
      if (img && state.lastDetect) drawOverlay(state.lastDetect.faces, state.lastDetect.width, state.lastDetect.height, img, false);
    }, 100);
  });
  drawBars(null, "");
  checkHealth().then((h) => { if (h && !state.serverDown && $("status").className !== "error") setStatus(""); });
  loadHistory();
  loadLikes();
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", listCameras);
  }
  listCameras();
}

init();
