#!/usr/bin/env python3
"""What one click in the app costs: sample, render audio (FluidSynth) and draw the pianoroll
for about 30 s of music with each shipped checkpoint, models loaded once beforehand.

Reference, same run: the music's own length (real time). Target: under 3 s per click.

    python benchmarks/app_latency.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pianogen.audio import render  # noqa: E402
from pianogen.plots import pianoroll_png  # noqa: E402
from pianogen.sampling import load_gan, load_sampler, sample, sample_gan  # noqa: E402


def main() -> None:
    out = Path(tempfile.mkdtemp())
    # Every shipped autoregressive checkpoint, sampled at its recorded defaults, as the app does.
    names = [n for n in ("note-rnn", "perf-rnn", "transformer", "note-transformer") if (ROOT / "checkpoints" / f"{n}.pt").is_file()]
    rnns = {n: load_sampler(ROOT / "checkpoints" / f"{n}.pt") for n in names}
    gan = load_gan(ROOT / "checkpoints" / "musegan.pt")
    pianoroll_png(sample(rnns["perf-rnn"], seconds=2), out / "warm.png")  # matplotlib's first import
    print(f"{'model':<12}{'music s':>9}{'sample':>8}{'audio':>8}{'picture':>9}{'total':>8}{'x real time':>13}")
    for name, s in rnns.items():
        t0 = time.perf_counter()
        notes = sample(s, seed_notes="C4 E4 G4 C5", seconds=30, seed=1)  # its measured defaults, as the app plays
        t1 = time.perf_counter()
        render(notes, out / f"{name}.wav")
        t2 = time.perf_counter()
        pianoroll_png(notes, out / f"{name}.png")
        t3 = time.perf_counter()
        music = float(notes["end"].max())
        print(f"{name:<12}{music:>9.1f}{t1 - t0:>8.2f}{t2 - t1:>8.2f}{t3 - t2:>9.2f}{t3 - t0:>8.2f}{music / (t3 - t0):>12.1f}x")
    t0 = time.perf_counter()
    res = sample_gan(gan, seed=3, bars=16)
    notes = res.merged(0)
    t1 = time.perf_counter()
    render(res.track_notes(0), out / "gan.wav")
    t2 = time.perf_counter()
    pianoroll_png(notes, out / "gan.png", track_names=res.tracks)
    t3 = time.perf_counter()
    music = 16 * gan.roll_cfg.seconds_per_bar()
    print(f"{'musegan':<12}{music:>9.1f}{t1 - t0:>8.2f}{t2 - t1:>8.2f}{t3 - t2:>9.2f}{t3 - t0:>8.2f}{music / (t3 - t0):>12.1f}x")
    print("target: under 3 s per click")


if __name__ == "__main__":
    main()
