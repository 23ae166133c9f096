"""Multi-track binary pianorolls for MuseGAN: notes <-> (tracks, bars, steps, pitches).

Two time grids:

- **Clock time** (``steps_per_beat = 0``, the first MuseGAN's): MAESTRO is performed, not
  quantized, so steps are fixed spans of time: by default 16 steps per second (62.5 ms, a
  sixteenth note at 60 bpm, or a thirty-second at 120 bpm), a "bar" of 2 s (32 steps) and 4 bars
  per sample (8 s). Such a "bar" is a fixed span of time, not a notated measure.
- **Musical time** (``steps_per_beat > 0``): each performance is mapped onto its own annotated
  beats (:mod:`pianogen.representations.beat_time`, beats from :mod:`pianogen.data.beats`), each
  beat split into ``steps_per_beat`` steps (12: sixteenths and triplet eighths both land on the
  grid), and a bar is ``beats_per_bar`` beats, starting at an annotated downbeat: the composer's
  bar in the performer's time. Notes are then placed in beats, not seconds; decoding plays them
  in strict time at ``tempo_bpm`` (the training corpus' median tempo) or along given beat times.

Either way the bar is the unit the MuseGAN generator builds, one latent per bar. Pitches are
the 88 piano keys, MIDI 21 (A0) to 108 (C8).

A pianoroll is binary (1 = the key sounds); a *velocity roll* holds instead each sounding
step's note velocity (MIDI 1-127; 0 = silent), so ``roll > 0`` is the binary roll. A note occupies steps [onset, offset); so that
repeated strikes of one key stay separate notes, a note is cut one step before the next
onset of the same key in the same track. Two onsets of one key in adjacent steps (faster
than 16 per second) cannot be told apart at this resolution.

Track split strategies (``split``): ``voices`` (3 tracks: melody = the highest sounding key
at the note's onset, bass = the lowest, inner = the rest; a lone note is melody),
``hands`` (2 tracks by register: left below ``hand_split``, right from it up) and
``single`` (1 track). Notes are assigned whole, at their onset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

TRACK_NAMES = {"voices": ("melody", "inner", "bass"), "hands": ("right", "left"), "single": ("piano",)}


@dataclass(frozen=True)
class PianorollConfig:
    steps_per_second: int = 16
    bar_seconds: float = 2.0
    n_bars: int = 4
    low: int = 21  # lowest MIDI pitch (A0)
    high: int = 108  # highest MIDI pitch (C8)
    split: str = "voices"
    hand_split: int = 60  # hands: pitches below go to the left hand
    velocity: int = 80  # velocity of notes decoded from a binary roll (no velocity roll given)
    steps_per_beat: int = 0  # > 0: musical time, each annotated beat split into this many steps; 0: clock time
    beats_per_bar: int = 4  # musical time: beats in a bar; only bars with this many annotated beats are used
    tempo_bpm: float = 0.0  # musical time: strict-time playback tempo in beats per minute (the corpus' median once trained)

    def __post_init__(self):
        if self.split not in TRACK_NAMES:
            raise ValueError(f"unknown track split {self.split!r}; choose from {sorted(TRACK_NAMES)}")
        if self.steps_per_beat < 0 or self.beats_per_bar < 1:
            raise ValueError("steps_per_beat must be 0 (clock time) or positive, beats_per_bar at least 1")

    @property
    def musical_time(self) -> bool:
        """True when steps are fractions of annotated beats, not of seconds."""
        return self.steps_per_beat > 0

    @property
    def steps_per_unit(self) -> int:
        """Steps per unit of the notes a roll encodes: per beat in musical time, else per second."""
        return self.steps_per_beat if self.musical_time else self.steps_per_second

    @property
    def steps_per_bar(self) -> int:
        if self.musical_time:
            return self.steps_per_beat * self.beats_per_bar
        return int(round(self.steps_per_second * self.bar_seconds))

    def playback_bpm(self, bpm: float | None = None) -> float:
        """The strict-time tempo decoding uses: ``bpm`` if given, else the recorded one (120 if
        none was recorded). Clock time has no tempo: 60 (one "beat" per second)."""
        if not self.musical_time:
            return 60.0
        return float(bpm or self.tempo_bpm or 120.0)

    def seconds_per_step(self, bpm: float | None = None) -> float:
        """Length of one step in seconds (musical time: in strict time at ``bpm``)."""
        if self.musical_time:
            return 60.0 / self.playback_bpm(bpm) / self.steps_per_beat
        return 1.0 / self.steps_per_second

    def seconds_per_bar(self, bpm: float | None = None) -> float:
        return self.steps_per_bar * self.seconds_per_step(bpm)

    @property
    def qn_steps(self) -> int:
        """MuseGAN's "qualified note" threshold in this grid's steps: the paper's 3 steps of a
        24-per-beat grid (a 32nd note) in musical time, 3 steps in clock time."""
        return max(1, -(-self.steps_per_beat // 8)) if self.musical_time else 3

    @property
    def n_pitches(self) -> int:
        return self.high - self.low + 1

    @property
    def tracks(self) -> tuple[str, ...]:
        return TRACK_NAMES[self.split]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(tracks, bars, steps per bar, pitches) of one sample."""
        return (len(self.tracks), self.n_bars, self.steps_per_bar, self.n_pitches)

    def to_dict(self) -> dict:
        return asdict(self)


def _grid(notes: pd.DataFrame, cfg: PianorollConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pitch, onset step, offset step) with at least one step per note; note times in seconds,
    or in beats in musical time."""
    on = np.round(notes["start"].to_numpy(dtype=np.float64) * cfg.steps_per_unit).astype(np.int64)
    off = np.round(notes["end"].to_numpy(dtype=np.float64) * cfg.steps_per_unit).astype(np.int64)
    return notes["pitch"].to_numpy(dtype=np.int64), on, np.maximum(off, on + 1)


def assign_tracks(notes: pd.DataFrame, cfg: PianorollConfig) -> np.ndarray:
    """Track index (into ``cfg.tracks``) of every note, by the config's split strategy."""
    pitch, on, off = _grid(notes, cfg)
    if cfg.split == "single" or len(pitch) == 0:
        return np.zeros(len(pitch), dtype=np.int64)
    if cfg.split == "hands":
        return (pitch < cfg.hand_split).astype(np.int64)  # 0 = right, 1 = left
    # voices: highest/lowest key sounding at each onset step.
    n_steps = int(off.max())
    highest = np.full(n_steps, -1)
    lowest = np.full(n_steps, 999)
    # Sweep notes by pitch: a note covering [on, off) raises/lowers the per-step extremes.
    order = np.argsort(pitch, kind="stable")
    for p, a, b in zip(pitch[order].tolist(), on[order].tolist(), off[order].tolist()):
        highest[a:b] = p  # ascending pitch: the last writer is the highest
    for p, a, b in zip(pitch[order][::-1].tolist(), on[order][::-1].tolist(), off[order][::-1].tolist()):
        lowest[a:b] = p
    track = np.ones(len(pitch), dtype=np.int64)  # inner
    track[pitch == lowest[on]] = 2  # bass
    track[pitch == highest[on]] = 0  # melody (wins for a lone note)
    return track


def notes_to_roll(notes: pd.DataFrame, cfg: PianorollConfig, tracks: np.ndarray | None = None, n_steps: int | None = None,
                  velocity: bool = False) -> np.ndarray:
    """Binary roll (tracks, steps, pitches) of a whole piece; steps from t = 0 (note times in
    seconds, or in beats in musical time: see :func:`notes_to_beat_roll`). With ``velocity``, a
    uint8 velocity roll instead: each note's MIDI velocity on its steps.

    ``tracks`` gives each note's track (default: :func:`assign_tracks`). Notes outside
    [low, high] or before step 0 are left out. ``n_steps`` defaults to the last offset.
    """
    pitch, on, off = _grid(notes, cfg)
    vel = np.clip(notes["velocity"].to_numpy(dtype=np.int64), 1, 127)
    tracks = assign_tracks(notes, cfg) if tracks is None else np.asarray(tracks, dtype=np.int64)
    keep = (pitch >= cfg.low) & (pitch <= cfg.high) & (on >= 0)
    pitch, on, off, tracks, vel = pitch[keep], on[keep], off[keep], tracks[keep], vel[keep]
    # Cut each note one step before the next onset of the same key in the same track.
    order = np.lexsort((on, pitch, tracks))
    same = (pitch[order][1:] == pitch[order][:-1]) & (tracks[order][1:] == tracks[order][:-1])
    nxt = np.full(len(order), np.iinfo(np.int64).max)
    nxt[:-1][same] = on[order][1:][same] - 1
    cut = np.empty_like(off)
    cut[order] = np.minimum(off[order], np.maximum(nxt, on[order] + 1))
    total = int(n_steps if n_steps is not None else (cut.max() if len(cut) else 0))
    roll = np.zeros((len(cfg.tracks), total, cfg.n_pitches), dtype=np.uint8 if velocity else bool)
    values = vel.tolist() if velocity else [True] * len(pitch)
    for t, p, a, b, v in zip(tracks.tolist(), (pitch - cfg.low).tolist(), on.tolist(), cut.tolist(), values):
        if a < total:
            roll[t, a : min(b, total), p] = v
    return roll


def notes_to_beat_roll(notes: pd.DataFrame, beat_times: np.ndarray, cfg: PianorollConfig, velocity: bool = False) -> np.ndarray:
    """Musical time: a performance's notes (seconds) -> roll (tracks, steps, pitches) on its own
    beats, step 0 = the first beat time, ``cfg.steps_per_beat`` steps per beat interval, as many
    steps as the beat times span. Notes before the first beat are left out; tracks are assigned
    on the beat grid."""
    from pianogen.representations.beat_time import retime, seconds_to_beats

    if not cfg.musical_time:
        raise ValueError("notes_to_beat_roll needs a musical-time config (steps_per_beat > 0)")
    in_beats = retime(notes, seconds_to_beats, beat_times)
    in_beats = in_beats[in_beats["start"] * cfg.steps_per_beat >= -0.5].reset_index(drop=True)
    return notes_to_roll(in_beats, cfg, n_steps=(len(beat_times) - 1) * cfg.steps_per_beat, velocity=velocity)


def _runs(roll: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of on-steps in a bool roll (rows, steps, pitches): (row, key index, first step,
    step after the last), sorted by (row, key, first step)."""
    edges = np.diff(np.pad(roll, ((0, 0), (1, 1), (0, 0))).astype(np.int8), axis=1)
    t_on, s_on, p_on = np.nonzero(edges == 1)
    t_off, s_off, p_off = np.nonzero(edges == -1)
    # nonzero walks (row, step, key); re-sort both by (row, key, step) to pair runs.
    a, b = np.lexsort((s_on, p_on, t_on)), np.lexsort((s_off, p_off, t_off))
    return t_on[a], p_on[a], s_on[a], s_off[b]


def _run_means(values: np.ndarray, row, key, on, off) -> np.ndarray:
    """Mean of ``values`` (rows, steps, pitches) over each run, from cumulative sums along time:
    (sum up to off - sum up to on) / length."""
    cs = np.pad(np.cumsum(values, axis=1), ((0, 0), (1, 0), (0, 0)))
    return (cs[row, off, key] - cs[row, on, key]) / np.maximum(off - on, 1)


def note_velocities(roll: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """The velocity (the roll's unit, e.g. [0, 1]) each note of rolls (..., bars, steps/bar,
    pitches) plays at when decoded: the mean of ``velocity`` over the note's steps, as
    :func:`roll_to_notes` decodes it. Time runs on across bar lines, as in :func:`onsets`."""
    r = np.asarray(roll).astype(bool)
    flat = r.reshape(-1, r.shape[-3] * r.shape[-2], r.shape[-1])
    row, key, on, off = _runs(flat)
    return _run_means(np.asarray(velocity, dtype=np.float64).reshape(flat.shape), row, key, on, off)


def roll_to_notes(roll: np.ndarray, cfg: PianorollConfig, start: float = 0.0, velocity: np.ndarray | None = None,
                  bpm: float | None = None, beat_times: np.ndarray | None = None) -> pd.DataFrame:
    """Notes of a roll (tracks, steps, pitches) or (tracks, bars, steps/bar, pitches), with a
    ``track`` column (index into ``cfg.tracks``); each run of 1s in a key is one note. Times in
    seconds from ``start``.

    ``velocity``: a roll of the same shape in [0, 1] (MIDI velocity / 127); each note plays at
    its mean over the note's steps. Without it every note plays at ``cfg.velocity``.
    Musical time plays in strict time at ``bpm`` (default :meth:`PianorollConfig.playback_bpm`),
    or, given ``beat_times`` (seconds of beats 0, 1, ...: a real crop's own beats), in that time.
    """
    from pianogen.data.midi import notes_frame

    roll = np.asarray(roll).astype(bool)
    if roll.ndim == 4:
        roll = roll.reshape(roll.shape[0], -1, roll.shape[-1])
    track, key, on, off = _runs(roll)
    pitch = key + cfg.low
    vel = np.full(len(pitch), cfg.velocity)
    if velocity is not None:
        mean = _run_means(np.asarray(velocity, dtype=np.float64).reshape(roll.shape), track, key, on, off)
        vel = np.clip(np.round(mean * 127), 1, 127).astype(np.int64)
    if cfg.musical_time and beat_times is not None:
        from pianogen.representations.beat_time import beats_to_seconds

        t_on = start + beats_to_seconds(on / cfg.steps_per_beat, beat_times) - beat_times[0]
        t_off = start + beats_to_seconds(off / cfg.steps_per_beat, beat_times) - beat_times[0]
    else:
        step = cfg.seconds_per_step(bpm)
        t_on, t_off = start + on * step, start + off * step
    df = notes_frame(pitch, vel, t_on, t_off)
    # notes_frame sorts by (start, pitch); carry the track along the same order.
    order = np.lexsort((pitch, on))
    df["track"] = track[order]
    return df


def to_bars(roll: np.ndarray, cfg: PianorollConfig) -> np.ndarray:
    """(tracks, steps, pitches) -> (tracks, bars, steps/bar, pitches); pads the last bar."""
    spb = cfg.steps_per_bar
    n_bars = -(-roll.shape[1] // spb)
    padded = np.zeros((roll.shape[0], n_bars * spb, roll.shape[2]), dtype=roll.dtype)
    padded[:, : roll.shape[1]] = roll
    return padded.reshape(roll.shape[0], n_bars, spb, roll.shape[2])


def onsets(roll: np.ndarray) -> np.ndarray:
    """Where notes start: (..., bars, steps/bar, pitches) bool -> same shape, True at a key's
    first step after a silent one. Time runs on across bar lines (a note held over a bar line
    has one onset). Exact for rolls from :func:`encode`, which keeps a silent step between
    two notes of one key."""
    r = np.asarray(roll).astype(bool)
    flat = r.reshape(*r.shape[:-3], -1, r.shape[-1])
    prev = np.zeros_like(flat)
    prev[..., 1:, :] = flat[..., :-1, :]
    return (flat & ~prev).reshape(r.shape)


def note_lengths(roll: np.ndarray) -> np.ndarray:
    """Lengths in steps of every note (a run of on-steps of one key) in rolls (..., bars,
    steps/bar, pitches): time runs on across bar lines, as in :func:`onsets`; a note still
    sounding at a passage's end is cut there."""
    r = np.asarray(roll).astype(bool)
    _, _, on, off = _runs(r.reshape(-1, r.shape[-3] * r.shape[-2], r.shape[-1]))
    return (off - on).astype(np.int64)


def frames_from_onsets(frames: np.ndarray, onset_roll: np.ndarray) -> np.ndarray:
    """Onsets-and-Frames decoding: binary frame and onset rolls (..., bars, steps/bar, pitches)
    -> a frame roll in which every note starts at an onset. A note starts where both are on and
    lasts while its key's frames stay on; frames switched on without an onset are dropped (the
    fragments a thresholded generator scatters), and an onset inside a held note starts a new
    note (the held one ends a step early, as :func:`notes_to_roll` cuts re-struck keys)."""
    f = np.asarray(frames).astype(bool)
    o = np.asarray(onset_roll).astype(bool)
    shape = f.shape
    f = f.reshape(*shape[:-3], -1, shape[-1])
    o = o.reshape(f.shape)
    out = np.zeros_like(f)
    active = np.zeros(f[..., 0, :].shape, dtype=bool)
    begin = np.full(active.shape, -1)  # step at which each key's sounding note began
    for s in range(f.shape[-2]):
        start = o[..., s, :] & f[..., s, :]
        # A re-strike: end the held note a step early, unless that would erase it (then the
        # two merge: the roll cannot hold two touching notes of one key).
        restrike = start & active & (begin < s - 1)
        if s > 0:
            out[..., s - 1, :] &= ~restrike
        start &= ~active | restrike
        begin = np.where(start, s, begin)
        active = start | (active & f[..., s, :])
        out[..., s, :] = active
    return out.reshape(shape)


def binarize(probs: np.ndarray, n_tracks: int, threshold: float = 0.5) -> np.ndarray:
    """A generator's output (samples, channels, bars, steps/bar, pitches) -> binary frame rolls
    (samples, n_tracks, ...). With 2 x ``n_tracks`` channels (frames, then onsets, per track),
    notes start only at onsets (:func:`frames_from_onsets`); otherwise a plain threshold."""
    on = np.asarray(probs) > threshold
    if on.shape[1] == n_tracks:
        return on
    if on.shape[1] != 2 * n_tracks:
        raise ValueError(f"{on.shape[1]} channels for {n_tracks} tracks: expected {n_tracks} or {2 * n_tracks}")
    return frames_from_onsets(on[:, :n_tracks], on[:, n_tracks:])


def encode(notes: pd.DataFrame, cfg: PianorollConfig = PianorollConfig(), velocity: bool = False,
           beat_times: np.ndarray | None = None) -> np.ndarray:
    """Notes (seconds) -> (tracks, bars, steps/bar, pitches) bool roll of the whole piece (with
    ``velocity``: a uint8 velocity roll, see :func:`notes_to_roll`). Musical time needs the
    performance's ``beat_times`` (seconds); its bars then start at the first of them."""
    if cfg.musical_time:
        if beat_times is None:
            raise ValueError("a musical-time pianoroll needs the performance's beat times")
        return to_bars(notes_to_beat_roll(notes, beat_times, cfg, velocity), cfg)
    return to_bars(notes_to_roll(notes, cfg, velocity=velocity), cfg)


def decode(roll: np.ndarray, cfg: PianorollConfig = PianorollConfig(), start: float = 0.0, bpm: float | None = None,
           beat_times: np.ndarray | None = None) -> pd.DataFrame:
    """(tracks, bars, steps/bar, pitches) roll -> notes with a ``track`` column. A velocity
    roll (uint8, from ``encode(..., velocity=True)``) gives each note its velocity back. Musical
    time: in strict time at ``bpm``, or along ``beat_times`` (see :func:`roll_to_notes`)."""
    roll = np.asarray(roll)
    velocity = roll / 127.0 if roll.dtype == np.uint8 else None
    return roll_to_notes(roll > 0, cfg, start, velocity, bpm, beat_times)
