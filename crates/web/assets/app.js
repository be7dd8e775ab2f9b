// moodlens page: camera session over a WebSocket, photo upload, manual mood, recommendations,
// feedback and history. Plain JS, no build step. Data from the server is inserted as text only.
"use strict";

const EMOTIONS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"];
const COLORS = {
  angry: "#d62728", disgust: "#8c564b", fear: "#9467bd", happy: "#f2b705",
  sad: "#1f77b4", surprise: "#17becf", neutral: "#7f7f7f",
};
const CAPTURE_WIDTH = 480;

const $ = (id) => document.getElementById(id);
const state = {
  ws: null, stream: null, awaiting: false, finishing: false, live: false,
  frames: 0, framesWithFaces: 0, lastFaces: [], lastFrameSize: null,
  lastMood: null, lastRecs: null, lastSummary: null, t0: 0,
};
window.moodlens = state; // for the end-to-end tests and the curious

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

function strategy() {
  const r = document.querySelector('input[name="strategy"]:checked');
  return r ? r.value : "";
}

async function api(path, opts) {
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new Error("The moodlens server is unreachable. Is `moodlens serve` still running?");
  }
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok) {
    const msg = body && body.error ? body.error : res.status + " " + res.statusText;
    throw new Error(msg);
  }
  return body;
}

// ---------- drawing

function drawOverlay(faces, w, h, displayEl) {
  const c = $("overlay");
  const dw = displayEl.clientWidth, dh = displayEl.clientHeight;
  if (!dw || !dh || !w || !h) return;
  c.width = dw; c.height = dh;
  const g = c.getContext("2d");
  g.clearRect(0, 0, dw, dh);
  const sx = dw / w, sy = dh / h;
  g.lineWidth = 3;
  g.font = "bold 14px system-ui, sans-serif";
  for (const f of faces) {
    const b = f.bbox;
    const top = f.top3 || [];
    const color = COLORS[f.emotion] || "#2f6fed";
    const x = b.x * sx, y = b.y * sy, bw = b.w * sx, bh = b.h * sy;
    g.strokeStyle = color;
    g.strokeRect(x, y, bw, bh);
    const lmBox = $("show-landmarks");
    if (lmBox && lmBox.checked && f.landmarks) {
      for (const p of f.landmarks) {
        g.beginPath();
        g.arc(p[0] * sx, p[1] * sy, 3, 0, 2 * Math.PI);
        g.fillStyle = color; g.fill();
        g.lineWidth = 1; g.strokeStyle = "#0d1117"; g.stroke();
      }
      g.lineWidth = 3;
    }
    const lines = top.map((t) => t.emotion + " " + pct(t.probability));
    if (f.track_id !== undefined) lines[0] = "#" + f.track_id + " " + lines[0];
    const lh = 17;
    const boxW = Math.max(...lines.map((l) => g.measureText(l).width)) + 10;
    let ly = y - lines.length * lh - 4;
    if (ly < 0) ly = y + bh + 4;
    if (ly + lines.length * lh + 4 > dh) ly = Math.max(0, y + 4); // no room above or below: inside
    g.fillStyle = "rgba(13,17,23,0.75)";
    g.fillRect(x, ly, boxW, lines.length * lh + 4);
    lines.forEach((l, i) => {
      g.fillStyle = i === 0 ? color : "#e6e9ef";
      g.fillText(l, x + 5, ly + 15 + i * lh);
    });
  }
}

function clearOverlay() {
  const c = $("overlay");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
}

function drawBars(probs, label) {
  const c = $("bars");
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  $("chart-face").textContent = label || "";
  const left = 70, right = 46, rowH = c.height / EMOTIONS.length;
  g.font = "13px system-ui, sans-serif";
  g.textBaseline = "middle";
  EMOTIONS.forEach((e, i) => {
    const p = probs ? (probs[e] || 0) : 0;
    const y = i * rowH;
    g.fillStyle = "#1d2330";
    g.fillText(e, 4, y + rowH / 2);
    g.fillStyle = "#e8ebf1";
    g.fillRect(left, y + 3, c.width - left - right, rowH - 6);
    g.fillStyle = COLORS[e];
    g.fillRect(left, y + 3, (c.width - left - right) * p, rowH - 6);
    g.fillStyle = "#1d2330";
    g.fillText(probs ? pct(p) : "", c.width - right + 6, y + rowH / 2);
  });
}

function showFaces(faces, smoothedLabel) {
  const ul = $("faces");
  ul.replaceChildren();
  if (!faces.length) {
    ul.appendChild(el("li", "no face in view", "muted"));
    return;
  }
  for (const f of faces) {
    const top = (f.top3 || []).map((t) => t.emotion + " " + pct(t.probability)).join(", ");
    const who = f.track_id !== undefined ? "Face #" + f.track_id : "Face " + (f.face + 1);
    const li = el("li", who + ": " + f.emotion + (smoothedLabel ? " (smoothed)" : "") + " — " + top, "face");
    li.style.borderLeftColor = COLORS[f.emotion] || "#2f6fed";
    ul.appendChild(li);
  }
}

// ---------- camera session

function wsUrl() {
  return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
}

async function startCamera() {
  if (state.live) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setStatus("This browser gives no camera access here (it needs http://localhost or https).", "error");
    return;
  }
  setStatus("Asking for the camera…");
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false,
    });
  } catch (e) {
    if (e.name === "NotAllowedError" || e.name === "SecurityError") {
      setStatus("Camera access was denied. Allow it in the browser's site settings, or pick a mood / drop a photo instead.", "error");
    } else if (e.name === "NotFoundError" || e.name === "OverconstrainedError" || e.name === "DevicesNotFoundError") {
      setStatus("No camera was found. Pick a mood or drop a photo instead.", "error");
    } else if (e.name === "NotReadableError") {
      setStatus("The camera is in use by another program.", "error");
    } else {
      setStatus("The camera could not be started: " + e.message, "error");
    }
    return;
  }
  const video = $("video");
  showVideo();
  video.srcObject = state.stream;
  try { await video.play(); } catch (e) { /* autoplay muted: fine */ }
  state.live = true; state.finishing = false; state.awaiting = false;
  state.frames = 0; state.framesWithFaces = 0; state.t0 = performance.now();
  $("start-camera").disabled = true;
  $("finish").disabled = false;
  openSocket();
}

function openSocket() {
  let ws;
  try {
    ws = new WebSocket(wsUrl());
  } catch (e) {
    setStatus("Could not connect to the server: " + e.message, "error");
    stopCamera();
    return;
  }
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.onopen = () => setStatus("Connected. Reading your expression…", "ok");
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    onMessage(m);
  };
  ws.onerror = () => {};
  ws.onclose = (ev) => {
    const wasLive = state.live;
    state.ws = null;
    if (wasLive) {
      setStatus(ev.code === 1006 || ev.code === 1011
        ? "Lost the connection to the moodlens server. Is it still running?"
        : "The server closed the session" + (ev.reason ? ": " + ev.reason : "."), "error");
      stopCamera();
    }
  };
}

function onMessage(m) {
  if (m.type === "hello") {
    sendFrame();
  } else if (m.type === "frame") {
    state.awaiting = false;
    state.frames += 1;
    state.lastFaces = m.faces;
    state.lastFrameSize = [m.width, m.height];
    if (m.faces.length) state.framesWithFaces += 1;
    drawOverlay(m.faces, m.width, m.height, $("video"));
    const first = m.faces[0];
    drawBars(first ? first.probabilities : null, first ? "(face #" + first.track_id + ", this frame)" : "");
    showFaces(m.faces, true);
    const secs = (performance.now() - state.t0) / 1000;
    $("fps").textContent = (state.frames / Math.max(secs, 0.001)).toFixed(1) + " frames/s · " + m.ms.toFixed(0) + " ms on the server";
    scheduleFrame();
  } else if (m.type === "error") {
    state.awaiting = false;
    setStatus(m.message, "error");
    scheduleFrame();
  } else if (m.type === "summary") {
    state.lastSummary = m.summary;
    stopCamera();
    if (m.recommendations) {
      state.lastMood = { probabilities: EMOTIONS.map((e) => m.summary.mean_probabilities[e] || 0), source: "camera", label: m.summary.final_mood };
      renderRecs(m.recommendations, "Session mood: " + m.summary.final_mood);
      setStatus("Session finished: " + m.summary.frames + " frames, mood " + m.summary.final_mood + ".", "ok");
      loadHistory();
    } else {
      setStatus(m.message || "Session finished without a mood.", "error");
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

function finish() {
  if (!state.ws || state.ws.readyState !== WebSocket.OPEN) { stopCamera(); return; }
  state.finishing = true;
  $("finish").disabled = true;
  setStatus("Finishing the session…");
  state.ws.send(JSON.stringify({ type: "finish", strategy: strategy() }));
}

function stopCamera() {
  state.live = false;
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  if (state.ws) { const ws = state.ws; state.ws = null; try { ws.close(); } catch (e) { /* closed */ } }
  $("start-camera").disabled = false;
  $("finish").disabled = true;
}

// ---------- photo upload

function showVideo() {
  const stage = $("stage");
  const old = stage.querySelector("img.photo");
  if (old) old.remove();
  $("video").style.display = "block";
  $("stage-empty").style.display = "none";
  clearOverlay();
}

async function analysePhoto(file) {
  if (!file) return;
  if (state.live) stopCamera();
  if (file.type && !file.type.startsWith("image/")) {
    setStatus("That is not an image (" + file.type + ").", "error");
    return;
  }
  const stage = $("stage");
  $("video").style.display = "none";
  $("stage-empty").style.display = "none";
  let img = stage.querySelector("img.photo");
  if (!img) { img = el("img", null, "photo"); stage.insertBefore(img, $("overlay")); }
  const url = URL.createObjectURL(file);
  await new Promise((ok) => { img.onload = ok; img.onerror = ok; img.src = url; });
  clearOverlay();
  setStatus("Analysing the photo…");
  let r;
  try {
    r = await api("/api/detect", { method: "POST", body: file, headers: { "Content-Type": file.type || "application/octet-stream" } });
  } catch (e) {
    setStatus(e.message, "error");
    return;
  }
  drawOverlay(r.faces, r.width, r.height, img);
  showFaces(r.faces, false);
  drawBars(r.faces[0] ? r.faces[0].probabilities : null, r.faces[0] ? "(face 1)" : "");
  if (!r.faces.length) {
    setStatus("No face found in the photo (faces should be at least a fifth of the picture's height).", "error");
    return;
  }
  setStatus(r.faces.length + " face(s) found.", "ok");
  const probs = EMOTIONS.map((e) => r.summary.mean_probabilities[e] || 0);
  state.lastMood = { probabilities: probs, source: "image", label: r.summary.final_mood };
  await recommend();
}

// ---------- recommendations

// one session per tab: the same mood and strategy give the same list until "New picks"
const PAGE_SESSION = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => (b % 36).toString(36)).join("");

async function recommend(shuffle) {
  const m = state.lastMood;
  if (!m) return;
  const q = new URLSearchParams({ strategy: strategy(), source: m.source, session: PAGE_SESSION });
  if (shuffle) q.set("shuffle", "true");
  if (m.mood) q.set("mood", m.mood); else q.set("probabilities", m.probabilities.map((p) => p.toFixed(5)).join(","));
  try {
    const rec = await api("/api/recommend?" + q.toString());
    renderRecs(rec, m.mood ? "Your mood: " + m.mood : "Mood: " + (m.label || rec.mood));
    loadHistory();
  } catch (e) {
    setStatus(e.message, "error");
  }
}

function feedbackButtons(item) {
  const span = el("span", null, "fb");
  const mk = (label, liked, title) => {
    const b = el("button", label);
    b.type = "button"; b.title = title;
    b.className = liked ? "like" : "dislike";
    b.onclick = async () => {
      try {
        const r = await api("/api/feedback", {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ item: item.key, liked }),
        });
        span.querySelectorAll("button").forEach((x) => x.classList.remove("chosen"));
        b.classList.add("chosen");
        setStatus((liked ? "Liked: " : "Disliked (won't be shown again): ") + r.title, "ok");
      } catch (e) { setStatus(e.message, "error"); }
    };
    return b;
  };
  span.appendChild(mk("👍", true, "like"));
  span.appendChild(mk("👎", false, "dislike"));
  return span;
}

function itemLine(it) {
  const li = el("li", null, it.kind);
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

function renderRecs(rec, title) {
  state.lastRecs = rec;
  $("mood-title").textContent = title;
  $("mood-line").textContent = "valence " + rec.valence.toFixed(2) + ", arousal " + rec.arousal.toFixed(2) +
    " · strategy " + rec.strategy + (rec.genres.length ? " · " + rec.genres.slice(0, 3).join(", ") : "");
  const box = $("recommendations");
  box.replaceChildren();
  for (const n of rec.notices || []) box.appendChild(el("p", n, "notice"));
  if (rec.people && rec.people.length) {
    box.appendChild(el("p", rec.people.map((p) => "person " + p.person + ": " + p.mood).join(" · ") +
      " — one list for everyone (" + (rec.aggregation || "least-misery") + ")", "people"));
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
}

// ---------- history

async function loadHistory() {
  let h;
  try { h = await api("/api/history?last=60"); } catch (e) { $("history-note").textContent = e.message; return; }
  const s = h.sessions;
  const c = $("history");
  c.width = c.clientWidth || 900;
  const g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  if (!s.length) { $("history-note").textContent = "No sessions yet."; return; }
  $("history-note").textContent = s.length + " session(s), oldest left. Height: valence (pleasant up); colour: mood.";
  const left = 40, right = 10, top = 10, bottom = 30;
  const W = c.width - left - right, H = c.height - top - bottom;
  const x = (i) => left + (s.length === 1 ? W / 2 : (i * W) / (s.length - 1));
  const y = (v) => top + ((1 - v) / 2) * H;
  g.strokeStyle = "#d5d9e2"; g.lineWidth = 1;
  g.font = "11px system-ui, sans-serif"; g.fillStyle = "#6b7385";
  for (const v of [-1, 0, 1]) {
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(left + W, y(v)); g.stroke();
    g.fillText(v > 0 ? "+1" : String(v), 8, y(v) + 4);
  }
  g.strokeStyle = "#9aa3b5"; g.lineWidth = 1.5;
  g.beginPath();
  s.forEach((r, i) => (i ? g.lineTo(x(i), y(r.valence)) : g.moveTo(x(i), y(r.valence))));
  g.stroke();
  s.forEach((r, i) => {
    g.fillStyle = COLORS[r.mood] || "#333";
    g.beginPath(); g.arc(x(i), y(r.valence), 6, 0, Math.PI * 2); g.fill();
  });
  g.fillStyle = "#1d2330";
  g.fillText(s[0].time_utc + " UTC", left, c.height - 8);
  const last = s[s.length - 1].time_utc + " UTC";
  g.fillText(last, left + W - g.measureText(last).width, c.height - 8);
  let lx = left + 160;
  for (const e of EMOTIONS) {
    g.fillStyle = COLORS[e]; g.fillRect(lx, c.height - 16, 10, 10);
    g.fillStyle = "#1d2330"; g.fillText(e, lx + 13, c.height - 8);
    lx += g.measureText(e).width + 26;
  }
}

// ---------- wiring

function init() {
  $("start-camera").onclick = startCamera;
  $("finish").onclick = finish;
  document.querySelectorAll("#mood-buttons button").forEach((b) => {
    b.onclick = () => {
      document.querySelectorAll("#mood-buttons button").forEach((x) => x.classList.remove("active"));
      b.classList.add("active");
      state.lastMood = { mood: b.dataset.mood, source: "manual" };
      recommend();
    };
  });
  document.querySelectorAll('input[name="strategy"]').forEach((r) => {
    r.onchange = () => { if (state.lastMood && !state.live) recommend(); };
  });
  $("file").onchange = (e) => analysePhoto(e.target.files[0]);
  const stage = $("stage");
  stage.addEventListener("dragover", (e) => { e.preventDefault(); stage.classList.add("dragover"); });
  stage.addEventListener("dragleave", () => stage.classList.remove("dragover"));
  stage.addEventListener("drop", (e) => {
    e.preventDefault(); stage.classList.remove("dragover");
    if (e.dataTransfer.files.length) analysePhoto(e.dataTransfer.files[0]);
  });
  $("refresh-history").onclick = loadHistory;
  drawBars(null, "");
  api("/health").then(() => setStatus("")).catch((e) => setStatus(e.message, "error"));
  loadHistory();
  setInterval(() => {
    if (!state.live) api("/health").catch((e) => setStatus(e.message, "error"));
  }, 15000);
}

init();

document.getElementById("shuffle").addEventListener("click", () => recommend(true));
