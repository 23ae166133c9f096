"""Key signatures as scale classes (pianogen.representations.keys), the key-conditioned MuseGAN
(generator and critic inputs, growing from an unkeyed model) and the KS metric."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from pianogen.metrics.musegan import key_scale_share
from pianogen.models.musegan import MuseGAN, MuseGANConfig, key_relative
from pianogen.representations.keys import best_key, in_scale_share, key_class, key_name, key_sharps, parse_key, scale_mask

KEYED = {"z_dim": 8, "g_channels": 32, "d_channels": 16, "steps_per_bar": 48, "block": 12}


def test_signatures_and_classes():
    assert [key_class(s) for s in (0, 1, -1, 2, -3, 6, -6, 7, -5)] == [0, 7, 5, 2, 3, 6, 6, 1, 1]
    assert [key_sharps(k) for k in range(12)] == [0, -5, 2, -3, 4, -1, 6, 1, -4, 3, -2, 5]
    assert all(key_class(key_sharps(k)) == k for k in range(12))
    assert key_name(7) == "G major / E minor (1 sharp)" and key_name(3) == "Eb major / C minor (3 flats)"
    assert np.flatnonzero(scale_mask(0)).tolist() == [0, 2, 4, 5, 7, 9, 11]
    assert np.flatnonzero(scale_mask(7)).tolist() == [0, 2, 4, 6, 7, 9, 11]  # G major: F#


@pytest.mark.parametrize("text, key", [("C", 0), ("G major", 7), ("E minor", 7), ("Em", 7), ("Bb", 10), ("F# minor", 9),
                                       ("Eb maj", 3), ("c min", 3), ("D\u266d", 1)])
def test_parse_key(text, key):
    assert parse_key(text) == key


@pytest.mark.parametrize("text", ["", "H major", "C dorian", "C major please", "Cx"])
def test_parse_key_refuses_with_the_text(text):
    with pytest.raises(ValueError, match="key"):
        parse_key(text)


@given(st.integers(-7, 7), st.integers(-12, 12))
def test_transposing_music_moves_its_key_class(sharps, shift):
    """A C-major-in-its-signature melody transposed by ``shift`` keeps to the moved class's scale."""
    tonic = key_class(sharps)
    scale = np.array([60 + tonic + d for d in (0, 2, 4, 5, 7, 9, 11, 12)])
    assert in_scale_share(scale, tonic) == 1.0
    assert in_scale_share(scale + shift, (tonic + shift) % 12) == 1.0
    assert best_key(scale + shift) == (tonic + shift) % 12


def test_key_relative_chroma_counts_from_the_tonic():
    chroma = torch.arange(24.0).view(2, 12)
    out = key_relative(chroma, torch.tensor([0, 7]))
    assert out[0].tolist() == list(range(12)) and out[1, 0] == 12 + 7 and out[1, 5] == 12 + 0
    # A roll's index 0 is A0 (MIDI 21, pitch class 9): C's chroma sits at index 3.
    assert key_relative(chroma, torch.tensor([0, 0]), low=21)[:, 0].tolist() == [3, 15]


def test_the_key_profile_reaches_the_notes_in_every_key():
    """With a profile that favours the scale's degrees, the generator keeps to whichever key it is
    asked for: the profile is counted from the asked tonic."""
    torch.manual_seed(0)
    m = MuseGAN(MuseGANConfig(keys=True, **KEYED)).eval()
    with torch.no_grad():
        m.generator.key_profile[:] = torch.where(torch.from_numpy(scale_mask(0)), 8.0, -8.0)
    z = m.sample_latent(12, generator=torch.Generator().manual_seed(3))
    keys = torch.arange(12)
    with torch.no_grad():
        rolls = (m.generator(z, keys)[:, :3] > 0.5).numpy()
    assert rolls.any() and key_scale_share(rolls, keys.numpy(), 21) == 1.0
    assert key_scale_share(rolls, ((keys + 1) % 12).numpy(), 21) < 0.75


def test_key_scale_share_counts_notes_not_steps():
    roll = np.zeros((2, 1, 1, 48, 88), dtype=bool)
    roll[0, 0, 0, :40, 60 - 21] = True  # one long C
    roll[0, 0, 0, 0:2, 61 - 21] = True  # one short C#
    roll[1, 0, 0, 0:2, 66 - 21] = True  # one F#
    assert key_scale_share(roll, [0, 7], 21) == pytest.approx(2 / 3)  # C in C, C# not, F# in G
    assert key_scale_share(roll, [0, -1], 21) == pytest.approx(1 / 2)  # unknown keys are left out


def test_keyed_musegan_needs_and_obeys_its_key():
    torch.manual_seed(0)
    m = MuseGAN(MuseGANConfig(keys=True, **KEYED)).eval()
    z = m.sample_latent(3, generator=torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="conditioned on a key"):
        m.generator(z)
    x = m.generator(z, torch.tensor([0, 5, 11]))
    assert x.shape == (3, 3, 4, 48, 88)
    assert m.critic(x, torch.tensor([0, 5, 11])).shape == (3,)
    with pytest.raises(ValueError, match="no key condition"):
        MuseGAN(MuseGANConfig(**KEYED)).generator(z, torch.tensor([0, 0, 0]))


def test_a_grown_key_condition_starts_as_the_unkeyed_model(tmp_path):
    """Grown from an unkeyed MuseGAN, the keyed one generates and scores exactly as it did, for
    every key, until training gives the key its say."""
    from dataclasses import asdict

    from pianogen.checkpoints import load_weights, save

    torch.manual_seed(0)
    old = MuseGAN(MuseGANConfig(**KEYED)).eval()
    path = tmp_path / "old.pt"
    save(path, {"kind": "musegan", "model_config": asdict(old.config), "state_dict": old.state_dict()})
    new = MuseGAN(MuseGANConfig(keys=True, **KEYED)).eval()
    grown = load_weights(new, path, grow=True)
    assert "generator.project.0.weight" in grown and "critic.temporal.0.weight" in grown
    assert any(k.startswith("critic.key_chroma") for k in grown)
    z = old.sample_latent(4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        x = old.generator(z)
        for key in (0, 4, 9):
            k = torch.full((4,), key)
            torch.testing.assert_close(new.generator(z, k), x)
            torch.testing.assert_close(new.critic(x, k), old.critic(x))


def test_a_model_without_keys_refuses_one():
    from pianogen.sampling import sample_gan

    with pytest.raises(ValueError, match="no key condition"):
        sample_gan("checkpoints/musegan-bars.pt", seed=0, bars=1, key=3)
    assert sample_gan("checkpoints/musegan-bars.pt", seed=0, bars=1).keys is None
