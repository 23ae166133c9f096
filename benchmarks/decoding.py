#!/usr/bin/env python3
"""What the performance-event decoding policy does to sampled music (issue: notes that never end).

Samples perf-rnn (T=1, top-p 0.95, no seed) once, then decodes the *same* events two ways:

- before: a re-strike of a sounding key closes the earlier note, and notes the model never
  releases last until the sample ends (the decoder before this change, kept here as the
  reference);
- after: ``performance.decode`` with Magenta's policy (a NOTE_OFF closes the earliest open
  note of its pitch; no note lasts over ``max_note_seconds``), and with a re-strike ending a
  sounding note of its key (what sampling uses).

Prints notes/s, mean polyphony and the share of note-time in notes longer than 5 s for both,
and for real segments of the same length from a prepared split.

    python benchmarks/decoding.py --checkpoint checkpoints/perf-rnn.pt --reference data/prepared/asap --split validation
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from pianogen.data import load_notes  # noqa: E402
from pianogen.data.midi import notes_frame  # noqa: E402
from pianogen.evaluation.features import piece_features, segments  # noqa: E402
from pianogen.representations import performance  # noqa: E402
from pianogen.sampling import load_sampler  # noqa: E402


def decode_before(events, cfg: performance.PerformanceConfig) -> pd.DataFrame:
    """The previous policy: re-strike closes the sounding note; unreleased notes run to the end."""
    now, vel, open_notes, rows = 0, 64, {}, []
    for e in np.asarray(events).tolist():
        if e < cfg.note_off:
            if e in open_notes:
                s, v = open_notes.pop(e)
                rows.append((e, v, s, now))
            open_notes[e] = (now, vel)
        elif e < cfg.time_shift:
            if (p := e - cfg.note_off) in open_notes:
                s, v = open_notes.pop(p)
                rows.append((p, v, s, now))
        elif e < cfg.velocity:
            now += e - cfg.time_shift + 1
        else:
            vel = int(cfg.velocity_bins.value(e - cfg.velocity))
    rows += [(p, v, s, max(now, s + 1)) for p, (s, v) in open_notes.items()]
    a = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return notes_frame(a[:, 0], a[:, 1], a[:, 2] * cfg.shift_seconds, a[:, 3] * cfg.shift_seconds)


def summary(pieces: list[pd.DataFrame], seconds: float) -> dict[str, float]:
    feats = []
    for p in pieces:
        p = p[p["start"] < seconds].assign(end=lambda d: d["end"].clip(upper=seconds))
        feats.append(piece_features(p))
    return {k: float(np.mean([f[k] for f in feats])) for k in ("notes_per_second", "polyphony", "long_note_share")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="checkpoints/perf-rnn.pt")
    ap.add_argument("--reference", default="data/prepared/asap")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--top-p", type=float, default=0.95)
    args = ap.parse_args()

    sampler = load_sampler(args.checkpoint)
    cfg = sampler.codec.config
    torch.set_num_threads(1)
    primer = sampler.codec.encode(pd.DataFrame({"pitch": [], "velocity": [], "start": [], "end": []}))
    with torch.inference_mode():
        rows = sampler._perf(primer, args.seconds, args.temperature, 0, args.top_p, torch.Generator().manual_seed(0), args.n)
    real = [s for _, g in load_notes(args.reference, args.split).groupby("piece_id") for s in segments(g, args.seconds)]
    table = {
        f"real ({args.split}, {len(real)} segments)": summary(real, args.seconds),
        "before: re-strike closes, no cap": summary([decode_before(r, cfg) for r in rows], args.seconds),
        "after: earliest closes first, no cap": summary([performance.decode(r, cfg) for r in rows], args.seconds),
        "earliest first, every note capped at 5 s (Magenta)": summary([performance.decode(r, cfg, max_note_seconds=5.0) for r in rows], args.seconds),
        "after (sampling's policy): Magenta + re-strike ends a sounding key": summary(
            [performance.decode(r, cfg, max_note_seconds=5.0, cut_restrikes=True) for r in rows], args.seconds),
    }
    print(f"{args.checkpoint}: {args.n} samples x {args.seconds:g} s, T={args.temperature}, top-p {args.top_p}")
    print("| decoding | notes/s | mean polyphony | note-time in notes > 5 s |\n| --- | ---: | ---: | ---: |")
    for name, s in table.items():
        print(f"| {name} | {s['notes_per_second']:.1f} | {s['polyphony']:.1f} | {100 * s['long_note_share']:.0f}% |")


if __name__ == "__main__":
    main()
