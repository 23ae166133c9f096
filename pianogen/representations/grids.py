"""Quantization grids shared by the representations: times (seconds) and velocities."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class TimeGrid:
    """Categorical bins for a time value in seconds.

    Fine linear bins of ``fine_step`` from ``start`` up to ``fine_max`` (e.g. 10 ms up to
    1 s, where most steps and durations lie and small errors are audible), then
    ``n_coarse`` log-spaced bins up to ``coarse_max`` (a 9% relative error on a 3 s
    note is far less audible than 30 ms on a grace note). Values past ``coarse_max``
    fall in the last bin.
    """

    start: float = 0.0
    fine_step: float = 0.01
    fine_max: float = 1.0
    coarse_max: float = 8.0
    n_coarse: int = 24

    @cached_property
    def values(self) -> np.ndarray:
        """Bin centres in seconds, increasing."""
        n_fine = int(round((self.fine_max - self.start) / self.fine_step)) + 1
        fine = self.start + self.fine_step * np.arange(n_fine)
        coarse = np.geomspace(self.fine_max, self.coarse_max, self.n_coarse + 1)[1:]
        return np.concatenate([fine, coarse])

    @cached_property
    def _edges(self) -> np.ndarray:
        v = self.values
        mid = (v[1:] + v[:-1]) / 2
        log_region = v[1:] > self.fine_max + 1e-9
        mid[log_region] = np.sqrt(v[1:][log_region] * v[:-1][log_region])  # geometric midpoints
        return mid

    @property
    def size(self) -> int:
        return len(self.values)

    def quantize(self, seconds: np.ndarray | float) -> np.ndarray:
        """Index of the bin nearest to each value (seconds)."""
        return np.searchsorted(self._edges, np.asarray(seconds, dtype=np.float64), side="right")

    def value(self, index: np.ndarray | int) -> np.ndarray:
        """Seconds at the centre of each bin index."""
        return self.values[np.asarray(index)]

    @cached_property
    def half_width(self) -> np.ndarray:
        """Per bin, the largest distance (s) from its centre to a value that falls in it
        (the last bin also takes everything past ``coarse_max``: see ``clipped``)."""
        v = self.values
        lo = np.concatenate([v[:1], self._edges])
        hi = np.concatenate([self._edges, v[-1:]])
        return np.maximum(v - lo, hi - v)

    def clipped(self, seconds: np.ndarray | float) -> np.ndarray:
        """True where a value lies past the last bin centre (quantized to ``coarse_max``)."""
        return np.asarray(seconds) > self.values[-1]


@dataclass(frozen=True)
class VelocityBins:
    """MIDI velocity 1-127 in ``n`` equal bins (Performance RNN uses 32 bins of 4)."""

    n: int = 32

    @property
    def width(self) -> int:
        return int(np.ceil(127 / self.n))

    def quantize(self, velocity: np.ndarray | int) -> np.ndarray:
        v = np.clip(np.asarray(velocity, dtype=np.int64), 1, 127)
        return (v - 1) // self.width

    def value(self, index: np.ndarray | int) -> np.ndarray:
        """Velocity at the middle of each bin (within width/2 of every velocity in it)."""
        return np.clip(np.asarray(index, dtype=np.int64) * self.width + 1 + self.width // 2, 1, 127)
