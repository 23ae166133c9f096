"""Beat annotations (pianogen.data.beats), performed <-> musical time, beat-aligned pianorolls
and MuseGAN in musical time, on the seven annotated performances bundled in tests/data/asap-mini."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pianogen.data.beats import BeatAnnotationError, annotation_name, bar_runs, bars, load_beats, parse_annotations, read_annotations
from pianogen.representations import pianoroll as pr
from pianogen.representations.beat_time import beats_to_seconds, seconds_to_beats
from pianogen.representations.keys import in_scale_share, key_class

ASAP_MINI = Path(__file__).parent / "data" / "asap-mini"
ANNOTATIONS = sorted(ASAP_MINI.rglob("*_annotations.txt"))
MUSICAL = pr.PianorollConfig(steps_per_beat=12, beats_per_bar=4, n_bars=4, tempo_bpm=120)


@pytest.fixture(scope="module")
def asap_prepared(tmp_path_factory) -> Path:
    from pianogen.data import PrepareConfig, prepare

    out = tmp_path_factory.mktemp("asap-mini")
    prepare(ASAP_MINI, out, PrepareConfig(progress=False))
    return out


def test_parse_reads_labels_metres_and_keys():
    text = "1.0\t1.0\tb,,0\n1.5\t1.5\tb\n2.0\t2.0\tdb,4/4\n2.5\t2.5\tbR\n3.0\t3.0\tdb,3/4,-2\n"
    t = parse_annotations(text, "x.txt")
    assert t["time"].tolist() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert t["downbeat"].tolist() == [False, False, True, False, True]
    assert t["known"].tolist() == [True, True, True, False, True]
    assert t["time_signature"].tolist() == ["", "", "4/4", "4/4", "3/4"]  # a metre holds until the next
    assert t["key"].tolist() == [0, 0, 0, 0, -2]


@pytest.mark.parametrize("text, reason", [
    ("1.0\t1.0\n", "line 1: expected 3 tab-separated fields, found 2"),
    ("1.0\t1.0\tb\n0.5\t0.5\tb\n", "line 2: beat at 0.5 s does not come after"),
    ("1.0\t1.0\tx\n", "line 1: label 'x'"),
    ("1.0\t1.0\tdb,four\n", "line 1: time signature 'four' is not N/D"),
    ("1.0\t1.0\tdb,4/4,12\n", "line 1: key signature 12 is outside"),
    ("one\t1.0\tb\n", "line 1: time 'one' is not a number"),
    ("\n", "no beats"),
])
def test_malformed_files_name_the_file_and_line(text, reason):
    with pytest.raises(BeatAnnotationError, match="^bad_annotations.txt") as e:
        parse_annotations(text, "bad_annotations.txt")
    assert reason in str(e.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(BeatAnnotationError, match="nope_annotations.txt: no such annotation file"):
        read_annotations(tmp_path / "nope_annotations.txt")
    assert annotation_name("midi/a/Guo01M.mid") == "midi/a/Guo01M_annotations.txt"


def _table(labels: str) -> pd.DataFrame:
    """A beat table from a string of labels: 'd' downbeat, 'b' beat, 'r' unplaced beat."""
    text = "".join(f"{i + 1}.0\t{i + 1}.0\t{ {'d': 'db', 'b': 'b', 'r': 'bR'}[c]}\n" for i, c in enumerate(labels))
    return parse_annotations(text)


def test_bars_and_runs_of_whole_bars():
    # pickup, three 4-beat bars, a 3-beat bar, two 4-beat bars (one with an unplaced beat), a 4-beat bar, open end
    t = _table("b" + "dbbb" * 3 + "dbb" + "dbbb" + "dbrb" + "dbbb" + "db")
    b = bars(t)
    assert b["n_beats"].tolist() == [4, 4, 4, 3, 4, 4, 4]  # the last bar has no closing downbeat
    assert b["known"].tolist() == [True] * 5 + [False, True]
    assert b["first"].tolist() == [1, 5, 9, 13, 16, 20, 24]
    assert bar_runs(t, 4, 2).tolist() == [1, 5]  # runs never cross the 3/4 bar or the unplaced beat
    assert bar_runs(t, 4, 3).tolist() == [1]
    assert bar_runs(t, 3, 1).tolist() == [13]
    assert bar_runs(t, 4, 4).tolist() == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.05, 3.0), min_size=1, max_size=20), st.lists(st.floats(-5.0, 80.0), min_size=1, max_size=20))
def test_beats_and_seconds_are_inverse(gaps, times):
    beat_times = 0.7 + np.concatenate([[0.0], np.cumsum(gaps)])
    t = np.array(times)
    np.testing.assert_allclose(beats_to_seconds(seconds_to_beats(t, beat_times), beat_times), t, atol=1e-9)
    # Each annotated beat is its own index; strict time is beats at 60/bpm.
    np.testing.assert_allclose(seconds_to_beats(beat_times, beat_times), np.arange(len(beat_times)), atol=1e-9)
    np.testing.assert_allclose(beats_to_seconds([0, 2, 3.5], np.arange(5) * 60 / 90.0), [0, 4 / 3, 3.5 * 2 / 3])


def test_prepare_stores_every_annotated_beat(asap_prepared, prepared):
    import json

    beats = load_beats(asap_prepared)
    assert len(beats) == len(ANNOTATIONS) == 7
    for path in ANNOTATIONS:  # counted against the files themselves, line by line
        pid = str(path.relative_to(ASAP_MINI)).removesuffix("_annotations.txt")
        lines = [ln.split("\t") for ln in path.read_text().splitlines() if ln.strip()]
        assert len(beats[pid]) == len(lines)
        np.testing.assert_allclose(beats[pid]["time"], [float(ln[0]) for ln in lines])
        assert beats[pid]["downbeat"].sum() == sum(ln[2].split(",")[0] == "db" for ln in lines)
    info = json.loads((asap_prepared / "prepare.json").read_text())["beats"]
    assert info["pieces"] == 7 and info["skipped"] == []
    with pytest.raises(FileNotFoundError, match="no beat annotations in this prepared folder"):
        load_beats(prepared)  # maestro-mini has none


def test_a_malformed_annotation_file_is_reported_and_its_notes_kept(tmp_path):
    import json

    from pianogen.data import PrepareConfig, load_pieces, prepare

    src = tmp_path / "src"
    shutil.copytree(ASAP_MINI, src)
    bad = sorted(src.rglob("*_annotations.txt"))[0]
    bad.write_text(bad.read_text() + "garbage line\n")
    prepare(src, tmp_path / "out", PrepareConfig(progress=False))
    info = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert info["beats"]["pieces"] == 6
    [skip] = info["beats"]["skipped"]
    assert skip["path"] == str(bad.relative_to(src)) and "expected 3 tab-separated fields" in skip["reason"]
    assert len(load_pieces(tmp_path / "out")) == 7


def _piece(asap_prepared, n: int = 0):
    from pianogen.data import load_notes

    beats = load_beats(asap_prepared)
    pid = sorted(beats)[n]
    notes = load_notes(asap_prepared)
    return notes[notes["piece_id"] == pid].reset_index(drop=True), beats[pid]["time"].to_numpy()


def test_beat_roll_places_notes_on_their_beats(asap_prepared):
    notes, bt = _piece(asap_prepared)
    roll = pr.encode(notes, MUSICAL, beat_times=bt)
    assert roll.shape[1:] == (-(-(len(bt) - 1) * 12 // 48), 48, 88)
    # A note struck exactly on beat k (and one a third of a beat later) starts at step 12k (12k + 4).
    probe = pd.DataFrame({"pitch": [60, 64], "velocity": [80, 80], "start": [bt[5], bt[9] + (bt[10] - bt[9]) / 3],
                          "end": [bt[6], bt[10]], "duration": [bt[6] - bt[5], bt[10] - bt[9] - (bt[10] - bt[9]) / 3]})
    flat = pr.onsets(pr.encode(probe, MUSICAL, beat_times=bt)).reshape(3, -1, 88)
    assert np.argwhere(flat.any(axis=0)).tolist() == [[60, 60 - 21], [9 * 12 + 4, 64 - 21]]
    with pytest.raises(ValueError, match="needs the performance's beat times"):
        pr.encode(notes, MUSICAL)


def test_beat_roll_round_trip_in_own_and_strict_time(asap_prepared):
    notes, bt = _piece(asap_prepared, 2)
    roll = pr.encode(notes, MUSICAL, velocity=True, beat_times=bt)
    back = pr.decode(roll, MUSICAL, start=bt[0], beat_times=bt).sort_values(["start", "pitch"])
    kept = notes[(notes["start"] >= bt[0]) & (notes["start"] < bt[-1] - 0.05)].sort_values(["start", "pitch"])  # the roll spans the beats
    assert abs(len(back) - len(kept)) <= 0.02 * len(kept)  # only re-struck keys one step apart merge
    # Onsets move to the nearest 1/12 beat: never more than half a step of the local beat.
    onsets, truth = np.sort(back["start"].to_numpy()), kept["start"].to_numpy()
    i = np.clip(np.searchsorted(onsets, truth), 1, len(onsets) - 1)
    nearest = np.minimum(np.abs(onsets[i] - truth), np.abs(onsets[i - 1] - truth))
    assert nearest.max() <= 0.5 * np.diff(bt).max() / 12 + 1e-6
    strict = pr.decode(roll, MUSICAL, bpm=100)
    steps = np.round(strict["start"].to_numpy() / (60 / 100 / 12), 6)
    assert np.all(steps == np.round(steps))  # strict time: every onset on the 12-per-beat grid at 100 bpm
    assert set(np.unique(back["velocity"])) <= set(np.unique(notes["velocity"]))


def test_musical_crops_start_at_downbeats_of_whole_bars(asap_prepared):
    from pianogen.data import load_notes
    from pianogen.training.gan import RollCrops

    beats = load_beats(asap_prepared)
    crops = RollCrops(load_notes(asap_prepared), MUSICAL, 3, 0, beats=beats)
    x, picks, keys = crops.draw(32)
    assert x.shape == (32, 3, 4, 48, 88) and x.any(axis=(1, 2, 3, 4)).all()
    for j, s in picks:
        table = beats[crops.piece_ids[j]]
        assert s % 12 == 0 and s // 12 in set(bar_runs(table, 4, 4))
        bt = crops.beat_times((j, s))
        assert len(bt) == 17 and table["downbeat"].to_numpy()[np.searchsorted(table["time"], bt[::4])].all()
    assert 60 < crops.tempo_bpm() < 200
    # Keys move with the transposition: the notes keep to the key each crop reports, far more
    # than to the key a semitone away.
    assert keys.min() >= 0 and keys.max() < 12

    def share(k):
        return np.mean([in_scale_share(np.nonzero(c)[-1] + MUSICAL.low, key) for c, key in zip(x, (keys + k) % 12)])

    assert share(0) > 0.8 and share(0) > share(1) + 0.2
    _, _, untransposed = crops.draw(8, np.random.default_rng(1), transpose=0)
    _, picks, _ = crops.draw(8, np.random.default_rng(1), transpose=0)
    assert [key_class(beats[crops.piece_ids[j]]["key"][s // 12]) for j, s in picks] == untransposed.tolist()
    with pytest.raises(ValueError, match="needs beat annotations"):
        RollCrops(load_notes(asap_prepared), MUSICAL, 3, 0)


def test_musical_musegan_trains_and_writes_notated_bars(asap_prepared, tmp_path):
    import pretty_midi
    import torch

    from pianogen.training.gan import make_gan_task
    from pianogen.sampling import load_gan, sample_gan
    from pianogen.training import TrainConfig, Trainer

    task = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, {"g_channels": 32, "d_channels": 16, "z_dim": 8},
                         out=str(tmp_path / "mg"))
    assert task.net.config.block == 12 and task.net.config.steps_per_bar == 48
    assert 60 < task.roll_cfg.tempo_bpm < 200  # the corpus' median tempo, recorded for playback
    summary = task.summary()
    assert summary["train_pieces_used"] == 4 and summary["train_bars_by_metre"]["4/4"] > 0
    assert task.real_metrics["QN/melody"] > 0.5  # at the paper's 32nd-note threshold
    cfg = TrainConfig(max_steps=2, batch_size=4, eval_every=2, eval_tokens=0, progress=False, device="cpu", bf16=False)
    Trainer(task, cfg, str(tmp_path / "mg")).fit()
    g = load_gan(tmp_path / "mg.pt")
    assert g.musical_time
    result = sample_gan(g, seed=0, bars=4, bpm=90)
    notes = result.merged(0)
    assert notes["start"].max() < 4 * 4 * 60 / 90
    np.testing.assert_allclose(notes["start"] / (60 / 90 / 12), np.round(notes["start"] / (60 / 90 / 12)), atol=1e-6)
    multi, merged = result.write_midi(tmp_path / "s.mid", tmp_path / "s-merged.mid")
    for path in (multi, merged):
        pm = pretty_midi.PrettyMIDI(str(path))
        assert pm.get_tempo_changes()[1].tolist() == pytest.approx([90.0], rel=1e-4)  # MIDI stores whole microseconds per beat
        assert [(t.numerator, t.denominator, t.time) for t in pm.time_signature_changes] == [(4, 4, 0.0)]
        np.testing.assert_allclose(pm.get_downbeats()[:4], [0, 8 / 3, 16 / 3, 8], atol=1e-3)  # bars are bars
    assert torch.isfinite(g.model.generator(g.latent(0, 1, 4))).all()


def test_key_conditioned_musegan_trains_and_writes_its_key(asap_prepared, tmp_path):
    """A keyed MuseGAN learns from crops with their annotated keys, reports KS (real crops keep
    to their keys' scales), and writes the key asked for into its MIDI files."""
    import pretty_midi

    from pianogen.sampling import load_gan, sample_gan
    from pianogen.training import TrainConfig, Trainer
    from pianogen.training.gan import make_gan_task

    task = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, {"g_channels": 32, "d_channels": 16, "z_dim": 8, "keys": True},
                         out=str(tmp_path / "mgk"))
    assert task.real_metrics["KS"] > 0.8
    assert task.eval_keys is not None and len(set(task.eval_keys.tolist())) > 6
    cfg = TrainConfig(max_steps=2, batch_size=4, eval_every=2, eval_tokens=0, progress=False, device="cpu", bf16=False)
    report = Trainer(task, cfg, str(tmp_path / "mgk")).fit()
    assert 0 <= report["final"]["generated_fresh_latents"]["KS"] <= 1
    g = load_gan(tmp_path / "mgk.pt")
    assert g.keyed
    result = sample_gan(g, seed=0, bars=4, key=2)
    assert result.params["keys"] == ["D major / B minor (2 sharps)"]
    pm = pretty_midi.PrettyMIDI(str(result.write_midi(tmp_path / "k.mid")[0]))
    assert [(k.key_number, k.time) for k in pm.key_signature_changes] == [(2, 0.0)]
    assert sample_gan(g, seed=0, n=3, bars=1, key=[0, 5, 11]).keys.tolist() == [0, 5, 11]  # one key per passage
    for bad in ([0, 12], [0, 5, 7], 12):
        with pytest.raises(ValueError, match="key must be a class 0-11"):
            sample_gan(g, seed=0, n=2, bars=1, key=bad)
    drawn = [int(sample_gan(g, seed=s, bars=1).keys[0]) for s in range(8)]
    assert drawn == [int(sample_gan(g, seed=s, bars=1).keys[0]) for s in range(8)] and len(set(drawn)) > 1  # from the seed
    with pytest.raises(ValueError, match="musical time"):
        make_gan_task(str(asap_prepared), 0, {}, {"g_channels": 32, "d_channels": 16, "z_dim": 8, "keys": True})
    # Key adherence: real crops keep to their annotated keys; the shipped model, which has no key
    # input, is scored against keys asked in turn (about chance), though its music is tonal.
    from pianogen.evaluation.keys import key_adherence, key_markdown

    table = key_adherence([tmp_path / "mgk.pt", "checkpoints/musegan-bars.pt"], asap_prepared, "train", n=12, groups=2)
    real, shipped = table["real"], table["rows"]["musegan-bars"]["measures"]
    assert real["in asked key"]["mean"] > 0.8 and real["best key is asked"]["mean"] > 0.3
    assert shipped["in asked key"]["mean"] < shipped["in best key"]["mean"] - 0.1
    assert table["rows"]["mgk"]["keyed"] and "| real (annotated key) |" in key_markdown(table)


def _chord_roll(chords_per_beat: list[list[int]], cfg: pr.PianorollConfig) -> np.ndarray:
    """One passage (1, tracks, bars, steps, pitches) holding chord k (MIDI pitches) in beat k."""
    spb = cfg.steps_per_bar // cfg.beats_per_bar
    roll = np.zeros((1, 3, cfg.n_bars, cfg.steps_per_bar, cfg.n_pitches), dtype=bool)
    for k, chord in enumerate(chords_per_beat):
        bar, beat = divmod(k, cfg.beats_per_bar)
        for p in chord:
            roll[0, 0, bar, beat * spb : (beat + 1) * spb - 1, p - cfg.low] = True
    return roll


def test_downbeat_change_sees_chords_that_change_at_bar_lines():
    from pianogen.evaluation.bars import downbeat_change

    C, F, G, Am = [60, 64, 67], [65, 69, 72], [67, 71, 74], [57, 60, 64]
    per_bar = _chord_roll([c for c in (C, F, G, Am) for _ in range(4)], MUSICAL)  # a chord per bar
    m = downbeat_change(per_bar, MUSICAL)
    assert m["other"] == pytest.approx(0) and m["downbeat"] > 0.3 and m["n_downbeat"] == 3 and m["n_other"] == 12
    # A new chord every beat, C F G Am in each bar: across bar lines Am -> C shares 2 of 3 notes
    # (change 1/3); inside bars C -> F shares one (2/3), F -> G and G -> Am none (1, 1).
    m = downbeat_change(_chord_roll([(C, F, G, Am)[k % 4] for k in range(16)], MUSICAL), MUSICAL)
    assert (m["downbeat"], m["other"], m["ratio"]) == pytest.approx((1 / 3, 8 / 9, 0.375))
    silent = np.zeros_like(per_bar)
    assert np.isnan(downbeat_change(silent, MUSICAL)["ratio"])


def test_strict_time_listener_and_table_on_musical_time(asap_prepared, tmp_path):
    from pianogen.evaluation.bars import strict_time_listener
    from pianogen.evaluation.musegan_table import musegan_table
    from pianogen.training.gan import make_gan_task
    from pianogen.training import TrainConfig, Trainer

    task = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, {"g_channels": 32, "d_channels": 16, "z_dim": 8, "velocity": True},
                         out=str(tmp_path / "mg"))
    Trainer(task, TrainConfig(max_steps=1, batch_size=4, eval_every=1, eval_tokens=0, progress=False, device="cpu", bf16=False), str(tmp_path / "mg")).fit()
    r = strict_time_listener(tmp_path / "mg.pt", asap_prepared, "validation", n=12, seed=0, repeats=2)
    assert r["musical_time"] and r["real_pieces"] == 3 and r["bpm"] == task.roll_cfg.tempo_bpm
    assert 0 <= r["classifier_test"]["logistic"]["accuracy"] <= 1 and 0 <= r["mean_oa"] <= 1
    assert r["downbeat_change"]["real"]["ratio"] > 1  # real bars change harmony at their bar lines
    floor = strict_time_listener(tmp_path / "mg.pt", asap_prepared, "validation", n=12, seed=0, repeats=2, floor_split="train")
    assert floor["floor_split"] == "train" and floor["downbeat_change"]["generated"]["ratio"] > 1  # real music on the other side
    assert floor["mean_oa"] > r["mean_oa"]  # other real music is closer to real music than a one-step MuseGAN
    table = musegan_table([tmp_path / "mg.pt"], asap_prepared, "validation", n=8, groups=2)
    assert "onsets on beats" in table["real"] and "harmony change at downbeats / other beats" in table["real"]
    assert table["real"]["onsets on the grid/melody"]["mean"] > 0.6
    assert table["real"]["onset position in the beat: distance to real"]["mean"] < 0.2  # groups of real crops, against their mean
    assert table["real"]["onset gaps of a sixteenth"]["mean"] > table["real"]["onset gaps of one step"]["mean"]
    for name in ("onset gaps: distance to real", "intervals struck together: distance to real", "passages each of a kind: distance to real",
                 "textures (rhythm, density, loudness): distance to real"):  # real groups lie near their mean, the model far
        assert table["real"][name]["mean"] < table["rows"]["mg"]["metrics"][name]["mean"]
    assert table["real"]["intervals struck together: semitones and sevenths"]["mean"] < 0.15  # real chords are not clusters
    for name in ("velocity sd inside chords", "velocity change between onset times"):  # MIDI units, as a performer plays them
        assert 2 < table["real"][name]["mean"] < 30
    assert table["settings"]["pianoroll"]["steps_per_beat"] == 12
    assert set(table["passages"]) == {"real", "mg"} and len(table["passages"]["mg"]) == 14  # 10 of rhythm and texture, 4 of dynamics


def test_listener_keeps_each_composition_on_one_side_of_its_folds(tmp_path):
    """Performances of one composition by different pianists are one group of the classifier
    test, real crops and the floor's alike (here the metadata makes the 868 prelude a second
    performance of the 875 fugue): else the classifier learns the piece on one fold and meets it
    again on the next."""
    from pianogen.data import PrepareConfig, prepare
    from pianogen.evaluation.bars import strict_time_listener
    from pianogen.training import TrainConfig, Trainer
    from pianogen.training.gan import make_gan_task

    corpus = tmp_path / "corpus"
    shutil.copytree(ASAP_MINI, corpus)
    csv = corpus / "maestro-v3.0.0.csv"
    assert "Bach,Prelude bwv 868,validation" in csv.read_text()
    csv.write_text(csv.read_text().replace("Bach,Prelude bwv 868,validation", "Bach,Fugue bwv 875,validation"))
    prepare(corpus, tmp_path / "p", PrepareConfig(progress=False))
    task = make_gan_task(str(tmp_path / "p"), 0, {"steps_per_beat": 12}, {"g_channels": 16, "d_channels": 8, "z_dim": 8, "velocity": True},
                         out=str(tmp_path / "mg"))
    Trainer(task, TrainConfig(max_steps=1, batch_size=4, eval_every=1, eval_tokens=0, progress=False, device="cpu", bf16=False), str(tmp_path / "mg")).fit()
    r = strict_time_listener(tmp_path / "mg.pt", tmp_path / "p", "validation", n=12, seed=0, repeats=2, floor_split="train")
    assert r["real_pieces"] == 3 and r["real_groups"] == 2 and r["classifier_test"]["real_groups"] == 2
    assert r["classifier_test"]["generated_groups"] <= 4  # the floor's crops: the four train compositions, not twelve groups


def test_real_music_starts_on_the_grid_and_noise_does_not(asap_prepared):
    """Real crops of the bundled annotated performances, laid on their own beats, start most notes
    on a sixteenth or a triplet eighth (GRID); onsets scattered over the beat's 12 steps put half there."""
    from pianogen.data import load_notes
    from pianogen.metrics.musegan import grid_share
    from pianogen.training.gan import RollCrops

    crops = RollCrops(load_notes(asap_prepared), MUSICAL, 0, 0, beats=load_beats(asap_prepared))
    real = crops.sample(32, np.random.default_rng(0), transpose=0)
    assert min(grid_share(real, 12, MUSICAL.tracks).values()) > 0.6
    noise = np.random.default_rng(0).random(real.shape) > 0.97
    assert max(grid_share(noise, 12, MUSICAL.tracks).values()) == pytest.approx(1 / 2, abs=0.03)


def test_training_with_rhythm_selects_on_grid(asap_prepared, tmp_path):
    """rhythm=True takes the grid's steps per beat, adds GRID to the selection metrics (real crops
    start most notes on the grid), trains, and is refused in clock time."""
    from pianogen.training import TrainConfig, Trainer
    from pianogen.training.gan import make_gan_task

    small = {"g_channels": 32, "d_channels": 16, "z_dim": 8, "smoother": True, "velocity": True, "rhythm": True}
    task = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, small, out=str(tmp_path / "mgr"))
    assert task.net.config.rhythm == 12 and task.real_metrics["GRID/melody"] > 0.6
    cfg = TrainConfig(max_steps=2, batch_size=4, eval_every=2, eval_tokens=0, progress=False, device="cpu", bf16=False)
    report = Trainer(task, cfg, str(tmp_path / "mgr")).fit()
    fresh = report["final"]["generated_fresh_latents"]
    assert {f"GRID/{t}" for t in MUSICAL.tracks} <= set(fresh) and all(np.isnan(fresh[k]) or 0 <= fresh[k] <= 1 for k in fresh if k.startswith("GRID"))
    with pytest.raises(ValueError, match="musical time"):
        make_gan_task(str(asap_prepared), 0, {}, small)
    eighths = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 8}, small)  # a grid without triplets: no GRID, the stream still reads it
    assert eighths.net.config.rhythm == 8 and not any(k.startswith("GRID") for k in eighths.real_metrics)


def test_texture_conditioned_musegan_trains_and_plays_the_asked_texture(asap_prepared, tmp_path):
    """A texture MuseGAN records how common each texture is among training crops, asks its fakes
    for each real batch's textures, reports TX (real crops have theirs by construction) and plays
    what a user asks for, the rest drawn from the seed."""
    from pianogen.representations.textures import N_TEXTURES
    from pianogen.sampling import load_gan, sample_gan
    from pianogen.training import TrainConfig, Trainer
    from pianogen.training.gan import GANConfig, make_gan_task

    small = {"g_channels": 32, "d_channels": 16, "z_dim": 8, "smoother": True, "velocity": True, "rhythm": True, "texture": True}
    # Feature matching per rhythm and density: a target per kind of passage, each from real crops of that kind.
    gan = GANConfig(rhythm_match=1.0, gap_match=1.0, match_by="rhythm, density")
    task = make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, small, gan, out=str(tmp_path / "mgt"))
    shares = np.array(task.net.config.texture_shares)
    assert shares.shape == (N_TEXTURES,) and shares.sum() == pytest.approx(1, abs=1e-4) and (shares > 0).sum() > 3
    assert task.real_metrics["TX"] == 1.0 and task.eval_textures.shape == (64, 3)
    gaps = task.match_targets["gap"]
    assert gaps.shape[0] == 12 and task.rhythm_target.shape == (12, 3, 12)
    assert len({tuple(row.flatten().tolist()) for row in gaps}) > 2  # kinds of passage with gaps of their own
    cfg = TrainConfig(max_steps=2, batch_size=4, eval_every=2, eval_tokens=0, progress=False, device="cpu", bf16=False)
    report = Trainer(task, cfg, str(tmp_path / "mgt")).fit()
    assert 0 <= report["final"]["generated_fresh_latents"]["TX"] <= 1
    g = load_gan(tmp_path / "mgt.pt")
    assert g.textured and g.model.config.texture_shares == task.net.config.texture_shares
    r = sample_gan(g, seed=0, n=6, bars=2, texture="triplets, loud")
    assert (r.textures[:, 0] == 1).all() and (r.textures[:, 2] == 2).all()
    assert all(t.startswith("triplets, ") and t.endswith(", loud") for t in r.params["textures"])
    drawn = [tuple(sample_gan(g, seed=s, bars=1).textures[0]) for s in range(8)]
    assert drawn == [tuple(sample_gan(g, seed=s, bars=1).textures[0]) for s in range(8)] and len(set(drawn)) > 1  # from the seed
    assert sample_gan(g, seed=0, n=2, bars=1, texture=np.array([[0, 0, 0], [3, 2, 1]])).textures.tolist() == [[0, 0, 0], [3, 2, 1]]
    with pytest.raises(ValueError, match="textures must be 2 rows"):
        sample_gan(g, seed=0, n=2, bars=1, texture=np.array([[0, 0, 0], [4, 0, 0]]))
    with pytest.raises(ValueError, match="has no texture condition"):
        sample_gan("checkpoints/musegan-bars.pt", seed=0, bars=1, texture="soft")
    with pytest.raises(ValueError, match="needs rhythm"):
        make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, {**small, "rhythm": False})
    with pytest.raises(ValueError, match="need a texture model"):
        make_gan_task(str(asap_prepared), 0, {"steps_per_beat": 12}, {**small, "texture": False}, gan)
    from pianogen.evaluation.musegan_table import markdown, musegan_table, texture_response, texture_response_markdown

    table = musegan_table([tmp_path / "mgt.pt"], asap_prepared, "validation", n=8, groups=1)
    kept = {k: v["mean"] for k, v in table["rows"]["mgt"]["metrics"].items() if k.startswith("asked ")}
    assert set(kept) == {"asked rhythm kept", "asked density kept", "asked loudness kept"} and all(0 <= v <= 1 for v in kept.values())
    assert "| asked rhythm kept | — |" in markdown(table)  # real music is asked for nothing
    # Asked for each class in turn: what is played, as shares that sum to 1 per asked class.
    response = texture_response([tmp_path / "mgt.pt", "checkpoints/musegan-bars.pt"], n=4)
    assert list(response) == ["mgt"]  # a model without the condition is left out
    assert [np.shape(response["mgt"][f]) for f in ("rhythm", "density", "loudness")] == [(4, 4), (3, 3), (3, 3)]
    assert all(sum(row) == pytest.approx(1) for rows in response["mgt"].values() for row in rows)
    assert "| triplets | " in texture_response_markdown(response)
