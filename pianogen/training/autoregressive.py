"""Training task for the autoregressive models: note-rnn, perf-rnn and the Transformer.

Data: random windows of ``seq_len + 1`` tokens from train-split pieces, each piece chosen
with probability proportional to its length, augmented by pitch transposition (applied to
tokens) and time stretch (pieces pre-encoded once per stretch factor, as Magenta does).
Validation and test use whole pieces, unaugmented, with the RNN state carried across chunks.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from pianogen.data.corpus import corpus_name
from pianogen.models import NOTE_KINDS, WINDOWED_KINDS
from pianogen.representations.codecs import CODEC_FOR_MODEL, PIANO_HIGH, PIANO_LOW, DensityControlCodec
from pianogen.training.loop import Task, TrainConfig, process_rank


@dataclass
class AugmentConfig:
    enabled: bool = True
    transpose: int = 3  # up to this many semitones up or down, kept inside the piano range
    stretch: tuple[float, ...] = (0.95, 0.975, 1.0, 1.025, 1.05)  # time scale factors


def encode_pieces(notes: pd.DataFrame, codec, time_scale: float = 1.0, dtype=np.int64) -> list[np.ndarray]:
    """Token arrays (BOS first) of every piece in a notes table, in piece_id order.

    ``dtype=np.int16`` stores a corpus in a quarter of the memory (every token id < 32768):
    the 75 h corpus is 11.4 M events per stretch factor.
    """
    return [codec.encode(g, time_scale).astype(dtype, copy=False) for _, g in notes.groupby("piece_id", sort=True, observed=True)]


def fixed_order(pieces: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random order of ``pieces`` (seed 0: the same in every evaluation and every run)
    and the running token count along it, to take a subset of about so many tokens."""
    order = np.random.default_rng(0).permutation(len(pieces))
    return order, np.cumsum([len(pieces[i]) for i in order])


class WindowSampler:
    """Random training windows with augmentation; its RNG state is saved for --resume."""

    def __init__(self, notes: pd.DataFrame, codec, seq_len: int, augment: AugmentConfig, seed: int):
        self.codec, self.seq_len, self.augment = codec, seq_len, augment
        stretches = augment.stretch if augment.enabled else (1.0,)
        self.versions = [encode_pieces(notes, codec, s, np.int16) for s in stretches]
        self.by_scale = dict(zip(stretches, self.versions))
        self.lengths = np.array([len(p) for p in self.versions[0]])
        if (self.lengths > seq_len + 1).sum() == 0:
            raise ValueError(f"no training piece is longer than seq_len + 1 = {seq_len + 1} tokens")
        w = np.maximum(self.lengths - seq_len - 1, 0).astype(np.float64)
        self.weights = w / w.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> np.ndarray:
        out = []
        for _ in range(batch_size):
            version = self.versions[self.rng.integers(len(self.versions))]
            piece = version[self.rng.choice(len(self.weights), p=self.weights)]
            start = int(self.rng.integers(0, len(piece) - self.seq_len))
            window = piece[start : start + self.seq_len + 1]
            if self.augment.enabled and self.augment.transpose:
                lo, hi = self.codec.pitch_range(window)
                k = int(self.rng.integers(max(-self.augment.transpose, PIANO_LOW - lo), min(self.augment.transpose, PIANO_HIGH - hi) + 1))
                window = self.codec.transpose(window, k) if k else window
            out.append(window)
        return np.stack(out).astype(np.int64)


def targets(kind: str, tokens: torch.Tensor) -> torch.Tensor:
    """What a model predicts from ``tokens``: the next tokens (only the event column of
    density-controlled performance tokens)."""
    nxt = tokens[:, 1:]
    return nxt[..., 0] if kind not in NOTE_KINDS and nxt.dim() == 3 else nxt


def sequence_loss(kind: str, outputs, target: torch.Tensor, reduction: str = "mean"):
    """NLL (nats) of ``target`` under a model's forward outputs; (loss, per-field parts)."""
    if kind in NOTE_KINDS:
        parts = [F.cross_entropy(lg.flatten(0, -2).float(), target[..., i].flatten(), reduction=reduction) for i, lg in enumerate(outputs)]
        return sum(parts), parts
    return F.cross_entropy(outputs.flatten(0, 1).float(), target.flatten(), reduction=reduction), []


def run_model(model, kind: str, tokens: torch.Tensor, state=None):
    """Forward over tokens[:, :-1] predicting tokens[:, 1:]; returns (outputs, state)."""
    if kind in NOTE_KINDS:
        return model(tokens[:, :-1], state, target=tokens[:, 1:])
    if tokens.dim() == 3:  # (event, density bin): each step sees the density of the event it predicts
        return model(tokens[:, :-1, 0], state, density=tokens[:, 1:, 1])
    return model(tokens[:, :-1], state)


def windows(piece: np.ndarray, context: int) -> list[tuple[np.ndarray, int]]:
    """A long piece as a Transformer is trained on it: windows of ``context`` inputs (plus the
    targets' last token) every ``context // 2`` tokens, each scored from the position where the
    previous one stopped, so every token is predicted from at least half a context of history
    computed inside one window (never through a cache that slid past a training window).
    Returns (tokens, first position scored) pairs; the first window scores from position 1."""
    stride = max(1, context // 2)
    out, s = [(piece[: context + 1], 1)], 0
    while s + context + 1 < len(piece):
        s += stride
        out.append((piece[s : s + context + 1], context - stride + 1))
    return out


@torch.no_grad()
def sequence_nll(model, kind: str, pieces: list[np.ndarray], device, chunk: int = 1024, batch: int = 16, desc: str | None = None) -> tuple[float, int]:
    """Total NLL (nats) and token count of whole pieces (:func:`token_nll`, summed)."""
    per = token_nll(model, kind, pieces, device, chunk, batch, desc)
    return float(sum(p[1:].sum() for p in per)), sum(len(p) - 1 for p in per)


def token_nll(model, kind: str, pieces: list[np.ndarray], device, chunk: int = 1024, batch: int = 16, desc: str | None = None) -> list[np.ndarray]:
    """NLL (nats) of every token of whole pieces: per piece a (T, fields) float array (a note
    model's four fields, else one column), row 0 (the start token, never a target) zero.

    RNNs carry their state across chunks; Transformers score overlapping windows of their
    context (:func:`windows`), the regime they were trained and sample in. Pieces (or windows)
    are batched (padded; padded targets ignored) so evaluation stays fast on CPU. ``desc``
    shows a progress bar (batches, rate, ETA) under that name: a long evaluation is never silent.
    """
    import sys

    from tqdm import tqdm

    fields = 4 if kind in NOTE_KINDS else 1
    out = [np.zeros((len(p), fields)) for p in pieces]
    if kind in WINDOWED_KINDS:
        chunk = model.config.context
        stride = max(1, chunk // 2)  # windows() starts one every half context
        items = [(k, m * stride, w, first) for k, p in enumerate(pieces) for m, (w, first) in enumerate(windows(p, chunk))]
    else:
        items = [(k, 0, p, 1) for k, p in enumerate(pieces)]
    order = sorted(range(len(items)), key=lambda i: len(items[i][2]))
    for b in tqdm(range(0, len(order), batch), desc=desc, unit="batch", disable=desc is None, file=sys.stderr, dynamic_ncols=True, leave=False):
        group = [items[i] for i in order[b : b + batch]]
        longest = max(len(p) for _, _, p, _ in group)
        shape = (len(group), longest) + group[0][2].shape[1:]
        toks = np.zeros(shape, dtype=np.int64)
        for j, (_, _, p, _) in enumerate(group):
            toks[j, : len(p)] = p
        toks_t = torch.from_numpy(toks).to(device)
        state = None
        nll = np.zeros((len(group), longest, fields))
        for s in range(0, longest - 1, chunk):
            piece = toks_t[:, s : s + chunk + 1]
            outputs, state = run_model(model, kind, piece, state)
            target = targets(kind, piece)
            if kind in NOTE_KINDS:
                parts = [F.cross_entropy(lg.float().transpose(1, -1), target[..., i], reduction="none") for i, lg in enumerate(outputs)]
            else:
                parts = [F.cross_entropy(outputs.float().transpose(1, -1), target, reduction="none")]
            nll[:, s + 1 : s + 1 + piece.shape[1] - 1] = torch.stack(parts, -1).cpu().numpy()
        for j, (k, offset, p, first) in enumerate(group):  # targets scored from ``first`` (padding never)
            out[k][offset + first : offset + len(p)] = nll[j, first : len(p)]
    return out


class SequenceTask(Task):
    """Next-token training for every autoregressive model (the kinds in CODEC_FOR_MODEL)."""

    cpu_bf16 = True  # measured: bf16 autocast trains the LSTMs 1.7x faster on AVX-512 BF16 CPUs

    def __init__(self, kind: str, model, codec, notes: pd.DataFrame, pieces: pd.DataFrame, cfg: TrainConfig, augment: AugmentConfig, data_dir: str = ""):
        self.kind, self.codec, self.cfg, self.augment = kind, codec, cfg, augment
        self.eval_rate: float | None = None  # validation tokens per second, measured by evaluate()
        self.models = {"model": model}
        self.data_dir = data_dir
        split_of = dict(zip(pieces["piece_id"], pieces["split"]))
        self.seconds = dict(zip(pieces["piece_id"], pieces["duration"]))
        splits = notes["piece_id"].map(split_of)
        self.notes = {s: notes[splits == s] for s in ("train", "validation", "test")}
        for s in ("train", "validation"):
            if len(self.notes[s]) == 0:
                raise ValueError(f"{data_dir}: the {s} split has no notes")
        # A corpus may hold its test split back (asap-performances does): then the final
        # report says so, and `scripts/evaluate_nll.py` scores test on another folder.
        self.splits = [s for s in ("train", "validation", "test") if len(self.notes[s])]
        self.report_split = "test" if "test" in self.splits else "validation"
        # Each DDP rank draws its own windows.
        self.sampler = WindowSampler(self.notes["train"], codec, cfg.seq_len, augment, cfg.seed + 1000 * process_rank())
        # Unaugmented encodings for evaluation and baselines; train's is already in the sampler.
        self.eval_pieces = {s: encode_pieces(self.notes[s], codec) for s in ("validation", "test") if s in self.splits}
        self.eval_pieces["train"] = self.sampler.by_scale.get(1.0) or encode_pieces(self.notes["train"], codec)

    def optimizers(self, cfg):
        m = self.models["model"]
        return {"model": torch.optim.AdamW(m.parameters(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)}

    def train_step(self, trainer, step):
        tokens = torch.from_numpy(self.sampler.batch(trainer.cfg.batch_size)).to(trainer.device)
        with trainer.autocast():
            outputs, _ = run_model(trainer.wrapped["model"], self.kind, tokens)
        loss, parts = sequence_loss(self.kind, outputs, targets(self.kind, tokens))
        trainer.backward(loss, "model")
        metrics = {"loss": float(loss.detach())}
        if parts:
            metrics.update({f"nll_{n}": float(p.detach()) for n, p in zip(("step", "pitch", "duration", "velocity"), parts)})
        return metrics

    def evaluate(self, trainer):
        """Validation NLL per token, under the training autocast (bf16 where it is on): on
        every validation piece, or on a fixed spread of them holding about ``eval_tokens``
        (a full pass over 6 h of validation costs as much as a minute of training on CPU)."""
        pieces = self.eval_pieces["validation"]
        cap = trainer.cfg.eval_tokens
        if cap and sum(len(p) for p in pieces) > cap:
            order, tokens = fixed_order(pieces)  # the same subset at every evaluation and in every run
            pieces = [pieces[i] for i in order[: np.searchsorted(tokens, cap) + 1]]
        if trainer.closing:  # the run's last evaluation fits what is left of its time limit
            pieces = [pieces[i] for i in self._fitting(pieces, trainer.seconds_left(), trainer)]
        # Under torchrun each rank scores its share of the pieces; the sums are all-reduced.
        pieces = pieces[trainer.rank :: trainer.world]
        t = time.perf_counter()
        with trainer.autocast():
            total, count = sequence_nll(self.models["model"], self.kind, pieces, trainer.device) if pieces else (0.0, 0)
        self.eval_rate = count / max(time.perf_counter() - t, 1e-6)  # tokens per second, to fit a time-limited final report
        total, count = trainer.sum_over_ranks([total, float(count)])
        return {"val_loss": total / count}

    def _fitting(self, pieces: list[np.ndarray], seconds: float, trainer) -> list[int]:
        """Indices of all ``pieces``, or where scoring them all would take longer than ``seconds``
        (at the evaluation rate measured in this run, else three times the training rate: a
        forward pass without a backward; halved for safety), of a fixed random subset (seed 0)
        that fits, at least one piece."""
        total = sum(len(p) for p in pieces)
        rate = self.eval_rate or 3 * trainer.train_rate
        budget = 0.5 * rate * max(seconds, 0.0)
        if total <= budget:
            return list(range(len(pieces)))
        order, tokens = fixed_order(pieces)
        return sorted(order[: max(1, int(np.searchsorted(tokens, budget)))].tolist())

    def split_seconds(self, split: str) -> float:
        return float(sum(self.seconds[p] for p in self.notes[split]["piece_id"].unique()))

    def final_metrics(self, trainer) -> dict[str, Any]:
        from pianogen.baselines import baseline_report

        out: dict[str, Any] = {}
        splits = [s for s in ("validation", "test") if s in self.splits]
        for split in ("validation", "test"):
            if split not in self.splits:
                out[split] = {"absent": f"{self.data_dir} has no {split} split"}
                continue
            # A time-limited run's report fits in what is left of the limit (each split its share).
            chosen = self._fitting(self.eval_pieces[split], trainer.seconds_left() / (len(splits) - splits.index(split)), trainer)
            pieces = [self.eval_pieces[split][i] for i in chosen]
            tokens_all = sum(len(p) for p in self.eval_pieces[split])
            subset = len(pieces) < len(self.eval_pieces[split])
            show = (f"final {split} NLL ({sum(len(p) for p in pieces):,} tokens" + (f" of {tokens_all:,}, what fits the time limit)" if subset else ")")
                    if trainer.cfg.progress and trainer.is_main else None)
            total, count = sequence_nll(self.models["model"], self.kind, pieces, trainer.device, desc=show)
            ids = sorted(self.notes[split]["piece_id"].unique())  # encode_pieces' order
            secs = self.split_seconds(split) if not subset else float(sum(self.seconds[ids[i]] for i in chosen))
            out[split] = {"nll_per_token": total / count, "nll_per_second": total / secs, "tokens": count, "seconds": round(secs, 2)}
            if subset:
                out[split].update({"subset": True, "tokens_in_split": tokens_all, "pieces": len(pieces), "pieces_in_split": len(self.eval_pieces[split])})
        vocab = self.codec.config.vocab_sizes if self.kind in NOTE_KINDS else self.codec.config.vocab_size
        # Baselines fit on train, smoothing chosen on validation, scored on test (validation
        # when the corpus has no test split: then slightly flattering to the baselines).
        rs = self.report_split
        # The n-grams model events alone (a density control column is input, not predicted).
        ev = (lambda ps: [self.codec.events(p) for p in ps]) if isinstance(self.codec, DensityControlCodec) else (lambda ps: ps)
        out["baselines"] = {"split": rs, **baseline_report(ev(self.eval_pieces["train"]), ev(self.eval_pieces["validation"]), ev(self.eval_pieces[rs]), vocab, self.split_seconds(rs))}
        out["corpus"] = corpus_name(self.data_dir)
        return out

    def payload(self):
        from pianogen.models import config_dict

        out = {"kind": self.kind, "model_config": config_dict(self.models["model"]), "representation": self.codec.to_dict(), "augment": asdict(self.augment)}
        if isinstance(self.codec, DensityControlCodec):
            # What a density-conditioned model is asked for when a user names no density.
            out["density_default"] = round(len(self.notes["train"]) / self.split_seconds("train"), 3)
        return out

    def summary(self):
        return {
            "dir": str(self.data_dir),
            **{f"{s}_pieces": int(df["piece_id"].nunique()) for s, df in self.notes.items()},
            **{f"{s}_notes": int(len(df)) for s, df in self.notes.items()},
            **{f"{s}_hours": round(self.split_seconds(s) / 3600, 3) for s in self.splits},
            **{f"{s}_tokens": int(sum(len(p) - 1 for p in self.eval_pieces[s])) for s in self.splits},
            "corpus": corpus_name(self.data_dir),
        }

    def tokens_per_step(self, cfg):
        return cfg.batch_size * cfg.seq_len

    def rng_state(self):
        return self.sampler.rng.bit_generator.state

    def set_rng_state(self, state):
        self.sampler.rng.bit_generator.state = state


def make_sequence_task(kind: str, data_dir: str, cfg: TrainConfig, model_overrides: dict | None = None, augment: AugmentConfig | None = None) -> SequenceTask:
    """Build the model, codec and data for ``kind`` from a prepared folder."""
    from pianogen.data import load_notes, load_pieces
    from pianogen.models import build_model

    if kind not in CODEC_FOR_MODEL:
        raise ValueError(f"unknown autoregressive model {kind!r}; choose from {sorted(CODEC_FOR_MODEL)}")
    model_cfg = dict(model_overrides or {})
    if model_cfg.get("density_bins"):
        if kind != "perf-rnn":
            raise ValueError(f"density conditioning is built for perf-rnn, not {kind}")
        codec = DensityControlCodec()
        model_cfg["density_bins"] = codec.density.n_bins  # the codec decides how many bins there are
    else:
        codec = CODEC_FOR_MODEL[kind]()
    if kind in NOTE_KINDS:
        model_cfg.setdefault("vocab_sizes", codec.config.vocab_sizes)
    else:
        model_cfg.setdefault("vocab_size", codec.config.vocab_size)
    if kind in WINDOWED_KINDS:
        model_cfg.setdefault("context", cfg.seq_len)  # attend over the whole training window
        if cfg.seq_len > model_cfg["context"]:
            raise ValueError(f"seq_len {cfg.seq_len} is longer than the Transformer's context {model_cfg['context']}")
    torch.manual_seed(cfg.seed)  # same initial weights for the same seed
    model = build_model(kind, model_cfg)
    return SequenceTask(kind, model, codec, load_notes(data_dir), load_pieces(data_dir), cfg, augment or AugmentConfig(), data_dir)

