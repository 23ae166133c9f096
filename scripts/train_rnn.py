#!/usr/bin/env python3
"""Train an autoregressive model: the earlier name of scripts/train_autoregressive.py (same
flags, same outputs), kept so existing commands keep working."""

import _path  # noqa: F401
from train_autoregressive import EXPECTED, main

from pianogen.cli import run

if __name__ == "__main__":
    run(lambda: main("train_rnn.py"), EXPECTED)
