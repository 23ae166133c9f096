"""Learning-curve fits and crossings (pianogen.evaluation.curves)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pianogen.evaluation.curves import chain_reports, crossing, eval_curve, fill_validation_rates, power_law_fit, predict, read_run, run_name

ROOT = Path(__file__).resolve().parents[1]


def test_fit_recovers_a_known_power_law():
    t = np.linspace(2, 90, 40)
    y = 2.1 + 2.5 * t ** -0.7
    f = power_law_fit(t, y)
    assert f["a"] == pytest.approx(2.1, abs=0.01) and f["c"] == pytest.approx(0.7, abs=0.01) and f["rms"] < 1e-3
    assert float(predict(f, 1000)) == pytest.approx(2.1 + 2.5 * 1000 ** -0.7, abs=0.005)


def test_crossing_of_a_slow_starter_with_a_lower_floor():
    leader = {"a": 2.2, "b": 2.0, "c": 0.7, "rms": 0.0}
    challenger = {"a": 1.8, "b": 6.0, "c": 0.7, "rms": 0.0}
    x = crossing(challenger, leader, start=10)
    # 1.8 + 6 t^-0.7 = 2.2 + 2 t^-0.7  ->  t^-0.7 = 0.1  ->  t = 10^(1/0.7)
    assert x == pytest.approx(10 ** (1 / 0.7), rel=0.01)
    assert crossing(leader, challenger, start=x * 1.01) is None  # once behind for good, never again


def test_eval_curve_reads_a_report_and_needs_three_points():
    report = {"evals": [{"seconds": 60, "val_loss": 3.0}, {"seconds": 120, "val_loss": 2.8}, {"seconds": 180, "val_loss": 2.7}]}
    m, y = eval_curve(report)
    assert m.tolist() == [1.0, 2.0, 3.0] and y.tolist() == [3.0, 2.8, 2.7]
    with pytest.raises(ValueError, match="3 evaluations"):
        eval_curve({"evals": report["evals"][:2]})


def test_eval_curve_moves_onto_the_full_split():
    report = {"evals": [{"seconds": 60, "val_loss": 3.0}, {"seconds": 120, "val_loss": 2.8}, {"seconds": 180, "val_loss": 2.7}],
              "final": {"validation": {"nll_per_token": 2.6}}}
    assert eval_curve(report)[1] == pytest.approx([2.9, 2.7, 2.6])
    assert eval_curve(report, on_full_split=False)[1].tolist() == [3.0, 2.8, 2.7]
    report["final"]["validation"]["subset"] = True  # what fitted the time limit is not the split: nothing to move onto
    assert eval_curve(report)[1].tolist() == [3.0, 2.8, 2.7]


def test_a_run_scored_on_a_subset_borrows_the_whole_splits_rate():
    def report(data, rep, val):
        return {"data": {"dir": data}, "config": {"representation": {"name": rep}}, "final": {"validation": val}}

    full = report("asap", "note-tuples", {"tokens": 1100, "seconds": 100.0})
    part = report("asap", "note-tuples", {"tokens": 90, "seconds": 10.0, "subset": True})
    events = report("asap", "performance", {"tokens": 500, "seconds": 10.0, "subset": True})
    reports = {"full": full, "part": part}
    fill_validation_rates(reports)
    assert reports["part"]["validation_rate"] == reports["full"]["validation_rate"] == 11.0
    with pytest.raises(ValueError, match="events: scored only part"):
        fill_validation_rates({"full": full, "events": events})  # another token kind has another rate


def _leg(evals, wall, steps, init=None, batch=16):
    config = {"train": {"batch_size": batch, "seq_len": 512}}
    if init:
        config["init"] = {"checkpoint": init}
    return {"config": config, "evals": evals, "wall_seconds": wall, "steps": steps, "final": {"validation": {"nll_per_token": evals[-1]["val_loss"]}}}


def test_chained_legs_count_minutes_steps_and_tokens_from_the_first_start():
    a = _leg([{"step": 100, "seconds": 60.0, "val_loss": 12.0}, {"step": 200, "seconds": 120.0, "val_loss": 11.5}], 130.0, 210)
    b = _leg([{"step": 100, "seconds": 50.0, "val_loss": 11.0}], 70.0, 150, init="docs/training-runs/a.pt", batch=8)
    run = chain_reports([("a", a), ("b", b)])
    assert [e["seconds"] for e in run["evals"]] == [60.0, 120.0, 180.0]
    assert [e["step"] for e in run["evals"]] == [100, 200, 310]
    assert [e["tokens"] for e in run["evals"]] == [100 * 16 * 512, 200 * 16 * 512, 210 * 16 * 512 + 100 * 8 * 512]
    assert run["wall_seconds"] == 200.0 and run["steps"] == 360 and run["final"] == b["final"] and run["legs"] == ["a", "b"]
    with pytest.raises(ValueError, match="did not start from a's weights"):
        chain_reports([("a", a), ("c", _leg(b["evals"], 70.0, 150, init="runs/other.pt"))])


def test_read_run_chains_the_shipped_note_transformer_legs():
    legs = [ROOT / f"docs/training-runs/note-transformer-{m}min.json" for m in (45, 105, 120)]
    run = read_run("+".join(map(str, legs)))
    assert run["legs"] == ["note-transformer-45min", "note-transformer-105min", "note-transformer-120min"]
    assert run_name("+".join(map(str, legs))) == "+".join(run["legs"]) and run_name(legs[0]) == "note-transformer-45min"
    assert run["steps"] == 1787 + 2364 + 667
    assert 119 < run["wall_seconds"] / 60 < 121  # the 120 CPU minutes
    assert run["validation_rate"] == pytest.approx(235983 / 21475.6)  # from a leg that scored the whole split, not the last leg's subset
    m, y = eval_curve(run)
    assert (np.diff(m) > 0).all() and y[-1] < y[0]
    with pytest.raises(FileNotFoundError, match="no such run report"):
        read_run(str(legs[0]) + "+missing.json")


def test_read_run_gives_a_single_report_the_tokens_seen_at_each_evaluation():
    path = ROOT / "docs/training-runs/note-transformer-2x128-65min.json"
    run = read_run(path)
    report = json.loads(path.read_text())
    per_step = report["config"]["train"]["batch_size"] * report["config"]["train"]["seq_len"]
    assert [e["tokens"] for e in run["evals"]] == [e["step"] * per_step for e in report["evals"]]
    assert [e["val_loss"] for e in run["evals"] if "val_loss" in e] == [e["val_loss"] for e in report["evals"] if "val_loss" in e]
