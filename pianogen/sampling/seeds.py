"""Seed notes for autoregressive sampling: note names (``C4 E4 G4``, ``+`` joins a chord, ``_``
rests), a notes dataframe, a MIDI file; with the limits every source shares."""

from __future__ import annotations

import os
import re
from typing import Union

import numpy as np
import pandas as pd

from pianogen.representations.codecs import PIANO_HIGH, PIANO_LOW

SeedNotes = Union[pd.DataFrame, str, os.PathLike, None]
#: The most seed notes any source may bring (text, a MIDI file, a bundled piece): about four
#: minutes of dense piano. Beyond it a request is refused, not truncated in silence; an RNN reads
#: every seed note, so its memory and time grow with the seed.
MAX_SEED_NOTES = 3000
MAX_SEED_TEXT = 20_000  # characters of note names (a 3,000-note seed is about 12,000)

_NAME = re.compile(r"^([A-Ga-g])([#b]*)(-?\d)$")
_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_name_to_pitch(name: str) -> int:
    """MIDI pitch of a scientific note name (C4 = 60, F#3, Bb5); ValueError if unknown."""
    m = _NAME.match(name.strip())
    if not m:
        raise ValueError(f"unknown note name {name!r} (use names like C4, F#3, Bb5)")
    letter, accidentals, octave = m.groups()
    pitch = 12 * (int(octave) + 1) + _PC[letter.upper()] + accidentals.count("#") - accidentals.count("b")
    if not PIANO_LOW <= pitch <= PIANO_HIGH:
        raise ValueError(f"note {name!r} (MIDI {pitch}) is outside the piano's range A0..C8")
    return pitch


def parse_note_names(text: str, step: float = 0.5, duration: float = 0.5, velocity: int = 80) -> pd.DataFrame:
    """Notes from text such as ``"C4 E4 G4 C5"``: one onset every ``step`` seconds.

    ``+`` joins a chord (``"C4+E4+G4 F4+A4+C5"``) and ``_`` is a rest of one step.
    Commas work as spaces. Raises ValueError naming the first bad token, or the limit when the
    text is longer than ``MAX_SEED_TEXT`` characters.
    """
    from pianogen.data.midi import notes_frame

    if len(text) > MAX_SEED_TEXT:
        raise ValueError(f"the note names are {len(text):,} characters long; at most {MAX_SEED_TEXT:,} are read")
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise ValueError("empty seed: give note names such as 'C4 E4 G4'")
    pitch, start = [], []
    for i, tok in enumerate(tokens):
        if tok == "_":
            continue
        for name in tok.split("+"):
            pitch.append(note_name_to_pitch(name))
            start.append(i * step)
    if not pitch:
        raise ValueError("the seed has only rests")
    start_arr = np.array(start)
    return notes_frame(pitch, np.full(len(pitch), velocity), start_arr, start_arr + duration)


def seed_to_notes(seed: SeedNotes, seed_seconds: float | None = None) -> pd.DataFrame | None:
    """A notes dataframe from a dataframe, a MIDI file (a ``pathlib.Path``), or note names
    (a ``str``, never opened as a file: text from a user is text). None stays None.

    ``seed_seconds`` keeps only notes starting in the first that many seconds. A seed of more
    than ``MAX_SEED_NOTES`` notes (after that cut) is refused with a ValueError.
    """
    from pianogen.data.midi import read_midi

    if seed is None:
        return None
    if isinstance(seed, pd.DataFrame):
        notes = seed
    elif isinstance(seed, os.PathLike):
        notes = read_midi(seed)
    elif isinstance(seed, str):
        if seed.strip().lower().endswith((".mid", ".midi")):
            raise ValueError(f"{seed.strip()[:80]!r} looks like a file name; seed notes given as text are note names "
                             "(pass a pathlib.Path to read a MIDI file)")
        notes = parse_note_names(seed)
    else:
        raise TypeError(f"seed notes must be a DataFrame, a MIDI path or note names, not {type(seed).__name__}")
    if seed_seconds is not None:
        notes = notes[notes["start"] < seed_seconds]
    if len(notes) == 0:
        raise ValueError("the seed has no notes" + (f" in its first {seed_seconds:g} s" if seed_seconds is not None else ""))
    if len(notes) > MAX_SEED_NOTES:
        raise ValueError(f"the seed has {len(notes):,} notes; at most {MAX_SEED_NOTES:,} are read (take a shorter opening)")
    return notes[["pitch", "velocity", "start", "end"]].reset_index(drop=True)
