"""Choose sampling settings (temperature, top-p, time tilt, the pitch field's temperature) by
measurement, not by taste.

For each setting, ``n`` samples (batched, fixed seeds) are scored against real segments of a
prepared split with Yang & Lerch's mean OA over every feature, their texture (notes per second,
mean polyphony) is set beside the real segments', and each single sample is placed against real
segments' 5th-95th percentile range in notes/s and polyphony.

Three rules pick the default (``best_setting``). ``"single"`` (the default): the fewest single
samples outside real's range, mean OA breaking near-ties, because a visitor hears one sample, not
the mean of many: a setting whose mean matches real music can still give one listener 2 notes/s
and the next 18. ``"mean"``: the highest mean OA among settings whose mean texture is within 20%
of real music (mean OA averages many histograms, and a setting can win it while playing a quarter
more notes than a pianist would). ``"listener"``: among settings whose single samples stay in
real's range often enough, the one a classifier tells from real music least often
(:func:`listener_scores`: unseeded samples and continuations of held-out openings, the test of
:mod:`pianogen.evaluation.listener`), because texture alone does not hear wrong notes or a
figure that never comes back; among those, settings whose unseeded samples play within
``tolerance`` of real notes/s come first (the first clicks the sweep measures are seeded and
sparser, and a setting can pass them while its unseeded samples crowd the keyboard). Use a validation split and seeds that the comparison report
does not use, so the report's numbers are not tuned on.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

TEXTURE_FEATURES = ("notes_per_second", "polyphony", "long_note_share")
#: Features a setting must match within ``tolerance`` (relative) to be eligible as the default.
MATCHED_TEXTURE = ("notes_per_second", "polyphony")


def sampled_features(sampler, **kwargs) -> list[dict]:
    """Features of each sample of one batched ``sample(sampler, **kwargs)`` call (samples with
    fewer than two notes have no features and are left out)."""
    from pianogen.evaluation.features import piece_features

    return [piece_features(g) for g in _generated(sampler, **kwargs) if len(g) > 1]


def _generated(sampler, **kwargs) -> list:
    """The new notes of each sample of one batched ``sample(sampler, **kwargs)`` call, times from
    the first new note (a seed's notes are left out: they are not the model's)."""
    from pianogen.sampling import sample

    batch = sample(sampler, **kwargs)
    batch = batch[~batch["is_seed"]]
    out = []
    for i in range(kwargs.get("n", 1)):
        g = batch[batch["sample"] == i] if "sample" in batch else batch
        out.append(g.assign(start=g["start"] - g["start"].min(), end=g["end"] - g["start"].min()) if len(g) else g)
    return out


def _spread(samples: list, real_x: np.ndarray, names: list[str]) -> tuple[dict, np.ndarray]:
    """``single_sample_spread`` of notes frames against real segment features (``real_x``, ``names``);
    samples with fewer than two notes count as empty (sparse and outside). Also returns the
    features of the samples with two notes or more."""
    from pianogen.evaluation.listener import segments_matrix, single_sample_spread

    usable = [g for g in samples if len(g) > 1]
    x = segments_matrix(usable)[0]
    return single_sample_spread(x, real_x, names, empty=len(samples) - len(usable)), x


def sweep_sampling(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "validation-tuning",
                   temperatures=(0.8, 0.9, 1.0, 1.1), top_ps=(0.9, 0.95, 1.0), n: int = 16, seconds: float = 20.0,
                   seed: int = 1000, progress: bool = True, tilts=(0.0,), seed_notes: str | None = None,
                   pitch_temperatures=(None,), motif_memories=(None,)) -> dict[str, Any]:
    """``{"rows": [...], "real": {...}}``: one row per (temperature, top_p, tilt, pitch
    temperature, motif memory strength) with mean OA,
    notes/s, polyphony, long-note share and the single-sample spread (``outside_share``: samples
    outside real's 5th-95th percentile range in notes/s or polyphony; ``sparse_share``: under
    3 notes/s); ``real`` holds the same texture means for the real segments. ``tilts`` are time
    tilts (per second, ``sample(..., time_tilt=)``): temperature and nucleus move polyphony far
    more than notes/s, the tilt moves notes/s, so a grid over all three can reach a texture that
    neither alone does. ``seed_notes`` (note names): every sample continues them, as a click
    that keeps the app's seed does (only the new notes are scored). ``pitch_temperatures``: the
    pitch field's own temperature (note models; None: the row's temperature), recorded absolute
    in each row as ``pitch_temperature``. ``motif_memories``: strengths of a note model's motif
    memory (None: the recorded one; 0: off), recorded absolute in each row as ``motif_memory``."""
    from tqdm import tqdm

    from pianogen.evaluation import reference_segments
    from pianogen.evaluation.distributions import compare_sets
    from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, piece_features
    from pianogen.evaluation.listener import segments_matrix
    from pianogen.sampling import load_sampler

    segs = reference_segments(data_dir, split, seconds)
    ref = [piece_features(s) for s in segs]
    real_x, seg_names, _ = segments_matrix(segs)
    real = {k: float(np.mean([f[k] for f in ref])) for k in TEXTURE_FEATURES}
    sampler = load_sampler(checkpoint)
    names = SCALAR_FEATURES + HIST_FEATURES
    rows = []
    grid = [(t, p, d, t if q is None else q, sampler.motif_strength if m is None else float(m))
            for t in temperatures for p in top_ps for d in tilts for q in pitch_temperatures for m in motif_memories]
    for t, p, d, q, m in tqdm(grid, desc="sampling settings", unit="setting", disable=not progress):
        # The pitch temperature is always passed: a recorded one must not leak into the sweep.
        gen = _generated(sampler, seed_notes=seed_notes, seconds=seconds, temperature=t, top_p=p, seed=seed, n=n, time_tilt=d,
                         pitch_temperature=q, motif_memory=m)
        feats = [piece_features(g) for g in gen if len(g) > 1]
        vs = compare_sets(feats, ref, names)
        spread, _ = _spread(gen, real_x, seg_names)
        rows.append({"temperature": t, "top_p": p, "tilt": float(d), "pitch_temperature": q, "motif_memory": m, "mean_oa": float(np.mean([v["oa"] for v in vs.values()])),
                     **{k: float(np.mean([f[k] for f in feats])) for k in TEXTURE_FEATURES},
                     "outside_share": spread["outside real 5-95%"], "sparse_share": spread["sparse share"]})
    return {"rows": rows, "real": real}


def listener_scores(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str, rows: list[dict[str, Any]], n: int = 96,
                    continuations: int = 96, seconds: float = 20.0, seed: int = 1000, progress: bool = True) -> list[dict[str, Any]]:
    """``rows`` (settings from :func:`sweep_sampling`), each with ``listener``: the classifier
    test's accuracy at telling its samples from real segments of ``split``, as the mean of
    logistic and boosting over ``n`` unseeded samples and over ``continuations`` held-out
    openings continued (0.5: not told apart), the parts beside it, and the first separating
    features, ``unseeded_notes_per_second`` (mean over the unseeded samples) beside
    ``real_notes_per_second`` (the split's segments), and ``repetition``: for each of
    :data:`~pianogen.evaluation.repetition.REPETITION_FEATURES`, the median over the unseeded samples and over real segments
    (``[model, real]``). Seeds: ``seed + 10_000`` on (unseeded) and
    ``seed + 20_000`` on (continuations)."""
    from tqdm import tqdm

    from pianogen.evaluation.classifier_test import CLASSIFIERS
    from pianogen.evaluation.continuation import continue_prompts
    from pianogen.evaluation.listener import ListenerConfig, Reference, segments_matrix
    from pianogen.evaluation.repetition import REPETITION_FEATURES
    from pianogen.sampling import load_sampler

    ref = Reference(data_dir, split, seconds, cfg=ListenerConfig(n=n, continuations=continuations, long_n=0, top=3))
    sampler = load_sampler(checkpoint)
    out = []
    for r in tqdm(rows, desc="listener", unit="setting", disable=not progress):
        setting = {"temperature": r["temperature"], "top_p": r["top_p"], "time_tilt": r.get("tilt", 0.0),
                   "pitch_temperature": r.get("pitch_temperature", r["temperature"]), "motif_memory": r.get("motif_memory")}
        unseeded = _generated(sampler, seconds=seconds, seed=seed + 10_000, n=n, **setting)
        conts = continue_prompts(sampler, ref.prompts, seconds, seed=seed + 20_000, **setting) if ref.prompts else None
        scored = ref.score(unseeded, conts)
        parts = {f"unseeded {c}": scored["c2st"][c]["accuracy"] for c in CLASSIFIERS}
        if conts is not None:
            parts.update({f"continuations {c}": scored["continuation"]["c2st"][c]["accuracy"] for c in CLASSIFIERS})
        x = segments_matrix([g for g in unseeded if len(g) > 1])[0]
        rate = ref.column(x, "notes_per_second")
        out.append({**r, "listener": float(np.mean(list(parts.values()))), "listener_parts": parts,
                    "separating": [f["feature"] for f in scored["separating"]],
                    "unseeded_notes_per_second": float(rate.mean()) if len(rate) else 0.0,
                    "real_notes_per_second": float(ref.column(ref.x, "notes_per_second").mean()),
                    "repetition": {k: [float(np.median(ref.column(x, k))), float(np.median(ref.column(ref.x, k)))] for k in REPETITION_FEATURES}})
    return out


def texture_error(row: dict[str, Any], real: dict[str, float]) -> float:
    """Worst relative deviation from real music over notes/s and polyphony (0.2 = 20% off)."""
    return max(abs(row[k] / real[k] - 1.0) for k in MATCHED_TEXTURE)


def best_setting(rows: list[dict[str, Any]], real: dict[str, float] | None = None, tolerance: float = 0.2,
                 rule: str = "single", n: int | None = None) -> dict[str, Any]:
    """The default setting (see the module doc for the three rules).

    ``"single"``: the lowest ``outside_share``; settings within one sample of it (1/``n``) tie,
    and the highest mean OA among them wins. ``"mean"``: the highest mean OA among rows within
    ``tolerance`` of ``real`` texture; without ``real``, the highest mean OA; when no row is within
    tolerance, the row closest in texture. ``"listener"``: the lowest ``listener`` accuracy among
    the rows that carry one (:func:`listener_scores`; the caller scores only the settings whose
    first clicks it accepts) and whose unseeded samples play within ``tolerance`` of real
    notes/s (all scored rows when none does). The ``criterion`` field says which rule decided.
    """
    if rule == "listener":
        scored = [r for r in rows if "listener" in r]
        if not scored:
            raise ValueError("rule 'listener' needs rows scored by listener_scores")
        paced = [r for r in scored if _pace_error(r) <= tolerance]
        best = min(paced or scored, key=lambda r: r["listener"])
        criterion = ("lowest classifier accuracy against real music (unseeded and continuations), among settings scored by the listener"
                     + (f" whose unseeded notes/s are within {tolerance:.0%} of real" if paced else
                        f" (none had unseeded notes/s within {tolerance:.0%} of real)"))
    elif rule == "single":
        low = min(r["outside_share"] for r in rows)
        near = [r for r in rows if r["outside_share"] <= low + (1.0 / n if n else 0.0) + 1e-12]
        best = max(near, key=lambda r: r["mean_oa"])
        criterion = "fewest single samples outside real's 5-95% range in notes/s or polyphony (mean OA breaks ties within one sample)"
    elif rule != "mean":
        raise ValueError(f"unknown rule {rule!r}: single, mean or listener")
    elif real is None:
        best, criterion = max(rows, key=lambda r: r["mean_oa"]), "highest mean OA"
    else:
        eligible = [r for r in rows if texture_error(r, real) <= tolerance]
        if eligible:
            best = max(eligible, key=lambda r: r["mean_oa"])
            criterion = f"highest mean OA with notes/s and polyphony within {tolerance:.0%} of real"
        else:
            best = min(rows, key=lambda r: texture_error(r, real))
            criterion = f"no setting within {tolerance:.0%} of real texture: the closest one"
    out = {"temperature": best["temperature"], "top_p": best["top_p"], "tilt": best.get("tilt", 0.0), "mean_oa": best["mean_oa"], "criterion": criterion}
    if best.get("pitch_temperature", best["temperature"]) != best["temperature"]:
        out["pitch_temperature"] = best["pitch_temperature"]
    for k in ("motif_memory", "outside_share", "listener", "unseeded_notes_per_second"):
        if k in best:
            out[k] = best[k]
    if real is not None:
        out["texture_error"] = texture_error(best, real)
    return out


def _pace_error(row: dict[str, Any]) -> float:
    """Relative notes/s error of a listener-scored row's unseeded samples (inf without the numbers)."""
    got, real = row.get("unseeded_notes_per_second"), row.get("real_notes_per_second")
    return abs(got / real - 1.0) if got is not None and real else float("inf")


def density_response(checkpoint: str | os.PathLike, tilts=(-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0), targets=None,
                     temperature: float = 1.0, top_p: float = 1.0, n: int = 16, seconds: float = 20.0, seed: int = 2000,
                     progress: bool = True) -> list[dict[str, float]]:
    """Notes/s and polyphony of ``n`` samples per density request: one row per time tilt
    (``tilts``, per second; see ``SequenceSampler.time_bias``) or, with ``targets``, per asked-for
    notes/s (``sample(..., notes_per_second=...)``). The tilt rows are a checkpoint's density
    calibration; the target rows measure how closely a control tracks what was asked."""
    from tqdm import tqdm

    from pianogen.sampling import load_sampler

    sampler = load_sampler(checkpoint)
    key, values = ("target", targets) if targets is not None else ("tilt", tilts)
    rows = []
    for v in tqdm(values, desc="densities", unit="setting", disable=not progress):
        kw = {"notes_per_second": float(v)} if key == "target" else {"time_tilt": float(v)}
        feats = sampled_features(sampler, seconds=seconds, temperature=temperature, top_p=top_p, seed=seed, n=n, **kw)
        rates = np.array([f["notes_per_second"] for f in feats])
        rows.append({key: float(v), "notes_per_second": float(rates.mean()), "sd": float(rates.std(ddof=1)) if len(rates) > 1 else 0.0,
                     "polyphony": float(np.mean([f["polyphony"] for f in feats]))})
    return rows


def tracking_error(rows: list[dict[str, float]]) -> float:
    """Mean |log(achieved / asked)| over target rows: 0 is perfect, 0.18 is about 20% off."""
    return float(np.mean([abs(np.log(r["notes_per_second"] / r["target"])) for r in rows]))


def single_sample_report(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str, n: int = 100, seconds: float = 20.0,
                         seed: int = 3000, seed_notes: str | None = None) -> dict[str, Any]:
    """How ``n`` single samples at the checkpoint's recorded defaults spread against real segments
    of ``split`` (:func:`pianogen.evaluation.listener.single_sample_spread`), with real's own
    notes/s quantiles beside them, and their repetition against real's with bootstrap intervals
    (``repetition``: :func:`pianogen.evaluation.repetition.repetition_against_real`).
    ``seed_notes``: each sample continues them (new notes scored)."""
    from pianogen.evaluation.features import labelled_segments
    from pianogen.evaluation.listener import SPREAD_QUANTILES, segments_matrix
    from pianogen.evaluation.repetition import repetition_against_real
    from pianogen.sampling import load_sampler

    segs, groups = labelled_segments(data_dir, split, seconds)
    real_x, names, kept = segments_matrix(segs)
    real_groups = [groups[i] for i in kept]
    gen = _generated(load_sampler(checkpoint), seed_notes=seed_notes, seconds=seconds, seed=seed, n=n)
    spread, x = _spread(gen, real_x, names)
    rates = real_x[:, names.index("notes_per_second")]
    return {"outside_share": spread["outside real 5-95%"], "sparse_share": spread["sparse share"], "notes/s": spread["notes/s"],
            "polyphony": spread["polyphony"], "real notes/s": {f"p{q}": float(np.percentile(rates, q)) for q in SPREAD_QUANTILES},
            "seed_notes": seed_notes, "repetition": repetition_against_real(x, real_x, names, real_groups, seed=seed)}
