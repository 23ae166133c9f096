"""Repetition against real music with bootstrap intervals, on the bundled corpus."""

import numpy as np
import pandas as pd
import pytest

from pianogen.evaluation.features import labelled_segments
from pianogen.evaluation.listener import segments_matrix
from pianogen.evaluation.repetition import REPETITION_FEATURES, repetition_against_real


@pytest.fixture(scope="module")
def real(prepared):
    """Features of the real segments (rows, columns named), with each row's composition."""
    segs, groups = labelled_segments(prepared, "validation", 20.0)
    x, names, kept = segments_matrix(segs)
    return x, names, [groups[i] for i in kept]


def looped_figure(seconds: float = 20.0) -> pd.DataFrame:
    """One 4-note figure played over and over, an eighth note apart: all repetition."""
    pitches = [60, 64, 67, 72] * int(seconds / 0.25 / 4)
    start = np.arange(len(pitches)) * 0.25
    return pd.DataFrame({"pitch": pitches, "velocity": 70, "start": start, "end": start + 0.2})


def test_real_music_against_itself_is_at_ratio_zero_inside_its_interval(real):
    x, names, groups = real
    out = repetition_against_real(x, x, names, groups, draws=200)
    assert list(out) == list(REPETITION_FEATURES)
    for v in out.values():
        assert v["model"] == v["real"] and v["ratio"] == pytest.approx(0.0)
        assert v["low"] <= 0.0 <= v["high"] and v["low"] < v["high"]  # resampling moves both medians


def test_a_looped_figure_repeats_far_more_than_real_music_and_is_said_to(real):
    x, names, groups = real
    looped = segments_matrix([looped_figure() for _ in range(8)])[0]
    out = repetition_against_real(looped, x, names, groups, draws=200)
    for k in ("repeat_melody_3", "repeat_figure_3", "repeat_rhythm_4"):
        assert out[k]["model"] == pytest.approx(1.0, abs=0.05)  # every figure recurs
        assert out[k]["low"] > 0.2 and out[k]["within_20"] is False


def test_intervals_are_seeded_and_composition_resampling_is_no_narrower(real):
    x, names, groups = real
    samples = x[::2]
    a = repetition_against_real(samples, x, names, groups, draws=300, seed=3)
    assert a == repetition_against_real(samples, x, names, groups, draws=300, seed=3)
    # Segments of one piece are alike: resampled as whole compositions, real's median is less
    # sure than resampled one segment at a time (summed over features: single features are noisy).
    width = lambda r: sum(v["high"] - v["low"] for v in r.values())  # noqa: E731
    assert width(a) >= 0.9 * width(repetition_against_real(samples, x, names, None, draws=300, seed=3))
    with pytest.raises(ValueError, match="real groups"):
        repetition_against_real(samples, x, names, groups[:-1])
