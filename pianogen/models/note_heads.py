"""A note predicted field by field: the output heads note-rnn and note-transformer share.

p(step) p(pitch | step) p(duration | step, pitch) p(velocity | step, pitch, duration), each
conditioned on the sequence model's hidden state. Step comes first because it decides whether
the note joins the current chord (step = 0) or starts a new onset; the pitch that fits depends
on that, and how long and loud a note is depends on both. Sampling the four fields
independently would give chords of random lengths and loudness.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class FactorizedNote:
    """Mixin for an ``nn.Module`` with ``self.given`` (embeddings of the decided fields) and
    ``self.heads`` (one MLP per field), built by :meth:`build_note_heads`."""

    def build_note_heads(self, vocab_sizes: tuple[int, ...], hidden: int, embed: int) -> None:
        self.given = nn.ModuleList(nn.Embedding(v, embed) for v in vocab_sizes[:-1])
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(hidden + i * embed, hidden), nn.GELU(), nn.Linear(hidden, v)) for i, v in enumerate(vocab_sizes)
        )

    def field_logits(self, h: torch.Tensor, i: int, given: torch.Tensor) -> torch.Tensor:
        """Logits of field ``i`` from hidden ``h`` (..., H) and fields 0..i-1 in ``given`` (..., >=i)."""
        parts = [h] + [self.given[j](given[..., j]) for j in range(i)]
        return self.heads[i](torch.cat(parts, dim=-1))

    def later_input(self, h: torch.Tensor, step: torch.Tensor, context) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the pitch, duration and velocity heads read once the step bin ``step`` (...,) is
        known: the hidden state, and a bias added to the pitch logits (None: none). Here ``h``
        and no bias; a model that knows more at the next note's onset (the note-transformer's
        keyboard) reads its ``context`` here."""
        return h, None

    def note_logits(self, h: torch.Tensor, target: torch.Tensor, context=None) -> list[torch.Tensor]:
        """The four fields' logits, teacher-forced on ``target`` (..., 4) in field order."""
        g, bias = self.later_input(h, target[..., 0], context)
        return [self.field_logits(h, 0, target)] + [self._later_logits(g, bias, i, target) for i in (1, 2, 3)]

    @torch.no_grad()
    def generate_step(self, h: torch.Tensor, pick, context=None) -> torch.Tensor:
        """Sample one note per row from hidden (B, H); ``pick(field, logits) -> (B,)`` draws a class.
        ``context``: what :meth:`later_input` reads, as in :meth:`note_logits`."""
        out = torch.zeros(h.shape[0], 4, dtype=torch.long, device=h.device)
        out[:, 0] = pick(0, self.field_logits(h, 0, out))
        g, bias = self.later_input(h, out[:, 0], context)
        for i in (1, 2, 3):
            out[:, i] = pick(i, self._later_logits(g, bias, i, out))
        return out

    def _later_logits(self, g: torch.Tensor, bias: torch.Tensor | None, i: int, given: torch.Tensor) -> torch.Tensor:
        logits = self.field_logits(g, i, given)
        # No addition without a bias: at batch 1 a sampling step costs its number of operations.
        return logits + bias if i == 1 and bias is not None else logits
