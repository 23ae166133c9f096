"""Control signals over performance events: note density (Magenta's Performance RNN).

A density-conditioned model sees, next to each event, how busy the music is about to be:
the number of NOTE_ONs in the ``window_seconds`` starting at that event's time, per second,
quantized into bins. At sampling time the user's target density takes that place, so the
model plays at the asked-for rate because it learned what each bin sounds like (Oore et al.
2018; Magenta's ``NoteDensityPerformanceControlSignal``, whose definition this follows,
including its end-of-piece rule: near the end only the part of the window that exists counts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pianogen.representations.performance import PerformanceConfig

#: Bin edges in notes per second, a factor sqrt(2) apart from 1 to 32 (12 bins): finer than
#: Magenta's octave-spaced (1, 2, 4, ..., 64), so a target of 10 notes/s is not read as 8-16.
DEFAULT_EDGES = tuple(float(round(2 ** (k / 2), 2)) for k in range(11))


@dataclass(frozen=True)
class DensityConfig:
    window_seconds: float = 3.0  # Magenta's window
    edges: tuple[float, ...] = DEFAULT_EDGES  # notes per second; bin i covers [edges[i-1], edges[i])

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1

    def bin(self, notes_per_second) -> np.ndarray:
        """Density (notes/s) -> bin index in 0..n_bins-1."""
        return np.digitize(np.asarray(notes_per_second, dtype=np.float64), self.edges)

    def centre(self, b: int) -> float:
        """The density a bin stands for (notes/s): the geometric middle of its edges; the
        open-ended outer bins are taken as wide as their neighbours."""
        e = self.edges
        if b <= 0:
            return e[0] / np.sqrt(e[1] / e[0])
        if b >= len(e):
            return e[-1] * np.sqrt(e[-1] / e[-2])
        return float(np.sqrt(e[b - 1] * e[b]))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DensityConfig":
        return cls(float(d["window_seconds"]), tuple(float(x) for x in d["edges"]))


def note_density(events: np.ndarray, config: PerformanceConfig = PerformanceConfig(), window_seconds: float = 3.0) -> np.ndarray:
    """Notes per second in the window starting at each event's time: float64, one per event.

    An event's time is the sum of the TIME_SHIFTs before it. The window [t, t + window) is cut
    at the end of the sequence (its last TIME_SHIFT), and an event with no time left after it
    gets 0, as in Magenta.
    """
    e = np.asarray(events, dtype=np.int64)
    shift = np.where((e >= config.time_shift) & (e < config.velocity), e - config.time_shift + 1, 0)
    t = np.cumsum(shift) - shift  # steps before each event
    onsets = t[e < config.note_off]  # NOTE_ON ids are 0..127 (sorted: times never decrease)
    w = int(round(window_seconds / config.shift_seconds))
    count = np.searchsorted(onsets, t + w, "left") - np.searchsorted(onsets, t, "left")
    span = np.minimum(w, int(shift.sum()) - t)
    return np.where(span > 0, count / np.maximum(span, 1) / config.shift_seconds, 0.0)
