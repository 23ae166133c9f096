"""Two halves of a split by composition: one to tune on, one to report on.

Sampling defaults and checkpoint selection are *tuned* on a split; a number measured on that
same split flatters the model. So a split (``validation`` by default) is cut by composition
into ``validation-tuning`` and ``validation-reporting``: every performance of one composition
lies in one half, so the reporting half holds music that no tuning decision saw, not even in
another pianist's hands. Any split can be halved the same way (``test-tuning``, ...).

A composition is (composer, title) where the metadata names them, else the file's path with
movement/part suffixes removed (:func:`pianogen.data.corpus.split_group`). Compositions are
ordered by the SHA-1 of that key and dealt alternately to the two halves, so the halves hold
equal numbers of compositions (within one) and the assignment never depends on file order.
"""

from __future__ import annotations

import hashlib

import pandas as pd

HALVES = ("tuning", "reporting")


def parse_half(split: str) -> tuple[str, str] | None:
    """``("validation", "reporting")`` for ``"validation-reporting"``; None for a plain split."""
    base, _, half = split.rpartition("-")
    return (base, half) if base and half in HALVES else None


def composition_key(row) -> str:
    """What makes two performances the same composition (see the module doc)."""
    from pianogen.data.corpus import split_group

    composer, title = getattr(row, "composer", None), getattr(row, "title", None)
    if isinstance(composer, str) and isinstance(title, str):
        return f"{composer.strip().lower()}|{title.strip().lower()}"
    return split_group(str(row.path))


def compositions(pieces: pd.DataFrame) -> pd.Series:
    """The composition key of every piece (index aligned with ``pieces``)."""
    return pd.Series([composition_key(r) for r in pieces.itertuples(index=False)], index=pieces.index, dtype=object)


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
