"""PyTorch CPU training throughput of moodlens' compact architecture (same layers as
crates/model/src/nets/compact.rs): forward + backward + Adam on random 48x48 inputs, batch 64.
Also inference latency per face (batch 1 and 8). Prints one JSON object.
Env: PEER_THREADS (default 2), PEER_STEPS (default 20)."""
import json
import os
import time

import torch
from torch import nn

THREADS = int(os.environ.get("PEER_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.set_num_interop_threads(1)


def block(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def compact():
    layers, cin = [], 1
    for w in (32, 64, 128, 256):
        layers += block(cin, w) + block(w, w) + [nn.MaxPool2d(2)]
        cin = w
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(cin, 7))


def main():
    torch.manual_seed(0)
    model = compact()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    loss_fn = nn.CrossEntropyLoss()
    steps = int(os.environ.get("PEER_STEPS", "20"))

    def step():
        x = torch.randn(64, 1, 48, 48)
        y = torch.randint(0, 7, (64,))
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    secs = time.perf_counter() - t0

    model.eval()
    lat = []
    with torch.inference_mode():
        for b in (1, 8):
            x = torch.randn(b, 1, 48, 48)
            for _ in range(5):
                torch.softmax(model(x), 1)
            ms = []
            for _ in range(200):
                a = time.perf_counter()
                torch.softmax(model(x), 1)
                ms.append((time.perf_counter() - a) * 1000)
            ms.sort()
            lat.append(dict(batch=b, median_ms_per_call=ms[100], median_ms_per_face=ms[100] / b))
    print(json.dumps(dict(framework="pytorch", torch=torch.__version__, threads=THREADS, params=params,
                          batch=64, steps=steps, seconds=secs, images_per_second=64 * steps / secs,
                          latency=lat)))


if __name__ == "__main__":
    main()
