"""Learning-curve fits and crossings (pianogen.evaluation.curves)."""

from __future__ import annotations

import numpy as np
import pytest

from pianogen.evaluation.curves import crossing, eval_curve, power_law_fit, predict


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
