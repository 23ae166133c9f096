"""MuseGAN's Table 1, on held-out piano music: EB, UPC, QN, SN, TD and notes per second for
generated passages and for real crops, with error bars.

Each model generates ``groups`` disjoint latent sets of ``n`` passages (seeds ``seed`` ...,
never the fixed latent that selected its checkpoint); each real row is ``groups`` disjoint
draws of ``n`` untransposed crops of the held-out split. A cell is the mean over groups and
its sd, so a difference smaller than the sd is not one. Rolls are compared at the model's own
pianoroll settings (bars of ``bar_seconds``, ``n_bars`` per passage). ``distance`` is the
training's selection metric (normalized mean absolute difference of EB/UPC/QN/SN/TD) of each
group against the mean of the real groups; on the real row it is the floor set by sampling
noise alone. In musical time the table also says where notes start: on beats, on the beat's grid
(sixteenths and triplet eighths) per voice (GRID), how far the distribution over the beat's steps
lies from real music's (the real row: its groups against their mean), and how often successive
onsets lie one step or a sixteenth apart. At any grid it gives the same distance for the gaps
between successive onsets and for the intervals of keys struck together (with the share of
semitones and sevenths among them: the listener test's ``interval_class_1``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pianogen.training.gan import METRIC_SCALE, metric_distance
from pianogen.metrics.musegan import beat_position_counts, grid_share, has_beat_grid, musegan_metrics, velocity_metrics
from pianogen.evaluation.bars import downbeat_change, real_crops
from pianogen.representations import pianoroll as pr
from pianogen.representations.textures import FACTOR_NAMES, FACTOR_SIZES, FACTORS, asked_kept, texture_classes


def notes_per_second(rolls: np.ndarray, roll_cfg: pr.PianorollConfig) -> float:
    """Onsets (keys turning on; a key held across a bar line is one note) per second of music,
    all tracks together."""
    s, t, b, spb, p = rolls.shape
    return float(pr.onsets(rolls).sum() / (s * b * spb * roll_cfg.seconds_per_step()))


#: Note-length histogram bins in grid steps (1/16 s at the default 16 steps per second): lower edges.
LENGTH_BINS = (1, 2, 3, 5, 9, 17)


def block_edge_onsets(rolls: np.ndarray, block: int = 8) -> float:
    """Share of note onsets (all tracks) that fall on a multiple of ``block`` steps, the first
    step of each passage left out (a crop's held notes all start there). Real music spreads its
    onsets evenly, 1/``block``; the bar generator builds time in 8-step blocks (see
    ``models.musegan``), and notes that break at block edges show up here."""
    on = pr.onsets(rolls)
    flat = on.reshape(*on.shape[:-3], -1, on.shape[-1])[..., 1:, :]  # time from step 1
    per_step = flat.sum(axis=tuple(i for i in range(flat.ndim) if i != flat.ndim - 2))
    edge = per_step[block - 1 :: block].sum()  # step index s + 1 with (s + 1) % block == 0
    return float(edge / max(1, per_step.sum()))


def onset_gaps(rolls: np.ndarray, steps: tuple[int, ...]) -> dict[int, float]:
    """Share of the gaps between successive onset times (any voice, any key; simultaneous onsets
    are one time) that are exactly ``steps`` long, per passage's whole time axis, over all
    passages. In musical time at 12 steps per beat, 1 step is a flam or a spread chord, 3 a
    sixteenth: real music's commonest gap."""
    on = pr.onsets(rolls).any(axis=(1, -1))  # (samples, bars, steps): some note starts
    gaps = np.concatenate([np.diff(np.flatnonzero(p.reshape(-1))) for p in on] or [np.zeros(0, int)])
    return {s: float((gaps == s).mean()) if len(gaps) else float("nan") for s in steps}


POSITION_DISTANCE = "onset position in the beat: distance to real"
GAP_DISTANCE = "onset gaps: distance to real"
CHORD_DISTANCE = "intervals struck together: distance to real"
PASSAGE_DISTANCE = "passages each of a kind: distance to real"
SEMITONES = "intervals struck together: semitones and sevenths"
TEXTURE_DISTANCE = "textures (rhythm, density, loudness): distance to real"
#: Rows of a texture model: the share of passages that play the rhythm, density or loudness asked for.
TEXTURE_KEPT = "asked {} kept"


def texture_factor_shares(classes: np.ndarray) -> list[np.ndarray]:
    """Passages' (n, 3) texture classes (:func:`pianogen.representations.textures.texture_classes`)
    -> per factor (rhythm, density, loudness), the share of passages in each class."""
    return [np.bincount(classes[:, f], minlength=n) / len(classes) for f, n in enumerate(FACTOR_SIZES)]


def texture_distance(shares: list[np.ndarray], real: list[np.ndarray]) -> float:
    """Mean over the texture factors of the total variation between two sets' class shares: 0
    where each kind of passage (sixteenths, dense, soft ...) is as common as in real music."""
    return float(np.mean([total_variation(a, b) for a, b in zip(shares, real)]))


def beat_positions(rolls: np.ndarray, roll_cfg: pr.PianorollConfig) -> np.ndarray:
    """Share of notes (all voices) at each step of the beat: (steps_per_beat,)."""
    counts = beat_position_counts(rolls, roll_cfg.steps_per_beat).sum(axis=0)
    return counts / max(1, counts.sum())


def total_variation(shares: np.ndarray, real: np.ndarray) -> float:
    """Total variation distance of two distributions (0 to 1): over the steps of the beat, the
    share of notes that would have to move to another step to start where real music's do."""
    return float(0.5 * np.abs(shares - real).sum())


def gap_distribution(rolls: np.ndarray, max_gap: int) -> np.ndarray:
    """Share of the gaps between successive onset times (any voice) of 1 .. ``max_gap`` steps,
    then of longer ones: (max_gap + 1,), summing to 1."""
    shares = np.array(list(onset_gaps(rolls, tuple(range(1, max_gap + 1))).values()))
    return np.append(shares, 1 - shares.sum())


def interval_distribution(rolls: np.ndarray) -> np.ndarray:
    """Share of pairs of keys struck at the same step (any voices) in each interval class 0-6
    (octaves, semitones or sevenths, ... the tritone): (7,), what the listener test counts in
    its chords and the generator's chord matching pulls toward."""
    import torch

    from pianogen.training.feature_matching import chord_interval_shares

    shares = chord_interval_shares(torch.from_numpy(pr.onsets(rolls)).float()).double().numpy()
    return shares / max(shares.sum(), 1e-12)  # without the one pair's worth the training target adds


def struck_dynamics(rolls: np.ndarray, velocity: np.ndarray) -> tuple[float, float]:
    """Mean velocity change from one onset time to the next and mean velocity sd among keys
    struck together (all voices; MIDI velocity units), as the dynamics matching measures them
    (:func:`pianogen.training.feature_matching.struck_dynamics`)."""
    import torch

    from pianogen.training.feature_matching import VELOCITY_UNIT, struck_dynamics as dynamics

    stats = dynamics(torch.from_numpy(pr.onsets(rolls)).float(), torch.from_numpy(np.asarray(velocity, dtype=np.float32)))
    return tuple(float(x) * VELOCITY_UNIT * 127 for x in stats)


def distributions(rolls: np.ndarray, roll_cfg: pr.PianorollConfig) -> dict[str, np.ndarray]:
    """The distributions the table reports as a distance to real music's, by the row's name."""
    out = {GAP_DISTANCE: gap_distribution(rolls, 2 * roll_cfg.steps_per_beat if roll_cfg.musical_time else roll_cfg.steps_per_bar // 2),
           CHORD_DISTANCE: interval_distribution(rolls)}
    if has_beat_grid(roll_cfg.steps_per_beat):
        out[POSITION_DISTANCE] = beat_positions(rolls, roll_cfg)
    return out


def passage_features(rolls: np.ndarray, velocity: np.ndarray) -> np.ndarray:
    """(passages, features): what the listener test reads in each passage, as the generator's
    per-passage matching measures it (:func:`pianogen.training.feature_matching.crop_features`:
    gaps, successive gaps alike or doubled, density, the melody's repeated key, loudness and
    its spread per voice), in that function's units."""
    import torch

    from pianogen.models.musegan import MuseGANConfig
    from pianogen.training.feature_matching import crop_features

    c = MuseGANConfig(n_tracks=rolls.shape[1], velocity=True)
    x = torch.from_numpy(np.concatenate([np.asarray(rolls, dtype=np.float32), np.asarray(velocity, dtype=np.float32)], 1))
    return crop_features(x, c).double().numpy()


def passage_distances(features: np.ndarray, real: np.ndarray, levels: int = 64) -> np.ndarray:
    """Per feature, the Wasserstein-1 distance between two sets of passages' values (quantiles at
    ``levels`` levels): 0 where every kind of passage is as common as in real music, whatever
    the pooled averages."""
    q = (np.arange(levels) + 0.5) / levels
    return np.abs(np.quantile(features, q, axis=0) - np.quantile(real, q, axis=0)).mean(0)


def length_histogram(rolls: np.ndarray) -> dict[str, float]:
    """Share of notes (all tracks together) in each :data:`LENGTH_BINS` bin of length in steps."""
    lengths = pr.note_lengths(rolls)
    counts = np.histogram(lengths, bins=[*LENGTH_BINS, np.inf])[0]
    shares = counts / max(1, len(lengths))
    names = [f"{lo}" if hi - lo == 1 else (f"{lo}-{hi - 1}" if np.isfinite(hi) else f"{lo}+") for lo, hi in zip(LENGTH_BINS, [*LENGTH_BINS[1:], np.inf])]
    return {f"length {n} step{'' if n == '1' else 's'}": float(v) for n, v in zip(names, shares)}


def table_metrics(rolls: np.ndarray, roll_cfg: pr.PianorollConfig, velocity: np.ndarray | None = None) -> dict[str, float]:
    """MuseGAN's metrics (with SN), notes/s and the note-length histogram of a set of rolls; with
    velocity rolls (in [0, 1]), each voice's velocity mean and sd over sounding steps in MIDI
    units (not part of the selection distance, which reads the rolls alone)."""
    if roll_cfg.musical_time:
        edges = {"onsets on beats": block_edge_onsets(rolls, roll_cfg.steps_per_beat)}
        if has_beat_grid(roll_cfg.steps_per_beat):  # GRID, named apart: the table's distance stays over what every MuseGAN is selected on
            edges.update({f"onsets on the grid/{k.split('/')[1]}": v for k, v in grid_share(rolls, roll_cfg.steps_per_beat, roll_cfg.tracks).items()})
            one, sixteenth = onset_gaps(rolls, (1, roll_cfg.steps_per_beat // 4)).values()
            edges.update({"onset gaps of one step": one, "onset gaps of a sixteenth": sixteenth})
    else:
        edges = {"onsets on 8-step edges": block_edge_onsets(rolls)}
    out = {**musegan_metrics(rolls, roll_cfg.tracks, roll_cfg.low, roll_cfg.qn_steps), "notes/s": notes_per_second(rolls, roll_cfg), **length_histogram(rolls),
           **edges, SEMITONES: float(interval_distribution(rolls)[1]), "harmony change at downbeats / other beats": downbeat_change(rolls, roll_cfg)["ratio"]}
    if velocity is not None:
        change, spread = struck_dynamics(rolls, velocity)
        out.update({"velocity change between onset times": change, "velocity sd inside chords": spread})
        names = {"VM": "velocity mean", "VS": "velocity sd"}
        for k, x in velocity_metrics(rolls, velocity, roll_cfg.tracks).items():
            metric, track = k.split("/")
            out[f"{names[metric]}/{track}"] = 127 * x
    return out


def _summarize(per_group: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = per_group[0].keys()
    return {k: {"mean": float(np.nanmean([g[k] for g in per_group])), "sd": float(np.nanstd([g[k] for g in per_group], ddof=1)) if len(per_group) > 1 else 0.0}
            for k in keys}


def musegan_table(checkpoints: list[str | os.PathLike], data_dir: str | os.PathLike, split: str = "validation", n: int = 64,
                  groups: int = 4, seed: int = 5000, threshold: float = 0.5) -> dict[str, Any]:
    """``{"rows": {name: {metric: {mean, sd}}}, "real": {...}, "passages": {name or "real":
    {feature: distance}}, "settings": {...}}``, the real row at the first checkpoint's pianoroll
    settings (all must share them); "passages" breaks the distance of passages each of a kind
    (:func:`passage_distances`, mean over groups) down by feature."""
    from pathlib import Path

    from pianogen.models.musegan import MuseGANConfig
    from pianogen.sampling import load_gan, sample_gan
    from pianogen.training.feature_matching import crop_feature_names

    gans = [load_gan(c) for c in checkpoints]
    if not gans:
        raise ValueError("give at least one MuseGAN checkpoint")
    roll_cfg = gans[0].roll_cfg
    for g in gans[1:]:
        if g.roll_cfg != roll_cfg:
            raise ValueError(f"{g.path}: pianoroll settings differ from {gans[0].path}'s; compare like with like")
    rng = np.random.default_rng(seed)
    crops = real_crops(data_dir, split, roll_cfg, velocity=True)
    real_sets = [crops.sample(n, rng, transpose=0) for _ in range(groups)]
    real_groups = [table_metrics(v > 0, roll_cfg, v) for v in real_sets]
    # Distributions (where in the beat notes start, gaps, intervals) against the real groups' mean.
    per_set = [distributions(v > 0, roll_cfg) for v in real_sets]
    real_dists = {k: np.mean([d[k] for d in per_set], axis=0) for k in per_set[0]}
    textured = roll_cfg.musical_time and roll_cfg.steps_per_beat % 12 == 0  # the texture classes' gaps are on a grid of 12 per beat
    real_textures = [texture_factor_shares(texture_classes(v > 0, v, roll_cfg.steps_per_beat)) for v in real_sets] if textured else []
    real_texture_mean = [np.mean(f, axis=0) for f in zip(*real_textures)]
    real_passages = [passage_features(v > 0, v) for v in real_sets]
    pooled_passages = np.concatenate(real_passages)
    real_w1 = [passage_distances(f, pooled_passages) for f in real_passages]
    by_feature = {"real": np.mean(real_w1, axis=0)}
    for i, (g, dists, w) in enumerate(zip(real_groups, per_set, real_w1)):
        g.update({k: total_variation(d, real_dists[k]) for k, d in dists.items()})
        g[PASSAGE_DISTANCE] = float(w.mean())
        if textured:
            g[TEXTURE_DISTANCE] = texture_distance(real_textures[i], real_texture_mean)
    real_mean = {k: float(np.nanmean([g[k] for g in real_groups])) for k in real_groups[0] if k.split("/")[0] in METRIC_SCALE}
    for g in real_groups:  # a real group against the real mean: the floor a model can reach
        g["distance"] = metric_distance(g, real_mean)
    real = _summarize(real_groups)
    rows = {}
    for g in gans:
        per_group, w1 = [], []
        for i in range(groups):
            r = sample_gan(g, seed=seed + i, n=n, bars=roll_cfg.n_bars, threshold=threshold)
            # A binary MuseGAN plays every note at the pianoroll's one velocity.
            vel = r.velocity if r.velocity is not None else np.full(r.rolls.shape, roll_cfg.velocity / 127)
            m = table_metrics(r.rolls, roll_cfg, vel)
            m.update({k: total_variation(d, real_dists[k]) for k, d in distributions(r.rolls, roll_cfg).items()})
            w1.append(passage_distances(passage_features(r.rolls, vel), pooled_passages))
            m[PASSAGE_DISTANCE] = float(w1[-1].mean())
            if textured:
                played = texture_classes(r.rolls, vel, roll_cfg.steps_per_beat)
                m[TEXTURE_DISTANCE] = texture_distance(texture_factor_shares(played), real_texture_mean)
                if r.textures is not None:  # a texture model: how much of what it was asked for it plays
                    m.update({TEXTURE_KEPT.format(f): float(k) for f, k in zip(FACTOR_NAMES, asked_kept(played, r.textures))})
            per_group.append({**m, "distance": metric_distance(m, real_mean)})
        design = g.ckpt["model_config"].get("design", "hybrid")
        rows[Path(g.path).stem] = {"design": design, "metrics": _summarize(per_group)}
        by_feature[Path(g.path).stem] = np.mean(w1, axis=0)
    names = crop_feature_names(MuseGANConfig(n_tracks=len(roll_cfg.tracks), velocity=True))
    return {"rows": rows, "real": real, "passages": {k: dict(zip(names, np.round(v, 4).tolist())) for k, v in by_feature.items()}, "settings": {"data": str(data_dir), "split": split, "n": n, "groups": groups, "seed": seed,
                                                     "threshold": threshold, "pianoroll": roll_cfg.to_dict()}}


def texture_response(checkpoints: list[str | os.PathLike], n: int = 64, seed: int = 6000) -> dict[str, dict[str, list[list[float]]]]:
    """What a texture model plays when asked for each class: ``{model: {factor: rows}}``, one row
    per class of the factor asked for (``n`` passages, the other factors drawn as common as in
    its training crops), holding the share of those passages whose measured class is each of the
    factor's classes (the diagonal is the asked class kept). Models without the condition are
    left out."""
    from pathlib import Path

    from pianogen.sampling import load_gan, sample_gan

    out = {}
    for ck in checkpoints:
        g = load_gan(ck)
        if not g.textured:
            continue
        rows: dict[str, list[list[float]]] = {}
        for f, (factor, names) in enumerate(zip(FACTOR_NAMES, FACTORS)):
            rows[factor] = []
            for k in range(len(names)):
                asked = [None, None, None]
                asked[f] = k
                r = sample_gan(g, seed=seed + 10 * f + k, n=n, bars=g.roll_cfg.n_bars, texture=tuple(asked))
                played = texture_classes(r.rolls, r.velocity, g.roll_cfg.steps_per_beat)[:, f]
                rows[factor].append((np.bincount(played, minlength=len(names)) / n).round(4).tolist())
        out[Path(g.path).stem] = rows
    return out


def texture_response_markdown(response: dict[str, dict[str, list[list[float]]]]) -> str:
    """One table per model and factor: asked classes as rows, played classes as columns."""
    lines = []
    for model, rows in response.items():
        for names, (factor, table) in zip(FACTORS, rows.items()):
            lines += [f"{model}, {factor}:", "", "| asked \\ played | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
            lines += [f"| {names[k]} | " + " | ".join(f"**{v:.2f}**" if j == k else f"{v:.2f}" for j, v in enumerate(row)) + " |" for k, row in enumerate(table)]
            lines.append("")
    return "\n".join(lines).rstrip()


#: Bar distances at which long passages are compared with themselves.
COHERENCE_LAGS = (1, 2, 4, 8, 16, 32)


def bar_similarity(rolls: np.ndarray, low: int, lags: tuple[int, ...] = COHERENCE_LAGS) -> dict[str, dict[str, float]]:
    """How alike a passage's bars are in harmony, by their distance apart.

    rolls (n, tracks, bars, steps, pitches); a bar's pitch-class profile counts its sounding
    steps per pitch class (all tracks; ``low`` is the MIDI pitch of key index 0). For each lag,
    the cosine similarity of bars ``lag`` apart (pairs where both bars sound), averaged per
    passage; ``{lag: {mean, sd}}`` over passages. Key ``"other"``: bar i of one passage against
    bar i of the next passage, the level of two unrelated bars. Real music is high at lag 1 and
    falls with the lag toward "other"; a flat curve means no structure between bars.
    """
    n, _, b, _, p = rolls.shape
    onehot = np.eye(12)[(np.arange(p) + low) % 12]  # (pitches, 12)
    chroma = rolls.sum(axis=(1, 3)).astype(float) @ onehot  # (n, bars, 12)
    norm = np.linalg.norm(chroma, axis=-1, keepdims=True)
    unit = np.divide(chroma, norm, out=np.zeros_like(chroma), where=norm > 0)
    sounding = norm[..., 0] > 0

    def per_passage(a, b_, ok):
        sims = (a * b_).sum(-1)
        with np.errstate(invalid="ignore"):
            return np.where(ok.any(1), (sims * ok).sum(1) / ok.sum(1), np.nan)

    out = {}
    for lag in (lag for lag in lags if lag < b):
        out[str(lag)] = per_passage(unit[:, :-lag], unit[:, lag:], sounding[:, :-lag] & sounding[:, lag:])
    other = np.roll(np.arange(n), -1)
    out["other"] = per_passage(unit, unit[other], sounding & sounding[other])
    return {k: {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v, ddof=1)) if np.isfinite(v).sum() > 1 else 0.0} for k, v in out.items()}


def walk_coherence(checkpoints: list[str | os.PathLike], data_dir: str | os.PathLike, split: str, bars: int = 64, n: int = 32,
                   seed: int = 5000, drifts: tuple[float, ...] = ()) -> dict[str, Any]:
    """:func:`bar_similarity` of ``n`` generated pieces of ``bars`` bars (the sampler's latent
    walk) per checkpoint and of ``n`` real held-out spans of the same length; each of ``drifts``
    adds a row per checkpoint walked with that drift (see ``sampling.latent_walk``)."""
    from dataclasses import replace
    from pathlib import Path

    from pianogen.sampling import load_gan, sample_gan

    gans = [load_gan(c) for c in checkpoints]
    roll_cfg = gans[0].roll_cfg
    crops = real_crops(data_dir, split, replace(roll_cfg, n_bars=bars))
    real = crops.sample(n, np.random.default_rng(seed), transpose=0).astype(bool)
    rows = {"real": bar_similarity(real, roll_cfg.low)}
    for g in gans:
        rows[Path(g.path).stem] = bar_similarity(sample_gan(g, seed=seed, n=n, bars=bars).rolls, roll_cfg.low)
        for d in drifts:
            z = g.latent(seed, n, bars, drift=d)
            rows[f"{Path(g.path).stem}, drift {d:g}"] = bar_similarity(sample_gan(g, z=z, bars=bars).rolls, roll_cfg.low)
    return {"bars": bars, "n": n, "seed": seed, "split": split, "drifts": list(drifts), "rows": rows}


def coherence_markdown(walk: dict[str, Any]) -> str:
    """Lags as rows, real music and each model as columns."""
    names = list(walk["rows"])
    lines = ["| bars apart | " + " | ".join(names) + " |", "| --- |" + " ---: |" * len(names)]
    for lag in walk["rows"]["real"]:
        label = "unrelated bars" if lag == "other" else lag
        lines.append(f"| {label} | " + " | ".join(f"{walk['rows'][n][lag]['mean']:.2f} ± {walk['rows'][n][lag]['sd']:.2f}" for n in names) + " |")
    return "\n".join(lines)


def markdown(table: dict[str, Any]) -> str:
    """The table with one column per model and real music, metrics as rows (as in the paper)."""
    names = list(table["rows"])
    keys = list(table["real"])
    keys += [k for n in names for k in table["rows"][n]["metrics"] if k not in keys]  # a conditioned model's own rows (the asked texture kept)
    head = "| metric | real | " + " | ".join(f"{n} ({table['rows'][n]['design']})" for n in names) + " |"
    lines = [head, "| --- | ---: |" + " ---: |" * len(names)]
    for k in dict.fromkeys(keys):
        cells = [table["real"].get(k)] + [table["rows"][n]["metrics"].get(k) for n in names]
        lines.append(f"| {k} | " + " | ".join("—" if c is None else f"{c['mean']:.2f} ± {c['sd']:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def passages_markdown(table: dict[str, Any]) -> str:
    """The distance of passages each of a kind, by feature: one row per feature, a column for
    real groups (against the real pool: the floor) and each model."""
    cols = list(table["passages"])
    lines = ["| feature (unit of a noticeable difference) | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    for f in table["passages"][cols[0]]:
        lines.append(f"| {f} | " + " | ".join(f"{table['passages'][c][f]:.2f}" for c in cols) + " |")
    return "\n".join(lines)
