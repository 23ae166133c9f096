#!/usr/bin/env python3
"""Time from a click on Generate to the first sound, in a real browser, for 20 s and 60 s requests.

The app is launched as a visitor meets it (its own process, the shipped checkpoints, one sampling
thread) and driven by headless Chromium: each run types the length, clicks Generate and waits for
the audio element's first ``playing`` event. Where ffmpeg is installed the page streams the audio
(the first seconds play while the rest is sampled); without it the page plays when all is done.

Reference, same run: the same requests through the API (/generate_rnn), which answers with the
whole WAV when everything is sampled and rendered (what the page did before streaming).
Target (issue "The first click"): first sound within 1.5 s of the click for a 60 s request.

    python benchmarks/first_sound.py [--runs 3] [--port 7899]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


def wait_for(url: str, seconds: float = 120) -> None:
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the app did not answer at {url} within {seconds:g} s")


def click_to_sound(page, seconds: int) -> float:
    """Seconds from the click to the first ``playing`` event of the page's generated audio."""
    box = page.locator("#rnn-seconds input[type=number]")
    box.fill(str(seconds))
    box.press("Enter")
    before = page.locator("#rnn-params").inner_text()
    page.evaluate("window.played = undefined")
    clicked = page.evaluate("performance.now()")
    page.click("#generate-rnn")
    page.wait_for_function("window.played !== undefined", timeout=180_000)
    first = (page.evaluate("window.played") - clicked) / 1000
    # Done when this click's parameters (their seconds_taken) replace the last click's.
    page.wait_for_function("b => { const t = document.querySelector('#rnn-params').innerText; return t !== b && t.includes('seconds_taken'); }",
                           arg=before, timeout=180_000)
    page.evaluate("document.querySelectorAll('audio').forEach(a => a.pause())")
    return first


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="clicks per length (default: 3)")
    ap.add_argument("--port", type=int, default=7899)
    args = ap.parse_args()
    from gradio_client import Client
    from playwright.sync_api import sync_playwright

    url = f"http://127.0.0.1:{args.port}/"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1"}
    app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(args.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"streaming": bool(shutil.which("ffmpeg")), "runs": args.runs}
    try:
        wait_for(url)
        client = Client(url, verbose=False)
        client.predict(note_names="C4", seconds=2, api_name="/generate_rnn")  # warm-up
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            page.goto(url, wait_until="networkidle")
            page.evaluate("document.addEventListener('playing', () => { if (window.played === undefined) window.played = performance.now(); }, true)")
            click_to_sound(page, 4)  # warm-up: the player's first load
            for seconds in (20, 60):
                firsts, wholes = [], []
                for seed in range(args.runs):
                    firsts.append(click_to_sound(page, seconds))
                    t0 = time.perf_counter()
                    client.predict(note_names="C4 E4 G4 C5", seconds=seconds, seed=seed, api_name="/generate_rnn")
                    wholes.append(time.perf_counter() - t0)
                results[f"{seconds}s"] = {"first_sound_s": round(statistics.median(firsts), 2), "all": [round(f, 2) for f in firsts],
                                          "whole_wav_s": round(statistics.median(wholes), 2),
                                          "ratio": round(statistics.median(firsts) / statistics.median(wholes), 3)}
                print(f"{seconds:>3} s request: first sound {statistics.median(firsts):.2f} s (runs {', '.join(f'{f:.2f}' for f in firsts)}); "
                      f"whole WAV through the API {statistics.median(wholes):.2f} s; ratio {results[f'{seconds}s']['ratio']:.2f}")
            browser.close()
    finally:
        app.terminate()
        app.wait(timeout=30)
    print(json.dumps(results))
    print("target: first sound within 1.5 s of the click for a 60 s request")


if __name__ == "__main__":
    main()
