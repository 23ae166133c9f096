"""Learning curves: where would two models' validation curves cross?

A run's report holds its validation NLL at each evaluation (``evals``: seconds, val_loss).
Fitting ``nll(t) = a + b * t**-c`` (t in minutes; ``a`` is the loss the run would approach with
unlimited time at its settings) to the part of each curve after warm-up and extrapolating both
says whether, and after how many minutes, the slower-starting model would overtake the other.
An extrapolation, not a measurement: it assumes each curve keeps its fitted shape (the same
learning-rate schedule stretched to the longer run), and says so where it is reported.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def eval_curve(report: dict[str, Any], on_full_split: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, validation NLL per token) of a run's evaluations.

    Runs evaluate on a fixed subset of the validation split (``eval_tokens``), and two runs'
    subsets differ in size and so in difficulty. With ``on_full_split`` (and a final
    full-split measurement in the report), the curve is shifted so its last point is the
    full-split number: the subset's bias is taken to be constant along the run."""
    ev = [e for e in report.get("evals", []) if e.get("val_loss") is not None]
    if len(ev) < 3:
        raise ValueError("a run needs at least 3 evaluations to fit its curve")
    minutes, nll = np.array([e["seconds"] / 60 for e in ev]), np.array([e["val_loss"] for e in ev])
    full = (report.get("final") or {}).get("validation", {}).get("nll_per_token")
    if on_full_split and full is not None:
        nll = nll + (full - nll[-1])
    return minutes, nll


def power_law_fit(minutes: np.ndarray, nll: np.ndarray, skip: float = 0.2) -> dict[str, float]:
    """Least-squares ``a + b * t**-c`` over the curve after its first ``skip`` share of minutes
    (warm-up is not the law); c on a grid, a and b exactly for each c. Returns a, b, c and the
    root-mean-square residual (nats)."""
    keep = minutes >= skip * minutes.max()
    t, y = minutes[keep], nll[keep]
    if len(t) < 3:
        raise ValueError("too few evaluations after warm-up to fit")
    best = None
    for c in np.linspace(0.05, 2.0, 391):
        X = np.stack([np.ones_like(t), t ** -c], 1)
        (a, b), *_ = np.linalg.lstsq(X, y, rcond=None)
        rms = float(np.sqrt(np.mean((X @ np.array([a, b]) - y) ** 2)))
        if best is None or rms < best["rms"]:
            best = {"a": float(a), "b": float(b), "c": float(c), "rms": rms}
    return best


def predict(fit: dict[str, float], minutes) -> np.ndarray:
    return fit["a"] + fit["b"] * np.asarray(minutes, dtype=float) ** -fit["c"]


def crossing(challenger: dict[str, float], leader: dict[str, float], start: float, horizon: float = 100_000.0) -> float | None:
    """First minute after ``start`` at which ``challenger``'s fitted curve falls below
    ``leader``'s, or None if it does not within ``horizon`` minutes."""
    grid = np.geomspace(max(start, 1e-3), horizon, 4000)
    below = predict(challenger, grid) < predict(leader, grid)
    return float(grid[np.argmax(below)]) if below.any() else None
