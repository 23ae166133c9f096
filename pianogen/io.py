"""Small file helpers shared by every layer: atomic writes and overwrite guards."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator


class OutputExistsError(FileExistsError):
    """Raised when an output would overwrite a user's file and ``force`` is off."""


def check_writable(path: str | os.PathLike, force: bool) -> Path:
    """Return ``path`` as a Path; refuse to clobber an existing file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise OutputExistsError(f"{path}: already exists (pass --force to overwrite)")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary name does not end like the final one (``.tmp-XXXX`` suffix), so an
    interrupted run never leaves a file that looks complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get normal permissions
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as pretty UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")


def prune_folders(root: str | os.PathLike, max_age_seconds: float, max_bytes: int, keep: int = 8) -> list[Path]:
    """Delete result folders under ``root`` (one per app click) that are older than
    ``max_age_seconds``, then the oldest ones until all of them together take at most
    ``max_bytes``; the ``keep`` newest always stay (a user may still be downloading them).
    Returns the folders removed. Files directly in ``root`` are left alone."""
    import shutil
    import time

    root = Path(root)
    if not root.is_dir():
        return []
    entries = []
    for d in root.iterdir():
        if d.is_dir() and not d.is_symlink():
            try:
                size = sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
                entries.append((d.stat().st_mtime, size, d))
            except OSError:  # removed meanwhile by another worker
                continue
    entries.sort(reverse=True)  # newest first
    now, total, removed = time.time(), 0, []
    for i, (mtime, size, d) in enumerate(entries):
        total += size
        if i >= keep and (now - mtime > max_age_seconds or total > max_bytes):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed
