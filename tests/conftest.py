"""Shared fixtures: the bundled corpus and one prepared copy of it per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "maestro-mini"
MAESTRO_ROOT = CORPUS / "maestro-v3.0.0"
FULL_METADATA = Path(__file__).parent / "data" / "maestro-v3.0.0-metadata"
MIDI_FILES = sorted(MAESTRO_ROOT.glob("*/*.midi"))


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    """The bundled corpus prepared with default settings (sustain on)."""
    from pianogen.data import PrepareConfig, prepare

    out = tmp_path_factory.mktemp("prepared")
    prepare(CORPUS, out, PrepareConfig(progress=False))
    return out


def file_id(path: Path) -> str:
    return path.stem[-28:]


def step_through(model, x):
    """Feed ``x`` (B, T, ...) to ``model.step`` one token at a time: (stacked outputs, last state)."""
    import torch

    state, outs = None, []
    with torch.no_grad():
        for t in range(x.shape[1]):
            out, state = model.step(x[:, t], state)
            outs.append(out)
    return torch.stack(outs, 1), state
