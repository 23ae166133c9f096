#!/usr/bin/env python3
"""Print statistics of a prepared folder: pieces, hours and notes per split, pitch range,
notes per second and top composers."""

import json

import _path  # noqa: F401

from pianogen.cli import parser, run
from pianogen.data.stats import data_stats, format_stats


def main() -> None:
    ap = parser(__doc__, "python scripts/data_stats.py data/prepared/maestro-mini --json")
    ap.add_argument("data", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--json", action="store_true", help="print JSON for machines")
    ap.add_argument("--top", type=int, default=10, help="how many composers to list (default: 10)")
    args = ap.parse_args()
    stats = data_stats(args.data, top=args.top)
    print(json.dumps(stats, indent=2, ensure_ascii=False) if args.json else format_stats(stats))


if __name__ == "__main__":
    run(main, (FileNotFoundError, OSError))
