"""Plain ``torch.nn.Module`` models; no training code inside.

``MODELS`` maps a model kind (the name used in checkpoints and on the command line) to its
class and config dataclass.
"""

from __future__ import annotations

from dataclasses import asdict, fields

import torch.nn as nn

from pianogen.models.musegan import MuseGAN, MuseGANConfig
from pianogen.models.note_rnn import NoteRNN, NoteRNNConfig
from pianogen.models.note_transformer import NoteTransformer, NoteTransformerConfig
from pianogen.models.perf_rnn import PerfRNN, PerfRNNConfig
from pianogen.models.transformer import Transformer, TransformerConfig

MODELS: dict[str, tuple[type[nn.Module], type]] = {
    "note-rnn": (NoteRNN, NoteRNNConfig),
    "perf-rnn": (PerfRNN, PerfRNNConfig),
    "transformer": (Transformer, TransformerConfig),
    "note-transformer": (NoteTransformer, NoteTransformerConfig),
    "musegan": (MuseGAN, MuseGANConfig),
}
#: Kinds whose tokens are whole notes (note tuples, predicted field by field).
NOTE_KINDS = ("note-rnn", "note-transformer")
#: Kinds that attend over a window of ``config.context`` tokens (trained on windows that long).
WINDOWED_KINDS = ("transformer", "note-transformer")


def register(kind: str, model_cls: type[nn.Module], config_cls: type) -> None:
    MODELS[kind] = (model_cls, config_cls)


def config_from_dict(kind: str, d: dict):
    """The config dataclass of ``kind`` from a dict (lists become tuples; unknown keys rejected)."""
    cls = MODELS[kind][1]
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names
    if unknown:
        raise ValueError(f"unknown {kind} config keys: {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def build_model(kind: str, config) -> nn.Module:
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose from {sorted(MODELS)}")
    model_cls, config_cls = MODELS[kind]
    if isinstance(config, dict):
        config = config_from_dict(kind, config)
    return model_cls(config)


def config_dict(model: nn.Module) -> dict:
    return asdict(model.config)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
