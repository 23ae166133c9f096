"""One interface over the sequence representations, for training and sampling.

A codec turns a notes dataframe into a token array whose first row/element is a
"start of piece" token (BOS), transposes token arrays, and decodes back. Note tuples are
(n, 4) int arrays; performance events are (n,) int arrays; performance events with a density
control are (n, 2) int arrays (event, density bin).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pianogen.representations import note_tuples, performance
from pianogen.representations.controls import DensityConfig, note_density

PIANO_LOW, PIANO_HIGH = 21, 108  # A0..C8, the 88 keys


class NoteTupleCodec:
    name = "note-tuples"

    def __init__(self, config: note_tuples.NoteTupleConfig | None = None):
        self.config = config or note_tuples.NoteTupleConfig()
        self.bos = np.array(self.config.vocab_sizes, dtype=np.int64)

    def encode(self, notes: pd.DataFrame, time_scale: float = 1.0) -> np.ndarray:
        return np.concatenate([self.bos[None], note_tuples.encode(notes, self.config, time_scale)])

    def decode(self, tokens: np.ndarray, start: float = 0.0) -> pd.DataFrame:
        tokens = np.asarray(tokens).reshape(-1, 4)
        return note_tuples.decode(tokens[(tokens != self.bos).all(axis=1)], self.config, start)

    def token_seconds(self, tokens: np.ndarray) -> np.ndarray:
        """Onset (s from the piece's start) of each token's note; the BOS row is at 0."""
        steps = np.asarray(tokens)[:, 0]
        real = steps < len(self.config.step_grid.values)
        return np.cumsum(np.where(real, self.config.step_grid.values[np.where(real, steps, 0)], 0.0))

    def pitch_range(self, tokens: np.ndarray) -> tuple[int, int]:
        p = tokens[:, 1][tokens[:, 1] < 128]
        return (int(p.min()), int(p.max())) if len(p) else (60, 60)

    def transpose(self, tokens: np.ndarray, k: int) -> np.ndarray:
        out = tokens.copy()
        real = out[:, 1] < 128
        out[real, 1] += k
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "config": self.config.to_dict()}


class PerformanceCodec:
    name = "performance"

    def __init__(self, config: performance.PerformanceConfig | None = None):
        self.config = config or performance.PerformanceConfig()
        self.bos = np.int64(self.config.vocab_size)

    def encode(self, notes: pd.DataFrame, time_scale: float = 1.0) -> np.ndarray:
        return np.concatenate([[self.bos], performance.encode(notes, self.config, time_scale)])

    def decode(self, tokens: np.ndarray, start: float = 0.0, velocity: int = 64, max_note_seconds: float | None = None,
               cut_restrikes: bool = False) -> pd.DataFrame:
        tokens = np.asarray(tokens)
        return performance.decode(tokens[tokens != self.bos], self.config, start, velocity, max_note_seconds, cut_restrikes)

    def events(self, tokens: np.ndarray) -> np.ndarray:
        """The event ids of a token array (these tokens are nothing but events)."""
        return np.asarray(tokens)

    def token_seconds(self, tokens: np.ndarray) -> np.ndarray:
        """Time (s from the piece's start) at which each token happens: the sum of the
        TIME_SHIFTs before it (a TIME_SHIFT itself happens where it starts)."""
        e, c = self.events(tokens), self.config
        shift = np.where((e >= c.time_shift) & (e < c.velocity), e - c.time_shift + 1, 0) * c.shift_seconds
        return np.concatenate([[0.0], np.cumsum(shift)[:-1]])

    def pitch_range(self, tokens: np.ndarray) -> tuple[int, int]:
        p = tokens[tokens < self.config.time_shift] % 128
        return (int(p.min()), int(p.max())) if len(p) else (60, 60)

    def transpose(self, tokens: np.ndarray, k: int) -> np.ndarray:
        out = tokens.copy()
        out[out < self.config.time_shift] += k  # NOTE_ON and NOTE_OFF ids shift together
        return out

    def to_dict(self) -> dict:
        return {"name": self.name, "config": self.config.to_dict()}


class DensityControlCodec(PerformanceCodec):
    """Performance events with Magenta's note-density control beside each event: (n, 2) int
    arrays, column 0 the event (BOS first), column 1 the density bin of the window starting at
    that event (:mod:`pianogen.representations.controls`). Decoding reads column 0, and also
    takes bare (n,) events, which is what a sampler generates."""

    name = "performance+density"

    def __init__(self, config: performance.PerformanceConfig | None = None, density: DensityConfig | None = None):
        super().__init__(config)
        self.density = density or DensityConfig()

    def encode(self, notes: pd.DataFrame, time_scale: float = 1.0) -> np.ndarray:
        events = super().encode(notes, time_scale)
        bins = self.density.bin(note_density(events, self.config, self.density.window_seconds))
        return np.stack([events, bins], axis=1)

    def events(self, tokens: np.ndarray) -> np.ndarray:
        """Column 0 of (n, 2) tokens; bare (n,) events pass through."""
        tokens = np.asarray(tokens)
        return tokens[:, 0] if tokens.ndim == 2 else tokens

    def decode(self, tokens: np.ndarray, *args, **kwargs) -> pd.DataFrame:
        return super().decode(self.events(tokens), *args, **kwargs)

    def pitch_range(self, tokens: np.ndarray) -> tuple[int, int]:
        return super().pitch_range(self.events(tokens))

    def transpose(self, tokens: np.ndarray, k: int) -> np.ndarray:
        out = tokens.copy()
        out[:, 0] = super().transpose(tokens[:, 0], k)  # density does not depend on pitch
        return out

    def to_dict(self) -> dict:
        return {**super().to_dict(), "density": self.density.to_dict()}


def codec_from_dict(d: dict):
    if d["name"] == NoteTupleCodec.name:
        return NoteTupleCodec(note_tuples.NoteTupleConfig.from_dict(d["config"]))
    if d["name"] == PerformanceCodec.name:
        return PerformanceCodec(performance.PerformanceConfig.from_dict(d["config"]))
    if d["name"] == DensityControlCodec.name:
        return DensityControlCodec(performance.PerformanceConfig.from_dict(d["config"]), DensityConfig.from_dict(d["density"]))
    raise ValueError(f"unknown representation {d['name']!r}")


CODEC_FOR_MODEL = {"note-rnn": NoteTupleCodec, "perf-rnn": PerformanceCodec, "transformer": PerformanceCodec, "note-transformer": NoteTupleCodec}
