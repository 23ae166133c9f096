#!/usr/bin/env python3
"""Measure mean OA against temperature and top-p for an autoregressive checkpoint.

Samples N pieces per setting (fixed seeds, batched) and scores them against real segments of a
prepared split (use validation; the comparison report uses other seeds and the test split).
Prints the table with the real segments' texture; the default is the highest mean OA among
settings whose notes/s and polyphony are within --tolerance of real music. With --record, writes
it into NAME.json ("sampling_defaults"), which the app and `scripts/compare.py` then use.
"""

import _path  # noqa: F401

from pianogen.cli import sampling_threads, parser, run


def main() -> int:
    import json

    from pianogen.checkpoints import update_report
    from pianogen.evaluation.tuning import best_setting, sweep_sampling

    ap = parser(__doc__, "python scripts/tune_sampling.py checkpoints/perf-rnn.pt --data data/prepared/asap --split validation --record")
    ap.add_argument("checkpoint", help="an autoregressive checkpoint (.pt)")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="prepared folder whose real segments the samples are scored against (default: data/prepared/maestro-mini)")
    ap.add_argument("--split", default="validation-tuning", help="split to tune on (default: validation-tuning, the half by composition that no reported number uses)")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1], help="temperatures to try (default: 0.8 0.9 1.0 1.1)")
    ap.add_argument("--top-ps", type=float, nargs="+", default=[0.9, 0.95, 1.0], help="nucleus masses to try (default: 0.9 0.95 1.0)")
    ap.add_argument("--time-tilts", type=float, nargs="+", default=[0.0],
                    help="time tilts (per second; < 0 sparser) to cross with temperature and top-p, for a model whose notes/s no temperature fixes")
    ap.add_argument("--n", type=int, default=32, help="samples per setting (default: 32)")
    ap.add_argument("--tolerance", type=float, default=0.2, help="largest relative notes/s and polyphony error of an eligible setting")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each sample and real segment (default: 20)")
    ap.add_argument("--seed", type=int, default=1000, help="first seed (keep disjoint from compare.py's 0..n-1)")
    ap.add_argument("--record", action="store_true", help="write the best setting and the table into NAME.json")
    ap.add_argument("--density", action="store_true", help="instead: calibrate the density control (notes/s against the time tilt, "
                    "at the recorded sampling defaults); with --record the app can then ask for notes per second")
    ap.add_argument("--tilts", type=float, nargs="+", default=[-4, -3, -2, -1, 0, 1, 2, 3, 4], help="with --density: tilts to measure (per second)")
    args = ap.parse_args()
    sampling_threads()
    if args.density:
        return calibrate_density(args)
    sweep = sweep_sampling(args.checkpoint, args.data, args.split, args.temperatures, args.top_ps, args.n, args.seconds, args.seed,
                           tilts=args.time_tilts)
    rows, real = sweep["rows"], sweep["real"]
    print("| temperature | top-p | tilt (per s) | mean OA | notes/s | polyphony | note-time in notes > 5 s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['temperature']:g} | {r['top_p']:g} | {r['tilt']:+g} | {r['mean_oa']:.3f} | {r['notes_per_second']:.1f} | {r['polyphony']:.1f} | {100 * r['long_note_share']:.1f}% |")
    print(f"| real ({args.split}) | | | | {real['notes_per_second']:.1f} | {real['polyphony']:.1f} | {100 * real['long_note_share']:.1f}% |")
    best = best_setting(rows, real, args.tolerance)
    print(f"default: temperature {best['temperature']:g}, top-p {best['top_p']:g}, tilt {best['tilt']:+g} (mean OA {best['mean_oa']:.3f}; {best['criterion']})")
    if args.record:
        path = update_report(args.checkpoint, sampling_defaults={**best, "data": args.data, "split": args.split, "n": args.n, "seconds": args.seconds,
                                                                 "seed": args.seed, "table": rows, "real": real})
        print(json.dumps({"recorded": str(path)}))
    return 0


def calibrate_density(args) -> int:
    import json

    from pianogen.checkpoints import read_report, update_report
    from pianogen.checkpoints import sampling_defaults
    from pianogen.evaluation.tuning import density_response

    t, p = sampling_defaults(read_report(args.checkpoint)) or (1.0, 1.0)
    rows = density_response(args.checkpoint, args.tilts, temperature=t, top_p=p, n=args.n, seconds=args.seconds, seed=args.seed + 1000)
    print(f"temperature {t:g}, top-p {p:g}\n| tilt (per s) | notes/s | sd | polyphony |\n| ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['tilt']:+g} | {r['notes_per_second']:.1f} | {r['sd']:.1f} | {r['polyphony']:.1f} |")
    rates = [r["notes_per_second"] for r in rows]
    if any(b <= a for a, b in zip(rates, rates[1:])):
        raise ValueError(f"{args.checkpoint}: notes/s is not monotone in the tilt over {args.tilts}; use a narrower range or more samples (--n)")
    if args.record:
        path = update_report(args.checkpoint, density_calibration={"temperature": t, "top_p": p, "n": args.n, "seconds": args.seconds,
                                                                    "seed": args.seed + 1000, "table": rows})
        print(json.dumps({"recorded": str(path)}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError

    run(main, (ValueError, FileNotFoundError, CheckpointError))
