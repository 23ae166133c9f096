#!/usr/bin/env python3
"""Sample a trained checkpoint to MIDI (and WAV with --wav), optionally continuing seed notes.

Autoregressive models: temperature, top-p and the time tilt default to the checkpoint's measured
sampling defaults (`scripts/tune_sampling.py --record`), as in the app. MuseGAN: --seconds of
bars from latent seed --seed, one named track per voice (a musical-time MuseGAN's bars are
notated 4/4 bars at --bpm, with the tempo and metre in the file). Writes OUT (with -n > 1, OUT_0.mid,
OUT_1.mid, ...) and OUT.json with every parameter, so a result can be reproduced; a sample that
falls silent long before the asked length gets a warning.
"""

import json
import sys
import time
from pathlib import Path

import _path  # noqa: F401

from pianogen.cli import sampling_threads, parser, run


def main() -> int:
    from pianogen.data import write_midi
    from pianogen.io import check_writable
    from pianogen.audio import render
    from pianogen.checkpoints import load
    from pianogen.sampling import load_sampler, sample

    ap = parser(__doc__, 'python scripts/sample.py --checkpoint checkpoints/perf-rnn.pt --seed-notes "C4 E4 G4 C5" --seconds 30 --out out.mid')
    ap.add_argument("--checkpoint", required=True, help="a checkpoint (.pt): perf-rnn, transformer, note-rnn, note-transformer or musegan")
    seed = ap.add_mutually_exclusive_group()
    seed.add_argument("--seed-notes", help="note names, e.g. 'C4 E4 G4' ('+' joins a chord, '_' rests)")
    seed.add_argument("--seed-midi", help="a MIDI file whose opening seeds the model")
    ap.add_argument("--seed-seconds", type=float, help="use only the seed notes starting in its first N seconds (default: all of it, at most 3,000 notes)")
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of music after the seed (default: 30)")
    ap.add_argument("--temperature", type=float, help="softmax temperature; 0 = greedy (default: the checkpoint's measured default, else 1)")
    ap.add_argument("--top-k", type=int, default=0, help="sample among the k most likely (0 = off)")
    ap.add_argument("--top-p", type=float, help="nucleus sampling mass, 1 = off (default: the checkpoint's measured default, else 0.95)")
    ap.add_argument("--pitch-temperature", type=float, help="note models: the pitch field's own temperature (default: as much cooler "
                    "than --temperature as in the checkpoint's measured defaults, else --temperature)")
    ap.add_argument("--notes-per-second", type=float, help="ask for this density (a density-conditioned model's input, else the "
                    "checkpoint's calibrated tilt; default: as the model plays)")
    ap.add_argument("--time-tilt", "--density", dest="time_tilt", type=float, help="time tilt by hand, per second: > 0 busier, < 0 sparser, 0 = off "
                    "(default: the tilt measured with the checkpoint's sampling defaults, if any)")
    ap.add_argument("--motif-memory", type=float, help="note models: how strongly the music brings back its own figures "
                    "(1 = as fitted by likelihood, 0 = off; default: the checkpoint's recorded strength)")
    ap.add_argument("--max-note-seconds", type=float, default=5.0, help="perf-rnn: no note lasts longer (Magenta's 5 s; 0 = no cap)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    ap.add_argument("-n", type=int, default=1, help="number of samples, generated as one batch")
    ap.add_argument("--out", required=True, help="output .mid path")
    ap.add_argument("--wav", action="store_true", help="also render each sample to OUT.wav (FluidSynth, else the built-in synthesizer)")
    ap.add_argument("--bpm", type=float, help="musical-time MuseGAN: tempo in beats per minute (default: its corpus' median tempo)")
    ap.add_argument("--key", help="key-conditioned MuseGAN: the key, e.g. 'G major', 'E minor', 'Bb' (a minor key asks for its "
                    "relative major's signature; default: one drawn from the seed)")
    ap.add_argument("--texture", help="texture-conditioned MuseGAN: the passage's kind, any of a rhythm (sixteenths, triplets, eighths, slower), "
                    "a density (sparse, moderate, dense) and a loudness (soft, medium, loud), e.g. 'triplets, soft' (default: drawn from the seed as in real music)")
    ap.add_argument("--fp32", action="store_true", help="sample perf-rnn/note-rnn with fp32 weights (default on a CPU: int8, "
                    "several times faster at batch 1, likelihood within 0.5%%; see benchmarks/int8.py)")
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = ap.parse_args()
    sampling_threads()

    out = Path(args.out)
    paths = [out] if args.n == 1 else [out.with_name(f"{out.stem}_{i}{out.suffix or '.mid'}") for i in range(args.n)]
    wavs = [p.with_suffix(".wav") for p in paths] if args.wav else []
    for p in paths + wavs + [out.with_suffix(".json")]:
        check_writable(p, args.force)
    if load(args.checkpoint)["kind"] == "musegan":
        return sample_musegan(args, paths, wavs, out)
    if args.bpm is not None:
        raise ValueError("--bpm: only a musical-time MuseGAN has a tempo to set; an autoregressive model plays in performed time")
    if args.key is not None:
        raise ValueError("--key: only a key-conditioned MuseGAN takes a key; an autoregressive model follows its seed notes")
    if args.texture is not None:
        raise ValueError("--texture: only a texture-conditioned MuseGAN takes a texture; an autoregressive model follows its seed notes")
    sampler = load_sampler(args.checkpoint, int8=False if args.fp32 else None)
    t0, p0, tilt0 = sampler.defaults  # what sample() plays for each value left unset
    args.temperature = t0 if args.temperature is None else args.temperature
    args.top_p = p0 if args.top_p is None else args.top_p
    t = time.perf_counter()
    notes = sample(sampler, seed_notes=args.seed_notes or (Path(args.seed_midi) if args.seed_midi else None), seconds=args.seconds, temperature=args.temperature,
                   top_k=args.top_k, top_p=args.top_p, seed=args.seed, n=args.n, seed_seconds=args.seed_seconds,
                   max_note_seconds=args.max_note_seconds or None, time_tilt=args.time_tilt,
                   notes_per_second=args.notes_per_second, motif_memory=args.motif_memory, pitch_temperature=args.pitch_temperature)
    seconds = time.perf_counter() - t
    groups = [notes] if args.n == 1 else [notes[notes["sample"] == i] for i in range(args.n)]
    for p, g in zip(paths, groups):
        seed_end = float(g.loc[g["is_seed"], "end"].max()) if g["is_seed"].any() else 0.0
        write_midi(g, p, end=seed_end + args.seconds)  # the file lasts what was asked, even if the music stops early
    for w, g in zip(wavs, groups):
        if len(g):  # an empty sample gets its warning below, not a silent WAV
            render(g, w)
    params = {**{k: v for k, v in vars(args).items() if k not in ("force", "fp32")}, "weights": sampler.weights}
    if args.time_tilt is None and args.notes_per_second is None:
        params["time_tilt"] = tilt0  # what was used, for reproduction
    if args.pitch_temperature is None:
        params["pitch_temperature"] = sampler.pitch_temperature_for(args.temperature)  # None: the same as --temperature
    if args.motif_memory is None:
        params["motif_memory"] = sampler.motif_strength
    finish(out, params, paths, wavs, groups, seconds)
    return 0


def sample_musegan(args, paths: list[Path], wavs: list[Path], out: Path) -> int:
    """MuseGAN: ``--seconds`` of bars (past 8 bars the latents walk), one named track per voice
    in each MIDI file; ``--seed`` is the latent seed (sample i uses seed + i)."""
    from pianogen.audio import render
    from pianogen.sampling import load_gan, sample_gan

    unused = [f"--{k.replace('_', '-')}" for k in ("seed_notes", "seed_midi", "temperature", "top_p", "notes_per_second", "time_tilt", "motif_memory")
              if getattr(args, k) is not None]
    if unused:
        raise ValueError(f"{', '.join(unused)}: a MuseGAN samples from latent vectors only (use --seed and --seconds)")
    g = load_gan(args.checkpoint)
    if args.bpm is not None and not g.musical_time:
        raise ValueError(f"--bpm: {args.checkpoint} is a clock-time MuseGAN (2 s bars); its tempo cannot be set")
    if args.bpm is not None and not 20 <= args.bpm <= 400:
        raise ValueError(f"--bpm {args.bpm:g}: choose a tempo between 20 and 400 beats per minute")
    key = None
    if args.key is not None:
        from pianogen.representations.keys import parse_key

        if not g.keyed:
            raise ValueError(f"--key: {args.checkpoint} has no key condition (train one with train_musegan.py --keys)")
        key = parse_key(args.key)
    texture = None
    if args.texture is not None:
        from pianogen.representations.textures import parse_texture

        if not g.textured:
            raise ValueError(f"--texture: {args.checkpoint} has no texture condition (train one with train_musegan.py --texture)")
        texture = parse_texture(args.texture)
    bars = max(1, int(round(args.seconds / g.roll_cfg.seconds_per_bar(args.bpm))))
    t = time.perf_counter()
    results = [sample_gan(g, seed=args.seed + i, bars=bars, bpm=args.bpm, key=key, texture=texture) for i in range(args.n)]
    seconds = time.perf_counter() - t
    for r, p in zip(results, paths):
        r.write_midi(p)
    for r, w in zip(results, wavs):
        render(r.track_notes(0), w)
    params = {"checkpoint": args.checkpoint, "seconds": bars * g.roll_cfg.seconds_per_bar(args.bpm), "bars": bars, "seed": args.seed, "n": args.n, "out": args.out,
              **({"bpm": results[0].bpm} if g.musical_time else {}), **({"keys": [r.params["keys"][0] for r in results]} if g.keyed else {}),
              **({"textures": [r.params["textures"][0] for r in results]} if g.textured else {})}
    finish(out, params, paths, wavs, [r.merged(0) for r in results], seconds)
    return 0


def finish(out: Path, params: dict, paths: list[Path], wavs: list[Path], groups, seconds: float) -> None:
    """OUT.json with every parameter, and one line for people; warns when a sample is far
    sparser than asked (the model fell silent), so a short file is never a silent surprise."""
    from pianogen.io import write_json

    counts = [int(len(g)) for g in groups]
    ends = [round(float(g["end"].max()), 2) if len(g) else 0.0 for g in groups]
    wavs = [w for w in wavs if w.is_file()]
    write_json(out.with_suffix(".json"), {"parameters": params, "files": [str(p) for p in paths + wavs], "notes": counts,
                                          "last_release_seconds": ends, "seconds_taken": round(seconds, 3)})
    from pianogen.sampling import shortfall

    for p, g in zip(paths, groups):
        reason = shortfall(g, float(params["seconds"]), params.get("notes_per_second"))
        if reason:
            print(f"warning: {p}: {reason}", file=sys.stderr)
    print(json.dumps({"files": [str(p) for p in paths + wavs], "notes": counts, "seconds_taken": round(seconds, 2)}))


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError
    from pianogen.data import MidiReadError
    from pianogen.io import OutputExistsError

    run(main, (CheckpointError, MidiReadError, OutputExistsError, ValueError, FileNotFoundError))
