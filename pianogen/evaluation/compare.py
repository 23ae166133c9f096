"""Compare checkpoints side by side: the same number of samples of the same length from each,
evaluated against the test split, with test NLL per second and training cost from each
checkpoint's report, written as ``index.html`` (opens from disk, no server, no network),
``metrics.csv`` and ``metrics.json``.
"""

from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pianogen.evaluation import reference_features, reference_segments, set_summary
from pianogen.evaluation.distributions import compare_sets
from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, piece_features
from pianogen.checkpoints import read_report, trained_corpus
from pianogen.evaluation.likelihood import reported_nll
from pianogen.evaluation.listener import ListenerConfig, Reference
from pianogen.evaluation.memorization import PassageIndex

SUMMARY_FEATURES = ("notes_per_second", "polyphony", "long_note_share", "pitch_class_entropy", "scale_consistency", "silence_ratio", "velocity_mean")


@dataclass
class CompareConfig:
    n: int = 48  # samples per model (12 per seed set: OA from fewer pairs is too noisy)
    groups: int = 4  # disjoint seed sets (n / groups samples each): the spread between them is the error bar
    seconds: float = 20.0  # length of each sample
    seed: int = 0  # sample i uses seed + i (keep disjoint from seeds used to choose sampling defaults)
    temperature: float = 1.0  # for models without measured defaults (or all, with model_defaults off)
    top_p: float = 0.95
    model_defaults: bool = True  # sample each model at its measured best setting (NAME.json "sampling_defaults")
    audio: int = 2  # samples per model with audio in the page
    sample_rate: int = 22050  # audio in the report (smaller files)
    split: str = "test"  # the reference: a test split or a reporting half (validation-reporting), never a split tuned on
    ceiling_split: str = "train"  # real music scored like a model (matched size, several draws)
    listener_n: int = 96  # samples per model for the classifier test ("can a listener tell?"; 0: skip it)
    continuations: int = ListenerConfig.continuations  # held-out prompts each autoregressive model continues (0: none)
    prompt_seconds: float = 10.0  # length of each prompt
    long_n: int = 8  # samples of long_seconds per model for key and density stability (0: none)
    long_seconds: float = 60.0
    c2st_repeats: int = 5  # reshuffled repetitions of the classifier test's cross-validation


def grouped_scores(feats: list[dict], ref: list[dict], groups: int) -> dict:
    """Set means and OA of ``feats`` against ``ref``, each as mean and sd over ``groups``
    disjoint, equal parts of ``feats`` (in order), so every number has an error bar and real
    and generated sets are scored at the same size."""
    names = SCALAR_FEATURES + HIST_FEATURES
    size = len(feats) // groups
    if size < 2:
        raise ValueError(f"need at least 2 samples per group: {len(feats)} samples, {groups} groups")
    per = []
    for g in range(groups):
        part = feats[g * size : (g + 1) * size]
        vs = compare_sets(part, ref, names)
        per.append({**{f: float(np.mean([x[f] for x in part])) for f in SUMMARY_FEATURES},
                    **{f"OA {f}": vs[f]["oa"] for f in names}, "mean OA": float(np.mean([v["oa"] for v in vs.values()]))})
    return {k: {"mean": float(np.mean([p[k] for p in per])), "sd": float(np.std([p[k] for p in per], ddof=1)) if groups > 1 else 0.0} for k in per[0]}


def _model_samples(ck: Path, cfg: CompareConfig, prompts: list | None = None) -> tuple[str, dict[str, list[pd.DataFrame]], dict]:
    """(kind, samples, extra metrics) for one checkpoint. ``samples`` holds "unseeded" (the
    first ``cfg.n`` score OA, all ``max(n, listener_n)`` the classifier test), "long" and, for
    an autoregressive model given ``prompts``, "continuations" of each prompt."""
    from pianogen.checkpoints import load

    total = max(cfg.n, cfg.listener_n)
    kind = load(ck)["kind"]
    if kind == "musegan":
        from pianogen.metrics.musegan import musegan_metrics
        from pianogen.sampling import load_gan, sample_gan

        g = load_gan(ck)
        bars = max(1, int(round(cfg.seconds / g.roll_cfg.seconds_per_bar())))
        results = [sample_gan(g, seed=cfg.seed + i, bars=bars) for i in range(total)]
        rolls = np.concatenate([r.rolls for r in results[: cfg.n]])
        extra = musegan_metrics(rolls, g.roll_cfg.tracks, g.roll_cfg.low, g.roll_cfg.qn_steps)
        long_bars = max(1, int(round(cfg.long_seconds / g.roll_cfg.seconds_per_bar())))
        long = [sample_gan(g, seed=cfg.seed + i, bars=long_bars).notes[0] for i in range(cfg.long_n)]
        return kind, {"unseeded": [r.notes[0] for r in results], "long": long}, {"musegan_metrics": extra}
    from pianogen.evaluation.continuation import continue_prompts
    from pianogen.sampling import load_sampler

    s = load_sampler(ck)
    # Each model at its measured defaults as a whole (the tilt belongs to them), or all at one setting.
    t, p, tilt = s.defaults if cfg.model_defaults else (cfg.temperature, cfg.top_p, 0.0)
    pitch_t = s.pitch_temperature_for(t) if cfg.model_defaults else None
    setting = {"temperature": t, "top_p": p, "time_tilt": tilt, "pitch_temperature": pitch_t if pitch_t is not None else t}
    out = {"unseeded": _batched(s, total, cfg.seconds, cfg.seed, setting),
           "long": _batched(s, cfg.long_n, cfg.long_seconds, cfg.seed + 50_000, setting) if cfg.long_n else []}
    if prompts:
        out["continuations"] = continue_prompts(s, prompts, cfg.seconds, seed=cfg.seed + 100_000, **setting)
    return kind, out, {"temperature": t, "top_p": p, "tilt": tilt, **({"pitch_temperature": pitch_t} if pitch_t is not None else {})}


BATCH = 48  # samples drawn together (one seed per batch: seed, seed + 1, ...)


def _batched(sampler, n: int, seconds: float, seed: int, setting: dict) -> list[pd.DataFrame]:
    """``n`` unseeded samples of ``seconds``, drawn ``BATCH`` at a time (batch k uses seed + k)."""
    from pianogen.sampling import sample

    out = []
    for k, first in enumerate(range(0, n, BATCH)):
        m = min(BATCH, n - first)
        df = sample(sampler, seconds=seconds, seed=seed + k, n=m, **setting)
        out += [df[df["sample"] == i].drop(columns="sample").reset_index(drop=True) for i in range(m)] if m > 1 else [df]
    return out


def _row(model: str, kind: str, scores: dict) -> dict:
    """A table row: each summary feature, its OA and the mean OA, as mean and sd over groups."""
    row: dict = {"model": model, "kind": kind}
    for k in [*SUMMARY_FEATURES, *[f"OA {f}" for f in SUMMARY_FEATURES if f"OA {f}" in scores], "mean OA"]:
        row[k], row[f"{k} sd"] = scores[k]["mean"], scores[k]["sd"]
    return row


def _png_data(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _hist_plot(feature: str, real: list[float], models: dict[str, list[float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pianogen.io import atomic_path
    from pianogen.plots import TRACK_COLORS

    fig, ax = plt.subplots(figsize=(4.2, 2.6), dpi=90)
    allv = np.concatenate([real] + [v for v in models.values()])
    bins = np.linspace(allv.min(), allv.max() + 1e-9, 16)
    ax.hist(real, bins=bins, density=True, color="0.6", alpha=0.6, label="real (test)")
    for i, (name, v) in enumerate(models.items()):
        ax.hist(v, bins=bins, density=True, histtype="step", linewidth=2, color=TRACK_COLORS[i % len(TRACK_COLORS)], label=name)
    ax.set_title(feature.replace("_", " "), fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def compare(checkpoints: list[str | Path], data_dir: str | Path, out: str | Path, cfg: CompareConfig | None = None, progress: bool = True) -> dict:
    """Sample, evaluate and write the report for ``checkpoints``; returns metrics.json's dict."""
    from tqdm import tqdm

    from pianogen.io import atomic_path, write_json

    cfg = cfg or CompareConfig()
    t0 = time.perf_counter()
    out = Path(out)
    (out / "media").mkdir(parents=True, exist_ok=True)
    ref_segments = reference_segments(data_dir, cfg.split, cfg.seconds)  # read once: features, media, copy baseline
    ref = [piece_features(s) for s in ref_segments]
    need = cfg.n // cfg.groups * cfg.groups
    rows = [_row(f"real ({cfg.ceiling_split} split)", "data", grouped_scores(_ceiling(data_dir, cfg, need), ref, cfg.groups))]
    listener = None
    if cfg.listener_n:
        lcfg = ListenerConfig(n=cfg.listener_n, continuations=cfg.continuations, prompt_seconds=cfg.prompt_seconds,
                              long_n=cfg.long_n, long_seconds=cfg.long_seconds, repeats=cfg.c2st_repeats)
        listener = Reference(data_dir, cfg.split, cfg.seconds, cfg.ceiling_split, lcfg, seed=cfg.seed)
        floor = listener.floor()
        rows[0].update(_listener_columns(floor))
    details, model_feats, media = {}, {}, {}
    copy_refs: dict = {}  # corpus -> its copy-check index, for the real reference rows
    for ck in tqdm([Path(c) for c in checkpoints], desc="compare", unit="model", disable=not progress):
        name = ck.stem
        kind, samples, extra = _model_samples(ck, cfg, listener.prompts if listener else None)
        unseeded = samples["unseeded"]
        feats = [piece_features(s) for s in unseeded[: cfg.n] if len(s) > 0]
        if len(feats) < need:
            raise ValueError(f"{ck}: only {len(feats)} of its {cfg.n} samples have notes")
        report = read_report(ck)
        row = {**_row(name, kind, grouped_scores(feats[:need], ref, cfg.groups)), **_report_columns(report, extra)}
        row.update(_copy_check(ck, report, unseeded[:need], copy_refs))
        listen = None
        if listener:
            nll = None
            if samples.get("continuations") is not None:
                from pianogen.evaluation.continuation import continuation_nll

                nll = continuation_nll(ck, listener.prompts, cfg.prompt_seconds, cfg.seconds)
            listen = listener.score(unseeded, samples.get("continuations"), nll, samples.get("long"))
            row.update(_listener_columns(listen))
        rows.append(row)
        details[name] = {"kind": kind, "checkpoint": str(ck), "vs_reference": compare_sets(feats[:need], ref, SCALAR_FEATURES + HIST_FEATURES),
                         "summary": set_summary(feats), "musegan_metrics": extra.get("musegan_metrics"),
                         "sampling": {k: extra[k] for k in ("temperature", "top_p", "tilt", "pitch_temperature") if k in extra} or None,
                         "config": report.get("config"), "wall_seconds": report.get("wall_seconds"), "listener": listen}
        model_feats[name] = feats
        media[name] = _write_media(out, name, kind, unseeded[: cfg.audio], cfg)
    real_media = _real_media(out, ref_segments, cfg)
    rows += _copy_baselines(ref_segments, cfg, need, copy_refs)
    plots = {f: _hist_plot(f, [r[f] for r in ref], {m: [x[f] for x in fs] for m, fs in model_feats.items()}, out / "media" / f"hist_{f}.png") for f in SUMMARY_FEATURES}
    table = pd.DataFrame(rows)
    with atomic_path(out / "metrics.csv") as tmp:
        table.to_csv(tmp, index=False)
    result = {"config": asdict(cfg), "checkpoints": [str(c) for c in checkpoints], "data": str(data_dir), "table": rows, "models": details,
              "reference_segments": len(ref), "media": {"real": real_media, **media}, "seconds_taken": round(time.perf_counter() - t0, 1)}
    if listener:
        result["listener"] = {"real": listener.real_row(), "floor": floor, "features": listener.names}
    write_json(out / "metrics.json", result)
    _write_html(out, table, plots, media, details, cfg, real_media, result.get("listener"))
    return result


def rewrite_report(out: str | Path) -> Path:
    """Write OUT/index.html again from OUT/metrics.json and its media (after a change to how the
    report is laid out: nothing is sampled or measured again)."""
    import json

    out = Path(out)
    result = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    cfg = CompareConfig(**{k: v for k, v in result["config"].items() if k in CompareConfig.__dataclass_fields__})
    media = {k: v for k, v in result["media"].items() if k != "real"}
    plots = {f: out / "media" / f"hist_{f}.png" for f in SUMMARY_FEATURES if (out / "media" / f"hist_{f}.png").is_file()}
    _write_html(out, pd.DataFrame(result["table"]), plots, media, result["models"], cfg, result["media"].get("real", []), result.get("listener"))
    return out / "index.html"


def _ceiling(data_dir, cfg: CompareConfig, need: int) -> list[dict]:
    """The ceiling: ``need`` real segments of the ceiling split drawn at random (fixed seed),
    scored exactly like a model."""
    pool = reference_features(data_dir, cfg.ceiling_split, cfg.seconds)
    if len(pool) < need:
        raise ValueError(f"{data_dir}: {len(pool)} {cfg.ceiling_split} segments, fewer than the {need} the real-music ceiling draws")
    return [pool[i] for i in np.random.default_rng(cfg.seed).choice(len(pool), need, replace=False)]


def _report_columns(report: dict, extra: dict) -> dict:
    """A model row's columns from its training report: NLL, sampling setting, cost."""
    nll = reported_nll(report)
    return {
        "NLL split": nll[0] if nll else None,
        "NLL nats/token": nll[1]["nll_per_token"] if nll else None,
        "NLL nats/s": nll[1]["nll_per_second"] if nll else None,
        "temperature": extra.get("temperature"), "top-p": extra.get("top_p"), "tilt": extra.get("tilt"),
        "pitch temperature": extra.get("pitch_temperature"),
        "steps": report.get("steps"), "train minutes": round(report["wall_seconds"] / 60, 1) if "wall_seconds" in report else None,
        "parameters": sum(report.get("parameters", {}).values()) or None,
    }


def _listener_columns(scores: dict) -> dict:
    """The table's "can a listener tell?" columns of one row (a model, or the real floor)."""
    out = {}
    for c, label in (("logistic", "C2ST"), ("boosting", "C2ST boosting")):
        out[label], out[f"{label} sd"] = scores["c2st"][c]["accuracy"], scores["c2st"][c]["sd"]
    cont = scores.get("continuation")
    if cont:
        out["continuation C2ST"], out["continuation C2ST sd"] = cont["c2st"]["logistic"]["accuracy"], cont["c2st"]["logistic"]["sd"]
        out["key agreement"] = cont["key_agreement"]
        out["continuation NLL nats/s"] = cont["nll_per_second"]
    out["sparse share"] = scores["spread"]["sparse share"]
    out["outside real 5-95%"] = scores["spread"]["outside real 5-95%"]
    return out


def _copy_check(ck: Path, report: dict, samples: list[pd.DataFrame], copy_refs: dict) -> dict:
    """The longest passage the samples share with the model's training corpus (its shipped
    index), loading each corpus's index once into ``copy_refs``."""
    index_file, corpus = PassageIndex.path_for(ck), trained_corpus(report)
    if not index_file.is_file():
        return {}
    if corpus not in copy_refs:
        copy_refs[corpus] = PassageIndex.load(index_file)
    shared = [copy_refs[corpus].longest(x).notes for x in samples]
    return {"shared passage notes (median)": float(np.median(shared)), "shared passage notes (max)": int(max(shared)), "copy-check corpus": corpus}


def _copy_baselines(pool: list[pd.DataFrame], cfg: CompareConfig, need: int, copy_refs: dict) -> list[dict]:
    """What real, unseen music shares with each training corpus by chance: one row per corpus,
    ``need`` of the reference segments ``pool`` drawn at random across all pieces (fixed seed)."""
    if not copy_refs:
        return []
    drawn = [pool[i] for i in np.random.default_rng(cfg.seed).choice(len(pool), min(need, len(pool)), replace=False)]
    rows = []
    for corpus, index in copy_refs.items():
        shared = [index.longest(x).notes for x in drawn]
        rows.append({"model": f"real ({cfg.split} split) vs {corpus}", "kind": "data", "shared passage notes (median)": float(np.median(shared)),
                     "shared passage notes (max)": int(max(shared)), "copy-check corpus": corpus})
    return rows


def _write_media(out: Path, name: str, kind: str, samples: list[pd.DataFrame], cfg: CompareConfig) -> list[str]:
    """MIDI, audio and a pianoroll of the first samples; returns their file stems."""
    from pianogen.audio import render
    from pianogen.data import write_midi
    from pianogen.plots import pianoroll_png
    from pianogen.representations.pianoroll import TRACK_NAMES

    stems = []
    track_names = TRACK_NAMES["voices"] if kind == "musegan" else None
    for i, s in enumerate(samples):
        if len(s) == 0:
            continue
        stem = out / "media" / f"{name}_{i}"
        write_midi(s, stem.with_suffix(".mid"))
        render(s, stem.with_suffix(".wav"), sample_rate=cfg.sample_rate)
        pianoroll_png(s, stem.with_suffix(".png"), title=f"{name}, sample {i}", track_names=track_names, width=8, height=2.8)
        stems.append(stem.name)
    return stems


def _real_media(out: Path, pool: list[pd.DataFrame], cfg: CompareConfig) -> list[str]:
    """Real music to listen to beside the models: reference segments ``pool`` drawn with the same seed."""
    from pianogen.audio import render
    from pianogen.data import write_midi
    from pianogen.plots import pianoroll_png

    stems = []
    for i, j in enumerate(np.random.default_rng(cfg.seed).choice(len(pool), min(cfg.audio, len(pool)), replace=False)):
        stem = out / "media" / f"real_{i}"
        write_midi(pool[j], stem.with_suffix(".mid"))
        render(pool[j], stem.with_suffix(".wav"), sample_rate=cfg.sample_rate)
        pianoroll_png(pool[j], stem.with_suffix(".png"), title=f"real music ({cfg.split} split)", width=8, height=2.8)
        stems.append(stem.name)
    return stems


COLUMN_LABELS = {
    "notes_per_second": "notes/s", "polyphony": "polyphony (keys)", "long_note_share": "note-time in notes > 5 s",
    "pitch_class_entropy": "pitch-class entropy (bits)", "scale_consistency": "scale consistency", "silence_ratio": "silence",
    "velocity_mean": "mean velocity", "mean OA": "mean OA", "NLL nats/token": "NLL (nats/token)", "NLL nats/s": "NLL (nats/s)",
}


LISTENER_COLUMNS = ("C2ST", "C2ST boosting", "continuation C2ST", "key agreement", "continuation NLL nats/s", "sparse share", "outside real 5-95%")


def display_table(table: pd.DataFrame, oa_columns: bool = False) -> pd.DataFrame:
    """The table as people read it (plain text cells): readable headers with units, "mean ± sd"
    cells, sensible rounding; per-feature OA columns only if asked (mean OA summarizes them).
    The "can a listener tell?" columns have their own tables (:func:`listener_tables`)."""
    out = pd.DataFrame({"model": table["model"]})
    for c in table.columns:
        if c in ("model", "kind") or c.endswith(" sd") or (c.startswith("OA ") and not oa_columns) or c in LISTENER_COLUMNS:
            continue
        sd = table.get(f"{c} sd")
        label = COLUMN_LABELS.get(c, c)
        pct = c in ("long_note_share", "silence_ratio")
        cells = []
        for i, v in enumerate(table[c]):
            if v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("–")
            elif isinstance(v, str):
                cells.append(v)
            elif pct:
                cells.append(f"{100 * v:.1f}%" + (f" ± {100 * sd.iloc[i]:.1f}" if sd is not None and not np.isnan(sd.iloc[i]) else ""))
            elif sd is not None and not np.isnan(sd.iloc[i]) and sd.iloc[i] > 0:
                cells.append(_with_error(float(v), float(sd.iloc[i])))
            else:
                cells.append(_num(v))
        out[label] = cells
    return out


def _pm(d: dict) -> str:
    return f"{d['accuracy']:.2f} ± {d['sd']:.2f}"


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.0f}%"


#: Readable names of the segment features the report shows most (others: their code name).
FEATURE_LABELS = {
    "repeat_melody_3": "recurring 4-note melodic figures", "repeat_melody_5": "recurring 6-note melodic figures",
    "repeat_rhythm_4": "recurring 5-onset rhythms", "repeat_figure_3": "recurring melodic+rhythmic figures",
    "repeat_chord": "recurring chords", "chroma_sim_4s": "harmony 4 s apart (chroma similarity)",
    "chroma_return": "harmonic return (best match 2-16 s back)", "velocity_change_mean": "velocity change, note to note",
    "velocity_change_0": "successive notes at one loudness", "chord_velocity_autocorr": "chord loudness lag-1 autocorrelation",
    "melody_loudest_share": "top note loudest in chords", "chord_spread_mean_ms": "onset spread in chords (ms)",
    "chord_spread_<5ms": "chords struck within 5 ms", "length_>=4.95s": "notes held 4.95 s or more",
    "length_at_cap": "notes held exactly 5 s (the cap)", "length_<0.05s": "notes under 50 ms",
}


def _label(feature: str) -> str:
    return FEATURE_LABELS.get(feature, feature.replace("_", " "))


def listener_tables(result: dict) -> dict[str, pd.DataFrame]:
    """The "can a listener tell?" part of a comparison (metrics.json's dict) as tables of text:
    ``tell`` (classifier accuracies), ``separating`` (what gives each model away), ``features``
    (medians of the new features), ``spread`` (single samples' texture) and ``stability``."""
    lst = result.get("listener")
    if not lst:
        return {}
    real, floor = lst["real"], lst["floor"]
    models = {m: d["listener"] for m, d in result["models"].items() if d.get("listener")}
    tell = [{"source": "real music of other compositions (floor)", "classifier accuracy (logistic)": _pm(floor["c2st"]["logistic"]),
             "gradient boosting": _pm(floor["c2st"]["boosting"]), "continuations: accuracy": "–",
             "continuations in the prompt's key": _pct(real.get("continuation_key_agreement")) + " (real)", "NLL of real continuation (nats/s)": "–"}]
    for m, d in models.items():
        c = d.get("continuation")
        tell.append({"source": m, "classifier accuracy (logistic)": _pm(d["c2st"]["logistic"]), "gradient boosting": _pm(d["c2st"]["boosting"]),
                     "continuations: accuracy": _pm(c["c2st"]["logistic"]) if c else "–",
                     "continuations in the prompt's key": _pct(c["key_agreement"]) if c else "–",
                     "NLL of real continuation (nats/s)": f"{c['nll_per_second']:.1f}" if c and c.get("nll_per_second") is not None else "–"})
    sep = [{"model": m, "feature": _label(f["feature"]), "AUC (0.5 = same)": f"{f['auc']:.2f}", "real median": _num(round(f["real_median"], 3)),
            "model median": _num(round(f["generated_median"], 3))} for m, d in models.items() for f in d["separating"][:3]]
    named = [("real (reference)", real), ("real (floor)", floor), *models.items()]
    feats = [{"source": n, **{_label(k): _num(round(v, 3)) for k, v in d["features"].items()}} for n, d in named]
    spread = []
    for n, d in named:
        sp = d["spread"]
        spread.append({"source": n, **{f"notes/s p{q}": f"{sp['notes/s'][f'p{q}']:.1f}" for q in (5, 50, 95)},
                       **{f"polyphony p{q}": f"{sp['polyphony'][f'p{q}']:.1f}" for q in (5, 50, 95)},
                       "below 3 notes/s": _pct(sp["sparse share"]), "outside real 5-95%": _pct(sp["outside real 5-95%"])})
    stab = [{"source": n, **{k: f"{v:.2f}" for k, v in d["stability"].items()}} for n, d in [("real (reference)", real), *models.items()] if d.get("stability")]
    return {"tell": pd.DataFrame(tell), "separating": pd.DataFrame(sep), "features": pd.DataFrame(feats), "spread": pd.DataFrame(spread),
            "stability": pd.DataFrame(stab)}


def markdown_table(df: pd.DataFrame) -> str:
    """A table of text cells as GitHub markdown (first column left-aligned, the rest right)."""
    cells = [[str(c) for c in df.columns]] + [[str(v) for v in r] for r in df.itertuples(index=False)]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "| --- |" + " ---: |" * (len(df.columns) - 1))
    return "\n".join(lines)


def _html_table(df: pd.DataFrame, elem_id: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in df.itertuples(index=False))
    ident = f' id="{elem_id}"' if elem_id else ""
    return f'<div style="overflow-x:auto"><table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _listener_html(result: dict | None, cfg: CompareConfig) -> str:
    tables = listener_tables(result) if result else {}
    if not tables:
        return ""
    return f"""<h2>Can a listener tell?</h2>
<p>A classifier two-sample test: logistic regression (and gradient boosting) on about 120 transposition-free features of
each {cfg.seconds:g} s segment learns to tell a model's samples ({cfg.listener_n} unseeded) from real {cfg.split}-split segments;
the number is its cross-validated accuracy (0.5 = it cannot tell; mean &plusmn; sd over {cfg.c2st_repeats} x 5 folds), with every
performance of one composition in one fold. The floor: as many real {cfg.ceiling_split}-split segments (other compositions)
scored the same way. Continuations: each model continues {cfg.continuations} held-out {cfg.prompt_seconds:g} s openings for
{cfg.seconds:g} s, judged against what the pianist really played next.</p>
{_html_table(tables["tell"], "listener")}
<h3>What gives each model away</h3><p>The features that tell its samples from real music best on their own (ROC AUC: 0.5 = no
difference, 1 = the model's are always higher, 0 = always lower).</p>{_html_table(tables["separating"], "separating")}
<h3>Repetition, dynamics, micro-timing, note lengths</h3><p>Medians per segment: recurring melodic, rhythmic and melodic+rhythmic
figures (share of n-grams that recur), chroma similarity 4 s apart and the harmonic return (best match 2-16 s back), velocity
change between successive notes, smoothness of chord loudness (lag-1 autocorrelation), top note loudest, onset spread inside
chords (ms; share under 5 ms), notes held 4.95 s or more and notes under 50 ms.</p>{_html_table(tables["features"], "new-features")}
<h3>One sample at a time</h3><p>Notes per second and polyphony across single samples (percentiles), the share below 3 notes/s
and the share outside real music's 5th-95th percentile range in either (the first row is real music's own share).</p>{_html_table(tables["spread"], "spread")}
{("<h3>Long pieces</h3><p>Over " + f"{cfg.long_seconds:g}" + " s in 10 s windows (medians): share of windows in the whole piece's key, share of adjacent windows that change key, variation of notes/s across windows, last window's notes/s over the first's.</p>" + _html_table(tables["stability"], "stability")) if len(tables["stability"]) else ""}"""


def _with_error(v: float, sd: float) -> str:
    """"mean ± sd" to the sd's second significant digit (9.6 ± 1.3, 0.888 ± 0.016): more digits
    than the spread supports say nothing."""
    import math

    decimals = min(4, max(0, 1 - math.floor(math.log10(sd))))
    return f"{v:,.{decimals}f} ± {sd:,.{decimals}f}"


def _num(v) -> str:
    """A number rounded for reading: 3 decimals below 10, 2 below 100, else 1; ints with commas."""
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    v = float(v)
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:,.3f}" if abs(v) < 10 else (f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}")


def _write_html(out: Path, table: pd.DataFrame, plots: dict, media: dict, details: dict, cfg: CompareConfig, real_media: list[str],
                listener: dict | None = None) -> None:
    from pianogen.io import atomic_path

    shown = display_table(table)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in r) + "</tr>" for r in shown.itertuples(index=False))
    hists = "".join(f'<img alt="{f}" src="{_png_data(p)}">' for f, p in plots.items())
    sections = []
    if real_media:
        items = "".join(
            f'<figure><img alt="real pianoroll" src="{_png_data(out / "media" / (s + ".png"))}"><audio controls preload="metadata" src="media/{s}.wav"></audio>'
            f'<figcaption><a href="media/{s}.mid">{s}.mid</a></figcaption></figure>' for s in real_media)
        sections.append(f"<h3>real music <small>({cfg.split} split, for reference)</small></h3>{items}")
    for name, stems in media.items():
        items = "".join(
            f'<figure><img alt="{name} pianoroll" src="{_png_data(out / "media" / (s + ".png"))}"><audio controls preload="metadata" src="media/{s}.wav"></audio>'
            f'<figcaption><a href="media/{s}.mid">{s}.mid</a></figcaption></figure>' for s in stems)
        d = details[name]
        gan = ""
        if d["musegan_metrics"]:
            gan = "<p>MuseGAN metrics of these samples: " + ", ".join(f"{k} {v:.2f}" for k, v in d["musegan_metrics"].items()) + "</p>"
        sections.append(f"<h3>{html.escape(name)} <small>({d['kind']})</small></h3>{items}{gan}<details><summary>training config</summary><pre>{html.escape(json.dumps(d['config'], indent=1))}</pre></details>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pianogen: model comparison</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}table{{border-collapse:collapse;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}th{{background:#f3f3f3}}td:first-child{{text-align:left}}
figure{{display:inline-block;margin:6px;vertical-align:top}}figure img{{width:560px;display:block}}audio{{width:560px}}img{{margin:2px}}</style></head>
<body><h1>pianogen: autoregressive models and MuseGAN, side by side</h1>
<p>{cfg.n} samples of {cfg.seconds:g} s per model (seeds {cfg.seed}..{cfg.seed + cfg.n - 1}; autoregressive models at the temperature,
top-p and time tilt in their columns: {"each model's measured best on validation, where recorded, else " if cfg.model_defaults else ""}{cfg.temperature} and {cfg.top_p}),
evaluated against real {cfg.split}-split segments of the same length (notes cut at the segment end, as samples are). Feature
columns are set means; OA is Yang &amp; Lerch's overlapping area with the real {cfg.split} set (1 = indistinguishable). Mean OA
covers every feature, histograms included. Every number is the mean &plusmn; sd over {cfg.groups} disjoint seed sets of
{cfg.n // cfg.groups} samples. The first row is the ceiling: {cfg.n} real {cfg.ceiling_split}-split segments drawn at random and
scored exactly like a model. NLL is on the split named beside it (lower is better).</p>
<div style="overflow-x:auto"><table id="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>
{_listener_html({"listener": listener, "models": details} if listener else None, cfg)}
<h2>Feature distributions</h2><div id="hists">{hists}</div>
<h2>Samples</h2>{''.join(sections)}
<h2>How this was made</h2><pre>python scripts/compare.py {' '.join(html.escape(details[m]['checkpoint']) for m in details)} --split {cfg.split} --n {cfg.n} --seconds {cfg.seconds:g} --seed {cfg.seed} --listener-n {cfg.listener_n} --continuations {cfg.continuations}</pre>
</body></html>"""
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
