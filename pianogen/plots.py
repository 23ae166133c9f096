"""Pianoroll pictures (PNG) with matplotlib: time in seconds, pitch names, a colour per voice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

TRACK_COLORS = ("#d1495b", "#00798c", "#edae49", "#66a182", "#2e4057")
SEED_COLOR = "#8d99ae"


def _pitch_name(p: int) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[p % 12]}{p // 12 - 1}"


def _draw(ax, notes: pd.DataFrame, track_names: tuple[str, ...] | None) -> None:
    from matplotlib.patches import Patch

    handles = []
    if len(notes) == 0:
        ax.text(0.5, 0.5, "silence (no notes)", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xlabel("time (s)")
        return
    groups = [(None, notes)]
    if "track" in notes and track_names:
        groups = [(track_names[int(t)], g) for t, g in notes.groupby("track")]
    for i, (name, g) in enumerate(groups):
        if "is_seed" in g and g["is_seed"].any():
            _rectangles(ax, g[g["is_seed"]], SEED_COLOR)
            if not any(h.get_label() == "seed" for h in handles):
                handles.append(Patch(color=SEED_COLOR, label="seed"))
            g = g[~g["is_seed"]]
        color = TRACK_COLORS[i % len(TRACK_COLORS)]
        _rectangles(ax, g, color, alpha=0.5 + 0.5 * g["velocity"].to_numpy(float) / 127)
        handles.append(Patch(color=color, label=name or "generated"))
    ax.autoscale_view()
    lo, hi = (int(notes["pitch"].min()), int(notes["pitch"].max())) if len(notes) else (48, 72)
    ticks = [p for p in range(lo - lo % 12, hi + 12, 12) if lo - 6 <= p <= hi + 6]
    ax.set_yticks(ticks, [_pitch_name(p) for p in ticks])
    ax.set_ylim(lo - 2, hi + 2)
    ax.set_xlabel("time (s)")
    ax.grid(axis="x", alpha=0.3)
    if len(handles) > 1 or (groups[0][0] is not None):
        ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)


def _rectangles(ax, notes: pd.DataFrame, color: str, alpha: np.ndarray | float = 1.0):
    """One bar per note (start to end in seconds, 0.8 of a semitone high at its MIDI pitch), in
    ``color`` at ``alpha`` (per note or one for all), as one collection: one artist, so 60 s of
    a performance draws in 0.13 s where one patch per note (``barh``) took 0.58 s
    (``benchmarks/plots.py``)."""
    from matplotlib.collections import PolyCollection
    from matplotlib.colors import to_rgba

    x0, x1 = notes["start"].to_numpy(float), notes["end"].to_numpy(float)
    y = notes["pitch"].to_numpy(float)
    low, high = y - 0.4, y + 0.4
    corners = np.stack([np.c_[x0, low], np.c_[x0, high], np.c_[x1, high], np.c_[x1, low]], axis=1)
    rgba = np.tile(to_rgba(color), (len(notes), 1))
    rgba[:, 3] = alpha
    return ax.add_collection(PolyCollection(corners, facecolors=rgba, linewidths=0), autolim=True)


def pianoroll_png(notes: pd.DataFrame, path: str | os.PathLike, title: str | None = None, track_names: tuple[str, ...] | None = None,
                  width: float = 10.0, height: float = 4.0) -> Path:
    """Draw notes (``track``/``is_seed`` columns optional) as a pianoroll PNG, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pianogen.io import atomic_path

    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    _draw(ax, notes, track_names)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def save_roll_grid(rolls: np.ndarray, cfg, path: str | os.PathLike, title: str | None = None) -> Path:
    """Several MuseGAN samples (n, tracks, bars, steps, pitches), one row each, voices coloured."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pianogen.io import atomic_path
    from pianogen.representations.pianoroll import roll_to_notes

    n = len(rolls)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.2 * n), dpi=80, squeeze=False)
    for ax, roll in zip(axes[:, 0], rolls):
        _draw(ax, roll_to_notes(roll, cfg), cfg.tracks)
        bars = roll.shape[1]
        for b in range(1, bars):
            ax.axvline(b * cfg.seconds_per_bar(), color="k", alpha=0.3, linewidth=0.8)
        ax.set_xlim(0, bars * cfg.seconds_per_bar())
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)


def training_curves_png(reports: dict[str, dict], path: str | os.PathLike, title: str | None = None) -> Path:
    """Validation NLL against training minutes and against tokens seen, one line per run.

    ``reports`` maps a label to a run as ``pianogen.evaluation.curves.read_run`` gives it (every
    evaluation carries the ``tokens`` seen), with its ``validation_rate`` (``fill_validation_rates``).
    NLL is shown per second of music (the validation set's nats per token times its tokens per
    second of music), so runs over different
    representations (events, notes) share an axis; each run is measured on its own
    validation split, which the label should name.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pianogen.io import atomic_path

    fig, (ax_t, ax_n) = plt.subplots(1, 2, figsize=(11, 4), dpi=100, sharey=True)
    for i, (label, r) in enumerate(reports.items()):
        per_sec = r["validation_rate"]  # tokens per second of validation music
        ev = [e for e in r["evals"] if "val_loss" in e]
        y = [e["val_loss"] * per_sec for e in ev]
        color = f"C{i % 10}"
        ax_t.plot([e["seconds"] / 60 for e in ev], y, color=color, label=label)
        ax_n.plot([e["tokens"] / 1e6 for e in ev], y, color=color, label=label)
    ax_t.set_xlabel("training minutes (wall clock)")
    ax_n.set_xlabel("training tokens seen (millions)")
    ax_n.set_xscale("log")
    ax_t.set_ylabel("validation NLL (nats per second of music)")
    for ax in (ax_t, ax_n):
        ax.grid(alpha=0.3)
    ax_t.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path
