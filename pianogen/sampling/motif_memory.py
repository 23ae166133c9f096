"""Motif memory: a note model's own figures, brought back as real music brings them back.

Real piano music repeats itself: a figure, a left-hand pattern, a sequence moved up a step. Our
note models attend to 512 notes (note-transformer) or carry an LSTM state (note-rnn), and still
play a recurring 4-note figure a third as often as real music does (docs/results.md). This is
the continuous-cache idea of Grave et al. (ICLR 2017), and what Magenta's Lookback RNN fed its
RNN as inputs, on note tuples: after each note the memory finds the longest earlier occurrence
(``min_match`` to ``max_match`` notes) of the piece's last pitch intervals and proposes the note
that followed it there, moved to the current pitch (so a figure comes back transposed as well as
in place). Field by field, in the model's own order (step, pitch, duration, velocity), the next
note's distribution becomes the mixture

    p'(v) = (1 - w) p(v) + w [v == proposed value]

where ``w`` depends on the field and the length of the match, and applies only while the note so
far follows the proposal (the step in the proposal's class of step, each later field equal to
it). ``p'`` is a proper distribution, so its weights are fitted by likelihood on held-out real
music (:func:`pianogen.evaluation.likelihood.fit_motif_memory`), not by the repetition they
produce; a weight of 0 leaves the model as it was. Sampling from ``p'`` is: with probability
``w`` take the proposed value, else draw from the model.

Likelihood and listening disagree on how much: at the fitted weights the sampled music still
rarely repeats itself, because proposals need a repeat to start from. A sampling *strength*
``s`` turns each weight into ``1 - (1 - w) ** s`` (the proposal offered ``s`` times over);
the strength a checkpoint samples at by default is chosen by the classifier test on the tuning
half of validation and recorded with it (``scripts/fit_motif_memory.py --strength``;
docs/results.md, "Motif memory").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

#: Classes of a note's step (seconds since the previous onset): a chord (under 30 ms), and up to
#: 100 ms, 200 ms, 400 ms and longer. A proposal's pitch applies when the step drawn is in the
#: proposal's class: a pianist's repeat is rarely on the same 10 ms bin.
STEP_CLASS_EDGES = (0.03, 0.1, 0.2, 0.4)
FIELDS = 4  # step, pitch, duration, velocity


@dataclass(frozen=True)
class MemoryConfig:
    """How far back a figure is matched, and how much each proposed field weighs.

    ``buckets``: lower edges of match lengths (notes); ``weights[b][i]``: the probability of
    taking field ``i`` from the proposal when the match length falls in bucket ``b``."""

    min_match: int = 2
    max_match: int = 16
    buckets: tuple[int, ...] = (2, 3, 4, 6, 8, 12)
    weights: tuple[tuple[float, ...], ...] = field(default_factory=tuple)

    def __post_init__(self):
        if not 1 <= self.min_match <= self.max_match:
            raise ValueError(f"need 1 <= min_match <= max_match, got {self.min_match}, {self.max_match}")
        if not self.buckets or self.buckets[0] != self.min_match or list(self.buckets) != sorted(set(self.buckets)):
            raise ValueError(f"buckets must rise from min_match {self.min_match}, got {self.buckets}")
        if self.weights and (len(self.weights) != len(self.buckets) or any(len(w) != FIELDS or not all(0 <= x < 1 for x in w) for w in self.weights)):
            raise ValueError(f"weights must be {len(self.buckets)} rows of {FIELDS} probabilities in [0, 1)")

    def to_dict(self) -> dict:
        return {k: [list(w) for w in v] if k == "weights" else (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "MemoryConfig":
        return cls(d["min_match"], d["max_match"], tuple(d["buckets"]), tuple(tuple(float(x) for x in w) for w in d["weights"]))

    def bucket_of(self, length: np.ndarray | int) -> np.ndarray:
        """Index of the bucket each match length (notes) falls in (lengths below the first
        bucket count as the first: they only occur where no proposal is made)."""
        return np.clip(np.searchsorted(self.buckets, length, side="right") - 1, 0, len(self.buckets) - 1)

    def weight_table(self) -> np.ndarray:
        """(buckets, 4) weights; zeros where none were fitted."""
        return np.asarray(self.weights, dtype=np.float64) if self.weights else np.zeros((len(self.buckets), FIELDS))

    def scaled(self, strength: float) -> "MemoryConfig":
        """The memory at ``strength``: each weight ``w`` becomes ``1 - (1 - w) ** strength``
        (1: as fitted; 2: as if the proposal were offered twice; 0: off). The fitted weights
        are the likelihood's choice; a listener may want figures back more often than that."""
        if strength < 0:
            raise ValueError(f"motif memory strength must be >= 0, got {strength}")
        if strength == 1:
            return self
        return self.with_weights(1 - (1 - self.weight_table()) ** strength)

    def with_weights(self, table: np.ndarray) -> "MemoryConfig":
        """The same matching with a (buckets, 4) weight table."""
        return replace(self, weights=tuple(tuple(float(x) for x in w) for w in table))


def recorded_memory(checkpoint) -> tuple[MemoryConfig, float] | None:
    """The memory fitted to a checkpoint and the strength it samples at by default (its
    report's ``motif_memory``: the strength chosen by listening measures, 0 when none is
    recorded), or None when none was fitted."""
    from pianogen.checkpoints import read_report

    entry = read_report(checkpoint).get("motif_memory")
    return (MemoryConfig.from_dict(entry["config"]), float(entry.get("strength", 0.0))) if entry else None


def step_classes(steps: np.ndarray, step_seconds: np.ndarray) -> np.ndarray:
    """Class (0-4, ``STEP_CLASS_EDGES``) of step bins ``steps`` given each bin's seconds."""
    return np.searchsorted(np.asarray(STEP_CLASS_EDGES), step_seconds[np.asarray(steps)], side="right")


class MotifMemory:
    """One piece's notes so far, and the note its longest repeated figure proposes next.

    ``step_seconds``: seconds of each step bin of the codec. After :meth:`push`, ``proposal``
    is the next note's proposed (step, pitch, duration, velocity) bins, or None, and
    ``length`` the match it comes from (notes)."""

    def __init__(self, cfg: MemoryConfig, step_seconds: np.ndarray):
        self.cfg, self.step_seconds = cfg, np.asarray(step_seconds)
        self.notes: list[tuple[int, int, int, int]] = []
        self._intervals: list[int] = []  # pitch of note t minus note t-1, from the second note on
        self._last: dict[tuple[int, ...], int] = {}  # interval n-gram -> index of the note it last ended on
        self.proposal: np.ndarray | None = None
        self.length = 0

    def push(self, note) -> None:
        """Add one note (4 bins) and find the next note's proposal."""
        note = tuple(int(x) for x in note)
        self.notes.append(note)
        t = len(self.notes) - 1
        if t >= 1:
            self._intervals.append(note[1] - self.notes[t - 1][1])
        self.proposal, self.length = None, 0
        iv, lo = self._intervals, self.cfg.min_match
        # Longest first: every n-gram ending here is then recorded (after the lookup, so a
        # match is always strictly earlier).
        for k in range(min(self.cfg.max_match, len(iv)), lo - 1, -1):
            gram = tuple(iv[len(iv) - k :])
            j = self._last.get(gram)
            if self.proposal is None and j is not None:
                nxt = self.notes[j + 1]
                pitch = note[1] + nxt[1] - self.notes[j][1]
                if 0 <= pitch < 128:
                    self.proposal, self.length = np.array([nxt[0], pitch, nxt[2], nxt[3]]), k
            self._last[gram] = t

    def bucket(self) -> int:
        """Index of the current match length's bucket (valid while ``proposal`` is set)."""
        return int(self.cfg.bucket_of(self.length))


def proposals(tokens: np.ndarray, cfg: MemoryConfig, step_seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a whole encoded piece (T, 4), row 0 its start-of-piece token: the proposal for each
    row from the rows before it, (T, 4) (-1 where none), and its match length (T,) (0: none)."""
    out = np.full((len(tokens), FIELDS), -1, dtype=np.int64)
    length = np.zeros(len(tokens), dtype=np.int64)
    mem = MotifMemory(cfg, step_seconds)
    for t in range(1, len(tokens) - 1):
        mem.push(tokens[t])
        if mem.proposal is not None:
            out[t + 1], length[t + 1] = mem.proposal, mem.length
    return out, length


def following(field_index: int, chosen: np.ndarray, proposal: np.ndarray, step_seconds: np.ndarray) -> np.ndarray:
    """Whether a note still follows its proposal after ``field_index`` took the values ``chosen``:
    the step in the proposal's class, any later field equal to it (vectorized over rows)."""
    if field_index == 0:
        return step_classes(chosen, step_seconds) == step_classes(np.maximum(proposal, 0), step_seconds)
    return chosen == proposal


def mixture_nll(target_logp: np.ndarray, target: np.ndarray, proposal: np.ndarray, length: np.ndarray, cfg: MemoryConfig,
                step_seconds: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Per-row, per-field NLL (nats) of ``target`` (N, 4) under the mixture, given the model's
    log-probabilities of the target values ``target_logp`` (N, 4) and the rows' proposals.
    ``weights`` (buckets, 4) overrides ``cfg.weights``."""
    w_table = cfg.weight_table() if weights is None else weights
    p = np.exp(target_logp)
    active = proposal[:, 0] >= 0
    bucket = cfg.bucket_of(length)
    out = np.empty_like(p)
    for i in range(FIELDS):
        w = np.where(active, w_table[bucket, i], 0.0)
        out[:, i] = -np.log((1 - w) * p[:, i] + w * (active & (target[:, i] == proposal[:, i])))
        active = active & following(i, target[:, i], proposal[:, i], step_seconds)
    return out


def fit_weights(target_logp: np.ndarray, target: np.ndarray, proposal: np.ndarray, length: np.ndarray, cfg: MemoryConfig,
                step_seconds: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """The (buckets, 4) weights that minimize :func:`mixture_nll` on these rows. Each (bucket,
    field) weight touches only its own rows' terms, so each is a one-dimensional search over ``grid``."""
    grid = np.array([0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) if grid is None else np.asarray(grid)
    totals = np.zeros((len(grid), len(cfg.buckets), FIELDS))
    bucket = cfg.bucket_of(length)
    for g, w in enumerate(grid):
        nll = mixture_nll(target_logp, target, proposal, length, cfg, step_seconds, np.full((len(cfg.buckets), FIELDS), w))
        for b in range(len(cfg.buckets)):
            totals[g, b] = nll[bucket == b].sum(0)
    return grid[totals.argmin(0)]


class BatchMemory:
    """``n`` samples' motif memories while they are sampled together: after :meth:`push` of
    each new note, :meth:`choose` turns the model's draw for each field into a draw from the
    mixture (the proposed value with the field's weight, while the note follows the proposal).

    ``primer`` (T, 4): the encoded seed, row 0 its start-of-piece token; ``gen`` draws the coins."""

    def __init__(self, cfg: MemoryConfig, step_seconds: np.ndarray, n: int, primer: np.ndarray, gen: torch.Generator, device):
        self.table, self.gen, self.device = cfg.weight_table(), gen, device
        self.memories = [MotifMemory(cfg, step_seconds) for _ in range(n)]
        for note in np.asarray(primer)[1:]:
            for m in self.memories:
                m.push(note)
        self._classes = torch.as_tensor(step_classes(np.arange(len(step_seconds)), step_seconds), device=device)
        self._plan()

    def push(self, notes: torch.Tensor) -> None:
        """Add each sample's new note, (n, 4) bins."""
        for m, note in zip(self.memories, notes.cpu().numpy()):
            m.push(note)
        self._plan()

    def _plan(self) -> None:
        """Proposals, weights and coins for the next note (None when no sample has a proposal:
        then :meth:`choose` costs nothing)."""
        rows = [r for r, m in enumerate(self.memories) if m.proposal is not None]
        if not rows:
            self.plan = None
            return
        n = len(self.memories)
        prop, weight = np.zeros((n, FIELDS), dtype=np.int64), np.zeros((n, FIELDS))
        for r in rows:
            prop[r], weight[r] = self.memories[r].proposal, self.table[self.memories[r].bucket()]
        coins = torch.rand((n, FIELDS), generator=self.gen, device=self.device)
        active = np.zeros(n, dtype=bool)
        active[rows] = True  # follows its proposal so far (none is drawn yet)
        self.plan = [torch.as_tensor(prop, device=self.device), coins < torch.as_tensor(weight, device=self.device),
                     torch.as_tensor(active, device=self.device)]

    def choose(self, field_index: int, drawn: torch.Tensor, blocked: torch.Tensor | None = None) -> torch.Tensor:
        """The mixture's value of field ``field_index`` per sample, given the model's ``drawn`` (n,).
        ``blocked`` (n, classes) bool: values this field may not take (a proposal there is passed over)."""
        if self.plan is None:
            return drawn
        prop, take, active = self.plan
        take = active & take[:, field_index]
        if blocked is not None:
            take = take & ~blocked.gather(1, prop[:, field_index : field_index + 1])[:, 0]
        out = torch.where(take, prop[:, field_index], drawn)
        if field_index == 0:
            self.plan[2] = active & (self._classes[out] == self._classes[prop[:, 0]])
        else:
            self.plan[2] = active & (out == prop[:, field_index])
        return out
