"""MuseGAN: module shapes, one WGAN-GP step, sampling, latents, and a short real training."""

from __future__ import annotations

import mido
import numpy as np
import pytest
import torch

from pianogen.gan_task import GANConfig, make_gan_task, metric_distance
from pianogen.models.musegan import Critic, Generator, MuseGAN, MuseGANConfig
from pianogen.sampling import interpolate, sample_gan
from pianogen.training import TrainConfig, Trainer

TINY = {"z_dim": 8, "g_channels": 32, "d_channels": 16}


@pytest.mark.parametrize("cfg", [
    MuseGANConfig(),
    MuseGANConfig(n_tracks=2, steps_per_bar=16, n_bars=2, z_dim=16),
    MuseGANConfig(n_tracks=1, n_pitches=84, g_channels=64, d_channels=32),
])
def test_shapes(cfg):
    g, d = Generator(cfg), Critic(cfg)
    m = MuseGAN(cfg)
    z = m.sample_latent(3)
    assert z["temporal_private"].shape == (3, cfg.n_tracks, cfg.z_dim, cfg.n_bars)
    x = g(z)
    assert x.shape == (3, cfg.n_tracks, cfg.n_bars, cfg.steps_per_bar, cfg.n_pitches)
    assert float(x.detach().min()) >= 0 and float(x.detach().max()) <= 1
    assert d(x).shape == (3,)
    longer = g(m.sample_latent(2, bars=cfg.n_bars + 3))
    assert longer.shape[2] == cfg.n_bars + 3  # more bars from a longer temporal latent


@pytest.fixture(scope="module")
def tiny_task(prepared):
    return make_gan_task(str(prepared), 0, {}, TINY, GANConfig(n_critic=2, eval_samples=8, real_reference=32))


def test_one_critic_and_generator_step(tiny_task, tmp_path):
    cfg = TrainConfig(batch_size=4, lr=1e-3, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    trainer = Trainer(tiny_task, cfg, tmp_path / "g")
    before = {k: p.detach().clone() for k, p in tiny_task.net.named_parameters()}
    m = tiny_task.train_step(trainer, 0)
    assert all(np.isfinite(v) for v in m.values()) and m["gp"] >= 0
    changed = {k.split(".")[0] for k, p in tiny_task.net.named_parameters() if not torch.equal(p, before[k])}
    assert changed == {"generator", "critic"}


def test_real_crops_and_metric_distance(tiny_task):
    real = tiny_task.real
    assert real.shape[1:] == (3, 4, 32, 88) and real.any(axis=(1, 2, 3, 4)).all()
    assert metric_distance(tiny_task.real_metrics, tiny_task.real_metrics) == 0
    assert 0 < metric_distance(tiny_task.untrained_metrics, tiny_task.real_metrics) <= 1


@pytest.fixture(scope="module")
def tiny_ckpt(prepared, tmp_path_factory):
    out = tmp_path_factory.mktemp("gan") / "tiny"
    task = make_gan_task(str(prepared), 0, {}, TINY, GANConfig(n_critic=1, eval_samples=4, real_reference=16), out=str(out))
    cfg = TrainConfig(max_steps=2, eval_every=1, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    Trainer(task, cfg, out).fit()
    assert (out.parent / "tiny_samples" / "step_000002.png").is_file()
    return out.with_suffix(".pt")


def test_sampling_midi_and_determinism(tiny_ckpt, tmp_path):
    a = sample_gan(tiny_ckpt, seed=5, n=2, bars=4, threshold=0.5)
    b = sample_gan(tiny_ckpt, seed=5, n=2, bars=4, threshold=0.5)
    assert a.rolls.shape == (2, 3, 4, 32, 88) and np.array_equal(a.rolls, b.rolls)
    bern = sample_gan(tiny_ckpt, seed=5, bernoulli=True)
    assert np.array_equal(bern.rolls, sample_gan(tiny_ckpt, seed=5, bernoulli=True).rolls)
    # A barely trained generator may threshold to silence for every seed; its Bernoulli draws differ.
    assert not np.array_equal(bern.rolls, sample_gan(tiny_ckpt, seed=6, bernoulli=True).rolls)
    multi, merged = a.write_midi(tmp_path / "m.mid", tmp_path / "one.mid")
    mm = mido.MidiFile(multi)
    names = [t.name for t in mm.tracks if any(m.type == "note_on" for m in t) or t.name]
    assert [n for n in names if n] == ["melody", "inner", "bass"]
    assert all(m.program == 0 for t in mm.tracks for m in t if m.type == "program_change")
    ons = sum(1 for t in mido.MidiFile(merged).tracks for m in t if m.type == "note_on" and m.velocity > 0)
    assert ons == len(a.notes[0])
    long = sample_gan(tiny_ckpt, seed=1, bars=8)
    assert long.rolls.shape[2] == 8


def test_interpolate_ends_and_norm(tiny_ckpt):
    from pianogen.sampling import load_gan

    g = load_gan(tiny_ckpt)
    za, zb = g.latent(0), g.latent(1)
    for k in za:
        torch.testing.assert_close(interpolate(za, zb, 0.0)[k], za[k])
        torch.testing.assert_close(interpolate(za, zb, 1.0)[k], zb[k], rtol=1e-4, atol=1e-5)
    mid = interpolate(za, zb, 0.5)["temporal_private"]
    assert abs(float(mid.norm()) - float(za["temporal_private"].norm())) < 0.25 * float(za["temporal_private"].norm())


@pytest.mark.slow
def test_short_training_moves_metrics_toward_real(prepared, tmp_path):
    out = tmp_path / "short"
    task = make_gan_task(str(prepared), 0, {}, {"z_dim": 16, "g_channels": 64, "d_channels": 32}, GANConfig(n_critic=3, eval_samples=32, real_reference=128), out=str(out))
    cfg = TrainConfig(max_steps=120, eval_every=40, batch_size=16, lr=1e-3, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    report = Trainer(task, cfg, out).fit()
    final = report["final"]
    assert final["distance"]["generated"] < final["distance"]["untrained"]
    real, gen, untrained = final["real"], final["generated"], final["untrained"]
    upc = [k for k in real if k.startswith("UPC/")]
    closer = sum(abs(gen[k] - real[k]) < abs(untrained[k] - real[k]) for k in upc if not np.isnan(gen[k]))
    assert closer >= 2  # used pitch classes per bar move toward real music on most voices
