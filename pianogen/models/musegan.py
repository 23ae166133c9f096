"""MuseGAN (Dong et al., AAAI 2018) for multi-track piano pianorolls.

The paper's three generator designs are a config choice (``design``); they differ in which
latents each track's bars are built from:
  ``hybrid`` (default): [shared, private, temporal shared, temporal private];
  ``composer``: [shared, temporal shared] only: one generator decides every track together
  (each track keeps its own output stack, the composer's per-track output channels);
  ``jamming``: [private, temporal private] only: each track is generated from its own latents
  alone, so no track knows what the others play (the paper's jamming also gives each track its
  own critic and shares no generator weights; here the layers are shared across tracks, which
  does not let tracks coordinate, and one critic scores the ensemble).

Generator: up to four latents per sample, each ``z_dim`` wide:
  ``shared`` (time-independent, all tracks), ``private`` (time-independent, per track),
  ``temporal_shared`` (one per bar, all tracks) and ``temporal_private`` (one per bar and
  track). Temporal generators (one shared, one per track) turn the time-dependent latents
  into one latent per bar; here they are 1-D convolutions over the bar axis, so a longer
  latent sequence generates more bars (``bars`` > 4) with the same weights.
  The bar generator concatenates, per track and bar, [shared, private, temporal shared,
  temporal private] and runs a shared transposed-convolution stack, then a private
  (per-track) stack, giving (steps per bar, pitches) per track and bar. Pitch is built
  octave-wise: 8 blocks of 12 keys (96, cropped to the 88 piano keys).

With ``onsets``, each track's private stack also writes an onset roll (channels: every track's
frames, then every track's onsets), as in Onsets and Frames: a note may only start where the
generator places an onset (``pianoroll.binarize``), so where it begins is said explicitly
rather than read off a thresholded roll, whose flicker makes fragments. The critic reads both,
real onsets being the rising edges of real frames.

With ``velocity``, each track's private stack also writes a velocity roll (in [0, 1], MIDI
velocity / 127; the last channels): a decoded note plays at its mean over the note's steps
(``pianoroll.roll_to_notes``), so dynamics are learned rather than fixed at one loudness. The
critic sees velocity only where the frames sound (velocity x frames), exactly as a real
velocity roll is zero where no key is down. (The paper's rolls are binary.)

With ``smoother``, a small residual convolution over each note channel's logits runs along the
whole passage (bar lines included) before the sigmoid. Why: the bar generator builds time in
non-overlapping blocks (transposed convolutions with stride = kernel: 4 blocks of 8 steps per
bar, each split in 2, 2, 2), and measured on the trained hybrid a third of its note onsets and
ends fall on the 8-step block edges (real music: an eighth), so held notes break into fragments
there. The smoother sees 6 steps either side of every edge; its last layer starts at zero, so it
can be added to a trained generator (``train_musegan.py --init``) and begins as that generator.

With ``refiner``, BinaryMuseGAN's fix for fragmentation (Dong & Yang, ISMIR 2018): a refiner
network after the generator ends in deterministic binary neurons, so the critic judges the
binary roll a listener hears (not probabilities that are thresholded later); gradients pass
the binarization by the sigmoid-adjusted straight-through estimator. Its last layer starts at
zero, so a refiner added to a trained generator (``train_musegan.py --init``, the paper's
two-stage training) begins as that generator's own rolls thresholded at 0.5.

``block`` sets how many steps each position of the generator's first feature map grows into:
8 (2 x 2 x 2, the first MuseGAN's clock-time grid) or 12 (2 x 2 x 3). In musical time at 12
steps per beat, 12 makes the first map hold one position per beat, so the blocks the generator
paints are beats, not spans that cut across them.

With ``keys``, the music is conditioned on a key signature (one of the twelve scale classes of
:mod:`pianogen.representations.keys`, given per sample), in the key's own frame: pitch classes
counted from its tonic. The generator reads the key one-hot beside its latents and adds a
learned *key profile* to every frame logit, one value per voice and pitch class counted from
the tonic (36 numbers shared by all twelve keys, as transposition asks; what it learns is the
scale, and reads like Krumhansl's profiles). The critic reads, besides its chroma stream, the
chroma counted from the tonic, so keeping to the asked key's scale is a feature it sees in any
key without learning twelve. Measured: with the one-hot alone the generator had not moved
toward the key after 700 steps (27 CPU minutes), although its critic already scored real
crops lower under a wrong key; the profile gives the key a direct path to the notes. Every new
input starts at zero weight, so a trained MuseGAN grows a key condition
(``train_musegan.py --init --keys``) and begins as itself.

With ``rhythm`` (musical time; the grid's steps per beat), the model is told where the beat is.
Real piano music laid on its annotated beats starts most notes on the beat's grid (sixteenths,
or triplet eighths in a compound metre: 0.76-0.89 of them by half of asap validation); the
musical-time generator, after 190 CPU minutes, spread its onsets over all 12 steps of the beat,
and 38% of the gaps between its successive onsets were one step (real 28%). Convolutions along
time are the same at every step, so neither the smoother nor most of the critic can tell a
sixteenth from the steps between. The critic gets a rhythm stream (per bar, each track's share of
onsets at each step of the beat, :func:`beat_onset_shares`), and the smoother a learned bias per
step of the beat on its first layer's features, the generator's direct path to move an onset
onto the grid. Both start with no say (a grown model begins as itself; ``train_musegan.py --init
--rhythm``), and training adds GRID, the share of notes on the grid, to the selection metrics.

With ``texture`` (musical time, with velocity and rhythm), each passage is asked for a texture:
a rhythm, a density and a loudness class (:mod:`pianogen.representations.textures`: "sixteenths,
dense, loud"), measured on each real crop, so the critic judges a passage against real passages
of its kind. Why: a real passage is of one kind (a run of sixteenths, a chorale, soft or loud)
and the generator, matched on pooled and then on per-passage statistics, still mixed every kind
into every passage (per-passage distance 0.60-0.64 against real 0.09; the listener test told
it by eighth-note gaps between chords, AUC 0.98). As for the key, each factor gets a direct path
besides the one-hots beside the latents: the rhythm a bias per step of the beat in the
smoother's first features (one set per rhythm class), the density a frame logit bias and the
loudness a velocity logit bias per voice. The critic scores the class by projection (Miyato &
Koyama 2018: a learned vector per class, dotted with its features). All start at zero, so a
trained MuseGAN grows a texture condition (``train_musegan.py --init --texture``) and begins as
itself; ``texture_shares`` (each texture's share among the training crops) is what the sampler
draws from when no texture is asked for.

Critic (no normalization layers, as WGAN-GP asks): a private stream per track, a shared
stream over their concatenation, plus the later MuseGAN's pitch-class (chroma) and onset
streams, whose features are concatenated into one score.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from pianogen.representations.keys import N_KEYS
from pianogen.representations.textures import FACTOR_SIZES, RHYTHMS

OCTAVES, PC = 8, 12  # 96 pitch slots, cropped to n_pitches


@dataclass
class MuseGANConfig:
    n_tracks: int = 3
    n_bars: int = 4
    steps_per_bar: int = 32
    n_pitches: int = 88
    z_dim: int = 32
    g_channels: int = 128  # width of the generator's first feature map
    d_channels: int = 64  # width of the critic's streams
    design: str = "hybrid"  # "hybrid", "composer" or "jamming" (see the module doc)
    onsets: bool = False  # also generate an onset roll per track (see the module doc)
    refiner: bool = False  # BinaryMuseGAN's refiner with binary neurons after the generator
    velocity: bool = False  # also generate a velocity roll per track (see the module doc)
    smoother: bool = False  # residual convolution over the logits across block and bar edges
    block: int = 8  # steps each first-map position grows into: 8 (2x2x2) or 12 (2x2x3: a beat at 12 steps per beat)
    keys: bool = False  # conditioned on a key signature's scale class (see the module doc)
    rhythm: int = 0  # > 0: steps per beat; the critic reads onsets folded onto the beat, the smoother knows each step's place in it (see the module doc)
    texture: bool = False  # conditioned on a passage's rhythm, density and loudness classes (see the module doc)
    texture_shares: tuple[float, ...] = ()  # each texture's share among the training crops (representations.textures), what the sampler draws from
    low: int = 21  # MIDI pitch of pitch index 0 (the piano's A0): where pitch classes are counted from

    @property
    def channels(self) -> int:
        """Rolls the generator writes and the critic reads: frames (then onsets, then
        velocities) per track."""
        return self.n_tracks * (1 + self.onsets + self.velocity)

    @property
    def note_channels(self) -> int:
        """The leading channels that say where notes are (frames, onsets): all but velocities."""
        return self.channels - self.n_tracks * self.velocity

    def __post_init__(self):
        if self.design not in DESIGN_LATENTS:
            raise ValueError(f"unknown MuseGAN design {self.design!r}; choose from {sorted(DESIGN_LATENTS)}")
        if self.block not in BLOCK_FACTORS:
            raise ValueError(f"block must be one of {sorted(BLOCK_FACTORS)} steps, not {self.block}")
        if self.steps_per_bar % self.block:
            raise ValueError(f"steps_per_bar ({self.steps_per_bar}) must be a multiple of block ({self.block})")
        if self.rhythm < 0 or (self.rhythm and self.steps_per_bar % self.rhythm):
            raise ValueError(f"rhythm must be 0 or the steps per beat of a bar of {self.steps_per_bar} steps, not {self.rhythm}")
        if self.rhythm and not self.smoother:
            raise ValueError("rhythm places onsets through the smoother: turn the smoother on too")
        if self.texture and not (self.rhythm and self.velocity):
            raise ValueError("a texture condition needs rhythm (its rhythm class moves onsets in the beat) and velocity (its loudness class)")


#: The generator's time upsampling per block size: shared stack, then the two private layers.
BLOCK_FACTORS = {8: (2, 2, 2), 12: (2, 2, 3)}


#: Config fields that may change when a trained MuseGAN grows (``train_musegan.py --init``).
GROWABLE = ("onsets", "velocity", "refiner", "smoother", "keys", "rhythm", "texture", "texture_shares")
#: Inputs a texture adds beside the latents: one one-hot per factor (rhythm, density, loudness).
TEXTURE_INPUTS = sum(FACTOR_SIZES)
#: The texture's direct paths (logit biases, the smoother's bias per rhythm class) are their
#: parameters times this. Why: Adam moves a parameter by about the learning rate per step, so at
#: the paper's 1e-3 the loudness bias had moved 0.14 logits after 200 steps of a grown model
#: (the density bias 0.03) and the asked classes were kept no more than by chance (TX 0.50 at
#: steps 100 and 200); times 10, a logit can move a unit in 100 steps.
TEXTURE_GAIN = 10.0


def check_growable(old: dict, new: MuseGANConfig) -> None:
    """ValueError unless ``new`` is ``old`` (a checkpoint's model config) with channels appended
    after its own and layers added. Growing copies each old tensor into the *leading* part of the
    grown one, so only that is exact: the generator's rolls are laid out role by role (frames,
    then onsets, then velocities), so onsets added to a velocity model would land where its
    velocities were, and any other change of size would misalign every tensor."""
    for name, value in old.items():
        if name not in GROWABLE and getattr(new, name) != (tuple(value) if isinstance(value, list) else value):
            raise ValueError(f"cannot grow a MuseGAN whose {name} is {value} into one whose {name} is {getattr(new, name)}: "
                             f"only new channels and layers ({', '.join(GROWABLE)}) grow from a checkpoint")
    for name in GROWABLE:
        if old.get(name) and not getattr(new, name):
            raise ValueError(f"cannot grow a MuseGAN with {name} into one without it")
    roles = [r for r in ("onsets", "velocity") if getattr(new, r)]
    kept = [r for r in ("onsets", "velocity") if old.get(r)]
    if roles[: len(kept)] != kept:
        raise ValueError(f"cannot grow a MuseGAN with {' and '.join(kept)} by {', '.join(sorted(set(roles) - set(kept)))}: the new channels "
                         "would come before its own (channel order: frames, onsets, velocity); train the new channels from scratch")


#: The latents each design builds a track's bar from, in order.
DESIGN_LATENTS = {
    "hybrid": ("shared", "private", "temporal_shared", "temporal_private"),
    "composer": ("shared", "temporal_shared"),
    "jamming": ("private", "temporal_private"),
}


def _temporal(z_dim: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(z_dim, 2 * z_dim, 3, padding=1), nn.BatchNorm1d(2 * z_dim), nn.ReLU(),
        nn.Conv1d(2 * z_dim, z_dim, 3, padding=2, dilation=2), nn.BatchNorm1d(z_dim), nn.ReLU(),
    )


def _up(cin: int, cout: int, k: tuple[int, int]) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, k, stride=k), nn.BatchNorm2d(cout), nn.ReLU())


class Generator(nn.Module):
    def __init__(self, c: MuseGANConfig):
        super().__init__()
        self.config = c
        if c.n_pitches > OCTAVES * PC:
            raise ValueError(f"at most {OCTAVES * PC} pitches")
        w = c.g_channels
        self.t0 = c.steps_per_bar // c.block  # time resolution of the first feature map
        f_shared, f_mid, f_last = BLOCK_FACTORS[c.block]
        self.parts = DESIGN_LATENTS[c.design]
        # Only the temporal generators a design uses exist (unused parameters would break DDP).
        if "temporal_shared" in self.parts:
            self.temporal_shared = _temporal(c.z_dim)
        if "temporal_private" in self.parts:
            self.temporal_private = nn.ModuleList(_temporal(c.z_dim) for _ in range(c.n_tracks))
        conditions = N_KEYS * c.keys + TEXTURE_INPUTS * c.texture
        self.project = nn.Sequential(nn.Linear(len(self.parts) * c.z_dim + conditions, w * self.t0), nn.BatchNorm1d(w * self.t0), nn.ReLU())
        if conditions:  # the key and the texture start with no say (a grown generator begins as itself)
            with torch.no_grad():
                self.project[0].weight[:, -conditions:] = 0
        if c.keys:
            self.key_profile = nn.Parameter(torch.zeros(c.n_tracks, N_KEYS))  # frame logit bias by voice and pitch class from the tonic
        if c.texture:  # logit biases by voice: frames by density class, velocities by loudness class
            self.density_bias = nn.Parameter(torch.zeros(FACTOR_SIZES[1], c.n_tracks))
            self.loudness_bias = nn.Parameter(torch.zeros(FACTOR_SIZES[2], c.n_tracks))
        # Shared stack: octaves, then time x2.
        self.shared = nn.Sequential(_up(w, w // 2, (1, OCTAVES)), _up(w // 2, w // 4, (f_shared, 1)))
        # Private stacks: time x2, x2 (or x3), then the 12 keys of each octave.
        self.private = nn.ModuleList(
            nn.Sequential(_up(w // 4, w // 8, (f_mid, 1)), _up(w // 8, w // 8, (f_last, 1)), nn.ConvTranspose2d(w // 8, c.channels // c.n_tracks, (1, PC), stride=(1, PC)))
            for _ in range(c.n_tracks)
        )
        self.smoother = Smoother(c.note_channels, phases=c.rhythm, kinds=len(RHYTHMS) * c.texture) if c.smoother else None
        # The refiner binarizes note channels only; velocities stay continuous.
        self.refiner = Refiner(c, c.note_channels) if c.refiner else None  # part of the generator: its optimizer, its checkpoint

    def forward(self, z: dict[str, torch.Tensor], key: torch.Tensor | None = None, texture: torch.Tensor | None = None) -> torch.Tensor:
        """Latents -> note probabilities (B, channels, bars, steps per bar, pitches) in [0, 1]
        (channels: every track's frames, then onsets, then velocities, as configured).
        ``key``: (B,) key classes (0-11), required by a ``keys`` model and refused otherwise;
        ``texture``: (B, 3) classes (rhythm, density, loudness; :mod:`pianogen.representations.textures`),
        likewise for a ``texture`` model.

        z: shared (B, z), private (B, T, z), temporal_shared (B, z, bars),
        temporal_private (B, T, z, bars); a design reads only its own parts. The
        time-independent parts may also be given per bar, shared (B, z, bars) and private
        (B, T, z, bars): a long piece then drifts smoothly (see ``latent_walk``).
        """
        c = self.config
        B, T, L = z["private"].shape[0], c.n_tracks, z["temporal_shared"].shape[-1]
        per_bar = {}  # each part as (B, T, L, z)
        if "shared" in self.parts:
            sh = z["shared"] if z["shared"].dim() == 3 else z["shared"][..., None].expand(-1, -1, L)
            per_bar["shared"] = sh.transpose(1, 2)[:, None].expand(B, T, L, -1)
        if "private" in self.parts:
            pv = z["private"] if z["private"].dim() == 4 else z["private"][..., None].expand(-1, -1, -1, L)
            per_bar["private"] = pv.transpose(2, 3)
        if "temporal_shared" in self.parts:
            ts = self.temporal_shared(z["temporal_shared"])  # (B, z, L)
            per_bar["temporal_shared"] = ts.transpose(1, 2)[:, None].expand(B, T, L, -1)
        if "temporal_private" in self.parts:
            tp = torch.stack([g(z["temporal_private"][:, t]) for t, g in enumerate(self.temporal_private)], 1)  # (B, T, z, L)
            per_bar["temporal_private"] = tp.transpose(2, 3)
        parts = [per_bar[k] for k in self.parts]
        if _key_given(c, key):
            parts.append(F.one_hot(key.long(), N_KEYS).to(parts[0].dtype)[:, None, None].expand(B, T, L, -1))
        if _texture_given(c, texture):
            parts.append(texture_one_hot(texture).to(parts[0].dtype)[:, None, None].expand(B, T, L, -1))
        x = torch.cat(parts, dim=-1)  # (B, T, L, parts * z [+ 12])
        h = self.project(x.reshape(B * T * L, -1)).view(B * T * L, -1, self.t0, 1)
        h = self.shared(h)  # (B*T*L, w/4, 2*t0, 8)
        h = h.view(B, T, L, *h.shape[1:])
        out = torch.stack([net(h[:, t].flatten(0, 1)) for t, net in enumerate(self.private)], 2)  # (B*L, C, T, S, 96)
        out = out.view(B, L, c.channels, c.steps_per_bar, OCTAVES * PC).transpose(1, 2)[..., : c.n_pitches]
        if key is not None:  # the key profile, on the frames of each voice
            degree = (torch.arange(c.n_pitches, device=out.device) + c.low - key.long()[:, None]) % N_KEYS  # (B, pitches)
            profile = self.key_profile[:, degree].permute(1, 0, 2)  # (B, T, pitches)
            out = torch.cat([out[:, :T] + profile[:, :, None, None].to(out.dtype), out[:, T:]], 1)
        if texture is not None:  # density moves the frames, loudness the velocities, per voice
            dens, loud = (TEXTURE_GAIN * b[texture[:, f].long()] for f, b in ((1, self.density_bias), (2, self.loudness_bias)))  # (B, T)
            out = torch.cat([out[:, :T] + dens[..., None, None, None].to(out.dtype), out[:, T:-T], out[:, -T:] + loud[..., None, None, None].to(out.dtype)], 1)
        k = c.note_channels  # the smoother and the refiner work on note channels only
        if self.smoother is not None:
            out = torch.cat([self.smoother(out[:, :k], None if texture is None else texture[:, 0]), out[:, k:]], 1)
        out = torch.sigmoid(out)
        if self.refiner is None:
            return out
        return torch.cat([self.refiner(out[:, :k]), out[:, k:]], 1)


def _key_given(c: MuseGANConfig, key: torch.Tensor | None) -> bool:
    """Whether a key goes in; ValueError where a keyed model gets none or an unkeyed one gets one."""
    if c.keys and key is None:
        raise ValueError("this MuseGAN is conditioned on a key: give one class (0-11) per sample")
    if key is not None and not c.keys:
        raise ValueError("this MuseGAN has no key condition")
    return key is not None


def _texture_given(c: MuseGANConfig, texture: torch.Tensor | None) -> bool:
    """Whether a texture goes in; ValueError where a texture model gets none or another one gets one."""
    if c.texture and texture is None:
        raise ValueError("this MuseGAN is conditioned on a texture: give (rhythm, density, loudness) classes per sample")
    if texture is not None and not c.texture:
        raise ValueError("this MuseGAN has no texture condition")
    if texture is not None and (texture.dim() != 2 or texture.shape[1] != len(FACTOR_SIZES)):
        raise ValueError(f"a texture is {len(FACTOR_SIZES)} classes per sample (rhythm, density, loudness), not shape {tuple(texture.shape)}")
    return texture is not None


def texture_one_hot(texture: torch.Tensor) -> torch.Tensor:
    """(B, 3) texture classes -> (B, TEXTURE_INPUTS): each factor's one-hot, side by side."""
    return torch.cat([F.one_hot(texture[:, f].long(), n) for f, n in enumerate(FACTOR_SIZES)], -1)


def key_relative(chroma: torch.Tensor, key: torch.Tensor, low: int = 0) -> torch.Tensor:
    """Chroma (B, ..., 12) whose index i holds MIDI pitch class (i + low) % 12 -> the same counted
    from each sample's key tonic (a MIDI pitch class): out[b, ..., d] = the chroma of pitch class
    (key[b] + d) % 12, so index 0 is the tonic in every key."""
    idx = (key.long().view(-1, *[1] * (chroma.dim() - 1)) - low + torch.arange(N_KEYS, device=chroma.device)) % N_KEYS
    return torch.gather(chroma, -1, idx.expand_as(chroma))


def split_velocity(out, c: MuseGANConfig):
    """A generator's output (tensor or array) -> (note channels: frames and onsets, velocity
    roll or None)."""
    k = c.note_channels
    return out[:, :k], (out[:, k:] if c.velocity else None)


class Smoother(nn.Module):
    """Per note channel, logits (B, C, bars, steps, pitches) -> logits + a correction computed
    along the passage's whole time axis (bars joined), from +-6 steps and +-1 key around each
    step: 1 -> 8 channels (7 steps x 3 keys), 8 -> 8 (7 steps), 8 -> 1, the last at zero.

    With ``phases`` (steps per beat), the first layer's features also get a learned bias per
    step of the beat (the same as a convolution over the step's place in the beat, one-hot, at a
    fraction of its cost): the correction can then move an onset onto the beat's grid, which a
    convolution along time, the same at every step, cannot tell from the steps between them. It
    starts at zero, so a smoother grown with it begins as itself. With ``kinds`` (rhythm classes
    of a texture condition) each sample adds the bias of its kind on top: a run of sixteenths
    and one of triplets start their onsets on different steps of the beat."""

    def __init__(self, n_channels: int, width: int = 8, phases: int = 0, kinds: int = 0):
        super().__init__()
        self.nets = nn.ModuleList(
            nn.Sequential(nn.Conv2d(1, width, (7, 3), padding=(3, 1)), nn.LeakyReLU(0.2), nn.Conv2d(width, width, (7, 1), padding=(3, 0)),
                          nn.LeakyReLU(0.2), nn.Conv2d(width, 1, 1))
            for _ in range(n_channels)
        )
        for net in self.nets:
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)
        self.phases = phases
        if phases:
            self.phase_bias = nn.Parameter(torch.zeros(n_channels, width, phases))
        if kinds:
            if not phases:
                raise ValueError("kinds of rhythm need the beat's phases")
            self.kind_bias = nn.Parameter(torch.zeros(kinds, n_channels, width, phases))

    def forward(self, logits: torch.Tensor, kind: torch.Tensor | None = None) -> torch.Tensor:
        """``kind``: (B,) rhythm classes, for a smoother with ``kinds``."""
        B, C, L, S, P = logits.shape
        x = logits.reshape(B, C, L * S, P)
        if self.phases:
            place = torch.arange(L * S, device=x.device) % self.phases
            bias = self.phase_bias[:, :, place, None].to(x.dtype)  # (C, width, L*S, 1)
            if kind is not None:
                bias = bias + TEXTURE_GAIN * self.kind_bias[kind.long()][..., place, None].to(x.dtype)  # (B, C, width, L*S, 1)
        deltas = []
        for i, net in enumerate(self.nets):
            h = net[0](x[:, i : i + 1])
            if self.phases:  # channel i of the bias, shared (C, width, L*S, 1) or per sample (B, C, ...)
                h = h + bias[..., i, :, :, :]
            deltas.append(net[1:](h))
        return (x + torch.cat(deltas, 1)).view(B, C, L, S, P)


class _Residual(nn.Module):
    def __init__(self, ch: int):
        super().__init__()
        self.net = nn.Sequential(nn.BatchNorm2d(ch), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.ReLU(), nn.Conv2d(ch, ch, 3, padding=1))

    def forward(self, x):
        return x + self.net(x)


class Refiner(nn.Module):
    """Per channel: two residual units over (steps, pitches) of a bar that correct the
    generator's logits, then binary neurons. (B, channels, bars, steps, pitches) probabilities
    -> the same shape in {0, 1}, differentiable by the straight-through estimator."""

    def __init__(self, c: MuseGANConfig, n_channels: int | None = None, width: int = 16):
        super().__init__()
        self.n_channels = c.channels if n_channels is None else n_channels
        self.nets = nn.ModuleList(
            nn.Sequential(nn.Conv2d(1, width, 3, padding=1), _Residual(width), _Residual(width), nn.ReLU(), nn.Conv2d(width, 1, 1))
            for _ in range(self.n_channels)
        )
        for net in self.nets:  # starts as the identity on the logits
            nn.init.zeros_(net[-1].weight)
            nn.init.zeros_(net[-1].bias)

    def forward(self, probs: torch.Tensor) -> torch.Tensor:
        B, C, L, S, P = probs.shape
        x = probs.transpose(1, 2).reshape(B * L, C, S, P)
        delta = torch.cat([net(x[:, i : i + 1]) for i, net in enumerate(self.nets)], 1)
        p = torch.sigmoid(torch.logit(x.clamp(1e-6, 1 - 1e-6)) + delta)
        binary = (p > 0.5).to(p.dtype)
        out = binary + (p - p.detach())  # forward exactly 0/1 (p - p is 0); backward: through the sigmoid
        return out.view(B, L, C, S, P).transpose(1, 2)


class Critic(nn.Module):
    def __init__(self, c: MuseGANConfig):
        super().__init__()
        self.config = c
        w = c.d_channels
        act = nn.LeakyReLU(0.2)
        # Private: per track, (bars, steps, 96 pitches) -> octaves -> coarser time.
        self.private = nn.ModuleList(
            nn.Sequential(nn.Conv3d(1, w // 2, (1, 1, PC), stride=(1, 1, PC)), act, nn.Conv3d(w // 2, w // 2, (1, 4, 1), stride=(1, 4, 1)), act)
            for _ in range(c.channels)
        )
        steps = c.steps_per_bar // 4
        self.shared = nn.Sequential(
            nn.Conv3d(c.channels * w // 2, w, (1, 2, 2), stride=(1, 2, 2)), act,
            nn.Conv3d(w, w, (1, steps // 2, OCTAVES // 2)), act,  # one feature vector per bar
        )
        # Chroma stream: per bar, each track's 12 pitch classes over time.
        self.chroma = nn.Sequential(nn.Conv3d(c.n_tracks, w // 2, (1, 4, PC), stride=(1, 4, 1)), act, nn.Conv3d(w // 2, w // 2, (1, c.steps_per_bar // 4, 1)), act)
        # Onset stream: where keys start, summed over pitch, per track and step.
        self.onset = nn.Sequential(nn.Conv3d(c.n_tracks, w // 2, (1, 4, 1), stride=(1, 4, 1)), act, nn.Conv3d(w // 2, w // 2, (1, c.steps_per_bar // 4, 1)), act)
        # With a key: the chroma counted from the key's tonic, through a stream of its own.
        if c.keys:
            self.key_chroma = nn.Sequential(nn.Conv3d(c.n_tracks, w // 2, (1, 4, PC), stride=(1, 4, 1)), act, nn.Conv3d(w // 2, w // 2, (1, c.steps_per_bar // 4, 1)), act)
        # With rhythm: per bar, each track's share of onsets at each step of the beat.
        if c.rhythm:
            self.rhythm = nn.Sequential(nn.Linear(c.n_tracks * c.rhythm, w // 2), act)
        # Across bars, then the score.
        feat = w + w // 2 + w // 2
        self.temporal = nn.Sequential(nn.Conv1d(feat + (c.keys + bool(c.rhythm)) * (w // 2), feat, 3, padding=1), act)
        if c.keys or c.rhythm:  # the key and rhythm streams start with no say (a grown critic begins as itself)
            with torch.no_grad():
                self.temporal[0].weight[:, feat:] = 0
        self.score = nn.Linear(feat * c.n_bars, 1)
        if c.texture:  # a vector per class of each factor, dotted with the features (projection); none has a say at first
            self.texture_embed = nn.Parameter(torch.zeros(TEXTURE_INPUTS, feat * c.n_bars))

    def forward(self, x: torch.Tensor, key: torch.Tensor | None = None, texture: torch.Tensor | None = None) -> torch.Tensor:
        """(B, channels, bars, steps, pitches) in [0, 1] -> (B,) critic scores; ``key`` and
        ``texture`` as for :meth:`Generator.forward`."""
        c = self.config
        B, _, L, S, P = x.shape
        T = c.n_tracks
        if c.velocity:  # velocity only where a key sounds, as in a real velocity roll
            x = torch.cat([x[:, :-T], x[:, -T:] * x[:, :T]], 1)
        x96 = F.pad(x, (0, OCTAVES * PC - P))
        priv = torch.cat([net(x96[:, t : t + 1]) for t, net in enumerate(self.private)], 1)  # (B, channels*w/2, L, S/4, 8)
        shared = self.shared(priv).flatten(2)  # (B, w, L)
        chroma_in = x96[:, :T].reshape(B, T, L, S, OCTAVES, PC).sum(4)  # (B, T, L, S, 12), from the frames
        ch = self.chroma(chroma_in).flatten(2)  # (B, w/2, L)
        onset_in = onset_counts(x[:, :T])[..., None]  # (B, T, L, S, 1)
        on = self.onset(onset_in).flatten(2)  # (B, w/2, L)
        streams = [shared, ch, on]
        if _key_given(c, key):
            streams.append(self.key_chroma(key_relative(chroma_in, key, c.low)).flatten(2))  # (B, w/2, L)
        if c.rhythm:
            streams.append(self.rhythm(beat_onset_shares(onset_in[..., 0], c.rhythm).permute(0, 2, 1, 3).flatten(2)).transpose(1, 2))  # (B, w/2, L)
        h = self.temporal(torch.cat(streams, 1)).flatten(1)  # (B, feat * L)
        score = self.score(h).squeeze(1)
        if _texture_given(c, texture):
            score = score + (texture_one_hot(texture).to(h.dtype) @ self.texture_embed.to(h.dtype) * h).sum(1)
        return score


def rising_edges(x: torch.Tensor) -> torch.Tensor:
    """(B, tracks, bars, steps, pitches) rolls -> same shape, how much each key turns on at each
    step (1 at a binary roll's onsets), continuous across bar lines: a note held over a bar line
    is one onset, not one per bar."""
    B, T, L, S, P = x.shape
    flat = x.reshape(B, T, L * S, P)
    prev = F.pad(flat, (0, 0, 1, 0))[..., :-1, :]
    return F.relu(flat - prev).view(B, T, L, S, P)


def onset_counts(x: torch.Tensor) -> torch.Tensor:
    """(B, tracks, bars, steps, pitches) rolls -> (B, tracks, bars, steps) count of keys that
    turn on at each step (see :func:`rising_edges`)."""
    return rising_edges(x).sum(-1)


def beat_onset_shares(counts: torch.Tensor, steps_per_beat: int) -> torch.Tensor:
    """Onset counts (B, tracks, bars, steps) -> (B, tracks, bars, steps_per_beat): each track's
    share of a bar's onsets at each step of the beat (0 for a bar without onsets): where a
    generator that does not know the beat shows it."""
    B, T, L, S = counts.shape
    folded = counts.reshape(B, T, L, S // steps_per_beat, steps_per_beat).sum(3)
    # One onset's worth added below: a near-silent bar's few onsets (fakes are probabilities)
    # would otherwise swing its shares and blow up the gradient penalty.
    return folded / (folded.sum(-1, keepdim=True) + 1.0)


class MuseGAN(nn.Module):
    """Generator and critic together, so one checkpoint holds both."""

    def __init__(self, config: MuseGANConfig):
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.critic = Critic(config)

    def sample_latent(self, n: int, bars: int | None = None, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Standard normal latents for ``n`` samples of ``bars`` bars (default: n_bars)."""
        c, L = self.config, bars or self.config.n_bars
        shapes = {"shared": (n, c.z_dim), "private": (n, c.n_tracks, c.z_dim), "temporal_shared": (n, c.z_dim, L), "temporal_private": (n, c.n_tracks, c.z_dim, L)}
        return {k: torch.randn(s, generator=generator) for k, s in shapes.items()}

    def forward(self, z: dict[str, torch.Tensor], key: torch.Tensor | None = None, texture: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, key, texture)
