"""MIDI -> note dataframes, checked against independent readers on every bundled file."""

from __future__ import annotations

import mido
import numpy as np
import pytest

from conftest import MIDI_FILES, file_id
from pianogen.data.midi import RawTrack, apply_sustain, read_midi, write_midi

assert len(MIDI_FILES) == 42, "the bundled corpus is incomplete"


def mido_note_ons(path) -> np.ndarray:
    """(time s, pitch) of every note-on with velocity > 0, read by mido alone."""
    t, out = 0.0, []
    for msg in mido.MidiFile(path):  # iterating a MidiFile yields delta times in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel != 9:
            out.append((t, msg.note))
    arr = np.array(out)
    return arr[np.lexsort((arr[:, 1], arr[:, 0]))]


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
def test_counts_and_onsets_match_mido(path):
    notes = read_midi(path, sustain=False)
    ref = mido_note_ons(path)
    assert len(notes) == len(ref)
    assert np.array_equal(notes["pitch"].to_numpy(), ref[:, 1].astype(int))
    assert np.abs(notes["start"].to_numpy() - ref[:, 0]).max() < 1e-3


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
@pytest.mark.parametrize("sustain", [True, False], ids=["sustain", "no-sustain"])
def test_symusic_matches_pretty_midi(path, sustain):
    fast = read_midi(path, sustain=sustain, backend="symusic")
    ref = read_midi(path, sustain=sustain, backend="pretty_midi")
    assert len(fast) == len(ref)
    for col in ["pitch", "velocity"]:
        assert np.array_equal(fast[col].to_numpy(), ref[col].to_numpy())
    for col in ["start", "end", "duration", "step"]:
        np.testing.assert_allclose(fast[col].to_numpy(), ref[col].to_numpy(), atol=1e-6)


@pytest.mark.parametrize("path", MIDI_FILES, ids=file_id)
def test_write_read_round_trip(path, tmp_path):
    notes = read_midi(path)
    out = write_midi(notes, tmp_path / "out.mid")
    back = read_midi(out)
    assert len(back) == len(notes)
    assert np.array_equal(back["pitch"].to_numpy(), notes["pitch"].to_numpy())
    assert np.array_equal(back["velocity"].to_numpy(), notes["velocity"].to_numpy())
    for col in ["start", "end"]:
        assert np.abs(back[col].to_numpy() - notes[col].to_numpy()).max() < 1e-3


def test_notes_frame_contract():
    notes = read_midi(MIDI_FILES[0])
    assert list(notes.columns) == ["pitch", "velocity", "start", "end", "duration", "step"]
    assert notes["pitch"].between(0, 127).all() and notes["velocity"].between(1, 127).all()
    starts = notes["start"].to_numpy()
    assert (np.diff(starts) >= 0).all()
    np.testing.assert_allclose(notes["step"].to_numpy()[1:], np.diff(starts))
    assert notes["step"].iloc[0] == 0
    np.testing.assert_allclose(notes["duration"], notes["end"] - notes["start"])


def test_sustain_only_lengthens_notes():
    for path in MIDI_FILES[:5]:
        dry, wet = read_midi(path, sustain=False), read_midi(path, sustain=True)
        assert len(dry) == len(wet)
        assert (wet["end"].to_numpy() >= dry["end"].to_numpy() - 1e-9).all()
        assert wet["duration"].mean() > dry["duration"].mean()


def _track(pitch, start, end, cc_t, cc_v):
    a = lambda x: np.array(x, dtype=float)  # noqa: E731
    return RawTrack(np.array(pitch), np.full(len(pitch), 80), a(start), a(end), a(cc_t), np.array(cc_v))


def test_apply_sustain_by_hand():
    # Pedal down 1.0-3.0 s. Note A released at 1.5 (held to 3.0); note B re-strikes A's
    # key at 2.0 (A is damped at 2.0); note C released at 0.5 before the pedal (unchanged);
    # note D released at 4.0 after the release (unchanged).
    t = _track([60, 60, 64, 67], [0.2, 2.0, 0.1, 3.5], [1.5, 2.5, 0.5, 4.0], [1.0, 2.2, 3.0], [127, 100, 0])
    np.testing.assert_allclose(apply_sustain(t), [2.0, 3.0, 0.5, 4.0])


def test_apply_sustain_pedal_never_released():
    t = _track([60], [0.0], [1.0], [0.5], [127])
    np.testing.assert_allclose(apply_sustain(t), [1.0])  # file ends at the note's end
    t = _track([60, 62], [0.0, 0.0], [1.0, 5.0], [0.5], [127])
    np.testing.assert_allclose(apply_sustain(t), [5.0, 5.0])
