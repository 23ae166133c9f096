"""Performance events (Magenta's Performance RNN, Oore et al. 2018).

388 events: NOTE_ON (128 pitches), NOTE_OFF (128), TIME_SHIFT (100 shifts of 10 ms up to
1 s) and VELOCITY (32 bins). Times live on a 10 ms grid; a VELOCITY event precedes a
NOTE_ON only when the velocity bin changes. At equal times NOTE_OFFs come before NOTE_ONs,
so a re-struck key reads as release-then-strike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from pianogen.representations.grids import VelocityBins


@dataclass(frozen=True)
class PerformanceConfig:
    shift_seconds: float = 0.01  # one TIME_SHIFT step
    max_shift_steps: int = 100  # longest single shift: 100 x 10 ms = 1 s
    velocity_bins: VelocityBins = field(default_factory=VelocityBins)

    @property
    def note_on(self) -> int:
        return 0

    @property
    def note_off(self) -> int:
        return 128

    @property
    def time_shift(self) -> int:
        """Id of a 1-step shift; shift k steps is ``time_shift + k - 1``."""
        return 256

    @property
    def velocity(self) -> int:
        return 256 + self.max_shift_steps

    @property
    def vocab_size(self) -> int:
        return self.velocity + self.velocity_bins.n

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PerformanceConfig":
        return cls(d["shift_seconds"], d["max_shift_steps"], VelocityBins(**d["velocity_bins"]))


def encode(notes: pd.DataFrame, config: PerformanceConfig = PerformanceConfig(), time_scale: float = 1.0) -> np.ndarray:
    """Notes -> int64 event ids. Every note lasts at least one 10 ms step, so none is lost.

    ``time_scale`` stretches time before quantizing (augmentation).
    """
    q = config.shift_seconds
    pitch = notes["pitch"].to_numpy(dtype=np.int64)
    on = np.round(notes["start"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64)
    off = np.maximum(np.round(notes["end"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64), on + 1)
    vbin = config.velocity_bins.quantize(notes["velocity"].to_numpy())
    n = len(pitch)
    # Events sorted by (time, off before on, pitch).
    times = np.concatenate([off, on])
    kinds = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
    pitches = np.concatenate([pitch, pitch])
    vels = np.concatenate([np.full(n, -1), vbin])
    order = np.lexsort((pitches, kinds, times))
    out: list[int] = []
    now, current_vel = 0, -1
    for t, kind, p, v in zip(times[order].tolist(), kinds[order].tolist(), pitches[order].tolist(), vels[order].tolist()):
        gap = t - now
        while gap > 0:
            k = min(gap, config.max_shift_steps)
            out.append(config.time_shift + k - 1)
            gap -= k
        now = t
        if kind == 1:
            if v != current_vel:
                out.append(config.velocity + v)
                current_vel = v
            out.append(config.note_on + p)
        else:
            out.append(config.note_off + p)
    return np.asarray(out, dtype=np.int64)


def decode(events: np.ndarray, config: PerformanceConfig = PerformanceConfig(), start: float = 0.0, velocity: int = 64) -> pd.DataFrame:
    """Event ids -> notes dataframe. Times start at ``start`` (s); notes still open at the end
    close at the final time (at least one step after they began). ``velocity`` is used until
    the first VELOCITY event. A NOTE_ON for a sounding key closes the earlier note first;
    a NOTE_OFF for a silent key is ignored."""
    from pianogen.data.midi import notes_frame

    q = config.shift_seconds
    now = 0
    vel = int(velocity)
    open_notes: dict[int, tuple[int, int]] = {}
    rows: list[tuple[int, int, int, int]] = []
    for e in np.asarray(events, dtype=np.int64).tolist():
        if e < config.note_off:
            if e in open_notes:
                s, v = open_notes.pop(e)
                rows.append((e, v, s, now))
            open_notes[e] = (now, vel)
        elif e < config.time_shift:
            p = e - config.note_off
            if p in open_notes:
                s, v = open_notes.pop(p)
                rows.append((p, v, s, now))
        elif e < config.velocity:
            now += e - config.time_shift + 1
        else:
            vel = int(config.velocity_bins.value(e - config.velocity))
    for p, (s, v) in open_notes.items():
        rows.append((p, v, s, max(now, s + 1)))
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    return notes_frame(arr[:, 0], arr[:, 1], start + arr[:, 2] * q, start + arr[:, 3] * q)


def seconds(events: np.ndarray, config: PerformanceConfig = PerformanceConfig()) -> float:
    """Total time (s) the TIME_SHIFT events of a sequence add up to."""
    e = np.asarray(events)
    shifts = e[(e >= config.time_shift) & (e < config.velocity)]
    return float((shifts - config.time_shift + 1).sum() * config.shift_seconds)
