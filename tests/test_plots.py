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


def test_each_note_is_one_bar_where_it_sounds_at_its_loudness():
    """A voice's notes are one collection: a bar per note from its start to its end (s), 0.8 of a
    semitone high at its pitch, with opacity 0.5-1 by velocity; seed notes grey and opaque; a
    voice left with no notes draws nothing and does not fail."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    from pianogen.plots import _draw

    notes = pd.DataFrame({"pitch": [60, 64, 67], "velocity": [127, 0, 64], "start": [0.0, 0.5, 1.0], "end": [0.5, 2.0, 1.25],
                          "is_seed": [True, False, False]})
    fig, ax = plt.subplots()
    _draw(ax, notes, None)
    seed, gen = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert np.allclose([p.get_extents().bounds for p in gen.get_paths()], [(0.5, 63.6, 1.5, 0.8), (1.0, 66.6, 0.25, 0.8)])
    assert np.allclose([p.get_extents().bounds for p in seed.get_paths()], [(0.0, 59.6, 0.5, 0.8)])
    assert np.allclose(gen.get_facecolor()[:, 3], [0.5, 0.5 + 0.5 * 64 / 127]) and np.allclose(seed.get_facecolor()[:, 3], 1.0)
    assert ax.get_xlim()[0] <= 0.0 and ax.get_xlim()[1] >= 2.0  # the bars are inside the view
    plt.close(fig)
    fig, ax = plt.subplots()
    _draw(ax, notes.assign(is_seed=True), None)  # every note a seed: the generated voice is empty
    assert sum(len(c.get_paths()) for c in ax.collections) == 3
    plt.close(fig)
