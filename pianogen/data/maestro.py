"""MAESTRO metadata (``maestro-v3.0.0.csv`` / ``.json``) as a tidy dataframe."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd

METADATA_NAMES = ("maestro-v3.0.0.csv", "maestro-v3.0.0.json")
SPLITS = ("train", "validation", "test")

# Official column -> pianogen column.
_RENAME = {"canonical_composer": "composer", "canonical_title": "title"}


def parse_metadata(data: bytes, name: str) -> pd.DataFrame:
    """Parse MAESTRO metadata bytes (CSV or the column-oriented JSON) by file name.

    Returns columns ``midi_filename``, ``split``, ``composer``, ``title``, ``year``
    (nullable int) and ``duration`` (seconds), one row per performance, in file order.
    """
    if name.endswith(".json"):
        columns = json.loads(data.decode("utf-8"))
        # Column-oriented: {"column": {"row": value}}; rows keyed by string integers.
        df = pd.DataFrame(columns)
        df.index = df.index.astype(int)
        df = df.sort_index().reset_index(drop=True)
    else:
        df = pd.read_csv(io.BytesIO(data), encoding="utf-8")
    missing = {"canonical_composer", "canonical_title", "split", "year", "midi_filename"} - set(df.columns)
    if missing:
        raise ValueError(f"{name}: not MAESTRO metadata (missing columns {sorted(missing)})")
    df = df.rename(columns=_RENAME)
    for col in ("midi_filename", "split", "composer", "title"):
        df[col] = df[col].astype("string")
    df["year"] = pd.array(df["year"], dtype="Int64")
    df["duration"] = df["duration"].astype(float) if "duration" in df else float("nan")
    return df[["midi_filename", "split", "composer", "title", "year", "duration"]]


def find_metadata(root: Path) -> Path | None:
    """The metadata file in ``root`` or one level below (CSV preferred), or None."""
    for folder in (root, *sorted(p for p in root.iterdir() if p.is_dir())):
        for name in METADATA_NAMES:
            if (folder / name).is_file():
                return folder / name
    return None


def load_metadata(path: str | Path) -> pd.DataFrame:
    """Load MAESTRO metadata from a CSV/JSON file or a folder holding one."""
    path = Path(path)
    if path.is_dir():
        found = find_metadata(path)
        if found is None:
            raise FileNotFoundError(f"{path}: no {' or '.join(METADATA_NAMES)} found")
        path = found
    return parse_metadata(path.read_bytes(), path.name)
