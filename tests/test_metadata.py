"""The complete official MAESTRO v3.0.0 metadata, and a MAESTRO root with no MIDI files."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from conftest import FULL_METADATA, ROOT
from pianogen.data import PrepareConfig, PrepareError, load_metadata, prepare


@pytest.mark.parametrize("name", ["maestro-v3.0.0.csv", "maestro-v3.0.0.json"])
def test_full_metadata_counts(name):
    meta = load_metadata(FULL_METADATA / name)
    assert len(meta) == 1276
    assert meta["split"].value_counts().to_dict() == {"train": 962, "validation": 137, "test": 177}
    assert abs(meta["duration"].sum() / 3600 - 198.65) < 0.01
    assert "Frédéric Chopin" in set(meta["composer"]) and "Sergei Rachmaninoff" in set(meta["composer"])
    assert any("," in t for t in meta["title"]) and any('"' in t for t in meta["title"])


def test_csv_and_json_agree():
    a, b = load_metadata(FULL_METADATA / "maestro-v3.0.0.csv"), load_metadata(FULL_METADATA / "maestro-v3.0.0.json")
    # The official files differ in one way: 7 CSV titles keep literal quotes ('"La Campanella"').
    differ = a["title"] != b["title"]
    assert differ.sum() == 7 and (a.loc[differ, "title"].str.strip('"') == b.loc[differ, "title"]).all()
    assert a.drop(columns=["duration", "title"]).equals(b.drop(columns=["duration", "title"]))
    assert (a["duration"] - b["duration"]).abs().max() < 1e-6


def test_all_listed_files_missing(tmp_path):
    root = tmp_path / "maestro-v3.0.0"
    root.mkdir()
    shutil.copy(FULL_METADATA / "maestro-v3.0.0.csv", root)
    with pytest.raises(PrepareError, match="1276 skipped, 1276 of them listed in metadata but missing"):
        prepare(root, tmp_path / "out", PrepareConfig(progress=False))
    proc = subprocess.run(
        [sys.executable, "scripts/prepare_data.py", str(root), "--out", str(tmp_path / "out"), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    warnings = [l for l in proc.stderr.splitlines() if "listed in metadata but missing" in l]
    assert len(warnings) == 1276 + 1  # one per row, then the final error
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert not (tmp_path / "out" / "notes.parquet").exists()
