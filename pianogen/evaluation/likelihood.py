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

import torch


def checkpoint_nll(checkpoint: str | os.PathLike, data_dir: str | os.PathLike, split: str = "test", device: str = "cpu", progress: bool = False,
                   int8: bool = False) -> dict[str, Any]:
    """{nll_per_token, nll_per_second, tokens, seconds, pieces} of ``checkpoint`` on a split.

    Whole pieces, unaugmented, the model's state carried across chunks; seconds are the
    pieces' durations from ``pieces.parquet``. ValueError if the split has no notes. ``int8``:
    of the model with the int8 weights it samples with on a CPU (see ``pianogen.models.int8``).
    """
    from pianogen.checkpoints import CheckpointError, load_model
    from pianogen.data import load_notes, load_pieces
    from pianogen.representations.codecs import codec_from_dict
    from pianogen.training.autoregressive import encode_pieces, sequence_nll
    from pianogen.models import NOTE_KINDS

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
    model.eval()
    with torch.inference_mode():
        total, count = sequence_nll(model, ckpt["kind"], encode_pieces(notes, codec), torch.device(device),
                                    desc=f"{Path(checkpoint).stem} on {split}" if progress else None)
    return {"checkpoint": str(checkpoint), "data": str(data_dir), "split": split, "nll_per_token": total / count,
            "nll_per_second": total / seconds, "tokens": count, "seconds": round(seconds, 2), "pieces": len(ids),
            "token": "note" if ckpt["kind"] in NOTE_KINDS else "event", "corpus": Path(data_dir).name, **({"weights": "int8"} if int8 else {})}


def record_evaluation(checkpoint: str | os.PathLike, result: dict[str, Any]) -> Path:
    """Add ``result`` to the checkpoint's NAME.json under "evaluations" (one entry per data
    folder and split, replaced in place when measured again; not rewritten when nothing
    changed); written atomically. Returns the path."""
    from pianogen.checkpoints import read_report, update_report

    from pianogen.checkpoints import report_path

    entry = {k: v for k, v in result.items() if k != "checkpoint"}
    evaluations = list(read_report(checkpoint).get("evaluations", []))
    same = [i for i, e in enumerate(evaluations) if (e.get("data"), e.get("split")) == (entry["data"], entry["split"])]
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
        if e.get("corpus") == "maestro-mini" and e.get("split") == "test":
            return "maestro-mini test", e
    if "nll_per_second" in final.get("test", {}):
        return "test", final["test"]
    if "nll_per_second" in final.get("validation", {}):
        return "validation", final["validation"]
    return None
