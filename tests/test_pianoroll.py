"""Pianoroll representation (round trips on every bundled file) and MuseGAN metrics by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import MIDI_FILES, file_id
from pianogen.data import read_midi
from pianogen.metrics.musegan import empty_bars, musegan_metrics, qualified_notes, short_notes, tonal_distance, used_pitch_classes
from pianogen.representations import pianoroll as pr
from pianogen.representations.pianoroll import PianorollConfig


def grid_notes(notes: pd.DataFrame, cfg: PianorollConfig) -> pd.DataFrame:
    """What the roll can hold: (pitch, onset step), minus second strikes in the adjacent step."""
    on = np.round(notes["start"].to_numpy() * cfg.steps_per_second).astype(int)
    g = pd.DataFrame({"pitch": notes["pitch"].to_numpy(), "on": on}).drop_duplicates()
    g = g.sort_values(["pitch", "on"])
    prev = g.groupby("pitch")["on"].shift()
    return g[~(g["on"] - prev == 1)]


@pytest.mark.parametrize("split", ["voices", "hands", "single"])
@pytest.mark.parametrize("path", MIDI_FILES[::4], ids=file_id)
def test_notes_roll_notes_keeps_every_note(path, split):
    cfg = PianorollConfig(split=split)
    notes = read_midi(path)
    roll = pr.encode(notes, cfg)
    assert roll.shape[0] == len(cfg.tracks) and roll.shape[2:] == (32, 88) and roll.dtype == bool
    back = pr.decode(roll, cfg)
    expected = grid_notes(notes, cfg)
    got = set(zip(back["pitch"], np.round(back["start"] * cfg.steps_per_second).astype(int)))
    assert set(zip(expected["pitch"], expected["on"])) <= got
    # Lost at this resolution: second strikes of a key within one 62.5 ms step (up to 4.3%
    # of the notes in the most tremolo-heavy bundled piece).
    assert len(expected) >= 0.95 * len(notes)
    # Durations: at grid resolution, or cut one step before the key's next strike.
    if split == "single":
        on = np.round(notes["start"] * 16).astype(int).to_numpy()
        off = np.maximum(np.round(notes["end"] * 16).astype(int).to_numpy(), on + 1)
        ref = pd.DataFrame({"pitch": notes["pitch"], "on": on, "off": off}).groupby(["pitch", "on"])["off"].max()
        b_on = np.round(back["start"] * 16).astype(int)
        b_off = np.round(back["end"] * 16).astype(int)
        onsets = set(zip(notes["pitch"], on))
        for p, a, b in zip(back["pitch"], b_on, b_off):
            if (p, a + 1) not in onsets:  # a strike one step later merges into this run
                assert b <= ref[(p, a)]  # never longer than the quantized note


@pytest.mark.parametrize("split", ["voices", "hands", "single"])
@pytest.mark.parametrize("path", MIDI_FILES[1::6], ids=file_id)
def test_roll_notes_roll_is_exact(path, split):
    cfg = PianorollConfig(split=split)
    roll = pr.encode(read_midi(path), cfg)
    back = pr.decode(roll, cfg)
    again = pr.to_bars(pr.notes_to_roll(back, cfg, tracks=back["track"].to_numpy(), n_steps=roll.shape[1] * roll.shape[2]), cfg)
    assert np.array_equal(again, roll)


def test_random_roll_round_trip():
    rng = np.random.default_rng(0)
    cfg = PianorollConfig()
    roll = rng.random((3, 4, 32, 88)) < 0.05
    back = pr.decode(roll, cfg)
    again = pr.to_bars(pr.notes_to_roll(back, cfg, tracks=back["track"].to_numpy(), n_steps=128), cfg)
    assert np.array_equal(again, roll)


def test_voice_split_by_hand():
    cfg = PianorollConfig()
    # A chord C3 E4 G5 at 0 s; then a lone D4 at 2 s.
    notes = pd.DataFrame({"pitch": [48, 64, 79, 62], "velocity": [80] * 4, "start": [0, 0, 0, 2.0], "end": [1, 1, 1, 3.0]})
    assert pr.assign_tracks(notes, cfg).tolist() == [2, 1, 0, 0]  # bass, inner, melody, melody
    hands = PianorollConfig(split="hands")
    assert pr.assign_tracks(notes, hands).tolist() == [1, 0, 0, 0]


def test_metrics_by_hand():
    # 1 sample, 2 tracks, 2 bars, 8 steps, 24 pitches from C (low=48).
    r = np.zeros((1, 2, 2, 8, 24), dtype=bool)
    r[0, 0, 0, 0:4, 0] = True  # C, 4 steps (qualified)
    r[0, 0, 0, 0:2, 4] = True  # E, 2 steps (not qualified)
    r[0, 0, 0, 4:7, 19] = True  # G (next octave), 3 steps
    r[0, 1, 0, 0:8, 12] = True  # track 1: C, whole bar
    assert empty_bars(r).tolist() == [0.5, 0.5]
    assert used_pitch_classes(r, 48).tolist() == [3.0, 1.0]
    assert qualified_notes(r).tolist() == [2 / 3, 1.0]
    r2 = r.copy()
    r2[0, 0, 1, 7, 5] = True  # a one-step fragment ...
    r2[0, 0, 0, 7, 1] = True  # ... and a key held across the bar line (2 steps, one note)
    r2[0, 0, 1, 0, 1] = True
    assert short_notes(r2).tolist() == [1 / 5, 0.0]
    assert qualified_notes(r2).tolist() == [2 / 5, 1.0]
    # Same chroma -> distance 0; C vs C-E-G -> positive.
    assert tonal_distance(r, 48)[(0, 1)] > 0
    same = r.copy()
    same[0, 1] = same[0, 0]
    assert tonal_distance(same, 48)[(0, 1)] == pytest.approx(0.0)
    m = musegan_metrics(r, ("a", "b"), 48)
    assert set(m) == {"EB/a", "EB/b", "UPC/a", "UPC/b", "QN/a", "QN/b", "SN/a", "SN/b", "TD/a-b"}


def test_tonal_distance_pinned_to_hand_values():
    """Harte et al.'s 6-D tonal centroid, worked by hand: C = (0, 1, 0, 1, 0, 0.5);
    G (pc 7) = (1/2, sqrt(3)/2, 1, 0, sqrt(3)/4, -1/4); F# (pc 6) = (0, -1, 0, -1, 0, 0.5)."""
    r = np.zeros((1, 2, 2, 8, 24), dtype=bool)
    r[0, 0, :, :, 0] = True  # track 0: C in both bars
    r[0, 1, 0, :, 7] = True  # track 1: G in bar 0
    r[0, 1, 1, :, 6] = True  # track 1: F# in bar 1
    d_cg = np.sqrt(0.25 + (1 - np.sqrt(3) / 2) ** 2 + 1 + 1 + 3 / 16 + 9 / 16)
    d_cfs = np.sqrt(8.0)  # the tritone is the farthest point on the fifths and minor-thirds circles
    assert tonal_distance(r, 48)[(0, 1)] == pytest.approx((d_cg + d_cfs) / 2, rel=1e-9)
    # A bar where one track is silent does not count.
    r[0, 1, 1] = False
    assert tonal_distance(r, 48)[(0, 1)] == pytest.approx(d_cg, rel=1e-9)


@pytest.mark.parametrize("path", MIDI_FILES[:2], ids=file_id)
def test_onsets_and_frames_round_trip_on_real_music(path):
    """Frames decoded from a real roll's own onsets are that roll: the onset channel loses nothing."""
    roll = pr.encode(read_midi(path))
    on = pr.onsets(roll)
    assert on.sum() == len(pr.decode(roll))  # one onset per note
    assert np.array_equal(pr.frames_from_onsets(roll, on), roll)
    assert np.array_equal(pr.binarize(np.concatenate([roll, on])[None].astype(float), 3)[0], roll)


@pytest.mark.parametrize("path", MIDI_FILES[:2], ids=file_id)
def test_note_lengths_match_runs_counted_key_by_key(path):
    """Lengths read off a real roll in bars equal the runs of each key counted one by one
    (itertools.groupby over its time line, bar lines ignored); the histogram's shares add to 1."""
    from itertools import groupby

    from pianogen.evaluation.musegan_table import length_histogram

    roll = pr.encode(read_midi(path))
    lines = roll.reshape(roll.shape[0], -1, roll.shape[-1])  # (tracks, time, keys)
    runs = [len(list(g)) for t in range(lines.shape[0]) for k in range(lines.shape[2]) for on, g in groupby(lines[t, :, k]) if on]
    lengths = pr.note_lengths(roll)
    assert sorted(lengths) == sorted(runs) and len(runs) > 100
    shares = length_histogram(roll[None])
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["length 1 step"] == pytest.approx(np.mean(np.array(runs) == 1))


def test_frames_without_onsets_are_dropped_and_restrikes_split():
    f = np.zeros((1, 1, 8, 3), bool)
    o = np.zeros_like(f)
    f[0, 0, 0:5, 0] = o[0, 0, 0, 0] = True  # a note, steps 0-4 ...
    f[0, 0, 6, 0] = True  # ... then a fragment with no onset
    f[0, 0, 0:6, 1] = o[0, 0, 0, 1] = o[0, 0, 3, 1] = True  # held, struck again at step 3
    f[0, 0, 0:3, 2] = o[0, 0, 1, 2] = True  # frames before its onset are not a note
    out = pr.frames_from_onsets(f, o)[0, 0].T.astype(int)
    assert out.tolist() == [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 0, 1, 1, 1, 0, 0], [0, 1, 1, 0, 0, 0, 0, 0]]
    with pytest.raises(ValueError, match="channels"):
        pr.binarize(np.zeros((1, 5, 1, 8, 3)), 3)


@pytest.mark.parametrize("path", MIDI_FILES[2::6], ids=file_id)
def test_velocity_roll_round_trip(path):
    """A velocity roll holds each note's velocity on its steps; decoding gives it back exactly for
    every note the grid keeps apart, and the roll re-encodes to itself (but for the runs where
    two strikes of a key in adjacent steps merged: they play at their mean)."""
    cfg = PianorollConfig(split="single")
    notes = read_midi(path)
    roll = pr.encode(notes, cfg, velocity=True)
    assert roll.dtype == np.uint8 and np.array_equal(roll > 0, pr.encode(notes, cfg))
    back = pr.decode(roll, cfg)
    again = pr.to_bars(pr.notes_to_roll(back, cfg, tracks=back["track"].to_numpy(), n_steps=roll.shape[1] * roll.shape[2], velocity=True), cfg)
    assert np.array_equal(again > 0, roll > 0)
    assert (again[roll > 0] == roll[roll > 0]).mean() > 0.95  # 2.3% of the steps merge in the trilliest file
    # Against the file: notes alone at their (pitch, onset step), with no strike of the key
    # in the step after (which would merge into one run), keep their velocity.
    on = np.round(notes["start"].to_numpy() * cfg.steps_per_second).astype(int)
    key = pd.Series(list(zip(notes["pitch"], on)))
    nxt = set(zip(notes["pitch"], on - 1))
    alone = ~key.duplicated(keep=False).to_numpy() & np.array([k not in nxt for k in key])
    want = dict(zip(key[alone], notes["velocity"].to_numpy()[alone]))
    got = dict(zip(zip(back["pitch"], np.round(back["start"] * cfg.steps_per_second).astype(int)), back["velocity"]))
    assert len(want) > 0.9 * len(notes)
    assert all(got[k] == v for k, v in want.items() if k in got)
    assert sum(k in got for k in want) > 0.95 * len(want)


def test_decoded_velocity_is_the_mean_over_the_note():
    cfg = PianorollConfig(split="single")
    frames = np.zeros((1, 1, 32, 88), dtype=bool)
    frames[0, 0, 2:6, 10] = True
    vel = np.zeros(frames.shape)
    vel[0, 0, 2:6, 10] = [0.2, 0.4, 0.6, 0.8]  # mean 0.5 -> 63.5 -> 64
    vel[0, 0, 7, 10] = 1.0  # silent step: ignored
    df = pr.roll_to_notes(frames, cfg, velocity=vel)
    assert df["velocity"].tolist() == [64] and pr.roll_to_notes(frames, cfg)["velocity"].tolist() == [cfg.velocity]
