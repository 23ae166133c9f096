"""Evaluation: features of pieces and of sets, against a reference split.

- :mod:`.features`: per-piece pitch, rhythm, texture and dynamics features
- :mod:`.distributions`: Yang & Lerch's overlapping area and KL divergence between sets
- :func:`evaluate_folder`: a folder of MIDI files against a prepared split

MuseGAN's own metrics (EB, UPC, QN, TD) live in :mod:`pianogen.metrics.musegan` (one
implementation, shared with training).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from pianogen.evaluation.distributions import compare_sets
from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, SUMMARY_FEATURES, labelled_segments, piece_features, segments

__all__ = ["compare_sets", "evaluate_folder", "piece_features", "reference_features", "labelled_segments", "reference_segments", "segments", "set_summary"]


def set_summary(features: list[dict]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of every scalar feature over a set."""
    return {n: {"mean": float(np.mean([f[n] for f in features])), "std": float(np.std([f[n] for f in features]))} for n in SUMMARY_FEATURES}


def reference_segments(data_dir: str | os.PathLike, split: str, seconds: float) -> list[pd.DataFrame]:
    """A prepared split cut into ``seconds``-long segments (see :func:`segments`)."""
    return labelled_segments(data_dir, split, seconds)[0]


def reference_features(data_dir: str | os.PathLike, split: str, seconds: float) -> list[dict]:
    """Features of a prepared split, cut into ``seconds``-long segments."""
    return [piece_features(s) for s in reference_segments(data_dir, split, seconds)]


def evaluate_folder(samples: str | os.PathLike, reference: str | os.PathLike, split: str = "test", ceiling_split: str = "train") -> dict:
    """Evaluate every MIDI file under ``samples`` against a prepared ``reference`` split.

    Returns per-file features, the set summary of samples and reference, OA/KL of samples vs
    the reference split, and the same numbers for real ``ceiling_split`` segments vs the
    reference (what real music scores: the ceiling). Unreadable files are skipped and listed.
    """
    from pianogen.data import MidiReadError, read_midi

    files = sorted(p for p in Path(samples).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    per_file, feats, skipped = [], [], []
    for p in files:
        try:
            notes = read_midi(p)
            f = piece_features(notes)
        except (MidiReadError, ValueError) as exc:
            skipped.append({"path": str(p), "reason": str(exc)})
            continue
        feats.append(f)
        per_file.append({"file": str(p.relative_to(samples)), "seconds": float(notes["end"].max()), **{n: f[n] for n in SUMMARY_FEATURES}})
    if len(feats) < 2:
        raise ValueError(f"{samples}: need at least 2 readable MIDI files, found {len(feats)}")
    seconds = float(np.median([r["seconds"] for r in per_file]))
    ref = reference_features(reference, split, seconds)
    ceiling = reference_features(reference, ceiling_split, seconds)
    names = SCALAR_FEATURES + HIST_FEATURES
    return {
        "files": per_file,
        "skipped": skipped,
        "segment_seconds": seconds,
        "samples": set_summary(feats),
        "reference": set_summary(ref),
        "vs_reference": compare_sets(feats, ref, names),
        "ceiling": compare_sets(ceiling, ref, names),
        "counts": {"samples": len(feats), "reference_segments": len(ref), "ceiling_segments": len(ceiling)},
    }


def per_file_table(result: dict) -> pd.DataFrame:
    return pd.DataFrame(result["files"])
