"""Choosing sampling defaults: the texture rule by hand, and a real sweep on the shipped model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pianogen.evaluation.tuning import best_setting, texture_error

REAL = {"notes_per_second": 10.0, "polyphony": 4.0, "long_note_share": 0.01}


def row(t, p, oa, nps, poly):
    return {"temperature": t, "top_p": p, "mean_oa": oa, "notes_per_second": nps, "polyphony": poly, "long_note_share": 0.0}


def test_texture_error_is_the_worst_relative_deviation():
    assert texture_error(row(1, 1, 0.5, 12.5, 4.4), REAL) == pytest.approx(0.25)
    assert texture_error(row(1, 1, 0.5, 10.0, 3.0), REAL) == pytest.approx(0.25)


def test_best_setting_prefers_matching_texture_over_a_higher_oa():
    rows = [row(1.1, 0.9, 0.91, 13.0, 5.0),   # best OA, 30% too many notes
            row(1.0, 0.95, 0.89, 11.5, 4.6),  # within 20% on both
            row(0.9, 0.95, 0.88, 10.2, 3.9)]  # within 20%, lower OA
    best = best_setting(rows, REAL)
    assert (best["temperature"], best["top_p"]) == (1.0, 0.95)
    assert "within 20%" in best["criterion"] and best["texture_error"] == pytest.approx(0.15)
    assert best_setting(rows)["temperature"] == 1.1  # without real texture: plain highest OA


def test_best_setting_falls_back_to_the_closest_texture():
    rows = [row(1.1, 0.9, 0.91, 20.0, 4.0), row(1.0, 1.0, 0.60, 13.0, 5.0)]
    best = best_setting(rows, REAL)
    assert best["temperature"] == 1.0 and "closest" in best["criterion"]


def test_sweep_measures_real_texture_and_every_setting(prepared):
    from pianogen.evaluation import reference_features
    from pianogen.evaluation.tuning import sweep_sampling

    sweep = sweep_sampling("checkpoints/perf-rnn.pt", prepared, "validation", temperatures=(1.0,), top_ps=(0.9, 1.0),
                           n=2, seconds=4.0, progress=False, tilts=(0.0, -1.0))
    assert [(r["temperature"], r["top_p"], r["tilt"]) for r in sweep["rows"]] == [(1.0, 0.9, 0.0), (1.0, 0.9, -1.0), (1.0, 1.0, 0.0), (1.0, 1.0, -1.0)]
    ref = reference_features(prepared, "validation", 4.0)
    assert sweep["real"]["notes_per_second"] == pytest.approx(np.mean([f["notes_per_second"] for f in ref]))
    for r in sweep["rows"]:
        assert 0.0 <= r["mean_oa"] <= 1.0 and r["notes_per_second"] > 0 and r["polyphony"] > 0


def test_best_setting_carries_the_tilt():
    rows = [{**row(1.0, 1.0, 0.9, 13.0, 4.0), "tilt": 0.0}, {**row(1.0, 1.0, 0.88, 10.5, 4.2), "tilt": -1.0}]
    assert best_setting(rows, REAL)["tilt"] == -1.0


def test_recorded_tilt_is_the_default_and_explicit_requests_override_it(tmp_path):
    """A checkpoint whose sampling defaults include a tilt plays with it when nothing is asked;
    time_tilt=0 turns it off, and a notes/s request uses the calibration alone."""
    import shutil

    from pianogen.checkpoints import update_report
    from pianogen.sampling import SequenceSampler, sample

    ck = tmp_path / "perf.pt"
    shutil.copy("checkpoints/perf-rnn.pt", ck)
    shutil.copy("checkpoints/perf-rnn.json", ck.with_suffix(".json"))
    update_report(ck, sampling_defaults={"temperature": 1.0, "top_p": 1.0, "tilt": -3.0})
    s = SequenceSampler(ck)
    assert s.default_tilt == -3.0
    kw = dict(seconds=8.0, temperature=1.0, seed=5, n=4)
    default, off, by_hand = sample(s, **kw), sample(s, time_tilt=0.0, **kw), sample(s, time_tilt=-3.0, **kw)
    assert default.equals(by_hand) and not default.equals(off)
    assert len(default) < len(off)  # the tilt makes it sparser
    bias, _ = s.density_controls(None, 11.0)
    assert torch.allclose(bias, s.time_bias(s.tilt_for(11.0)))  # a request ignores the default tilt
