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


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_has_an_example(script):
    proc = run(f"scripts/{script}", "--help")
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
    assert stats["splits"]["all"] == {"pieces": 42, "notes": 131_839, "hours": stats["splits"]["all"]["hours"]}
    assert 3.5 < stats["splits"]["all"]["hours"] < 3.7
    assert 21 <= stats["pitch_min"] < stats["pitch_max"] <= 108


def test_data_stats_missing_folder(tmp_path):
    proc = run("scripts/data_stats.py", str(tmp_path / "nope"))
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
