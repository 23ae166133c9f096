"""Continuing a performance: prime a model with real music, compare what follows.

Continuing a user's music is the app's main use, so unseeded samples are not enough. Each
:class:`Prompt` is a real passage of a held-out split: ``prompt_seconds`` (10 s) of music, then
the ``seconds`` (20 s) the pianist really played next. A model continues the prompt; the
continuations are compared with the real ones by the classifier test (grouped by composition:
a prompt and both its continuations share a fold), by whether they stay in the prompt's key,
and by the likelihood the model gives the real continuation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pianogen.evaluation.segment_features import key_of

MIN_NOTES = 8  # a prompt or continuation with fewer notes describes nothing


@dataclass
class Prompt:
    prompt: pd.DataFrame  # notes starting in the first prompt_seconds, times from 0, ends cut there
    real: pd.DataFrame  # the notes that followed (onsets in the next ``seconds``), times from 0, ends cut
    window: pd.DataFrame  # prompt and continuation as played (ends cut at the window's end), for likelihoods
    piece_id: str
    group: str  # the composition (folds keep it on one side)
    offset: float  # where the prompt starts in the performance (s)


def _cut(notes: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    """Notes with onsets in [lo, hi), times from lo, releases cut at hi."""
    w = notes[(notes["start"] >= lo) & (notes["start"] < hi)]
    return w.assign(start=w["start"] - lo, end=np.minimum(w["end"], hi) - lo)[["pitch", "velocity", "start", "end"]].reset_index(drop=True)


def prompts(data_dir: str | os.PathLike, split: str, count: int, prompt_seconds: float = 10.0, seconds: float = 20.0) -> list[Prompt]:
    """Up to ``count`` prompts from ``split``: each performance's opening first (the first
    ``prompt_seconds``), then its later windows (every ``prompt_seconds + seconds``), taking
    pieces in turn so that as many performances as possible are used."""
    from pianogen.data import load_notes, load_pieces
    from pianogen.data.splits import piece_compositions

    notes = load_notes(data_dir, split)
    group = piece_compositions(load_pieces(data_dir, split))
    span = prompt_seconds + seconds
    per_piece = []
    for pid, g in notes.groupby("piece_id", sort=True, observed=True):
        found = []
        for k in range(int(g["start"].max() // span) + 1):
            lo = k * span
            p, r = _cut(g, lo, lo + prompt_seconds), _cut(g, lo + prompt_seconds, lo + span)
            if len(p) >= MIN_NOTES and len(r) >= MIN_NOTES:
                found.append(Prompt(p, r, _cut(g, lo, lo + span), str(pid), group[pid], lo))
        per_piece.append(found)
    out: list[Prompt] = []
    for k in range(max((len(f) for f in per_piece), default=0)):
        out += [f[k] for f in per_piece if k < len(f)]
    return out[:count]


def continue_prompts(sampler, items: list[Prompt], seconds: float, seed: int = 0, **sampling) -> list[pd.DataFrame]:
    """Each prompt continued for ``seconds`` by an autoregressive sampler (seed ``seed + i``),
    the generated notes only, times from where the continuation starts (the prompt's last
    release), so they compare with :attr:`Prompt.real`."""
    from pianogen.sampling import sample

    out = []
    for i, p in enumerate(items):
        s = sample(sampler, seed_notes=p.prompt, seconds=seconds, seed=seed + i, **sampling)
        start = float(p.prompt["end"].max())
        cont = s[~s["is_seed"]]
        out.append(cont.assign(start=cont["start"] - start, end=cont["end"] - start)[["pitch", "velocity", "start", "end"]].reset_index(drop=True))
    return out


def same_key(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two passages have the same estimated key (Krumhansl-Kessler, duration-weighted)."""
    ka = key_of(a["pitch"].to_numpy(np.int64), (a["end"] - a["start"]).to_numpy(float))
    kb = key_of(b["pitch"].to_numpy(np.int64), (b["end"] - b["start"]).to_numpy(float))
    return ka[:2] == kb[:2]


def key_agreement(items: list[Prompt], continuations: list[pd.DataFrame]) -> float:
    """Share of continuations (with at least ``MIN_NOTES`` notes) in their prompt's key."""
    pairs = [(p.prompt, c) for p, c in zip(items, continuations) if len(c) >= MIN_NOTES]
    return float(np.mean([same_key(a, b) for a, b in pairs])) if pairs else 0.0


def continuation_nll(checkpoint: str | os.PathLike, items: list[Prompt], prompt_seconds: float = 10.0, seconds: float = 20.0, device: str = "cpu") -> float:
    """Nats per second of the real continuations given their prompts: for each window, the
    NLL of all its tokens minus the NLL of the tokens before ``prompt_seconds`` (the chain rule:
    exactly -log p(continuation | prompt)), summed and divided by the seconds continued."""
    import torch

    from pianogen.training.autoregressive import sequence_nll
    from pianogen.checkpoints import load_model
    from pianogen.representations.codecs import codec_from_dict

    model, ckpt = load_model(checkpoint, device)
    codec = codec_from_dict(ckpt["representation"])
    total = 0.0
    with torch.inference_mode():
        for p in items:
            tokens = codec.encode(p.window)
            k = int(np.searchsorted(codec.token_seconds(tokens), prompt_seconds, side="left"))
            whole, _ = sequence_nll(model, ckpt["kind"], [tokens], torch.device(device))
            head, _ = sequence_nll(model, ckpt["kind"], [tokens[:k]], torch.device(device)) if k > 1 else (0.0, 0)
            total += whole - head
    return total / (seconds * len(items)) if items else float("nan")
