"""Loopback load test of a running `moodlens serve` (to be run once the server lands; see
docs/RELIABILITY.md). Many concurrent WebSocket clients stream JPEG frames to /ws while other
clients POST images to /api/detect; bounded in client count and duration.

  loadtest.py --url http://127.0.0.1:8080 --image face.jpg [--ws-clients 16] [--flooders 4]
              [--post-clients 4] [--seconds 30] [--fps 15] [--pid SERVER_PID] [--json out.json]

- ws clients (closed loop): send a frame, wait for the reply (timeout 5 s), at most --fps per second:
  their send->reply times give p50/p99 latency.
- flooders (open loop): send frames as fast as the socket takes them and read replies in parallel:
  a server that drops frames instead of queueing answers far fewer messages than it was sent, and
  its memory stays bounded.
- post clients: POST the image bytes to /api/detect in a loop; latency and status codes.
- --pid: the server's RSS is sampled every second (psutil).
Exit code 1 when the server died, a request failed with a connection error, or RSS grew > 2x.
Needs: websockets, psutil (the peer venv from scripts/bench.sh has both)."""
import argparse
import asyncio
import json
import statistics
import time
import urllib.error
import urllib.request

import websockets


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def ws_closed_loop(url, frame, deadline, fps, stats):
    try:
        async with websockets.connect(url, max_size=None) as ws:
            while time.monotonic() < deadline:
                t = time.monotonic()
                await ws.send(frame)
                stats["ws_sent"] += 1
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                    stats["ws_lat"].append((time.monotonic() - t) * 1000)
                except asyncio.TimeoutError:
                    stats["ws_timeouts"] += 1
                await asyncio.sleep(max(0.0, 1 / fps - (time.monotonic() - t)))
    except Exception as e:  # noqa: BLE001
        stats["errors"].append(f"ws: {type(e).__name__}: {e}")


async def ws_flooder(url, frame, deadline, stats):
    try:
        async with websockets.connect(url, max_size=None, write_limit=2 ** 20) as ws:
            async def reader():
                try:
                    async for _ in ws:
                        stats["flood_received"] += 1
                except websockets.ConnectionClosed:
                    pass
            r = asyncio.create_task(reader())
            while time.monotonic() < deadline:
                await ws.send(frame)
                stats["flood_sent"] += 1
            await asyncio.sleep(1)
            r.cancel()
    except Exception as e:  # noqa: BLE001
        stats["errors"].append(f"flood: {type(e).__name__}: {e}")


def post_once(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "image/jpeg"})
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()
            return r.status, (time.monotonic() - t) * 1000
    except urllib.error.HTTPError as e:
        return e.code, (time.monotonic() - t) * 1000


async def poster(url, body, deadline, stats):
    while time.monotonic() < deadline:
        try:
            code, ms = await asyncio.to_thread(post_once, url, body)
            stats["post_codes"][code] = stats["post_codes"].get(code, 0) + 1
            stats["post_lat"].append(ms)
        except Exception as e:  # noqa: BLE001
            stats["errors"].append(f"post: {type(e).__name__}: {e}")
            await asyncio.sleep(0.5)


async def rss_sampler(pid, deadline, stats):
    import psutil
    p = psutil.Process(pid)
    while time.monotonic() < deadline + 2:
        try:
            stats["rss_mib"].append(round(p.memory_info().rss / 2 ** 20, 1))
        except psutil.NoSuchProcess:
            stats["server_died"] = True
            return
        await asyncio.sleep(1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--image", required=True)
    ap.add_argument("--ws-clients", type=int, default=16)
    ap.add_argument("--flooders", type=int, default=4)
    ap.add_argument("--post-clients", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--fps", type=float, default=15)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--json")
    a = ap.parse_args()
    frame = open(a.image, "rb").read()
    base = a.url.rstrip("/")
    ws_url = "ws" + base[4:] + "/ws" if base.startswith("http") else base + "/ws"
    stats = dict(ws_sent=0, ws_lat=[], ws_timeouts=0, flood_sent=0, flood_received=0, post_lat=[],
                 post_codes={}, errors=[], rss_mib=[], server_died=False)
    deadline = time.monotonic() + a.seconds
    tasks = [ws_closed_loop(ws_url, frame, deadline, a.fps, stats) for _ in range(a.ws_clients)]
    tasks += [ws_flooder(ws_url, frame, deadline, stats) for _ in range(a.flooders)]
    tasks += [poster(base + "/api/detect", frame, deadline, stats) for _ in range(a.post_clients)]
    if a.pid:
        tasks.append(rss_sampler(a.pid, deadline, stats))
    await asyncio.gather(*tasks)
    rss = stats["rss_mib"]
    report = dict(
        clients=dict(ws=a.ws_clients, flooders=a.flooders, post=a.post_clients), seconds=a.seconds,
        ws=dict(sent=stats["ws_sent"], replies=len(stats["ws_lat"]), timeouts=stats["ws_timeouts"],
                p50_ms=pct(stats["ws_lat"], 50), p99_ms=pct(stats["ws_lat"], 99)),
        flood=dict(sent=stats["flood_sent"], received=stats["flood_received"],
                   dropped_fraction=(1 - stats["flood_received"] / stats["flood_sent"]) if stats["flood_sent"] else None),
        post=dict(requests=len(stats["post_lat"]), codes=stats["post_codes"],
                  p50_ms=pct(stats["post_lat"], 50), p99_ms=pct(stats["post_lat"], 99)),
        rss_mib=dict(first=rss[0] if rss else None, max=max(rss) if rss else None,
                     median=statistics.median(rss) if rss else None),
        server_died=stats["server_died"], errors=stats["errors"][:10], error_count=len(stats["errors"]))
    print(json.dumps(report, indent=1))
    if a.json:
        json.dump(report, open(a.json, "w"), indent=1)
    grew = rss and rss[0] and max(rss) > 2 * max(rss[: max(3, len(rss) // 10)])
    return 1 if stats["server_died"] or stats["errors"] or grew else 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
