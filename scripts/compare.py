#!/usr/bin/env python3
"""Compare checkpoints side by side and write OUT/index.html, OUT/metrics.csv, OUT/metrics.json.

Every checkpoint gives the same number of samples of the same length (fixed seeds); they are
evaluated against a split (features, Yang & Lerch OA/KL, mean ± sd over disjoint seed sets,
beside a ceiling of as many real segments), next to each model's held-out NLL, training cost
and copy check. index.html opens from disk, no server needed.
"""

import _path  # noqa: F401

from pianogen.cli import sampling_threads, add_dataclass_flags, parser, picked, run, setup_logging


def main() -> int:
    from pianogen.evaluation.compare import CompareConfig, compare
    from pianogen.training import load_config

    ap = parser(__doc__, "python scripts/compare.py checkpoints/perf-rnn.pt checkpoints/note-rnn.pt checkpoints/musegan.pt --data data/prepared/maestro-mini --out report/")
    ap.add_argument("checkpoints", nargs="*", help="checkpoint files (.pt); training states (NAME.state.pt) are skipped")
    ap.add_argument("--rewrite", action="store_true", help="only write OUT/index.html again from OUT/metrics.json (nothing is sampled)")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--out", default="report", help="output folder (default: report)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing report")
    add_dataclass_flags(ap, CompareConfig, "comparison")
    args = ap.parse_args()
    setup_logging()
    sampling_threads()
    from pathlib import Path

    from pianogen.io import check_writable

    if args.rewrite:
        from pianogen.evaluation.compare import rewrite_report

        print(f"-> {rewrite_report(args.out)}")
        return 0
    states = [c for c in args.checkpoints if c.endswith(".state.pt")]
    if states:
        print(f"skipping {len(states)} training state file(s), not checkpoints: {', '.join(states)}")
    args.checkpoints = [c for c in args.checkpoints if not c.endswith(".state.pt")]
    if not args.checkpoints:
        raise ValueError("no checkpoints given (NAME.pt files)")
    check_writable(Path(args.out) / "index.html", args.force)
    cfg = load_config(CompareConfig, picked(args, CompareConfig))
    res = compare(args.checkpoints, args.data, args.out, cfg)
    for row in res["table"]:
        if "mean OA" in row:
            print(f"{row['model']:<22} mean OA {row['mean OA']:.3f} ± {row['mean OA sd']:.3f}  notes/s {row['notes_per_second']:.2f}  polyphony {row['polyphony']:.2f}")
        if "C2ST" in row:
            cont = f", continuations {row['continuation C2ST']:.2f}" if row.get("continuation C2ST") is not None else ""
            print(f"{row['model']:<22} classifier accuracy {row['C2ST']:.2f} ± {row['C2ST sd']:.2f} (0.5: cannot tell; boosting {row['C2ST boosting']:.2f}){cont}")
        if "shared passage notes (max)" in row:
            print(f"{row['model']:<22} longest passage shared with {row['copy-check corpus']}: median {row['shared passage notes (median)']:g}, max {row['shared passage notes (max)']} notes")
    from pianogen.evaluation.compare import listener_tables, markdown_table

    for name, table in listener_tables(res).items():  # the "can a listener tell?" tables, for docs
        if len(table):
            print(f"\n{name}:\n{markdown_table(table)}")
    print(f"-> {args.out}/index.html ({res['seconds_taken']} s)")
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError
    from pianogen.io import OutputExistsError

    run(main, (ValueError, FileNotFoundError, OutputExistsError, CheckpointError))
