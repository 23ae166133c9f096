"""Held-out likelihood of an autoregressive checkpoint on any prepared folder and split.

NLL in nats per token (event or note) and per second of music, the same numbers training
reports for its own validation/test splits, so a model trained on one corpus can be scored
on another (the 75 h corpus holds its test split back; ``data/maestro-mini``'s test split is
the small public benchmark).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _scored(checkpoint, data_dir, split: str, device: str, progress: bool, int8: bool):
    """Per-token NLL of a checkpoint on a split: (per-piece (T, fields) nats, per-piece tokens,
    codec, checkpoint dict, seconds of music, pieces)."""
    from pianogen.checkpoints import CheckpointError, load_model
    from pianogen.data import load_notes, load_pieces
    from pianogen.representations.codecs import codec_from_dict
    from pianogen.training.autoregressive import encode_pieces, token_nll

    model, ckpt = load_model(checkpoint, device)
    if ckpt["kind"] == "musegan":
        raise CheckpointError(f"{checkpoint}: MuseGAN has no likelihood (use scripts/compare.py)")
    if int8:
        from pianogen.models.int8 import int8_for_cpu

        model = int8_for_cpu(model.eval())
    notes = load_notes(data_dir, split)
    if len(notes) == 0:
        raise ValueError(f"{data_dir}: the {split} split has no notes")
    pieces = load_pieces(data_dir)
    ids = set(notes["piece_id"].unique())
    seconds = float(pieces.loc[pieces["piece_id"].isin(ids), "duration"].sum())
    codec = codec_from_dict(ckpt["representation"])
    tokens = encode_pieces(notes, codec)
    model.eval()
    with torch.inference_mode():
        nll = token_nll(model, ckpt["kind"], tokens, torch.device(device), desc=f"{Path(checkpoint).stem} on {split}" if progress else None)
    return nll, tokens, codec, ckpt, seconds, len(ids)


def checkpoint_nll(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "test", device: str = "cpu", progress: bool = False,
                   int8: bool = False, motif_memory: bool = False) -> dict[str, Any]:
    """{nll_per_token, nll_per_second, tokens, seconds, pieces} of ``checkpoint`` on a split.

    Whole pieces, unaugmented, the model's state carried across chunks; seconds are the
    pieces' durations from ``pieces.parquet``. ValueError if the split has no notes. ``int8``:
    of the model with the int8 weights it samples with on a CPU (see ``pianogen.models.int8``).
    ``motif_memory``: of the model mixed with its fitted motif memory
    (:mod:`pianogen.sampling.motif_memory`; ValueError if none was fitted).
    """
    from pianogen.models import NOTE_KINDS

    recorded = None
    if motif_memory:  # looked up first: a checkpoint without one is refused before it is scored
        from pianogen.sampling.motif_memory import recorded_memory

        recorded = recorded_memory(checkpoint)
        if recorded is None:
            raise ValueError(f"{checkpoint}: no motif memory fitted (scripts/fit_motif_memory.py)")
    nll, tokens, codec, ckpt, seconds, n_pieces = _scored(checkpoint, data_dir, split, device, progress, int8)
    extra: dict[str, Any] = {"weights": "int8"} if int8 else {}
    if recorded is not None:
        nll = _memory_nll(nll, tokens, codec, recorded[0])
        extra["motif_memory"] = True
    total, count = float(sum(p[1:].sum() for p in nll)), sum(len(p) - 1 for p in nll)
    return {"checkpoint": str(checkpoint), "data": str(data_dir), "split": split, "nll_per_token": total / count,
            "nll_per_second": total / seconds, "tokens": count, "seconds": round(seconds, 2), "pieces": n_pieces,
            "token": "note" if ckpt["kind"] in NOTE_KINDS else "event", "corpus": Path(data_dir).name, **extra}


def _memory_rows(nll: list[np.ndarray], tokens: list[np.ndarray], codec, cfg):
    """Every scored note of every piece as rows: (model log-probs of the targets, targets,
    proposals, match lengths), and the codec's seconds per step bin."""
    from pianogen.sampling.motif_memory import proposals

    step_seconds = codec.config.step_grid.values
    found = [proposals(t, cfg, step_seconds) for t in tokens]
    cat = lambda parts: np.concatenate([p[1:] for p in parts])  # noqa: E731  (row 0 is never a target)
    return -cat(nll), cat(tokens), cat([f[0] for f in found]), cat([f[1] for f in found]), step_seconds


def _memory_nll(nll: list[np.ndarray], tokens: list[np.ndarray], codec, cfg) -> list[np.ndarray]:
    """Per-piece NLL as :func:`_scored` gives it, of the model mixed with the motif memory."""
    from pianogen.sampling.motif_memory import mixture_nll

    logp, target, prop, length, step_seconds = _memory_rows(nll, tokens, codec, cfg)
    mixed = mixture_nll(logp, target, prop, length, cfg, step_seconds)
    out, at = [], 0
    for p in nll:
        out.append(np.vstack([np.zeros((1, p.shape[1])), mixed[at : at + len(p) - 1]]))
        at += len(p) - 1
    return out


def fit_motif_memory(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "validation-tuning", device: str = "cpu",
                     progress: bool = False) -> dict[str, Any]:
    """Fit a note model's motif-memory weights by likelihood on a split (the tuning half: the
    reporting half then measures them). Returns {config, data, split, nll_per_token (model
    alone, mixed), nll_per_second (same), proposed (share of notes with a proposal)}."""
    from pianogen.models import NOTE_KINDS
    from pianogen.sampling.motif_memory import MemoryConfig, fit_weights, mixture_nll

    nll, tokens, codec, ckpt, seconds, _ = _scored(checkpoint, data_dir, split, device, progress, False)
    if ckpt["kind"] not in NOTE_KINDS:
        raise ValueError(f"{checkpoint}: motif memory works on note models ({', '.join(NOTE_KINDS)}), not {ckpt['kind']}")
    base = MemoryConfig()
    logp, target, prop, length, step_seconds = _memory_rows(nll, tokens, codec, base)
    weights = fit_weights(logp, target, prop, length, base, step_seconds)
    cfg = base.with_weights(weights)
    before, after = float(-logp.sum()), float(mixture_nll(logp, target, prop, length, cfg, step_seconds).sum())
    return {"config": cfg.to_dict(), "data": str(data_dir), "split": split, "notes": len(target),
            "nll_per_token": [before / len(target), after / len(target)], "nll_per_second": [before / seconds, after / seconds],
            "proposed": float((prop[:, 0] >= 0).mean())}


def record_evaluation(checkpoint: str | os.PathLike, result: dict[str, Any]) -> Path:
    """Add ``result`` to the checkpoint's NAME.json under "evaluations" (one entry per data
    folder, split and motif memory on or off, replaced in place when measured again; not rewritten when nothing
    changed); written atomically. Returns the path."""
    from pianogen.checkpoints import read_report, update_report

    from pianogen.checkpoints import report_path

    entry = {k: v for k, v in result.items() if k != "checkpoint"}
    evaluations = list(read_report(checkpoint).get("evaluations", []))
    key = lambda e: (e.get("data"), e.get("split"), e.get("motif_memory", False))  # noqa: E731
    same = [i for i, e in enumerate(evaluations) if key(e) == key(entry)]
    if same and evaluations[same[0]] == entry:
        return report_path(checkpoint)  # measured again, the same: the file stays as it is
    if same:
        evaluations[same[0]] = entry  # in its place, so a re-measurement changes only its own lines
    else:
        evaluations.append(entry)
    return update_report(checkpoint, evaluations=evaluations)


def reported_nll(report: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The number a checkpoint is ranked by: NLL on the bundled mini test split when measured
    (training's own test, or a recorded evaluation), else its validation NLL.
    Returns (description, {nll_per_token, nll_per_second, ...}) or None."""
    final = report.get("final", {})
    for e in report.get("evaluations", []):
        # The network's own likelihood: what every model is ranked by (a motif memory is not
        # something the event models could have).
        if e.get("corpus") == "maestro-mini" and e.get("split") == "test" and not e.get("motif_memory"):
            return "maestro-mini test", e
    if "nll_per_second" in final.get("test", {}):
        return "test", final["test"]
    if "nll_per_second" in final.get("validation", {}):
        return "validation", final["validation"]
    return None
