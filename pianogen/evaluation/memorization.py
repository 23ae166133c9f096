"""Is it copying? The longest passage a piece shares with a corpus (the training data).

A piece becomes one token per note after the first, in onset order (chord notes by pitch):
(pitch interval from the previous note, inter-onset interval class). Intervals rather than
pitches make a transposed copy count as a copy (training augments by transposition, so a
model can reproduce a passage in another key); the onset interval is quantized to
``IOI_EDGES`` classes, so a performance's rubato does not hide a copy, while a different
rhythm does. A passage of L tokens is L + 1 notes.

:class:`PassageIndex` hashes every ``k``-token window of the corpus once (a few seconds and
about 70 MB for the 2.8 M notes of the 75 h corpus); a lookup finds the windows of a piece
that occur in the corpus and extends each candidate note by note, so the answer is exact.
Passages shorter than ``k + 1`` notes are common in any tonal music and reported as none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

IOI_EDGES = np.array([0.03, 0.07, 0.12, 0.18, 0.25, 0.35, 0.5, 0.7, 1.0, 1.5])  # seconds; 11 classes
MAX_INTERVAL = 48  # semitones; wider leaps are clipped
SEPARATOR = -1  # between pieces in the concatenated corpus
_BASE = np.uint64(1_000_003)


def passage_tokens(notes: pd.DataFrame) -> np.ndarray:
    """int64 tokens (one per note after the first): interval and onset-interval class."""
    if len(notes) < 2:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((notes["pitch"].to_numpy(), notes["start"].to_numpy()))
    pitch = notes["pitch"].to_numpy(dtype=np.int64)[order]
    start = notes["start"].to_numpy(dtype=np.float64)[order]
    interval = np.clip(np.diff(pitch), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    ioi = np.searchsorted(IOI_EDGES, np.diff(start), side="right")
    return interval * (len(IOI_EDGES) + 1) + ioi


def _window_hashes(seq: np.ndarray, k: int) -> np.ndarray:
    """Polynomial hash (mod 2^64) of every k-token window of ``seq``."""
    n = len(seq) - k + 1
    h = np.zeros(max(n, 0), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(k):
            h = h * _BASE + (seq[j : j + n] + 2).astype(np.uint64)  # +2: SEPARATOR hashes too
    return h


@dataclass
class SharedPassage:
    notes: int  # length in notes (0: nothing of at least k + 1 notes)
    piece: str | None = None  # the corpus piece it comes from
    corpus_start: float | None = None  # where it starts in that piece (s)
    sample_start: float | None = None  # where it starts in the examined piece (s)


class PassageIndex:
    """Every ``k``-token window of a corpus, for exact longest-shared-passage lookups."""

    def __init__(self, seq: np.ndarray, piece_names: list[str], piece_offsets: np.ndarray, onsets: np.ndarray, k: int = 8):
        self.k, self.seq, self.names, self.offsets, self.onsets = k, seq, list(piece_names), piece_offsets, onsets
        h = _window_hashes(seq, k)
        # Drop windows that span a separator: they belong to no piece.
        bad = np.convolve((seq == SEPARATOR).astype(np.int8), np.ones(k, np.int8), mode="valid") > 0
        pos = np.flatnonzero(~bad)
        order = np.argsort(h[pos], kind="stable")
        self.hashes, self.positions = h[pos][order], pos[order]

    @classmethod
    def from_notes(cls, notes: pd.DataFrame, names: dict | None = None, k: int = 8) -> "PassageIndex":
        """Index a notes table (``piece_id`` column); ``names`` maps piece_id to a display name."""
        seqs, starts, labels = [], [], []
        for pid, g in notes.groupby("piece_id", sort=True, observed=True):
            g = g.sort_values(["start", "pitch"], kind="stable")
            seqs.append(np.append(passage_tokens(g), SEPARATOR))
            starts.append(np.append(g["start"].to_numpy()[:-1], np.nan))  # token i starts at note i's onset
            labels.append(str((names or {}).get(pid, pid)))
        lengths = np.array([len(s) for s in seqs])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        return cls(np.concatenate(seqs).astype(np.int64), labels, offsets, np.concatenate(starts).astype(np.float32), k)

    @classmethod
    def from_prepared(cls, data_dir: str | os.PathLike, split: str = "train", k: int = 8) -> "PassageIndex":
        from pianogen.data import load_notes, load_pieces

        pieces = load_pieces(data_dir)
        names = {r.piece_id: f"{r.composer}: {r.title}" if isinstance(r.composer, str) else str(r.piece_id) for r in pieces.itertuples()}
        return cls.from_notes(load_notes(data_dir, split), names, k)

    def save(self, path: str | os.PathLike) -> Path:
        """A compact file (tokens int16, onsets float32) to ship next to checkpoints."""
        from pianogen.io import atomic_path

        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.savez_compressed(f, seq=self.seq.astype(np.int16), names=np.array(self.names), offsets=self.offsets, onsets=self.onsets, k=self.k)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PassageIndex":
        with np.load(path, allow_pickle=False) as z:
            return cls(z["seq"].astype(np.int64), [str(n) for n in z["names"]], z["offsets"], z["onsets"], int(z["k"]))

    def longest(self, notes: pd.DataFrame, max_candidates: int = 256) -> SharedPassage:
        """The longest passage of ``notes`` that also occurs in the corpus (exact; each window
        checks at most ``max_candidates`` corpus occurrences, the most common patterns only)."""
        t = passage_tokens(notes)
        k = self.k
        if len(t) < k:
            return SharedPassage(0)
        h = _window_hashes(t, k)
        lo = np.searchsorted(self.hashes, h, side="left")
        hi = np.searchsorted(self.hashes, h, side="right")
        best = (0, -1, -1)  # (tokens, sample index, corpus position)
        n, m = len(t), len(self.seq)
        for i in np.flatnonzero(hi > lo):
            if n - i <= best[0]:
                break  # nothing longer can start here
            alive = self.positions[lo[i] : min(hi[i], lo[i] + max_candidates)]
            alive = alive[(self.seq[alive[:, None] + np.arange(k)] == t[i : i + k]).all(1)]  # hash collisions out
            length = k
            while len(alive) and i + length < n:
                nxt = alive[alive + length < m]
                nxt = nxt[self.seq[nxt + length] == t[i + length]]
                if not len(nxt):
                    break
                alive, length = nxt, length + 1
            if len(alive) and length > best[0]:
                best = (length, int(i), int(alive[0]))
        if best[0] == 0:
            return SharedPassage(0)
        length, i, p = best
        piece = int(np.searchsorted(self.offsets, p, side="right") - 1)
        starts = np.sort(notes["start"].to_numpy())
        return SharedPassage(length + 1, self.names[piece], float(self.onsets[p]), float(starts[i]))

    @staticmethod
    def path_for(checkpoint: str | os.PathLike) -> Path:
        """Where the index of a checkpoint's training corpus is shipped: beside it, as
        ``passages-CORPUS.npz`` (CORPUS as its NAME.json names it)."""
        from pianogen.checkpoints import read_report, trained_corpus

        return Path(checkpoint).parent / f"passages-{trained_corpus(read_report(checkpoint))}.npz"

    def describe(self, notes: pd.DataFrame) -> str:
        """One line for people, as the app shows it."""
        s = self.longest(notes)
        if s.notes == 0:
            return f"Longest passage shared with the training data: none of {self.k + 1} notes or more."
        return (f"Longest passage shared with the training data: {s.notes} notes (at {s.sample_start:.1f} s), "
                f"from {s.piece} (at {s.corpus_start:.1f} s); transposed copies count.")
