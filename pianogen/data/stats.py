"""Summary statistics of a prepared folder (``scripts/data_stats.py``)."""

from __future__ import annotations

import os

import numpy as np

from pianogen.data.corpus import load_notes, load_pieces, split_summary


def data_stats(data_dir: str | os.PathLike, top: int = 10) -> dict:
    """Pieces, hours and notes per split; pitch range; notes per second; top composers."""
    pieces = load_pieces(data_dir)
    notes = load_notes(data_dir)
    seconds = float(pieces["duration"].sum())
    composers = pieces.groupby("composer", dropna=True)["duration"].agg(["count", "sum"]).sort_values("sum", ascending=False)
    return {
        "splits": split_summary(pieces),
        "pitch_min": int(notes["pitch"].min()),
        "pitch_max": int(notes["pitch"].max()),
        "notes_per_second": round(len(notes) / seconds, 3) if seconds else 0.0,
        "median_duration_s": round(float(np.median(notes["duration"])), 4),
        "top_composers": [
            {"composer": str(c), "pieces": int(r["count"]), "hours": round(float(r["sum"]) / 3600, 3)} for c, r in composers.head(top).iterrows()
        ],
    }


def format_stats(stats: dict) -> str:
    """A readable plain-text table of :func:`data_stats`."""
    lines = [f"{'split':<12}{'pieces':>8}{'hours':>10}{'notes':>10}"]
    for split, c in stats["splits"].items():
        lines.append(f"{split:<12}{c['pieces']:>8}{c['hours']:>10.2f}{c['notes']:>10}")
    lines += [
        "",
        f"pitch range       {stats['pitch_min']}..{stats['pitch_max']} (MIDI)",
        f"notes per second  {stats['notes_per_second']:.2f}",
        f"median duration   {stats['median_duration_s']:.3f} s",
        "",
        f"{'top composers':<32}{'pieces':>8}{'hours':>8}",
    ]
    lines += [f"{c['composer'][:31]:<32}{c['pieces']:>8}{c['hours']:>8.2f}" for c in stats["top_composers"]]
    return "\n".join(lines)
