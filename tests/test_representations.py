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
    # A re-strike opens a second note; a NOTE_OFF closes the earliest open one of its pitch;
    # a stray NOTE_OFF is ignored.
    back = performance.decode([60, 256 + 9, 60, 256 + 9, 128 + 61, 128 + 60, 256 + 9, 128 + 60], cfg)
    assert back[["start", "end"]].round(6).values.tolist() == [[0.0, 0.2], [0.1, 0.3]]


def test_performance_decode_never_makes_zero_length_notes():
    cfg = performance.PerformanceConfig()
    # Two strikes of one key inside one 10 ms step: the second note keeps its 0.5 s.
    notes = pd.DataFrame({"pitch": [60, 60], "velocity": [80, 80], "start": [1.0, 1.003], "end": [1.004, 1.503]})
    back = performance.decode(performance.encode(notes, cfg), cfg)
    assert back[["start", "end"]].round(6).values.tolist() == [[1.0, 1.01], [1.0, 1.5]]
    # Overlapping strikes of one key (as --no-sustain corpora have) keep their lengths.
    notes = pd.DataFrame({"pitch": [60, 60], "velocity": [80, 80], "start": [0.0, 0.5], "end": [0.8, 1.2]})
    back = performance.decode(performance.encode(notes, cfg), cfg)
    assert back[["start", "end"]].round(6).values.tolist() == [[0.0, 0.8], [0.5, 1.2]]
    # A NOTE_OFF in the step of its NOTE_ON still leaves a one-step note.
    back = performance.decode([60, 128 + 60], cfg)
    assert back[["start", "end"]].round(6).values.tolist() == [[0.0, 0.01]]


def test_performance_decode_policy_for_generated_events():
    cfg = performance.PerformanceConfig()
    events = [60, 64, 256 + 49, 128 + 64] + [256 + 99] * 8  # 60 never released; 8.5 s in all
    assert performance.decode(events, cfg)[["pitch", "end"]].round(6).values.tolist() == [[60, 8.5], [64, 0.5]]
    capped = performance.decode(events, cfg, max_note_seconds=5.0)
    assert capped[["pitch", "end"]].round(6).values.tolist() == [[60, 5.0], [64, 0.5]]
    # The default keeps a real 7 s note: the cap is for generated events only.
    notes = pd.DataFrame({"pitch": [60], "velocity": [80], "start": [0.0], "end": [7.0]})
    assert performance.decode(performance.encode(notes, cfg), cfg)["end"].tolist() == [7.0]
    # cut_restrikes: a key holds one note at a time; the following NOTE_OFF closes the new one.
    events = [60, 256 + 9, 60, 256 + 9, 128 + 60, 256 + 9, 128 + 60]
    cut = performance.decode(events, cfg, cut_restrikes=True)
    assert cut[["start", "end"]].round(6).values.tolist() == [[0.0, 0.1], [0.1, 0.2]]
    stacked = performance.decode(events, cfg)
    assert stacked[["start", "end"]].round(6).values.tolist() == [[0.0, 0.2], [0.1, 0.3]]
    # A re-strike in the note's own 10 ms step is one strike: one note, not two that overlap.
    same_step = performance.decode([60, 60, 256 + 49, 128 + 60], cfg, cut_restrikes=True)
    assert same_step[["pitch", "start", "end"]].round(6).values.tolist() == [[60, 0.0, 0.5]]


def test_performance_encode_matches_the_reference_loop():
    """The vectorized encoder against a plain event-by-event loop (the definition)."""
    cfg = performance.PerformanceConfig()
    notes = notes_of(MIDI_FILES[0])
    for scale in (1.0, 0.95):
        on = np.round(notes["start"].to_numpy() * scale / 0.01).astype(int)
        off = np.maximum(np.round(notes["end"].to_numpy() * scale / 0.01).astype(int), on + 1)
        vb = cfg.velocity_bins.quantize(notes["velocity"].to_numpy())
        events = sorted([(t, 0, p, -1) for t, p in zip(off, notes["pitch"])] + [(t, 1, p, v) for t, p, v in zip(on, notes["pitch"], vb)])
        ref, now, vel = [], 0, -1
        for t, kind, p, v in events:
            while t > now:
                k = min(t - now, 100)
                ref.append(256 + k - 1)
                now += k
            if kind == 1 and v != vel:
                ref.append(cfg.velocity + v)
                vel = v
            ref.append((0 if kind else 128) + p)
        assert performance.encode(notes, cfg, time_scale=scale).tolist() == ref


def test_note_tuples_time_scale():
    notes = notes_of(MIDI_FILES[0])
    cfg = note_tuples.NoteTupleConfig()
    slow = note_tuples.decode(note_tuples.encode(notes, cfg, time_scale=1.05), cfg)
    assert abs(slow["start"].max() / notes["start"].max() - 1.05) < 0.001


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
def test_no_real_note_starts_on_a_key_held_down(path):
    """HeldKeys' quantization bounds hold on real music: prepared data ends a note where its key
    is struck again, so no note of the corpus starts on a key its rule calls held."""
    tokens = note_tuples.encode(notes_of(path))
    held = note_tuples.held_keys(tokens)
    assert not held[np.arange(len(tokens)), tokens[:, 1]].any()
    assert held.sum(1).max() >= 3  # not vacuous: keys do stay down while others start


def test_held_keys_by_hand():
    cfg = note_tuples.NoteTupleConfig()
    notes = pd.DataFrame({"pitch": [60, 64, 60], "velocity": [80, 80, 80], "start": [0.0, 0.5, 2.0], "end": [1.5, 0.6, 2.5]})
    held = note_tuples.held_keys(note_tuples.encode(notes, cfg), cfg)
    assert held[1].nonzero()[0].tolist() == [60]  # C4 still down at 0.5 s
    assert not held[2].any()  # both released by 2 s


def test_cut_restrikes_ends_a_note_where_its_key_is_struck_again():
    from pianogen.data.midi import notes_frame

    notes = notes_frame([60, 60, 64, 60], [80] * 4, [0.0, 0.5, 0.5, 2.0], [1.0, 0.8, 3.0, 2.5])
    out = note_tuples.cut_restrikes(notes)
    assert out["end"].tolist() == [0.5, 0.8, 3.0, 2.5]
    assert np.allclose(out["duration"], out["end"] - out["start"])
    real = notes_of(MIDI_FILES[0])
    pd.testing.assert_frame_equal(note_tuples.cut_restrikes(real), real)  # prepared notes already hold one note per key
