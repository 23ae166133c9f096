"""Checkpoint files: one format for every model.

``NAME.pt`` holds a dict loadable with ``torch.load(weights_only=True)``::

    {"format": "pianogen-checkpoint", "version": 1, "kind": "note-rnn" | "perf-rnn" | ...,
     "model_config": {...}, "representation": {"name": ..., "config": {...}},
     "state_dict": {...}, "meta": {...}}

Training state for ``--resume`` (optimizer, RNG states, step) lives in ``NAME.state.pt``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pianogen.io import atomic_path

FORMAT = "pianogen-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A file is not a readable pianogen checkpoint; the message says which and why."""


def save(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write a checkpoint dict atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **payload}, tmp)
    return Path(path)


def load(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and check a checkpoint with ``weights_only=True`` (no code runs on load)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle/zip errors differ by what the file really is
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a pianogen checkpoint (torch.load failed: {reason})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a pianogen checkpoint (no '{FORMAT}' marker)")
    if ckpt.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: checkpoint version {ckpt['version']} is newer than this pianogen ({VERSION})")
    missing = {"kind", "model_config", "state_dict"} - set(ckpt)
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {sorted(missing)}")
    return ckpt


def load_weights(model: torch.nn.Module, path: str | os.PathLike, ckpt: dict | None = None, grow: bool = False) -> list[str]:
    """Copy a checkpoint's weights into ``model`` (fine-tuning); returns the names of the
    parameters the checkpoint lacks, which keep their initial values (a new density embedding
    starts at zero). Weights the model has no place for, or of another shape, are an error.
    With ``grow``, a tensor that grew along some dimensions (a layer given new output or input
    channels at the end) takes the checkpoint's values in its leading part and keeps its initial
    values in the rest; its name is returned too.
    ``ckpt``: the checkpoint at ``path`` if already loaded (read once, not twice)."""
    ckpt = ckpt if ckpt is not None else load(path)
    state, grown = dict(ckpt["state_dict"]), []
    if grow:
        own = model.state_dict()
        for k, old in state.items():
            new = own.get(k)
            if new is not None and new.dim() == old.dim() and new.shape != old.shape and all(a >= b for a, b in zip(new.shape, old.shape)):
                merged = new.clone()
                merged[tuple(slice(0, n) for n in old.shape)] = old
                state[k], grown = merged, grown + [k]
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        lines = str(exc).splitlines()  # torch's first line is a header; the second names the tensor
        raise CheckpointError(f"{path}: weights do not fit this model ({lines[min(1, len(lines) - 1)].strip()[:160]})") from None
    if unexpected:
        raise CheckpointError(f"{path}: weights this model has no place for: {sorted(unexpected)[:4]}")
    return sorted(missing + grown)


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu"):
    """(model in eval mode on ``map_location``, checkpoint dict) from a checkpoint file."""
    from pianogen.models import build_model

    ckpt = load(path, map_location)
    try:
        model = build_model(ckpt["kind"], ckpt["model_config"])
        model.load_state_dict(ckpt["state_dict"])
    except (ValueError, RuntimeError, TypeError) as exc:
        raise CheckpointError(f"{path}: checkpoint does not match its model ({str(exc).splitlines()[0][:160]})") from None
    return model.to(map_location).eval(), ckpt


def report_path(checkpoint: str | os.PathLike) -> Path:
    """NAME.json beside NAME.pt: the training report, recorded evaluations, sampling defaults."""
    return Path(checkpoint).with_suffix(".json")


def read_report(checkpoint: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint's NAME.json as a dict ({} when there is none)."""
    import json

    p = report_path(checkpoint)
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def update_report(checkpoint: str | os.PathLike, **fields: Any) -> Path:
    """Set top-level ``fields`` in NAME.json, written atomically; returns its path."""
    from pianogen.io import write_json

    report = read_report(checkpoint)
    report.update(fields)
    write_json(report_path(checkpoint), report)
    return report_path(checkpoint)


def trained_corpus(report: dict[str, Any]) -> str:
    """The name of the corpus a run learned from (e.g. ``asap-performances``), from its report."""
    where = report.get("final", {}).get("corpus") or report.get("data", {}).get("corpus") or report.get("data", {}).get("dir") or ""
    return Path(str(where)).name


# --- recorded sampling settings (measured by pianogen.evaluation.tuning, read here) ------


#: (temperature, top-p) for a checkpoint whose sampling was never tuned: its plain distribution,
#: cut only in the 5% tail that makes a rare wild event.
UNTUNED = (1.0, 0.95)


def sampling_defaults(report: dict[str, Any]) -> tuple[float, float] | None:
    """(temperature, top-p) recorded in a checkpoint's report by ``--record``, or None."""
    d = report.get("sampling_defaults")
    return (float(d["temperature"]), float(d["top_p"])) if d else None


def sampling_setting(report: dict[str, Any]) -> tuple[float, float]:
    """(temperature, top-p) to sample a checkpoint with: its recorded defaults, else :data:`UNTUNED`."""
    return sampling_defaults(report) or UNTUNED


def pitch_temperature_ratio(report: dict[str, Any]) -> float:
    """The recorded defaults' pitch-field temperature over their temperature (1 if none: every
    field alike). A ratio, so a request at another temperature keeps the pitch field as much cooler."""
    d = report.get("sampling_defaults") or {}
    t, pt = float(d.get("temperature", 1.0)), d.get("pitch_temperature")
    return 1.0 if pt is None or t == 0 else float(pt) / t


def default_tilt(report: dict[str, Any]) -> float:
    """The time tilt (per second) recorded with a checkpoint's sampling defaults, 0 if none."""
    return float((report.get("sampling_defaults") or {}).get("tilt", 0.0))
