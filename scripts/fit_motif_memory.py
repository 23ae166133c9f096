#!/usr/bin/env python3
"""Fit a note model's motif memory by likelihood on held-out real music.

The memory proposes, after each note, the note that followed the longest earlier occurrence of
the last few pitch intervals (``pianogen.sampling.motif_memory``); each field's weight in the
mixture is chosen to minimize NLL on --split (default: the tuning half of validation; measure on
the reporting half with ``scripts/evaluate_nll.py --motif-memory``). Prints the weights and the
NLL with and without them. With --record they are stored in NAME.json under "motif_memory",
with --strength: the strength sampling (the app, scripts/sample.py) uses by default (0, off,
unless a listening comparison chose otherwise: docs/results.md).
"""

import json

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pianogen.checkpoints import update_report
    from pianogen.evaluation.likelihood import fit_motif_memory

    ap = parser(__doc__, "python scripts/fit_motif_memory.py checkpoints/note-transformer.pt --data data/prepared/asap --record")
    ap.add_argument("checkpoints", nargs="+", help="NAME.pt files of note models (note-rnn, note-transformer)")
    ap.add_argument("--data", default="data/prepared/asap", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--split", default="validation-tuning", help="split to fit on (default: validation-tuning)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    ap.add_argument("--record", action="store_true", help="store the fitted memory in each checkpoint's NAME.json")
    ap.add_argument("--strength", type=float, default=0.0,
                    help="with --record: the strength sampling uses by default (1 = as fitted; default: 0, off)")
    args = ap.parse_args()
    if args.strength < 0:
        raise ValueError(f"--strength {args.strength:g}: must be >= 0")
    for ck in args.checkpoints:
        r = fit_motif_memory(ck, args.data, args.split, args.device, progress=True)
        r["strength"] = args.strength
        (b, a), (bs, as_) = r["nll_per_token"], r["nll_per_second"]
        print(f"{ck}: {args.data} {args.split}: {b:.4f} -> {a:.4f} nats/note, {bs:.2f} -> {as_:.2f} nats/s "
              f"({r['notes']:,} notes, {r['proposed']:.0%} with a proposal)")
        print("weights (match length from; step, pitch, duration, velocity):")
        for lo, w in zip(r["config"]["buckets"], r["config"]["weights"]):
            print(f"  {lo:>2} notes: {w}")
        if args.record:
            print(json.dumps({"recorded": str(update_report(ck, motif_memory=r))}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError

    run(main, (ValueError, FileNotFoundError, CheckpointError))
