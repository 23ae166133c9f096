"""Sample MuseGAN: latents (one seed, a walk for long pieces, an interpolation between two),
generated pianorolls and their notes, MIDI with one named track per voice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pianogen.sampling.loading import load_cached

class GANResult:
    """Generated pianorolls and their notes, for ``n`` samples."""

    def __init__(self, z: dict[str, torch.Tensor], rolls: np.ndarray, roll_cfg, params: dict, velocity: np.ndarray | None = None,
                 bpm: float | None = None, keys: np.ndarray | None = None, textures: np.ndarray | None = None):
        """``rolls``: binary (n, tracks, bars, steps, pitches); ``velocity``: the generator's
        velocity rolls of the same shape in [0, 1], or None (every note at the config's velocity).
        A musical-time model's bars play in strict time at ``bpm`` (default: its corpus' median).
        ``keys``: each sample's key class (:mod:`pianogen.representations.keys`), for a
        key-conditioned model; ``textures``: each sample's (rhythm, density, loudness) classes
        (:mod:`pianogen.representations.textures`), for a texture model."""
        from pianogen.representations.pianoroll import roll_to_notes

        self.z, self.rolls, self.roll_cfg, self.params, self.velocity, self.keys, self.textures = z, rolls, roll_cfg, params, velocity, keys, textures
        self.tracks = roll_cfg.tracks
        self.bpm = roll_cfg.playback_bpm(bpm)
        self.notes = [roll_to_notes(r, roll_cfg, velocity=None if velocity is None else velocity[i], bpm=self.bpm) for i, r in enumerate(rolls)]  # each with a "track" column

    def track_notes(self, i: int = 0, tracks: list[str] | None = None) -> dict[str, pd.DataFrame]:
        """{track name: notes} of sample ``i`` (only ``tracks`` if given)."""
        df = self.notes[i]
        return {name: df[df["track"] == t].reset_index(drop=True) for t, name in enumerate(self.tracks) if tracks is None or name in tracks}

    def merged(self, i: int = 0, tracks: list[str] | None = None) -> pd.DataFrame:
        df = self.notes[i]
        keep = [t for t, name in enumerate(self.tracks) if tracks is None or name in tracks]
        return df[df["track"].isin(keep)].reset_index(drop=True)

    def write_midi(self, multi_path, merged_path=None, i: int = 0, tracks: list[str] | None = None) -> list[Path]:
        """One named piano track per voice in ``multi_path``; all voices on one track in
        ``merged_path``. A musical-time model's files carry its tempo and metre (bars are bars in a
        score editor); a clock-time model's play at 120 bpm with no metre stated. A key-conditioned
        model's files state the key signature asked for."""
        from pianogen.data.midi import tracks_to_pretty_midi, write_pretty_midi

        cfg = self.roll_cfg
        timing = {"bpm": self.bpm, "time_signature": (cfg.beats_per_bar, 4)} if cfg.musical_time else {}
        if self.keys is not None:
            timing["key_tonic"] = int(self.keys[i])
        out = [write_pretty_midi(tracks_to_pretty_midi(self.track_notes(i, tracks), **timing), multi_path)]
        if merged_path is not None:
            out.append(write_pretty_midi(tracks_to_pretty_midi({"Piano": self.merged(i, tracks)}, **timing), merged_path))
        return out


#: A long piece's time-independent latents move to a new point every this many bars (16 s).
WALK_BARS = 8
#: How far each new anchor of a walk moves from the last toward a fresh latent (1 = a fresh,
#: independent latent; smaller keeps more of the piece's character, see :func:`latent_walk`).
WALK_DRIFT = 0.25


class GANSampler:
    """A loaded MuseGAN checkpoint (load once, sample many times)."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu"):
        from pianogen.checkpoints import CheckpointError, load_model
        from pianogen.representations.pianoroll import PianorollConfig

        self.path = Path(path)
        self.model, self.ckpt = load_model(path, device)
        if self.ckpt["kind"] != "musegan":
            raise CheckpointError(f"{path}: a {self.ckpt['kind']} checkpoint, not MuseGAN (use sample)")
        self.roll_cfg = PianorollConfig(**self.ckpt["representation"]["config"])
        self.device = torch.device(device)
        self.name = self.path.stem

    def latent(self, seed: int = 0, n: int = 1, bars: int | None = None, walk_bars: int = WALK_BARS, drift: float = WALK_DRIFT) -> dict[str, torch.Tensor]:
        """The standard normal latents that ``seed`` gives (what the app shows and interpolates).
        Pieces longer than ``walk_bars`` get a latent walk (see :func:`latent_walk`); 0 = never."""
        bars = bars or self.roll_cfg.n_bars
        gen = torch.Generator().manual_seed(int(seed))
        if walk_bars and bars > walk_bars:
            return latent_walk(self.model, n, bars, walk_bars, gen, drift)
        return self.model.sample_latent(n, bars, gen)

    @property
    def musical_time(self) -> bool:
        """True when the model's bars are notated bars (beats, a tempo), not spans of seconds."""
        return self.roll_cfg.musical_time

    @property
    def keyed(self) -> bool:
        """True when the model is conditioned on a key signature (``generate(key=...)``)."""
        return bool(self.model.config.keys)

    @property
    def textured(self) -> bool:
        """True when the model is conditioned on a texture (``generate(texture=...)``)."""
        return bool(self.model.config.texture)

    def textures_for(self, texture, seed: int, n: int) -> torch.Tensor | None:
        """(n, 3) texture classes (rhythm, density, loudness) for a texture model: ``texture`` as
        text (``"triplets, soft"``), as three classes (None where any), or one row per sample;
        what it leaves open is drawn per sample from ``seed`` as common as in the training crops
        (given the asked classes). None for a model without a texture (which refuses one)."""
        from pianogen.representations.textures import FACTOR_SIZES, draw_textures, parse_texture

        if not self.textured:
            if texture is not None:
                raise ValueError(f"{self.path}: this MuseGAN has no texture condition")
            return None
        fixed = (None, None, None) if texture is None else parse_texture(texture) if isinstance(texture, str) else texture
        if isinstance(fixed, np.ndarray | torch.Tensor) and np.ndim(fixed) == 2:
            rows = torch.as_tensor(np.asarray(fixed, dtype=np.int64))
            if rows.shape != (n, 3) or not all(bool(((rows[:, f] >= 0) & (rows[:, f] < m)).all()) for f, m in enumerate(FACTOR_SIZES)):
                raise ValueError(f"textures must be {n} rows of (rhythm 0-3, density 0-2, loudness 0-2), not {texture}")
            return rows.clone()
        if len(fixed) != 3:
            raise ValueError(f"a texture is (rhythm, density, loudness), not {texture}")
        rng = np.random.default_rng(int(seed) + 104729)
        return torch.from_numpy(draw_textures(np.array(self.model.config.texture_shares), n, rng, tuple(fixed)))

    def keys_for(self, key, seed: int, n: int) -> torch.Tensor | None:
        """(n,) key classes for a keyed model: ``key`` (one class for every sample, or one per
        sample), or where None one drawn per sample from ``seed`` (evenly over the twelve); None
        for a model without keys (which refuses a ``key``)."""
        from pianogen.representations.keys import N_KEYS

        if not self.keyed:
            if key is not None:
                raise ValueError(f"{self.path}: this MuseGAN has no key condition")
            return None
        if key is None:
            return torch.randint(0, N_KEYS, (n,), generator=torch.Generator().manual_seed(int(seed) + 7919))
        keys = torch.as_tensor(np.asarray(key, dtype=np.int64)).expand(n) if np.ndim(key) == 0 else torch.as_tensor(np.asarray(key, dtype=np.int64))
        if keys.shape != (n,) or not bool(((keys >= 0) & (keys < N_KEYS)).all()):
            raise ValueError(f"key must be a class 0-11 (the major tonic's pitch class), one or one per sample ({n}), not {key}")
        return keys.clone()

    @torch.inference_mode()
    def generate(self, z: dict[str, torch.Tensor] | None = None, seed: int = 0, n: int = 1, bars: int | None = None,
                 threshold: float = 0.5, bernoulli: bool = False, bpm: float | None = None, key=None, texture=None) -> GANResult:
        """``n`` passages of ``bars`` bars from latents ``z`` (default: those ``seed`` gives); a
        musical-time model plays them at ``bpm`` (default: its corpus' median tempo); a keyed
        model keeps to ``key``'s scale (a class 0-11, or one per passage; default: drawn from
        ``seed``); a texture model plays ``texture`` (see :meth:`textures_for`; default: drawn
        from ``seed``, as common as in real music)."""
        bars = bars or self.roll_cfg.n_bars
        if bars < 1:
            raise ValueError("bars must be at least 1")
        z = z if z is not None else self.latent(seed, n, bars)
        n_out = int(next(iter(z.values())).shape[0])
        keys, textures = self.keys_for(key, seed, n_out), self.textures_for(texture, seed, n_out)
        from pianogen.models.musegan import split_velocity
        from pianogen.representations.pianoroll import binarize

        out = self.model.generator({k: v.to(self.device) for k, v in z.items()}, None if keys is None else keys.to(self.device),
                                   None if textures is None else textures.to(self.device)).float().cpu()
        probs, velocity = split_velocity(out, self.model.config)
        if bernoulli:
            probs = torch.bernoulli(probs, generator=torch.Generator().manual_seed(int(seed)))
        rolls = binarize(probs.numpy(), self.model.config.n_tracks, threshold)  # notes start at onsets, if it writes them
        params = {"checkpoint": str(self.path), "seed": seed, "n": int(probs.shape[0]), "bars": int(probs.shape[2]), "threshold": threshold, "bernoulli": bernoulli}
        if self.musical_time:
            params["bpm"] = self.roll_cfg.playback_bpm(bpm)
        if keys is not None:
            from pianogen.representations.keys import key_name

            params["keys"] = [key_name(k) for k in keys.tolist()]
        if textures is not None:
            from pianogen.representations.textures import texture_name

            params["textures"] = [texture_name(t) for t in textures.tolist()]
        return GANResult(z, rolls, self.roll_cfg, params, None if velocity is None else velocity.numpy(), bpm,
                         None if keys is None else keys.numpy(), None if textures is None else textures.numpy())


def latent_walk(model, n: int, bars: int, every: int = WALK_BARS, generator: torch.Generator | None = None,
                drift: float = WALK_DRIFT) -> dict[str, torch.Tensor]:
    """Latents for a piece of ``bars`` bars that changes slowly, as a piece does.

    The per-bar (temporal) latents are drawn independently for every bar, exactly as in
    training. The time-independent ones (shared, private), which fix a passage's character,
    walk: anchors are drawn every ``every`` bars (the first is the short piece's latent) and
    each bar takes the spherical interpolation between its two neighbouring anchors, so
    adjacent bars differ by 1/``every`` of an anchor step and no bar leaves the Gaussian shell
    the generator was trained on. Each anchor is the last one moved ``drift`` of the way (on the
    sphere) toward a fresh latent: 1 makes anchors independent, so the piece forgets its start
    after one anchor; less keeps a share of every earlier anchor, as a piece keeps its key.
    Returned per bar: shared (n, z, bars), private (n, T, z, bars).
    """
    if every < 1:
        raise ValueError("every must be at least 1 bar")
    if not 0 < drift <= 1:
        raise ValueError(f"drift must be in (0, 1], not {drift}")
    z = model.sample_latent(n, bars, generator=generator)
    n_anchors = (bars - 1) // every + 2
    for part in ("shared", "private"):
        anchors = [z[part]]
        for _ in range(n_anchors - 1):
            fresh = torch.randn(z[part].shape, generator=generator)
            anchors.append(fresh if drift == 1 else _slerp(anchors[-1], fresh, drift))
        steps = [_slerp(anchors[b // every], anchors[b // every + 1], (b % every) / every) for b in range(bars)]
        z[part] = torch.stack(steps, dim=-1)
    return z


def _slerp(a: torch.Tensor, b: torch.Tensor, alpha: float) -> torch.Tensor:
    """Spherical interpolation per sample (rows flattened): keeps Gaussian latents at a
    typical norm, where plain linear mixing would pass through low-norm, atypical points."""
    fa, fb = a.flatten(1), b.flatten(1)
    cos = (fa * fb).sum(1) / (fa.norm(dim=1) * fb.norm(dim=1)).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))[:, None]
    so = torch.sin(omega)
    lerp = (1 - alpha) * fa + alpha * fb
    out = torch.where(so.abs() < 1e-6, lerp, (torch.sin((1 - alpha) * omega) * fa + torch.sin(alpha * omega) * fb) / so.clamp_min(1e-12))
    return out.view_as(a)


def interpolate(z_a: dict[str, torch.Tensor], z_b: dict[str, torch.Tensor], alpha: float) -> dict[str, torch.Tensor]:
    """Latents between ``z_a`` (alpha 0) and ``z_b`` (alpha 1), spherically, per latent."""
    if set(z_a) != set(z_b):
        raise ValueError("the two latents have different parts")
    return {k: _slerp(z_a[k], z_b[k], float(alpha)) for k in z_a}


def load_gan(checkpoint: str | os.PathLike, device: str = "cpu") -> GANSampler:
    """A sampler for a MuseGAN checkpoint, loaded once and cached."""
    return load_cached(GANSampler, checkpoint, device)


def sample_gan(checkpoint, z: dict[str, torch.Tensor] | None = None, seed: int = 0, n: int = 1, bars: int = 4,
               threshold: float = 0.5, bernoulli: bool = False, bpm: float | None = None, key=None, texture=None) -> GANResult:
    """Generate ``n`` multi-track passages of ``bars`` bars from a MuseGAN checkpoint.

    ``z`` (from :meth:`GANSampler.latent` or :func:`interpolate`) overrides ``seed``/``n``.
    Output is binarized at ``threshold``, or by Bernoulli sampling (seeded) if asked. A
    key-conditioned model keeps to ``key`` (class 0-11, or one per passage; :mod:`pianogen.representations.keys`);
    a texture model plays ``texture`` (:meth:`GANSampler.textures_for`).
    """
    sampler = checkpoint if isinstance(checkpoint, GANSampler) else load_gan(checkpoint)
    return sampler.generate(z, seed, n, bars, threshold, bernoulli, bpm, key, texture)
