"""transformer: a decoder-only Transformer over performance events (Music Transformer's task).

Pre-norm blocks (attention, then a 4x GELU MLP), dropout, input and output embeddings tied.
Positions are relative, as Music Transformer (Huang et al. 2018) showed matters for music:

- ``position="rope"`` (default): rotary embeddings on queries and keys, attention by PyTorch's
  fused ``scaled_dot_product_attention``;
- ``position="relative"``: Music Transformer's learned relative embeddings ``E_r`` (one per
  layer, shared by the heads, one row per distance up to ``context``), added to the attention
  logits; over a whole training window they come from the memory-efficient "skewing" of
  ``Q E_r^T`` (O(T) extra memory per row, not O(T^2) per head).

A token attends to itself and the ``context - 1`` tokens before it. The state carried between
calls (sampling one event at a time, scoring a long piece chunk by chunk) is a key/value cache
holding only those last ``context - 1`` positions: a sliding window, so generation runs on
past the training window at a constant cost per event. Both position schemes depend only on
distances, so positions beyond the training window mean nothing new to the model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DecoderConfig:
    """The decoder's sizes, shared by the event and the note Transformer."""

    layers: int = 4
    width: int = 256  # model dimension
    heads: int = 4
    context: int = 512  # attention span in tokens (the training window)
    # 0 by default: on a CPU any attention dropout sends PyTorch's attention from its fused
    # kernel to the plain one, and a training step takes 2.6x as long (docs/benchmarks.md); at
    # equal minutes the 2 x 128 note-transformer learned far more without it (docs/results.md).
    dropout: float = 0.0
    position: str = "rope"  # rope | relative


@dataclass
class TransformerConfig(DecoderConfig):
    vocab_size: int = 388


@dataclass
class KVCache:
    """Per-layer keys and values of the last ``context - 1`` positions, and the next position.

    Each layer's keys are (B, heads, capacity, head_dim), RoPE already applied, of which the first
    ``length`` positions are the cache. A cache with room to spare (capacity above ``length``,
    made by :meth:`with_room` when sampling starts) takes each new position by writing it in
    place instead of copying the whole history into a new tensor at every step, so a step
    *consumes* the cache it is given: step twice from one cache and the second overwrites the
    first's position (sampling never does; copy it, or :meth:`expand`, to branch).
    """

    pos: int
    keys: list[torch.Tensor]
    values: list[torch.Tensor]
    length: int | None = None  # cached positions; None: every position of ``keys``
    extra: tuple[torch.Tensor, ...] = ()  # per-row tensors a model carries beside the cache (batch first)

    def __post_init__(self):
        if self.length is None:
            self.length = self.keys[0].shape[2] if self.keys else 0

    def expand(self, n: int) -> "KVCache":
        """Repeat a batch-1 cache for ``n`` samples."""
        return KVCache(self.pos, [k.expand(n, -1, -1, -1).contiguous() for k in self.keys],
                       [v.expand(n, -1, -1, -1).contiguous() for v in self.values], self.length,
                       tuple(t.expand(n, *t.shape[1:]).contiguous() for t in self.extra))

    def with_room(self, capacity: int) -> "KVCache":
        """This cache in tensors of ``capacity`` positions (itself if they already are)."""
        if not self.keys or self.keys[0].shape[2] >= capacity:
            return self

        def grown(t: torch.Tensor) -> torch.Tensor:
            out = t.new_empty(*t.shape[:2], capacity, t.shape[3])
            out[:, :, : self.length] = t[:, :, : self.length]
            return out

        return KVCache(self.pos, [grown(k) for k in self.keys], [grown(v) for v in self.values], self.length, self.extra)


def rope_angles(pos: torch.Tensor, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin) of the angles pos * 10000^(-2i/d), (T, d/2) float32; computed once per forward
    and shared by every layer's queries and keys."""
    inv = 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64, device=pos.device) / d)
    ang = pos.to(torch.float64)[:, None] * inv[None]  # float64: exact angles far past the training window
    return ang.cos().float(), ang.sin().float()


def _rope(x: torch.Tensor, rot: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate pairs of channels of x (..., T, d) by the angles of ``rope_angles``; ``rot``:
    their (cos, sin, cos + i sin), (T, d/2) each."""
    if x.dtype == torch.float32:
        # The same rotation as one complex product: 5 operations instead of 11, and a sampling
        # step at batch 1 costs its number of operations. (No bf16 complex type: _rope_real.)
        return torch.view_as_real(torch.view_as_complex(x.unflatten(-1, (-1, 2))) * rot[2]).flatten(-2)
    return _rope_real(x, rot)


def _rope_real(x: torch.Tensor, rot: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """:func:`_rope` in real arithmetic, for any dtype."""
    cos, sin, _ = rot
    if cos.dtype != x.dtype:
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


def _dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout only where it drops something: in eval (or at p 0) an ``nn.Dropout`` still
    dispatches an operation, and a sampling step at batch 1 costs its number of operations."""
    return F.dropout(x, p, True) if training and p else x


def skew(qe: torch.Tensor) -> torch.Tensor:
    """Music Transformer's skewing: (..., T, T) logits against distances T-1..0 (column r is
    distance T-1-r) -> (..., T, T) logits against keys (entry [i, j] is distance i - j; entries
    above the diagonal are junk, and masked by the caller)."""
    *lead, t, _ = qe.shape
    x = F.pad(qe, (1, 0)).reshape(*lead, t + 1, t)
    return x[..., 1:, :]


class Attention(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.c, self.hd = c, c.width // c.heads
        self.qkv = nn.Linear(c.width, 3 * c.width)
        self.proj = nn.Linear(c.width, c.width)
        if c.position == "relative":
            self.rel = nn.Parameter(torch.randn(c.context, self.hd) * 0.02)  # row r: distance context-1-r

    def forward(self, x, start: int, past: tuple[torch.Tensor, torch.Tensor, int] | None, rot=None):
        """x (B, T, width) at absolute positions start .. start + T - 1, after ``past`` (keys,
        values, cached length: see :class:`KVCache`) -> (output, (keys, values, length)); ``rot``:
        the positions' ``rope_angles`` (rope only)."""
        B, T, _ = x.shape
        qkv = self.qkv(x).view(B, T, 3, self.c.heads, self.hd).permute(2, 0, 3, 1, 4)
        v = qkv[2]
        # Queries and keys rotated in one call: at batch 1 a step costs its number of operations.
        q, k = _rope(qkv[:2], rot) if self.c.position == "rope" else qkv[:2]
        room = False
        if past is not None:
            kc, vc, n = past
            room = T == 1 and n < kc.shape[2]
            if room:  # written in place: a step copies one position, not the whole history
                kc[:, :, n : n + 1], vc[:, :, n : n + 1] = k, v
                k, v = kc[:, :, : n + 1], vc[:, :, : n + 1]
            else:
                k, v = torch.cat([kc[:, :, :n], k], 2), torch.cat([vc[:, :, :n], v], 2)
        S = k.shape[2]
        drop = self.c.dropout if self.training else 0.0
        if self.c.position == "rope" and ((past is None and T <= self.c.context) or (T == 1 and S <= self.c.context)):
            # A whole window is causal; one new event sees every cached key (the cache never
            # holds more than context - 1 of them), so neither needs a mask built.
            out = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1, dropout_p=drop)
        else:
            pos = torch.arange(start, start + T, device=x.device)
            dist = pos[:, None] - torch.arange(start + T - S, start + T, device=x.device)[None]  # (T, S): query - key
            allowed = (dist >= 0) & (dist < self.c.context)
            bias = torch.zeros(T, S, dtype=q.dtype, device=x.device).masked_fill(~allowed, float("-inf"))
            if self.c.position == "relative":
                bias = bias + self._relative(q, dist, past is None and T == S) / math.sqrt(self.hd)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=drop)
        keep = self.c.context - 1
        if keep < 1:
            new = None
        elif room:
            new = (kc, vc, S)
        else:
            new = (k[:, :, -keep:], v[:, :, -keep:], min(S, keep))
        return _dropout(self.proj(out.transpose(1, 2).reshape(B, T, -1)), self.c.dropout, self.training), new

    def _relative(self, q: torch.Tensor, dist: torch.Tensor, square: bool) -> torch.Tensor:
        """Relative logits q_i . E_r[distance(i, j)], (B, h, T, S); zero where not allowed."""
        T = q.shape[2]
        if square and T <= self.c.context:
            return skew(q @ self.rel[-T:].T)  # the memory-efficient path for whole windows
        idx = (self.c.context - 1 - dist).clamp(0, self.c.context - 1)  # (T, S)
        qe = q @ self.rel.T  # (B, h, T, context)
        return torch.gather(qe, 3, idx.expand(*qe.shape[:2], -1, -1)) * ((dist >= 0) & (dist < self.c.context))


class Block(nn.Module):
    def __init__(self, c: TransformerConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(c.width), nn.LayerNorm(c.width)
        self.attn = Attention(c)
        self.mlp = nn.Sequential(nn.Linear(c.width, 4 * c.width), nn.GELU(), nn.Linear(4 * c.width, c.width))
        self.dropout = c.dropout

    def forward(self, x, start: int, past, rot=None):
        a, new = self.attn(self.ln1(x), start, past, rot)
        x = x + a
        return x + _dropout(self.mlp(self.ln2(x)), self.dropout, self.training), new


class Decoder(nn.Module):
    """The decoder stack shared by the event and the note Transformer: pre-norm blocks over
    input vectors (B, T, width) at absolute positions, a sliding key/value cache, a final norm.
    Subclasses bring their own input embedding and output head."""

    def __init__(self, config):
        super().__init__()
        self.config = c = config
        if c.width % c.heads or (c.width // c.heads) % 2:
            raise ValueError(f"width {c.width} must split into {c.heads} heads of an even size")
        if c.position not in ("rope", "relative"):
            raise ValueError(f"position must be 'rope' or 'relative', not {c.position!r}")
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.ln_f = nn.LayerNorm(c.width)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def _angles(self, start: int, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``rope_angles`` of positions start .. start + length - 1 and cos + i sin, sliced from
        a table kept on the module (grown by doubling; not saved with the weights): the same
        values, without recomputing them at every sampling step."""
        table = getattr(self, "_angle_table", None)
        if table is None or table[0].device != device or table[0].shape[0] < start + length:
            n = max(2 * (start + length), 2 * self.config.context)
            cos, sin = rope_angles(torch.arange(n, device=device), self.config.width // self.config.heads)
            table = self._angle_table = (cos, sin, torch.complex(cos, sin))
        return tuple(t[start : start + length] for t in table)

    def decode(self, x: torch.Tensor, state: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Input vectors (B, T, width) after ``state`` -> normalized hidden states (B, T, width), new cache."""
        start, T = (state.pos if state is not None else 0), x.shape[1]
        x = _dropout(x, self.config.dropout, self.training)
        rot = self._angles(start, T, x.device) if self.config.position == "rope" else None
        if state is not None and T == 1:  # stepping: give the cache room to grow in place
            state = state.with_room(self.config.context - 1)
        keys, values, length = [], [], 0
        for i, block in enumerate(self.blocks):
            past = (state.keys[i], state.values[i], state.length) if state is not None and state.keys else None
            x, new = block(x, start, past, rot)
            if new is not None:
                keys.append(new[0])
                values.append(new[1])
                length = new[2]
        return self.ln_f(x), KVCache(start + T, keys, values, length)


class Transformer(Decoder):
    def __init__(self, config: TransformerConfig):
        super().__init__(config)
        self.embed = nn.Embedding(config.vocab_size + 1, config.width)  # id vocab_size = start of piece
        self.apply(self._init)

    def forward(self, events: torch.Tensor, state: KVCache | None = None):
        """events (B, T) -> logits (B, T, vocab) of the next events, and the new cache."""
        h, state = self.decode(self.embed(events), state)
        # Output weights tied to the input embedding (without the start-of-piece row).
        return F.linear(h, self.embed.weight[: self.config.vocab_size]), state

    def step(self, events: torch.Tensor, state: KVCache | None = None):
        """One event per row, (B,) -> next-event logits (B, vocab), new cache (for sampling)."""
        logits, state = self(events[:, None], state)
        return logits[:, 0], state
