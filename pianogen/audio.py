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


# FluidSynth's raw output for piano peaks at 750-4,000 of 32,768 on the bundled pieces (gain 0.2),
# so a live stream, which cannot know its peak in advance, plays it 8 times louder through a soft
# limiter; a finished render (render()) is scaled by its own peak instead.
LIVE_GAIN = 8.0


class LiveRenderer:
    """FluidSynth rendering a piece at a time, for audio that plays while music is still sampled.

    Feed it successive notes frames with a time ``known`` (seconds) before which each frame is
    final (as :meth:`pianogen.sampling.SequenceSampler.stream` yields them): :meth:`feed` returns
    the audio from where the last call stopped up to ``known``, :meth:`finish` the rest with a
    second of release. One synthesizer holds every sounding note across calls, so the pieces join
    into exactly the audio one call would give. Use it as a context manager (the synthesizer is
    freed on leaving). Raises RuntimeError where FluidSynth or a soundfont is missing.
    """

    def __init__(self, sample_rate: int = 44100):
        from pretty_midi.fluidsynth import get_fluidsynth_instance

        sf = find_soundfont()
        if sf is None:
            raise RuntimeError("no General MIDI soundfont found")
        try:
            self.synth, sfid, _ = get_fluidsynth_instance(sf, fs=sample_rate)
        except Exception as exc:  # ImportError (no pyfluidsynth/libfluidsynth) or a broken soundfont
            raise RuntimeError(f"FluidSynth cannot render: {str(exc).splitlines()[0][:120]}") from None
        self.synth.program_select(0, sfid, 0, 0)  # channel 0, bank 0, program 0: acoustic grand
        self.sample_rate, self.soundfont = sample_rate, sf
        self.seconds = 0.0  # rendered up to here
        self._at = 0  # samples rendered
        self._last_release = 0.0

    def _samples_to(self, t: float) -> np.ndarray:
        n = int(self.sample_rate * t) - self._at
        if n <= 0:
            return np.zeros(0)
        self._at += n
        return self.synth.get_samples(n)[::2].astype(np.float64)  # interleaved stereo: the left channel

    def feed(self, notes: pd.DataFrame, known: float) -> np.ndarray:
        """Audio (mono floats in [-1, 1]) from the end of the last call to ``known`` seconds, playing
        every note-on and note-off of ``notes`` in that span; later ones wait for a later frame."""
        if known <= self.seconds:
            return np.zeros(0)
        lo, hi = self.seconds, known
        events = [(t, 0, p, 0) for t, p in zip(notes["end"], notes["pitch"]) if lo <= t < hi]
        events += [(t, 1, p, v) for t, p, v in zip(notes["start"], notes["pitch"], notes["velocity"]) if lo <= t < hi]
        events.sort()  # by time, releases before strikes at one time (as pretty_midi orders them)
        parts = []
        for t, on, pitch, velocity in events:
            parts.append(self._samples_to(t))
            if on:
                self.synth.noteon(0, int(pitch), int(velocity))
            else:
                self.synth.noteoff(0, int(pitch))
        parts.append(self._samples_to(hi))
        self.seconds = hi
        if len(notes):
            self._last_release = max(self._last_release, float(notes["end"].max()))
        return np.tanh(np.concatenate(parts) * (LIVE_GAIN / 32768))

    def finish(self, notes: pd.DataFrame, tail: float = 1.0) -> np.ndarray:
        """The rest of ``notes`` (the final frame), up to its last release and ``tail`` seconds after."""
        end = max(self.seconds, float(notes["end"].max()) if len(notes) else 0.0, self._last_release)
        return np.concatenate([self.feed(notes, end + 1e-9), self.feed(notes.iloc[:0], end + tail)])

    def __enter__(self) -> "LiveRenderer":
        return self

    def __exit__(self, *exc) -> None:
        self.synth.delete()


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """Mono floats in [-1, 1] as the bytes of a 16-bit WAV file (a stream's chunk)."""
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return buf.getvalue()
