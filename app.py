#!/usr/bin/env python3
"""pianogen's Gradio app: sample the shipped RNNs and MuseGAN and hear the result.

    python app.py                 # http://127.0.0.1:7860
    python app.py --port 7861 --share

Models load once at start from checkpoints/; each click samples, renders audio with
FluidSynth, draws a pianoroll and offers the MIDI file, with the exact parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing reaches the network at start or run time

import gradio as gr  # noqa: E402

from pianogen.audio import render  # noqa: E402
from pianogen.checkpoints import CheckpointError, load  # noqa: E402
from pianogen.data import MidiReadError, load_metadata, write_midi  # noqa: E402
from pianogen.plots import pianoroll_png  # noqa: E402
from pianogen.sampling import interpolate, load_gan, load_sampler, sample, sample_gan  # noqa: E402

ROOT = Path(__file__).resolve().parent
CORPUS = ROOT / "data" / "maestro-mini" / "maestro-v3.0.0"
OUT = Path(tempfile.gettempdir()) / "pianogen-app"
COMPARE = ROOT / "docs" / "compare"  # made offline by scripts/compare.py, shipped
SEED_SOURCES = ["Note names", "Upload a MIDI file", "A bundled MAESTRO piece"]


def _describe(path: Path) -> tuple[str, str, float]:
    """(label, kind, score) for a checkpoint: name, size and its honest number (lower is better)."""
    ckpt = load(path)
    size = path.stat().st_size / 1e6
    label = f"{path.stem} ({ckpt['kind']}, {size:.1f} MB"
    score = float("inf")
    report = path.with_suffix(".json")
    if report.is_file():
        final = json.loads(report.read_text()).get("final", {})
        if "test" in final:
            score = final["test"]["nll_per_second"]
            label += f", test NLL {score:.1f} nats/s"
        elif "distance" in final:
            score = final["distance"]["generated"]
            label += f", metric distance {score:.3f}"
    return label + ")", ckpt["kind"], score


def find_checkpoints(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """({label: path} of RNNs, of GANs), each best-first by its test number."""
    found = []
    for p in sorted(folder.glob("*.pt")):
        if p.name.endswith(".state.pt"):
            continue
        try:
            found.append((*_describe(p), p))
        except CheckpointError as exc:
            print(f"warning: skipping {exc}")
    found.sort(key=lambda f: f[2])
    rnns = {label: p for label, kind, _, p in found if kind != "musegan"}
    gans = {label: p for label, kind, _, p in found if kind == "musegan"}
    return rnns, gans


def bundled_pieces() -> dict[str, Path]:
    meta = load_metadata(CORPUS)
    return {f"{r.composer}: {r.title} ({Path(r.midi_filename).stem[-12:]})": CORPUS / r.midi_filename for r in meta.itertuples()}


def _out_dir() -> Path:
    d = OUT / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _finish(notes, title: str, params: dict, folder: Path, track_names=None, multi_midi=None, voices=None):
    """Render audio and a pianoroll; returns the outputs every tab shows. ``voices``
    ({name: notes}) renders one instrument per voice instead of the merged notes."""
    midi = multi_midi or write_midi(notes, folder / "sample.mid")
    audio = render(voices if voices is not None else notes, folder / "sample.wav")
    png = pianoroll_png(notes, folder / "pianoroll.png", title=title, track_names=track_names)
    engine = f"FluidSynth ({Path(audio.soundfont).name})" if audio.engine == "fluidsynth" else "the built-in synthesizer"
    status = f"{len(notes)} notes, {notes['end'].max():.1f} s of music. Audio rendered with {engine}."
    if audio.note:
        status += f" Note: {audio.note}."
    t0 = params.pop("_t0")
    params = {**params, "audio_engine": audio.engine, "seconds_taken": round(time.perf_counter() - t0, 2)}
    return str(audio.path), str(png), str(midi), params, status


def build(checkpoint_dir: Path = ROOT / "checkpoints") -> gr.Blocks:
    rnns, gans = find_checkpoints(checkpoint_dir)
    # Load every model now, once, so a click only samples.
    rnn_samplers = {label: load_sampler(p) for label, p in rnns.items()}
    gan_samplers = {label: load_gan(p) for label, p in gans.items()}
    pieces = bundled_pieces()

    def generate_rnn(checkpoint, source, note_names, midi_file, piece, seed_seconds, temperature, top_p, seconds, seed, progress=gr.Progress()):
        t0 = time.perf_counter()
        try:
            if checkpoint not in rnn_samplers:
                raise ValueError("choose a checkpoint")
            if source == SEED_SOURCES[0]:
                seed_notes, seed_desc = (note_names or "").strip(), (note_names or "").strip()
                if not seed_notes:
                    raise ValueError("empty seed: type note names such as 'C4 E4 G4' (or pick another seed source)")
            elif source == SEED_SOURCES[1]:
                if not midi_file:
                    raise ValueError("upload a MIDI file first")
                seed_notes, seed_desc = str(midi_file), Path(midi_file).name
            else:
                if piece not in pieces:
                    raise ValueError("choose a bundled piece")
                seed_notes, seed_desc = str(pieces[piece]), piece
            progress(0.1, desc="sampling")
            notes = sample(rnn_samplers[checkpoint], seed_notes=seed_notes, seconds=float(seconds), temperature=float(temperature), top_p=float(top_p),
                           seed=int(seed), seed_seconds=None if source == SEED_SOURCES[0] else float(seed_seconds))
            progress(0.6, desc="rendering audio")
            params = {"_t0": t0, "model": rnns[checkpoint].name, "seed_source": source, "seed_notes": seed_desc, "seed_seconds": None if source == SEED_SOURCES[0] else float(seed_seconds),
                      "seconds": float(seconds), "temperature": float(temperature), "top_p": float(top_p), "seed": int(seed)}
            return _finish(notes, f"{rnns[checkpoint].stem}: seed (grey) + {seconds:g} s", params, _out_dir())
        except (ValueError, MidiReadError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def generate_gan(checkpoint, seed_a, seed_b, alpha, bars, voices, progress=gr.Progress()):
        t0 = time.perf_counter()
        try:
            if checkpoint not in gan_samplers:
                raise ValueError("choose a MuseGAN checkpoint")
            if not voices:
                raise ValueError("choose at least one voice to hear")
            g = gan_samplers[checkpoint]
            bars = int(bars)
            z = interpolate(g.latent(int(seed_a), 1, bars), g.latent(int(seed_b), 1, bars), float(alpha))
            progress(0.2, desc="generating")
            result = sample_gan(g, z=z, bars=bars)
            notes = result.merged(0, list(voices))
            if len(notes) == 0:
                raise ValueError("the chosen voices are silent in this sample; pick more voices or another seed")
            folder = _out_dir()
            midi, _ = result.write_midi(folder / "sample.mid", folder / "sample-merged.mid", tracks=list(voices))
            progress(0.6, desc="rendering audio")
            params = {"_t0": t0, "model": gans[checkpoint].name, "seed_a": int(seed_a), "seed_b": int(seed_b), "alpha": float(alpha), "bars": bars, "voices": list(voices), "threshold": 0.5}
            return _finish(notes, f"{gans[checkpoint].stem}: {bars} bars, alpha {alpha:.2f}", params, folder, track_names=result.tracks, multi_midi=midi,
                           voices=result.track_notes(0, list(voices)))
        except (ValueError, CheckpointError) as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Blocks(title="pianogen") as demo:
        gr.Markdown("# pianogen\nPiano music from models trained on MAESTRO. Pick a model, seed it, and listen.")
        with gr.Tab("Autoregressive"):
            with gr.Row():
                with gr.Column():
                    ck = gr.Dropdown(list(rnns), value=next(iter(rnns), None), label="Checkpoint")
                    source = gr.Radio(SEED_SOURCES, value=SEED_SOURCES[0], label="Seed")
                    names = gr.Textbox("C4 E4 G4 C5", label="Note names ('+' joins a chord, '_' rests)")
                    upload = gr.File(label="MIDI file (.mid / .midi)", file_types=[".mid", ".midi"], type="filepath")
                    piece = gr.Dropdown(list(pieces), value=next(iter(pieces)), label="Bundled MAESTRO piece")
                    seed_seconds = gr.Slider(1, 30, value=5, step=1, label="Seed length for MIDI seeds (first N seconds)")
                    temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
                    top_p = gr.Slider(0.5, 1.0, value=0.95, step=0.01, label="Top-p")
                    seconds = gr.Slider(2, 60, value=20, step=1, label="Length (seconds after the seed)")
                    seed = gr.Number(0, precision=0, label="Random seed")
                    go = gr.Button("Generate", variant="primary", elem_id="generate-rnn")
                with gr.Column():
                    outs = [gr.Audio(type="filepath", label="Audio", elem_id="rnn-audio"), gr.Image(type="filepath", label="Pianoroll"), gr.File(label="MIDI"), gr.JSON(label="Parameters"), gr.Markdown()]
            go.click(generate_rnn, [ck, source, names, upload, piece, seed_seconds, temperature, top_p, seconds, seed], outs, api_name="generate_rnn")
        with gr.Tab("MuseGAN"):
            with gr.Row():
                with gr.Column():
                    gck = gr.Dropdown(list(gans), value=next(iter(gans), None), label="Checkpoint")
                    seed_a = gr.Number(0, precision=0, label="Latent seed A")
                    seed_b = gr.Number(1, precision=0, label="Latent seed B")
                    alpha = gr.Slider(0, 1, value=0, step=0.05, label="Interpolation A -> B")
                    bars = gr.Slider(1, 16, value=4, step=1, label="Bars (2 s each)")
                    voices = gr.CheckboxGroup(["melody", "inner", "bass"], value=["melody", "inner", "bass"], label="Voices to hear")
                    ggo = gr.Button("Generate", variant="primary", elem_id="generate-gan")
                with gr.Column():
                    gouts = [gr.Audio(type="filepath", label="Audio"), gr.Image(type="filepath", label="Pianoroll"), gr.File(label="MIDI (one track per voice)"), gr.JSON(label="Parameters"), gr.Markdown()]
            ggo.click(generate_gan, [gck, seed_a, seed_b, alpha, bars, voices], gouts, api_name="generate_gan")
        with gr.Tab("Compare"):
            compare_tab()
    return demo


def compare_tab() -> None:
    """The shipped side-by-side comparison (docs/compare, made by scripts/compare.py)."""
    import pandas as pd

    table = COMPARE / "metrics.csv"
    if not table.is_file():
        gr.Markdown("No comparison shipped yet: run `python scripts/compare.py checkpoints/*.pt --out docs/compare`.")
        return
    meta = json.loads((COMPARE / "metrics.json").read_text())
    cfg = meta["config"]
    gr.Markdown(
        f"Every model wrote {cfg['n']} samples of {cfg['seconds']:g} s (fixed seeds, temperature {cfg['temperature']}, top-p {cfg['top_p']}), "
        f"measured against the {cfg['split']} split. Feature columns are set means; **OA** is Yang & Lerch's overlapping area with real "
        "music (1 = indistinguishable; the real row scores real train music, the ceiling); **test NLL** is per second of music. "
        "The full report with audio is `docs/compare/index.html` (opens from disk)."
    )
    df = pd.read_csv(table).round(3)
    gr.Dataframe(df, label="Summary", interactive=False, elem_id="compare-table")
    gr.Gallery([str(p) for p in sorted((COMPARE / "media").glob("hist_*.png"))], label="Feature distributions: real (grey) vs each model", columns=3, height="auto", object_fit="contain")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    ap.add_argument("--share", action="store_true", help="also serve through a public Gradio link")
    ap.add_argument("--checkpoints", default=str(ROOT / "checkpoints"))
    args = ap.parse_args()
    build(Path(args.checkpoints)).queue().launch(server_name=args.host, server_port=args.port, share=args.share, allowed_paths=[str(OUT), str(COMPARE)], footer_links=["api"])


if __name__ == "__main__":
    main()
