#!/usr/bin/env python3
"""A load run against the app: N gradio_client users clicking for a while, as a Space sees it.

Starts `app.py` on a loopback port (its own temporary folders), measures one user alone for
the reference, then N users (default 8), each with its own client, sending a mix of requests
(the three autoregressive models at 10-30 s, MuseGAN at 4-16 bars, now and then a bad one) for
``--seconds`` (default 120). Prints p50 / p95 latency against the single user's, errors, the
server's peak resident memory and the peak disk of its result and Gradio folders.

    python benchmarks/app_load.py [--users 8] [--seconds 120]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_mb(root: Path) -> float:
    return sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 1e6 if root.exists() else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    tmp = Path(tempfile.mkdtemp())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp), "GRADIO_TEMP_DIR": str(tmp / "gradio")}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            client = Client(url, verbose=False)
            break
        except Exception:
            time.sleep(0.5)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    rnns = info["/generate_rnn"]["parameters"][0]["type"]["enum"]
    gans = info["/generate_gan"]["parameters"][0]["type"]["enum"]
    peak = {"rss": 0.0, "disk": 0.0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], rss_mb(proc.pid))
            peak["disk"] = max(peak["disk"], folder_mb(tmp))
            time.sleep(0.5)

    def request(c: Client, rng: random.Random):
        r = rng.random()
        if r < 0.05:  # a visitor's mistake: a clear error, not a failure
            return c.predict(checkpoint=rng.choice(rnns), note_names="C4 H4", seconds=10, api_name="/generate_rnn"), True
        if r < 0.25 and gans:
            return c.predict(rng.choice(gans), rng.randrange(1000), rng.randrange(1000), rng.random(), rng.choice([4, 8, 16]),
                             ["melody", "inner", "bass"], api_name="/generate_gan"), False
        return c.predict(checkpoint=rng.choice(rnns), note_names="C4 E4 G4 C5", seconds=rng.choice([10, 20, 30]), seed=rng.randrange(1000),
                         api_name="/generate_rnn"), False

    def user(i: int, seconds: float, lat: list, errors: list):
        c = Client(url, verbose=False)
        rng = random.Random(i)
        end = time.time() + seconds
        while time.time() < end:
            t = time.perf_counter()
            try:
                out, bad = request(c, rng)
                ok = Path(out[0]).is_file()
            except AppError as exc:
                ok = "unknown note name" in str(exc)  # the planted mistake is answered clearly
            except Exception as exc:  # noqa: BLE001 - a load run counts every failure
                errors.append(repr(exc)[:120])
                continue
            (lat if ok else errors).append(time.perf_counter() - t)

    threading.Thread(target=watch, daemon=True).start()
    try:
        client.predict(checkpoint=rnns[0], note_names="C4", seconds=2, api_name="/generate_rnn")  # warm-up
        alone, alone_err = [], []
        user(10_000, min(30.0, args.seconds / 4), alone, alone_err)
        lat, errors = [], []
        threads = [threading.Thread(target=user, args=(i, args.seconds, lat, errors)) for i in range(args.users)]
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.time() - t0
        alive = proc.poll() is None
    finally:
        stop.set()
        proc.terminate()
        proc.wait(10)
    print("| users | requests | p50 s | p95 s | errors | vs one user alone (p50) | peak memory | peak disk | server up |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    print(f"| 1 | {len(alone)} | {np.percentile(alone, 50):.2f} | {np.percentile(alone, 95):.2f} | {len(alone_err)} | 1.00x | | | |")
    print(f"| {args.users} | {len(lat)} in {took:.0f} s | {np.percentile(lat, 50):.2f} | {np.percentile(lat, 95):.2f} | {len(errors)} | "
          f"{np.percentile(lat, 50) / np.percentile(alone, 50):.2f}x | {peak['rss']:.0f} MB | {peak['disk']:.0f} MB | {alive} |")
    if errors:
        print("errors:", errors[:5])


if __name__ == "__main__":
    main()
