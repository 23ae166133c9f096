"""Feature matching for MuseGAN's generator (``pianogen.training.feature_matching``): the gaps
between successive onsets, the intervals of keys struck together, dynamics, restrikes and the
per-passage features, counted on real MIDI against independent numpy counts, and their gradients
pointing a generator toward the target."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import MIDI_FILES
from pianogen.data import read_midi
from pianogen.evaluation.musegan_table import onset_gaps
from pianogen.models.musegan import MuseGANConfig
from pianogen.representations import pianoroll as pr
from pianogen.training.feature_matching import (MATCHED, chord_interval_shares, gap_statistic, grouped_targets, heard_onsets, mismatch,
                                                onset_gap_shares, per_group, real_targets)

CFG = pr.PianorollConfig()  # clock time: 16 steps per second, bars of 32 steps, 4 bars per crop


@pytest.fixture(scope="module")
def crops() -> np.ndarray:
    """(crops, tracks, bars, steps, pitches) bool: the first 24 bars of two real performances."""
    out = []
    for path in MIDI_FILES[:2]:
        roll = pr.encode(read_midi(path), CFG)[:, :24]  # (tracks, bars, steps, pitches)
        out.append(roll.reshape(roll.shape[0], 6, CFG.n_bars, *roll.shape[2:]).transpose(1, 0, 2, 3, 4))
    return np.concatenate(out)


def test_heard_onsets_are_the_thresholded_rolls_onsets_with_gradients(crops):
    probs = torch.from_numpy(crops).float() * 0.9 + 0.05  # soft, but on the same side of 0.5
    probs.requires_grad_(True)
    on = heard_onsets(probs)
    np.testing.assert_array_equal(on.detach().numpy(), pr.onsets(crops).astype(np.float32))
    on[0, 0, 0, 5].sum().backward()  # every key at one step: d(on_t)/d(p_t) = 1 - p_(t-1), at keys silent before
    grad = probs.grad[0, 0, 0, 5]
    assert (grad != 0).any() and torch.all(grad[crops[0, 0, 0, 4]] < 0.1)


def test_onset_gap_shares_count_the_gaps_numpy_counts(crops):
    """Per voice and for all voices together, the gaps of 1 .. 16 steps, against
    ``musegan_table.onset_gaps`` (numpy over the same onsets)."""
    max_gap = 16
    shares = onset_gap_shares(torch.from_numpy(pr.onsets(crops)).float(), max_gap).numpy()
    assert shares.shape == (crops.shape[1] + 1, max_gap)
    for row, rolls in enumerate([crops[:, v : v + 1] for v in range(crops.shape[1])] + [crops]):
        on = pr.onsets(rolls).any(axis=(1, -1)).reshape(len(rolls), -1)
        n_onsets, n_gaps = on.sum(), on.sum() - (on.any(1)).sum()  # a passage's last onset has no next one
        gap_shares = onset_gaps(rolls, tuple(range(1, max_gap + 1)))
        counts = np.array([gap_shares[k] for k in range(1, max_gap + 1)]) * n_gaps
        np.testing.assert_allclose(shares[row] * (n_onsets + 1), counts, atol=1e-3)
    assert shares[-1, 0] > 0.05 and shares[-1].sum() > 0.9  # real music: some one-step gaps, few gaps over a second


def test_chord_interval_shares_count_pairs_of_keys_struck_together(crops):
    on = pr.onsets(crops).any(axis=1)  # (crops, bars, steps, pitches): keys struck, any voice
    counts = np.zeros(7)
    for keys in on.reshape(-1, on.shape[-1]):
        k = np.flatnonzero(keys)
        d = (k[None, :] - k[:, None])[np.triu_indices(len(k), 1)] % 12
        np.add.at(counts, np.minimum(d, 12 - d), 1)
    shares = chord_interval_shares(torch.from_numpy(pr.onsets(crops)).float()).numpy()
    np.testing.assert_allclose(shares, counts / (counts.sum() + 1), rtol=1e-5)
    assert shares[1] < shares[3]  # real chords: fewer semitones and sevenths than thirds and sixths


def test_real_targets_are_the_mean_of_batches_and_match_themselves(crops):
    c = MuseGANConfig(steps_per_bar=CFG.steps_per_bar)
    x = torch.from_numpy(crops).float()
    names = [n for n in MATCHED if n != "dynamics"]  # these binary rolls carry no velocities
    targets = real_targets([x[:6], x[6:]], c, names)
    torch.testing.assert_close(targets["gap"], (gap_statistic(x[:6], c) + gap_statistic(x[6:], c)) / 2)
    assert targets["chord"].shape == (1, 7) and mismatch(gap_statistic(x, c), gap_statistic(x, c)) == 0


def test_grouped_targets_are_each_groups_statistic_and_per_group_weighs_by_samples(crops):
    """Each group's target is the statistic of its own crops (weighted over batches), a group no
    crop falls in gets the pooled one; per_group averages a loss over the groups present,
    weighted by their samples."""
    c = MuseGANConfig(steps_per_bar=CFG.steps_per_bar)
    x = torch.from_numpy(crops).float()
    group = torch.tensor([0] * 6 + [1] * 6)  # the two performances
    stats = {"gap": gap_statistic, "chord": MATCHED["chord"]}
    targets = grouped_targets([(x[:6], group[:6]), (x[6:], group[6:])], c, stats, groups=3)
    assert targets["gap"].shape == (3, *gap_statistic(x, c).shape)
    for g, part in enumerate([x[:6], x[6:]]):
        torch.testing.assert_close(targets["gap"][g], gap_statistic(part, c))
    torch.testing.assert_close(targets["gap"][2], (gap_statistic(x[:6], c) + gap_statistic(x[6:], c)) / 2)  # empty: pooled
    assert mismatch(targets["gap"][0], targets["gap"][1]) > 0.05  # two performances, two kinds of gaps
    mixed = grouped_targets([(x[:8], group[:8]), (x[8:], group[8:])], c, {"gap": gap_statistic}, groups=2)["gap"]
    torch.testing.assert_close(mixed[1], (gap_statistic(x[6:8], c) * 2 + gap_statistic(x[8:], c) * 4) / 6)
    # per_group: each group of a batch against its own target; 0 for the real crops themselves.
    loss = lambda sel, g: mismatch(gap_statistic(x[sel], c), targets["gap"][g])  # noqa: E731
    assert per_group(loss, group) < 1e-6
    pooled = per_group(lambda sel, g: mismatch(gap_statistic(x[sel], c), targets["gap"][2]), group)
    expected = (mismatch(gap_statistic(x[:6], c), targets["gap"][2]) + mismatch(gap_statistic(x[6:], c), targets["gap"][2])) / 2
    torch.testing.assert_close(pooled, expected)
    lopsided = torch.tensor([0] * 9 + [1] * 3)
    parts = [mismatch(gap_statistic(x[lopsided == g], c), targets["gap"][2]) for g in (0, 1)]
    torch.testing.assert_close(per_group(lambda sel, g: mismatch(gap_statistic(x[sel], c), targets["gap"][2]), lopsided), (9 * parts[0] + 3 * parts[1]) / 12)


def test_gap_matching_moves_a_generator_from_eighths_to_sixteenths():
    """A 'generator' whose logits play one key every 4 steps, pulled toward a target of a note
    every 2: Adam steps (as in training) on the gap mismatch alone halve it. The harder way:
    onsets must appear where the thresholded roll has none, through the straight-through
    estimator's soft path."""
    c = MuseGANConfig(n_tracks=1, steps_per_bar=16, n_bars=2)
    target_roll = torch.zeros(4, 1, 2, 16, 88)
    target_roll[..., 0::2, 40] = 1  # one-step notes, an onset every 2 steps
    target = gap_statistic(target_roll, c)
    logits = torch.full((4, 1, 2, 16, 88), -4.0)
    logits[..., 0::4, 40] = 4.0
    logits.requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.2)
    first = float(mismatch(gap_statistic(torch.sigmoid(logits.detach()), c), target))
    for _ in range(60):
        opt.zero_grad()
        mismatch(gap_statistic(torch.sigmoid(logits), c), target).backward()
        opt.step()
    last = float(mismatch(gap_statistic(torch.sigmoid(logits.detach()), c), target))
    assert first > 1.0 and last < first / 2


def test_a_matching_run_trains_on_fixed_targets_and_selects_on_them(prepared, tmp_path):
    """With every --gan-*-match: the targets come from training crops drawn with their own
    generator (the training crops' stream is the same as without them), a generator step logs
    each mismatch, and the selection metrics (GAPS, CHORDS, DYNAMICS, RESTRIKES, CROPS) are 0 for the
    reference crops themselves and positive for an untrained generator. Dynamics need
    velocities: asked of a binary MuseGAN, the run says so."""
    from pianogen.training import TrainConfig, Trainer
    from pianogen.training.feature_matching import crop_feature_names
    from pianogen.training.gan import GANConfig, make_gan_task

    tiny = {"z_dim": 8, "g_channels": 32, "d_channels": 16, "velocity": True}
    plain = make_gan_task(str(prepared), 0, {}, tiny, GANConfig(n_critic=1, eval_samples=4, real_reference=16))
    task = make_gan_task(str(prepared), 0, {}, tiny, GANConfig(n_critic=1, eval_samples=4, real_reference=16, gap_match=10, chord_match=10, dynamics_match=1, restrike_match=10, crop_match=5))
    assert task.rng_state() == plain.rng_state() and not plain.match_targets
    assert task.match_targets["gap"].shape == (4, 16) and task.match_targets["chord"].shape == (1, 7) and task.match_targets["dynamics"].shape == (1, 2)
    assert task.match_targets["restrike"].shape == (3, 8) and task.match_targets["crop"].shape == (len(crop_feature_names(task.net.config)), 16)
    assert task.real_metrics["GAPS"] == task.real_metrics["CHORDS"] == task.real_metrics["DYNAMICS"] == task.real_metrics["CROPS"] == 0 and "GAPS" not in plain.real_metrics
    assert min(task.untrained_metrics[k] for k in ("GAPS", "CHORDS", "DYNAMICS", "CROPS")) > 0.1 and task.untrained_metrics["RESTRIKES"] > 0
    cfg = TrainConfig(batch_size=4, lr=1e-3, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    logs = task.train_step(Trainer(task, cfg, tmp_path / "g"), 0)
    assert min(logs[f"{k}_mismatch"] for k in ("gap", "chord", "dynamics", "restrike", "crop")) > 0 and "gap_mismatch" not in plain.train_step(Trainer(plain, cfg, tmp_path / "p"), 0)
    with pytest.raises(ValueError, match="velocities"):
        make_gan_task(str(prepared), 0, {}, {**tiny, "velocity": False}, GANConfig(real_reference=16, dynamics_match=1))


def test_struck_dynamics_count_what_numpy_counts(crops):
    """Velocity change between successive onset times and velocity spread inside chords, against a
    numpy count over the same real crops (velocities made up per key and step, so chords differ)."""
    from pianogen.training.feature_matching import VELOCITY_UNIT, struck_dynamics

    on = pr.onsets(crops)
    vel = np.random.default_rng(0).uniform(0.2, 0.9, crops.shape) * crops
    change_sum = n_change = spread_sum = n_chords = 0.0
    for i in range(len(crops)):
        prev = None
        for t in range(on.shape[2] * on.shape[3]):
            bar, step = divmod(t, on.shape[3])
            v = vel[i, :, bar, step][on[i, :, bar, step]] / VELOCITY_UNIT
            if len(v) == 0:
                continue
            if prev is not None:
                change_sum, n_change = change_sum + abs(v.mean() - prev), n_change + 1
            if len(v) > 1:
                spread_sum, n_chords = spread_sum + np.sqrt(v.var() + 0.01), n_chords + 1
            prev = v.mean()
    got = struck_dynamics(torch.from_numpy(on).float(), torch.from_numpy(vel).float()).numpy()
    np.testing.assert_allclose(got, [change_sum / (n_change + 1), spread_sum / (n_chords + 1)], rtol=1e-4)


def test_restrike_shares_count_keys_struck_again(crops):
    """Per voice, how often a key is struck again k steps after an onset, against numpy."""
    from pianogen.training.feature_matching import restrike_shares

    on = pr.onsets(crops)
    shares = restrike_shares(torch.from_numpy(on).float(), 8).numpy()
    for v in range(crops.shape[1]):
        flat = on[:, v].reshape(len(on), -1, on.shape[-1])  # (crops, time, pitches)
        counts = [sum(int((f[:-k] & f[k:]).sum()) for f in flat) for k in range(1, 9)]
        np.testing.assert_allclose(shares[v] * (flat.sum() + 1), counts, rtol=1e-5)
    assert shares.sum() > 0 and shares.max() < 0.5


def _numpy_crop_features(on: np.ndarray, vel: np.ndarray | None, max_gap: int = 12) -> np.ndarray:
    """``crop_features`` counted passage by passage in plain numpy, from onsets (crops, tracks, bars, steps, pitches)."""
    from pianogen.training.feature_matching import DENSITY_UNIT, GAP_CLASSES, SHARE_UNIT, VELOCITY_UNIT

    rows = []
    for i in range(len(on)):
        flat = on[i].reshape(on.shape[1], -1, on.shape[-1])  # (tracks, time, pitches)
        t = np.flatnonzero(flat.any(axis=(0, 2)))
        gaps = np.diff(t)
        row = [((gaps >= lo) & (gaps <= hi)).sum() / (len(t) + 1) for lo, hi in GAP_CLASSES]
        a, b = gaps[:-1], gaps[1:]
        ok = (a <= max_gap) & (b <= max_gap)
        row += [(ok & (a == b)).sum() / (ok.sum() + 1), (ok & ((a == 2 * b) | (b == 2 * a))).sum() / (ok.sum() + 1)]
        row = [r / SHARE_UNIT for r in row] + [flat.sum() / flat.shape[1] / DENSITY_UNIT]
        mel = flat[0]
        mt = np.flatnonzero(mel.any(axis=1))
        again = sum(int((mel[p] & mel[q]).sum()) for p, q in zip(mt[:-1], mt[1:]) if q - p <= max_gap)
        row.append(again / (mel.sum() + 1) / SHARE_UNIT)
        if vel is not None:
            v = vel[i].reshape(flat.shape) / VELOCITY_UNIT
            row.append(v[flat].mean())
            row += [np.sqrt(v[track][flat[track]].var() + 0.01) for track in range(len(flat))]
        rows.append(row)
    return np.array(rows)


def test_crop_features_count_what_numpy_counts_passage_by_passage(crops):
    """Gap classes, successive gaps alike or doubled, density, the melody's repeated key and the
    velocity per passage, against plain numpy over the same real crops (velocities made up)."""
    from pianogen.training.feature_matching import crop_feature_names, crop_features

    on = pr.onsets(crops)
    vel = np.random.default_rng(1).uniform(0.2, 0.9, crops.shape) * crops
    for velocity in (False, True):
        c = MuseGANConfig(steps_per_bar=CFG.steps_per_bar, velocity=velocity)
        x = torch.from_numpy(np.concatenate([crops] + [vel] * velocity, 1)).float()
        got = crop_features(x, c).numpy()
        assert got.shape == (len(crops), len(crop_feature_names(c)))
        np.testing.assert_allclose(got, _numpy_crop_features(on, vel if velocity else None), rtol=1e-4, atol=1e-5)


def test_crop_matching_tells_mixed_passages_from_passages_each_of_a_kind():
    """Half the passages all sixteenths (3 steps), half all eighths (6): the pooled gap statistic
    of passages that each mix both halves is the same, the per-passage one is not."""
    from pianogen.training.feature_matching import crop_statistic

    c = MuseGANConfig(n_tracks=1, steps_per_bar=24, n_bars=2)
    kinds = torch.zeros(16, 1, 2, 24, 88)
    kinds[:8, ..., 0::3, 40] = 1
    kinds[8:, ..., 0::6, 40] = 1
    mixed = torch.zeros(16, 1, 2, 24, 88)
    mixed[:, :, 0, 0::3, 40] = 1
    mixed[:, :, 1, 0::6, 40] = 1
    assert float(mismatch(gap_statistic(mixed, c), gap_statistic(kinds, c))) < 0.15
    assert float(mismatch(crop_statistic(kinds, c), crop_statistic(kinds, c))) == 0
    assert float(mismatch(crop_statistic(mixed, c), crop_statistic(kinds, c))) > 1.0
