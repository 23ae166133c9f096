"""Choose sampling settings (temperature, top-p) by measurement, not by taste.

For each setting, ``n`` samples (batched, fixed seeds) are scored against real segments of a
prepared split with Yang & Lerch's mean OA over every feature; the setting with the highest
mean OA is the default. Use a validation split and seeds that the comparison report does not
use, so the report's numbers are not tuned on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def sweep_sampling(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "validation",
                   temperatures=(0.8, 0.9, 1.0, 1.1), top_ps=(0.9, 0.95, 1.0), n: int = 16, seconds: float = 20.0,
                   seed: int = 1000, progress: bool = True) -> list[dict[str, Any]]:
    """One row per (temperature, top_p): mean OA, notes/s, polyphony and long-note share."""
    from tqdm import tqdm

    from pianogen.evaluation import reference_features
    from pianogen.evaluation.distributions import compare_sets
    from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, piece_features
    from pianogen.sampling import load_sampler, sample

    ref = reference_features(data_dir, split, seconds)
    sampler = load_sampler(checkpoint)
    names = SCALAR_FEATURES + HIST_FEATURES
    rows = []
    grid = [(t, p) for t in temperatures for p in top_ps]
    for t, p in tqdm(grid, desc="sampling settings", unit="setting", disable=not progress):
        batch = sample(sampler, seconds=seconds, temperature=t, top_p=p, seed=seed, n=n)
        feats = [piece_features(g) for _, g in batch.groupby("sample") if len(g) > 1]
        vs = compare_sets(feats, ref, names)
        rows.append({"temperature": t, "top_p": p, "mean_oa": float(np.mean([v["oa"] for v in vs.values()])),
                     **{k: float(np.mean([f[k] for f in feats])) for k in ("notes_per_second", "polyphony", "long_note_share")}})
    return rows


def sampling_defaults(report: dict[str, Any]) -> tuple[float, float] | None:
    """(temperature, top-p) recorded in a checkpoint's report by ``--record``, or None."""
    d = report.get("sampling_defaults")
    return (float(d["temperature"]), float(d["top_p"])) if d else None


def best_setting(rows: list[dict[str, Any]]) -> dict[str, float]:
    best = max(rows, key=lambda r: r["mean_oa"])
    return {"temperature": best["temperature"], "top_p": best["top_p"], "mean_oa": best["mean_oa"]}
