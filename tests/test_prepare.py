"""prepare(): sources, outputs, splits, bad input, determinism, atomicity."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import mido
import numpy as np
import pandas as pd
import pytest

from conftest import CORPUS, MAESTRO_ROOT, MIDI_FILES, ROOT
from pianogen.data import PrepareConfig, load_notes, load_pieces, prepare, read_midi
from pianogen.data.splits import hash_split, split_group
from pianogen.io import OutputExistsError

CFG = PrepareConfig(progress=False, workers=2)


def test_outputs_and_contract(prepared):
    notes, pieces = load_notes(prepared), load_pieces(prepared)
    info = json.loads((prepared / "prepare.json").read_text())
    assert len(pieces) == 42 and len(notes) == 131_839 == pieces["n_notes"].sum()
    assert {"piece_id", "pitch", "velocity", "start", "end", "duration", "step"} <= set(notes.columns)
    assert list(pieces.columns) == ["piece_id", "path", "split", "composer", "title", "year", "duration", "n_notes"]
    # Sorted by (piece_id, start, pitch).
    key = notes[["piece_id", "start", "pitch"]]
    assert key.equals(key.sort_values(["piece_id", "start", "pitch"], kind="stable").reset_index(drop=True))
    # step restarts at 0 at every piece.
    first = notes.groupby("piece_id", sort=False).head(1)
    assert (first["step"] == 0).all()
    assert info["counts"]["train"]["pieces"] == 33 and info["counts"]["validation"]["pieces"] == 6 and info["counts"]["test"]["pieces"] == 3
    assert info["files"] == {"read": 42, "skipped": 0} and info["seconds"] > 0
    assert info["parameters"]["sustain"] is True
    assert pieces["composer"].notna().all() and pieces["year"].notna().all()
    assert set(pieces["path"]) == {p.relative_to(CORPUS).as_posix() for p in MIDI_FILES}


def test_per_piece_notes_equal_read_midi(prepared):
    notes = load_notes(prepared)
    path = MIDI_FILES[3]
    pid = path.relative_to(MAESTRO_ROOT).with_suffix("").as_posix()
    mine = notes[notes["piece_id"] == pid].drop(columns="piece_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, read_midi(path), check_dtype=False)


def test_load_notes_by_split(prepared):
    pieces = load_pieces(prepared)
    test = load_notes(prepared, split="test")
    assert set(test["piece_id"]) == set(pieces.loc[pieces["split"] == "test", "piece_id"])
    assert len(test) == pieces.loc[pieces["split"] == "test", "n_notes"].sum()
    with pytest.raises(ValueError, match="unknown split"):
        load_notes(prepared, split="nope")


def test_rerun_is_identical_and_guarded(prepared, tmp_path):
    with pytest.raises(OutputExistsError, match="--force"):
        prepare(CORPUS, prepared, CFG)
    prepare(CORPUS, tmp_path, PrepareConfig(progress=False, workers=1))
    for name in ["notes.parquet", "pieces.parquet"]:
        assert (tmp_path / name).read_bytes() == (prepared / name).read_bytes()
    a, b = (json.loads((d / "prepare.json").read_text()) for d in (tmp_path, prepared))
    for d in (a, b):
        d.pop("seconds"), d.pop("out"), d["parameters"].pop("workers")
    assert a == b


def test_no_sustain_counts(tmp_path):
    res = prepare(CORPUS, tmp_path, PrepareConfig(progress=False, sustain=False))
    assert res.n_notes == 131_839
    assert res.summary["parameters"]["sustain"] is False


def test_maestro_zip_source(tmp_path, prepared):
    archive = tmp_path / "maestro-v3.0.0-midi.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in sorted(MAESTRO_ROOT.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(CORPUS).as_posix())
    res = prepare(archive, tmp_path / "out", CFG)
    assert res.summary["source_kind"] == "maestro-zip"
    assert (tmp_path / "out" / "notes.parquet").read_bytes() == (prepared / "notes.parquet").read_bytes()


def test_plain_folder_hash_split(tmp_path):
    src = tmp_path / "midis" / "deep"
    src.mkdir(parents=True)
    for p in MIDI_FILES[:12]:
        shutil.copy(p, src / (p.stem + (".mid" if len(p.stem) % 2 else ".midi")))
    res = prepare(tmp_path / "midis", tmp_path / "out", PrepareConfig(progress=False, val_fraction=0.3, test_fraction=0.3))
    pieces = load_pieces(tmp_path / "out")
    assert res.summary["source_kind"] == "folder" and len(pieces) == 12
    assert pieces["composer"].isna().all() and pieces["year"].isna().all()
    assert all(pieces["path"].str.startswith("deep/"))
    assert list(pieces["split"]) == [hash_split(split_group(p), 0.3, 0.3) for p in pieces["path"]]
    assert set(pieces["split"]) <= {"train", "validation", "test"}
    # Pieces cut from one performance share a split in a plain folder too.
    for stem, g in pieces.assign(group=pieces["path"].map(split_group)).groupby("group"):
        assert g["split"].nunique() == 1, stem


def test_split_group_joins_movements_and_parts():
    base = "a/MIDI-Unprocessed_R1_D1-1-8_mid--AUDIO-from_mp3_01_R1_2015_wav--1"
    same = [f"{base}.midi", f"{base}_cut.midi", f"{base}_cut_mov_2.midi", f"{base}_cut_no_3.midi", f"{base}_part1.mid", f"{base}_a.mid"]
    assert {split_group(p) for p in same} == {base}
    assert split_group("b/" + same[0].split("/")[1]) != split_group(same[0])  # another folder, another performance
    assert split_group("x/Chopin_Ballade_1.mid") != split_group("x/Chopin_Ballade_2.mid")  # numbers alone are not parts
    assert split_group("x/_a.mid") == "x/_a"  # never an empty name


def test_hash_split_is_stable_and_proportional():
    paths = [f"x/{i}.mid" for i in range(4000)]
    splits = [hash_split(p, 0.1, 0.1) for p in paths]
    assert splits == [hash_split(p, 0.1, 0.1) for p in paths]
    share = pd.Series(splits).value_counts(normalize=True)
    assert abs(share["test"] - 0.1) < 0.02 and abs(share["validation"] - 0.1) < 0.02


def make_bad_folder(folder: Path) -> dict[str, str]:
    """Two good files and one of each bad kind; returns bad name -> expected reason."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(MIDI_FILES[0], folder / "good1.midi")
    shutil.copy(MIDI_FILES[1], folder / "good2.mid")
    data = MIDI_FILES[2].read_bytes()
    (folder / "truncated.mid").write_bytes(data[: len(data) // 3])
    (folder / "random.mid").write_bytes(np.random.default_rng(0).bytes(4096))
    (folder / "empty.midi").write_bytes(b"")
    (folder / "text.mid").write_text("this is not MIDI\n")
    return {"truncated.mid": "corrupt", "random.mid": "not a MIDI file", "empty.midi": "empty file", "text.mid": "not a MIDI file"}


def test_bad_files_are_skipped_and_reported(tmp_path, caplog):
    expected = make_bad_folder(tmp_path / "src")
    res = prepare(tmp_path / "src", tmp_path / "out", CFG)
    assert res.n_pieces == 2
    skipped = {s["path"]: s["reason"] for s in res.skipped}
    assert set(skipped) == set(expected)
    for name, reason in expected.items():
        assert reason in skipped[name]
        assert any(name in r.getMessage() and reason in r.getMessage() for r in caplog.records)
    info = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert info["files"] == {"read": 2, "skipped": 4} and len(info["skipped"]) == 4


def run_script(*args, cwd=ROOT):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_script_exit_codes_and_strict(tmp_path):
    make_bad_folder(tmp_path / "src")
    ok = run_script("scripts/prepare_data.py", str(tmp_path / "src"), "--out", str(tmp_path / "a"), "--quiet")
    assert ok.returncode == 0, ok.stderr
    assert "random.mid: not a MIDI file" in ok.stderr and "2 pieces" in ok.stdout
    strict = run_script("scripts/prepare_data.py", str(tmp_path / "src"), "--out", str(tmp_path / "b"), "--strict", "--quiet")
    assert strict.returncode == 2
    again = run_script("scripts/prepare_data.py", str(tmp_path / "src"), "--out", str(tmp_path / "a"), "--quiet")
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "x.mid").write_bytes(b"")
    empty = run_script("scripts/prepare_data.py", str(nothing), "--out", str(tmp_path / "c"), "--quiet")
    assert empty.returncode == 1 and "no MIDI file could be read" in empty.stderr
    assert not (tmp_path / "c" / "notes.parquet").exists()


def test_interrupted_write_leaves_no_parquet(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    def boom(table, where, *a, **k):
        Path(where).write_bytes(b"PAR1 half written")
        raise KeyboardInterrupt

    monkeypatch.setattr(pq, "write_table", boom)  # dies while writing pieces.parquet
    with pytest.raises(KeyboardInterrupt):
        prepare(CORPUS, tmp_path, CFG)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_parse_leaves_no_parquet(tmp_path, monkeypatch):
    import pianogen.data.corpus as corpus

    real, calls = corpus._parse, []

    def parse_then_die(task):
        calls.append(task)
        if len(calls) > 20:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(corpus, "_parse", parse_then_die)
    with pytest.raises(KeyboardInterrupt):
        prepare(CORPUS, tmp_path, PrepareConfig(progress=False, workers=1))
    assert list(tmp_path.iterdir()) == []


def write_score(path: Path) -> None:
    """A type-1 file: tempo map track (120 bpm, then 60 bpm at beat 4), piano, strings, drums."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    tempo = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0), mido.MetaMessage("set_tempo", tempo=1000000, time=4 * 480)])
    piano = mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=90, time=0), mido.Message("note_off", note=60, time=480),  # 0.0-0.5 s
        mido.Message("note_on", note=64, velocity=70, time=4 * 480 - 480), mido.Message("note_off", note=64, time=480),  # 2.0-3.0 s
    ])
    strings = mido.MidiTrack([
        mido.Message("program_change", channel=1, program=48, time=0),
        mido.Message("note_on", channel=1, note=55, velocity=50, time=2 * 480), mido.Message("note_off", channel=1, note=55, time=4 * 480),
    ])  # 1.0 s - (2.0 s + 2 beats at 1 s) = 4.0 s
    drums = mido.MidiTrack([mido.Message("note_on", channel=9, note=36, velocity=100, time=0), mido.Message("note_off", channel=9, note=36, time=480)])
    mid.tracks += [tempo, piano, strings, drums]
    mid.save(path)


@pytest.mark.parametrize("backend", ["symusic", "pretty_midi"])
def test_multitrack_score_with_tempo_changes(tmp_path, backend):
    write_score(tmp_path / "score.mid")
    notes = read_midi(tmp_path / "score.mid", backend=backend)
    assert notes["pitch"].tolist() == [60, 55, 64]  # drums left out, tracks merged
    np.testing.assert_allclose(notes["start"], [0.0, 1.0, 2.0], atol=1e-9)
    np.testing.assert_allclose(notes["end"], [0.5, 4.0, 3.0], atol=1e-9)


def test_progress_bar_ends_at_100_percent_and_the_workers_used_are_recorded(tmp_path):
    import json
    import subprocess
    import sys

    from conftest import ROOT

    proc = subprocess.run([sys.executable, "scripts/prepare_data.py", str(CORPUS), "--out", str(tmp_path / "p")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "42/42" in proc.stderr and "100%" in proc.stderr
    params = json.loads((tmp_path / "p" / "prepare.json").read_text())["parameters"]
    assert params["workers"] == 0 and params["workers_used"] == 1  # a small corpus is parsed in-process
