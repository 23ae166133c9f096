#!/usr/bin/env python3
"""Turn a MAESTRO root, a MAESTRO zip or a folder of MIDI files into note tables.

Writes OUT/notes.parquet, OUT/pieces.parquet and OUT/prepare.json (atomically).
Exit status: 0 on success, 1 when no file could be read, 2 with --strict when any
file was skipped.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run, setup_logging
from pianogen.data.corpus import PrepareConfig, PrepareError, prepare
from pianogen.io import OutputExistsError


def main() -> int:
    ap = parser(__doc__, "python scripts/prepare_data.py data/maestro-mini --out data/prepared/maestro-mini")
    ap.add_argument("source", help="MAESTRO root (folder with maestro-v3.0.0.csv/.json), MAESTRO zip, or folder of .mid/.midi files")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--workers", type=int, default=0, help="parallel parser processes (default: all cores)")
    ap.add_argument("--no-sustain", action="store_true", help="keep key-up times instead of extending notes held by the sustain pedal")
    ap.add_argument("--val-fraction", type=float, default=0.1, help="validation share for files without metadata (default: 0.1)")
    ap.add_argument("--test-fraction", type=float, default=0.1, help="test share for files without metadata (default: 0.1)")
    ap.add_argument("--backend", choices=["symusic", "pretty_midi"], default=None, help="MIDI parser (default: symusic if installed)")
    ap.add_argument("--strict", action="store_true", help="exit non-zero if any file was skipped")
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs in --out")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args()
    setup_logging()
    cfg = PrepareConfig(
        sustain=not args.no_sustain,
        workers=args.workers,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        backend=args.backend,
        progress=not args.quiet,
    )
    result = prepare(args.source, args.out, cfg, force=args.force)
    s = result.summary
    print(f"{result.n_pieces} pieces, {result.n_notes} notes, {len(result.skipped)} skipped -> {result.out} ({s['seconds']:.2f} s)")
    if args.strict and result.skipped:
        print(f"error: --strict: {len(result.skipped)} file(s) skipped (see {result.out}/prepare.json)")
        return 2
    return 0


if __name__ == "__main__":
    run(main, (PrepareError, OutputExistsError, OSError, ValueError))
