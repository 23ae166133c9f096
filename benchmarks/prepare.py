#!/usr/bin/env python3
"""Notes per second of pianogen's `prepare` against the TensorFlow-tutorial reference.

Reference: pretty_midi + a per-note pandas loop (``midi_to_notes`` of the TensorFlow
"music generation with an RNN" tutorial), run on the same files in the same process.
Also times the whole `scripts/prepare_data.py` run, process start included.

    python benchmarks/prepare.py [--corpus data/maestro-mini] [--repeat 3]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pretty_midi  # noqa: E402

from pianogen.data import PrepareConfig, prepare  # noqa: E402


def tutorial_midi_to_notes(midi_file: str) -> pd.DataFrame:
    """The tutorial's reference loop (extended to all instruments, as prepare merges them)."""
    pm = pretty_midi.PrettyMIDI(midi_file)
    notes = collections.defaultdict(list)
    sorted_notes = sorted((n for inst in pm.instruments for n in inst.notes), key=lambda note: note.start)
    prev_start = sorted_notes[0].start
    for note in sorted_notes:
        start, end = note.start, note.end
        notes["pitch"].append(note.pitch)
        notes["start"].append(start)
        notes["end"].append(end)
        notes["step"].append(start - prev_start)
        notes["duration"].append(end - start)
        prev_start = start
    return pd.DataFrame({name: np.array(value) for name, value in notes.items()})


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(ROOT / "data" / "maestro-mini"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    files = sorted(str(p) for p in Path(args.corpus).rglob("*.mid*"))
    n_notes = sum(len(tutorial_midi_to_notes(f)) for f in files)  # also warms the disk cache

    ref = best_of(args.repeat, lambda: [tutorial_midi_to_notes(f) for f in files])
    with tempfile.TemporaryDirectory() as tmp:
        ours = best_of(args.repeat, lambda: prepare(args.corpus, tmp, PrepareConfig(progress=False), force=True))
        cmd = [sys.executable, str(ROOT / "scripts" / "prepare_data.py"), args.corpus, "--out", tmp, "--force", "--quiet"]
        wall = best_of(args.repeat, lambda: subprocess.run(cmd, check=True, capture_output=True))

    print(f"files: {len(files)}, notes: {n_notes}")
    print(f"reference (pretty_midi + pandas loop): {ref:7.3f} s  {n_notes / ref:12,.0f} notes/s")
    print(f"pianogen prepare (in process):         {ours:7.3f} s  {n_notes / ours:12,.0f} notes/s")
    print(f"ratio: {ref / ours:.1f}x   (target >= 50x)")
    print(f"scripts/prepare_data.py wall, process start included: {wall:.3f} s   (target < 1.5 s)")


if __name__ == "__main__":
    main()
