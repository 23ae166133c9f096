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
    best = best_setting(rows, REAL, rule="mean")
    assert (best["temperature"], best["top_p"]) == (1.0, 0.95)
    assert "within 20%" in best["criterion"] and best["texture_error"] == pytest.approx(0.15)
    assert best_setting(rows, rule="mean")["temperature"] == 1.1  # without real texture: plain highest OA


def test_best_setting_falls_back_to_the_closest_texture():
    rows = [row(1.1, 0.9, 0.91, 20.0, 4.0), row(1.0, 1.0, 0.60, 13.0, 5.0)]
    best = best_setting(rows, REAL, rule="mean")
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
        assert 0.0 <= r["sparse_share"] <= 1.0 and r["outside_share"] in (0.0, 0.5, 1.0)  # of 2 samples
    seeded = sweep_sampling("checkpoints/perf-rnn.pt", prepared, "validation", temperatures=(1.0,), top_ps=(1.0,), n=2, seconds=4.0,
                            progress=False, seed_notes="C4 E4 G4 C5")
    assert seeded["rows"][0]["notes_per_second"] > 0  # the seed's notes are not scored, the continuation's are


def test_best_setting_carries_the_tilt():
    rows = [{**row(1.0, 1.0, 0.9, 13.0, 4.0), "tilt": 0.0}, {**row(1.0, 1.0, 0.88, 10.5, 4.2), "tilt": -1.0}]
    assert best_setting(rows, REAL, rule="mean")["tilt"] == -1.0


def test_single_sample_rule_prefers_fewer_outliers_over_the_mean():
    """A setting whose mean texture is right can still spread single samples wide; the default
    rule picks the one with the fewest samples outside real's range, mean OA breaking near-ties."""
    rows = [{**row(1.0, 1.0, 0.93, 10.1, 4.1), "tilt": -1.0, "outside_share": 0.40},  # right mean, wide spread
            {**row(0.9, 1.0, 0.90, 11.5, 4.5), "tilt": 0.0, "outside_share": 0.15},
            {**row(0.9, 0.95, 0.91, 11.0, 4.4), "tilt": 0.0, "outside_share": 0.16}]  # one sample more out of 100: a tie
    best = best_setting(rows, REAL, n=100)
    assert (best["temperature"], best["top_p"]) == (0.9, 0.95) and best["outside_share"] == 0.16 and "fewest" in best["criterion"]
    assert best_setting(rows, REAL, n=1000)["top_p"] == 1.0  # with more samples, one is no longer noise
    assert best_setting(rows, REAL, rule="mean")["tilt"] == -1.0
    with pytest.raises(ValueError, match="unknown rule"):
        best_setting(rows, REAL, rule="median")


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


def test_first_click_plays_the_model_measured_closest_to_real(tmp_path):
    """The app lists first (and its first click plays) the model whose first clicks fell outside
    real music's range least often, as tune_sampling --report recorded; its card says the share;
    unmeasured models follow in their own order."""
    import json
    import shutil
    from pathlib import Path

    from pianogen.cards import first_click_order, model_card

    shares = {"a": 0.40, "b": 0.15, "c": None}
    models = {}
    for name, share in shares.items():
        ck = tmp_path / f"{name}.pt"
        shutil.copy("checkpoints/note-rnn.pt", ck)
        report = json.loads(Path("checkpoints/note-rnn.json").read_text())
        report.pop("single_sample_spread", None)  # the shipped report has its own
        if share is not None:
            spread = {"outside_share": share, "sparse_share": 0.0}
            report["single_sample_spread"] = {"data": "data/prepared/asap", "split": "validation-reporting", "n": 100,
                                              "first_click": spread, "unseeded": {**spread, "outside_share": 0.2}}
        ck.with_suffix(".json").write_text(json.dumps(report))
        models[f"{name} (label)"] = ck
    assert [p.stem for p in first_click_order(models).values()] == ["b", "a", "c"]
    assert "15% of 100 first clicks and 20% of 100 unseeded samples" in model_card(models["b (label)"])


def test_listener_rule_takes_the_setting_told_apart_least_often():
    """Only rows the listener scored are eligible (the caller leaves out settings with too many
    samples outside real's range), and the lowest accuracy wins even against a better texture."""
    rows = [{**row(1.0, 1.0, 0.93, 10.1, 4.1), "tilt": 1.0, "outside_share": 0.10, "listener": 0.84},
            {**row(0.9, 0.95, 0.90, 9.0, 4.0), "tilt": 0.5, "outside_share": 0.20, "listener": 0.78},
            {**row(0.8, 0.9, 0.95, 5.0, 2.0), "tilt": 0.0, "outside_share": 0.60}]  # not scored: too many outside
    best = best_setting(rows, REAL, rule="listener")
    assert (best["temperature"], best["top_p"], best["tilt"]) == (0.9, 0.95, 0.5)
    assert best["listener"] == 0.78 and best["outside_share"] == 0.20 and "classifier" in best["criterion"]
    with pytest.raises(ValueError, match="listener_scores"):
        best_setting([rows[2]], REAL, rule="listener")


def test_listener_scores_run_the_classifier_test_per_setting(prepared):
    """Each setting gets the classifier test's accuracy on its own samples and continuations:
    a mean of four accuracies (logistic and boosting, unseeded and continued), each a share."""
    from pianogen.evaluation.tuning import listener_scores

    from pianogen.evaluation.repetition import REPETITION_FEATURES

    rows = [{"temperature": 1.0, "top_p": 1.0, "tilt": 0.0, "outside_share": 0.1},
            {"temperature": 1.0, "top_p": 1.0, "tilt": -6.0, "outside_share": 0.1},
            {"temperature": 1.0, "top_p": 1.0, "tilt": 0.0, "motif_memory": 8.0, "outside_share": 0.1}]
    scored = listener_scores("checkpoints/note-rnn.pt", prepared, "validation", rows, n=8, continuations=8, seconds=6.0, progress=False)
    assert [r["tilt"] for r in scored] == [0.0, -6.0, 0.0] and all(r["outside_share"] == 0.1 for r in scored)
    for r in scored:
        parts = r["listener_parts"]
        assert set(parts) == {"unseeded logistic", "unseeded boosting", "continuations logistic", "continuations boosting"}
        assert all(0.0 <= v <= 1.0 for v in parts.values()) and r["listener"] == pytest.approx(np.mean(list(parts.values())))
        assert len(r["separating"]) == 3
        assert r["real_notes_per_second"] > 3.0  # the split's own segments, the same for every row
        assert list(r["repetition"]) == list(REPETITION_FEATURES)
        assert all(0.0 <= m <= 1.0 and 0.0 <= real <= 1.0 for m, real in r["repetition"].values())
    assert scored[0]["real_notes_per_second"] == scored[1]["real_notes_per_second"]
    assert scored[0]["repetition"]["repeat_melody_3"][1] == scored[2]["repetition"]["repeat_melody_3"][1]
    # Same seeds: only the row's motif memory strength (note-rnn records 0) makes its samples differ.
    assert scored[2]["unseeded_notes_per_second"] != scored[0]["unseeded_notes_per_second"]
    assert scored[1]["unseeded_notes_per_second"] < scored[0]["unseeded_notes_per_second"]  # the starving tilt, measured
    # A tilt of -6 per second starves the music of notes: a listener tells it at least as easily
    # (within 0.05, the noise of 8 samples a side).
    assert scored[1]["listener_parts"]["unseeded logistic"] > scored[0]["listener_parts"]["unseeded logistic"] - 0.05


def test_listener_rule_prefers_settings_whose_unseeded_samples_keep_real_pace():
    """First clicks are seeded and sparser: a setting can pass them while its unseeded samples
    play a third faster than real music. Among scored rows, those within tolerance of real
    notes/s come first; when none is, all scored rows compete (and the criterion says so)."""
    pace = {"real_notes_per_second": 15.0}
    rows = [{**row(1.0, 0.95, 0.9, 10.0, 4.0), "tilt": 1.0, "listener": 0.80, "unseeded_notes_per_second": 20.0, **pace},  # 33% fast
            {**row(1.0, 0.95, 0.9, 10.0, 4.0), "tilt": 0.0, "listener": 0.83, "unseeded_notes_per_second": 16.5, **pace}]
    best = best_setting(rows, REAL, rule="listener")
    assert best["tilt"] == 0.0 and best["unseeded_notes_per_second"] == 16.5 and "within 20% of real" in best["criterion"]
    assert best_setting(rows, REAL, tolerance=0.4, rule="listener")["tilt"] == 1.0
    fallback = best_setting(rows[:1], REAL, rule="listener")
    assert fallback["tilt"] == 1.0 and "none had" in fallback["criterion"]


def test_best_setting_records_a_pitch_temperature_only_where_it_differs():
    rows = [{**row(1.0, 0.95, 0.9, 10.0, 4.0), "tilt": 0.0, "pitch_temperature": 0.7, "listener": 0.79},
            {**row(1.0, 0.95, 0.9, 10.0, 4.0), "tilt": 0.0, "pitch_temperature": 1.0, "listener": 0.84}]
    assert best_setting(rows, REAL, rule="listener")["pitch_temperature"] == 0.7
    assert "pitch_temperature" not in best_setting(rows[1:], REAL, rule="listener")


def _pitch_calls(monkeypatch) -> list[tuple[int, float]]:
    """(classes, temperature) of every draw the sampler makes from here on."""
    import pianogen.sampling.autoregressive as ar

    calls, real_pick = [], ar.pick
    monkeypatch.setattr(ar, "pick", lambda logits, t, *a, **k: calls.append((logits.shape[-1], t)) or real_pick(logits, t, *a, **k))
    return calls


def test_pitch_temperature_tempers_the_pitch_field_alone(tmp_path, monkeypatch):
    """A note model draws its pitch (the 128-class field) at the pitch temperature and its step,
    duration and velocity at the temperature; left unset, the pitch field keeps the recorded
    defaults' ratio, so the app's one temperature slider moves both. An event model, whose
    pitch and time share one softmax, refuses a pitch temperature of its own."""
    import shutil

    from pianogen.checkpoints import update_report
    from pianogen.sampling import SequenceSampler, sample

    ck = tmp_path / "note.pt"
    shutil.copy("checkpoints/note-rnn.pt", ck)
    shutil.copy("checkpoints/note-rnn.json", ck.with_suffix(".json"))
    s = SequenceSampler(ck, int8=False)
    calls = _pitch_calls(monkeypatch)
    kw = dict(seed_notes="C4 E4 G4", seconds=2.0, seed=1, top_p=1.0, time_tilt=0.0, motif_memory=0.0)
    sample(s, temperature=1.0, pitch_temperature=0.5, **kw)
    assert {t for c, t in calls if c == 128} == {0.5} and {t for c, t in calls if c != 128} == {1.0}
    assert {c for c, _ in calls} == {125, 128, 124, 32}  # every field was drawn
    update_report(ck, sampling_defaults={"temperature": 1.0, "top_p": 1.0, "tilt": 0.0, "pitch_temperature": 0.5})
    calls.clear()
    sample(s, temperature=0.8, **kw)
    assert [round(t, 9) for t in {t for c, t in calls if c == 128}] == [0.4] and {t for c, t in calls if c != 128} == {0.8}
    calls.clear()
    sample(s, temperature=0.8, pitch_temperature=0.8, **kw)  # asked as the rest: every field alike
    assert {t for _, t in calls} == {0.8}
    with pytest.raises(ValueError, match="note models"):
        sample("checkpoints/perf-rnn.pt", seconds=1.0, temperature=1.0, pitch_temperature=0.5)
    sample("checkpoints/perf-rnn.pt", seconds=1.0, temperature=1.0, pitch_temperature=1.0)  # the same temperature is no request


def test_tune_script_sweeps_and_records_a_pitch_temperature(tmp_path, prepared):
    """--pitch-temperatures and --motif-memories cross with the rest; the printed table has their
    columns, and --record stores the absolute pitch temperature and strength of every row, the
    winner's pitch temperature where it differs and its strength beside the fitted memory."""
    import json
    import shutil
    import subprocess
    import sys

    ck = tmp_path / "note.pt"
    shutil.copy("checkpoints/note-rnn.pt", ck)
    shutil.copy("checkpoints/note-rnn.json", ck.with_suffix(".json"))
    proc = subprocess.run([sys.executable, "scripts/tune_sampling.py", str(ck), "--data", str(prepared), "--split", "validation",
                           "--temperatures", "1.0", "--top-ps", "1.0", "--pitch-temperatures", "0.7", "1.0", "--motif-memories", "0", "8",
                           "--n", "2", "--seconds", "4", "--record"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| pitch temperature | motif memory |" in proc.stdout
    report = json.loads(ck.with_suffix(".json").read_text())
    recorded = report["sampling_defaults"]
    assert [(r["pitch_temperature"], r["motif_memory"]) for r in recorded["table"]] == [(0.7, 0.0), (0.7, 8.0), (1.0, 0.0), (1.0, 8.0)]
    assert recorded.get("pitch_temperature", 1.0) in (0.7, 1.0)
    strength = report["motif_memory"]["strength"]
    assert strength in (0.0, 8.0) and "motif_memory" not in recorded
    assert f"motif memory {strength:g} (" in proc.stdout
