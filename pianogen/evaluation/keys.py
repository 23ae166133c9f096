"""Does a MuseGAN keep to the key it is asked for? Measured on passages and on real crops.

Per passage, from its notes (onsets, every voice): the share in the asked key's scale (real
crops: their annotated key signature's), the share in the scale that fits it best (how tonal
it is, whatever the key), and whether that best key is the asked one. A model that ignores the
key scores the chance level on the first and last (a random key's scale holds about 7/12 of
the notes of tonal music, and one key in twelve is the right one) and as high as real music on
the second. Each cell: mean and sd over disjoint groups of passages.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pianogen.representations import pianoroll as pr
from pianogen.representations.keys import N_KEYS, best_key, in_scale_share


def onset_pitches(roll: np.ndarray, low: int) -> np.ndarray:
    """MIDI pitches of every note (onset) of one passage (tracks, bars, steps, pitches)."""
    return np.nonzero(pr.onsets(roll))[-1] + low


def passage_key_measures(rolls: np.ndarray, keys: np.ndarray, low: int) -> dict[str, float]:
    """Means over passages (n, tracks, bars, steps, pitches) with their keys (n,) of the asked
    key's share, the best key's share and how often the best key is the asked one; silent
    passages are left out."""
    asked, best, hit = [], [], []
    for roll, key in zip(rolls, keys):
        pitches = onset_pitches(roll, low)
        if not len(pitches):
            continue
        fit = best_key(pitches)
        asked.append(in_scale_share(pitches, key))
        best.append(in_scale_share(pitches, fit))
        hit.append(fit == key)
    return {"in asked key": float(np.mean(asked)), "in best key": float(np.mean(best)), "best key is asked": float(np.mean(hit))}


def key_adherence(checkpoints: list[str | os.PathLike], data_dir: str | os.PathLike, split: str, n: int = 48, groups: int = 4,
                  seed: int = 5000) -> dict[str, Any]:
    """Real crops of ``split`` (whole bars at the first checkpoint's settings, each in its
    annotated key) and every checkpoint's passages (latent seeds ``seed`` ...), each group asking
    for the twelve keys in turn: a keyed model gets the key, an unkeyed one plays as it would and
    is scored against the key a user would have asked for."""
    from pathlib import Path

    from pianogen.evaluation.bars import real_crops
    from pianogen.evaluation.musegan_table import _summarize
    from pianogen.sampling import load_gan, sample_gan

    gans = [load_gan(c) for c in checkpoints]
    cfg = gans[0].roll_cfg
    crops = real_crops(data_dir, split, cfg)
    rng = np.random.default_rng(seed)
    real = []
    for _ in range(groups):
        rolls, _, keys = crops.draw(n, rng, transpose=0)
        real.append(passage_key_measures(rolls > 0, keys, cfg.low))
    asked = np.arange(n) % N_KEYS
    rows = {}
    for g in gans:
        per_group = [passage_key_measures(sample_gan(g, seed=seed + i, n=n, bars=cfg.n_bars, key=asked if g.keyed else None).rolls, asked, cfg.low)
                     for i in range(groups)]
        rows[Path(g.path).stem] = {"keyed": g.keyed, "measures": _summarize(per_group)}
    return {"real": _summarize(real), "rows": rows, "settings": {"data": str(data_dir), "split": split, "n": n, "groups": groups, "seed": seed}}


def key_markdown(table: dict[str, Any]) -> str:
    """The key table as markdown: real first, then each checkpoint."""
    names = list(table["real"])
    lines = ["| | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]

    def row(label, cells):
        return f"| {label} | " + " | ".join(f"{cells[k]['mean']:.2f} ± {cells[k]['sd']:.2f}" for k in names) + " |"

    lines.append(row("real (annotated key)", table["real"]))
    for name, r in table["rows"].items():
        lines.append(row(f"{name} ({'asked' if r['keyed'] else 'no key input'})", r["measures"]))
    return "\n".join(lines)
