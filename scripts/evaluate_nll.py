#!/usr/bin/env python3
"""Held-out NLL of autoregressive checkpoints on any prepared folder and split.

Prints nats per token (event or note) and per second of music for each checkpoint. With
--record, the result is also added to NAME.json under "evaluations" (atomically; one entry per
folder and split, replaced when measured again), where the app and the compare report read it.
"""

import json

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pianogen.evaluation.likelihood import checkpoint_nll, record_evaluation

    ap = parser(__doc__, "python scripts/evaluate_nll.py checkpoints/perf-rnn.pt --data data/prepared/maestro-mini --split test --record")
    ap.add_argument("checkpoints", nargs="+", help="NAME.pt files of autoregressive models (perf-rnn, transformer, note-rnn, note-transformer)")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--split", default="test", help="train, validation, test, or a half by composition such as validation-reporting (default: test)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    ap.add_argument("--motif-memory", action="store_true",
                    help="score a note model mixed with its fitted motif memory (scripts/fit_motif_memory.py), as it samples by default")
    ap.add_argument("--record", action="store_true", help="add the result to each checkpoint's NAME.json")
    args = ap.parse_args()
    for ck in args.checkpoints:
        r = checkpoint_nll(ck, args.data, args.split, args.device, progress=True, motif_memory=args.motif_memory)
        print(f"{ck}{' with its motif memory' if args.motif_memory else ''}: {args.data} {args.split}: {r['nll_per_token']:.4f} nats/{r['token']}, {r['nll_per_second']:.2f} nats/s "
              f"({r['tokens']:,} {r['token']}s, {r['seconds'] / 3600:.2f} h, {r['pieces']} pieces)")
        if args.record:
            print(json.dumps({"recorded": str(record_evaluation(ck, r))}))
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError

    run(main, (ValueError, FileNotFoundError, CheckpointError))
