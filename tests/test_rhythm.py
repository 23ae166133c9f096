"""Where in the beat notes start: the GRID metric, onset positions and gaps, the critic's rhythm stream and the smoother's
place in the beat (``MuseGANConfig.rhythm``), growing them from a trained MuseGAN."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
import torch

from pianogen.metrics.musegan import grid_share
from pianogen.models.musegan import MuseGAN, MuseGANConfig, Smoother, beat_onset_shares

MUSICAL = {"z_dim": 8, "g_channels": 32, "d_channels": 16, "steps_per_bar": 48, "block": 12, "smoother": True, "velocity": True}


def test_beat_onset_shares_by_hand():
    counts = torch.zeros(1, 2, 1, 48)
    counts[0, 0, 0, [0, 12, 24, 36]] = 1  # every beat's first step
    counts[0, 0, 0, 27] = 2  # two notes a sixteenth after beat 3
    shares = beat_onset_shares(counts, 12)
    assert shares.shape == (1, 2, 1, 12)
    torch.testing.assert_close(shares[0, 0, 0, [0, 3]], torch.tensor([4.0, 2.0]) / 7)  # 6 onsets, one onset's worth added
    assert shares[0, 0, 0].sum() < 1 and shares[0, 0, 0, [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]].eq(0).all()
    assert shares[0, 1].eq(0).all()  # a silent track has no shares
    # Fakes are probabilities: a nearly silent bar's shares stay near zero, not near one.
    assert beat_onset_shares(counts * 1e-3, 12).max() < 0.01


def test_grid_share_by_hand():
    roll = np.zeros((1, 2, 2, 48, 88), dtype=bool)
    for step in (0, 3, 6, 9, 13):  # four sixteenths and one step off the grid
        roll[0, 0, 0, step, 40] = True
    roll[0, 0, 0, 22:30, 50] = True  # a note held over steps 23-29 starts once, off the grid (22 = 12 + 10)
    roll[0, 0, 0, 16, 52] = True  # a triplet eighth (16 = 12 + 4): on the grid
    roll[0, 0, 1, 0:5, 60] = True  # bar 2's first sixteenth
    roll[0, 0, 0, 47, 60] = True  # ... tied to bar 1's last step: one note, starting at step 47
    out = grid_share(roll, 12, ("melody", "bass"))
    assert out["GRID/melody"] == pytest.approx(5 / 8) and np.isnan(out["GRID/bass"])
    with pytest.raises(ValueError, match="triplet"):
        grid_share(roll, 10, ("melody", "bass"))


def test_rhythm_needs_a_beat_and_the_smoother():
    with pytest.raises(ValueError, match="steps per beat"):
        MuseGANConfig(**{**MUSICAL, "rhythm": 10})
    with pytest.raises(ValueError, match="smoother"):
        MuseGANConfig(**{**MUSICAL, "smoother": False, "rhythm": 12})


def test_a_grown_rhythm_starts_as_the_model_and_then_reaches_the_notes(tmp_path):
    """Grown from a MuseGAN without it, a rhythm model generates and scores exactly as before;
    the critic's loss reaches both new parts, and a phase bias changes the notes by their place
    in the beat only."""
    from pianogen.checkpoints import load_weights, save

    torch.manual_seed(0)
    old = MuseGAN(MuseGANConfig(keys=True, **MUSICAL)).eval()
    for net in old.generator.smoother.nets:  # as after training: the smoother's last layer is no longer zero
        torch.nn.init.normal_(net[-1].weight, std=0.1)
    path = tmp_path / "old.pt"
    save(path, {"kind": "musegan", "model_config": asdict(old.config), "state_dict": old.state_dict()})
    new = MuseGAN(MuseGANConfig(keys=True, rhythm=12, **MUSICAL)).eval()
    grown = load_weights(new, path, grow=True)
    assert {"generator.smoother.phase_bias", "critic.rhythm.0.weight", "critic.temporal.0.weight"} <= set(grown)
    z, key = old.sample_latent(4, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 3, 7, 11])
    with torch.no_grad():
        x = old.generator(z, key)
        torch.testing.assert_close(new.generator(z, key), x)
        torch.testing.assert_close(new.critic(x, key), old.critic(x, key))
    new.train()
    (new.critic(x, key).sum() - new.critic(new.generator(z, key), key).sum()).backward()
    feat = new.critic.temporal[0].weight.shape[1] - 16  # the rhythm stream's 16 features come last, behind a zero gate
    assert new.critic.temporal[0].weight.grad[:, feat:].abs().sum() > 0  # the gate opens at the first step, then the stream learns
    assert new.generator.smoother.phase_bias.grad.abs().sum() > 0


def test_the_smoother_places_by_step_of_the_beat():
    sm = Smoother(1, phases=12)
    for net in sm.nets:
        torch.nn.init.normal_(net[-1].weight)
    flat = torch.zeros(1, 1, 2, 48, 4)
    base = sm(flat)
    with torch.no_grad():
        sm.phase_bias[0, :, 3] = 5.0  # the beat's second sixteenth only
    beats = (sm(flat) - base)[0, 0].reshape(-1, 4).abs().sum(-1).reshape(8, 12).detach()  # the change, per beat and step of it
    inner = beats[1:-1]  # (the passage's first and last beats meet its zero padding)
    torch.testing.assert_close(inner, inner[:1].expand_as(inner))  # the same in every beat, bar lines included
    assert inner[0, :7].gt(0).all() and beats[:, 7:].eq(0).all()  # within reach (3 steps) of that sixteenth only


def test_rhythm_mismatch_is_zero_for_the_same_rhythm_and_pulls_onsets_onto_it():
    """Feature matching on where in the beat notes start: 0 for a batch against itself, the
    largest for onsets on other steps, and its gradient moves a generator's onsets toward the
    real batch's steps."""
    from pianogen.training.feature_matching import rhythm_mismatch

    c = MuseGANConfig(**MUSICAL, rhythm=12)
    real = torch.zeros(2, 6, 4, 48, 88)
    real[:, 0, :, 0::3, 40] = 1  # sixteenths, each one step long
    assert rhythm_mismatch(real, real, c) == 0
    late = torch.roll(real, 1, dims=3)  # every onset one step late
    assert rhythm_mismatch(late, real, c) > 0.5 and rhythm_mismatch(late, real, c) == rhythm_mismatch(real, late, c)
    logits = torch.full((2, 6, 4, 48, 88), -6.0)
    logits[:, 0, :, 1::3, 40] = 6.0  # a "generator" playing one step late
    logits.requires_grad_(True)
    rhythm_mismatch(torch.sigmoid(logits), real, c).backward()
    assert logits.grad[0, 0, 0, 0, 40] < 0 and logits.grad[0, 0, 0, 1, 40] > 0  # raise the sixteenth, lower the late step


def test_gans_rank_on_the_metrics_they_all_have():
    """KS (a keyed model's), GRID (a rhythm model's), GAPS and CHORDS (a feature-matching run's)
    stay out of the distance the app ranks MuseGANs by, so a model is not ranked on what the
    others were never scored on."""
    from pianogen.cards import gan_distance
    from pianogen.training.gan import metric_distance

    real = {"EB/melody": 0.0, "UPC/melody": 5.0, "KS": 0.8, "GRID/melody": 0.89, "GAPS": 0.0, "CHORDS": 0.0}
    gen = {"EB/melody": 0.1, "UPC/melody": 4.4, "KS": 0.2, "GRID/melody": 0.3, "GAPS": 0.4, "CHORDS": 0.3}
    shared = {k: real[k] for k in ("EB/melody", "UPC/melody")}
    assert gan_distance({"real": real, "generated": gen}) == pytest.approx(metric_distance(gen, shared)) == pytest.approx((0.1 + 0.05) / 2)


def test_onset_gaps_by_hand():
    from pianogen.evaluation.musegan_table import onset_gaps

    roll = np.zeros((2, 3, 2, 48, 88), dtype=bool)
    roll[0, 0, 0, [0, 3, 6, 7], 40] = True  # gaps 3, 3, 1 (steps 6 and 7: one key held, one onset at 6)
    roll[0, 0, 0, 7, 50] = True  # ... and a second key starting at 7
    roll[0, 2, 0, 3, 30] = True  # a bass note at 3 joins the melody's onset there
    roll[0, 1, 1, 0, 60] = True  # bar 2's first step: a gap of 48 - 7 = 41 across the bar line
    roll[1, 0, 0, [10, 12], 45] = True  # the second passage: one gap of 2 (its own time axis)
    assert onset_gaps(roll, (1, 3, 2, 41)) == {1: 1 / 5, 3: 2 / 5, 2: 1 / 5, 41: 1 / 5}


def test_total_variation_by_hand():
    from pianogen.evaluation.musegan_table import beat_positions, total_variation
    from pianogen.representations import pianoroll as pr

    cfg = pr.PianorollConfig(steps_per_beat=12, beats_per_bar=4, n_bars=1, tempo_bpm=120)
    duple = np.zeros((1, 3, 1, 48, 88), dtype=bool)
    duple[0, 0, 0, 0::3, 40] = True  # every sixteenth: 16 notes, 4 on each of steps 0, 3, 6, 9
    triple = np.zeros_like(duple)
    triple[0, 1, 0, 0::4, 50] = True  # every triplet eighth
    np.testing.assert_allclose(beat_positions(duple, cfg)[[0, 3, 6, 9]], 0.25)
    assert total_variation(beat_positions(duple, cfg), beat_positions(duple, cfg)) == 0
    assert total_variation(beat_positions(duple, cfg), beat_positions(triple, cfg)) == pytest.approx(0.75)  # they share step 0 only: min(1/4, 1/3) of the notes stay
