#!/usr/bin/env python3
"""List the models in a checkpoint folder, best first, each with its card: what it is, what it
learned from and for how long, its held-out number, and how it samples by default.

Training states (NAME.state.pt) are not models and are left out; unreadable files are named
with the reason.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    import re
    from pathlib import Path

    from pianogen.cards import find_checkpoints, model_card

    ap = parser(__doc__, "python scripts/models.py --checkpoints checkpoints")
    ap.add_argument("--checkpoints", default="checkpoints", help="folder of NAME.pt files (default: checkpoints, what the app loads)")
    args = ap.parse_args()
    folder = Path(args.checkpoints)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    autoregressive, gans = find_checkpoints(folder)
    for label, path in [*autoregressive.items(), *gans.items()]:
        card = re.sub(r"\*\*|`", "", model_card(path))  # plain text in a terminal
        print(f"{label}\n  {path}\n" + "\n".join(f"  {line}" for line in card.split("\n\n")) + "\n")
    if not autoregressive and not gans:
        print(f"{folder}: no models")
    return 0


if __name__ == "__main__":
    from pianogen.checkpoints import CheckpointError

    run(main, (FileNotFoundError, CheckpointError))
