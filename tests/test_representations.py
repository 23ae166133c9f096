"""Encode/decode round trips on every bundled file (Magenta-style pairs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import MIDI_FILES, file_id
from pianogen.data import read_midi
from pianogen.representations import TimeGrid, VelocityBins
from pianogen.representations import note_tuples, performance

NOTES = {}


def notes_of(path) -> pd.DataFrame:
    if path not in NOTES:
        NOTES[path] = read_midi(path)
    return NOTES[path]


def test_time_grid_layout():
    g = TimeGrid()
    v = g.values
    assert v[0] == 0 and np.allclose(np.diff(v[:101]), 0.01) and abs(v[100] - 1.0) < 1e-12
    assert abs(v[-1] - 8.0) < 1e-9 and len(v) == 101 + 24 and (np.diff(v) > 0).all()
    x = np.array([0.0, 0.004, 0.006, 0.5, 0.999, 1.3, 7.9, 30.0])
    i = g.quantize(x)
    assert i.tolist()[:5] == [0, 0, 1, 50, 100]
    err = np.abs(g.value(i) - x)
    assert ((err <= g.half_width[i] + 1e-12) | g.clipped(x)).all()


def test_velocity_bins():
    b = VelocityBins(32)
    v = np.arange(1, 128)
    q = b.quantize(v)
    assert q.min() == 0 and q.max() == 31 and len(np.unique(q)) == 32
    assert np.abs(b.value(q) - v).max() <= b.width // 2


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
def test_note_tuples_round_trip(path):
    notes = notes_of(path)
    cfg = note_tuples.NoteTupleConfig()
    tokens = note_tuples.encode(notes, cfg)
    assert tokens.shape == (len(notes), 4)
    for j, size in enumerate(cfg.vocab_sizes):
        assert tokens[:, j].min() >= 0 and tokens[:, j].max() < size
    back = note_tuples.decode(tokens, cfg)
    assert len(back) == len(notes)
    # In encoding order (decode re-sorts by (start, pitch), which swaps chord notes).
    dec_start = np.cumsum(cfg.step_grid.value(tokens[:, 0]))
    np.testing.assert_allclose(np.sort(dec_start), back["start"].to_numpy())
    assert sorted(back["pitch"]) == sorted(notes["pitch"]) and np.array_equal(tokens[:, 1], notes["pitch"].to_numpy())
    # Error feedback keeps starts within half a fine bin (5 ms), except that after a coarse
    # (log-spaced) step the error can persist through following zero steps (chords) until a
    # longer step absorbs it: bound by the most recent coarse bin's half width, or by how far
    # a silence overshot the longest step (8 s), which is lost.
    start = notes["start"].to_numpy()
    start_err = np.abs(dec_start - start)
    target = start - np.concatenate([[0.0], dec_start[:-1]])
    hw = np.maximum(cfg.step_grid.half_width[tokens[:, 0]], target - cfg.step_grid.values[-1])
    bound = pd.Series(np.where(hw > 0.005 + 1e-9, hw, np.nan)).ffill().fillna(0.005).to_numpy()
    assert (start_err <= np.maximum(bound, 0.005) + 1e-9).all()
    assert np.median(start_err) <= 0.005
    dur = notes["duration"].to_numpy()
    dur_err = np.abs(cfg.duration_grid.value(tokens[:, 2]) - dur)
    assert ((dur_err <= cfg.duration_grid.half_width[tokens[:, 2]] + 1e-9) | cfg.duration_grid.clipped(dur) | (dur < 0.01)).all()
    assert (np.abs(cfg.velocity_bins.value(tokens[:, 3]) - notes["velocity"].to_numpy()) <= 2).all()


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
def test_performance_round_trip(path):
    notes = notes_of(path)
    cfg = performance.PerformanceConfig()
    events = performance.encode(notes, cfg)
    assert cfg.vocab_size == 388 and events.min() >= 0 and events.max() < 388
    back = performance.decode(events, cfg)
    assert len(back) == len(notes)
    # decode sorts by (grid start, pitch): put the original notes in that order too.
    notes = notes.iloc[np.lexsort((notes["pitch"], np.round(notes["start"] / 0.01)))]
    assert np.abs(back["start"].to_numpy() - notes["start"].to_numpy()).max() <= 0.005 + 1e-9
    assert np.array_equal(back["pitch"].to_numpy(), notes["pitch"].to_numpy())
    end_err = np.abs(back["end"].to_numpy() - notes["end"].to_numpy())
    assert ((end_err <= 0.005 + 1e-9) | (notes["duration"].to_numpy() < 0.015)).all()
    assert (np.abs(back["velocity"].to_numpy() - notes["velocity"].to_numpy()) <= 2).all()
    assert abs(performance.seconds(events, cfg) - back["end"].max()) < 1e-9


def test_performance_by_hand():
    cfg = performance.PerformanceConfig()
    notes = pd.DataFrame({"pitch": [60, 64], "velocity": [100, 100], "start": [0.0, 0.0], "end": [0.5, 1.7]})
    ev = performance.encode(notes, cfg).tolist()
    v = cfg.velocity + VelocityBins().quantize(100)
    assert ev == [v, 60, 64, 256 + 49, 128 + 60, 256 + 99, 256 + 19, 128 + 64]
    # Re-striking a sounding key closes the earlier note; a stray NOTE_OFF is ignored.
    back = performance.decode([60, 256 + 9, 60, 256 + 9, 128 + 61, 128 + 60], cfg)
    assert back[["start", "end"]].round(6).values.tolist() == [[0.0, 0.1], [0.1, 0.2]]


def test_note_tuples_time_scale():
    notes = notes_of(MIDI_FILES[0])
    cfg = note_tuples.NoteTupleConfig()
    slow = note_tuples.decode(note_tuples.encode(notes, cfg, time_scale=1.05), cfg)
    assert abs(slow["start"].max() / notes["start"].max() - 1.05) < 0.001
