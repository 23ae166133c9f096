"""note-rnn: an LSTM/GRU over note tuples with a jointly modelled note.

Each time step reads the previous note and predicts the next one factorized as
p(step) p(pitch | step) p(duration | step, pitch) p(velocity | step, pitch, duration),
all conditioned on the RNN state. Step comes first because it decides whether the note
joins the current chord (step = 0) or starts a new onset; the pitch that fits depends on
that, and how long and loud a note is depends on both. Sampling the four fields
independently would give chords of random lengths and loudness.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from pianogen.models.rnn_step import rnn_step


@dataclass
class NoteRNNConfig:
    vocab_sizes: tuple[int, int, int, int] = (125, 128, 124, 32)  # step, pitch, duration, velocity bins
    cell: str = "lstm"  # "lstm" or "gru"
    layers: int = 2
    hidden: int = 256
    embed: int = 64  # per field
    dropout: float = 0.1


class NoteRNN(nn.Module):
    def __init__(self, config: NoteRNNConfig):
        super().__init__()
        self.config = c = config
        # Inputs: previous note's fields; index vocab_size of each field is "start of piece".
        self.inputs = nn.ModuleList(nn.Embedding(v + 1, c.embed) for v in c.vocab_sizes)
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[c.cell]
        self.rnn = rnn(4 * c.embed, c.hidden, c.layers, batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.drop = nn.Dropout(c.dropout)
        # Embeddings of the current note's already-decided fields, fed to the later heads.
        self.given = nn.ModuleList(nn.Embedding(v, c.embed) for v in c.vocab_sizes[:-1])
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(c.hidden + i * c.embed, c.hidden), nn.GELU(), nn.Linear(c.hidden, v))
            for i, v in enumerate(c.vocab_sizes)
        )

    @property
    def bos(self) -> torch.Tensor:
        """The "start of piece" input note, shape (4,)."""
        return torch.tensor(self.config.vocab_sizes)

    def forward(self, prev: torch.Tensor, state=None, target: torch.Tensor | None = None):
        """prev: (B, T, 4) previous notes.

        Without ``target``: returns (hidden (B, T, H), state) for step-by-step sampling.
        With ``target`` (B, T, 4), the notes to predict: returns (list of 4 logits tensors,
        teacher-forced in field order, state); everything runs inside forward so DDP syncs
        every parameter's gradient.
        """
        x = torch.cat([emb(prev[..., i]) for i, emb in enumerate(self.inputs)], dim=-1)
        h, state = self.rnn(x, state)
        h = self.drop(h)
        if target is None:
            return h, state
        return [self.field_logits(h, i, target) for i in range(4)], state

    def step(self, prev: torch.Tensor, state=None):
        """One previous note per row, (B, 4) -> hidden (B, H), new state (for sampling)."""
        x = torch.cat([emb(prev[:, i]) for i, emb in enumerate(self.inputs)], dim=-1)
        return rnn_step(self.rnn, x, state)

    def field_logits(self, h: torch.Tensor, i: int, given: torch.Tensor) -> torch.Tensor:
        """Logits of field ``i`` from hidden ``h`` (..., H) and fields 0..i-1 in ``given`` (..., >=i)."""
        parts = [h] + [self.given[j](given[..., j]) for j in range(i)]
        return self.heads[i](torch.cat(parts, dim=-1))

    @torch.no_grad()
    def generate_step(self, h: torch.Tensor, pick) -> torch.Tensor:
        """Sample one note per row from hidden (B, H); ``pick(field, logits) -> (B,)`` draws a class."""
        out = torch.zeros(h.shape[0], 4, dtype=torch.long, device=h.device)
        for i in range(4):
            out[:, i] = pick(i, self.field_logits(h, i, out))
        return out
