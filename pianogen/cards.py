"""Model cards: what a checkpoint is, what it learned from and for how long, and its number.

The app shows them beside each model and ``scripts/models.py`` lists them; both read only the
checkpoint and its NAME.json report.
"""

from __future__ import annotations

from pathlib import Path

from pianogen.checkpoints import CheckpointError, default_tilt, load, read_report, trained_corpus
from pianogen.evaluation.likelihood import reported_nll
from pianogen.models import NOTE_KINDS


def describe(path: Path) -> tuple[str, str, tuple[bool, float]]:
    """(label, kind, rank) for a checkpoint: name, size and its honest number (lower is better).
    A density-conditioned model's NLL is measured with the true density as input, so it ranks
    after the models whose NLL it cannot be compared with."""
    ckpt = load(path)
    size = path.stat().st_size / 1e6
    conditioned = bool(ckpt["model_config"].get("density_bins"))
    label = f"{path.stem} ({ckpt['kind']}{' + density control' if conditioned else ''}, {size:.1f} MB"
    score = float("inf")
    info = read_report(path)
    if info:
        final = info.get("final", {})
        nll = reported_nll(info)
        if nll is not None:
            where, r = nll
            score = r["nll_per_second"]
            label += f", {where} NLL {score:.1f} nats/s{' given density' if conditioned else ''}"
        elif "distance" in final:
            score = gan_distance(final)  # ranks GANs; the model card explains it
    return label + ")", ckpt["kind"], (conditioned, score)


def gan_distance(final: dict, which: str = "generated") -> float:
    """A MuseGAN report's distance to real music over the metrics every MuseGAN has (EB, UPC,
    QN, SN, TD, and VM/VS where both sides have them): a run's own selection distance may also
    count metrics the others were not scored on (``training.gan.RUN_SPECIFIC``: a keyed model's
    KS, a rhythm model's GRID, a feature-matching run's GAPS, CHORDS, DYNAMICS, RESTRIKES and CROPS, a texture model's TX), so GANs rank on this one.
    ``which``: "generated" (the selection latents) or "generated_fresh_latents"."""
    from pianogen.training.gan import RUN_SPECIFIC, metric_distance

    if "real" not in final or which not in final:
        return final["distance"][which]
    return metric_distance(final[which], {k: v for k, v in final["real"].items() if k.split("/")[0] not in RUN_SPECIFIC})


def first_click_order(models: dict[str, Path]) -> dict[str, Path]:
    """``models`` ({label: checkpoint}) with the one whose first clicks most often sound like real
    music first: the lowest share of single samples outside real's range in notes/s or polyphony,
    as ``scripts/tune_sampling.py --report`` recorded it. Unmeasured models keep their order, after."""
    def share(p: Path) -> float:
        spread = read_report(p).get("single_sample_spread") or {}
        return spread.get("first_click", {}).get("outside_share", float("inf"))

    return dict(sorted(models.items(), key=lambda kv: share(kv[1])))


WHAT_IT_IS = {
    "perf-rnn": "Performance RNN (as Magenta's): an LSTM that writes a stream of performance events "
                "(key down, key up, 10 ms time shifts, loudness), so timing and dynamics are its own.",
    "note-rnn": "A note-level RNN (as in the TensorFlow tutorial, but categorical): an LSTM that writes one note at a time "
                "as (time since the last note, pitch, length, loudness).",
    "transformer": "A Music Transformer-style decoder: self-attention over its last few hundred performance events "
                   "(rotary relative positions; a key/value cache makes each new event one step), writing the same events as perf-rnn.",
    "note-transformer": "A Transformer over whole notes: each position is one note (time since the last onset, pitch, length, "
                        "loudness), predicted field by field, so its context of a few hundred notes holds tens of seconds of music "
                        "and each note's length and loudness are its own choice.",
    "musegan": "MuseGAN (Dong et al. 2018): a GAN that paints whole pianorolls of three voices (melody, inner, bass) "
               "bar by bar from random latent vectors.",
}

#: What a MuseGAN's dynamics are, by whether it paints a velocity roll.
MUSEGAN_DYNAMICS = {
    True: "Next to each voice's keys it paints how hard each is struck (a velocity roll, learned from the performances), "
          "so its loudness is its own.",
    False: "Its pianorolls say only whether a key is down, so every note is played at one loudness (velocity 80): "
           "the flat dynamics you hear are the representation's, not the renderer's.",
}


def model_card(path: Path) -> str:
    """A few lines on a checkpoint: what it is, what it learned from and for how long, its number."""
    info = read_report(path)
    kind = info.get("kind") or load(path)["kind"]
    what = WHAT_IT_IS.get(kind, kind)
    if kind == "musegan":
        what += " " + MUSEGAN_DYNAMICS[bool(info.get("config", {}).get("model_config", {}).get("velocity"))]
        roll = info.get("config", {}).get("representation", {}).get("config", {})
        if roll.get("steps_per_beat"):
            what += (f" It paints in musical time: bars of {roll.get('beats_per_bar', 4)} beats x {roll['steps_per_beat']} steps, learned from "
                     "performances laid on their hand-annotated beats, so its bars are bars; it plays at any tempo (by default its "
                     f"corpus' median, {roll.get('tempo_bpm', 120):g} bpm) and its MIDI files carry the tempo and the metre.")
        else:
            what += " It paints on a clock: 2-second windows of 62.5 ms steps, with no beats or bar lines."
        if info.get("config", {}).get("model_config", {}).get("keys"):
            what += (" It takes a key: learned from crops with their annotated key signatures, it keeps to the scale asked for "
                     "(the key menu; a minor key shares its relative major's signature, and the MIDI file states it).")
        if info.get("config", {}).get("model_config", {}).get("texture"):
            what += (" It takes a texture: a rhythm (sixteenths, triplets, eighths or slower), a density and a loudness, learned from "
                     "crops measured the same way; what is left at 'any' is drawn as common as it is in real music.")
    lines = [f"**{path.stem}**: {what}"]
    data = info.get("data", {})
    corpus = trained_corpus(info) or "?"
    hours = data.get("train_hours")
    learned = f"Learned from `{corpus}`" + (f" ({hours:.1f} h of training music)" if hours else "")
    if "wall_seconds" in info:
        learned += f" for {info['wall_seconds'] / 60:.0f} minutes on {'a GPU' if 'cuda' in str(info.get('device')) else 'a 2-core CPU'} ({info.get('steps', 0):,} steps)"
    init = info.get("config", {}).get("init")
    if init:
        learned += f", continuing from `{Path(init['checkpoint']).stem}`'s weights"
    lines.append(learned + ".")
    if info.get("config", {}).get("model_config", {}).get("keyboard"):
        lines.append("It is told which keys are sounding: at every note it reads each key's state (down or up, time left, how "
                     "recently struck) from the notes so far, and again where its next note will start, so it hears the chord "
                     "it adds to and does not strike a key that is still down.")
    conditioned = bool(info.get("config", {}).get("model_config", {}).get("density_bins"))
    if conditioned:
        lines.append("Trained with Magenta's note-density control: it takes *Notes per second* as an input at every step "
                     f"(0 asks for its training music's average, {info['config'].get('density_default', 0):.1f}).")
    measured = info.get("sampling_defaults")
    if measured:
        where = f" on {Path(str(measured.get('data', ''))).name} {measured['split']}" if measured.get("split") else ""
        pitch = (f" (its pitches cooler, at {measured['pitch_temperature']:g}: fewer wrong notes, the rhythm as free)"
                 if measured.get("pitch_temperature") is not None else "")
        lines.append(f"Plays by default at temperature {measured['temperature']:g}{pitch} and top-p {measured['top_p']:g}, "
                     f"measured{where} (scripts/tune_sampling.py).")
    tilt = default_tilt(info)
    if tilt:
        lines.append(f"Its default playing includes a time tilt of {tilt:+g} per second (time shifts made "
                     f"{'more' if tilt < 0 else 'less'} likely), chosen with its temperature and top-p"
                     f" ({measured.get('criterion', 'by measurement') if measured else 'by measurement'}).")
    memory = info.get("motif_memory")
    if memory:
        strength = float(memory.get("strength", 0))
        lines.append("It can bring back its own figures (the *Motif memory* slider): a memory fitted on held-out music proposes, "
                     "after each note, what followed the last repeat of its latest intervals. "
                     + (f"It plays at strength {strength:g} by default, chosen by how often a classifier tells it from real music."
                        if strength else "It is off by default (0; docs/results.md, \"Motif memory\", says why)."))
    spread = info.get("single_sample_spread")
    if spread:
        where = f"{Path(str(spread['data'])).name} {spread['split']}"
        lines.append(f"Single samples at these defaults, against real music of {where}: {100 * spread['first_click']['outside_share']:.0f}% "
                     f"of {spread['n']} first clicks and {100 * spread['unseeded']['outside_share']:.0f}% of {spread['n']} unseeded samples fall "
                     "outside real's 5th-95th percentile range in notes per second or polyphony (real music: 10%).")
    nll = reported_nll(info)
    if nll is not None:
        where, r = nll
        unit = "note" if kind in NOTE_KINDS else "event"
        given = " given the true density of the next 3 s at every step, so not comparable with the others" if conditioned else ""
        lines.append(f"Held-out likelihood on {where}{given}: {r['nll_per_token']:.3f} nats per {unit}, {r['nll_per_second']:.1f} nats per second of music (lower is better).")
    elif "distance" in info.get("final", {}):
        final = info["final"]
        d = final["distance"]
        which, how = ("generated_fresh_latents", "on latents it was not selected with") if "generated_fresh_latents" in d else ("generated", "")
        lines.append(f"Distance of its MuseGAN metrics (EB/UPC/QN/SN/TD) to real {final.get('reference_split', 'training')} music {how}: "
                     f"{gan_distance(final, which):.3f} (untrained: {d['untrained']:.3f}; lower is better).".replace("  ", " "))
        if "KS" in final.get(which, {}):
            lines.append(f"Notes in the asked key's scale: {100 * final[which]['KS']:.0f}% (real music in its annotated key: "
                         f"{100 * final['real']['KS']:.0f}%; a model that ignored the key: about 58%).")
        if "TX" in final.get(which, {}):
            lines.append(f"Texture classes it plays as asked: {100 * final[which]['TX']:.0f}% (rhythm, density and loudness together; "
                         "a model that ignored the texture: about 45%).")
    return "\n\n".join(lines)


def find_checkpoints(folder: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """({label: path} of RNNs, of GANs), each best-first by its test number."""
    found = []
    for p in sorted(folder.glob("*.pt")):
        if p.name.endswith(".state.pt"):
            continue
        try:
            found.append((*describe(p), p))
        except CheckpointError as exc:
            print(f"warning: skipping {exc}")
    found.sort(key=lambda f: f[2])
    rnns = {label: p for label, kind, _, p in found if kind != "musegan"}
    gans = {label: p for label, kind, _, p in found if kind == "musegan"}
    return rnns, gans
