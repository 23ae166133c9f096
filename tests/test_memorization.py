"""The copy check: longest passage shared with a corpus, on real bundled music."""

from __future__ import annotations

import numpy as np
import pytest

from pianogen.evaluation.memorization import PassageIndex, passage_tokens


@pytest.fixture(scope="module")
def train(prepared):
    from pianogen.data import load_notes

    return load_notes(prepared, "train")


@pytest.fixture(scope="module")
def index(prepared):
    return PassageIndex.from_prepared(prepared, "train")


def _segment(notes, pid, t0, t1):
    g = notes[(notes["piece_id"] == pid) & (notes["start"] >= t0) & (notes["start"] < t1)]
    return g.assign(start=g["start"] - t0, end=g["end"] - t0)


def test_an_exact_copy_is_found_whole(train, index):
    pid = sorted(train["piece_id"].unique())[5]
    seg = _segment(train, pid, 60.0, 80.0)
    s = index.longest(seg)
    first = seg["start"].min()
    assert s.notes == len(seg) and s.sample_start == pytest.approx(first, abs=1e-6)
    assert s.corpus_start == pytest.approx(60.0 + first, abs=1e-3)
    assert "notes" in index.describe(seg)


def test_transposed_copy_counts_and_a_changed_note_cuts_it(train, index):
    pid = sorted(train["piece_id"].unique())[3]
    seg = _segment(train, pid, 30.0, 45.0).sort_values(["start", "pitch"]).reset_index(drop=True)
    up = seg.assign(pitch=seg["pitch"] + 2)
    assert index.longest(up).notes == len(seg)
    broken = seg.copy()
    mid = len(seg) // 2
    broken.loc[mid, "pitch"] += 7  # one wrong note splits the copy in two
    s = index.longest(broken)
    assert max(mid, len(seg) - mid - 1) - 1 <= s.notes < len(seg)


def test_unrelated_music_shares_little(prepared, index):
    from pianogen.data import load_notes

    test = load_notes(prepared, "test")  # pieces no training file holds
    for pid, g in test.groupby("piece_id", observed=True):
        assert index.longest(g[g["start"] < 30]).notes < 20
    rng = np.random.default_rng(0)
    n = 200
    start = np.cumsum(rng.uniform(0.05, 0.4, n))
    import pandas as pd

    noise = pd.DataFrame({"pitch": rng.integers(21, 109, n), "velocity": 64, "start": start, "end": start + 0.2})
    assert index.longest(noise).notes == 0


def test_tokens_and_round_trip_file(index, tmp_path):
    import pandas as pd

    chord = pd.DataFrame({"pitch": [64, 60, 67, 72], "velocity": 80, "start": [0.0, 0.0, 0.0, 0.5], "end": 1.0})
    t = passage_tokens(chord)  # sorted C4 E4 G4 (same onset), then C5 half a second later
    assert len(t) == 3 and (t // 11 - 48).tolist() == [4, 3, 5] and (t % 11).tolist() == [0, 0, 7]
    again = PassageIndex.load(index.save(tmp_path / "i.npz"))
    assert np.array_equal(again.seq, index.seq) and again.names == index.names and again.k == index.k
