"""Training task for MuseGAN: WGAN-GP on multi-track pianoroll windows.

Real data: random crops of ``n_bars`` bars from train-split pieces (silent crops skipped),
transposed by up to ``transpose`` semitones when no note would leave the piano.
Each step: ``n_critic`` critic updates (Wasserstein loss + ``gp_weight`` x gradient
penalty), then one generator update. Adam with lr 1e-3, betas (0.5, 0.9) as in the paper.

With a velocity roll (``MuseGANConfig.velocity``) the real crops carry each note's velocity and
the evaluation adds each track's velocity mean and spread (VM, VS; MIDI velocity / 127, over
sounding steps) to the metrics.

With a key condition (``MuseGANConfig.keys``, musical time only: the key signatures come from the
beat annotations) every real crop comes with its key, the fakes the critic compares it with are
asked for the same keys, and the metrics add KS, the share of notes in the asked key's scale
(real crops: in their annotated key's), to the selection distance.

With a texture condition (``MuseGANConfig.texture``) every real crop's texture (rhythm, density,
loudness classes: :mod:`pianogen.representations.textures`) is measured as it is drawn, the fakes
are asked for the same textures, and the metrics add TX, the share of the asked classes that a
generated passage has (measured the same way; real crops 1 by construction). With
``GANConfig.match_by`` the feature-matching terms compare each group of a batch (the fakes asked
for one combination of the named factors' classes) with real crops of that kind, instead of the
whole batch with all real crops.

With ``MuseGANConfig.rhythm`` the metrics add GRID, each voice's share of notes that start on the
beat's grid (a sixteenth or a triplet eighth; real music 0.76-0.89), to the selection distance.

Evaluation generates samples from a fixed latent, binarizes them at 0.5 and computes
MuseGAN's metrics (EB, UPC, QN, TD, and pianogen's SN) against the same metrics on a fixed
set of real crops from the *tuning half* of the validation split (``validation-tuning``: half
of its compositions, so the other half can report; train crops only when a corpus has no
validation split, and the report says so); ``val_loss`` is their normalized mean absolute
difference (lower = closer to real music), which selects the best checkpoint. The final report
measures the selected checkpoint again on a fresh latent set, so the number it reports is not
the best-of-N number that chose it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pianogen.data.beats import NO_KEY, bar_runs, metre_counts
from pianogen.data.corpus import corpus_name
from pianogen.metrics.musegan import grid_share, has_beat_grid, key_scale_share, musegan_metrics, velocity_metrics
from pianogen.models.musegan import MuseGAN, MuseGANConfig, rising_edges, split_velocity
from pianogen.representations import pianoroll as pr
from pianogen.representations.keys import N_KEYS, key_class
from pianogen.representations.textures import asked_kept, draw_textures, n_groups, parse_factors, texture_classes, texture_group, texture_shares
from pianogen.training.feature_matching import MATCHED, grouped_targets, mismatch, per_group, real_targets, rhythm_mismatch, rhythm_statistic
from pianogen.training.loop import Task, process_rank


#: Feature-matching targets come from MATCH_BATCHES draws of MATCH_BATCH training crops, or with
#: targets per texture group (``GANConfig.match_by``) GROUPED_MATCH_BATCHES draws, so a group of a
#: twentieth of real passages still has about a hundred.
MATCH_BATCH, MATCH_BATCHES, GROUPED_MATCH_BATCHES = 64, 8, 32


@dataclass
class GANConfig:
    n_critic: int = 5  # critic updates per generator update (the paper's 5)
    gp_weight: float = 10.0  # weight of WGAN-GP's gradient penalty (the paper's 10)
    transpose: int = 3  # training crops are transposed by up to this many semitones either way
    eval_samples: int = 64  # generated passages per evaluation
    real_reference: int = 256  # real crops the metrics are compared with
    rhythm_match: float = 0.0  # with a rhythm model: weight of feature matching on where in the beat notes start (see feature_matching.rhythm_mismatch)
    gap_match: float = 0.0  # weight of feature matching on the gaps between successive onsets, per voice and all together (see feature_matching.gap_statistic)
    restrike_match: float = 0.0  # weight of feature matching on how soon a voice strikes the same key again (see feature_matching.restrike_statistic)
    dynamics_match: float = 0.0  # with velocity: weight of feature matching on velocity change between successive onset times and velocity spread inside chords (see feature_matching.dynamics_statistic)
    chord_match: float = 0.0  # weight of feature matching on the interval classes of keys struck together (see feature_matching.chord_statistic)
    crop_match: float = 0.0  # weight of matching, passage by passage, the distribution of what the listener test reads in one (see feature_matching.crop_statistic)
    match_by: str = ""  # with a texture model: factors ("rhythm", "density", "loudness", comma-separated) whose each combination of classes gets its own feature-matching targets, from real crops of that kind (see feature_matching.grouped_targets); "" pools all
    reference_split: str = "validation-tuning"  # where those crops come from: the tuning half by composition (pianogen.data.splits), so the reporting half stays unseen; train if empty


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor, alpha: torch.Tensor, **conditions: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): mean over the batch of (||grad_x D(x)|| - 1)^2
    at x = alpha * real + (1 - alpha) * fake, differentiable for the critic's update
    (``conditions``: the pair's ``key`` and ``texture`` classes, for a conditioned critic). In
    fp32: the penalty needs precise gradients."""
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(mix, **conditions)
    grads = torch.autograd.grad(scores.sum(), mix, create_graph=True)[0]
    return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()


#: The metrics the selection distance compares, each with the span that scales it to about [0, 1].
METRIC_SCALE = {"EB": 1.0, "UPC": 12.0, "QN": 1.0, "SN": 1.0, "TD": 2.0, "VM": 0.5, "VS": 0.25, "KS": 0.5, "GRID": 0.5, "GAPS": 1.0, "CHORDS": 1.0, "DYNAMICS": 1.0, "RESTRIKES": 1.0, "CROPS": 1.0,
                "TX": 1.0}

#: Metrics only some runs are selected on (a keyed model's KS, a rhythm model's GRID, a
#: feature-matching run's GAPS, CHORDS, DYNAMICS, RESTRIKES and CROPS, a texture model's TX):
#: left out where MuseGANs are ranked against each other.
RUN_SPECIFIC = ("KS", "GRID", "GAPS", "CHORDS", "DYNAMICS", "RESTRIKES", "CROPS", "TX")
#: Training crops whose textures give a texture model's ``texture_shares`` (the sampler's draw).
TEXTURE_CROPS = 2048


def texture_kept(frames: np.ndarray, velocity: np.ndarray, asked: np.ndarray, steps_per_beat: int) -> float:
    """The share of asked texture classes (n, 3) that the passages (binary frames, velocity rolls
    in [0, 1]) have, measured as real crops are (:func:`texture_classes`), over all three factors."""
    return float(asked_kept(texture_classes(frames, velocity, steps_per_beat), asked).mean())


#: The selection metric of each matched statistic (``feature_matching.MATCHED``).
SELECTED_AS = {"gap": "GAPS", "chord": "CHORDS", "dynamics": "DYNAMICS", "restrike": "RESTRIKES", "crop": "CROPS"}


def metric_distance(gen: dict[str, float], real: dict[str, float]) -> float:
    """Mean absolute difference of the metrics of ``real`` (MuseGAN's, by track), each scaled by
    :data:`METRIC_SCALE` to about [0, 1].

    A metric that is undefined for generated music (no notes at all) counts as the
    largest difference, 1.
    """
    diffs = []
    for k, r in real.items():
        g = gen.get(k, float("nan"))
        if np.isnan(r):
            continue
        diffs.append(1.0 if np.isnan(g) else min(1.0, abs(g - r) / METRIC_SCALE[k.split("/")[0]]))
    return float(np.mean(diffs))


class RollCrops:
    """Random real crops (tracks, bars, steps, pitches) with transposition; RNG saved for --resume.
    Binary rolls, or with ``velocity`` velocity rolls in [0, 1] (MIDI velocity / 127, 0 = silent).

    Clock time: a crop may start at any step. Musical time (``cfg.steps_per_beat`` > 0): each
    piece is laid on its own annotated ``beats`` ({piece_id: beat table}) and a crop starts at a
    downbeat that opens ``n_bars`` whole bars of ``cfg.beats_per_bar`` beats (see
    :func:`pianogen.data.beats.bar_runs`); pieces without annotations or such bars are left out
    (``skipped``), and :meth:`beat_times` gives a crop's own beats for playback in its time.
    Each crop's key (:mod:`pianogen.representations.keys` class of the key signature in effect
    at its first beat, moved with its transposition) comes with it; -1 where none is known
    (clock time)."""

    def __init__(self, notes: pd.DataFrame, cfg: pr.PianorollConfig, transpose: int, seed: int, velocity: bool = False,
                 beats: dict[str, pd.DataFrame] | None = None):
        self.cfg, self.transpose, self.velocity = cfg, transpose, velocity
        self.length = cfg.n_bars * cfg.steps_per_bar
        self.rolls, self.starts, self.beats, self.keys, self.piece_ids, self.skipped = [], [], [], [], [], 0
        if cfg.musical_time and beats is None:
            raise ValueError("a musical-time pianoroll needs beat annotations (prepare a corpus that has them)")
        for pid, g in notes.groupby("piece_id", sort=True):
            if cfg.musical_time:
                b = beats.get(pid)
                firsts = np.array([], dtype=np.int64) if b is None else bar_runs(b, cfg.beats_per_bar, cfg.n_bars)
                if not len(firsts):
                    self.skipped += 1
                    continue
                times = b["time"].to_numpy()
                roll = pr.notes_to_beat_roll(g, times, cfg, velocity)
                starts = firsts * cfg.steps_per_beat
                starts = starts[[roll[:, s : s + self.length].any() for s in starts]]  # silent crops never drawn
                if not len(starts):
                    self.skipped += 1
                    continue
                self.beats.append(times)
                self.keys.append(np.array([key_class(k) if k != NO_KEY else -1 for k in b["key"]], dtype=np.int64))
            else:
                roll = pr.notes_to_roll(g, cfg, velocity=velocity)
                if roll.shape[1] <= self.length:
                    continue
                starts = None  # any step in [0, len - length)
            self.rolls.append(roll)
            self.starts.append(starts)
            self.piece_ids.append(pid)
        if not self.rolls:
            raise ValueError("no piece is long enough for one training sample" + (" of whole annotated bars" if cfg.musical_time else ""))
        w = np.array([r.shape[1] - self.length if s is None else len(s) for r, s in zip(self.rolls, self.starts)], dtype=float)
        self.weights = w / w.sum()
        self.rng = np.random.default_rng(seed)

    @property
    def n_starts(self) -> int:
        """How many distinct crops (start positions) there are to draw from."""
        return int(sum(r.shape[1] - self.length if s is None else len(s) for r, s in zip(self.rolls, self.starts)))

    def draw(self, n: int, rng: np.random.Generator | None = None, transpose: int | None = None) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray]:
        """``n`` crops, per crop (piece index, start step), and their keys ((n,) classes, -1 where
        unknown); ``rng`` and ``transpose`` default to the training ones."""
        rng = rng or self.rng
        transpose = self.transpose if transpose is None else transpose
        out = np.zeros((n,) + self.cfg.shape, dtype=np.float32)
        picks, keys = [], np.full(n, -1, dtype=np.int64)
        while len(picks) < n:
            j = int(rng.choice(len(self.rolls), p=self.weights))
            roll, starts = self.rolls[j], self.starts[j]
            s = int(rng.integers(0, roll.shape[1] - self.length)) if starts is None else int(starts[rng.integers(0, len(starts))])
            crop = roll[:, s : s + self.length]
            if not crop.any():
                continue
            k = 0
            if transpose:
                sounding = np.nonzero(crop.any(axis=(0, 1)))[0]
                k = int(rng.integers(max(-transpose, -sounding.min()), min(transpose, crop.shape[2] - 1 - sounding.max()) + 1))
                crop = np.roll(crop, k, axis=2)
            key = self.keys[j][s // self.cfg.steps_per_beat] if self.keys else -1
            if key >= 0:
                keys[len(picks)] = (key + k) % N_KEYS
            out[len(picks)] = pr.to_bars(crop, self.cfg)
            picks.append((j, s))
        return (out / 127.0 if self.velocity else out), picks, keys

    def sample(self, n: int, rng: np.random.Generator | None = None, transpose: int | None = None) -> np.ndarray:
        """``n`` crops (see :meth:`draw`)."""
        return self.draw(n, rng, transpose)[0]

    def sample_keyed(self, n: int, rng: np.random.Generator | None = None, transpose: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` crops and their keys (see :meth:`draw`)."""
        crops, _, keys = self.draw(n, rng, transpose)
        return crops, keys

    def beat_times(self, pick: tuple[int, int]) -> np.ndarray:
        """Musical time: the seconds of the beats a crop (a :meth:`draw` pick) spans, its start
        to its end (``n_bars * beats_per_bar + 1`` times)."""
        j, s = pick
        first = s // self.cfg.steps_per_beat
        return self.beats[j][first : first + self.cfg.n_bars * self.cfg.beats_per_bar + 1]

    def tempo_bpm(self) -> float:
        """Median tempo (beats per minute) over the beats of every crop that can be drawn."""
        spans = [np.diff(self.beat_times((j, int(s)))) for j, starts in enumerate(self.starts) for s in starts]
        return float(60.0 / np.median(np.concatenate(spans)))


class GANTask(Task):
    kind = "musegan"

    def __init__(self, notes: pd.DataFrame, pieces: pd.DataFrame, roll_cfg: pr.PianorollConfig, model_cfg: MuseGANConfig, gan: GANConfig, seed: int, data_dir: str = "", out: str = "",
                 beats: dict[str, pd.DataFrame] | None = None):
        self.roll_cfg, self.gan, self.data_dir, self.out, self.beats = roll_cfg, gan, data_dir, out, beats
        torch.manual_seed(seed)
        if model_cfg.keys and not roll_cfg.musical_time:
            raise ValueError("a key condition needs key signatures: train in musical time (--roll-steps-per-beat 12) on an annotated corpus")
        if model_cfg.rhythm and model_cfg.rhythm != roll_cfg.steps_per_beat:
            raise ValueError(f"rhythm ({model_cfg.rhythm} steps per beat) needs musical time at that grid (--roll-steps-per-beat {model_cfg.rhythm}), "
                             f"not {roll_cfg.steps_per_beat or 'clock time'}")
        if model_cfg.texture and not roll_cfg.musical_time:
            raise ValueError("a texture condition needs beats: train in musical time (--roll-steps-per-beat 12) on an annotated corpus")
        self.match_factors = parse_factors(gan.match_by)
        if self.match_factors and not model_cfg.texture:
            raise ValueError("feature-matching targets per texture (--gan-match-by) need a texture model (--texture): a fake's group is the texture it is asked for")
        train_ids = set(pieces.loc[pieces["split"] == "train", "piece_id"])
        self.n_train = len(train_ids)
        train = notes[notes["piece_id"].isin(train_ids)]
        vel = model_cfg.velocity
        self.crops = RollCrops(train, roll_cfg, gan.transpose, seed + 1000 * process_rank(), vel, beats)  # own crops per DDP rank
        if roll_cfg.musical_time and not roll_cfg.tempo_bpm:  # strict-time playback at the corpus' median tempo
            self.roll_cfg = roll_cfg = replace(roll_cfg, tempo_bpm=round(self.crops.tempo_bpm(), 1))
            self.crops.cfg = roll_cfg
        if model_cfg.texture:  # what the sampler draws textures from: their shares among training crops
            rng = np.random.default_rng(778)
            classes = np.concatenate([texture_classes(t > 0, t, roll_cfg.steps_per_beat) for t in (self.crops.sample(256, rng, transpose=0) for _ in range(TEXTURE_CROPS // 256))])
            model_cfg = replace(model_cfg, texture_shares=tuple(round(float(v), 6) for v in texture_shares(classes)))
        self.net = MuseGAN(model_cfg)
        self.models = {"generator": self.net.generator, "critic": self.net.critic}
        # Real reference: untransposed crops from a fixed generator, of held-out pieces where
        # the corpus has them, so selection does not reward copying the training music.
        from pianogen.data.splits import parse_half, select_half

        ref_pieces = select_half(pieces, gan.reference_split) if parse_half(gan.reference_split) else pieces[pieces["split"] == gan.reference_split]
        ref_ids = set(ref_pieces["piece_id"])
        try:
            ref_crops, self.reference_split = RollCrops(notes[notes["piece_id"].isin(ref_ids)], roll_cfg, 0, 0, vel, beats), gan.reference_split
        except ValueError:  # the split is empty, or no piece in it is long enough for one sample
            ref_crops, self.reference_split = self.crops, "train"
        real, _, real_keys = ref_crops.draw(gan.real_reference, np.random.default_rng(12345), transpose=0)
        self.real = real > 0
        # A feature-matching run also selects on what it matches (SELECTED_AS): half the L1
        # distance of a set's statistic from the reference crops'.
        matched = [n for n in MATCHED if getattr(gan, f"{n}_match")]
        reference = self._channels(torch.from_numpy(real).float()) if matched else None
        self.match_reference = {n: MATCHED[n](reference, model_cfg) for n in matched}
        real_tex = texture_classes(self.real, real, roll_cfg.steps_per_beat) if model_cfg.texture else None
        self.real_metrics = self._metrics(self.real, real if vel else None, real_keys if model_cfg.keys else None, real_tex)
        self.eval_z, self.eval_keys, self.eval_textures = self._fixed_latents(2024)
        self.untrained_metrics = self._generated_metrics(torch.device("cpu"))
        # Feature-matching targets: training crops (untransposed; the statistics ignore key) from
        # their own generator, so the training crops' stream is the same with or without them.
        self.match_weights = {n: getattr(gan, f"{n}_match") for n in matched}
        target_rng = np.random.default_rng(777)
        self.rhythm_target = None
        if self.match_factors:  # one target per group: the statistic of real crops of that kind
            statistics = {n: MATCHED[n] for n in matched}
            if gan.rhythm_match and model_cfg.rhythm:
                statistics["rhythm"] = rhythm_statistic
            batches = (self.crops.draw(MATCH_BATCH, target_rng, transpose=0)[0] for _ in range(GROUPED_MATCH_BATCHES))
            self.match_targets = grouped_targets(((self._channels(torch.from_numpy(b)), torch.from_numpy(texture_group(texture_classes(b > 0, b, roll_cfg.steps_per_beat), self.match_factors)))
                                                  for b in batches), model_cfg, statistics, n_groups(self.match_factors))
            self.rhythm_target = self.match_targets.pop("rhythm", None)
        else:
            self.match_targets = real_targets((self._channels(torch.from_numpy(self.crops.draw(MATCH_BATCH, target_rng, transpose=0)[0]))
                                               for _ in range(MATCH_BATCHES)), model_cfg, list(self.match_weights)) if self.match_weights else {}

    def _fixed_latents(self, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, torch.Tensor | None]:
        """Evaluation latents from ``seed``, for a key-conditioned model keys drawn evenly from the
        twelve (so every key is asked for, not only the corpus' common ones), and for a texture
        model textures drawn as common as they are in the training crops."""
        gen = torch.Generator().manual_seed(seed)
        c, n = self.net.config, self.gan.eval_samples
        z = self.net.sample_latent(n, generator=gen)
        keys = torch.randint(0, N_KEYS, (n,), generator=gen) if c.keys else None
        textures = torch.from_numpy(draw_textures(np.array(c.texture_shares), n, np.random.default_rng(seed))) if c.texture else None
        return z, keys, textures

    def checkpoint_module(self):
        return self.net

    def optimizers(self, cfg):
        return {
            "critic": torch.optim.Adam(self.net.critic.parameters(), lr=cfg.lr, betas=cfg.betas),
            "generator": torch.optim.Adam(self.net.generator.parameters(), lr=cfg.lr, betas=cfg.betas),
        }

    def _latent(self, n: int, device) -> dict[str, torch.Tensor]:
        return {k: v.to(device) for k, v in self.net.sample_latent(n).items()}

    def train_step(self, trainer, step):
        G, D = trainer.wrapped["generator"], trainer.wrapped["critic"]
        bs, dev = trainer.cfg.batch_size, trainer.device
        for p in self.net.critic.parameters():
            p.requires_grad_(True)
        c = self.net.config
        for _ in range(self.gan.n_critic):
            crops, keys = self.crops.sample_keyed(bs)
            real = self._channels(torch.from_numpy(crops).float().to(dev))
            # A conditioned model's fakes are asked for the real batch's keys and textures: the
            # critic compares like with like.
            cond = {}
            if c.keys:
                cond["key"] = torch.from_numpy(keys).to(dev)
            if c.texture:
                cond["texture"] = torch.from_numpy(texture_classes(crops > 0, crops, self.roll_cfg.steps_per_beat)).to(dev)
            with torch.no_grad(), trainer.autocast():
                fake = G(self._latent(bs, dev), **cond).float()
            with trainer.autocast():
                d_real, d_fake = D(real, **cond).float().mean(), D(fake, **cond).float().mean()
            gp = gradient_penalty(D, real, fake, torch.rand(bs, 1, 1, 1, 1, device=dev), **cond)
            d_loss = d_fake - d_real + self.gan.gp_weight * gp
            trainer.backward(d_loss, "critic")
        for p in self.net.critic.parameters():
            p.requires_grad_(False)  # the generator step needs no critic gradients
        with trainer.autocast():
            fake = G(self._latent(bs, dev), **cond)
            g_loss = -D(fake, **cond).float().mean()
        logs = {}
        fake32 = fake.float()
        # With targets per texture group, each group of the batch (by the texture it was asked
        # for) is matched with real crops of its own kind; the rhythm term then also uses a fixed
        # target, since a batch's group of one or two real crops would be noise.
        group = texture_group(cond["texture"], self.match_factors) if self.match_factors else None
        if self.gan.rhythm_match and c.rhythm:
            if group is None:
                m = rhythm_mismatch(fake32, real, c)
            else:
                target = self.rhythm_target.to(dev)
                m = per_group(lambda sel, g: mismatch(rhythm_statistic(fake32[sel], c), target[g]), group)
            g_loss = g_loss + self.gan.rhythm_match * m
            logs["rhythm_mismatch"] = float(m.detach())
        for name, weight in self.match_weights.items():
            statistic, target = MATCHED[name], self.match_targets[name].to(dev)
            if group is None:
                m = mismatch(statistic(fake32, c), target)
            else:
                m = per_group(lambda sel, g: mismatch(statistic(fake32[sel], c), target[g]), group)
            g_loss = g_loss + weight * m
            logs[f"{name}_mismatch"] = float(m.detach())
        trainer.backward(g_loss, "generator")
        return {"d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()), "wasserstein": float((d_real - d_fake).detach()), "gp": float(gp.detach()), **logs}

    def _channels(self, crops: torch.Tensor) -> torch.Tensor:
        """Real crops -> what the critic reads, in the generator's channel order: frames, their
        onsets if the generator writes onsets, the velocity roll if it writes velocities."""
        c = self.net.config
        frames = (crops > 0).float() if c.velocity else crops
        return torch.cat([frames] + [rising_edges(frames)] * c.onsets + [crops] * c.velocity, 1)

    def _metrics(self, frames: np.ndarray, velocity: np.ndarray | None, keys: np.ndarray | None = None, textures: np.ndarray | None = None) -> dict[str, float]:
        m = musegan_metrics(frames, self.roll_cfg.tracks, self.roll_cfg.low, self.roll_cfg.qn_steps)
        if velocity is not None:
            m.update(velocity_metrics(frames, velocity, self.roll_cfg.tracks))
        if keys is not None:
            m["KS"] = key_scale_share(frames, keys, self.roll_cfg.low)
        if textures is not None:
            m["TX"] = texture_kept(frames, velocity, textures, self.roll_cfg.steps_per_beat)
        if has_beat_grid(self.net.config.rhythm):
            m.update(grid_share(frames, self.net.config.rhythm, self.roll_cfg.tracks))
        if self.match_reference:  # the statistics read the frames first, the velocities last
            x = torch.from_numpy(np.concatenate([frames, velocity], 1) if velocity is not None else frames).float()
            for name, ref in self.match_reference.items():
                m[SELECTED_AS[name]] = float(mismatch(MATCHED[name](x, self.net.config), ref)) / 2
        return m

    @torch.no_grad()
    def generate(self, device, z=None, keys: torch.Tensor | None = None, textures: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """(binary frame rolls (n, tracks, bars, steps, pitches), velocity rolls or None) from
        latents, keys and textures (default: the fixed evaluation ones), decoded as the sampler
        decodes them."""
        was = self.net.generator.training
        self.net.generator.eval()
        if z is None:
            z, keys, textures = self.eval_z, self.eval_keys, self.eval_textures
        z = {k: v.to(device) for k, v in z.items()}
        out = self.net.generator(z, None if keys is None else keys.to(device), None if textures is None else textures.to(device))
        notes, vel = split_velocity(out.float().cpu().numpy(), self.net.config)
        self.net.generator.train(was)
        return pr.binarize(notes, self.net.config.n_tracks, 0.5), vel

    def _generated_metrics(self, device, z=None, keys: torch.Tensor | None = None, textures: torch.Tensor | None = None) -> dict[str, float]:
        if z is None:
            z, keys, textures = self.eval_z, self.eval_keys, self.eval_textures
        return self._metrics(*self.generate(device, z, keys, textures), None if keys is None else keys.numpy(), None if textures is None else textures.numpy())

    def evaluate(self, trainer):
        """Metric distance of generated to real rolls. Under torchrun only rank 0 generates and
        measures (every rank holds the same weights); the others receive its numbers, so all
        agree on the best checkpoint without repeating the work."""
        keys = list(self.real_metrics)
        if trainer.rank == 0:
            gen = self._generated_metrics(trainer.device)
            values = [metric_distance(gen, self.real_metrics)] + [gen[k] for k in keys]
        else:
            values = [0.0] * (1 + len(keys))
        values = trainer.sum_over_ranks(values)  # rank 0's numbers, everywhere
        return {"val_loss": values[0], **{f"gen/{k}": v for k, v in zip(keys, values[1:])}}

    def on_evaluate(self, trainer, step):
        from pianogen.plots import save_roll_grid

        folder = Path(str(self.out) + "_samples")
        save_roll_grid(self.generate(trainer.device)[0][:4], self.roll_cfg, folder / f"step_{step:06d}.png", title=f"MuseGAN step {step}")

    def final_metrics(self, trainer) -> dict[str, Any]:
        from pianogen.io import write_json

        gen = self._generated_metrics(trainer.device)
        # Fresh latents (a seed the selection never saw): the number to report.
        fresh = self._generated_metrics(trainer.device, *self._fixed_latents(777))
        table = {
            "reference_split": self.reference_split,
            "real": self.real_metrics,
            "generated": gen,
            "generated_fresh_latents": fresh,
            "untrained": self.untrained_metrics,
            "distance": {"generated": metric_distance(gen, self.real_metrics), "generated_fresh_latents": metric_distance(fresh, self.real_metrics),
                         "untrained": metric_distance(self.untrained_metrics, self.real_metrics)},
        }
        write_json(Path(str(self.out) + ".metrics.json"), table)
        return table

    def payload(self):
        return {"kind": self.kind, "model_config": asdict(self.net.config), "representation": {"name": "pianoroll", "config": self.roll_cfg.to_dict()}, "gan": asdict(self.gan)}

    def summary(self):
        return {"dir": str(self.data_dir), "corpus": corpus_name(self.data_dir), "train_pieces": self.n_train, "reference_split": self.reference_split, "sample_shape": list(self.roll_cfg.shape),
                **({"steps_per_beat": self.roll_cfg.steps_per_beat, "tempo_bpm": self.roll_cfg.tempo_bpm, "train_crops": self.crops.n_starts,
                    "train_pieces_used": len(self.crops.rolls), "train_pieces_without_whole_bars": self.crops.skipped,
                    "train_bars_by_metre": metre_counts([self.beats[p] for p in self.crops.piece_ids], self.roll_cfg.beats_per_bar)}
                   if self.roll_cfg.musical_time else {"steps_per_second": self.roll_cfg.steps_per_second})}

    def tokens_per_step(self, cfg):
        return cfg.batch_size  # samples per generator step

    def rng_state(self):
        return self.crops.rng.bit_generator.state

    def set_rng_state(self, state):
        self.crops.rng.bit_generator.state = state


def make_gan_task(data_dir: str, seed: int, roll_overrides: dict | None = None, model_overrides: dict | None = None, gan: GANConfig | None = None, out: str = "") -> GANTask:
    from pianogen.data import load_notes, load_pieces

    roll_cfg = pr.PianorollConfig(**(roll_overrides or {}))
    # Musical time at 12 steps per beat: the generator's blocks are beats (see models.musegan).
    block = {"block": 12} if roll_cfg.musical_time and roll_cfg.steps_per_beat % 12 == 0 else {}
    overrides = dict(model_overrides or {})
    if overrides.get("rhythm") is True:  # --rhythm: the grid's own steps per beat
        if not roll_cfg.musical_time:
            raise ValueError("rhythm needs beats: train in musical time (--roll-steps-per-beat 12) on an annotated corpus")
        overrides["rhythm"] = roll_cfg.steps_per_beat
    model_cfg = MuseGANConfig(**{"n_tracks": len(roll_cfg.tracks), "n_bars": roll_cfg.n_bars, "steps_per_bar": roll_cfg.steps_per_bar, "n_pitches": roll_cfg.n_pitches, **block, **overrides})
    beats = None
    if roll_cfg.musical_time:
        from pianogen.data.beats import load_beats

        beats = load_beats(data_dir)
    return GANTask(load_notes(data_dir), load_pieces(data_dir), roll_cfg, model_cfg, gan or GANConfig(), seed, data_dir, out, beats)
