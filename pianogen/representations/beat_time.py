"""Performed time (seconds) <-> musical time (beats), along a performance's own beats.

A performance's beat times ``b[0] < b[1] < ...`` (seconds; e.g. hand-annotated) define a
piecewise-linear clock: second ``b[i]`` is beat ``i``, times between two beats are spread
evenly between them (rubato inside a beat is not modelled), and times before the first or after
the last beat continue at the tempo of the nearest beat interval. Both directions are exact
inverses of each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _checked(beat_times) -> np.ndarray:
    b = np.asarray(beat_times, dtype=np.float64)
    if b.ndim != 1 or len(b) < 2 or not np.all(np.diff(b) > 0):
        raise ValueError("beat times must be at least two strictly increasing times in seconds")
    return b


def _linear(x, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Piecewise-linear map through the points (xs, ys), continued past both ends along the
    first and last segments."""
    x = np.asarray(x, dtype=np.float64)
    out = np.interp(x, xs, ys)
    lo, hi = x < xs[0], x > xs[-1]
    out[lo] = ys[0] + (x[lo] - xs[0]) * (ys[1] - ys[0]) / (xs[1] - xs[0])
    out[hi] = ys[-1] + (x[hi] - xs[-1]) * (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
    return out


def seconds_to_beats(seconds, beat_times) -> np.ndarray:
    """Times in seconds -> positions in beats (beat 0 = the first beat time)."""
    b = _checked(beat_times)
    return _linear(seconds, b, np.arange(len(b), dtype=np.float64))


def beats_to_seconds(beats, beat_times) -> np.ndarray:
    """Positions in beats -> times in seconds (the inverse of :func:`seconds_to_beats`)."""
    b = _checked(beat_times)
    return _linear(beats, np.arange(len(b), dtype=np.float64), b)


def retime(notes: pd.DataFrame, convert, *args) -> pd.DataFrame:
    """A copy of ``notes`` with ``start`` and ``end`` passed through ``convert(values, *args)``."""
    out = notes.copy()
    out["start"] = convert(notes["start"].to_numpy(), *args)
    out["end"] = convert(notes["end"].to_numpy(), *args)
    return out
