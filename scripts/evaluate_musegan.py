#!/usr/bin/env python3
"""MuseGAN's Table 1 on held-out music: EB, UPC, QN, SN, TD, notes/s and the harmony change at
downbeats against other beats for each MuseGAN checkpoint and for real crops of a prepared split
at the checkpoints' pianoroll settings (a musical-time model: whole annotated bars), mean ± sd
over disjoint latent / crop sets.

Generated passages come from fresh latent seeds (never the latent that selected a checkpoint).
--listener adds, per checkpoint, the classifier test and mean OA against real crops played in
strict time at the model's tempo (pianogen.evaluation.bars); --listener-floor SPLIT adds the same
test with real crops of other compositions in place of generated passages, its floor. --keys adds whether passages keep to
the key asked for (a key-conditioned model gets it; pianogen.evaluation.keys). A texture model
also gets what it plays when asked for each rhythm, density and loudness class.
With --out, writes the table as JSON (atomically; --force to replace) next to the printed markdown.
"""

import json

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pathlib import Path

    from pianogen.evaluation.musegan_table import (coherence_markdown, markdown, musegan_table, passages_markdown, texture_response,
                                                   texture_response_markdown, walk_coherence)
    from pianogen.io import check_writable, write_json

    ap = parser(__doc__, "python scripts/evaluate_musegan.py checkpoints/musegan.pt --data data/prepared/asap --split validation-reporting")
    ap.add_argument("checkpoints", nargs="+", help="MuseGAN checkpoints (.pt) sharing one pianoroll setting")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--split", default="test", help="held-out split to compare with (default: test; on a corpus whose validation selected the checkpoint, validation-reporting)")
    ap.add_argument("--n", type=int, default=64, help="passages per group")
    ap.add_argument("--groups", type=int, default=4, help="disjoint groups (the sd is over groups)")
    ap.add_argument("--seed", type=int, default=5000, help="first latent seed and the real crops' seed")
    ap.add_argument("--walk-bars", type=int, default=0, metavar="N",
                    help="also measure coherence of N-bar pieces (the latent walk) against real N-bar spans: harmony similarity by bar distance")
    ap.add_argument("--walk-n", type=int, default=32, help="pieces (and real spans) for --walk-bars")
    ap.add_argument("--walk-drift", type=float, nargs="*", default=[], metavar="D",
                    help="with --walk-bars, also walk with these anchor drifts (1 = independent anchors; see sampling.latent_walk)")
    ap.add_argument("--listener", type=int, default=0, metavar="N",
                    help="also run the classifier test and mean OA on N generated passages and N real crops in strict time, per checkpoint")
    ap.add_argument("--listener-floor", metavar="SPLIT",
                    help="with --listener, also run it with real crops of SPLIT (other compositions, e.g. train) in place of generated passages: the floor")
    ap.add_argument("--keys", action="store_true", help="also measure the share of notes in the asked key's scale (real crops: their annotated key)")
    ap.add_argument("--out", help="also write the table as JSON here")
    ap.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    args = ap.parse_args()
    if args.out:
        check_writable(Path(args.out), args.force)
    table = musegan_table(args.checkpoints, args.data, args.split, args.n, args.groups, args.seed)
    print(markdown(table))
    print("\nPassages each of a kind: distance to real by feature (Wasserstein-1 over passages):\n")
    print(passages_markdown(table))
    response = texture_response(args.checkpoints, args.n, args.seed + 1000)
    if response:  # texture models: what each asked class plays
        table["texture_response"] = response
        print(f"\nAsked for a class, what is played ({args.n} passages per row, the other factors drawn as in training crops):\n")
        print(texture_response_markdown(response))
    if args.walk_bars:
        table["walk"] = walk_coherence(args.checkpoints, args.data, args.split, args.walk_bars, args.walk_n, args.seed, tuple(args.walk_drift))
        print(f"\nHarmony similarity of bars by distance, {args.walk_bars}-bar pieces (mean ± sd over {args.walk_n} pieces):\n")
        print(coherence_markdown(table["walk"]))
    if args.listener:
        from pianogen.evaluation.bars import strict_time_listener

        table["listener"] = {}
        runs = [(Path(ck).stem, ck, None) for ck in args.checkpoints]
        if args.listener_floor:
            runs.append((f"floor: real crops of {args.listener_floor}", args.checkpoints[0], args.listener_floor))
        for name, ck, floor in runs:
            r = table["listener"][name] = strict_time_listener(ck, args.data, args.split, args.listener, args.seed, floor_split=floor)
            c, dc = r["classifier_test"], r["downbeat_change"]
            print(f"\n{name}: classifier accuracy {c['logistic']['accuracy']:.2f} ± {c['logistic']['sd']:.2f} (logistic), "
                  f"{c['boosting']['accuracy']:.2f} ± {c['boosting']['sd']:.2f} (boosting; ± over folds); mean OA {r['mean_oa']:.2f}; harmony change "
                  f"at downbeats / other beats: real {dc['real']['ratio']:.2f}, generated {dc['generated']['ratio']:.2f}; "
                  f"real crops from {r['real_groups']} compositions ({r['real_pieces']} performances), {c['folds']} folds")
    if args.keys:
        from pianogen.evaluation.keys import key_adherence, key_markdown

        table["keys"] = key_adherence(args.checkpoints, args.data, args.split, args.n, args.groups, args.seed)
        print("\nKeeping to the key (notes in the scale; the twelve keys asked in turn):\n")
        print(key_markdown(table["keys"]))
    if args.out:
        write_json(Path(args.out), table)
        print(json.dumps({"written": args.out}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError
    from pianogen.io import OutputExistsError

    run(main, (ValueError, FileNotFoundError, CheckpointError, OutputExistsError))
