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


def _envelope(audio, rate: int = 44100, frame: float = 0.05):
    import numpy as np

    n = int(rate * frame)
    a = np.asarray(audio, dtype=float)[: len(audio) // n * n].reshape(-1, n)
    return np.sqrt((a**2).mean(1))


def test_live_rendering_in_pieces_is_one_render(tmp_path):
    """Fed a piece at a time (notes known up to a time), the live renderer gives exactly the audio
    of one call, and that audio is the one-shot render's (same notes, same loudness shape)."""
    import numpy as np

    from pianogen.audio import LiveRenderer, wav_bytes

    notes = read_midi(MIDI_FILES[0])
    notes = notes[notes["start"] < 10].copy()
    notes["end"] = notes["end"].clip(upper=10)
    with LiveRenderer() as live:
        pieces = [live.feed(notes, t) for t in (0.7, 2.0, 2.0, 5.3, 9.1)] + [live.finish(notes)]
    with LiveRenderer() as live:
        whole = live.finish(notes)
    joined = np.concatenate(pieces)
    assert len(pieces[2]) == 0 and np.array_equal(joined, whole)
    assert len(whole) == int(44100 * (notes["end"].max() + 1.0))  # to the last release and a second after
    assert np.abs(whole).max() <= 1.0 and np.sqrt((whole**2).mean()) > 0.02
    one_shot = render(notes, tmp_path / "a.wav")
    with wave.open(str(one_shot.path)) as w:
        ref = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(float)
    a, b = _envelope(whole), _envelope(ref)
    m = min(len(a), len(b))
    assert np.corrcoef(a[:m], b[:m])[0, 1] > 0.95
    chunk = wav_bytes(pieces[1], 44100)
    with wave.open(__import__("io").BytesIO(chunk)) as w:
        assert w.getnframes() == len(pieces[1]) and w.getframerate() == 44100 and w.getsampwidth() == 2
