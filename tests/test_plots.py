"""Pianoroll pictures: real notes, voices, seeds, and silence (which once crashed training)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from conftest import MIDI_FILES
from pianogen.data import read_midi
from pianogen.plots import pianoroll_png, save_roll_grid
from pianogen.representations import pianoroll as pr

PNG = b"\x89PNG\r\n\x1a\n"


def test_pianoroll_png_variants(tmp_path):
    notes = read_midi(MIDI_FILES[0])
    notes = notes[notes["start"] < 15].copy()
    assert pianoroll_png(notes, tmp_path / "a.png", title="plain").read_bytes()[:8] == PNG
    notes["is_seed"] = notes["start"] < 3
    assert pianoroll_png(notes, tmp_path / "b.png").read_bytes()[:8] == PNG
    cfg = pr.PianorollConfig()
    notes["track"] = pr.assign_tracks(notes, cfg)
    assert pianoroll_png(notes, tmp_path / "c.png", track_names=cfg.tracks).stat().st_size > 10_000


def test_empty_inputs_draw_silence(tmp_path):
    empty = pd.DataFrame({"pitch": [], "velocity": [], "start": [], "end": []})
    assert pianoroll_png(empty, tmp_path / "e.png").read_bytes()[:8] == PNG
    rolls = np.zeros((2, 3, 4, 32, 88), dtype=bool)
    rolls[1, 0, 0, :8, 40] = True
    assert save_roll_grid(rolls, pr.PianorollConfig(), tmp_path / "g.png").read_bytes()[:8] == PNG
