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
    split: str = "test"
    ceiling_split: str = "train"  # real music scored like a model (matched size, several draws)


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


def _model_samples(ck: Path, cfg: CompareConfig) -> tuple[str, list[pd.DataFrame], dict]:
    """(kind, samples, extra metrics) for one checkpoint."""
    from pianogen.checkpoints import load

    kind = load(ck)["kind"]
    if kind == "musegan":
        from pianogen.metrics.musegan import musegan_metrics
        from pianogen.sampling import load_gan, sample_gan

        g = load_gan(ck)
        bars = max(1, int(round(cfg.seconds / g.roll_cfg.bar_seconds)))
        results = [sample_gan(g, seed=cfg.seed + i, bars=bars) for i in range(cfg.n)]
        rolls = np.concatenate([r.rolls for r in results])
        extra = musegan_metrics(rolls, g.roll_cfg.tracks, g.roll_cfg.low)
        return kind, [r.notes[0] for r in results], {"musegan_metrics": extra}
    from pianogen.sampling import load_sampler, sample

    s = load_sampler(ck)
    t, p = sampling_setting(ck, cfg)
    tilt = s.default_tilt if cfg.model_defaults else 0.0  # the tilt belongs to the measured defaults
    out = [sample(s, seconds=cfg.seconds, temperature=t, top_p=p, seed=cfg.seed + i, density=tilt) for i in range(cfg.n)]
    return kind, out, {"temperature": t, "top_p": p, "tilt": tilt}


def sampling_setting(ck: Path, cfg: CompareConfig) -> tuple[float, float]:
    """(temperature, top-p) to sample ``ck`` with: its measured defaults when asked and known."""
    from pianogen.evaluation.tuning import sampling_defaults

    return (sampling_defaults(read_report(ck)) if cfg.model_defaults else None) or (cfg.temperature, cfg.top_p)


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

    from pianogen.audio import render
    from pianogen.data import write_midi
    from pianogen.io import write_json
    from pianogen.plots import pianoroll_png
    from pianogen.representations.pianoroll import TRACK_NAMES

    cfg = cfg or CompareConfig()
    t0 = time.perf_counter()
    out = Path(out)
    (out / "media").mkdir(parents=True, exist_ok=True)
    ref = reference_features(data_dir, cfg.split, cfg.seconds)
    pool = reference_features(data_dir, cfg.ceiling_split, cfg.seconds)
    need = cfg.n // cfg.groups * cfg.groups
    if len(pool) < need:
        raise ValueError(f"{data_dir}: {len(pool)} {cfg.ceiling_split} segments, fewer than the {need} the real-music ceiling draws")
    # The ceiling: real segments drawn at random (fixed seed), as many as each model's samples,
    # scored exactly like a model.
    ceiling = [pool[i] for i in np.random.default_rng(cfg.seed).choice(len(pool), need, replace=False)]
    rows = [_row(f"real ({cfg.ceiling_split} split)", "data", grouped_scores(ceiling, ref, cfg.groups))]
    details, model_feats, media = {}, {}, {}
    copy_refs: dict = {}  # corpus -> its copy-check index, for the real reference row
    for ck in tqdm([Path(c) for c in checkpoints], desc="compare", unit="model", disable=not progress):
        name = ck.stem
        kind, samples, extra = _model_samples(ck, cfg)
        feats = [piece_features(s) for s in samples if len(s) > 0]
        if len(feats) < need:
            raise ValueError(f"{ck}: only {len(feats)} of its {cfg.n} samples have notes")
        scores = grouped_scores(feats[:need], ref, cfg.groups)
        report = read_report(ck)
        row = _row(name, kind, scores)
        nll = reported_nll(report)
        row.update({
            "NLL split": nll[0] if nll else None,
            "NLL nats/token": nll[1]["nll_per_token"] if nll else None,
            "NLL nats/s": nll[1]["nll_per_second"] if nll else None,
            "temperature": extra.get("temperature"), "top-p": extra.get("top_p"), "tilt": extra.get("tilt"),
            "steps": report.get("steps"), "train minutes": round(report["wall_seconds"] / 60, 1) if "wall_seconds" in report else None,
            "parameters": sum(report.get("parameters", {}).values()) or None,
        })
        index_file, corpus = PassageIndex.path_for(ck), trained_corpus(report)
        if index_file.is_file():
            if corpus not in copy_refs:  # each corpus's index loads once, however many models learned from it
                copy_refs[corpus] = PassageIndex.load(index_file)
            index = copy_refs[corpus]
            shared = [index.longest(x).notes for x in samples[:need]]
            row.update({"shared passage notes (median)": float(np.median(shared)), "shared passage notes (max)": int(max(shared)),
                        "copy-check corpus": corpus})
        rows.append(row)
        vs = compare_sets(feats[:need], ref, SCALAR_FEATURES + HIST_FEATURES)
        details[name] = {"kind": kind, "checkpoint": str(ck), "vs_reference": vs, "summary": set_summary(feats), "musegan_metrics": extra.get("musegan_metrics"), "sampling": {k: extra[k] for k in ("temperature", "top_p", "tilt") if k in extra} or None,
                         "config": report.get("config"), "wall_seconds": report.get("wall_seconds")}
        model_feats[name] = feats
        media[name] = []
        track_names = TRACK_NAMES["voices"] if kind == "musegan" else None
        for i, s in enumerate(samples[: cfg.audio]):
            if len(s) == 0:
                continue
            stem = out / "media" / f"{name}_{i}"
            write_midi(s, stem.with_suffix(".mid"))
            render(s, stem.with_suffix(".wav"), sample_rate=cfg.sample_rate)
            pianoroll_png(s, stem.with_suffix(".png"), title=f"{name}, seed {cfg.seed + i}", track_names=track_names, width=8, height=2.8)
            media[name].append(stem.name)
    # Real music to listen to beside the models: reference segments drawn with the same seed.
    real_pool = reference_segments(data_dir, cfg.split, cfg.seconds)
    real_media = []
    for i, j in enumerate(np.random.default_rng(cfg.seed).choice(len(real_pool), min(cfg.audio, len(real_pool)), replace=False)):
        stem = out / "media" / f"real_{i}"
        write_midi(real_pool[j], stem.with_suffix(".mid"))
        render(real_pool[j], stem.with_suffix(".wav"), sample_rate=cfg.sample_rate)
        pianoroll_png(real_pool[j], stem.with_suffix(".png"), title=f"real music ({cfg.split} split)", width=8, height=2.8)
        real_media.append(stem.name)
    if copy_refs:
        # What real, unseen music shares with a training corpus by chance: the reference row.
        corpus, index = next(iter(copy_refs.items()))
        real_segments = reference_segments(data_dir, cfg.split, cfg.seconds)[:need]
        shared = [index.longest(x).notes for x in real_segments]
        rows.append({"model": f"real ({cfg.split} split) vs {corpus}", "kind": "data", "shared passage notes (median)": float(np.median(shared)),
                     "shared passage notes (max)": int(max(shared)), "copy-check corpus": corpus})
    plots = {f: _hist_plot(f, [r[f] for r in ref], {m: [x[f] for x in fs] for m, fs in model_feats.items()}, out / "media" / f"hist_{f}.png") for f in SUMMARY_FEATURES}
    table = pd.DataFrame(rows)
    from pianogen.io import atomic_path

    with atomic_path(out / "metrics.csv") as tmp:
        table.to_csv(tmp, index=False)
    result = {"config": asdict(cfg), "checkpoints": [str(c) for c in checkpoints], "data": str(data_dir), "table": rows, "models": details,
              "reference_segments": len(ref), "media": {"real": real_media, **media}, "seconds_taken": round(time.perf_counter() - t0, 1)}
    write_json(out / "metrics.json", result)
    _write_html(out, table, plots, media, details, cfg, real_media)
    return result


COLUMN_LABELS = {
    "notes_per_second": "notes/s", "polyphony": "polyphony (keys)", "long_note_share": "note-time in notes > 5 s",
    "pitch_class_entropy": "pitch-class entropy (bits)", "scale_consistency": "scale consistency", "silence_ratio": "silence",
    "velocity_mean": "mean velocity", "mean OA": "mean OA", "NLL nats/token": "NLL (nats/token)", "NLL nats/s": "NLL (nats/s)",
}


def display_table(table: pd.DataFrame, oa_columns: bool = False) -> pd.DataFrame:
    """The table as people read it (plain text cells): readable headers with units, "mean ± sd"
    cells, sensible rounding; per-feature OA columns only if asked (mean OA summarizes them)."""
    out = pd.DataFrame({"model": table["model"]})
    for c in table.columns:
        if c in ("model", "kind") or c.endswith(" sd") or (c.startswith("OA ") and not oa_columns):
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
            else:
                cells.append(_num(v) + (f" ± {_num(sd.iloc[i])}" if sd is not None and not np.isnan(sd.iloc[i]) else ""))
        out[label] = cells
    return out


def _num(v) -> str:
    """A number rounded for reading: 3 decimals below 10, 2 below 100, else 1; ints with commas."""
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    v = float(v)
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:,.3f}" if abs(v) < 10 else (f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}")


def _write_html(out: Path, table: pd.DataFrame, plots: dict, media: dict, details: dict, cfg: CompareConfig, real_media: list[str]) -> None:
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
<h2>Feature distributions</h2><div id="hists">{hists}</div>
<h2>Samples</h2>{''.join(sections)}
<h2>How this was made</h2><pre>python scripts/compare.py {' '.join(html.escape(details[m]['checkpoint']) for m in details)} --n {cfg.n} --seconds {cfg.seconds:g} --seed {cfg.seed}</pre>
</body></html>"""
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
