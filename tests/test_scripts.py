"""The argparse wrappers in scripts/: help with an example, clean errors, a light data path."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

SCRIPTS = sorted(p.name for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))


def run(*args, timeout=120):
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def helps() -> dict[str, subprocess.CompletedProcess]:
    """``--help`` of every script and of app.py, run once for the tests that read them, side by
    side: each one imports torch (about 3.5 s here), and one per core halves the wait."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    names = [*SCRIPTS, "app.py"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        procs = pool.map(lambda s: run(s if s == "app.py" else f"scripts/{s}", "--help"), names)
        return dict(zip(names, procs))


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_has_an_example(script, helps):
    proc = helps[script]
    assert proc.returncode == 0, proc.stderr
    assert "example:" in proc.stdout and f"scripts/{script}" in proc.stdout


def test_data_path_imports_no_torch_or_gradio():
    code = "import sys, pianogen.data; from pianogen.data import prepare, read_midi; print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'gradio')))"
    proc = run("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_data_stats_table_and_json(prepared):
    table = run("scripts/data_stats.py", str(prepared))
    assert table.returncode == 0, table.stderr
    assert "train" in table.stdout and "Frédéric Chopin" in table.stdout and "pitch range" in table.stdout
    stats = json.loads(run("scripts/data_stats.py", str(prepared), "--json").stdout)
    assert {k: stats["splits"]["all"][k] for k in ("pieces", "notes")} == {"pieces": 42, "notes": 131_839}
    # Hours are time to each piece's last release, summed (3.6 h; the files' own lengths,
    # trailing pedal and silence included, add up to 3.82 h): checked against the note table.
    import pandas as pd

    notes = pd.read_parquet(prepared / "notes.parquet", columns=["piece_id", "end"])
    hours = notes.groupby("piece_id", observed=True)["end"].max().sum() / 3600
    assert stats["splits"]["all"]["hours"] == pytest.approx(hours, abs=0.01)
    assert stats["splits"]["all"]["hours"] == pytest.approx(3.6, abs=0.05)
    assert 21 <= stats["pitch_min"] < stats["pitch_max"] <= 108


def test_data_stats_missing_folder(tmp_path):
    proc = run("scripts/data_stats.py", str(tmp_path / "nope"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def _help_flags(proc: subprocess.CompletedProcess) -> set[str]:
    import re

    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", proc.stdout))


def test_every_flag_the_readme_shows_exists(helps):
    """Each `scripts/X.py ... --flag` line in the README, and each inline `--flag`, is accepted
    by that script (inline flags: by some script). Flags are spelled with hyphens only."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    flags = {s: _help_flags(helps[s]) for s in SCRIPTS}
    checked = 0
    for line in readme.splitlines():
        m = re.search(r"scripts/([a-z_]+\.py)(.*)", line)
        if not m or m.group(1) not in flags:
            continue
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z0-9_-]*)", m.group(2).split("#")[0]):
            assert flag in flags[m.group(1)], f"README: {m.group(1)} has no {flag}"
            checked += 1
    every = set().union(*flags.values(), _help_flags(helps["app.py"]))
    for flag in re.findall(r"`(--[a-z][a-z0-9_-]*)", readme):
        assert flag in every, f"README mentions {flag}, which no script accepts"
        checked += 1
    assert checked >= 10
    assert not any("_" in f for f in every), sorted(f for f in every if "_" in f)


def test_old_underscore_flags_still_parse(tmp_path):
    proc = run("scripts/train_autoregressive.py", "--model", "perf-rnn", "--out", str(tmp_path / "x"), "--aug_transpose", "2", "--max-steps", "0", "--data", str(tmp_path / "none"))
    assert "unrecognized arguments" not in proc.stderr


def test_sample_script_writes_musegan_bars_and_audio(tmp_path):
    """sample.py takes a MuseGAN too (bars from latent seeds, one track per voice) and writes
    WAV on request; flags that mean nothing to a GAN are refused by name."""
    import mido

    out = tmp_path / "gan.mid"
    proc = run("scripts/sample.py", "--checkpoint", "checkpoints/musegan.pt", "--seconds", "8", "--seed", "3", "--wav", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    tracks = [t.name for t in mido.MidiFile(out).tracks if t.name]
    assert tracks == ["melody", "inner", "bass"] and out.with_suffix(".wav").read_bytes()[:4] == b"RIFF"
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["parameters"]["bars"] == 4 and info["notes"][0] > 0
    proc = run("scripts/sample.py", "--checkpoint", "checkpoints/musegan.pt", "--temperature", "1", "--out", str(tmp_path / "x.mid"))
    assert proc.returncode == 1 and "--temperature" in proc.stderr and "latent" in proc.stderr


def test_sample_script_warns_when_the_music_ends_early(tmp_path):
    out = tmp_path / "greedy.mid"
    proc = run("scripts/sample.py", "--checkpoint", "checkpoints/perf-rnn.pt", "--seconds", "4", "--temperature", "0.01", "--wav", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and ("silent after" in proc.stderr or "no notes were generated" in proc.stderr)
    import mido

    assert mido.MidiFile(out).length == pytest.approx(4.0, abs=0.01)  # the file lasts what was asked, even silent


def test_shortfall_names_what_falls_short():
    import pandas as pd

    from pianogen.sampling import shortfall

    notes = pd.DataFrame({"pitch": [60, 62, 64], "velocity": [80] * 3, "start": [0.0, 1.0, 2.0], "end": [0.5, 1.5, 9.0],
                          "is_seed": [True, False, False]})
    assert shortfall(notes, 8.0) is None  # plays to 8.5 s after the seed's end (0.5 s)
    assert "0.2 notes/s against the 4 asked" in shortfall(notes, 8.0, notes_per_second=4)
    assert "silent after 1.0 s of the 10 s asked" in shortfall(notes.assign(end=[0.5, 1.5, 1.5]), 10.0)
    assert "no notes were generated" in shortfall(notes.iloc[:1], 10.0)


def test_models_script_lists_the_shipped_models_with_their_cards(tmp_path):
    proc = run("scripts/models.py")
    assert proc.returncode == 0, proc.stderr
    for name in ("perf-rnn", "transformer", "note-rnn", "musegan"):
        assert f"checkpoints/{name}.pt" in proc.stdout
    assert "Plays by default at temperature" in proc.stdout and "Learned from asap-performances" in proc.stdout
    (tmp_path / "x.state.pt").write_bytes(b"not a model")
    proc = run("scripts/models.py", "--checkpoints", str(tmp_path))
    assert proc.returncode == 0 and "no models" in proc.stdout  # a training state is not a model
