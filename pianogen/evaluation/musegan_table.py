"""MuseGAN's Table 1, on held-out piano music: EB, UPC, QN, SN, TD and notes per second for
generated passages and for real crops, with error bars.

Each model generates ``groups`` disjoint latent sets of ``n`` passages (seeds ``seed`` ...,
never the fixed latent that selected its checkpoint); each real row is ``groups`` disjoint
draws of ``n`` untransposed crops of the held-out split. A cell is the mean over groups and
its sd, so a difference smaller than the sd is not one. Rolls are compared at the model's own
pianoroll settings (bars of ``bar_seconds``, ``n_bars`` per passage).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pianogen.metrics.musegan import musegan_metrics
from pianogen.representations import pianoroll as pr


def notes_per_second(rolls: np.ndarray, roll_cfg: pr.PianorollConfig) -> float:
    """Onsets (keys turning on; a key held across a bar line is one note) per second of music,
    all tracks together."""
    s, t, b, spb, p = rolls.shape
    return float(pr.onsets(rolls).sum() / (s * b * spb / roll_cfg.steps_per_second))


def table_metrics(rolls: np.ndarray, roll_cfg: pr.PianorollConfig) -> dict[str, float]:
    """MuseGAN's metrics (with SN) and notes/s of a set of rolls."""
    return {**musegan_metrics(rolls, roll_cfg.tracks, roll_cfg.low), "notes/s": notes_per_second(rolls, roll_cfg)}


def real_crops(data_dir: str | os.PathLike, split: str, roll_cfg: pr.PianorollConfig):
    """The pianorolls of a prepared split, ready to give untransposed, non-silent crops of one
    passage each (``.sample(n, rng, transpose=0)``); built once, sampled per group."""
    from pianogen.data import load_notes
    from pianogen.gan_task import RollCrops

    notes = load_notes(data_dir, split)
    if notes.empty:
        raise ValueError(f"{data_dir}: the {split} split has no notes")
    return RollCrops(notes, roll_cfg, transpose=0, seed=0)


def _summarize(per_group: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = per_group[0].keys()
    return {k: {"mean": float(np.nanmean([g[k] for g in per_group])), "sd": float(np.nanstd([g[k] for g in per_group], ddof=1)) if len(per_group) > 1 else 0.0}
            for k in keys}


def musegan_table(checkpoints: list[str | os.PathLike], data_dir: str | os.PathLike, split: str = "validation", n: int = 64,
                  groups: int = 4, seed: int = 5000, threshold: float = 0.5) -> dict[str, Any]:
    """``{"rows": {name: {metric: {mean, sd}}}, "real": {...}, "settings": {...}}``, the real row
    at the first checkpoint's pianoroll settings (all must share them)."""
    from pathlib import Path

    from pianogen.sampling import load_gan, sample_gan

    gans = [load_gan(c) for c in checkpoints]
    if not gans:
        raise ValueError("give at least one MuseGAN checkpoint")
    roll_cfg = gans[0].roll_cfg
    for g in gans[1:]:
        if g.roll_cfg != roll_cfg:
            raise ValueError(f"{g.path}: pianoroll settings differ from {gans[0].path}'s; compare like with like")
    rng = np.random.default_rng(seed)
    crops = real_crops(data_dir, split, roll_cfg)
    real = _summarize([table_metrics(crops.sample(n, rng, transpose=0).astype(bool), roll_cfg) for _ in range(groups)])
    rows = {}
    for g in gans:
        per_group = []
        for i in range(groups):
            r = sample_gan(g, seed=seed + i, n=n, bars=roll_cfg.n_bars, threshold=threshold)
            per_group.append(table_metrics(r.rolls, roll_cfg))
        design = g.ckpt["model_config"].get("design", "hybrid")
        rows[Path(g.path).stem] = {"design": design, "metrics": _summarize(per_group)}
    return {"rows": rows, "real": real, "settings": {"data": str(data_dir), "split": split, "n": n, "groups": groups, "seed": seed,
                                                     "threshold": threshold, "pianoroll": roll_cfg.to_dict()}}


def markdown(table: dict[str, Any]) -> str:
    """The table with one column per model and real music, metrics as rows (as in the paper)."""
    names = list(table["rows"])
    keys = list(table["real"])
    head = "| metric | real | " + " | ".join(f"{n} ({table['rows'][n]['design']})" for n in names) + " |"
    lines = [head, "| --- | ---: |" + " ---: |" * len(names)]
    for k in keys:
        cells = [table["real"][k]] + [table["rows"][n]["metrics"][k] for n in names]
        lines.append(f"| {k} | " + " | ".join(f"{c['mean']:.2f} ± {c['sd']:.2f}" for c in cells) + " |")
    return "\n".join(lines)
