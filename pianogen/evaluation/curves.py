"""Learning curves: where would two models' validation curves cross?

A run's report holds its validation NLL at each evaluation (``evals``: seconds, val_loss).
Fitting ``nll(t) = a + b * t**-c`` (t in minutes; ``a`` is the loss the run would approach with
unlimited time at its settings) to the part of each curve after warm-up and extrapolating both
says whether, and after how many minutes, the slower-starting model would overtake the other.
An extrapolation, not a measurement: it assumes each curve keeps its fitted shape (the same
learning-rate schedule stretched to the longer run), and says so where it is reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def tokens_per_step(report: dict[str, Any]) -> int:
    """Training tokens (events or notes) one optimizer step of a run saw, over all processes."""
    train = report["config"]["train"]
    return train["batch_size"] * train["seq_len"] * report.get("world_size", 1)


def validation_rate(report: dict[str, Any]) -> float | None:
    """Tokens per second of music of a run's whole validation split, from its final validation
    (None where that scored only a subset that fitted the time limit: a subset's pieces play at
    their own rate)."""
    val = (report.get("final") or {}).get("validation") or {}
    if val.get("subset") or not val.get("seconds"):
        return report.get("validation_rate")
    return val["tokens"] / val["seconds"]


def fill_validation_rates(reports: dict[str, dict[str, Any]]) -> None:
    """Give every report a ``validation_rate`` (tokens per second of its validation music, what
    turns nats per token into nats per second): its own, else one borrowed from a report over
    the same prepared folder and token kind that scored the whole split."""
    def key(r):
        return r.get("data", {}).get("dir"), r["config"].get("representation", {}).get("name")

    known = {key(r): validation_rate(r) for r in reports.values() if validation_rate(r)}
    for label, r in reports.items():
        rate = validation_rate(r) or known.get(key(r))
        if rate is None:
            raise ValueError(f"{label}: scored only part of its validation split, and no other run over {key(r)[0]} scored all of it")
        r["validation_rate"] = rate


def chain_reports(legs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One report for a run trained in legs, each continuing the last's weights (``--init``).

    ``legs``: (checkpoint stem, report) in training order; each later leg must have started
    from the previous leg's checkpoint (its ``config.init.checkpoint`` has that stem). The
    result's evaluations count seconds and steps from the first leg's start, each with the
    ``tokens`` seen so far (legs may differ in batch size); its ``final`` is the last leg's.
    """
    if not legs:
        raise ValueError("no legs to chain")
    evals, seconds, steps, tokens = [], 0.0, 0, 0
    for i, (name, report) in enumerate(legs):
        if i:
            grew_from = Path(((report["config"].get("init") or {}).get("checkpoint")) or "").stem
            if grew_from != legs[i - 1][0]:
                raise ValueError(f"{name}: did not start from {legs[i - 1][0]}'s weights (its --init was {grew_from or 'none'})")
        per_step = tokens_per_step(report)
        for e in report.get("evals", []):
            evals.append({**e, "seconds": seconds + e["seconds"], "step": steps + e["step"], "tokens": tokens + e["step"] * per_step})
        seconds += float(report["wall_seconds"])
        steps += int(report["steps"])
        tokens += int(report["steps"]) * per_step
    out = {**legs[-1][1], "evals": evals, "wall_seconds": seconds, "steps": steps, "legs": [name for name, _ in legs]}
    rates = [validation_rate(r) for _, r in legs]  # every leg scored the same split; some only part of it
    if any(rates):
        out["validation_rate"] = next(r for r in rates if r)
    return out


def run_name(spec: str | Path) -> str:
    """How a run given as ``NAME.json`` or ``A.json+B.json+...`` is named: its reports' stems."""
    return "+".join(Path(part).stem for part in str(spec).split("+"))


def read_run(spec: str | Path) -> dict[str, Any]:
    """A run's report from ``NAME.json``, or a run trained in legs from ``A.json+B.json+...``
    (each continuing the previous one: :func:`chain_reports`)."""
    legs = []
    for part in str(spec).split("+"):
        path = Path(part)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such run report")
        legs.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
    return with_tokens(legs[0][1]) if len(legs) == 1 else chain_reports(legs)


def with_tokens(report: dict[str, Any]) -> dict[str, Any]:
    """The report with the training ``tokens`` seen at each evaluation (as a chained run's
    carry them), so a plot draws every run against tokens the same way."""
    per_step = tokens_per_step(report)
    return {**report, "evals": [{"tokens": e["step"] * per_step, **e} for e in report.get("evals", [])]}


def eval_curve(report: dict[str, Any], on_full_split: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(minutes, validation NLL per token) of a run's evaluations.

    Runs evaluate on a fixed subset of the validation split (``eval_tokens``), and two runs'
    subsets differ in size and so in difficulty. With ``on_full_split`` (and a final
    full-split measurement in the report), the curve is shifted so its last point is the
    full-split number: the subset's bias is taken to be constant along the run."""
    ev = [e for e in report.get("evals", []) if e.get("val_loss") is not None]
    if len(ev) < 3:
        raise ValueError("a run needs at least 3 evaluations to fit its curve")
    minutes, nll = np.array([e["seconds"] / 60 for e in ev]), np.array([e["val_loss"] for e in ev])
    val = (report.get("final") or {}).get("validation", {})
    full = None if val.get("subset") else val.get("nll_per_token")  # a subset that fitted the time limit is not the split
    if on_full_split and full is not None:
        nll = nll + (full - nll[-1])
    return minutes, nll


def power_law_fit(minutes: np.ndarray, nll: np.ndarray, skip: float = 0.2) -> dict[str, float]:
    """Least-squares ``a + b * t**-c`` over the curve after its first ``skip`` share of minutes
    (warm-up is not the law); c on a grid, a and b exactly for each c. Returns a, b, c and the
    root-mean-square residual (nats)."""
    keep = minutes >= skip * minutes.max()
    t, y = minutes[keep], nll[keep]
    if len(t) < 3:
        raise ValueError("too few evaluations after warm-up to fit")
    best = None
    for c in np.linspace(0.05, 2.0, 391):
        X = np.stack([np.ones_like(t), t ** -c], 1)
        (a, b), *_ = np.linalg.lstsq(X, y, rcond=None)
        rms = float(np.sqrt(np.mean((X @ np.array([a, b]) - y) ** 2)))
        if best is None or rms < best["rms"]:
            best = {"a": float(a), "b": float(b), "c": float(c), "rms": rms}
    return best


def predict(fit: dict[str, float], minutes) -> np.ndarray:
    return fit["a"] + fit["b"] * np.asarray(minutes, dtype=float) ** -fit["c"]


def crossing(challenger: dict[str, float], leader: dict[str, float], start: float, horizon: float = 100_000.0) -> float | None:
    """First minute after ``start`` at which ``challenger``'s fitted curve falls below
    ``leader``'s, or None if it does not within ``horizon`` minutes."""
    grid = np.geomspace(max(start, 1e-3), horizon, 4000)
    below = predict(challenger, grid) < predict(leader, grid)
    return float(grid[np.argmax(below)]) if below.any() else None
