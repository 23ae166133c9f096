"""MuseGAN: module shapes, one WGAN-GP step, sampling, latents, and a short real training."""

from __future__ import annotations

import mido
import numpy as np
import pytest
import torch

from pianogen.training.gan import GANConfig, make_gan_task, metric_distance
from pianogen.models.musegan import Critic, Generator, MuseGAN, MuseGANConfig
from pianogen.representations import pianoroll as pr
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
    assert all(np.isfinite(v) for v in m.values())
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


def test_shipped_generator_makes_notes_that_reach_the_midi(tmp_path):
    """The same checks on the shipped checkpoint, where silence cannot pass: every voice has
    notes, seeds differ, each note of the roll is one note_on in the MIDI file."""
    from conftest import ROOT

    ck = ROOT / "checkpoints" / "musegan.pt"
    a, b = sample_gan(ck, seed=5, bars=4), sample_gan(ck, seed=6, bars=4)
    assert a.rolls.any(axis=(0, 2, 3, 4)).all()  # melody, inner and bass all sound
    assert not np.array_equal(a.rolls, b.rolls) and np.array_equal(a.rolls, sample_gan(ck, seed=5, bars=4).rolls)
    multi, merged = a.write_midi(tmp_path / "m.mid", tmp_path / "one.mid")
    per_track = [sum(1 for m in t if m.type == "note_on" and m.velocity > 0) for t in mido.MidiFile(multi).tracks]
    assert sorted(n for n in per_track if n) == sorted(len(v) for v in a.track_notes().values()) and min(len(v) for v in a.track_notes().values()) > 0
    ons = sum(1 for t in mido.MidiFile(merged).tracks for m in t if m.type == "note_on" and m.velocity > 0)
    assert ons == len(a.notes[0]) > 0
    # The shipped MuseGAN paints a velocity roll: its notes carry learned dynamics to the MIDI.
    vel = [m.velocity for t in mido.MidiFile(merged).tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert a.velocity is not None and np.std(vel) > 3 and sorted(vel) == sorted(a.notes[0]["velocity"].tolist())


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
    # A voice the untrained generator leaves silent (UPC undefined) is as far from real as can be.
    far = lambda v, r: abs(v - r) if not np.isnan(v) else np.inf  # noqa: E731
    closer = sum(far(gen[k], real[k]) < far(untrained[k], real[k]) for k in upc)
    assert closer >= 2  # used pitch classes per bar move toward real music on most voices


def test_train_script_reads_a_config_file(prepared, tmp_path):
    """README: GAN configs load from YAML/JSON with --config; flags override the file."""
    import json
    import subprocess
    import sys

    from conftest import ROOT

    cfg = tmp_path / "gan.yaml"
    cfg.write_text("train:\n  max_steps: 2\n  batch_size: 4\n  eval_every: 2\n  progress: false\n  threads: 1\n"
                   "gan:\n  n_critic: 2\n  eval_samples: 8\npianoroll:\n  n_bars: 2\n  velocity: 70\nmodel:\n  g_channels: 8\n  d_channels: 8\n")
    out = tmp_path / "g"
    proc = subprocess.run([sys.executable, "scripts/train_musegan.py", "--data", str(prepared), "--out", str(out), "--config", str(cfg), "--gan-n-critic", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["steps"] == 2 and report["config"]["train"]["batch_size"] == 4
    assert report["config"]["gan"]["n_critic"] == 1  # the flag wins over the file
    assert report["config"]["representation"]["config"]["n_bars"] == 2 and report["config"]["representation"]["config"]["velocity"] == 70
    bad = tmp_path / "bad.json"
    bad.write_text('{"trian": {}}')
    proc = subprocess.run([sys.executable, "scripts/train_musegan.py", "--data", str(prepared), "--out", str(tmp_path / "h"), "--config", str(bad)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "unknown sections" in proc.stderr and proc.stderr.count("\n") == 1


def test_gradient_penalty_against_known_gradients():
    """Critics whose input gradient is known in closed form."""
    from pianogen.training.gan import gradient_penalty

    torch.manual_seed(0)
    real, fake = torch.rand(3, 2, 1, 4, 5), torch.rand(3, 2, 1, 4, 5)
    alpha = torch.rand(3, 1, 1, 1, 1)
    w = torch.randn(2, 1, 4, 5)
    w = 3 * w / w.norm()  # linear critic: gradient w everywhere, norm 3 -> penalty (3 - 1)^2
    linear = lambda x: (x * w).flatten(1).sum(1)  # noqa: E731
    assert float(gradient_penalty(linear, real, fake, alpha).detach()) == pytest.approx(4.0, rel=1e-5)
    unit = lambda x: (x * (w / 3)).flatten(1).sum(1)  # noqa: E731
    assert float(gradient_penalty(unit, real, fake, alpha).detach()) == pytest.approx(0.0, abs=1e-10)
    # D(x) = ||x||^2 / 2: the gradient is x itself, so the norm is that of the mix.
    square = lambda x: 0.5 * (x**2).flatten(1).sum(1)  # noqa: E731
    mix = alpha * real + (1 - alpha) * fake
    expected = float(((mix.flatten(1).norm(dim=1) - 1) ** 2).mean())
    assert float(gradient_penalty(square, real, fake, alpha).detach()) == pytest.approx(expected, rel=1e-5)
    # Differentiable for the critic's update: the penalty's gradient reaches w.
    wp = w.clone().requires_grad_(True)
    gradient_penalty(lambda x: (x * wp).flatten(1).sum(1), real, fake, alpha).backward()
    torch.testing.assert_close(wp.grad, 2 * (3 - 1) * w / 3, rtol=1e-4, atol=1e-6)  # d/dw (||w|| - 1)^2


def test_resume_matches_uninterrupted(prepared, tmp_path):
    """Critic and generator weights after 2 + 2 resumed steps equal 4 straight steps."""
    gan = GANConfig(n_critic=2, eval_samples=4, real_reference=16)

    def run(out, steps, resume=False):
        task = make_gan_task(str(prepared), 0, {}, TINY, gan, out=str(out))
        cfg = TrainConfig(max_steps=steps, eval_every=2, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False, threads=2)
        Trainer(task, cfg, out, resume=resume, force=not resume).fit()
        return task.net.state_dict()

    full = run(tmp_path / "full", 4)
    run(tmp_path / "cut", 2)
    resumed = run(tmp_path / "cut", 4, resume=True)
    for k in full:
        torch.testing.assert_close(full[k], resumed[k], rtol=1e-5, atol=1e-6)


def test_keep_last_writes_the_last_steps_weights_even_for_a_finished_run(prepared, tmp_path):
    """``keep_last`` writes NAME.last.pt beside the best; resuming a finished run with it writes
    the file without training a step more (how a run's last weights are kept after the fact)."""
    gan = GANConfig(n_critic=1, eval_samples=4, real_reference=16)
    out = tmp_path / "g"

    def run(resume=False, keep_last=False):
        task = make_gan_task(str(prepared), 0, {}, TINY, gan, out=str(out))
        cfg = TrainConfig(max_steps=2, eval_every=1, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False, keep_last=keep_last)
        return Trainer(task, cfg, out, resume=resume).fit()

    run()
    assert not (tmp_path / "g.last.pt").exists()
    report = run(resume=True, keep_last=True)
    assert report["steps"] == 2 and len(report["evals"]) == 2
    last = torch.load(tmp_path / "g.last.pt", weights_only=True)
    state = torch.load(tmp_path / "g.state.pt", weights_only=True)
    assert last["meta"]["step"] == 2 and last["model_config"] == torch.load(tmp_path / "g.pt", weights_only=True)["model_config"]
    for k, v in state["models"]["generator"].items():
        torch.testing.assert_close(last["state_dict"][f"generator.{k}"], v)


def test_critic_onsets_continue_across_bar_lines():
    from pianogen.models.musegan import onset_counts

    x = torch.zeros(1, 1, 3, 4, 5)
    x[0, 0, 0, 2:, 1] = 1  # starts at bar 0 step 2, held through bar 1 into bar 2
    x[0, 0, 1, :, 1] = 1
    x[0, 0, 2, :2, 1] = 1
    x[0, 0, 2, 3, 4] = 1  # a second key in bar 2
    on = onset_counts(x)
    assert float(on.sum()) == 2.0 and on[0, 0, 0, 2] == 1 and on[0, 0, 2, 3] == 1


def test_designs_decide_what_a_track_hears():
    """The paper's three generators: jamming's tracks ignore each other's latents, the
    composer ignores private latents, the hybrid uses both."""
    def out(design, z):
        torch.manual_seed(0)
        g = Generator(MuseGANConfig(design=design, **TINY)).eval()
        with torch.no_grad():
            return g(z)

    z = MuseGAN(MuseGANConfig(**TINY)).sample_latent(2, generator=torch.Generator().manual_seed(1))
    own = {**z, "private": z["private"].clone(), "temporal_private": z["temporal_private"].clone()}
    own["private"][:, 1] += 1.0  # change only track 1's own latents
    own["temporal_private"][:, 1] += 1.0
    shared = {**z, "shared": z["shared"] + 1.0, "temporal_shared": z["temporal_shared"] + 1.0}  # change what all tracks share
    #          design: (track 0 after `own`, track 1 after `own`, every track after `shared`) unchanged?
    expect = {"jamming": (True, False, True), "composer": (True, True, False), "hybrid": (True, False, False)}
    for design, (t0_same, t1_same, all_same) in expect.items():
        a = out(design, z)
        b, c = out(design, own), out(design, shared)
        assert torch.equal(a[:, 0], b[:, 0]) == t0_same, design
        assert torch.equal(a[:, 1], b[:, 1]) == t1_same, design
        assert torch.equal(a, c) == all_same, design
    with pytest.raises(ValueError, match="unknown MuseGAN design"):
        MuseGANConfig(design="orchestra")


def test_per_bar_time_independent_latents_match_constant_ones():
    g = Generator(MuseGANConfig(**TINY)).eval()
    z = MuseGAN(MuseGANConfig(**TINY)).sample_latent(2, bars=5)
    per_bar = {**z, "shared": z["shared"][..., None].expand(-1, -1, 5), "private": z["private"][..., None].expand(-1, -1, -1, 5)}
    with torch.no_grad():
        assert torch.allclose(g(z), g(per_bar))


def test_latent_walk_for_long_pieces(tiny_ckpt):
    from pianogen.sampling import load_gan

    g = load_gan(tiny_ckpt)
    z = g.latent(3, n=2, bars=64)
    assert z["shared"].shape == (2, TINY["z_dim"], 64) and z["private"].shape == (2, 3, TINY["z_dim"], 64)
    # Starts where the short piece's latent is, moves in small steps, and ends far away.
    assert torch.allclose(z["shared"][..., 0], g.latent(3, n=2, bars=4)["shared"])
    steps = (z["shared"][..., 1:] - z["shared"][..., :-1]).norm(dim=1)
    assert float(steps.max()) < 0.5 * float((z["shared"][..., 0] - z["shared"][..., -1]).norm(dim=1).min())
    norms, anchors = z["shared"].norm(dim=1), z["shared"][..., ::8].norm(dim=1)  # an anchor every 8 bars
    # Spherical steps: no bar falls toward the origin, where linear mixing would take it.
    assert float(norms.min()) > 0.9 * float(anchors.min()) and float(norms.max()) < 1.1 * float(anchors.max())
    r = sample_gan(g, seed=3, bars=64)
    assert r.rolls.shape[2] == 64 and r.notes[0]["end"].max() <= 128.0 + 1e-9
    # Interpolation (the app's slider) works on walked latents too.
    mid = interpolate(g.latent(3, 1, 64), g.latent(4, 1, 64), 0.5)
    assert sample_gan(g, z=mid, bars=64).rolls.shape[2] == 64


def test_selection_uses_the_tuning_half_and_reports_fresh_latents(prepared, tmp_path):
    from pianogen.data import load_pieces

    task = make_gan_task(str(prepared), 0, {}, TINY, GANConfig(n_critic=1, eval_samples=4, real_reference=8), out=str(tmp_path / "g"))
    has_val = (load_pieces(str(prepared))["split"] == "validation").any()
    assert task.reference_split == ("validation-tuning" if has_val else "train")  # the reporting half stays unseen
    cfg = TrainConfig(max_steps=1, eval_every=1, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    report = Trainer(task, cfg, tmp_path / "g").fit()
    final = report["final"]
    assert final["reference_split"] == task.reference_split
    assert set(final["generated_fresh_latents"]) == set(final["generated"])
    assert 0 <= final["distance"]["generated_fresh_latents"] <= 1


def test_notes_per_second_counts_onsets_across_bar_lines():
    from pianogen.evaluation.musegan_table import notes_per_second
    from pianogen.representations.pianoroll import PianorollConfig

    cfg = PianorollConfig(n_bars=2)  # 2 bars of 2 s: 4 s of music per sample
    r = np.zeros((2, 3, 2, 32, 88), dtype=bool)
    r[0, 0, 0, 30:, 40] = r[0, 0, 1, :4, 40] = True  # one note over the bar line
    r[0, 2, 1, 5:7, 10] = True
    r[1, 1, 0, 0, 50] = r[1, 1, 0, 2, 50] = True  # two notes of one key
    assert notes_per_second(r, cfg) == pytest.approx(4 / 8)


def test_block_edge_onsets_by_hand_and_on_real_music(prepared):
    from pianogen.evaluation.musegan_table import block_edge_onsets, real_crops
    from pianogen.representations.pianoroll import PianorollConfig

    r = np.zeros((1, 3, 2, 32, 88), dtype=bool)
    r[0, 0, 0, 0:3, 40] = True  # at step 0: left out
    r[0, 0, 0, 8:10, 41] = r[0, 1, 1, 0, 42] = True  # steps 8 and 32: edges
    r[0, 2, 0, 5, 43] = r[0, 2, 0, 17, 43] = True  # steps 5 and 17: not
    assert block_edge_onsets(r) == pytest.approx(2 / 4)
    cfg = PianorollConfig()
    real = real_crops(str(prepared), "train", cfg).sample(64, np.random.default_rng(0), transpose=0) > 0
    assert abs(block_edge_onsets(real) - 1 / 8) < 0.03  # performed music knows no 8-step grid


def test_bar_similarity_by_hand():
    from pianogen.evaluation.musegan_table import bar_similarity

    r = np.zeros((2, 1, 4, 2, 24), dtype=bool)  # key index 0 is MIDI 60 (C)
    r[0, 0, :, :, 0] = True  # passage 0: C in every bar
    r[1, 0, 0::2, :, 12] = True  # passage 1: C (an octave up: same pitch class) ...
    r[1, 0, 1::2, 0, 6] = True  # ... then F#, alternating
    sim = bar_similarity(r, low=60, lags=(1, 2, 8))
    assert sim["1"]["mean"] == pytest.approx(0.5) and sim["2"]["mean"] == pytest.approx(1.0)
    assert "8" not in sim  # no pair of bars is 8 apart in 4 bars
    assert sim["other"]["mean"] == pytest.approx(0.5)  # C against C, then C against F#


def test_evaluate_musegan_script_table(tiny_ckpt, prepared, tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "table.json"
    cmd = [sys.executable, "scripts/evaluate_musegan.py", str(tiny_ckpt), "--data", str(prepared), "--split", "test", "--n", "4", "--groups", "2",
           "--walk-bars", "16", "--walk-n", "3", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "| notes/s |" in res.stdout and "tiny (hybrid)" in res.stdout and "| melody key again at its next onset |" in res.stdout
    table = json.loads(out.read_text())
    assert table["real"]["notes/s"]["mean"] > 0 and table["real"]["notes/s"]["sd"] >= 0
    assert set(table["rows"]["tiny"]["metrics"]) == set(table["real"])
    lengths = [v["mean"] for k, v in table["real"].items() if k.startswith("length ")]
    assert len(lengths) == 6 and sum(lengths) == pytest.approx(1.0)  # a histogram of note lengths
    # The selection distance: real groups sit near the floor, an almost untrained GAN far above it.
    assert 0 <= table["real"]["distance"]["mean"] < table["rows"]["tiny"]["metrics"]["distance"]["mean"] <= 1
    walk = table["walk"]["rows"]  # 16-bar pieces against real 16-bar spans, by bar distance
    assert set(walk) == {"real", "tiny"} and set(walk["real"]) == {"1", "2", "4", "8", "other"}
    assert walk["real"]["1"]["mean"] > walk["real"]["other"]["mean"]  # real bars resemble their neighbours
    assert "unrelated bars" in res.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "exists" in again.stderr  # never overwrites without --force


def test_onset_channel_generator_critic_and_training_step(prepared, tmp_path):
    """With onsets the generator writes frames and onsets per track, the critic reads both
    (real onsets from real frames), and samples come back as frame rolls."""
    cfg = MuseGANConfig(onsets=True, **TINY)
    m = MuseGAN(cfg)
    x = m.generator(m.sample_latent(2))
    assert x.shape == (2, 6, 4, 32, 88) and m.critic(x).shape == (2,)
    task = make_gan_task(str(prepared), 0, {}, {**TINY, "onsets": True}, GANConfig(n_critic=1, eval_samples=4, real_reference=8), out=str(tmp_path / "g"))
    real = torch.from_numpy(task.crops.sample(2))
    both = task._channels(real)
    assert both.shape[1] == 6 and torch.equal(both[:, 3:].bool(), torch.from_numpy(pr.onsets(real.numpy())))
    cfg_t = TrainConfig(max_steps=2, eval_every=1, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    Trainer(task, cfg_t, tmp_path / "g").fit()
    r = sample_gan(tmp_path / "g.pt", seed=1, n=2, bars=4)
    assert r.rolls.shape == (2, 3, 4, 32, 88)
    assert (pr.onsets(r.rolls).sum() == sum(len(n) for n in r.notes))


def test_refiner_binary_neurons_pass_gradients_and_start_as_identity():
    from pianogen.models.musegan import Refiner

    cfg = MuseGANConfig(**TINY)
    probs = torch.rand(2, 3, 4, 32, 88, requires_grad=True)
    ref = Refiner(cfg)
    out = ref(probs)
    assert set(out.detach().unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.detach().bool(), probs.detach() > 0.5)  # zero-initialised: the generator's own 0.5 threshold
    (out * torch.randn_like(out)).sum().backward()  # straight-through: gradients reach both the input and the refiner
    assert probs.grad.abs().sum() > 0 and ref.nets[0][-1].weight.grad.abs().sum() > 0


def test_train_script_second_stage_with_refiner(tiny_ckpt, prepared, tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "refined"
    cmd = [sys.executable, "scripts/train_musegan.py", "--data", str(prepared), "--out", str(out), "--init", str(tiny_ckpt), "--refiner",
           "--max-steps", "1", "--eval-every", "1", "--batch-size", "4", "--gan-n-critic", "1", "--gan-eval-samples", "4", "--gan-real-reference", "8", "--progress", "false"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["config"]["model_config"]["refiner"] and report["config"]["model_config"]["z_dim"] == TINY["z_dim"]
    assert report["config"]["init"]["new_parameters"] and all(p.startswith("generator.refiner.") for p in report["config"]["init"]["new_parameters"])
    r = sample_gan(out.with_suffix(".pt"), seed=2, bars=4)
    assert r.rolls.shape == (1, 3, 4, 32, 88)


def test_velocity_channel_generator_critic_and_training_step(prepared, tmp_path):
    """With velocity the generator writes a velocity roll per track after the frames; the critic
    sees velocity only where frames sound; real crops carry the notes' own velocities; sampled
    notes play at the generator's velocities."""
    cfg = MuseGANConfig(velocity=True, **TINY)
    m = MuseGAN(cfg)
    x = m.generator(m.sample_latent(2))
    assert x.shape == (2, 6, 4, 32, 88) and m.critic(x).shape == (2,)
    silent = x.detach().clone()
    silent[:, :3] = 0  # no key down: the velocity channels must not matter
    other = silent.clone()
    other[:, 3:] = torch.rand_like(other[:, 3:])
    assert torch.allclose(m.critic(silent), m.critic(other))
    task = make_gan_task(str(prepared), 0, {}, {**TINY, "velocity": True}, GANConfig(n_critic=1, eval_samples=4, real_reference=8), out=str(tmp_path / "g"))
    crops = task.crops.sample(2)
    assert crops.max() <= 1 and len(np.unique(crops)) > 10  # real velocities, not a binary roll
    # What the critic reads, on a crop made by hand: three frame channels (a key down where it
    # has any velocity), then the three velocity channels as they are.
    crop = torch.zeros(1, 3, 4, 32, 88)
    crop[0, 0, 0, 0:4, 40] = 0.5  # melody: a note of 4 steps at velocity 0.5
    crop[0, 2, 1, 5, 10] = 0.8  # bass: one step at 0.8
    both = task._channels(crop)
    assert both.shape == (1, 6, 4, 32, 88)
    assert float(both[:, :3].sum()) == 5.0 and bool((both[0, 0, 0, 0:4, 40] == 1).all()) and float(both[0, 2, 1, 5, 10]) == 1.0
    assert torch.equal(both[:, 3:], crop)
    assert {"VM/melody", "VS/bass"} <= set(task.real_metrics) and 0.2 < task.real_metrics["VM/melody"] < 0.9
    cfg_t = TrainConfig(max_steps=2, eval_every=1, batch_size=4, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False)
    Trainer(task, cfg_t, tmp_path / "g").fit()
    r = sample_gan(tmp_path / "g.pt", seed=1, n=2, bars=4)
    assert r.rolls.shape == (2, 3, 4, 32, 88) and r.velocity.shape == r.rolls.shape
    vel = np.concatenate([n["velocity"].to_numpy() for n in r.notes])
    assert len(vel) and len(np.unique(vel)) > 1 and vel.min() >= 1 and vel.max() <= 127


def test_train_script_grows_a_binary_musegan_a_velocity_roll(tiny_ckpt, prepared, tmp_path):
    """--init a binary MuseGAN with --velocity: every old weight is kept (grown layers keep the
    old channels in their leading part), so the frames it generates at the start are the old ones."""
    import json
    import subprocess
    import sys

    from pianogen.checkpoints import load_weights

    out = tmp_path / "loud"
    m = MuseGAN(MuseGANConfig(velocity=True, **TINY))
    grown = load_weights(m, tiny_ckpt, grow=True)
    assert "generator.private.0.2.weight" in grown and any(k.startswith("critic.private.3") for k in grown)
    old = sample_gan(tiny_ckpt, seed=3, bars=4)
    m.eval()
    z = old.z
    with torch.no_grad():
        frames = m.generator(z)[:, :3].numpy() > 0.5
    assert np.array_equal(frames, old.rolls)
    cmd = [sys.executable, "scripts/train_musegan.py", "--data", str(prepared), "--out", str(out), "--init", str(tiny_ckpt), "--velocity",
           "--max-steps", "1", "--eval-every", "1", "--batch-size", "4", "--gan-n-critic", "1", "--gan-eval-samples", "4", "--gan-real-reference", "8", "--progress", "false"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["config"]["model_config"]["velocity"] and "VM/melody" in report["final"]["real"]


def test_smoother_starts_as_the_identity_and_sees_across_bar_lines():
    from pianogen.models.musegan import Smoother

    sm = Smoother(3)
    logits = torch.randn(2, 3, 4, 32, 88)
    assert torch.equal(sm(logits), logits)  # zero last layer: a trained generator is unchanged
    for net in sm.nets:
        torch.nn.init.normal_(net[-1].weight)
    probe = torch.zeros(1, 3, 4, 32, 88, requires_grad=True)
    sm(probe)[0, 0, 1, 0, 40].backward()  # the first step of bar 2 ...
    reach = probe.grad[0, 0].abs().sum(-1).flatten()  # ... depends on the last steps of bar 1
    assert reach[26:38].gt(0).all() and reach[:25].eq(0).all() and reach[39:].eq(0).all()
    cfg = MuseGANConfig(smoother=True, velocity=True, **TINY)
    m = MuseGAN(cfg)
    assert m.generator(m.sample_latent(2)).shape == (2, 6, 4, 32, 88)


def test_walk_drift_keeps_a_share_of_the_first_anchor(tiny_ckpt):
    from pianogen.sampling import load_gan

    g = load_gan(tiny_ckpt)

    def cos_first_last(z):
        a, b = z["shared"][..., 0], z["shared"][..., -1]
        return float(torch.nn.functional.cosine_similarity(a, b, dim=1).mean())

    free, kept = g.latent(5, n=64, bars=64, drift=1), g.latent(5, n=64, bars=64, drift=0.3)
    assert abs(cos_first_last(free)) < 0.15 < cos_first_last(kept)  # independent anchors forget; drift 0.3 remembers
    assert torch.allclose(kept["shared"][..., 0], free["shared"][..., 0])  # the same start
    with pytest.raises(ValueError, match="drift"):
        g.latent(5, bars=64, drift=0)


def test_growing_refuses_what_it_cannot_map(tiny_ckpt):
    """Old weights go into the leading part of grown tensors, so only channels appended after
    the old ones grow exactly; onsets added to a velocity model (channel order frames, onsets,
    velocity) or a change of size is refused with the reason, not loaded misaligned."""
    from dataclasses import asdict

    from pianogen.models.musegan import check_growable

    base = asdict(MuseGANConfig(**TINY))
    check_growable(base, MuseGANConfig(**TINY, velocity=True, smoother=True))  # appended: fine
    check_growable(base, MuseGANConfig(**TINY, onsets=True, velocity=True))
    loud = {**base, "velocity": True}
    with pytest.raises(ValueError, match="would come before its own"):
        check_growable(loud, MuseGANConfig(**TINY, velocity=True, onsets=True))
    with pytest.raises(ValueError, match="n_bars"):
        check_growable(base, MuseGANConfig(**{**TINY, "n_bars": TINY.get("n_bars", 4) + 1}))
    with pytest.raises(ValueError, match="without it"):
        check_growable(loud, MuseGANConfig(**TINY))


def test_velocity_spread_is_over_decoded_notes():
    """VS measures how loud notes differ, not jitter inside one note (which decoding averages):
    one held note whose velocity roll wobbles has a spread of 0, two notes at 0.3 and 0.7 of 0.2."""
    from pianogen.metrics.musegan import velocity_metrics

    rolls = np.zeros((1, 1, 1, 8, 4), bool)
    vel = np.zeros(rolls.shape)
    rolls[0, 0, 0, :, 0] = True
    vel[0, 0, 0, :, 0] = [0.4, 0.6] * 4  # one note, mean 0.5
    m = velocity_metrics(rolls, vel, ("melody",))
    assert m["VM/melody"] == pytest.approx(0.5) and m["VS/melody"] == pytest.approx(0.0)
    rolls[0, 0, 0, :, 1] = [1, 1, 0, 0, 1, 1, 0, 0]  # two more notes, at 0.3 and 0.7
    vel[0, 0, 0, :, 1] = [0.3, 0.3, 0, 0, 0.7, 0.7, 0, 0]
    m = velocity_metrics(rolls, vel, ("melody",))
    assert m["VS/melody"] == pytest.approx(np.std([0.5, 0.3, 0.7]))


def test_a_grown_texture_condition_starts_with_no_say_then_each_factor_has_its_path():
    """Grown onto a trained model, the texture changes nothing until trained; then the density
    class moves the frames, the loudness class the velocities, the rhythm class the smoother's
    onsets in the beat, and the critic's projection scores the class."""
    import dataclasses

    from pianogen.checkpoints import load_weights

    base = MuseGANConfig(n_bars=2, steps_per_bar=48, z_dim=8, g_channels=32, d_channels=16, velocity=True, smoother=True, block=12, rhythm=12)
    old = MuseGAN(base)
    for p in old.parameters():  # a "trained" model: no parameter left at zero
        torch.nn.init.normal_(p, std=0.05) if p.dim() > 1 else torch.nn.init.uniform_(p, -0.1, 0.1)
    new = MuseGAN(dataclasses.replace(base, texture=True))
    assert set(load_weights(new, "old.pt", {"state_dict": old.state_dict()}, grow=True)) == {"generator.project.0.weight", "generator.density_bias", "generator.loudness_bias",
                                                       "generator.smoother.kind_bias", "critic.texture_embed"}
    old.eval(), new.eval()
    z = old.sample_latent(4, generator=torch.Generator().manual_seed(0))
    tex = torch.tensor([[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 2, 0]])
    with torch.no_grad():
        a, b = old.generator(z), new.generator(z, texture=tex)
        assert torch.equal(a, b) and torch.equal(old.critic(a), new.critic(a, texture=tex))
        with pytest.raises(ValueError, match="conditioned on a texture"):
            new.generator(z)
        with pytest.raises(ValueError, match="no texture condition"):
            old.generator(z, texture=tex)
        new.generator.density_bias[2] = 0.3  # dense: every voice's frames up (3 logits: the paths' gain is 10)
        new.generator.loudness_bias[0] = -0.3  # soft: every voice's velocities down
        new.generator.smoother.kind_bias[3].fill_(0.1)  # a rhythm class's own bias on the smoother
        new.critic.texture_embed[4 + 2] = 1.0  # "dense" gets a say in the score
        same_z = {k: v[:1].expand(4, *v.shape[1:]) for k, v in z.items()}
        out = new.generator(same_z, texture=tex)
        T = base.n_tracks
        assert out[2, :T].mean() > out[0, :T].mean() + 0.1  # dense above sparse
        assert out[0, -T:].mean() < out[2, -T:].mean() - 0.1  # soft below loud
        assert not torch.allclose(out[3], new.generator(same_z, texture=torch.tensor([[2, 2, 0]] * 4))[3])  # only the rhythm class differs
        scores = new.critic(out[:1].expand(2, -1, -1, -1, -1), texture=torch.tensor([[0, 2, 0], [0, 0, 0]]))
        assert scores[0] != scores[1]
