#!/usr/bin/env python3
"""Build the copy-check index of a prepared corpus split (the training data of a checkpoint).

Writes OUT (.npz: the corpus's note tokens, piece names and onsets), which the app and
`scripts/compare.py` load to report, for each generated piece, the longest passage it shares
with the training data. Prints build time, memory and lookup time.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    import json
    import resource
    import time

    from pianogen.evaluation.memorization import PassageIndex
    from pianogen.io import check_writable

    ap = parser(__doc__, "python scripts/build_passage_index.py data/prepared/asap --split train --out checkpoints/passages-asap-performances.npz")
    ap.add_argument("data", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--split", default="train", help="the split the models learned from (default: train)")
    ap.add_argument("--out", required=True, help="output .npz path, e.g. checkpoints/passages-CORPUS.npz")
    ap.add_argument("--k", type=int, default=8, help="shortest passage searched, in note intervals (default 8: 9 notes)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing output")
    args = ap.parse_args()
    check_writable(args.out, args.force)
    t = time.perf_counter()
    index = PassageIndex.from_prepared(args.data, args.split, args.k)
    built = time.perf_counter() - t
    path = index.save(args.out)
    t = time.perf_counter()
    again = PassageIndex.load(path)
    loaded = time.perf_counter() - t
    # Lookup cost per piece: 20 s segments of the corpus itself (the worst case: every window matches).
    from pianogen.data import load_notes
    from pianogen.evaluation import segments

    notes = load_notes(args.data, args.split)
    probe = [s for _, g in list(notes.groupby("piece_id", observed=True))[:8] for s in segments(g, 20.0)[:2]]
    t = time.perf_counter()
    found = [again.longest(p).notes for p in probe]
    lookup = (time.perf_counter() - t) / max(1, len(probe))
    print(json.dumps({"out": str(path), "tokens": int(len(index.seq)), "pieces": len(index.names), "build_seconds": round(built, 2),
                      "load_seconds": round(loaded, 2), "file_mb": round(path.stat().st_size / 1e6, 2),
                      "index_mb": round((again.seq.nbytes + again.hashes.nbytes + again.positions.nbytes + again.onsets.nbytes) / 1e6, 1),
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                      "lookup_seconds_per_20s_piece": round(lookup, 4), "probe_copies_found_whole": int(sum(f == len(p) for f, p in zip(found, probe))),
                      "probes": len(probe)}))
    return 0


if __name__ == "__main__":
    from pianogen.io import OutputExistsError

    run(main, (FileNotFoundError, ValueError, OutputExistsError))
