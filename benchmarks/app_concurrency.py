#!/usr/bin/env python3
"""Latency of the app's Generate under 1, 4 and 8 users clicking at the same moment.

Starts `app.py` on a loopback port with a given queue concurrency (PIANOGEN_CONCURRENCY),
then fires N simultaneous gradio_client calls (20 s of perf-rnn music each) for a few rounds
and prints p50 / p95 latency per N. Reference, same run: one user alone (N = 1).

    python benchmarks/app_concurrency.py [--concurrency 1 2 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def start(concurrency: int):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PIANOGEN_CONCURRENCY": str(concurrency), "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    from gradio_client import Client

    t0 = time.time()
    while time.time() - t0 < 120:
        try:
            return proc, Client(f"http://127.0.0.1:{port}/", verbose=False)
        except Exception:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("app did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--users", type=int, nargs="+", default=[1, 4, 8])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print("| queue concurrency | users at once | p50 s | p95 s | all answered |\n| ---: | ---: | ---: | ---: | --- |")
    for conc in args.concurrency:
        proc, client = start(conc)
        try:
            client.predict(note_names="C4", seconds=2, api_name="/generate_rnn")  # warm-up
            for users in args.users:
                lat, ok = [], 0

                def one(i):
                    t = time.perf_counter()
                    out = client.predict(note_names="C4 E4 G4 C5", seconds=20, seed=i, api_name="/generate_rnn")
                    return time.perf_counter() - t, Path(out[0]).is_file()

                for r in range(args.rounds):
                    with ThreadPoolExecutor(users) as ex:
                        for dt, good in ex.map(one, range(r * users, (r + 1) * users)):
                            lat.append(dt)
                            ok += good
                print(f"| {conc} | {users} | {np.percentile(lat, 50):.2f} | {np.percentile(lat, 95):.2f} | {ok}/{len(lat)} |", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
