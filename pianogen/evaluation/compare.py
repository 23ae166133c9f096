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

from pianogen.evaluation import reference_features, set_summary
from pianogen.evaluation.distributions import compare_sets
from pianogen.evaluation.features import HIST_FEATURES, SCALAR_FEATURES, piece_features

SUMMARY_FEATURES = ("notes_per_second", "polyphony", "pitch_class_entropy", "scale_consistency", "silence_ratio", "velocity_mean")


@dataclass
class CompareConfig:
    n: int = 8  # samples per model
    seconds: float = 30.0  # length of each sample
    seed: int = 0  # sample i uses seed + i
    temperature: float = 1.0
    top_p: float = 0.95
    audio: int = 2  # samples per model with audio in the page
    sample_rate: int = 22050  # audio in the report (smaller files)
    split: str = "test"


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
        return kind, [r.notes[0] for r in results], extra
    from pianogen.sampling import load_sampler, sample

    s = load_sampler(ck)
    out = [sample(s, seconds=cfg.seconds, temperature=cfg.temperature, top_p=cfg.top_p, seed=cfg.seed + i) for i in range(cfg.n)]
    return kind, out, {}


def _report_json(ck: Path) -> dict:
    p = ck.with_suffix(".json")
    return json.loads(p.read_text()) if p.is_file() else {}


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
    ceiling = reference_features(data_dir, "train", cfg.seconds)
    names = SCALAR_FEATURES + HIST_FEATURES
    rows = [{"model": f"real ({cfg.split} split)", "kind": "data", **{f: set_summary(ref)[f]["mean"] for f in SUMMARY_FEATURES},
             **{f"OA {f}": v["oa"] for f, v in compare_sets(ceiling, ref, SUMMARY_FEATURES).items()}, "mean OA": float(np.mean([v["oa"] for v in compare_sets(ceiling, ref, names).values()]))}]
    details, model_feats, media = {}, {}, {}
    for ck in tqdm([Path(c) for c in checkpoints], desc="compare", unit="model", disable=not progress):
        name = ck.stem
        kind, samples, extra = _model_samples(ck, cfg)
        feats = [piece_features(s) for s in samples if len(s) > 0]
        if len(feats) < 2:
            raise ValueError(f"{ck}: fewer than 2 of its {cfg.n} samples have notes")
        vs = compare_sets(feats, ref, names)
        report = _report_json(ck)
        final = report.get("final", {})
        row = {
            "model": name, "kind": kind,
            **{f: set_summary(feats)[f]["mean"] for f in SUMMARY_FEATURES},
            **{f"OA {f}": vs[f]["oa"] for f in SUMMARY_FEATURES},
            "mean OA": float(np.mean([v["oa"] for v in vs.values()])),
            "test NLL nats/s": final.get("test", {}).get("nll_per_second"),
            "steps": report.get("steps"), "train minutes": round(report["wall_seconds"] / 60, 1) if "wall_seconds" in report else None,
            "parameters": sum(report.get("parameters", {}).values()) or None,
        }
        rows.append(row)
        details[name] = {"kind": kind, "checkpoint": str(ck), "vs_reference": vs, "summary": set_summary(feats), "musegan_metrics": extra or None,
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
    plots = {f: _hist_plot(f, [r[f] for r in ref], {m: [x[f] for x in fs] for m, fs in model_feats.items()}, out / "media" / f"hist_{f}.png") for f in SUMMARY_FEATURES}
    table = pd.DataFrame(rows)
    from pianogen.io import atomic_path

    with atomic_path(out / "metrics.csv") as tmp:
        table.to_csv(tmp, index=False)
    result = {"config": asdict(cfg), "checkpoints": [str(c) for c in checkpoints], "data": str(data_dir), "table": rows, "models": details,
              "reference_segments": len(ref), "seconds_taken": round(time.perf_counter() - t0, 1)}
    write_json(out / "metrics.json", result)
    _write_html(out, table, plots, media, details, cfg)
    return result


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "&ndash;"
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    if isinstance(v, (int, np.integer)):
        return f"{v:,}"
    return html.escape(str(v))


def _write_html(out: Path, table: pd.DataFrame, plots: dict, media: dict, details: dict, cfg: CompareConfig) -> None:
    from pianogen.io import atomic_path

    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r) + "</tr>" for r in table.itertuples(index=False))
    hists = "".join(f'<img alt="{f}" src="{_png_data(p)}">' for f, p in plots.items())
    sections = []
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
<p>{cfg.n} samples of {cfg.seconds:g} s per model (seeds {cfg.seed}..{cfg.seed + cfg.n - 1}, temperature {cfg.temperature}, top-p {cfg.top_p}),
evaluated against {cfg.split}-split segments of the same length. Feature columns are set means; OA is Yang &amp; Lerch's overlapping
area with the real {cfg.split} set (1 = indistinguishable; the real row scores real train music, the ceiling). Mean OA covers every
feature, histograms included.</p>
<div style="overflow-x:auto"><table id="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>
<h2>Feature distributions</h2><div id="hists">{hists}</div>
<h2>Samples</h2>{''.join(sections)}
<h2>How this was made</h2><pre>python scripts/compare.py {' '.join(html.escape(details[m]['checkpoint']) for m in details)} --n {cfg.n} --seconds {cfg.seconds:g} --seed {cfg.seed}</pre>
</body></html>"""
    with atomic_path(out / "index.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
