"""Hand-annotated beats, downbeats, metres and key signatures (ASAP's annotation files).

A MAESTRO-shaped folder may carry, beside a performance ``X.mid``, a file ``X_annotations.txt``
(the ASAP dataset's "TSV annotation"): one line per beat of the performance, tab-separated
``seconds``, ``seconds`` (the same time twice) and a label: ``b`` (a beat), ``db`` (a downbeat:
the first beat of a bar) or ``bR`` (a beat whose place in the bar cannot be told). Where a time
signature or a key signature takes effect, ``,TIME_SIGNATURE`` and ``,KEY`` follow the label
(KEY in -11..11: sharps, negative for flats), e.g. ``db,4/4,0``, ``b,,0``, ``db,3/4``.

:func:`parse_annotations` turns one file into a beat table, one row per beat:

- ``time``: seconds from the start of the performance, increasing
- ``downbeat``: the beat opens a bar (``db``)
- ``known``: its place in the bar is known (not ``bR``)
- ``time_signature``: the metre in effect (e.g. ``"4/4"``; ``""`` before the first one)
- ``key``: the key signature in effect (sharps, negative for flats; -99 before the first one)

:func:`bars` reads the bars off that table. Preparation (:mod:`pianogen.data.corpus`) stores
every annotated piece's beats in ``beats.parquet``; :func:`load_beats` reads them back.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

ANNOTATION_SUFFIX = "_annotations.txt"
BEATS_FILE = "beats.parquet"
NO_KEY = -99  # key signature before the first one the file states
BEAT_COLUMNS = ["time", "downbeat", "known", "time_signature", "key"]
LABELS = ("b", "db", "bR")


class BeatAnnotationError(ValueError):
    """An annotation file that cannot be read; the message names the file and the line."""


def annotation_name(midi_path: str) -> str:
    """Where a performance's annotations lie: ``a/X.mid`` -> ``a/X_annotations.txt``."""
    p = PurePosixPath(midi_path)
    return str(p.with_name(p.stem + ANNOTATION_SUFFIX))


def _metre(text: str, label: str) -> str:
    num, sep, den = text.partition("/")
    if not (sep and num.isdigit() and den.isdigit() and int(num) > 0 and int(den) > 0):
        raise BeatAnnotationError(f"{label}: time signature {text!r} is not N/D")
    return f"{int(num)}/{int(den)}"


def parse_annotations(text: str, label: str = "<annotations>") -> pd.DataFrame:
    """An annotation file's text -> beat table (see the module doc). ``label`` names the file in
    errors: a line that is not ``seconds<TAB>seconds<TAB>label[,metre[,key]]``, times that do not
    increase, an unknown label or no beat at all raise :class:`BeatAnnotationError`."""
    rows = []
    metre, key = "", NO_KEY
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{label} line {n}"
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 3:
            raise BeatAnnotationError(f"{where}: expected 3 tab-separated fields, found {len(fields)}")
        try:
            t = float(fields[0])
        except ValueError:
            raise BeatAnnotationError(f"{where}: time {fields[0]!r} is not a number") from None
        if not np.isfinite(t) or t < 0:
            raise BeatAnnotationError(f"{where}: time {fields[0]!r} is not a time in seconds")
        parts = fields[2].split(",")
        if parts[0] not in LABELS or len(parts) > 3:
            raise BeatAnnotationError(f"{where}: label {fields[2]!r} is not b, db or bR with an optional ,METRE,KEY")
        if len(parts) > 1 and parts[1]:
            metre = _metre(parts[1], where)
        if len(parts) > 2 and parts[2]:
            try:
                key = int(parts[2])
            except ValueError:
                raise BeatAnnotationError(f"{where}: key signature {parts[2]!r} is not an integer") from None
            if not -11 <= key <= 11:
                raise BeatAnnotationError(f"{where}: key signature {key} is outside -11..11")
        if rows and t <= rows[-1][0]:
            raise BeatAnnotationError(f"{where}: beat at {t} s does not come after the one before ({rows[-1][0]} s)")
        rows.append((t, parts[0] == "db", parts[0] != "bR", metre, key))
    if not rows:
        raise BeatAnnotationError(f"{label}: no beats")
    return pd.DataFrame(rows, columns=BEAT_COLUMNS)


def read_annotations(path: str | os.PathLike) -> pd.DataFrame:
    """The beat table of one annotation file (:class:`BeatAnnotationError` naming the file if it
    is missing or malformed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BeatAnnotationError(f"{path}: no such annotation file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BeatAnnotationError(f"{path}: cannot read ({e})") from None
    return parse_annotations(text, str(path))


def bars(beats: pd.DataFrame) -> pd.DataFrame:
    """The bars of one beat table: one row per bar closed by a following downbeat (the last bar,
    whose end is not annotated, is left out): ``first`` (index of its downbeat), ``n_beats``,
    ``time_signature`` (at its downbeat), ``known`` (every beat in it is placed, no ``bR``)."""
    down = np.flatnonzero(beats["downbeat"].to_numpy())
    known = np.concatenate([[0], np.cumsum(~beats["known"].to_numpy())])
    first, nxt = down[:-1], down[1:]
    return pd.DataFrame({
        "first": first,
        "n_beats": nxt - first,
        "time_signature": beats["time_signature"].to_numpy()[first],
        "known": known[nxt] == known[first],
    })


def load_beats(data_dir: str | os.PathLike, piece_ids=None) -> dict[str, pd.DataFrame]:
    """{piece_id: beat table} from a prepared folder's ``beats.parquet`` (only ``piece_ids`` if
    given). FileNotFoundError naming the folder if it has no beats (its source had no annotation
    files)."""
    path = Path(data_dir) / BEATS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: no beat annotations in this prepared folder (its MIDI files have no "
                                f"*{ANNOTATION_SUFFIX} beside them, e.g. ../shared/data/asap-performances has)")
    df = pd.read_parquet(path)
    if piece_ids is not None:
        df = df[df["piece_id"].isin(set(piece_ids))]
    return {pid: g[BEAT_COLUMNS].reset_index(drop=True) for pid, g in df.groupby("piece_id", sort=True)}


def bar_runs(beats: pd.DataFrame, beats_per_bar: int, n_bars: int) -> np.ndarray:
    """Indices of the downbeats that open ``n_bars`` consecutive bars of exactly
    ``beats_per_bar`` beats each, every beat placed (no ``bR``): where a crop of whole bars of
    that metre may start. A run never crosses a change of metre or a bar of another length."""
    b = bars(beats)
    ok = (b["n_beats"] == beats_per_bar).to_numpy() & b["known"].to_numpy()
    first = b["first"].to_numpy()
    # Bar k continues bar k-1 when both are good (consecutive bars always touch).
    run = np.zeros(len(ok), dtype=np.int64)  # good bars ending at k, counted backwards below
    count = 0
    for k in range(len(ok) - 1, -1, -1):
        count = count + 1 if ok[k] else 0
        run[k] = count
    return first[run >= n_bars]


def metre_counts(beat_tables, beats_per_bar: int) -> dict[str, int]:
    """How many placed bars of ``beats_per_bar`` beats each time signature holds, over beat tables
    (what a musical-time corpus keeps), plus ``"other"``: bars of any other length."""
    counts: dict[str, int] = {}
    for beats in beat_tables:
        b = bars(beats)
        good = b[(b["n_beats"] == beats_per_bar) & b["known"]]
        for ts, n in good["time_signature"].value_counts().items():
            counts[ts or "unstated"] = counts.get(ts or "unstated", 0) + int(n)
        counts["other"] = counts.get("other", 0) + int(len(b) - len(good))
    return counts
