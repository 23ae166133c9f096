"""Evaluation features worked out by hand on tiny pieces, OA/KL sanity, and a folder run."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import MIDI_FILES, ROOT
from pianogen.data import load_notes, write_midi
from pianogen.evaluation import evaluate_folder, piece_features
from pianogen.evaluation.distributions import overlap_and_kl


def notes(rows):
    return pd.DataFrame(rows, columns=["pitch", "velocity", "start", "end"])


def test_c_major_scale_by_hand():
    # C D E F G A B, one per second, each 0.5 s long, velocities 60..120.
    pitches = [60, 62, 64, 65, 67, 69, 71]
    f = piece_features(notes([(p, 60 + 10 * i, i, i + 0.5) for i, p in enumerate(pitches)]))
    assert f["pitch_range"] == 11 and f["n_pitches"] == 7 and f["n_pitch_classes"] == 7
    assert f["scale_consistency"] == 1.0
    assert f["pitch_class_entropy"] == pytest.approx(math.log2(7))
    assert f["polyphony"] == 1.0
    # Sounding 7 x 0.5 s of a 6.5 s span.
    assert f["silence_ratio"] == pytest.approx(1 - 3.5 / 6.5)
    assert f["notes_per_second"] == pytest.approx(7 / 6.5)
    assert f["velocity_mean"] == 90 and f["velocity_std"] == pytest.approx(np.std([60, 70, 80, 90, 100, 110, 120]))
    assert f["ioi_hist"][np.searchsorted([0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.2, 2.0], 1.0, side="right") - 1] == 1.0


def test_chords_and_chromatic_by_hand():
    # A C major triad held 2 s, then a chromatic cluster C C# D for 1 s.
    f = piece_features(notes([(60, 80, 0, 2), (64, 80, 0, 2), (67, 80, 0, 2), (60, 80, 2, 3), (61, 80, 2, 3), (62, 80, 2, 3)]))
    assert f["polyphony"] == 3.0 and f["silence_ratio"] == 0.0
    # Best scale holds 5 of the 6 notes (C# is outside C major; D minor etc. do no better).
    assert f["scale_consistency"] == pytest.approx(5 / 6)
    # Pitch classes: C twice, C#, D, E, G once: entropy by hand.
    p = np.array([2, 1, 1, 1, 1]) / 6
    assert f["pitch_class_entropy"] == pytest.approx(-(p * np.log2(p)).sum())


def test_overlap_and_kl():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 0.2, 400), rng.normal(1, 0.2, 400)
    oa, kl = overlap_and_kl(a, b)
    assert oa > 0.9 and kl < 0.05
    far_oa, far_kl = overlap_and_kl(a, rng.normal(3, 0.2, 400))
    assert far_oa < 0.01 and far_kl > 5


@pytest.mark.slow
def test_evaluate_real_vs_shuffled(prepared, tmp_path):
    """Real validation music scores near the ceiling; pitch-shuffled noise scores far below."""
    real, noise = tmp_path / "real", tmp_path / "noise"
    real.mkdir(), noise.mkdir()
    rng = np.random.default_rng(0)
    for i, (_, g) in enumerate(load_notes(prepared, "validation").groupby("piece_id")):
        g = g[g["start"] < 30]
        write_midi(g, real / f"{i}.mid")
        shuffled = g.assign(pitch=rng.integers(21, 109, len(g)), start=rng.uniform(0, 30, len(g)))
        write_midi(shuffled.assign(end=shuffled["start"] + 0.05).sort_values("start"), noise / f"{i}.mid")
    good = evaluate_folder(real, prepared, "test")
    bad = evaluate_folder(noise, prepared, "test")
    for feat in ("scale_consistency", "pitch_class_entropy", "polyphony"):
        assert good["vs_reference"][feat]["oa"] > bad["vs_reference"][feat]["oa"]
    assert good["counts"]["samples"] == 6 and good["counts"]["reference_segments"] > 10
    proc = subprocess.run([sys.executable, "scripts/evaluate.py", str(real), "--reference", str(prepared), "--out", str(tmp_path / "e.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "scale_consistency" in proc.stdout and (tmp_path / "e.json").is_file()


@pytest.mark.parametrize("path", MIDI_FILES[::5], ids=lambda p: p.stem[-20:])
def test_agrees_with_muspy(path):
    """Where MusPy has the same metric, ours gives the same number on the bundled files.

    MusPy ignores the sustain pedal, so the comparison reads key-up times (sustain=False).
    """
    import muspy

    from pianogen.data import read_midi

    music = muspy.read_midi(path)
    ours = piece_features(read_midi(path, sustain=False))
    assert ours["pitch_class_entropy"] == pytest.approx(muspy.pitch_class_entropy(music), abs=1e-9)
    assert ours["scale_consistency"] == pytest.approx(muspy.scale_consistency(music), abs=1e-9)
    assert ours["polyphony"] == pytest.approx(muspy.polyphony(music), rel=1e-3)
