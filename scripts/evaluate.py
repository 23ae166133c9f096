#!/usr/bin/env python3
"""Evaluate a folder of MIDI files against a prepared split (features, OA and KL).

Prints, per feature, the samples' mean against the reference split's, and Yang & Lerch's
overlapping area (OA, higher = closer) and KL divergence (lower = closer) of the samples
vs the reference, beside the same numbers for real train-split music (the ceiling).
Writes OUT (JSON) with per-file features when --out is given.
"""

import json

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pianogen.evaluation import evaluate_folder
    from pianogen.io import check_writable, write_json

    ap = parser(__doc__, "python scripts/evaluate.py samples/ --reference data/prepared/maestro-mini --split test --out eval.json")
    ap.add_argument("samples", help="folder of .mid/.midi files (searched recursively)")
    ap.add_argument("--reference", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--split", default="test", help="reference split (default: test)")
    ap.add_argument("--ceiling-split", default="train", help="real split scored the same way, as the ceiling (default: train)")
    ap.add_argument("--out", help="write the full result as JSON here")
    ap.add_argument("--force", action="store_true", help="overwrite existing outputs")
    args = ap.parse_args()
    if args.out:
        check_writable(args.out, args.force)
    res = evaluate_folder(args.samples, args.reference, args.split, args.ceiling_split)
    print(f"{res['counts']['samples']} samples vs {res['counts']['reference_segments']} {args.split} segments of {res['segment_seconds']:.1f} s "
          f"(ceiling: {res['counts']['ceiling_segments']} {args.ceiling_split} segments)")
    print(f"{'feature':<22}{'samples':>10}{'reference':>11}{'OA':>7}{'KL':>8}{'ceil OA':>9}{'ceil KL':>9}")
    for name, c in res["vs_reference"].items():
        s = res["samples"].get(name, {}).get("mean")
        r = res["reference"].get(name, {}).get("mean")
        cell = f"{s:>10.3f}{r:>11.3f}" if s is not None else f"{'(hist)':>10}{'':>11}"
        print(f"{name:<22}{cell}{c['oa']:>7.3f}{c['kl']:>8.3f}{res['ceiling'][name]['oa']:>9.3f}{res['ceiling'][name]['kl']:>9.3f}")
    for s in res["skipped"]:
        print(f"skipped {s['path']}: {s['reason']}")
    if args.out:
        write_json(args.out, res)
        print(json.dumps({"written": args.out}))
    return 0


if __name__ == "__main__":
    from pianogen.io import OutputExistsError

    run(main, (ValueError, FileNotFoundError, OutputExistsError))
