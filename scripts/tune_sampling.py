#!/usr/bin/env python3
"""Measure mean OA against temperature and top-p for an autoregressive checkpoint.

Samples N pieces per setting (fixed seeds, batched) and scores them against real segments of a
prepared split (use validation; the comparison report uses other seeds and the test split).
Prints the table; with --record, writes the best setting into NAME.json ("sampling_defaults"),
which the app and `scripts/compare.py` then use.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    import json

    from pianogen.checkpoints import update_report
    from pianogen.evaluation.tuning import best_setting, sweep_sampling

    ap = parser(__doc__, "python scripts/tune_sampling.py checkpoints/perf-rnn.pt --data data/prepared/asap --split validation --record")
    ap.add_argument("checkpoint")
    ap.add_argument("--data", default="data/prepared/maestro-mini")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1])
    ap.add_argument("--top-ps", type=float, nargs="+", default=[0.9, 0.95, 1.0])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1000, help="first seed (keep disjoint from compare.py's 0..n-1)")
    ap.add_argument("--record", action="store_true", help="write the best setting and the table into NAME.json")
    args = ap.parse_args()
    rows = sweep_sampling(args.checkpoint, args.data, args.split, args.temperatures, args.top_ps, args.n, args.seconds, args.seed)
    print("| temperature | top-p | mean OA | notes/s | polyphony | note-time in notes > 5 s |\n| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['temperature']:g} | {r['top_p']:g} | {r['mean_oa']:.3f} | {r['notes_per_second']:.1f} | {r['polyphony']:.1f} | {100 * r['long_note_share']:.1f}% |")
    best = best_setting(rows)
    print(f"best: temperature {best['temperature']:g}, top-p {best['top_p']:g} (mean OA {best['mean_oa']:.3f})")
    if args.record:
        path = update_report(args.checkpoint, sampling_defaults={**best, "data": args.data, "split": args.split, "n": args.n, "seconds": args.seconds,
                                                                 "seed": args.seed, "table": rows})
        print(json.dumps({"recorded": str(path)}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError

    run(main, (ValueError, FileNotFoundError, CheckpointError))
