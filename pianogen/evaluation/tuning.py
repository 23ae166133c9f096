"""Choose sampling settings (temperature, top-p) by measurement, not by taste.

For each setting, ``n`` samples (batched, fixed seeds) are scored against real segments of a
prepared split with Yang & Lerch's mean OA over every feature, and their texture (notes per
second, mean polyphony) is set beside the real segments'. The default is the setting with the
highest mean OA *among those whose texture is within 20% of real music*: mean OA averages many
histograms, and a setting can win it while playing a quarter more notes than a pianist would,
which a listener hears at once. Use a validation split and seeds that the comparison report does
not use, so the report's numbers are not tuned on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

TEXTURE_FEATURES = ("notes_per_second", "polyphony", "long_note_share")
#: Features a setting must match within ``tolerance`` (relative) to be eligible as the default.
MATCHED_TEXTURE = ("notes_per_second", "polyphony")


def sampled_features(sampler, **kwargs) -> list[dict]:
    """Features of each sample of one batched ``sample(sampler, **kwargs)`` call (samples with
    fewer than two notes have no features and are left out)."""
    from pianogen.evaluation.features import piece_features
    from pianogen.sampling import sample

    batch = sample(sampler, **kwargs)
    return [piece_features(g) for _, g in batch.groupby("sample") if len(g) > 1]


def sweep_sampling(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "validation-tuning",
                   temperatures=(0.8, 0.9, 1.0, 1.1), top_ps=(0.9, 0.95, 1.0), n: int = 16, seconds: float = 20.0,
                   seed: int = 1000, progress: bool = True, tilts=(0.0,)) -> dict[str, Any]:
    """``{"rows": [...], "real": {...}}``: one row per (temperature, top_p, tilt) with mean OA,
    notes/s, polyphony and long-note share; ``real`` holds the same texture means for the real
    segments. ``tilts`` are time tilts (per second, ``sample(..., time_tilt=)``): temperature and
    nucleus move polyphony far more than notes/s, the tilt moves notes/s, so a grid over all
    three can reach a texture that neither alone does."""
    from tqdm import tqdm

    from pianogen.evaluation import reference_features
    from pianogen.evaluation.distributions import compare_sets
    from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES
    from pianogen.sampling import load_sampler

    ref = reference_features(data_dir, split, seconds)
    real = {k: float(np.mean([f[k] for f in ref])) for k in TEXTURE_FEATURES}
    sampler = load_sampler(checkpoint)
    names = SCALAR_FEATURES + HIST_FEATURES
    rows = []
    grid = [(t, p, d) for t in temperatures for p in top_ps for d in tilts]
    for t, p, d in tqdm(grid, desc="sampling settings", unit="setting", disable=not progress):
        feats = sampled_features(sampler, seconds=seconds, temperature=t, top_p=p, seed=seed, n=n, time_tilt=d)
        vs = compare_sets(feats, ref, names)
        rows.append({"temperature": t, "top_p": p, "tilt": float(d), "mean_oa": float(np.mean([v["oa"] for v in vs.values()])),
                     **{k: float(np.mean([f[k] for f in feats])) for k in TEXTURE_FEATURES}})
    return {"rows": rows, "real": real}


def texture_error(row: dict[str, Any], real: dict[str, float]) -> float:
    """Worst relative deviation from real music over notes/s and polyphony (0.2 = 20% off)."""
    return max(abs(row[k] / real[k] - 1.0) for k in MATCHED_TEXTURE)


def best_setting(rows: list[dict[str, Any]], real: dict[str, float] | None = None, tolerance: float = 0.2) -> dict[str, Any]:
    """The default setting: highest mean OA among rows within ``tolerance`` of ``real`` texture.

    Without ``real``, the highest mean OA. When no row is within tolerance, the row closest in
    texture is chosen (the ``criterion`` field says which rule decided).
    """
    if real is None:
        best, criterion = max(rows, key=lambda r: r["mean_oa"]), "highest mean OA"
    else:
        eligible = [r for r in rows if texture_error(r, real) <= tolerance]
        if eligible:
            best = max(eligible, key=lambda r: r["mean_oa"])
            criterion = f"highest mean OA with notes/s and polyphony within {tolerance:.0%} of real"
        else:
            best = min(rows, key=lambda r: texture_error(r, real))
            criterion = f"no setting within {tolerance:.0%} of real texture: the closest one"
    out = {"temperature": best["temperature"], "top_p": best["top_p"], "tilt": best.get("tilt", 0.0), "mean_oa": best["mean_oa"], "criterion": criterion}
    if real is not None:
        out["texture_error"] = texture_error(best, real)
    return out


def density_response(checkpoint: str | os.PathLike, tilts=(-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0), targets=None,
                     temperature: float = 1.0, top_p: float = 1.0, n: int = 16, seconds: float = 20.0, seed: int = 2000,
                     progress: bool = True) -> list[dict[str, float]]:
    """Notes/s and polyphony of ``n`` samples per density request: one row per time tilt
    (``tilts``, per second; see ``SequenceSampler.time_bias``) or, with ``targets``, per asked-for
    notes/s (``sample(..., notes_per_second=...)``). The tilt rows are a checkpoint's density
    calibration; the target rows measure how closely a control tracks what was asked."""
    from tqdm import tqdm

    from pianogen.sampling import load_sampler

    sampler = load_sampler(checkpoint)
    key, values = ("target", targets) if targets is not None else ("tilt", tilts)
    rows = []
    for v in tqdm(values, desc="densities", unit="setting", disable=not progress):
        kw = {"notes_per_second": float(v)} if key == "target" else {"time_tilt": float(v)}
        feats = sampled_features(sampler, seconds=seconds, temperature=temperature, top_p=top_p, seed=seed, n=n, **kw)
        rates = np.array([f["notes_per_second"] for f in feats])
        rows.append({key: float(v), "notes_per_second": float(rates.mean()), "sd": float(rates.std(ddof=1)) if len(rates) > 1 else 0.0,
                     "polyphony": float(np.mean([f["polyphony"] for f in feats]))})
    return rows


def tracking_error(rows: list[dict[str, float]]) -> float:
    """Mean |log(achieved / asked)| over target rows: 0 is perfect, 0.18 is about 20% off."""
    return float(np.mean([abs(np.log(r["notes_per_second"] / r["target"])) for r in rows]))
