#!/usr/bin/env python3
"""Plot validation NLL against training minutes and tokens seen for training runs.

Each argument is a run's NAME.json (written by train_autoregressive.py or train_musegan.py), optionally
labelled as LABEL=NAME.json. A run trained in legs (each continuing the last with --init) is
given as A.json+B.json+..., drawn as one curve from the first leg's start. NLL is per second of
music, so event and note models share an axis; each run is measured on its own validation split
(say which in the label). A run whose final validation scored only part of the split (what
fitted its time limit) is put on the per-second axis with the whole split's rate, from another
run over the same data and tokens.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pianogen.evaluation.curves import fill_validation_rates, read_run, run_name
    from pianogen.io import check_writable
    from pianogen.plots import training_curves_png

    ap = parser(__doc__, "python scripts/plot_training.py 'perf-rnn, 75 h=checkpoints/perf-rnn.json' --out docs/training-curves.png")
    ap.add_argument("runs", nargs="+", help="NAME.json, A.json+B.json for a run continued in legs, each optionally as LABEL=...")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--title", help="figure title (default: none)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = ap.parse_args()
    check_writable(args.out, args.force)
    reports = {}
    for spec in args.runs:
        label, _, runs = spec.rpartition("=")
        reports[label or run_name(runs)] = read_run(runs)
    fill_validation_rates(reports)
    print(training_curves_png(reports, args.out, args.title))
    return 0


if __name__ == "__main__":
    from pianogen.io import OutputExistsError

    run(main, (FileNotFoundError, ValueError, KeyError, OutputExistsError))
