"""Can a listener tell? Halves by composition, the new segment features (on hand-made notes with
known answers and on real files), the classifier two-sample test, continuations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import FULL_METADATA, ROOT

from pianogen.data.midi import notes_frame
from pianogen.evaluation.classifier_test import ClassifierTestConfig, classifier_test, separating_features
from pianogen.evaluation.segment_features import chords, key_of, recurrence, segment_features, stability_features


def notes(pitch, start, dur=0.4, vel=64) -> pd.DataFrame:
    pitch, start = np.asarray(pitch), np.asarray(start, float)
    return notes_frame(pitch, np.broadcast_to(vel, pitch.shape), start, start + np.broadcast_to(dur, start.shape))


# --- halves by composition ---------------------------------------------------------------


@pytest.fixture(scope="module")
def maestro_pieces() -> pd.DataFrame:
    from pianogen.data.maestro import parse_metadata

    meta = parse_metadata((FULL_METADATA / "maestro-v3.0.0.csv").read_bytes(), "maestro-v3.0.0.csv")
    return pd.DataFrame({"piece_id": meta["midi_filename"], "path": meta["midi_filename"], "split": meta["split"],
                         "composer": meta["composer"], "title": meta["title"]})


def test_halves_split_validation_by_composition(maestro_pieces):
    from pianogen.data.splits import compositions, select_half

    val = maestro_pieces[maestro_pieces["split"] == "validation"]
    tune, rep = select_half(maestro_pieces, "validation-tuning"), select_half(maestro_pieces, "validation-reporting")
    assert set(tune["piece_id"]).isdisjoint(rep["piece_id"])
    assert set(tune["piece_id"]) | set(rep["piece_id"]) == set(val["piece_id"])
    ct, cr = set(compositions(tune)), set(compositions(rep))
    assert ct.isdisjoint(cr) and abs(len(ct) - len(cr)) <= 1  # every composition on one side; equal counts
    # The assignment does not depend on the order of the rows.
    again = select_half(maestro_pieces.sample(frac=1, random_state=3), "validation-reporting")
    assert set(again["piece_id"]) == set(rep["piece_id"])


def test_halves_load_from_a_prepared_folder(prepared):
    from pianogen.data import load_notes, load_pieces

    val = load_pieces(prepared, "validation")
    halves = [load_pieces(prepared, f"validation-{h}") for h in ("tuning", "reporting")]
    assert sorted(pd.concat(halves)["piece_id"]) == sorted(val["piece_id"]) and all(len(h) for h in halves)
    assert set(load_notes(prepared, "validation-reporting")["piece_id"]) == set(halves[1]["piece_id"])
    with pytest.raises(ValueError, match="validation-reporting"):
        load_pieces(prepared, "validation-other")


# --- features with known answers ---------------------------------------------------------


def test_chords_and_onset_spread():
    rolled = notes([48, 52, 55], [0.0, 0.01, 0.02])  # a chord rolled over 20 ms
    exact = notes([60, 64, 67], [1.0, 1.0, 1.0])
    f = segment_features(pd.concat([rolled, exact], ignore_index=True))
    assert f["chord_size_3"] == 1.0 and f["chords_per_second"] == pytest.approx(2 / 1.4)
    assert f["chord_spread_15-40ms"] == 0.5 and f["chord_spread_<5ms"] == 0.5
    assert f["chord_spread_mean_ms"] == pytest.approx(10.0)
    run = np.arange(0, 1, 0.035)  # a fast run (35 ms apart) is notes, not one chord
    assert chords(run).max() == len(run) - 1


def test_dynamics_from_note_to_note():
    f = segment_features(notes([60, 62, 64, 65, 67, 69], np.arange(6) * 0.5, vel=np.array([60, 64, 60, 64, 60, 64])))
    assert f["velocity_change_mean"] == 4.0 and f["velocity_change_4"] == 1.0
    # Velocities are read on the models' 32 bins of 4: 61-64 are one loudness (no listener hears
    # the difference, and no model can play it), so real and generated music compare on one grid.
    g = segment_features(notes([60, 62, 64, 65], np.arange(4) * 0.5, vel=np.array([61, 62, 63, 64])))
    assert g["velocity_change_0"] == 1.0 and g["velocity_sd"] == 0.0
    assert f["chord_velocity_autocorr"] == pytest.approx(-1.0)
    loud_top = notes([48, 64, 72], [0, 0, 0], vel=np.array([50, 60, 90]))
    soft_top = notes([48, 64, 72], [1, 1, 1], vel=np.array([90, 60, 50]))
    assert segment_features(pd.concat([loud_top, soft_top]))["melody_loudest_share"] == 0.5


def test_repetition_and_harmonic_return():
    figure = [60, 62, 64, 60, 62, 64, 60, 62, 64, 60]
    assert segment_features(notes(figure, np.arange(10) * 0.25))["repeat_melody_3"] == 1.0
    assert segment_features(notes([60, 61, 63, 66, 70, 75, 81], np.arange(7) * 0.25))["repeat_melody_3"] == 0.0
    assert recurrence([1, 2, 1, 2, 3], 2) == pytest.approx(0.5)
    # The same chord every 2 s: the harmony 2 and 4 s apart is the same.
    same = notes(np.tile([60, 64, 67], 8), np.repeat(np.arange(8) * 2.0, 3), dur=1.0)
    f = segment_features(same)
    assert f["chroma_sim_2s"] == pytest.approx(1.0) and f["chroma_sim_4s"] == pytest.approx(1.0) and f["chroma_return"] == pytest.approx(1.0)
    assert f["repeat_chord"] == 1.0


def test_note_lengths_at_the_cap():
    f = segment_features(notes([60, 64], [0, 1], dur=5.0))
    assert f["length_at_cap"] == 1.0 and f["length_>=4.95s"] == 1.0
    assert segment_features(notes([60, 64], [0, 1], dur=0.3))["length_at_cap"] == 0.0


def test_keys_and_stability():
    c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    assert key_of(np.array(c_major))[:2] == (0, "major")
    assert key_of(np.array(c_major) + 7)[:2] == (7, "major")
    steady = notes(np.tile(c_major, 30), np.arange(240) * 0.25)  # 60 s in C major, 4 notes/s
    s = stability_features(steady)
    assert s["key_agreement"] == 1.0 and s["key_changes"] == 0.0 and s["density_cv"] == pytest.approx(0.0, abs=1e-9)
    moving = pd.concat([notes(np.tile(c_major, 10), np.arange(80) * 0.25), notes(np.tile(c_major, 10) + 6, 20 + np.arange(80) * 0.25)])
    assert stability_features(moving)["key_changes"] > 0


def test_features_are_transposition_free_and_finite_on_real_files(prepared):
    from pianogen.data import load_notes
    from pianogen.evaluation import segments

    notes_ = load_notes(prepared, "test")
    segs = [s for _, g in notes_.groupby("piece_id", observed=True) for s in segments(g, 20.0)][:10]
    for seg in segs:
        f, g = segment_features(seg), segment_features(seg.assign(pitch=seg["pitch"] - 5))
        assert all(np.isfinite(v) for v in f.values()) and len(f) > 100
        assert f == pytest.approx(g, abs=1e-9)
    with pytest.raises(ValueError):
        segment_features(notes([60], [0]))
    # Segments too short to describe are left out, and the rows say which segments they are.
    from pianogen.evaluation.listener import segments_matrix

    x, names, kept = segments_matrix([segs[0], notes([60], [0]), segs[1].iloc[:0], segs[2]])
    assert kept.tolist() == [0, 3] and x.shape == (2, len(names))
    np.testing.assert_allclose(x[1], [segment_features(segs[2])[n] for n in names])
    with pytest.raises(ValueError, match="two notes"):
        segments_matrix([notes([60], [0])])


# --- the classifier two-sample test -----------------------------------------------------


@pytest.fixture(scope="module")
def mini_segments(prepared):
    """Features of the bundled train split's 20 s segments and their compositions."""
    from pianogen.evaluation.features import labelled_segments
    from pianogen.evaluation.segment_features import feature_matrix

    segs, groups = labelled_segments(prepared, "train", 20.0)
    x, names = feature_matrix(segs)
    return segs, x, np.array(groups), names


def test_c2st_cannot_tell_real_from_real(mini_segments):
    _, x, groups, _ = mini_segments
    comps = sorted(set(groups))
    a = np.isin(groups, comps[::2])
    res = classifier_test(x[a], x[~a], groups[a], groups[~a], ClassifierTestConfig(repeats=2))
    assert res["logistic"]["accuracy"] < 0.7 and res["boosting"]["accuracy"] < 0.7
    assert res["logistic"]["folds"] == 10 and res["logistic"]["sd"] > 0


def test_boosting_bins_and_predicts_exactly_as_scikit_learn_does_alone(mini_segments):
    """The classifier test's boosting fits share one sort per feature for their weighted bin
    edges (``_one_sort_per_feature``): the same edges on real features (ties and all), the same
    probabilities, and scikit-learn's own function back afterwards."""
    from sklearn.ensemble._hist_gradient_boosting import binning
    from sklearn.utils.class_weight import compute_sample_weight

    from pianogen.evaluation.classifier_test import _classifier, _one_sort_per_feature

    _, x, _, _ = mini_segments
    rng = np.random.default_rng(4)
    rows = rng.choice(len(x), 300, replace=False)
    xs, y = np.nan_to_num(x[rows]), rng.integers(0, 2, 300)
    w = compute_sample_weight("balanced", y)
    before = binning._weighted_percentile
    alone = [binning._find_binning_thresholds(xs[:, j], 255, sample_weight=w) for j in range(0, xs.shape[1], 3)]
    with _one_sort_per_feature():
        assert binning._weighted_percentile is not before
        shared = [binning._find_binning_thresholds(xs[:, j], 255, sample_weight=w) for j in range(0, xs.shape[1], 3)]
        quick = _classifier("boosting", 0).fit(xs, y)
    assert binning._weighted_percentile is before
    assert sum(len(a) > 100 for a in alone) > 5  # the weighted-percentile path, not only few distinct values
    assert all(np.array_equal(a, b) for a, b in zip(alone, shared))
    assert np.array_equal(quick.predict_proba(np.nan_to_num(x)), _classifier("boosting", 0).fit(xs, y).predict_proba(np.nan_to_num(x)))


def test_c2st_tells_random_pitches_at_once(mini_segments):
    segs, x, groups, names = mini_segments
    rng = np.random.default_rng(0)
    fake = [s.assign(pitch=rng.integers(21, 109, len(s))) for s in segs[:60]]
    from pianogen.evaluation.segment_features import feature_matrix

    fx, _ = feature_matrix(fake)
    res = classifier_test(x, fx, groups, cfg=ClassifierTestConfig(repeats=1))
    assert res["logistic"]["accuracy"] > 0.95 and res["boosting"]["accuracy"] > 0.95
    top = separating_features(x, fx, names, top=3)
    assert {"pitch_sd", "pitch_range", "melody_step_mean", "scale_consistency"} & {t["feature"] for t in top}


def test_c2st_keeps_each_composition_in_one_fold():
    """Rows of one composition share a signature; compositions are labelled at random. Without
    groups a classifier memorizes the signatures; with them it meets unseen compositions only
    and cannot tell (the grouping is what makes the number honest)."""
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(24, 48)) * 3
    comp = np.repeat(np.arange(24), 10)
    x = centers[comp] + rng.normal(size=(240, 48)) * 0.3
    side = rng.permutation(np.repeat([0, 1], 12))[comp] == 1
    cfg = ClassifierTestConfig(repeats=2, classifiers=("logistic",))
    grouped = classifier_test(x[~side], x[side], comp[~side], comp[side], cfg)
    leaky = classifier_test(x[~side], x[side], np.arange((~side).sum()), None, cfg)
    assert grouped["logistic"]["accuracy"] < 0.7 < 0.9 < leaky["logistic"]["accuracy"]


# --- continuations ------------------------------------------------------------------------


def test_prompts_and_continuation_nll(prepared):
    from pianogen.evaluation.continuation import continuation_nll, continue_prompts, key_agreement, prompts
    from pianogen.sampling import load_sampler

    items = prompts(prepared, "test", 4, 10.0, 20.0)
    assert len(items) == 4 and len({p.piece_id for p in items}) == 3  # each piece's opening first
    for p in items:
        assert p.prompt["start"].max() < 10 and p.prompt["end"].max() <= 10 and p.real["end"].max() <= 20
    assert items[0].offset == 0 and items[3].offset == 30
    ck = ROOT / "checkpoints" / "perf-rnn.pt"
    conts = continue_prompts(load_sampler(ck), items[:2], 5.0, temperature=1.0, top_p=0.95)
    assert all(len(c) > 0 and c["start"].min() >= 0 and c["end"].max() <= 5.0 + 1e-9 for c in conts)
    assert key_agreement(items, [p.real for p in items]) >= 0
    nll = continuation_nll(ck, items[:2])
    # The real continuation given its prompt costs less than given nothing (a model that listens).
    alone = [type(p)(p.prompt.iloc[:0], p.real, p.real.assign(start=p.real["start"] + 10, end=p.real["end"] + 10), p.piece_id, p.group, p.offset)
             for p in items[:2]]
    assert 0 < nll < continuation_nll(ck, alone)


def test_token_seconds_follow_the_music():
    from pianogen.representations.codecs import NoteTupleCodec, PerformanceCodec

    n = notes([60, 64, 67, 72], [0.0, 0.5, 1.0, 2.0])
    for codec in (PerformanceCodec(), NoteTupleCodec()):
        tokens = codec.encode(n)
        t = codec.token_seconds(tokens)
        assert len(t) == len(tokens) and t[0] == 0 and np.all(np.diff(t) >= 0)
        if isinstance(codec, PerformanceCodec):  # NOTE_ONs happen at the onsets
            onsets = t[(tokens >= codec.config.note_on) & (tokens < codec.config.note_on + 128)]
        else:  # one token per note (after BOS), at its onset
            onsets = t[1:]
        assert onsets == pytest.approx([0.0, 0.5, 1.0, 2.0], abs=0.011)


def test_features_of_any_note_list_are_finite_and_transposition_free():
    """Property test: random note lists (chords, re-strikes, zero-length notes, silence) give
    finite features, the same a few semitones up."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    note = st.tuples(st.integers(33, 96), st.integers(1, 127), st.floats(0, 20, allow_nan=False), st.floats(0, 6, allow_nan=False))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(note, min_size=2, max_size=60), st.integers(-12, 12))
    def check(rows, k):
        p, v, s, d = (np.array(c) for c in zip(*rows))
        n = notes_frame(p, v, s, s + d)
        f, g = segment_features(n), segment_features(n.assign(pitch=n["pitch"] + k))
        assert all(np.isfinite(x) for x in f.values())
        assert f == pytest.approx(g, abs=1e-7)

    check()
