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

    ``time_scale`` stretches time before quantizing (augmentation). Vectorized: a whole
    corpus (millions of events) encodes in seconds, once per stretch factor.
    """
    q, m = config.shift_seconds, config.max_shift_steps
    pitch = notes["pitch"].to_numpy(dtype=np.int64)
    on = np.round(notes["start"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64)
    off = np.maximum(np.round(notes["end"].to_numpy(dtype=np.float64) * time_scale / q).astype(np.int64), on + 1)
    vbin = config.velocity_bins.quantize(notes["velocity"].to_numpy()).astype(np.int64)
    n = len(pitch)
    # Events sorted by (time, off before on, pitch).
    times = np.concatenate([off, on])
    is_on = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
    pitches = np.concatenate([pitch, pitch])
    vels = np.concatenate([np.full(n, -1, np.int64), vbin])
    order = np.lexsort((pitches, is_on, times))
    times, is_on, pitches, vels = times[order], is_on[order], pitches[order], vels[order]
    # Per event: TIME_SHIFTs for the gap (full 1 s shifts, then the remainder), a VELOCITY
    # event if this NOTE_ON's bin differs from the previous NOTE_ON's, then the note event.
    gaps = np.diff(times, prepend=0)
    n_full, rem = gaps // m, gaps % m
    n_shift = n_full + (rem > 0)
    on_vels = vels[is_on]
    vel_change = np.zeros(len(times), bool)
    vel_change[is_on] = on_vels != np.concatenate([[-1], on_vels[:-1]])
    counts = n_shift + vel_change + 1
    block_end = np.cumsum(counts)
    block = block_end - counts
    out = np.empty(int(block_end[-1]) if len(times) else 0, dtype=np.int64)
    full_pos = np.repeat(block, n_full) + (np.arange(int(n_full.sum())) - np.repeat(np.cumsum(n_full) - n_full, n_full))
    out[full_pos] = config.time_shift + m - 1
    has_rem = rem > 0
    out[(block + n_full)[has_rem]] = config.time_shift + rem[has_rem] - 1
    out[(block + n_shift)[vel_change]] = config.velocity + vels[vel_change]
    out[block_end - 1] = np.where(is_on, config.note_on, config.note_off) + pitches
    return out


def decode(events: np.ndarray, config: PerformanceConfig = PerformanceConfig(), start: float = 0.0, velocity: int = 64,
           max_note_seconds: float | None = None, cut_restrikes: bool = False) -> pd.DataFrame:
    """Event ids -> notes dataframe; times start at ``start`` (s), ``velocity`` holds until the
    first VELOCITY event.

    Policy (Magenta's ``Performance.to_sequence``): every NOTE_ON opens a note, even on a key
    that is already sounding, and a NOTE_OFF closes the *earliest* open note of its pitch, so
    overlapping strikes of one key keep their own lengths. A NOTE_OFF for a silent key is
    ignored. No note has zero length: one closed in the step it began lasts one step (10 ms).
    A note that is never released closes when the events end.

    For generated events (the defaults leave real encodings' round trip untouched):
    ``max_note_seconds`` ends every note at most that long after its onset (Magenta's
    ``max_note_duration``, 5 s in its generator), so a key the model forgets to release
    does not ring for the rest of the piece; ``cut_restrikes`` ends a sounding note where
    its key is struck again (a second strike in the note's own step is dropped), so a key
    holds one note at a time, as a piano damps the string and as prepared data already does for pedalled
    notes (MIDI cannot tell two overlapping notes of one key apart anyway).
    """
    from collections import defaultdict, deque

    from pianogen.data.midi import notes_frame

    now = 0
    vel = int(velocity)
    open_notes: dict[int, deque] = defaultdict(deque)
    rows: list[tuple[int, int, int, int]] = []
    note_off, time_shift, vel0 = config.note_off, config.time_shift, config.velocity
    for e in np.asarray(events, dtype=np.int64).tolist():
        if e < note_off:
            if cut_restrikes:
                if any(s == now for s, _ in open_notes[e]):
                    continue  # struck again in the same step: one strike (two would overlap)
                rows.extend((e, v, s, now) for s, v in open_notes[e])
                open_notes[e].clear()
            open_notes[e].append((now, vel))
        elif e < time_shift:
            queue = open_notes.get(e - note_off)
            if queue:
                s, v = queue.popleft()
                rows.append((e - note_off, v, s, max(now, s + 1)))
        elif e < vel0:
            now += e - time_shift + 1
        else:
            vel = int(config.velocity_bins.value(e - vel0))
    for p, queue in open_notes.items():
        rows.extend((p, v, s, max(now, s + 1)) for s, v in queue)
    arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
    if max_note_seconds is not None:
        arr[:, 3] = np.minimum(arr[:, 3], arr[:, 2] + max(1, int(round(max_note_seconds / config.shift_seconds))))
    q = config.shift_seconds
    return notes_frame(arr[:, 0], arr[:, 1], start + arr[:, 2] * q, start + arr[:, 3] * q)


def seconds(events: np.ndarray, config: PerformanceConfig = PerformanceConfig()) -> float:
    """Total time (s) the TIME_SHIFT events of a sequence add up to."""
    e = np.asarray(events)
    shifts = e[(e >= config.time_shift) & (e < config.velocity)]
    return float((shifts - config.time_shift + 1).sum() * config.shift_seconds)
