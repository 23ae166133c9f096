"""Audio rendering: FluidSynth with a GM soundfont, and the built-in fallback; never silent."""

from __future__ import annotations

import wave

import pandas as pd
import pytest

from conftest import MIDI_FILES
from pianogen.audio import find_soundfont, render, wav_rms
from pianogen.data import read_midi


def test_fluidsynth_renders_a_bundled_piece(tmp_path):
    notes = read_midi(MIDI_FILES[0])
    notes = notes[notes["start"] < 20]
    out = render(notes, tmp_path / "a.wav")
    assert out.engine == "fluidsynth", out.note
    assert out.soundfont and out.soundfont.endswith(".sf2")
    with wave.open(str(out.path)) as w:
        assert w.getframerate() == 44100 and w.getsampwidth() == 2
        assert 19 < w.getnframes() / 44100 < 40
    assert wav_rms(out.path) > 0.02  # clearly above silence (full scale = 1)


def test_soundfont_is_a_real_gm_bank():
    sf = find_soundfont()
    assert sf is not None
    with open(sf, "rb") as f:
        head = f.read(12)
    assert head[:4] == b"RIFF" and head[8:12] == b"sfbk"


def test_builtin_fallback_when_fluidsynth_is_missing(tmp_path, monkeypatch):
    import pretty_midi

    def broken(*a, **k):
        raise ImportError("No module named 'fluidsynth'")

    monkeypatch.setattr(pretty_midi.PrettyMIDI, "fluidsynth", broken)
    notes = read_midi(MIDI_FILES[1])
    out = render(notes[notes["start"] < 10], tmp_path / "b.wav")
    assert out.engine == "builtin" and "FluidSynth unavailable" in out.note
    assert wav_rms(out.path) > 0.02


def test_rendering_nothing_is_an_error(tmp_path):
    empty = pd.DataFrame({"pitch": [], "velocity": [], "start": [], "end": []})
    with pytest.raises(ValueError, match="silence"):
        render(empty, tmp_path / "c.wav", engine="builtin")
    assert not (tmp_path / "c.wav").exists()
