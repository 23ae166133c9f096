"""Note tuples: one token per note, as in the TensorFlow RNN tutorial, but categorical.

A note is (step, pitch, duration, velocity): ``step`` (s since the previous note's start)
and ``duration`` (s) in :class:`TimeGrid` bins, ``pitch`` as MIDI 0-127, ``velocity`` in
32 bins. ``encode`` returns an int array of shape (n_notes, 4) in ``FIELDS`` order.

Steps are encoded with error feedback: each step is quantized from the *decoded* start of
the previous note, so rounding errors never accumulate along a piece; every decoded start
lies within half a bin of the original.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from pianogen.representations.grids import TimeGrid, VelocityBins

FIELDS = ("step", "pitch", "duration", "velocity")


@dataclass(frozen=True)
class NoteTupleConfig:
    step_grid: TimeGrid = field(default_factory=lambda: TimeGrid(start=0.0))
    duration_grid: TimeGrid = field(default_factory=lambda: TimeGrid(start=0.01))
    velocity_bins: VelocityBins = field(default_factory=VelocityBins)

    @property
    def vocab_sizes(self) -> tuple[int, int, int, int]:
        """Classes per field, in ``FIELDS`` order."""
        return (self.step_grid.size, 128, self.duration_grid.size, self.velocity_bins.n)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NoteTupleConfig":
        return cls(TimeGrid(**d["step_grid"]), TimeGrid(**d["duration_grid"]), VelocityBins(**d["velocity_bins"]))


def encode(notes: pd.DataFrame, config: NoteTupleConfig = NoteTupleConfig(), time_scale: float = 1.0) -> np.ndarray:
    """Notes (sorted by start) -> int64 array (n_notes, 4) of (step, pitch, duration, velocity) bins.

    ``time_scale`` stretches time before quantizing (augmentation). The first note's step
    is measured from t = 0.
    """
    start = notes["start"].to_numpy(dtype=np.float64) * time_scale
    duration = (notes["end"].to_numpy(dtype=np.float64) - notes["start"].to_numpy(dtype=np.float64)) * time_scale
    grid = config.step_grid
    values, edges = grid.values.tolist(), grid._edges.tolist()
    steps = np.empty(len(start), dtype=np.int64)
    t = 0.0
    # Sequential by nature (each step depends on the previous decoded start): plain floats and
    # bisect (same rule as np.searchsorted side="right"), about 5x faster than numpy per call.
    for i, s in enumerate(start.tolist()):
        k = bisect_right(edges, s - t)
        steps[i] = k
        t += values[k]
    out = np.empty((len(start), 4), dtype=np.int64)
    out[:, 0] = steps
    out[:, 1] = notes["pitch"].to_numpy()
    out[:, 2] = config.duration_grid.quantize(duration)
    out[:, 3] = config.velocity_bins.quantize(notes["velocity"].to_numpy())
    return out


def decode(tokens: np.ndarray, config: NoteTupleConfig = NoteTupleConfig(), start: float = 0.0) -> pd.DataFrame:
    """int array (n_notes, 4) -> notes dataframe; the first step counts from ``start`` (s)."""
    from pianogen.data.midi import notes_frame

    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1, 4)
    onsets = start + np.cumsum(config.step_grid.value(tokens[:, 0]))
    ends = onsets + config.duration_grid.value(tokens[:, 2])
    return notes_frame(tokens[:, 1], config.velocity_bins.value(tokens[:, 3]), onsets, ends)
