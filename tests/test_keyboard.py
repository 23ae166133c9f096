"""The note-transformer's keyboard: the sounding keys it reads are the ones a decoded piece holds,
it starts as the model without it, and sampling reads it as training does."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pianogen.models import build_model
from pianogen.models.keyboard import SOUNDING_MIN
from pianogen.representations.note_tuples import NoteTupleConfig, cut_restrikes, encode
SIZES = {"layers": 2, "width": 32, "heads": 2, "context": 32, "embed": 8, "vocab_sizes": NoteTupleConfig().vocab_sizes}


def _model(keyboard: bool, seed: int = 0):
    torch.manual_seed(seed)
    m = build_model("note-transformer", {**SIZES, "keyboard": keyboard})
    if keyboard:  # its layers start at zero; random ones let a test see what they read
        for p in m.keyboard.parameters():
            torch.nn.init.normal_(p, std=0.1)
    return m.eval()


def _piece(n: int = 300) -> np.ndarray:
    from conftest import MIDI_FILES
    from pianogen.data import read_midi

    return encode(read_midi(MIDI_FILES[0]).sort_values("start").head(n))


def test_the_keys_it_reads_are_the_decoded_pieces_sounding_keys():
    """At every note's onset, the keys the heads read as sounding (from the notes before it) are
    exactly those of the decoded piece, with a key's note ended where the key is struck again."""
    tokens = _piece()
    kb = _model(True).keyboard
    prev, nxt = torch.from_numpy(tokens[:-1])[None], torch.from_numpy(tokens[1:])[None]
    onset, last_start, last_end = kb.advance(prev, None)
    at = onset + kb.step_seconds[nxt[..., 0]]
    sounding = kb.read(at, last_start, last_end)[0, :, 0].bool().numpy()  # (notes - 1, 128)

    cfg = NoteTupleConfig()
    start = np.cumsum(cfg.step_grid.value(tokens[:, 0]))  # in token order (decode sorts chords by pitch)
    played = pd.DataFrame({"pitch": tokens[:, 1], "start": start, "end": start + cfg.duration_grid.value(tokens[:, 2])})
    notes = cut_restrikes(played)
    start, end, pitch = (notes[c].to_numpy() for c in ("start", "end", "pitch"))
    for i in range(1, len(notes)):
        expected = set(pitch[:i][end[:i] > start[i] + SOUNDING_MIN].tolist())
        # A key struck again at this very onset (a re-strike) is read from its new note.
        assert set(np.flatnonzero(sounding[i - 1]).tolist()) == expected, f"note {i}"
    assert (sounding.sum(1) >= 2).mean() > 0.1  # not a trivial check: chords and held notes are read


def test_a_new_keyboard_starts_as_the_model_without_one(tmp_path):
    from pianogen.checkpoints import load_weights, save

    plain = _model(False)
    path = tmp_path / "plain.pt"
    save(path, {"kind": "note-transformer", "model_config": SIZES, "state_dict": plain.state_dict()})
    torch.manual_seed(1)
    with_keys = build_model("note-transformer", {**SIZES, "keyboard": True}).eval()
    new = load_weights(with_keys, path)
    assert new and all(n.startswith("keyboard.") for n in new)
    x = torch.from_numpy(_piece(60))[None]
    for a, b in zip(plain(x[:, :-1], target=x[:, 1:])[0], with_keys(x[:, :-1], target=x[:, 1:])[0]):
        assert torch.equal(a, b)


def test_stepping_and_sampling_read_the_keyboard_as_training_does():
    """One note at a time through the cache gives the teacher-forced logits of a whole window,
    and generate_step draws each field from them."""
    m = _model(True)
    x = torch.from_numpy(_piece(40))[None]
    with torch.no_grad():
        full = m(x[:, :-1], target=x[:, 1:])[0]
        h, state = m(x[:, :10])
        h = h[:, -1]
        for t in range(10, x.shape[1] - 1):
            seen = {}

            def replay(field, logits, t=t):  # draw what the piece played, keep the logits
                seen[field] = logits
                return x[:, t, field]

            assert torch.equal(m.generate_step(h, replay, state)[0], x[0, t])
            for f in range(4):
                torch.testing.assert_close(seen[f], full[f][:, t - 1], rtol=1e-4, atol=1e-4)
            h, state = m.step(x[:, t], state)


def test_a_keyboard_model_samples_past_its_context(tmp_path):
    from pianogen.checkpoints import save
    from pianogen.models import config_dict
    from pianogen.representations.codecs import CODEC_FOR_MODEL
    from pianogen.sampling import sample

    m = _model(True)
    path = tmp_path / "kb.pt"
    codec = CODEC_FOR_MODEL["note-transformer"]()
    save(path, {"kind": "note-transformer", "model_config": config_dict(m), "representation": codec.to_dict(), "state_dict": m.state_dict()})
    notes = sample(path, seed_notes="C4 E4 G4", seconds=300, seed=0, n=2)  # random steps: about 1 s apart
    assert notes.groupby("sample").size().min() > SIZES["context"]


def test_keyboard_needs_the_default_grids():
    with pytest.raises(ValueError, match="default grids"):
        build_model("note-transformer", {**SIZES, "vocab_sizes": (100, 128, 124, 32), "keyboard": True})


def test_the_pitch_bias_is_a_convolution_over_the_keyboard():
    """The banded matrix gives what a convolution along the keys gives (an interval pattern that
    moves with the held key)."""
    kb = _model(True).keyboard
    k = torch.rand(5, 3, 128)
    reach = (kb.pitch.shape[1] - 1) // 2
    conv = torch.nn.functional.conv1d(k, kb.pitch[None], padding=reach)[:, 0]
    torch.testing.assert_close(k.flatten(1) @ kb.banded(), conv, rtol=1e-5, atol=1e-5)
