"""MuseGAN's metrics (Dong et al., AAAI 2018), per track, on binary pianorolls.

Input rolls have shape (samples, tracks, bars, steps per bar, pitches); ``low`` is the
MIDI pitch of pitch index 0 (for pitch classes).

- EB: ratio of empty bars.
- UPC: number of used pitch classes per bar (0-12), averaged over non-empty bars (so it
  does not double-count what EB measures).
- QN: ratio of "qualified" notes, at least ``min_steps`` (3) time steps long; a note is a
  run of active steps of one key. The paper's 3 steps are a 32nd note on a 24-steps-per-beat
  grid; on pianogen's 16-steps-per-second grid 3 steps are 187.5 ms, longer than many real
  key presses (pianists lift keys early and hold the sound with the pedal), so real
  performances score only 0.45-0.7: here QN measures articulation, read it against real music.
- SN (pianogen's, not the paper's): share of one-step notes (62.5 ms, the grid's shortest),
  the fragments a thresholded generator scatters. A 32nd note at performance tempi (60-160
  bpm: 47-125 ms) is one or two steps on this grid, so the paper's fragment is below its
  resolution; SN and notes per second measure fragmentation directly (real music: about 0.3).
  In musical time (12 steps per beat) the paper's threshold means a 32nd note again: 2 steps
  (1/6 beat, the shortest whole number of steps not below 1/8 beat).
- VM, VS (pianogen's, with a velocity roll): mean and spread of the decoded notes' velocities.
- KS (pianogen's, for a key-conditioned model): share of notes (onsets, all tracks) whose
  pitch class lies in the scale of each sample's key (asked for, or annotated for real crops).
- GRID (pianogen's, musical time): share of each track's notes that start on the beat's grid,
  a sixteenth or a triplet eighth of it (6 of its 12 steps). Real piano music on its annotated
  beats: 0.76-0.89 by half of asap validation (the rest is the performer's timing); a generator
  that does not know where the beat is spreads its onsets over all steps of it. Which of those
  steps a passage uses depends on its metre (a 12/8 beat divides in three), so the whole
  distribution (``beat_position_counts``) is what training matches.
- TD: tonal distance between two tracks: per bar, each track's chroma (L1-normalized) is
  projected to the 6-D tonal centroid space of Harte et al. (2006) (fifths, minor and
  major thirds; radii 1, 1, 0.5) and the Euclidean distance is averaged over bars where
  both tracks sound. Lower means more harmonically related.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np


def _tonal_matrix() -> np.ndarray:
    k = np.arange(12)
    return np.stack([
        np.sin(k * 7 * np.pi / 6), np.cos(k * 7 * np.pi / 6),
        np.sin(k * 3 * np.pi / 2), np.cos(k * 3 * np.pi / 2),
        0.5 * np.sin(k * 2 * np.pi / 3), 0.5 * np.cos(k * 2 * np.pi / 3),
    ])


TONAL = _tonal_matrix()


def chroma(rolls: np.ndarray, low: int) -> np.ndarray:
    """Active-step counts per pitch class: (..., steps, pitches) -> (..., 12), summed over steps."""
    per_pitch = rolls.sum(axis=-2)
    pcs = (np.arange(per_pitch.shape[-1]) + low) % 12
    out = np.zeros(per_pitch.shape[:-1] + (12,))
    for pc in range(12):
        out[..., pc] = per_pitch[..., pcs == pc].sum(axis=-1)
    return out


def empty_bars(rolls: np.ndarray) -> np.ndarray:
    """EB per track: (tracks,)."""
    return (~rolls.any(axis=(-1, -2))).mean(axis=(0, 2))


def used_pitch_classes(rolls: np.ndarray, low: int) -> np.ndarray:
    """UPC per track over non-empty bars: (tracks,) (nan if every bar is empty)."""
    used = (chroma(rolls, low) > 0).sum(axis=-1).astype(float)  # (samples, tracks, bars)
    nonempty = rolls.any(axis=(-1, -2))
    with np.errstate(invalid="ignore"):
        return np.where(nonempty, used, 0).sum(axis=(0, 2)) / nonempty.sum(axis=(0, 2))


def qualified_notes(rolls: np.ndarray, min_steps: int = 3) -> np.ndarray:
    """QN per track: (tracks,) (nan where a track has no notes). Notes span bar lines."""
    return np.array([float((n >= min_steps).mean()) if len(n) else np.nan for n in _note_lengths(rolls)])


def _note_lengths(rolls: np.ndarray) -> list[np.ndarray]:
    """Per track, the lengths in steps of every note (a run of active steps of one key; runs
    continue across bar lines)."""
    s, t, b, spb, p = rolls.shape
    flat = rolls.transpose(1, 0, 2, 3, 4).reshape(t, s, b * spb, p)
    padded = np.pad(flat, ((0, 0), (0, 0), (1, 1), (0, 0))).astype(np.int8)
    d = np.diff(padded, axis=2)
    out = []
    for track in range(t):
        on = np.nonzero(np.moveaxis(d[track], 1, 2) == 1)  # (sample, pitch, step), ordered by step per key
        off = np.nonzero(np.moveaxis(d[track], 1, 2) == -1)
        out.append(off[2] - on[2])
    return out


def short_notes(rolls: np.ndarray) -> np.ndarray:
    """SN per track: share of notes one step long, (tracks,) (nan where a track has no notes)."""
    return np.array([float((n == 1).mean()) if len(n) else np.nan for n in _note_lengths(rolls)])


def tonal_distance(rolls: np.ndarray, low: int) -> dict[tuple[int, int], float]:
    """TD for every pair of tracks: {(i, j): mean distance} (nan if they never sound together)."""
    ch = chroma(rolls, low)  # (samples, tracks, bars, 12)
    total = ch.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        centroid = (ch / total) @ TONAL.T  # (samples, tracks, bars, 6)
    out = {}
    for i, j in combinations(range(rolls.shape[1]), 2):
        both = (total[:, i, :, 0] > 0) & (total[:, j, :, 0] > 0)
        d = np.linalg.norm(centroid[:, i] - centroid[:, j], axis=-1)
        out[(i, j)] = float(d[both].mean()) if both.any() else float("nan")
    return out


def musegan_metrics(rolls: np.ndarray, tracks: tuple[str, ...], low: int, qn_steps: int = 3) -> dict[str, float]:
    """All four metrics as a flat dict: ``EB/melody``, ``UPC/bass``, ``TD/melody-bass``, ...
    ``qn_steps``: QN's threshold in steps (a grid's ``PianorollConfig.qn_steps``)."""
    rolls = np.asarray(rolls).astype(bool)
    out: dict[str, float] = {}
    for name, values in (("EB", empty_bars(rolls)), ("UPC", used_pitch_classes(rolls, low)), ("QN", qualified_notes(rolls, qn_steps)), ("SN", short_notes(rolls))):
        out.update({f"{name}/{t}": float(v) for t, v in zip(tracks, values)})
    for (i, j), v in tonal_distance(rolls, low).items():
        out[f"TD/{tracks[i]}-{tracks[j]}"] = v
    return out


def velocity_metrics(rolls: np.ndarray, velocity: np.ndarray, tracks: tuple[str, ...]) -> dict[str, float]:
    """pianogen's dynamics metrics, per track, over the notes as they are decoded (each plays at
    its velocity roll's mean over its steps, so jitter inside a note does not count): ``VM`` the
    mean and ``VS`` the standard deviation of note velocity (in [0, 1], MIDI velocity / 127; nan
    for a silent track). Rolls and velocity rolls: (samples, tracks, bars, steps, pitches)."""
    from pianogen.representations.pianoroll import note_velocities

    on = np.asarray(rolls).astype(bool)
    v = np.asarray(velocity, dtype=np.float64)
    out: dict[str, float] = {}
    for i, t in enumerate(tracks):
        x = note_velocities(on[:, i], v[:, i])
        out[f"VM/{t}"] = float(x.mean()) if x.size else float("nan")
        out[f"VS/{t}"] = float(x.std()) if x.size else float("nan")
    return out


def beat_position_counts(rolls: np.ndarray, steps_per_beat: int) -> np.ndarray:
    """Notes (onsets) of rolls (samples, tracks, bars, steps, pitches) at each step of the beat:
    (tracks, steps_per_beat) counts, time running on across bar lines."""
    from pianogen.representations.pianoroll import onsets

    per_step = onsets(np.asarray(rolls)).sum(axis=(0, 2, 4))  # (tracks, steps per bar)
    return per_step.reshape(per_step.shape[0], -1, steps_per_beat).sum(axis=1)


def has_beat_grid(steps_per_beat: int) -> bool:
    """Whether a musical-time grid of ``steps_per_beat`` holds both sixteenths and triplet
    eighths, so GRID is defined on it."""
    return steps_per_beat > 0 and steps_per_beat % 12 == 0


def grid_share(rolls: np.ndarray, steps_per_beat: int, tracks: tuple[str, ...]) -> dict[str, float]:
    """GRID per track: the share of notes (onsets) of rolls (samples, tracks, bars, steps,
    pitches) that start on the beat's grid, a sixteenth or a triplet eighth of it (a multiple of
    ``steps_per_beat`` / 4 or / 3 steps from the bar's start); nan for a silent track."""
    if not has_beat_grid(steps_per_beat):
        raise ValueError(f"a beat of {steps_per_beat} steps does not hold both sixteenths and triplet eighths")
    counts = beat_position_counts(rolls, steps_per_beat)
    grid = sorted(set(range(0, steps_per_beat, steps_per_beat // 4)) | set(range(0, steps_per_beat, steps_per_beat // 3)))
    on_grid, total = counts[:, grid].sum(axis=1), counts.sum(axis=1)
    return {f"GRID/{t}": float(on_grid[i] / total[i]) if total[i] else float("nan") for i, t in enumerate(tracks)}


def key_scale_share(rolls: np.ndarray, keys, low: int) -> float:
    """KS: share of all notes (onsets, every track) of rolls (samples, tracks, bars, steps,
    pitches) whose pitch class lies in the scale of that sample's key class (``keys``, one per
    sample; samples whose key is negative, unknown, are left out). nan without notes."""
    from pianogen.representations.keys import scale_mask
    from pianogen.representations.pianoroll import onsets

    keys = np.asarray(keys, dtype=np.int64)
    known = keys >= 0
    counts = onsets(np.asarray(rolls)[known]).sum(axis=(1, 2, 3))  # (samples, pitches): notes per key
    pcs = (np.arange(counts.shape[-1]) + low) % 12
    inside = np.stack([scale_mask(k)[pcs] for k in keys[known]]) if known.any() else np.zeros_like(counts, dtype=bool)
    total = counts.sum()
    return float((counts * inside).sum() / total) if total else float("nan")
