"""Are a MuseGAN's bars bars? Measures on pianorolls and on passages played in strict time.

- :func:`downbeat_change`: how much the harmony changes across a bar line against across the
  other beats. Per beat, the chroma (sounding steps per pitch class, all tracks); at each beat
  boundary the change is 1 - cosine similarity of the chroma on either side (boundaries where
  both sides sound). Real music changes chord at bar lines more than inside bars, so its ratio
  (mean change at downbeats / at other beats) is above 1; a generator whose "bars" are spans of
  time has no reason to. Musical time: beats are the grid's beats; clock time: a bar's quarters.
- :func:`strict_time_listener`: the classifier test (``classifier_test``) and mean OA of a
  MuseGAN's passages against real crops of the same shape (whole bars, from annotated downbeats)
  played in strict time at the model's tempo, so neither side can be told by rubato or by the
  clock: only by what is in the bars. Folds are grouped by composition.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pianogen.representations import pianoroll as pr


def _beats(cfg: pr.PianorollConfig) -> int:
    return cfg.beats_per_bar if cfg.musical_time else 4


def beat_chroma(rolls: np.ndarray, cfg: pr.PianorollConfig) -> np.ndarray:
    """Rolls (n, tracks, bars, steps, pitches) -> chroma per beat (n, bars * beats, 12)."""
    n, _, bars, steps, p = rolls.shape
    beats = _beats(cfg)
    if steps % beats:
        raise ValueError(f"{steps} steps per bar do not split into {beats} beats")
    onehot = np.eye(12)[(np.arange(p) + cfg.low) % 12]
    per_beat = np.asarray(rolls, dtype=np.float64).sum(axis=1).reshape(n, bars * beats, steps // beats, p).sum(axis=2)
    return per_beat @ onehot


def downbeat_change(rolls: np.ndarray, cfg: pr.PianorollConfig) -> dict[str, float]:
    """Mean harmony change (1 - cosine of neighbouring beats' chroma) at downbeats and at the
    other beats, their ratio, and how many boundaries of each kind were measured."""
    ch = beat_chroma(rolls, cfg)
    norm = np.linalg.norm(ch, axis=-1)
    unit = np.divide(ch, norm[..., None], out=np.zeros_like(ch), where=norm[..., None] > 0)
    change = 1 - (unit[:, 1:] * unit[:, :-1]).sum(-1)  # boundary i+1 between beats i and i+1
    ok = (norm[:, 1:] > 0) & (norm[:, :-1] > 0)
    at_downbeat = (np.arange(1, ch.shape[1]) % _beats(cfg) == 0)[None, :]
    down, other = change[ok & at_downbeat], change[ok & ~at_downbeat]
    d = float(down.mean()) if len(down) else float("nan")
    o = float(other.mean()) if len(other) else float("nan")
    return {"downbeat": d, "other": o, "ratio": d / o if o > 0 else float("nan"), "n_downbeat": int(len(down)), "n_other": int(len(other))}


def real_crops(data_dir: str | os.PathLike, split: str, roll_cfg: pr.PianorollConfig, velocity: bool = False):
    """The pianorolls of a prepared split, ready to give untransposed, non-silent crops of one
    passage each (``.sample(n, rng, transpose=0)``); built once, sampled per group. With
    ``velocity`` the crops are velocity rolls in [0, 1] (see ``RollCrops``)."""
    from pianogen.data import load_notes
    from pianogen.training.gan import RollCrops

    notes = load_notes(data_dir, split)
    if notes.empty:
        raise ValueError(f"{data_dir}: the {split} split has no notes")
    beats = None
    if roll_cfg.musical_time:  # crops of whole annotated bars, as the model learned them
        from pianogen.data.beats import load_beats

        beats = load_beats(data_dir, notes["piece_id"].unique())
    return RollCrops(notes, roll_cfg, transpose=0, seed=0, velocity=velocity, beats=beats)


def crop_compositions(data_dir: str | os.PathLike, split: str, piece_ids: list[str], picks) -> list[str]:
    """The composition (:func:`pianogen.data.splits.compositions`) of each crop ``(piece index,
    start)`` in ``picks``: the group the classifier test keeps on one side of every fold, since
    performances of one piece by different pianists (ten of Islamey in asap validation) would
    otherwise teach it the piece."""
    from pianogen.data import load_pieces
    from pianogen.data.splits import piece_compositions

    composition = piece_compositions(load_pieces(data_dir, split))
    return [composition[piece_ids[j]] for j, _ in picks]


def strict_time_listener(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str, n: int = 96, seed: int = 0,
                         repeats: int = 5, floor_split: str | None = None) -> dict[str, Any]:
    """The classifier test and mean OA of ``n`` generated passages (latent seeds ``seed`` ...)
    against ``n`` real crops of ``split`` at the checkpoint's own pianoroll settings, both
    played in strict time at the model's tempo (clock time: as the grid places them). Also the
    harmony change at downbeats of both.

    With ``floor_split``, real crops of that split (other compositions) stand in for the
    generated passages: the floor, what a model that played real music of other pieces would
    score. Real crops (and the floor's) are grouped by composition (:func:`crop_compositions`),
    generated passages each on their own."""
    from pianogen.evaluation.classifier_test import ClassifierTestConfig, classifier_test, separating_features
    from pianogen.evaluation.distributions import compare_sets
    from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, piece_features
    from pianogen.evaluation.segment_features import feature_matrix
    from pianogen.sampling import load_gan, sample_gan

    g = load_gan(checkpoint)
    cfg = g.roll_cfg
    crops = real_crops(data_dir, split, cfg, velocity=True)
    real, picks, _ = crops.draw(n, np.random.default_rng(seed), transpose=0)
    def notes(velocity_rolls: np.ndarray) -> list:  # real crops as a listener hears them
        return [pr.roll_to_notes(r > 0, cfg, velocity=r) for r in velocity_rolls]

    real_notes = notes(real)
    real_groups = crop_compositions(data_dir, split, crops.piece_ids, picks)
    gen_groups = None  # generated passages: each its own group
    if floor_split:
        floor = real_crops(data_dir, floor_split, cfg, velocity=True)
        other, floor_picks, _ = floor.draw(n, np.random.default_rng(seed + 1), transpose=0)
        gen_rolls, gen_notes = other > 0, notes(other)
        gen_groups = crop_compositions(data_dir, floor_split, floor.piece_ids, floor_picks)
    else:
        gen = sample_gan(g, seed=seed, n=n, bars=cfg.n_bars)
        gen_rolls, gen_notes = gen.rolls, gen.notes
    heard = [i for i, x in enumerate(gen_notes) if len(x)]
    gen_notes = [gen_notes[i] for i in heard]
    gen_groups = None if gen_groups is None else [gen_groups[i] for i in heard]
    if len(gen_notes) < 4:
        raise ValueError(f"{checkpoint}: only {len(gen_notes)} of {n} generated passages have notes")
    xr, names = feature_matrix([x.drop(columns="track") for x in real_notes])
    xg, _ = feature_matrix([x.drop(columns="track") for x in gen_notes])
    c2st = classifier_test(xr, xg, real_groups, gen_groups, cfg=ClassifierTestConfig(repeats=repeats, seed=seed))
    oa_names = SCALAR_FEATURES + HIST_FEATURES
    oa = compare_sets([piece_features(x) for x in gen_notes], [piece_features(x) for x in real_notes if len(x)], oa_names)
    return {
        "checkpoint": str(checkpoint), "split": split, "n": n, "seed": seed, "bpm": cfg.playback_bpm() if cfg.musical_time else None,
        "musical_time": cfg.musical_time, "real_pieces": len({crops.piece_ids[j] for j, _ in picks}), "real_groups": len(set(real_groups)),
        "classifier_test": c2st, "separating": separating_features(xr, xg, names, top=6),
        "mean_oa": float(np.mean([v["oa"] for v in oa.values()])), "oa": {k: v["oa"] for k, v in oa.items()},
        "downbeat_change": {"real": downbeat_change(real > 0, cfg), "generated": downbeat_change(gen_rolls, cfg)},
        **({"floor_split": floor_split} if floor_split else {}),
    }
