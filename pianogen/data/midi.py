"""MIDI <-> note dataframes.

A *notes dataframe* has one row per note, sorted by (start, pitch), with columns

- ``pitch``: MIDI pitch 0-127 (60 = C4)
- ``velocity``: MIDI velocity 1-127
- ``start``, ``end``, ``duration``: seconds
- ``step``: seconds from the previous note's start (0 for the first note), the
  column the TensorFlow "music generation with an RNN" tutorial uses.

Two parsers produce the same table: pretty_midi (the reference object model) and
symusic (a C++ parser, ~100x faster, used for bulk preparation). Both hand raw
notes and sustain-pedal events to one shared routine, so the pedal logic exists once.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

NOTE_COLUMNS = ["pitch", "velocity", "start", "end", "duration", "step"]
SUSTAIN_CC = 64
SUSTAIN_THRESHOLD = 64  # CC64 value >= 64 means the pedal is down (MIDI spec, Magenta)

MidiSource = Union[str, os.PathLike, bytes]


class MidiReadError(ValueError):
    """A file could not be read as MIDI; the message names the file and the reason."""


@dataclass
class RawTrack:
    """Notes and sustain events of one non-drum track, times in seconds (float64)."""

    pitch: np.ndarray
    velocity: np.ndarray
    start: np.ndarray
    end: np.ndarray
    cc64_time: np.ndarray
    cc64_value: np.ndarray


def apply_sustain(track: RawTrack, threshold: int = SUSTAIN_THRESHOLD) -> np.ndarray:
    """Return note end times (seconds) with the sustain pedal applied.

    A note released while the pedal is down sounds until the pedal comes up (the
    Performance RNN / MAESTRO convention). A sustained note ends early if the same
    key is struck again before the pedal release, as a real piano damps the string.
    A pedal still down at the end of the file holds until the last event.
    """
    end = track.end.copy()
    if len(end) == 0 or len(track.cc64_time) == 0:
        return end
    order = np.argsort(track.cc64_time, kind="stable")
    times, down = track.cc64_time[order], track.cc64_value[order] >= threshold
    # Keep only the events where the pedal state flips.
    flips = np.flatnonzero(np.diff(np.concatenate([[False], down]).astype(np.int8)))
    times, down = times[flips], down[flips]
    if len(times) == 0:
        return end
    # Flips alternate down, up, down, ... because the pedal starts up.
    file_end = max(float(track.end.max()), float(track.cc64_time.max()))
    on_times = times[0::2]
    release = times[1::2]
    if len(release) < len(on_times):
        release = np.append(release, file_end)
    # Interval index whose pedal-down time is <= the note's key-up time.
    idx = np.searchsorted(on_times, end, side="right") - 1
    valid = idx >= 0
    held = np.zeros(len(end), dtype=bool)
    held[valid] = end[valid] < release[idx[valid]]
    extended = end.copy()
    extended[held] = release[idx[held]]
    # Re-striking the same key cuts a sustained note at the new onset.
    next_onset = next_same_pitch_onset(track.pitch, track.start)
    extended = np.where(held, np.maximum(end, np.minimum(extended, next_onset)), end)
    return extended


def next_same_pitch_onset(pitch: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each note, the start (s) of the next note of the same pitch, or +inf."""
    order = np.lexsort((start, pitch))
    p, s = pitch[order], start[order]
    nxt = np.full(len(p), np.inf)
    same = p[1:] == p[:-1]
    nxt[:-1][same] = s[1:][same]
    out = np.empty_like(nxt)
    out[order] = nxt
    return out


def note_arrays(pitch, velocity, start, end) -> dict[str, np.ndarray]:
    """Parallel note arrays sorted by (start, pitch), with ``duration`` and ``step`` added."""
    pitch = np.asarray(pitch, dtype=np.int16)
    velocity = np.asarray(velocity, dtype=np.int16)
    start = np.asarray(start, dtype=np.float64)
    end = np.asarray(end, dtype=np.float64)
    order = np.lexsort((pitch, start))
    pitch, velocity, start, end = pitch[order], velocity[order], start[order], end[order]
    step = np.diff(start, prepend=start[:1]) if len(start) else start
    return {"pitch": pitch, "velocity": velocity, "start": start, "end": end, "duration": end - start, "step": step}


def notes_frame(pitch, velocity, start, end) -> pd.DataFrame:
    """Build a sorted notes dataframe (see module doc) from parallel arrays."""
    return pd.DataFrame(note_arrays(pitch, velocity, start, end))


def _merge(tracks: list[RawTrack], sustain: bool) -> dict[str, np.ndarray]:
    if not tracks:
        return note_arrays([], [], [], [])
    ends = [apply_sustain(t) if sustain else t.end for t in tracks]
    return note_arrays(
        np.concatenate([t.pitch for t in tracks]),
        np.concatenate([t.velocity for t in tracks]),
        np.concatenate([t.start for t in tracks]),
        np.concatenate(ends),
    )


def _label(source: MidiSource, name: str | None) -> str:
    if name is not None:
        return name
    return "<bytes>" if isinstance(source, bytes) else str(source)


def _read_bytes(source: MidiSource, label: str) -> bytes:
    if isinstance(source, bytes):
        data = source
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise MidiReadError(f"{label}: file not found") from None
        except OSError as exc:
            raise MidiReadError(f"{label}: cannot read ({exc.strerror})") from None
    if len(data) == 0:
        raise MidiReadError(f"{label}: empty file")
    if not data.startswith(b"MThd"):
        raise MidiReadError(f"{label}: not a MIDI file (no MThd header)")
    return data


# --- symusic (fast) -------------------------------------------------------------


def _tick_to_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, tempo_mspq: np.ndarray, tpq: int) -> np.ndarray:
    """Convert ticks to seconds through a tempo map (microseconds per quarter note)."""
    if len(tempo_ticks) == 0 or tempo_ticks[0] != 0:
        # MIDI default tempo is 120 bpm until the first tempo event.
        tempo_ticks = np.concatenate([[0], tempo_ticks])
        tempo_mspq = np.concatenate([[500000], tempo_mspq])
    # Later events at the same tick win, as in pretty_midi.
    keep = np.append(tempo_ticks[1:] != tempo_ticks[:-1], True)
    tempo_ticks, tempo_mspq = tempo_ticks[keep].astype(np.int64), tempo_mspq[keep].astype(np.float64)
    sec_per_tick = tempo_mspq / 1e6 / tpq
    seg_start = np.concatenate([[0.0], np.cumsum(np.diff(tempo_ticks) * sec_per_tick[:-1])])
    idx = np.searchsorted(tempo_ticks, ticks, side="right") - 1
    return seg_start[idx] + (ticks - tempo_ticks[idx]) * sec_per_tick[idx]


def _tracks_symusic(data: bytes, label: str) -> list[RawTrack]:
    import symusic

    try:
        score = symusic.Score.from_midi(data)
    except Exception as exc:  # symusic raises RuntimeError/ValueError subclasses
        raise MidiReadError(f"{label}: corrupt MIDI ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    tempos = score.tempos.numpy()
    tpq = score.ticks_per_quarter
    if tpq <= 0:
        raise MidiReadError(f"{label}: SMPTE time division is not supported")

    tracks = []
    for tr in score.tracks:
        if tr.is_drum or tr.note_num() == 0:
            continue
        n = tr.notes.numpy()
        c = tr.controls.numpy()
        is64 = c["number"] == SUSTAIN_CC
        on = n["time"].astype(np.int64)
        cc_ticks = c["time"][is64].astype(np.int64)
        # One tempo-map lookup for starts, ends and pedal events together.
        secs = _tick_to_seconds(np.concatenate([on, on + n["duration"], cc_ticks]), tempos["time"], tempos["mspq"], tpq)
        k = len(on)
        tracks.append(
            RawTrack(
                pitch=n["pitch"],
                velocity=n["velocity"],
                start=secs[:k],
                end=secs[k : 2 * k],
                cc64_time=secs[2 * k :],
                cc64_value=c["value"][is64],
            )
        )
    return tracks


# --- pretty_midi (reference) ------------------------------------------------------


def _tracks_pretty_midi(data: bytes, label: str) -> list[RawTrack]:
    import warnings

    import pretty_midi

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pretty_midi warns on tempo events in non-zero tracks
            pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    except Exception as exc:
        reason = "truncated" if isinstance(exc, EOFError) else f"{type(exc).__name__}: {exc}"
        raise MidiReadError(f"{label}: corrupt MIDI ({reason})") from None
    tracks = []
    for inst in pm.instruments:
        if inst.is_drum or not inst.notes:
            continue
        cc = [c for c in inst.control_changes if c.number == SUSTAIN_CC]
        tracks.append(
            RawTrack(
                pitch=np.array([n.pitch for n in inst.notes]),
                velocity=np.array([n.velocity for n in inst.notes]),
                start=np.array([n.start for n in inst.notes], dtype=np.float64),
                end=np.array([n.end for n in inst.notes], dtype=np.float64),
                cc64_time=np.array([c.time for c in cc], dtype=np.float64),
                cc64_value=np.array([c.value for c in cc]),
            )
        )
    return tracks


_BACKENDS = {"symusic": _tracks_symusic, "pretty_midi": _tracks_pretty_midi}


def default_backend() -> str:
    """symusic when installed (fast), else pretty_midi."""
    try:
        import symusic  # noqa: F401

        return "symusic"
    except ImportError:
        return "pretty_midi"


def read_midi_arrays(source: MidiSource, sustain: bool = True, backend: str | None = None, name: str | None = None) -> dict[str, np.ndarray]:
    """Like :func:`read_midi`, but returns the columns as numpy arrays (no pandas cost)."""
    label = _label(source, name)
    backend = backend or default_backend()
    if backend not in _BACKENDS:
        raise ValueError(f"unknown MIDI backend {backend!r}; choose from {sorted(_BACKENDS)}")
    data = _read_bytes(source, label)
    return _merge(_BACKENDS[backend](data, label), sustain)


def read_midi(source: MidiSource, sustain: bool = True, backend: str | None = None, name: str | None = None) -> pd.DataFrame:
    """Read a MIDI file (path or bytes) into a notes dataframe.

    All non-drum tracks are merged; times are seconds through the file's tempo map.
    ``sustain`` extends notes held by the sustain pedal (CC64 >= 64) to the pedal
    release. ``backend`` is ``"symusic"`` or ``"pretty_midi"`` (same table; see tests).
    ``name`` labels error messages when ``source`` is bytes.
    Raises :class:`MidiReadError` with a one-line reason for unreadable input.
    """
    return pd.DataFrame(read_midi_arrays(source, sustain, backend, name))


def to_pretty_midi(notes: pd.DataFrame, program: int = 0, name: str = "Piano", resolution: int = 960, end: float | None = None):
    """Build a ``pretty_midi.PrettyMIDI`` with one instrument from a notes dataframe.

    ``resolution`` (ticks per beat at 120 bpm) of 960 gives 0.52 ms ticks, so a write/read
    round trip keeps times within 0.3 ms. Needs ``pitch``, ``velocity``, ``start``
    and either ``end`` or ``duration`` (seconds). ``end`` (seconds): the file lasts at least
    this long (a sustain-pedal release there, which changes no sound), so music asked for N
    seconds ends at N seconds in a player or an editor even when its last notes stop earlier.
    """
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=120.0)
    pm.instruments.append(_instrument(notes, program, name))
    if end is not None and end > pm.get_end_time():
        pm.instruments[0].control_changes.append(pretty_midi.ControlChange(number=SUSTAIN_CC, value=0, time=float(end)))
    return pm


def _instrument(notes: pd.DataFrame, program: int, name: str):
    import pretty_midi

    inst = pretty_midi.Instrument(program=program, name=name)
    end = notes["end"] if "end" in notes else notes["start"] + notes["duration"]
    for p, v, s, e in zip(notes["pitch"].to_numpy(), notes["velocity"].to_numpy(), notes["start"].to_numpy(), end.to_numpy()):
        inst.notes.append(pretty_midi.Note(velocity=int(v), pitch=int(p), start=float(s), end=float(e)))
    return inst


def tracks_to_pretty_midi(tracks: dict[str, pd.DataFrame], program: int = 0, resolution: int = 960, bpm: float = 120.0,
                          time_signature: tuple[int, int] | None = None, key_tonic: int | None = None):
    """One named instrument per entry of ``tracks`` (e.g. MuseGAN voices). ``bpm`` is the file's
    tempo and ``time_signature`` (numerator, denominator) its metre from time 0, so that music
    written in strict time at ``bpm`` shows its bars as bars in a score editor; ``key_tonic``
    (pitch class 0-11 of a major key) its key signature."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(resolution=resolution, initial_tempo=float(bpm))
    if time_signature is not None:
        pm.time_signature_changes.append(pretty_midi.TimeSignature(int(time_signature[0]), int(time_signature[1]), 0.0))
    if key_tonic is not None:  # pretty_midi's key numbers 0-11 are the major keys C..B
        pm.key_signature_changes.append(pretty_midi.KeySignature(int(key_tonic) % 12, 0.0))
    for name, notes in tracks.items():
        pm.instruments.append(_instrument(notes, program, name))
    return pm


def write_pretty_midi(pm, path: str | os.PathLike) -> Path:
    """Write a PrettyMIDI atomically (temp file, then rename)."""
    from pianogen.io import atomic_path

    with atomic_path(path) as tmp:
        pm.write(str(tmp))
    return Path(path)


def write_midi(notes: pd.DataFrame, path: str | os.PathLike, program: int = 0, end: float | None = None) -> Path:
    """Write a notes dataframe to a single-track piano MIDI file, atomically; the file lasts at
    least ``end`` seconds if given (see :func:`to_pretty_midi`)."""
    return write_pretty_midi(to_pretty_midi(notes, program=program, end=end), path)
