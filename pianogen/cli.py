"""Helpers shared by the argparse wrappers in ``scripts/``: logging, config flags, clean errors."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import MISSING, fields
from typing import Any, Callable


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stderr)


def parser(description: str, example: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose --help ends with a runnable example."""
    return argparse.ArgumentParser(
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def field_comments(cls) -> dict[str, str]:
    """The comment after each field of a config dataclass (``name: type = value  # comment``),
    so a flag's help is written once, next to the field it explains."""
    import inspect
    import re

    out = {}
    for klass in reversed(cls.__mro__):
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for m in re.finditer(r"^\s+(\w+)\s*:[^=\n]+=[^#\n]*#\s*(.+)$", source, re.M):
            out[m.group(1)] = m.group(2).strip()
    return out


def add_dataclass_flags(ap: argparse.ArgumentParser, cls, group: str, prefix: str = "", defaults: dict[str, Any] | None = None,
                        skip: tuple[str, ...] = ()) -> None:
    """One --flag per field of a config dataclass (default None = keep file/default value), its
    help the field's comment and the default a run really uses: the dataclass's, or
    ``defaults[name]`` where the script applies its own. Fields in ``skip`` get no flag (they
    mean nothing to this script).

    Flags are spelled with hyphens only (``--aug-transpose``, ``--roll-velocity``); the older
    spellings with an underscore after the prefix (``--aug_transpose``) still parse, unlisted.
    """
    g = ap.add_argument_group(group)
    comments = field_comments(cls)
    for f in fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        shown = (defaults or {}).get(f.name, default)
        meaning = comments.get(f.name, f.name.replace("_", " "))
        flag = "--" + (prefix + f.name).replace("_", "-")
        if isinstance(default, bool):
            kw = dict(type=lambda s: s.lower() in ("1", "true", "yes", "on"), metavar="BOOL", help=f"{meaning} (default: {shown})")
        elif isinstance(default, tuple):
            kw = dict(type=type(default[0]) if default else float, nargs="+", help=f"{meaning} (default: {' '.join(map(str, shown))})")
        else:
            kw = dict(type=type(default) if default is not None else str, help=f"{meaning} (default: {shown})")
        g.add_argument(flag, dest=prefix + f.name, default=None, **kw)
        old = "--" + prefix + f.name.replace("_", "-")
        if old != flag:  # keep old commands working
            g.add_argument(old, dest=prefix + f.name, default=None, **{**kw, "help": argparse.SUPPRESS})


def picked(args: argparse.Namespace, cls, prefix: str = "") -> dict[str, Any]:
    """The flags of ``cls`` that were given on the command line."""
    return {f.name: getattr(args, prefix + f.name) for f in fields(cls) if getattr(args, prefix + f.name, None) is not None}


def run(main: Callable[[], int | None], expected: tuple[type[BaseException], ...]) -> None:
    """Run ``main``; print expected errors as one line (no traceback) and exit 1."""
    try:
        sys.exit(main() or 0)
    except expected as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)


def sampling_threads() -> None:
    """One intra-op thread for this process, set once at start by whatever samples many small
    steps (the app, sample, tune_sampling, compare): an RNN or Transformer step at batch 1 is too
    small for a second thread to pay, and under load it costs several times more."""
    import torch

    torch.set_num_threads(1)
