"""Helpers shared by the argparse wrappers in ``scripts/``: logging and clean errors."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(levelname)s: %(message)s", stream=sys.stderr)


def parser(description: str, example: str) -> argparse.ArgumentParser:
    """An ArgumentParser whose --help ends with a runnable example."""
    return argparse.ArgumentParser(
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


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
