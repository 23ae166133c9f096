#!/usr/bin/env python3
"""Sample a trained autoregressive checkpoint to MIDI, optionally continuing seed notes.

Temperature, top-p and the time tilt default to the checkpoint's measured sampling defaults
(`scripts/tune_sampling.py --record`), as in the app. Writes OUT (one piano MIDI file; with -n > 1, OUT_0.mid, OUT_1.mid, ...) and OUT.json
with every parameter, so a result can be reproduced.
"""

import json
import time
from pathlib import Path

import _path  # noqa: F401

from pianogen.cli import sampling_threads, parser, run


def main() -> int:
    from pianogen.data import write_midi
    from pianogen.io import check_writable, write_json
    from pianogen.sampling import load_sampler, sample

    ap = parser(__doc__, 'python scripts/sample.py --checkpoint checkpoints/perf-rnn.pt --seed-notes "C4 E4 G4 C5" --seconds 30 --out out.mid')
    ap.add_argument("--checkpoint", required=True, help="an autoregressive checkpoint (.pt): perf-rnn, transformer, note-rnn or note-transformer")
    seed = ap.add_mutually_exclusive_group()
    seed.add_argument("--seed-notes", help="note names, e.g. 'C4 E4 G4' ('+' joins a chord, '_' rests)")
    seed.add_argument("--seed-midi", help="a MIDI file whose opening seeds the model")
    ap.add_argument("--seed-seconds", type=float, help="use only the first N seconds of the seed")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of music after the seed (default: 30)")
    ap.add_argument("--temperature", type=float, help="softmax temperature; 0 = greedy (default: the checkpoint's measured default, else 1)")
    ap.add_argument("--top-k", type=int, default=0, help="sample among the k most likely (0 = off)")
    ap.add_argument("--top-p", type=float, help="nucleus sampling mass, 1 = off (default: the checkpoint's measured default, else 0.95)")
    ap.add_argument("--notes-per-second", type=float, help="ask for this density (a density-conditioned model's input, else the "
                    "checkpoint's calibrated tilt; default: as the model plays)")
    ap.add_argument("--density", type=float, help="time tilt by hand, per second: > 0 busier, < 0 sparser, 0 = off "
                    "(default: the tilt measured with the checkpoint's sampling defaults, if any)")
    ap.add_argument("--max-note-seconds", type=float, default=5.0, help="perf-rnn: no note lasts longer (Magenta's 5 s; 0 = no cap)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    ap.add_argument("-n", type=int, default=1, help="number of samples, generated as one batch")
    ap.add_argument("--out", required=True, help="output .mid path")
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = ap.parse_args()
    sampling_threads()

    out = Path(args.out)
    paths = [out] if args.n == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix or '.mid'}") for i in range(args.n)]
    for p in paths + [out.with_suffix(".json")]:
        check_writable(p, args.force)
    sampler = load_sampler(args.checkpoint)
    t0, p0, tilt0 = sampler.defaults  # what sample() plays for each value left unset
    args.temperature = t0 if args.temperature is None else args.temperature
    args.top_p = p0 if args.top_p is None else args.top_p
    t = time.perf_counter()
    notes = sample(sampler, seed_notes=args.seed_notes or (Path(args.seed_midi) if args.seed_midi else None), seconds=args.seconds, temperature=args.temperature,
                   top_k=args.top_k, top_p=args.top_p, seed=args.seed, n=args.n, seed_seconds=args.seed_seconds,
                   max_note_seconds=args.max_note_seconds or None, density=args.density,
                   notes_per_second=args.notes_per_second)
    seconds = time.perf_counter() - t
    groups = [notes] if args.n == 1 else [g for _, g in notes.groupby("sample")]
    for p, g in zip(paths, groups):
        write_midi(g, p)
    params = {k: v for k, v in vars(args).items() if k != "force"}
    if args.density is None and args.notes_per_second is None:
        params["density"] = tilt0  # what was used, for reproduction
    write_json(out.with_suffix(".json"), {"parameters": params, "files": [str(p) for p in paths], "notes": [int(len(g)) for g in groups], "seconds_taken": round(seconds, 3)})
    print(json.dumps({"files": [str(p) for p in paths], "notes": [int(len(g)) for g in groups], "seconds_taken": round(seconds, 2)}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError
    from pianogen.data import MidiReadError
    from pianogen.io import OutputExistsError

    run(main, (CheckpointError, MidiReadError, OutputExistsError, ValueError, FileNotFoundError))
