"""Per-piece musical features of a notes dataframe (pitch, rhythm, texture, dynamics).

Scalars and histograms, each normalized so pieces of different lengths compare:

- pitch: ``pitch_range`` (semitones), ``n_pitches``, ``n_pitch_classes``,
  ``pitch_class_hist`` (12, sums to 1), ``pitch_class_entropy`` (bits, as MusPy),
  ``scale_consistency`` (largest share of notes inside one of the 24 major / natural minor
  scales, as MusPy)
- rhythm and texture: ``notes_per_second``, ``ioi_hist`` (inter-onset intervals between
  distinct onsets, ``IOI_BINS`` seconds), ``polyphony`` (mean number of keys sounding over the
  time when any sounds, as MusPy), ``duration_hist`` (``DURATION_BINS`` seconds),
  ``silence_ratio`` (share of the span from first onset to last release with nothing sounding)
- dynamics: ``velocity_mean``, ``velocity_std``
- ``long_note_share``: share of note-time (summed note durations) in notes longer than
  ``LONG_NOTE_SECONDS``: keys held for many seconds, the signature of unreleased notes.
  Summarized and reported, but not one of the OA features (most real segments score 0).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

IOI_BINS = np.array([0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.2, 2.0, np.inf])
DURATION_BINS = np.array([0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, np.inf])
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])

SCALAR_FEATURES = (
    "pitch_range", "n_pitches", "n_pitch_classes", "pitch_class_entropy", "scale_consistency",
    "notes_per_second", "polyphony", "silence_ratio", "velocity_mean", "velocity_std",
)
HIST_FEATURES = ("pitch_class_hist", "ioi_hist", "duration_hist")
SUMMARY_FEATURES = SCALAR_FEATURES + ("long_note_share",)  # summarized per set; OA uses SCALAR + HIST
LONG_NOTE_SECONDS = 5.0


def _hist(values: np.ndarray, bins: np.ndarray) -> np.ndarray:
    h = np.histogram(values, bins=bins)[0].astype(float)
    return h / h.sum() if h.sum() else h


def _sounding(notes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-constant count of sounding keys: (segment lengths in s, counts)."""
    times = np.concatenate([notes["start"].to_numpy(), notes["end"].to_numpy()])
    delta = np.concatenate([np.ones(len(notes)), -np.ones(len(notes))])
    order = np.lexsort((delta, times))  # releases before onsets at equal times
    t, d = times[order], delta[order]
    counts = np.cumsum(d)[:-1]
    return np.diff(t), counts


def piece_features(notes: pd.DataFrame) -> dict[str, float | np.ndarray]:
    """All features of one piece (see the module doc). Needs at least one note."""
    if len(notes) == 0:
        raise ValueError("no notes to describe")
    pitch = notes["pitch"].to_numpy(dtype=int)
    start, end = notes["start"].to_numpy(float), notes["end"].to_numpy(float)
    pcs = np.bincount(pitch % 12, minlength=12).astype(float)
    pc_hist = pcs / pcs.sum()
    nz = pc_hist[pc_hist > 0]
    in_scale = [pcs[(scale + tonic) % 12].sum() for tonic in range(12) for scale in (MAJOR, MINOR)]
    onsets = np.unique(np.round(start, 6))
    span = float(end.max() - start.min())
    seg, counts = _sounding(notes)
    sounding = seg[counts > 0].sum()
    return {
        "pitch_range": float(pitch.max() - pitch.min()),
        "n_pitches": float(len(np.unique(pitch))),
        "n_pitch_classes": float((pcs > 0).sum()),
        "pitch_class_hist": pc_hist,
        "pitch_class_entropy": float(-(nz * np.log2(nz)).sum()),
        "scale_consistency": float(max(in_scale) / pcs.sum()),
        "notes_per_second": float(len(notes) / span) if span > 0 else 0.0,
        "ioi_hist": _hist(np.diff(onsets), IOI_BINS),
        "polyphony": float((seg * counts)[counts > 0].sum() / sounding) if sounding > 0 else 0.0,
        "duration_hist": _hist(end - start, DURATION_BINS),
        "silence_ratio": max(0.0, float(1 - sounding / span)) if span > 0 else 0.0,  # clamp float noise
        "velocity_mean": float(notes["velocity"].mean()),
        "velocity_std": float(notes["velocity"].std(ddof=0)),
        "long_note_share": float(np.where(end - start > LONG_NOTE_SECONDS, end - start, 0).sum() / max((end - start).sum(), 1e-12)),
    }


def labelled_segments(data_dir: str | os.PathLike, split: str, seconds: float) -> tuple[list[pd.DataFrame], list[str]]:
    """A split cut into ``seconds``-long segments (see :func:`segments`),
    each with its composition (the group the classifier test keeps on one side)."""
    from pianogen.data import load_notes, load_pieces
    from pianogen.data.splits import piece_compositions

    group = piece_compositions(load_pieces(data_dir, split))
    segs, groups = [], []
    for pid, g in load_notes(data_dir, split).groupby("piece_id", sort=True, observed=True):
        for s in segments(g, seconds):
            segs.append(s)
            groups.append(group[pid])
    return segs, groups


def segments(notes: pd.DataFrame, seconds: float) -> list[pd.DataFrame]:
    """Cut a piece into consecutive windows of ``seconds`` (notes by onset; times from 0),
    so long reference pieces compare with short generated samples. Notes sounding past a
    window's end are cut there, as generated samples are cut at their requested length."""
    out = []
    for k in range(int(np.ceil(notes["end"].max() / seconds))):
        w = notes[(notes["start"] >= k * seconds) & (notes["start"] < (k + 1) * seconds)]
        if len(w) >= 8:  # too few notes describe nothing
            w = w.assign(start=w["start"] - k * seconds, end=np.minimum(w["end"], (k + 1) * seconds) - k * seconds)
            out.append(w)
    return out
