"""Render notes to WAV with FluidSynth and a General MIDI soundfont.

Engines, in order: FluidSynth (``pyfluidsynth`` + the system ``libfluidsynth``) with the
first soundfont found (``$PIANOGEN_SOUNDFONT``, Debian's FluidR3_GM, other common
places, then the small TimGM6mb bundled with pretty_midi); if FluidSynth cannot load, a
small built-in synthesizer (pretty_midi's, decaying harmonics added here). The result
says which engine ran, so the app can tell the listener; a silent render is an error.
"""

from __future__ import annotations

import os
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)


@dataclass
class Rendered:
    path: Path
    engine: str  # "fluidsynth" or "builtin"
    soundfont: str | None
    seconds: float
    sample_rate: int
    rms: float
    note: str | None = None  # why a fallback was used


def find_soundfont() -> str | None:
    """Path of the best General MIDI soundfont available, or None."""
    candidates = [os.environ.get("PIANOGEN_SOUNDFONT", "")] + list(SOUNDFONTS)
    for c in candidates:
        if c and Path(c).is_file():
            return c
    try:
        import pretty_midi

        bundled = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
        return str(bundled) if bundled.is_file() else None
    except ImportError:
        return None


def _to_pretty_midi(music):
    import pretty_midi

    from pianogen.data.midi import to_pretty_midi, tracks_to_pretty_midi

    if isinstance(music, pretty_midi.PrettyMIDI):
        return music
    if isinstance(music, pd.DataFrame):
        return to_pretty_midi(music)
    if isinstance(music, dict):
        return tracks_to_pretty_midi(music)
    return pretty_midi.PrettyMIDI(str(music))


def _builtin(pm, sample_rate: int) -> np.ndarray:
    """A plain additive piano-ish tone: three harmonics with an exponential decay."""
    end = pm.get_end_time()
    out = np.zeros(int((end + 1.0) * sample_rate) + 1)
    for inst in pm.instruments:
        for n in inst.notes:
            length = int((n.end - n.start + 0.3) * sample_rate)
            t = np.arange(length) / sample_rate
            f = 440.0 * 2 ** ((n.pitch - 69) / 12)
            tone = sum(a * np.sin(2 * np.pi * f * k * t) for k, a in ((1, 1.0), (2, 0.4), (3, 0.2)))
            env = np.exp(-3.0 * t) * np.minimum(1.0, t * 200)  # 5 ms attack, then decay
            i = int(n.start * sample_rate)
            out[i : i + length] += (n.velocity / 127) * tone * env
    return out


def _write_wav(audio: np.ndarray, path: Path, sample_rate: int) -> None:
    from pianogen.io import atomic_path

    peak = float(np.abs(audio).max()) or 1.0
    pcm = (audio / peak * 0.9 * 32767).astype("<i2")
    with atomic_path(path) as tmp:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())


def render(music, path: str | os.PathLike, sample_rate: int = 44100, engine: str = "auto") -> Rendered:
    """Render a notes dataframe, a {track: notes} dict, a PrettyMIDI or a MIDI path to a
    16-bit mono WAV at ``path``. ``engine``: auto, fluidsynth or builtin."""
    pm = _to_pretty_midi(music)
    note = None
    audio, used, sf = None, "builtin", None
    if engine in ("auto", "fluidsynth"):
        sf = find_soundfont()
        try:
            if sf is None:
                raise RuntimeError("no General MIDI soundfont found")
            audio = pm.fluidsynth(fs=sample_rate, synthesizer=sf)
            used = "fluidsynth"
        except Exception as exc:  # ImportError (no pyfluidsynth/libfluidsynth) or a broken soundfont
            if engine == "fluidsynth":
                raise RuntimeError(f"FluidSynth cannot render: {exc}") from None
            note = f"FluidSynth unavailable ({str(exc).splitlines()[0][:120]}); used the built-in synthesizer"
            sf = None
    if audio is None:
        audio = _builtin(pm, sample_rate)
    rms = float(np.sqrt(np.mean(np.square(audio / (np.abs(audio).max() or 1.0))))) if len(audio) else 0.0
    if len(audio) == 0 or rms < 1e-4:
        raise ValueError(f"{path}: rendering produced silence (no notes to play?)")
    _write_wav(audio, Path(path), sample_rate)
    return Rendered(Path(path), used, sf, len(audio) / sample_rate, sample_rate, rms, note)


def wav_rms(path: str | os.PathLike) -> float:
    """RMS of a 16-bit WAV file, as a fraction of full scale."""
    with wave.open(str(path), "rb") as w:
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
    return float(np.sqrt(np.mean(data**2))) if len(data) else 0.0
