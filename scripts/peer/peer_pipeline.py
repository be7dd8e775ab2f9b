"""The Python peer pipeline for `scripts/bench.sh`: the design moodlens replaces, built the way the
original design describes it -- OpenCV Haar (opencv-python-headless) + a Keras/TensorFlow CNN.

The CNN is the same VGG-style architecture as moodlens' compact net (4 stages of two 3x3 conv + BN +
ReLU with 32/64/128/256 channels, 2x2 max-pool, global average pooling, dropout 0.4, dense 7;
about 1.17M parameters) with RANDOM weights (saved once by `init`, loaded like a shipped model):
these runs measure speed, not accuracy.

Detector settings match moodlens' full-scan defaults (detect on a copy 320 px wide, histogram
equalisation, scaleFactor 1.1, minNeighbors 5, min face 0.2 of the shorter side) so that the
comparison is about the implementation, not the settings.

Usage: peer_pipeline.py init WEIGHTS | video WEIGHTS VIDEO | detect WEIGHTS IMAGE |
       latency WEIGHTS | train
Prints one JSON object on stdout.
"""
import json
import os
import sys
import time

T_START = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
THREADS = int(os.environ.get("PEER_THREADS", "2"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(THREADS)
tf.config.threading.set_inter_op_parallelism_threads(1)
cv2.setNumThreads(THREADS)
from tensorflow import keras  # noqa: E402

MEAN, STD = 0.5077, 0.2551
MARGIN, Y_OFFSET = 0.01, 0.0  # moodlens defaults (crop.rs)


def build_model():
    inp = keras.Input((48, 48, 1))
    x = inp
    for w in (32, 64, 128, 256):
        for _ in range(2):
            x = keras.layers.Conv2D(w, 3, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.4)(x)
    out = keras.layers.Dense(7)(x)
    return keras.Model(inp, out)


def load_model(path):
    m = build_model()
    m.load_weights(path)
    return m


CASCADE = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")


def detect(frame):
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    s = 320.0 / w if w > 320 else 1.0
    small = cv2.resize(gray, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else gray
    small = cv2.equalizeHist(small)
    m = int(0.2 * min(small.shape))
    boxes = CASCADE.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(m, m))
    return gray, [(int(x / s), int(y / s), int(bw / s), int(bh / s)) for (x, y, bw, bh) in boxes]


def crops(gray, boxes):
    out = []
    H, W = gray.shape
    for (x, y, w, h) in boxes:
        mx, my = int(w * MARGIN), int(h * MARGIN)
        cy = int(h * Y_OFFSET)
        x0, y0 = max(0, x - mx), max(0, y - my + cy)
        x1, y1 = min(W, x + w + mx), min(H, y + h + my + cy)
        c = cv2.resize(gray[y0:y1, x0:x1], (48, 48), interpolation=cv2.INTER_AREA)
        out.append(((c.astype(np.float32) / 255.0) - MEAN) / STD)
    return np.stack(out)[..., None] if out else None


def classify(model, batch):
    logits = model(batch, training=False).numpy()
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cmd_video(weights, video):
    model = load_model(weights)
    classify(model, np.zeros((1, 48, 48, 1), np.float32))  # warm-up, like moodlens' first call
    cap = cv2.VideoCapture(video)
    t = dict(decode=0.0, detect=0.0, preprocess=0.0, classify=0.0)
    frames = faces = one = 0
    t0 = time.perf_counter()
    while True:
        a = time.perf_counter()
        ok, frame = cap.read()
        b = time.perf_counter()
        if not ok:
            break
        gray, boxes = detect(frame)
        c = time.perf_counter()
        batch = crops(gray, boxes)
        d = time.perf_counter()
        if batch is not None:
            classify(model, batch)
        e = time.perf_counter()
        t["decode"] += b - a
        t["detect"] += c - b
        t["preprocess"] += d - c
        t["classify"] += e - d
        frames += 1
        faces += len(boxes)
        one += len(boxes) == 1
    secs = time.perf_counter() - t0
    n = max(frames, 1)
    print(json.dumps(dict(
        input=video, frames=frames, face_observations=faces, frames_with_one_face=one,
        seconds=secs, fps=frames / secs,
        per_frame_ms={k: v * 1000 / n for k, v in t.items()}, threads=THREADS,
        tensorflow=tf.__version__, opencv=cv2.__version__)))


def cmd_detect(weights, image):
    model = load_model(weights)
    frame = cv2.imread(image)
    if frame is None:
        print(json.dumps(dict(error="unreadable image")))
        sys.exit(1)
    gray, boxes = detect(frame)
    batch = crops(gray, boxes)
    probs = classify(model, batch).tolist() if batch is not None else []
    print(json.dumps(dict(faces=len(boxes), probabilities=probs,
                          in_process_ms=(time.perf_counter() - T_START) * 1000)))


def cmd_latency(weights):
    model = load_model(weights)
    rng = np.random.default_rng(7)
    res = []
    for batch in (1, 8):
        x = rng.standard_normal((batch, 48, 48, 1)).astype(np.float32)
        for _ in range(5):
            classify(model, x)
        ms = []
        for _ in range(int(os.environ.get("PEER_ITERS", "200"))):
            a = time.perf_counter()
            classify(model, x)
            ms.append((time.perf_counter() - a) * 1000)
        ms.sort()
        med = ms[len(ms) // 2]
        res.append(dict(batch=batch, median_ms_per_call=med, median_ms_per_face=med / batch))
    print(json.dumps(res))


def cmd_train():
    """Keras training throughput (fit on random data, batch 64, Adam): for reference."""
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(2e-4),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps = int(os.environ.get("PEER_STEPS", "20"))
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64 * (steps + 3), 48, 48, 1)).astype(np.float32)
    y = rng.integers(0, 7, 64 * (steps + 3))
    model.fit(x[:64 * 3], y[:64 * 3], batch_size=64, epochs=1, verbose=0)  # warm-up / trace
    a = time.perf_counter()
    model.fit(x[64 * 3:], y[64 * 3:], batch_size=64, epochs=1, verbose=0)
    secs = time.perf_counter() - a
    print(json.dumps(dict(framework="keras", batch=64, steps=steps, seconds=secs,
                          images_per_second=64 * steps / secs,
                          params=int(model.count_params()))))


def main():
    cmd = sys.argv[1]
    if cmd == "init":
        m = build_model()
        m.save_weights(sys.argv[2])
        print(json.dumps(dict(params=int(m.count_params()), weights=sys.argv[2])))
    elif cmd == "video":
        cmd_video(sys.argv[2], sys.argv[3])
    elif cmd == "detect":
        cmd_detect(sys.argv[2], sys.argv[3])
    elif cmd == "latency":
        cmd_latency(sys.argv[2])
    elif cmd == "train":
        cmd_train()
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
