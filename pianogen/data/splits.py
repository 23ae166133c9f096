"""Splits: which split a file belongs to, and two halves of a split by composition.

A file with no metadata gets its split from a hash of its path (:func:`hash_split`), pieces cut
from one performance together (:func:`split_group`).

Two halves of a split by composition: one to tune on, one to report on.

Sampling defaults and checkpoint selection are *tuned* on a split; a number measured on that
same split flatters the model. So a split (``validation`` by default) is cut by composition
into ``validation-tuning`` and ``validation-reporting``: every performance of one composition
lies in one half, so the reporting half holds music that no tuning decision saw, not even in
another pianist's hands. Any split can be halved the same way (``test-tuning``, ...).

A composition is (composer, title) where the metadata names them, else the file's path with
movement/part suffixes removed (:func:`split_group`). Compositions are
ordered by the SHA-1 of that key and dealt alternately to the two halves, so the halves hold
equal numbers of compositions (within one) and the assignment never depends on file order.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

import pandas as pd

HALVES = ("tuning", "reporting")


def hash_split(path: str, val_fraction: float, test_fraction: float) -> str:
    """Stable split for a file with no metadata, from the SHA-1 of its relative path."""
    u = int.from_bytes(hashlib.sha1(path.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "validation"
    return "train"


_PART_SUFFIX = re.compile(r"(?:[_\- ](?:cut|(?:no|mov|mvt|movement|part|pt)[_\- ]?\d+|part\d+|[a-z]))+$", re.IGNORECASE)


def split_group(rel: str) -> str:
    """What decides a metadata-less file's split: its path without the extension and without
    movement/part suffixes (``_cut``, ``_mov_2``, ``_no_3``, ``_part1``, ``_a``...), so pieces
    cut from one performance land in one split. The folder counts too (same names in two
    folders are different performances), but files of one folder are not grouped otherwise:
    a folder may hold a whole composer."""
    p = PurePosixPath(rel)
    return str(p.with_name(_PART_SUFFIX.sub("", p.stem) or p.stem))


def parse_half(split: str) -> tuple[str, str] | None:
    """``("validation", "reporting")`` for ``"validation-reporting"``; None for a plain split."""
    base, _, half = split.rpartition("-")
    return (base, half) if base and half in HALVES else None


def composition_key(row) -> str:
    """What makes two performances the same composition (see the module doc)."""
    composer, title = getattr(row, "composer", None), getattr(row, "title", None)
    if isinstance(composer, str) and isinstance(title, str):
        return f"{composer.strip().lower()}|{title.strip().lower()}"
    return split_group(str(row.path))


def compositions(pieces: pd.DataFrame) -> pd.Series:
    """The composition key of every piece (index aligned with ``pieces``)."""
    return pd.Series([composition_key(r) for r in pieces.itertuples(index=False)], index=pieces.index, dtype=object)


def piece_compositions(pieces: pd.DataFrame) -> dict[str, str]:
    """``{piece_id: composition key}`` for every piece of ``pieces``: the group a classifier test
    keeps on one side of its folds."""
    return dict(zip(pieces["piece_id"], compositions(pieces)))


def half_of(pieces: pd.DataFrame) -> pd.Series:
    """``"tuning"`` or ``"reporting"`` for every piece of ``pieces`` (one split's pieces)."""
    keys = compositions(pieces)
    order = sorted(set(keys), key=lambda k: hashlib.sha1(k.encode("utf-8")).hexdigest())
    deal = {k: HALVES[i % 2] for i, k in enumerate(order)}
    return keys.map(deal)


def select_half(pieces: pd.DataFrame, split: str) -> pd.DataFrame:
    """The pieces of ``split`` (e.g. ``validation-reporting``) from a whole pieces table."""
    base, half = parse_half(split)
    part = pieces[pieces["split"] == base]
    return part[half_of(part) == half].reset_index(drop=True)
