#!/usr/bin/env python3
"""Choose an autoregressive checkpoint's sampling defaults (temperature, top-p, time tilt and, for
note models, the pitch field's own temperature and the motif memory's strength).

Samples N pieces per setting (fixed seeds, batched; with --seed-notes, each continues those notes
as the app's first click does) and scores them against real segments of a prepared split (the
tuning half of validation; reports use the other half and other seeds). Prints mean OA, texture
and the share of single samples outside real's 5th-95th percentile range in notes/s or
polyphony. The default (--rule single) is the setting with the fewest such samples; --rule mean
takes the highest mean OA among settings whose mean texture is within --tolerance of real;
--rule listener runs the classifier test ("can a listener tell?": unseeded samples and
continuations of held-out openings) on every setting with at most --max-outside single samples
outside real's range, and takes the one told from real music least often among those whose
unseeded samples play within --tolerance of real notes/s.
With --record, writes it into NAME.json ("sampling_defaults"; a swept motif memory strength into
"motif_memory"), which the app and `scripts/compare.py` then use. --report measures the recorded defaults on another split with
other seeds, unseeded and as the first click (with repetition against real segments and its
bootstrap interval), and records that too ("single_sample_spread").
"""

import _path  # noqa: F401

from pianogen.cli import sampling_threads, parser, run


def main() -> int:
    import json

    from pianogen.checkpoints import read_report, update_report
    from pianogen.evaluation.tuning import best_setting, sweep_sampling

    ap = parser(__doc__, "python scripts/tune_sampling.py checkpoints/perf-rnn.pt --data data/prepared/asap --split validation --record")
    ap.add_argument("checkpoint", help="an autoregressive checkpoint (.pt)")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="prepared folder whose real segments the samples are scored against (default: data/prepared/maestro-mini)")
    ap.add_argument("--split", default="validation-tuning", help="split to tune on (default: validation-tuning, the half by composition that no reported number uses)")
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.8, 0.9, 1.0, 1.1], help="temperatures to try (default: 0.8 0.9 1.0 1.1)")
    ap.add_argument("--top-ps", type=float, nargs="+", default=[0.9, 0.95, 1.0], help="nucleus masses to try (default: 0.9 0.95 1.0)")
    ap.add_argument("--time-tilts", type=float, nargs="+", default=[0.0],
                    help="time tilts (per second; < 0 sparser) to cross with temperature and top-p, for a model whose notes/s no temperature fixes")
    ap.add_argument("--pitch-temperatures", type=float, nargs="+", default=[None],
                    help="note models: the pitch field's own temperatures to cross with the rest (default: the row's temperature)")
    ap.add_argument("--motif-memories", type=float, nargs="+", default=[None],
                    help="note models with a fitted motif memory: strengths to cross with the rest (0: off; default: the recorded one)")
    ap.add_argument("--n", type=int, default=100, help="samples per setting (default: 100)")
    ap.add_argument("--rule", choices=("single", "mean", "listener"), default="single",
                    help="single: fewest single samples outside real's 5-95%% range (default); mean: highest mean OA within --tolerance; "
                         "listener: lowest classifier accuracy among settings with at most --max-outside")
    ap.add_argument("--max-outside", type=float, default=0.25,
                    help="with --rule listener: largest share of single samples outside real's range of a setting it scores (default: 0.25)")
    ap.add_argument("--listener-n", type=int, default=96, help="with --rule listener: unseeded samples and continued openings per setting (default: 96)")
    ap.add_argument("--tolerance", type=float, default=0.2, help="with --rule mean: largest relative notes/s and polyphony error of an eligible "
                    "setting; with --rule listener: largest relative notes/s error of its unseeded samples (default: 0.2)")
    ap.add_argument("--seed-notes", help="note names every sample continues (e.g. the app's first click, 'C4 E4 G4 C5'); only new notes are scored")
    ap.add_argument("--report", metavar="SPLIT", help="instead: measure the recorded defaults on SPLIT (e.g. validation-reporting) with seeds "
                    "from --seed, unseeded and continuing FIRST_CLICK; with --record, writes it into NAME.json")
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
    if args.report:
        return report_spread(args)
    sweep = sweep_sampling(args.checkpoint, args.data, args.split, args.temperatures, args.top_ps, args.n, args.seconds, args.seed,
                           tilts=args.time_tilts, seed_notes=args.seed_notes, pitch_temperatures=args.pitch_temperatures,
                           motif_memories=args.motif_memories)
    rows, real = sweep["rows"], sweep["real"]
    print("| temperature | top-p | tilt (per s) | pitch temperature | motif memory | mean OA | notes/s | polyphony | note-time in notes > 5 s | outside real 5-95% "
          "| under 3 notes/s |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {_setting(r)} | {r['mean_oa']:.3f} | {r['notes_per_second']:.1f} | {r['polyphony']:.1f} "
              f"| {100 * r['long_note_share']:.1f}% | {100 * r['outside_share']:.0f}% | {100 * r['sparse_share']:.0f}% |")
    print(f"| real ({args.split}) | | | | | | {real['notes_per_second']:.1f} | {real['polyphony']:.1f} | {100 * real['long_note_share']:.1f}% | 10% | |")
    if args.rule == "listener":
        rows = listener_table(args, rows)
    best = best_setting(rows, real, args.tolerance, rule=args.rule, n=args.n)
    # The memory's strength lives beside its fitted weights (one place the sampler reads it from).
    strength = best.pop("motif_memory", None)
    memory = read_report(args.checkpoint).get("motif_memory")
    pitch = f", pitch temperature {best['pitch_temperature']:g}" if "pitch_temperature" in best else ""
    motif = f", motif memory {strength:g}" if memory else ""
    print(f"default: temperature {best['temperature']:g}, top-p {best['top_p']:g}, tilt {best['tilt']:+g}{pitch}{motif} "
          f"(mean OA {best['mean_oa']:.3f}; {best['criterion']})")
    if args.record:
        extra = {"motif_memory": {**memory, "strength": strength}} if memory and strength != memory.get("strength", 0.0) else {}
        path = update_report(args.checkpoint, sampling_defaults={**best, "data": args.data, "split": args.split, "n": args.n, "seconds": args.seconds,
                                                                 "seed": args.seed, "seed_notes": args.seed_notes, "table": rows, "real": real},
                             **extra)
        print(json.dumps({"recorded": str(path)}))
    return 0


def _setting(r: dict) -> str:
    """A row's temperature, top-p, tilt, pitch temperature and motif memory strength as table cells."""
    return f"{r['temperature']:g} | {r['top_p']:g} | {r['tilt']:+g} | {r.get('pitch_temperature', r['temperature']):g} | {r.get('motif_memory', 0.0):g}"


def listener_table(args, rows: list[dict]) -> list[dict]:
    """``rows`` with the classifier test run on those within --max-outside, printed as a table."""
    from pianogen.evaluation.repetition import REPETITION_NAMES
    from pianogen.evaluation.tuning import listener_scores

    eligible = [r for r in rows if r["outside_share"] <= args.max_outside + 1e-12]
    if not eligible:
        raise ValueError(f"no setting has at most {args.max_outside:.0%} of single samples outside real's range; raise --max-outside")
    scored = listener_scores(args.checkpoint, args.data, args.split, eligible, n=args.listener_n, continuations=args.listener_n,
                             seconds=args.seconds, seed=args.seed)
    print("| temperature | top-p | tilt (per s) | pitch temperature | motif memory | told apart (mean) | unseeded logistic / boosting "
          f"| continuations logistic / boosting | unseeded notes/s | repetition against real ({' / '.join(REPETITION_NAMES.values())}) "
          "| first separating features |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for r in scored:
        q = r["listener_parts"]
        cont = f"{q['continuations logistic']:.2f} / {q['continuations boosting']:.2f}" if "continuations logistic" in q else "-"
        print(f"| {_setting(r)} | {r['listener']:.3f} | {q['unseeded logistic']:.2f} / {q['unseeded boosting']:.2f} "
              f"| {cont} | {r['unseeded_notes_per_second']:.1f} | {_repetition(r['repetition'])} | {', '.join(r['separating'])} |")
    if scored:
        print(f"| real ({args.split}) | | | | | | | | {scored[0]['real_notes_per_second']:.1f} | | |")
    key = {_setting(r): r for r in scored}
    return [key.get(_setting(r), r) for r in rows]


def _repetition(medians: dict) -> str:
    """Each repetition median's relative difference from real's, e.g. ``+24% / -5% / ...``."""
    return " / ".join(f"{100 * (m / r - 1):+.0f}%" if r else "-" for m, r in medians.values())


FIRST_CLICK = "C4 E4 G4 C5"  # the app's seed on first load


def report_spread(args) -> int:
    """The recorded defaults' single-sample spread on another split, unseeded and as the first click."""
    import json

    from pianogen.checkpoints import update_report
    from pianogen.evaluation.repetition import REPETITION_NAMES
    from pianogen.evaluation.tuning import single_sample_report

    from pianogen.sampling import load_sampler

    # The motif memory's recorded strength is part of what "the recorded defaults" play.
    out = {"data": args.data, "split": args.report, "n": args.n, "seconds": args.seconds, "seed": args.seed,
           "motif_memory": load_sampler(args.checkpoint).motif_strength}
    for name, notes in (("unseeded", None), ("first_click", FIRST_CLICK)):
        out[name] = single_sample_report(args.checkpoint, args.data, args.report, n=args.n, seconds=args.seconds, seed=args.seed, seed_notes=notes)
        r = out[name]
        print(f"{name}: {100 * r['outside_share']:.0f}% of {args.n} samples outside real's 5-95% range in notes/s or polyphony "
              f"({100 * r['sparse_share']:.0f}% under 3 notes/s; notes/s p5-p95 {r['notes/s']['p5']:.1f}-{r['notes/s']['p95']:.1f}, "
              f"real {r['real notes/s']['p5']:.1f}-{r['real notes/s']['p95']:.1f})")
        print("  repetition against real (median ratio, 90% bootstrap interval): " + "; ".join(
            f"{REPETITION_NAMES[k]} {100 * v['ratio']:+.0f}% ({100 * v['low']:+.0f}% to {100 * v['high']:+.0f}%)" for k, v in r["repetition"].items()))
    if args.record:
        print(json.dumps({"recorded": str(update_report(args.checkpoint, single_sample_spread=out))}))
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
