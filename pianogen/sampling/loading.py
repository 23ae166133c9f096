"""Checkpoints loaded once per process: samplers cached by path and modification time, so the
app and a script re-use a loaded model, and a retrained file is loaded afresh."""

from __future__ import annotations

import functools
import os
from pathlib import Path


@functools.lru_cache(maxsize=8)
def _cached(cls, path: str, mtime: float, device: str, options: tuple):
    return cls(path, device, **dict(options))


def load_cached(cls, checkpoint: str | os.PathLike, device: str, **options):
    """``cls(checkpoint, device, **options)``, cached while the file is unchanged (path and mtime)."""
    from pianogen.checkpoints import CheckpointError

    p = Path(checkpoint)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    return _cached(cls, str(p.resolve()), p.stat().st_mtime, device, tuple(sorted(options.items())))
