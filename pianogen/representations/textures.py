"""A passage's texture as three small classes: its rhythm, its density and its loudness.

Real piano passages are each of a kind: a run of sixteenths, a chorale in quarters, a soft
accompaniment, a loud climax. A MuseGAN conditioned on a texture is asked for one kind per
passage (and a user can ask for "triplets, dense, soft"); measured on real crops, the classes
say which kind a crop is:

- rhythm (:data:`RHYTHMS`): the most common gap between successive onset times (any voice; keys
  struck together are one onset time) among a sixteenth, a triplet eighth, about an eighth and up
  to a beat (:data:`RHYTHM_GAPS`). Shorter gaps (a spread chord, a grace note) are ornaments of
  the rhythm and not counted; a passage with none of these gaps is ``slower``.
- density (:data:`DENSITIES`): keys struck per beat, against :data:`DENSITY_EDGES`.
- loudness (:data:`LOUDNESS`): the mean MIDI velocity of the struck keys, against :data:`LOUDNESS_EDGES`.

The edges are the terciles of 2,048 beat-aligned crops of four 4/4 bars of asap-performances'
train split (seed 0), so each class holds about a third of real passages; the rhythm classes are
not balanced (sixteenths are the most common in this corpus: 0.57, 0.14, 0.19, 0.10).

Rolls here are musical-time pianorolls (n, tracks, bars, steps per bar, pitches), binary
frames, with velocity rolls of the same shape in [0, 1] (MIDI velocity / 127).
"""

from __future__ import annotations

import numpy as np

from pianogen.representations.pianoroll import onsets

RHYTHMS = ("sixteenths", "triplets", "eighths", "slower")
#: Gaps between successive onset times of each rhythm class, in steps at 12 steps per beat (inclusive).
RHYTHM_GAPS = ((3, 3), (4, 4), (5, 6), (7, 12))
DENSITIES = ("sparse", "moderate", "dense")
#: Keys struck per beat between the density classes.
DENSITY_EDGES = (4.9, 7.0)
LOUDNESS = ("soft", "medium", "loud")
#: Mean MIDI velocity of the struck keys between the loudness classes.
LOUDNESS_EDGES = (59.0, 70.5)
#: The three factors' class names, in the order of a texture's columns, and the factors' own names.
FACTORS = (RHYTHMS, DENSITIES, LOUDNESS)
FACTOR_NAMES = ("rhythm", "density", "loudness")
#: How many classes each factor has, and how many textures (combinations) there are.
FACTOR_SIZES = tuple(len(f) for f in FACTORS)
N_TEXTURES = int(np.prod(FACTOR_SIZES))


def texture_classes(frames: np.ndarray, velocity: np.ndarray, steps_per_beat: int = 12) -> np.ndarray:
    """Binary frames and velocity rolls in [0, 1] (n, tracks, bars, steps, pitches) -> (n, 3)
    classes (rhythm, density, loudness) of each passage (see the module doc). ``steps_per_beat``:
    the rolls' grid, a multiple of 12 (the rhythm gaps are defined at 12 steps per beat)."""
    if steps_per_beat <= 0 or steps_per_beat % 12:
        raise ValueError(f"textures need a musical-time grid of a multiple of 12 steps per beat, not {steps_per_beat}")
    scale = steps_per_beat // 12
    n, T, L, S, P = np.shape(frames)
    on = onsets(frames).reshape(n, T, L * S, P)  # continuous across bar lines: a note held over one starts once
    N = L * S
    times = on.any(axis=(1, 3))  # (n, N): onset times, any voice
    out = np.zeros((n, 3), dtype=np.int64)
    for i in range(n):
        gaps = np.diff(np.nonzero(times[i])[0])
        counts = [int(((gaps >= lo * scale) & (gaps <= hi * scale)).sum()) for lo, hi in RHYTHM_GAPS]
        out[i, 0] = int(np.argmax(counts)) if max(counts) else len(RHYTHMS) - 1  # ties: the faster rhythm
    struck = on.sum(axis=(1, 2, 3))
    out[:, 1] = np.searchsorted(DENSITY_EDGES, struck / (N / steps_per_beat), side="right")
    vel = np.asarray(velocity, dtype=np.float64).reshape(on.shape) * 127
    mean_velocity = (vel * on).sum(axis=(1, 2, 3)) / np.maximum(struck, 1)
    out[:, 2] = np.searchsorted(LOUDNESS_EDGES, mean_velocity, side="right")
    return out


def texture_index(classes: np.ndarray) -> np.ndarray:
    """(..., 3) classes -> (...) one index 0 .. N_TEXTURES - 1 per texture (rhythm major)."""
    c = np.asarray(classes, dtype=np.int64)
    return (c[..., 0] * FACTOR_SIZES[1] + c[..., 1]) * FACTOR_SIZES[2] + c[..., 2]


def texture_from_index(index: np.ndarray) -> np.ndarray:
    """The inverse of :func:`texture_index`: (...) indices -> (..., 3) classes."""
    i = np.asarray(index, dtype=np.int64)
    return np.stack([i // (FACTOR_SIZES[1] * FACTOR_SIZES[2]), (i // FACTOR_SIZES[2]) % FACTOR_SIZES[1], i % FACTOR_SIZES[2]], -1)


def parse_factors(text: str) -> tuple[int, ...]:
    """``"rhythm, density"`` -> (0, 1): the named factors' columns, in column order; "" -> ().
    ValueError naming the unknown word."""
    words = [w.strip().lower() for w in text.replace(",", " ").split()]
    for w in words:
        if w not in FACTOR_NAMES:
            raise ValueError(f"unknown texture factor {w!r}: choose from {', '.join(FACTOR_NAMES)}")
    return tuple(f for f, name in enumerate(FACTOR_NAMES) if name in words)


def n_groups(factors: tuple[int, ...]) -> int:
    """How many combinations of the given factors' classes there are (1 for none)."""
    return int(np.prod([FACTOR_SIZES[f] for f in factors])) if factors else 1


def texture_group(classes, factors: tuple[int, ...]):
    """(..., 3) classes (numpy or torch integers) -> (...) the index of their combination of
    ``factors``' classes, 0 .. :func:`n_groups` - 1 (first factor major); all 0 for no factors."""
    group = classes[..., 0] * 0
    for f in factors:
        group = group * FACTOR_SIZES[f] + classes[..., f]
    return group


def asked_kept(classes: np.ndarray, asked: np.ndarray) -> np.ndarray:
    """Measured (n, 3) classes of passages asked for ``asked`` (n, 3) -> (3,): per factor, the
    share of passages that play the class asked for."""
    return (np.asarray(classes) == np.asarray(asked)).mean(0)


def texture_shares(classes: np.ndarray) -> np.ndarray:
    """(n, 3) classes of real passages -> (N_TEXTURES,) the share of each texture among them."""
    counts = np.bincount(texture_index(classes).reshape(-1), minlength=N_TEXTURES)
    return counts / max(1, counts.sum())


def texture_name(classes) -> str:
    """(3,) classes -> ``"sixteenths, dense, loud"``."""
    return ", ".join(names[int(c)] for names, c in zip(FACTORS, classes))


def parse_texture(text: str) -> tuple[int | None, int | None, int | None]:
    """``"triplets, soft"`` -> (1, None, 0): each named class in its factor's column, None where
    the text names none (drawn as real music has it). ValueError naming the unknown word."""
    out: list[int | None] = [None, None, None]
    for word in (w.strip().lower() for w in text.replace(",", " ").split()):
        hits = [(f, names.index(word)) for f, names in enumerate(FACTORS) if word in names]
        if not hits:
            raise ValueError(f"unknown texture {word!r}: choose from {', '.join(n for names in FACTORS for n in names)}")
        f, c = hits[0]
        if out[f] is not None and out[f] != c:
            raise ValueError(f"texture {text!r} names two {('rhythms', 'densities', 'loudnesses')[f]}")
        out[f] = c
    return out[0], out[1], out[2]


def draw_textures(shares: np.ndarray, n: int, rng: np.random.Generator, fixed=(None, None, None)) -> np.ndarray:
    """(n, 3) textures drawn from ``shares`` (:func:`texture_shares` of real passages; uniform
    where empty), each factor given in ``fixed`` held at that class and the others drawn from
    real passages of that kind (where none is, uniformly)."""
    asked = np.ones(FACTOR_SIZES)  # 1 on the textures that have every asked class
    for f, c in enumerate(fixed):
        if c is not None:
            if not 0 <= int(c) < FACTOR_SIZES[f]:
                raise ValueError(f"{FACTOR_NAMES[f]} class must be 0-{FACTOR_SIZES[f] - 1}, not {c}")
            asked = asked * (np.arange(FACTOR_SIZES[f]) == int(c)).reshape([-1 if g == f else 1 for g in range(3)])
    p = asked * (np.asarray(shares, dtype=np.float64).reshape(FACTOR_SIZES) if len(shares) else 1.0)
    if p.sum() <= 0:  # real music has no passage of that kind: any of the asked kind
        p = asked
    p = p.reshape(-1) / p.sum()
    return texture_from_index(rng.choice(N_TEXTURES, size=n, p=p))
