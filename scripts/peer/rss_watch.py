"""Runs a command and samples its resident set size (VmRSS from /proc) every INTERVAL seconds.
Usage: rss_watch.py INTERVAL OUT.json -- cmd args...   (standard library only)"""
import json
import subprocess
import sys
import time


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    pass
            f.seek(0)
            vals = {l.split(":")[0]: int(l.split()[1]) for l in f if l.startswith(("VmRSS:", "VmHWM:"))}
            return vals
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None


def main():
    interval, out = float(sys.argv[1]), sys.argv[2]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    samples, hwm = [], 0
    while p.poll() is None:
        v = rss_kib(p.pid)
        if v and "VmRSS" in v:
            samples.append(dict(t=round(time.perf_counter() - t0, 1), rss_mib=round(v["VmRSS"] / 1024, 1)))
            hwm = max(hwm, v.get("VmHWM", 0))
        time.sleep(interval)
    stdout = p.stdout.read().decode(errors="replace")
    json.dump(dict(cmd=cmd, rc=p.returncode, seconds=time.perf_counter() - t0, samples=samples,
                   peak_rss_mib=round(hwm / 1024, 1), stdout=stdout), open(out, "w"), indent=1)
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
