"""A passage's texture (``pianogen.representations.textures``): rhythm, density and loudness
classes of real crops against the per-passage features the generator is matched on (an
independent torch count), made-up passages of each kind, and the encode/decode pairs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import MIDI_FILES
from pianogen.data import read_midi
from pianogen.representations import pianoroll as pr
from pianogen.representations import textures as tx

CFG = pr.PianorollConfig()  # 32-step bars: the classes only need steps, read here as 12 per beat


@pytest.fixture(scope="module")
def crops() -> tuple[np.ndarray, np.ndarray]:
    """(frames, velocity in [0, 1]) of the first 24 bars of three real performances, as crops of 4 bars."""
    out = []
    for path in MIDI_FILES[:3]:
        roll = pr.notes_to_roll(read_midi(path), CFG, velocity=True)[:, : 24 * CFG.steps_per_bar]  # (tracks, steps, pitches), MIDI velocity
        out.append(roll.reshape(roll.shape[0], 6, CFG.n_bars, CFG.steps_per_bar, roll.shape[-1]).transpose(1, 0, 2, 3, 4))
    v = np.concatenate(out).astype(np.float32) / 127
    return v > 0, v


def test_classes_of_real_passages_agree_with_the_generators_per_passage_features(crops):
    """The rhythm class is the most common of the gap classes that crop_features counts (in torch,
    with its own onset code), density and loudness its keys per step and mean velocity, binned."""
    from pianogen.models.musegan import MuseGANConfig
    from pianogen.training.feature_matching import DENSITY_UNIT, SHARE_UNIT, VELOCITY_UNIT, crop_features

    frames, vel = crops
    got = tx.texture_classes(frames, vel)
    c = MuseGANConfig(steps_per_bar=CFG.steps_per_bar, velocity=True)
    f = crop_features(torch.from_numpy(np.concatenate([frames, vel], 1)).float(), c).double().numpy()
    gaps = f[:, 2:6] * SHARE_UNIT  # gaps of 3, 4, 5-6 and 7-12 steps
    want_rhythm = np.where(gaps.max(1) > 0, gaps.argmax(1), 3)
    np.testing.assert_array_equal(got[:, 0], want_rhythm)
    np.testing.assert_array_equal(got[:, 1], np.searchsorted(tx.DENSITY_EDGES, f[:, 8] * DENSITY_UNIT * 12, side="right"))
    np.testing.assert_array_equal(got[:, 2], np.searchsorted(tx.LOUDNESS_EDGES, f[:, 10] * VELOCITY_UNIT * 127, side="right"))
    assert len({tuple(r) for r in got}) > 3  # real passages are of several kinds


@pytest.mark.parametrize("every, rhythm", [(3, 0), (4, 1), (6, 2), (12, 3), (24, 3)])
def test_a_passage_of_one_gap_is_of_that_rhythm(every, rhythm):
    frames = np.zeros((1, 3, 4, 48, 88), dtype=bool)
    frames[0, 0, :, :, 60] = True  # held notes, each released a step before the next starts (across bar lines too)
    frames[0, 0, :, every - 1 :: every, 60] = False
    frames[0, 2, :, 0::every, 30] = True  # the bass with it: one onset time
    got = tx.texture_classes(frames, frames * 0.5)
    assert got[0, 0] == rhythm


def test_density_and_loudness_follow_their_edges():
    frames = np.zeros((3, 3, 4, 48, 88), dtype=bool)
    frames[:, 0, :, 0::12, 60] = True  # one key a beat
    frames[1, 1, :, 0::3, 50] = True  # and four more
    frames[2, :, :, 0::3, 40:43] = True  # 36 keys a beat
    vel = frames * np.array([40, 65, 100])[:, None, None, None, None] / 127
    got = tx.texture_classes(frames, vel)
    np.testing.assert_array_equal(got[:, 1], [0, 1, 2])
    np.testing.assert_array_equal(got[:, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="multiple of 12"):
        tx.texture_classes(frames, vel, steps_per_beat=16)


def test_index_names_and_parsing_round_trip():
    every = tx.texture_from_index(np.arange(tx.N_TEXTURES))
    assert len({tuple(r) for r in every}) == tx.N_TEXTURES
    np.testing.assert_array_equal(tx.texture_index(every), np.arange(tx.N_TEXTURES))
    for row in every:
        assert tx.parse_texture(tx.texture_name(row)) == tuple(int(v) for v in row)
    assert tx.parse_texture("Triplets, soft") == (1, None, 0)
    assert tx.parse_texture("") == (None, None, None)
    with pytest.raises(ValueError, match="unknown texture 'fast'"):
        tx.parse_texture("fast, loud")
    with pytest.raises(ValueError, match="names two rhythms"):
        tx.parse_texture("triplets eighths")


def test_texture_groups_number_each_combination_of_the_named_factors():
    every = tx.texture_from_index(np.arange(tx.N_TEXTURES))
    np.testing.assert_array_equal(tx.texture_group(every, (0, 1, 2)), tx.texture_index(every))
    assert tx.parse_factors("density, Rhythm") == (0, 1) and tx.parse_factors("") == () and tx.n_groups(()) == 1
    for factors in [(0,), (1,), (0, 1), (1, 2)]:
        groups = tx.texture_group(every, factors)
        assert sorted(set(groups.tolist())) == list(range(tx.n_groups(factors)))
        for g in range(tx.n_groups(factors)):  # a group is one combination of the factors' classes
            assert len({tuple(r) for r in every[groups == g][:, list(factors)]}) == 1
    np.testing.assert_array_equal(tx.texture_group(torch.from_numpy(every), (0, 1)).numpy(), tx.texture_group(every, (0, 1)))
    assert (tx.texture_group(every, ()) == 0).all()
    with pytest.raises(ValueError, match="unknown texture factor 'tempo'"):
        tx.parse_factors("rhythm, tempo")


def test_drawn_textures_keep_the_asked_classes_and_real_shares():
    shares = np.zeros(tx.N_TEXTURES)
    shares[tx.texture_index([0, 2, 2])] = 0.75
    shares[tx.texture_index([1, 0, 0])] = 0.25
    rng = np.random.default_rng(0)
    drawn = tx.draw_textures(shares, 4000, rng)
    assert set(map(tuple, drawn)) == {(0, 2, 2), (1, 0, 0)}  # never a kind real music lacks
    assert abs((drawn[:, 0] == 0).mean() - 0.75) < 0.03
    np.testing.assert_array_equal(np.unique(tx.draw_textures(shares, 50, rng, (1, None, None)), axis=0), [[1, 0, 0]])  # the rest as real music has it
    soft_eighths = tx.draw_textures(shares, 50, rng, (2, None, 0))  # none in real music: any of that kind
    assert (soft_eighths[:, 0] == 2).all() and (soft_eighths[:, 2] == 0).all()
    assert len(np.unique(tx.draw_textures(np.array([]), 200, rng), axis=0)) > 20  # no shares: uniform
    with pytest.raises(ValueError, match="density class must be 0-2"):
        tx.draw_textures(shares, 1, rng, (None, 3, None))
