"""A key holds one note at a time in generated music, as in prepared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def _same_key_overlaps(notes: pd.DataFrame) -> int:
    n = notes.sort_values(["pitch", "start"])
    same = n["pitch"].to_numpy()[1:] == n["pitch"].to_numpy()[:-1]
    return int((same & (n["start"].to_numpy()[1:] < n["end"].to_numpy()[:-1] - 1e-9)).sum())


def test_generated_notes_hold_one_note_per_key():
    from pianogen.sampling import load_sampler, sample

    s = load_sampler(ROOT / "checkpoints" / "note-transformer.pt")
    out = sample(s, seconds=15.0, seed=1, n=2)
    for _, g in out.groupby("sample"):
        assert _same_key_overlaps(g) == 0


def test_held_keys_never_strikes_a_key_still_down(monkeypatch):
    import pianogen.sampling.autoregressive as ar
    from pianogen.representations.note_tuples import held_keys

    s = ar.load_sampler(ROOT / "checkpoints" / "note-transformer.pt")
    monkeypatch.setattr(ar, "cut_restrikes", lambda notes: notes)  # see what was drawn, before any cut
    drawn = {hk: ar.sample(s, seconds=15.0, seed=1, held_keys=hk) for hk in (False, True)}
    assert _same_key_overlaps(drawn[False]) > 0  # the model alone strikes held keys again
    tokens = s.codec.encode(drawn[True][["pitch", "velocity", "start", "end"]])[1:]
    held = held_keys(tokens, s.codec.config)
    assert not held[np.arange(len(tokens)), tokens[:, 1]].any()
