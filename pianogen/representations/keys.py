"""Key signatures as twelve classes, and the share of notes that keep to a key's scale.

A key signature (sharps, negative for flats: ASAP's annotations, MIDI's key signature meta
message) fixes a diatonic scale of seven pitch classes, shared by a major key and its relative
minor (no sharps: C major or A minor). Enharmonic signatures (6 sharps, 6 flats) give the same
scale, so there are twelve classes; a class is the pitch class of the major key's tonic
(0 = C, 7 = G, 5 = F; MIDI pitch % 12), and transposing music by ``k`` semitones moves its class
by ``k`` (mod 12), which is how transposed training crops keep their key.
"""

from __future__ import annotations

import numpy as np

N_KEYS = 12
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)  # semitones above the major tonic
_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_RELATIVE_MINOR = ("A", "Bb", "B", "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#")


def key_class(sharps: int) -> int:
    """Key signature (sharps, negative for flats, -7..7 and beyond) -> its class, the major
    tonic's pitch class: 0 -> 0 (C), 1 -> 7 (G), -1 -> 5 (F), 6 and -6 -> 6 (F# = Gb)."""
    return (7 * int(sharps)) % N_KEYS


def key_sharps(key: int) -> int:
    """A class -> its key signature with the fewest accidentals, in -5..6 (6 = F# major, not Gb):
    the inverse of :func:`key_class`."""
    s = (7 * int(key)) % N_KEYS  # 7 is its own inverse mod 12
    return s - 12 if s > 6 else s


def key_name(key: int) -> str:
    """A class as a reader names it: ``"G major / E minor (1 sharp)"``."""
    key = int(key) % N_KEYS
    s = key_sharps(key)
    accidentals = "no sharps or flats" if s == 0 else f"{abs(s)} {'sharp' if s > 0 else 'flat'}{'s' if abs(s) > 1 else ''}"
    return f"{_TONIC_NAMES[key]} major / {_RELATIVE_MINOR[key]} minor ({accidentals})"


def scale_mask(key: int) -> np.ndarray:
    """(12,) bool: the pitch classes of the key's diatonic scale."""
    mask = np.zeros(N_KEYS, dtype=bool)
    mask[[(int(key) + d) % N_KEYS for d in MAJOR_SCALE]] = True
    return mask


def in_scale_share(pitches: np.ndarray, key: int) -> float:
    """Share of notes (MIDI pitches) whose pitch class lies in ``key``'s scale; nan for no notes."""
    pitches = np.asarray(pitches, dtype=np.int64)
    return float(scale_mask(key)[pitches % N_KEYS].mean()) if len(pitches) else float("nan")


def best_key(pitches: np.ndarray) -> int:
    """The class whose scale holds the most of these notes (MIDI pitches); ties go to the lower
    class. What a passage's key is, judged from its notes alone."""
    counts = np.bincount(np.asarray(pitches, dtype=np.int64) % N_KEYS, minlength=N_KEYS)
    in_scale = [counts[scale_mask(k)].sum() for k in range(N_KEYS)]
    return int(np.argmax(in_scale))


_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def parse_key(text: str) -> int:
    """A key as people write it -> its class: ``"G"``, ``"G major"``, ``"E minor"``, ``"Em"``,
    ``"Bb"``, ``"F# minor"`` (a minor key takes its relative major's signature: E minor -> G).
    ValueError naming the text otherwise."""
    words = str(text).strip().replace("\u266d", "b").replace("\u266f", "#").split()
    if not words or len(words) > 2:
        raise ValueError(f"key {text!r}: write a tonic and a mode, e.g. 'G major', 'E minor', 'Bb'")
    tonic, mode = words[0], (words[1].lower() if len(words) == 2 else "major")
    if len(words) == 1 and len(tonic) > 1 and tonic.endswith("m"):
        tonic, mode = tonic[:-1], "minor"
    letter, accidentals = tonic[:1].upper(), tonic[1:]
    if letter not in _LETTERS or any(a not in "#b" for a in accidentals) or mode not in ("major", "minor", "maj", "min"):
        raise ValueError(f"key {text!r}: write a tonic and a mode, e.g. 'G major', 'E minor', 'Bb'")
    pc = _LETTERS[letter] + accidentals.count("#") - accidentals.count("b")
    return (pc + (3 if mode.startswith("min") else 0)) % N_KEYS
