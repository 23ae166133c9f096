#!/usr/bin/env python3
"""Plot validation NLL against training minutes and tokens seen for training runs.

Each argument is a run's NAME.json (written by train_autoregressive.py or train_musegan.py), optionally
labelled as LABEL=NAME.json. NLL is per second of music, so event and note models share an
axis; each run is measured on its own validation split (say which in the label).
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    import json
    from pathlib import Path

    from pianogen.io import check_writable
    from pianogen.plots import training_curves_png

    ap = parser(__doc__, "python scripts/plot_training.py 'perf-rnn, 75 h=checkpoints/perf-rnn.json' --out docs/training-curves.png")
    ap.add_argument("runs", nargs="+", help="NAME.json or LABEL=NAME.json")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--title", help="figure title (default: none)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = ap.parse_args()
    check_writable(args.out, args.force)
    reports = {}
    for spec in args.runs:
        label, _, path = spec.rpartition("=")
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such run report")
        reports[label or path.stem] = json.loads(path.read_text(encoding="utf-8"))
    print(training_curves_png(reports, args.out, args.title))
    return 0


if __name__ == "__main__":
    from pianogen.io import OutputExistsError

    run(main, (FileNotFoundError, ValueError, KeyError, OutputExistsError))
