#!/usr/bin/env python3
"""pianogen's Gradio app: sample the shipped RNNs and MuseGAN and hear the result.

    python app.py                 # http://127.0.0.1:7860
    python app.py --port 7861 --share

Models load once at start from checkpoints/; each click samples, renders audio with
FluidSynth, draws a pianoroll and offers the MIDI file, with the exact parameters.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing reaches the network at start or run time
# Gradio copies every returned file (and every upload) into its own folder; this app bounds that
# folder as it bounds its own (see _out_dir), so it gets one of its own.
os.environ.setdefault("GRADIO_TEMP_DIR", os.path.join(tempfile.gettempdir(), "pianogen-gradio"))

import gradio as gr  # noqa: E402

from pianogen.audio import LiveRenderer, render, wav_bytes  # noqa: E402
from pianogen.cards import find_checkpoints, first_click_order, model_card  # noqa: E402
from pianogen.checkpoints import CheckpointError  # noqa: E402
from pianogen.data import MidiReadError, load_metadata, write_midi  # noqa: E402
from pianogen.evaluation.compare import display_table, listener_tables  # noqa: E402
from pianogen.evaluation.memorization import PassageIndex  # noqa: E402
from pianogen.checkpoints import UNTUNED  # noqa: E402
from pianogen.cli import sampling_threads  # noqa: E402
from pianogen.io import prune_folders  # noqa: E402
from pianogen.plots import pianoroll_png  # noqa: E402
from pianogen.representations.keys import key_name, parse_key  # noqa: E402
from pianogen.representations.textures import DENSITIES, FACTOR_NAMES, FACTORS, LOUDNESS, RHYTHMS  # noqa: E402
from pianogen.sampling import interpolate, load_gan, load_sampler, sample, sample_gan  # noqa: E402

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "data" / "maestro-mini" / "maestro-v3.0.0"
OUT = Path(tempfile.gettempdir()) / "pianogen-app"
COMPARE = ROOT / "docs" / "compare"  # made offline by scripts/compare.py, shipped
MAX_UPLOAD = "5mb"
# Clicks served at once (benchmarks/app_concurrency.py measures it; docs/benchmarks.md says why).
CONCURRENCY = int(os.environ.get("PIANOGEN_CONCURRENCY", 2))
SEED_SOURCES = ["Note names", "Upload a MIDI file", "A bundled MAESTRO piece"]
MAX_SECONDS = 180  # longest autoregressive request (s after the seed); the slider stops at 60
MAX_SEED_SECONDS = 30  # longest opening taken from an uploaded or bundled MIDI file
MAX_MOTIF_STRENGTH = 10  # strongest motif memory the app takes: each proposal then almost always wins
MAX_BARS = 64
MIN_BPM, MAX_BPM = 40, 240  # tempo range of musical-time MuseGAN requests (beats per minute)
# Streamed audio: a chunk each time this many more seconds of music are sampled (the first ones
# play while the rest is sampled; benchmarks/first_sound.py measures the wait).
STREAM_SECONDS = 2.0


def bundled_pieces() -> dict[str, Path]:
    meta = load_metadata(CORPUS)
    return {f"{r.composer}: {r.title} ({Path(r.midi_filename).stem[-12:]})": CORPUS / r.midi_filename for r in meta.itertuples()}


# A public Space runs for weeks: each click's WAV, PNG and MIDI (about 3-6 MB) must not fill its
# disk. Results older than an hour, or beyond 500 MB in all, are removed before each new click.
OUT_MAX_AGE_SECONDS = float(os.environ.get("PIANOGEN_OUT_MAX_AGE", 3600))
OUT_MAX_BYTES = int(float(os.environ.get("PIANOGEN_OUT_MAX_MB", 500)) * 1e6)
GRADIO_KEEP = int(os.environ.get("PIANOGEN_GRADIO_KEEP", 64))


def _bounded(value, name: str, lo: float, hi: float) -> float:
    """A request's number, refused with a clear error unless finite and within [lo, hi]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {str(value)[:40]!r}") from None
    if not (lo <= v <= hi):  # also catches NaN
        raise ValueError(f"{name} must be between {lo:g} and {hi:g}, not {v:g}")
    return v


def _seed(value) -> int:
    return int(_bounded(value, "seed", 0, 2**31 - 1))


def _out_dir() -> Path:
    prune_folders(OUT, OUT_MAX_AGE_SECONDS, OUT_MAX_BYTES)
    # Gradio's copies of returned files and uploads: one folder per file, same bounds. The newest
    # GRADIO_KEEP (64: the last ~16 clicks' files) always stay, so nothing a listener still loads goes.
    prune_folders(os.environ["GRADIO_TEMP_DIR"], OUT_MAX_AGE_SECONDS, OUT_MAX_BYTES, keep=GRADIO_KEEP)
    d = OUT / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def passage_indexes(paths) -> dict[Path, PassageIndex]:
    """{checkpoint: copy-check index of its training corpus} for those with a shipped index
    (checkpoints/passages-CORPUS.npz, made by scripts/build_passage_index.py); each file loads once."""
    loaded: dict[str, PassageIndex] = {}
    out = {}
    for p in paths:
        f = PassageIndex.path_for(p)
        if f.is_file():
            if f.name not in loaded:
                loaded[f.name] = PassageIndex.load(f)
            out[p] = loaded[f.name]
    return out


def _finish(notes, title: str, params: dict, folder: Path, track_names=None, multi_midi=None, voices=None, copy_check: str = "",
            streamed: tuple[str, bytes] | None = None):
    """Render audio and a pianoroll; returns the outputs every tab shows. ``voices``
    ({name: notes}) renders one instrument per voice instead of the merged notes. ``streamed``:
    (soundfont, last chunk) of audio already streaming, which this chunk ends: the audio output is
    that chunk, and Gradio hands API clients the whole stream as one file."""
    midi = multi_midi or write_midi(notes, folder / "sample.mid")
    audio = None if streamed else render(voices if voices is not None else notes, folder / "sample.wav")
    png = pianoroll_png(notes, folder / "pianoroll.png", title=title, track_names=track_names)
    if streamed:
        used, status_audio = "fluidsynth", f"Audio streamed with FluidSynth ({Path(streamed[0]).name}) while it was sampled."
    else:
        used = audio.engine
        engine = f"FluidSynth ({Path(audio.soundfont).name})" if audio.engine == "fluidsynth" else "the built-in synthesizer"
        status_audio = f"Audio rendered with {engine}." + (f" Note: {audio.note}." if audio.note else "")
    status = f"{len(notes)} notes, {notes['end'].max():.1f} s of music. {status_audio}"
    if copy_check:
        status += f"\n\n{copy_check}"
    t0 = params.pop("_t0")
    params = {**params, "audio_engine": used, "audio_streamed": bool(streamed), "seconds_taken": round(time.perf_counter() - t0, 2)}
    return streamed[1] if streamed else str(audio.path), str(png), str(midi), params, status


def live_audio() -> bool:
    """Whether clicks can hear their audio while it is sampled: Gradio encodes a streamed output
    with ffmpeg, and the stream is rendered by FluidSynth. Otherwise audio comes when all is done."""
    import shutil

    if shutil.which("ffmpeg") is None:
        return False
    try:
        with LiveRenderer():
            pass
    except RuntimeError:
        return False
    return True


@dataclass
class Loaded:
    """Everything the app loads once at start, so a click only samples: the checkpoints found
    ({label: path}), their loaded samplers, the copy-check indexes and the bundled pieces."""

    sequence_models: dict
    gans: dict
    samplers: dict
    gan_samplers: dict
    copy_index: dict
    pieces: dict
    live: bool = False  # audio streams while it is sampled (see live_audio)

    def copy_line(self, path: Path, generated) -> str:
        index = self.copy_index.get(path)
        return index.describe(generated) if index is not None and len(generated) > 1 else ""


def load_models(checkpoint_dir: Path) -> Loaded:
    sequence_models, gans = find_checkpoints(checkpoint_dir)
    # The first click plays the first model: the one whose single samples were measured closest to real music.
    sequence_models = first_click_order(sequence_models)
    return Loaded(sequence_models, gans, {label: load_sampler(p) for label, p in sequence_models.items()},
                  {label: load_gan(p) for label, p in gans.items()}, passage_indexes([*sequence_models.values(), *gans.values()]),
                  bundled_pieces(), live_audio())


def build(checkpoint_dir: Path = ROOT / "checkpoints") -> gr.Blocks:
    m = load_models(checkpoint_dir)
    # Gradio's own cache (every returned file is copied there) is also emptied by age.
    with gr.Blocks(title="pianogen", delete_cache=(600, int(OUT_MAX_AGE_SECONDS))) as demo:
        gr.Markdown("# pianogen\nPiano music from models trained on MAESTRO. Pick a model, seed it, and listen.")
        with gr.Tab("Autoregressive"):
            autoregressive_tab(m)
        with gr.Tab("MuseGAN"):
            musegan_tab(m)
        with gr.Tab("Compare"):
            compare_tab()
    return demo


def autoregressive_tab(m: Loaded) -> None:
    """The autoregressive models' tab: its handler (API name /generate_rnn) and its layout."""
    # Defaults in the signature make every input optional for API clients (gradio_client):
    # a client names only what it changes (midi_file=None: no upload).
    def generate_autoregressive(checkpoint, source, note_names, midi_file=None, piece=None, seed_seconds=5, temperature=1.0, top_p=0.95, seconds=20, seed=0,
                     notes_per_second=0, measured_defaults=True, motif_memory=None, progress=gr.Progress(), stream=False):
        """``measured_defaults`` (the default, also for API clients that leave it out) plays the
        checkpoint's own measured temperature, top-p, tilt and (note models) pitch temperature and
        ignores the two sliders.
        ``motif_memory``: how strongly a note model brings back its own figures (0 = off), used
        like the two sliders only without ``measured_defaults`` (which plays the strength
        recorded with the checkpoint); event models have none.
        ``stream`` (the page's button, where audio can stream): the audio output is a stream whose
        chunks play while the rest is sampled; API clients get one WAV file when all is done."""
        t0 = time.perf_counter()
        try:
            if checkpoint not in m.samplers:
                raise ValueError("choose a checkpoint")
            seconds, seed_seconds = _bounded(seconds, "seconds", 1, MAX_SECONDS), _bounded(seed_seconds, "seed_seconds", 0.5, MAX_SEED_SECONDS)
            nps = _bounded(notes_per_second or 0, "notes_per_second", 0, 64) or None
            if source == SEED_SOURCES[0]:
                # Text is note names, always: it is never opened as a file.
                seed_notes, seed_desc = (note_names or "").strip(), (note_names or "").strip()[:200]
                if not seed_notes:
                    raise ValueError("empty seed: type note names such as 'C4 E4 G4' (or pick another seed source)")
            elif source == SEED_SOURCES[1]:
                if not midi_file:
                    raise ValueError("upload a MIDI file first")
                seed_notes, seed_desc = Path(midi_file), Path(midi_file).name
            elif source == SEED_SOURCES[2]:
                if piece not in m.pieces:
                    raise ValueError("choose a bundled piece")
                seed_notes, seed_desc = m.pieces[piece], piece
            else:
                raise ValueError(f"choose a seed source: {', '.join(SEED_SOURCES)}")
            sampler = m.samplers[checkpoint]
            if measured_defaults:
                temperature, top_p, _ = sampler.defaults
            temperature, top_p = _bounded(temperature, "temperature", 0.0, 5.0), _bounded(top_p, "top_p", 0.01, 1.0)
            # Like temperature: a client leaving it out gets the slider's start value, which is
            # the first model's, so only the measured-defaults switch can mean "this model's own".
            strength = sampler.motif_strength if measured_defaults or motif_memory is None else _bounded(motif_memory, "motif_memory", 0.0, MAX_MOTIF_STRENGTH)
            strength = strength if sampler.motif_memory is not None else 0.0
            request = dict(seed_notes=seed_notes, seconds=seconds, temperature=temperature, top_p=top_p, seed=_seed(seed),
                           seed_seconds=None if source == SEED_SOURCES[0] else seed_seconds, notes_per_second=nps,
                           time_tilt=None if measured_defaults else 0.0, motif_memory=strength,
                           # Like the tilt: the measured pitch-field temperature belongs to the defaults;
                           # the sliders alone play every field at the one temperature.
                           pitch_temperature=None if measured_defaults else temperature)
            pitch_t = sampler.pitch_temperature_for(temperature, request["pitch_temperature"])  # None: as the rest
            pitch_t = temperature if pitch_t is None else pitch_t
            streamed = None
            if stream:
                # The seed plays at once, then each STREAM_SECONDS of music as soon as it is sampled.
                with LiveRenderer() as live:
                    for notes, known in sampler.stream(**request, every=STREAM_SECONDS):
                        chunk = live.feed(notes, known)
                        if len(chunk):
                            yield wav_bytes(chunk, live.sample_rate), *[gr.skip()] * 4
                    streamed = live.soundfont, wav_bytes(live.finish(notes), live.sample_rate)
            else:
                progress(0.1, desc="sampling")
                notes = sample(sampler, **request)
                progress(0.6, desc="rendering audio")
            params = {"_t0": t0, "model": m.sequence_models[checkpoint].name, "seed_source": source, "seed_notes": seed_desc, "seed_seconds": None if source == SEED_SOURCES[0] else seed_seconds,
                      "seconds": seconds, "temperature": temperature, "top_p": top_p, "seed": _seed(seed), "notes_per_second": nps,
                      "measured_defaults": bool(measured_defaults), "motif_memory": strength, "weights": sampler.weights,
                      "pitch_temperature": pitch_t}
            yield _finish(notes, f"{m.sequence_models[checkpoint].stem}: seed (grey) + {seconds:g} s", params, _out_dir(),
                          copy_check=m.copy_line(m.sequence_models[checkpoint], notes[~notes["is_seed"]]), streamed=streamed)
        except (ValueError, MidiReadError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Row():
        with gr.Column():
            ck = gr.Dropdown(list(m.sequence_models), value=next(iter(m.sequence_models), None), label="Checkpoint")
            card = gr.Markdown(model_card(m.sequence_models[next(iter(m.sequence_models))]) if m.sequence_models else "", elem_id="rnn-card")
            source = gr.Radio(SEED_SOURCES, value=SEED_SOURCES[0], label="Seed")
            names = gr.Textbox("C4 E4 G4 C5", label="Note names ('+' joins a chord, '_' rests)")
            # Only the chosen seed source's inputs show.
            upload = gr.File(label="MIDI file (.mid / .midi)", file_types=[".mid", ".midi"], type="filepath", visible=False)
            piece = gr.Dropdown(list(m.pieces), value=next(iter(m.pieces)), label="Bundled MAESTRO piece", visible=False)
            seed_seconds = gr.Slider(1, 30, value=5, step=1, label="Seed length (first N seconds of the MIDI)", visible=False)
            source.change(lambda s: (gr.update(visible=s == SEED_SOURCES[0]), gr.update(visible=s == SEED_SOURCES[1]),
                                     gr.update(visible=s == SEED_SOURCES[2]), gr.update(visible=s != SEED_SOURCES[0])),
                          source, [names, upload, piece, seed_seconds], api_visibility="private")
            t0, p0 = next(iter(m.samplers.values())).defaults[:2] if m.sequence_models else UNTUNED
            measured = gr.Checkbox(True, label="Play as measured best for this model (temperature, top-p, time tilt and motif memory)")
            temperature = gr.Slider(0.1, 2.0, value=t0, step=0.05, label="Temperature", interactive=False)
            top_p = gr.Slider(0.5, 1.0, value=p0, step=0.01, label="Top-p", interactive=False)
            measured.change(lambda m: (gr.update(interactive=not m), gr.update(interactive=not m)), measured, [temperature, top_p],
                            api_visibility="private")
            seconds = gr.Slider(2, 60, value=20, step=1, label="Length (seconds after the seed)", elem_id="rnn-seconds")
            # A target, not a knob: each model turns it into its own control (a density-conditioned
            # model's input, or another model's time tilt through its measured calibration).
            density = gr.Slider(0, 24, value=0, step=1, label="Notes per second (0 = as the model plays)")
            first_sampler = next(iter(m.samplers.values()), None)
            motif = gr.Slider(0, MAX_MOTIF_STRENGTH, value=_motif_value(first_sampler), step=0.5, visible=_has_motif(first_sampler),
                              interactive=False, label="Motif memory: bring back its own figures (0 = off)")
            measured.change(lambda m: gr.update(interactive=not m), measured, motif, api_visibility="private")
            seed = gr.Number(0, precision=0, label="Random seed")
            go = gr.Button("Generate", variant="primary", elem_id="generate-rnn")
        with gr.Column():
            # Streamed where it can be (see live_audio): the first seconds play while the rest is sampled.
            player = gr.Audio(type="filepath", label="Audio", elem_id="rnn-audio", streaming=m.live, autoplay=m.live)
            shown = [gr.Image(type="filepath", label="Pianoroll"), gr.File(label="MIDI"), gr.JSON(label="Parameters", elem_id="rnn-params"), gr.Markdown()]
    inputs = [ck, source, names, upload, piece, seed_seconds, temperature, top_p, seconds, seed, density, measured, motif]
    # The public API name predates the Transformers; clients call it and get a WAV file. Where the
    # page streams, its button runs the same handler privately with the stream as its audio output.
    outs = [player, *shown]
    if m.live:
        play = functools.partial(generate_autoregressive, stream=True)
        go.click(play, inputs, outs, api_visibility="private")
        outs = [gr.Audio(type="filepath", visible=False), *shown]
        gr.Button(visible=False).click(generate_autoregressive, inputs, outs, api_name="generate_rnn")
    else:
        play = generate_autoregressive
        go.click(play, inputs, outs, api_name="generate_rnn")
    ck.change(lambda c: (*m.samplers[c].defaults[:2], model_card(m.sequence_models[c])) if c in m.sequence_models else (*UNTUNED, ""), ck, [temperature, top_p, card],
              api_visibility="private")
    ck.change(lambda c: gr.update(value=_motif_value(m.samplers.get(c)), visible=_has_motif(m.samplers.get(c))), ck, motif, api_visibility="private")
    if m.sequence_models:
        first, (t_, p_) = next(iter(m.sequence_models)), next(iter(m.samplers.values())).defaults[:2]
        mm = _motif_value(next(iter(m.samplers.values())))
        opening = next((k for k in m.pieces if "Chopin" in k), next(iter(m.pieces)))
        gr.Examples(
            examples=[
                [first, SEED_SOURCES[0], "C4 E4 G4 C5", None, opening, 5, t_, p_, 20, 0, 0.0, True, mm],
                [first, SEED_SOURCES[0], "A3+C4+E4 _ F3+A3+C4 _ C3+G3+C4+E4 _ G2+G3+B3+D4", None, opening, 5, t_, p_, 20, 3, 0.0, True, mm],
                [first, SEED_SOURCES[2], "", None, opening, 6, t_, p_, 20, 1, 0.0, True, mm],
            ],
            inputs=inputs, outputs=[player, *shown], fn=play, run_on_click=True, cache_examples=False,
            example_labels=["A C major arpeggio", "A minor chord progression", f"Continue {opening.split(':')[0]}"],
            label="One click: a seed melody, a chord progression, a bundled opening")


def _has_motif(sampler) -> bool:
    """Whether a sampler has a motif memory to set (note models with a fitted one)."""
    return sampler is not None and sampler.motif_memory is not None


def _motif_value(sampler) -> float:
    """The motif slider's preset for a sampler: its recorded strength (0 without a memory)."""
    return sampler.motif_strength if sampler is not None else 0.0


def musegan_tab(m: Loaded) -> None:
    """MuseGAN's tab: its handler (API name /generate_gan) and its layout."""
    def generate_gan(checkpoint, seed_a, seed_b, alpha, bars, voices, tempo=0, key=ANY_KEY, rhythm=ANY_TEXTURE, density=ANY_TEXTURE, loudness=ANY_TEXTURE,
                     progress=gr.Progress()):
        t0 = time.perf_counter()
        try:
            if checkpoint not in m.gan_samplers:
                raise ValueError("choose a MuseGAN checkpoint")
            if not voices:
                raise ValueError("choose at least one voice to hear")
            g = m.gan_samplers[checkpoint]
            bars = int(_bounded(bars, "bars", 1, MAX_BARS))
            alpha = _bounded(alpha, "alpha", 0.0, 1.0)
            seed_a, seed_b = _seed(seed_a), _seed(seed_b)
            unknown = set(voices) - {"melody", "inner", "bass"}
            if unknown:
                raise ValueError(f"unknown voices {sorted(unknown)}: choose from melody, inner, bass")
            bpm = _bounded(tempo, "tempo", MIN_BPM, MAX_BPM) if g.musical_time and tempo else None  # 0: the model's own
            key_class, texture = _gan_key(g, key), _gan_texture(g, rhythm, density, loudness)
            z = interpolate(g.latent(seed_a, 1, bars), g.latent(seed_b, 1, bars), alpha)
            progress(0.2, desc="generating")
            result = sample_gan(g, z=z, seed=seed_a, bars=bars, bpm=bpm, key=key_class, texture=texture)  # "any": drawn from seed A
            notes = result.merged(0, list(voices))
            if len(notes) == 0:
                raise ValueError("the chosen voices are silent in this sample; pick more voices or another seed")
            folder = _out_dir()
            midi, _ = result.write_midi(folder / "sample.mid", folder / "sample-merged.mid", tracks=list(voices))
            progress(0.6, desc="rendering audio")
            params = {"_t0": t0, "model": m.gans[checkpoint].name, "seed_a": int(seed_a), "seed_b": int(seed_b), "alpha": float(alpha), "bars": bars, "voices": list(voices), "threshold": 0.5,
                      **({"bpm": result.bpm, "time_signature": f"{g.roll_cfg.beats_per_bar}/4"} if g.musical_time else {"bar_seconds": g.roll_cfg.seconds_per_bar()}),
                      **({"key": result.params["keys"][0]} if g.keyed else {}), **({"texture": result.params["textures"][0]} if g.textured else {})}
            return _finish(notes, f"{m.gans[checkpoint].stem}: {bars} bars, alpha {alpha:.2f}", params, folder, track_names=result.tracks, multi_midi=midi,
                           voices=result.track_notes(0, list(voices)), copy_check=m.copy_line(m.gans[checkpoint], notes))
        except (ValueError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Row():
        with gr.Column():
            gck = gr.Dropdown(list(m.gans), value=next(iter(m.gans), None), label="Checkpoint")
            gcard = gr.Markdown(model_card(m.gans[next(iter(m.gans))]) if m.gans else "", elem_id="gan-card")
            gck.change(lambda c: model_card(m.gans[c]) if c in m.gans else "", gck, gcard, api_visibility="private")
            seed_a = gr.Number(0, precision=0, label="Latent seed A")
            seed_b = gr.Number(1, precision=0, label="Latent seed B")
            alpha = gr.Slider(0, 1, value=0, step=0.05, label="Interpolation A -> B")
            bars = gr.Slider(1, 64, value=4, step=1, label="Bars (past 8 the latents walk slowly, so a long piece evolves)")
            g0_musical = bool(m.gans) and m.gan_samplers[next(iter(m.gans))].musical_time
            tempo = gr.Slider(MIN_BPM, MAX_BPM, value=_gan_bpm(m.gan_samplers, next(iter(m.gans), None)), step=1, visible=g0_musical,
                              label="Tempo (beats per minute; 4 beats a bar; starts at the corpus' median)")
            g0_keyed = bool(m.gans) and m.gan_samplers[next(iter(m.gans))].keyed
            key = gr.Dropdown(KEY_CHOICES, value=ANY_KEY, visible=g0_keyed, label="Key (the signature's scale; a minor key shares its relative major's)")
            g0_textured = bool(m.gans) and m.gan_samplers[next(iter(m.gans))].textured
            with gr.Row(visible=g0_textured) as texture_row:  # a passage's kind: what the texture condition asks for
                rhythm = gr.Dropdown([ANY_TEXTURE, *RHYTHMS], value=ANY_TEXTURE, label="Rhythm (the most common gap between onsets)")
                density = gr.Dropdown([ANY_TEXTURE, *DENSITIES], value=ANY_TEXTURE, label="Density (keys struck per beat)")
                loudness = gr.Dropdown([ANY_TEXTURE, *LOUDNESS], value=ANY_TEXTURE, label="Loudness")
            voices = gr.CheckboxGroup(["melody", "inner", "bass"], value=["melody", "inner", "bass"], label="Voices to hear")
            ggo = gr.Button("Generate", variant="primary", elem_id="generate-gan")
        with gr.Column():
            gouts = [gr.Audio(type="filepath", label="Audio"), gr.Image(type="filepath", label="Pianoroll"), gr.File(label="MIDI (one track per voice)"), gr.JSON(label="Parameters"), gr.Markdown()]
    # A musical-time model's tempo starts at its corpus' median; a clock-time model has none.
    gck.change(lambda c: gr.update(visible=c in m.gan_samplers and m.gan_samplers[c].musical_time, value=_gan_bpm(m.gan_samplers, c)),
               gck, tempo, api_visibility="private")
    gck.change(lambda c: gr.update(visible=c in m.gan_samplers and m.gan_samplers[c].keyed), gck, key, api_visibility="private")
    gck.change(lambda c: gr.update(visible=c in m.gan_samplers and m.gan_samplers[c].textured), gck, texture_row, api_visibility="private")
    gan_inputs = [gck, seed_a, seed_b, alpha, bars, voices, tempo, key, rhythm, density, loudness]
    ggo.click(generate_gan, gan_inputs, gouts, api_name="generate_gan")
    if m.gans:
        g0, b0 = next(iter(m.gans)), _gan_bpm(m.gan_samplers, next(iter(m.gans)))
        k1 = KEY_CHOICES[1 + 2] if g0_keyed else ANY_KEY  # D major / B minor
        anything = [ANY_TEXTURE] * 3
        gr.Examples(examples=[[g0, 3, 7, 0.5, 8, ["melody", "inner", "bass"], b0, ANY_KEY, *anything], [g0, 0, 1, 0.0, 4, ["melody", "bass"], b0, k1, *anything]],
                    inputs=gan_inputs, outputs=gouts, fn=generate_gan, run_on_click=True,
                    cache_examples=False, example_labels=["Halfway between two latents, 8 bars", "Melody and bass only" + (", in D major" if g0_keyed else "")],
                    label="One click: a latent interpolation")




#: The MuseGAN tab's key choices: any (drawn from seed A), then the twelve signatures.
ANY_KEY = "any (drawn from seed A)"
KEY_CHOICES = [ANY_KEY] + [key_name(k) for k in range(12)]


def _gan_key(g, key) -> int | None:
    """The key class the tab asks ``g`` for: None for "any" (or a model without keys, where only
    "any" is accepted); a dropdown label, or a key as people write it ('G major', 'Em')."""
    if key in (None, "", ANY_KEY):
        return None
    if not g.keyed:
        raise ValueError(f"{g.name} has no key condition: leave the key at 'any'")
    return KEY_CHOICES.index(key) - 1 if key in KEY_CHOICES else parse_key(key)


#: The MuseGAN tab's "any" for each texture factor (drawn from seed A, as common as in real music).
ANY_TEXTURE = "any"


def _gan_texture(g, rhythm, density, loudness) -> tuple[int | None, int | None, int | None] | None:
    """The texture classes the tab asks ``g`` for, None for a factor left at "any"; None in all
    for a model without a texture (where only "any" is accepted)."""
    asked = [None if v in (None, "", ANY_TEXTURE) else v for v in (rhythm, density, loudness)]
    if not g.textured:
        if any(a is not None for a in asked):
            raise ValueError(f"{g.name} has no texture condition: leave rhythm, density and loudness at 'any'")
        return None
    out = []
    for names, what, a in zip(FACTORS, FACTOR_NAMES, asked):
        if a is not None and a not in names:
            raise ValueError(f"unknown {what} {a!r}: choose from {', '.join((ANY_TEXTURE, *names))}")
        out.append(None if a is None else names.index(a))
    return out[0], out[1], out[2]


def _gan_bpm(samplers: dict, label) -> float:
    """The tempo a MuseGAN plays at by default (its corpus' median; 120 for a clock-time model,
    whose tempo control is hidden)."""
    g = samplers.get(label)
    return round(g.roll_cfg.playback_bpm()) if g is not None and g.musical_time else 120


def compare_tab() -> None:
    """The shipped side-by-side comparison (docs/compare, made by scripts/compare.py)."""
    import pandas as pd

    table = COMPARE / "metrics.csv"
    if not table.is_file():
        gr.Markdown("No comparison shipped yet: run `python scripts/compare.py checkpoints/*.pt --out docs/compare`.")
        return
    meta = json.loads((COMPARE / "metrics.json").read_text())
    cfg = meta["config"]
    groups = cfg.get("groups", 1)
    gr.Markdown(
        f"Every model wrote {cfg['n']} samples of {cfg['seconds']:g} s (fixed seeds; the autoregressive ones at the temperature and top-p shown), "
        f"measured against real {cfg['split']}-split music. Feature columns are set means; **OA** is Yang & Lerch's overlapping area with real "
        f"music (1 = indistinguishable). Numbers are mean ± sd over {groups} disjoint seed sets; the first row scores as many real "
        "segments the same way (the ceiling). **NLL** is on the split named beside it (lower is better)."
    )
    media = {name: stems for name, stems in meta.get("media", {}).items() if stems}
    if media:
        gr.Markdown("### Listen side by side\nReal music first, then one sample of each model (the same seeds for every model; "
                    "all shipped files, nothing is computed here). The report holds more.")
        names = list(media)  # real music first, as compare writes it
        per_row = 3  # a regular grid: three across on a wide screen, one under another on a phone
        for r in range(0, len(names), per_row):
            with gr.Row(equal_height=True):
                for name in names[r : r + per_row] + [None] * (per_row - len(names[r : r + per_row])):
                    with gr.Column(min_width=280, visible=name is not None):
                        if name is not None:
                            stem = COMPARE / "media" / media[name][0]
                            gr.Audio(str(stem.with_suffix(".wav")), label="real music" if name == "real" else name, type="filepath", interactive=False)
                            gr.Image(str(stem.with_suffix(".png")), label=f"{name} pianoroll", show_label=False, interactive=False)
    gr.Dataframe(display_table(pd.read_csv(table)), label="Summary", interactive=False, elem_id="compare-table")
    tables = listener_tables(meta)
    if tables:
        gr.Markdown(
            "### Can a listener tell?\nA classifier learns to tell each model's samples from real music on about 120 features of "
            f"every {cfg['seconds']:g} s segment (repetition, dynamics from note to note, chord timing, note lengths, texture, harmony); "
            "its cross-validated accuracy is the number: **0.5 = it cannot tell**, 1 = every sample gives itself away. The first row "
            "scores real music of other compositions the same way (the floor). Continuations: each model continues held-out 10 s "
            "openings, judged against what the pianist played next.")
        gr.Dataframe(tables["tell"], label="Classifier test", interactive=False, elem_id="listener-table")
        gr.Dataframe(tables["separating"], label="What gives each model away (AUC 0.5 = no difference)", interactive=False)
        gr.Dataframe(tables["spread"], label="One sample at a time: notes/s and polyphony across samples", interactive=False)
        gr.Dataframe(tables["features"], label="Repetition, dynamics, micro-timing, note lengths (medians)", interactive=False)
    gr.Gallery([str(p) for p in sorted((COMPARE / "media").glob("hist_*.png"))], label="Feature distributions: real (grey) vs each model", columns=3, height="auto", object_fit="contain")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    ap.add_argument("--share", action="store_true", help="also serve through a public Gradio link")
    ap.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    args = ap.parse_args()
    sampling_threads()  # once, for the whole process: clicks served at once never change it
    # Uploads are seed MIDI files: the largest MAESTRO performance is about 1 MB, so 5 MB is
    # generous, and anything larger is refused by Gradio with a message before it reaches us.
    build(Path(args.checkpoints)).queue(default_concurrency_limit=CONCURRENCY).launch(server_name=args.host, server_port=args.port, share=args.share, allowed_paths=[str(OUT), str(COMPARE)],
                                                 footer_links=["api"], max_file_size=MAX_UPLOAD)


if __name__ == "__main__":
    main()
