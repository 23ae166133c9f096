"""Sample new music from trained checkpoints.

``sample(checkpoint, seed_notes=..., seconds=30, temperature=1.0, top_k=0, top_p=1.0,
seed=0, n=1)`` returns a notes dataframe: the seed notes first (unchanged, ``is_seed``
True), then the continuation. For every model ``seconds`` counts from the seed's end (its
last release; 0 without a seed): the result ends at seed end + ``seconds`` and no note sounds
past it. Where the first new note may start follows each representation, as it was trained:
perf-rnn continues its event stream after the seed's last release, note-rnn steps from the
seed's last onset (so a new note may join the seed's final chord while it still sounds).
Generated performance events decode with Magenta's policy (a NOTE_OFF closes the earliest open
note of its key; no note lasts over ``max_note_seconds``, 5 s) and one sounding note per key (a
re-strike ends the earlier note); see ``performance.decode``.
RNNs step through their state one token at a time, so the past is never re-read.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pianogen.representations.codecs import PIANO_HIGH, PIANO_LOW, PerformanceCodec, codec_from_dict
from pianogen.representations.note_tuples import HeldKeys, cut_restrikes
from pianogen.sampling.density_hold import DensityHold, HoldConfig, tilt_bias
from pianogen.sampling.loading import load_cached
from pianogen.sampling.motif_memory import BatchMemory, MemoryConfig, recorded_memory
from pianogen.sampling.seeds import SeedNotes, seed_to_notes

MAX_NOTE_SECONDS = 5.0  # an unreleased generated note ends this long after its onset (Magenta's value)
HOLD_EVERY = 8  # tokens between two updates of a held sample's tilt (it moves slowly; updating costs a little)

def pick(logits: torch.Tensor, temperature: float, top_k: int, top_p: float, gen: torch.Generator, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Draw one class per row of ``logits`` (B, C): temperature, then ``bias`` (added to the
    tempered logits), then top-k, then nucleus (top-p). ``temperature`` 0 means greedy (argmax).
    """
    if temperature <= 0:
        return (logits if bias is None else logits.float() + bias).argmax(-1)
    logits = logits.float()
    if temperature != 1.0:  # dividing by 1 changes nothing but costs an operation per step
        logits = logits / temperature
    if bias is not None:
        logits = logits + bias
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, idx = torch.sort(logits, descending=True, dim=-1)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = probs.cumsum(-1) - probs > top_p  # keep the smallest set reaching top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, idx, sorted_logits)
    return draw(torch.softmax(logits, dim=-1), gen)


def draw(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """One class per row of ``probs`` (B, C), drawn in proportion to it: the argmax of p / q
    with q ~ Exp(1) per class (the Gumbel-max trick, exponentiated). This is how
    ``torch.multinomial(probs, 1)`` draws a single sample on a CPU, so the same generator gives
    the same classes (tested); without its input checks it takes about 11 us at batch 1 against
    27 (measured: docs/benchmarks.md), and a note is four draws. Rows must be finite and
    non-negative (softmax outputs are)."""
    return (probs / torch.empty_like(probs).exponential_(1.0, generator=gen)).argmax(-1)


def _expand_state(state, n: int):
    """Repeat a batch-1 model state for n samples: LSTM (h, c) tuple, GRU tensor, or a
    Transformer's key/value cache."""
    if hasattr(state, "expand") and not torch.is_tensor(state):
        return state.expand(n)
    if isinstance(state, tuple):
        return tuple(s.expand(-1, n, -1).contiguous() for s in state)
    return state.expand(-1, n, -1).contiguous()


AUTOREGRESSIVE = ("note-rnn", "perf-rnn", "transformer", "note-transformer")
#: Kinds that sample with int8 weights by default on a CPU: their batch-1 step is bound by reading
#: weights (the Transformers' by the number of small operations, which int8 does not reduce).
INT8_KINDS = ("note-rnn", "perf-rnn")


def int8_available() -> bool:
    """Whether this PyTorch has the x86 int8 kernels (FBGEMM) that int8 sampling uses."""
    return any(e in torch.backends.quantized.supported_engines for e in ("x86", "fbgemm"))


class SequenceSampler:
    """A loaded autoregressive checkpoint (note-rnn, perf-rnn, transformer), ready to sample
    (load once, sample many times). Each model steps through its state one token at a time
    (an RNN's hidden state, a Transformer's key/value cache), so the past is never re-read."""

    def __init__(self, path: str | os.PathLike, device: str = "cpu", int8: bool | None = None):
        """``int8``: sample with int8 weights (:func:`pianogen.models.int8.int8_for_cpu`); None
        (the default) does for the RNNs on a CPU with FBGEMM, where it was measured several
        times faster at batch 1 for a likelihood change under 0.5% (``benchmarks/int8.py``)."""
        from pianogen.checkpoints import CheckpointError, load_model

        self.path = Path(path)
        self.model, self.ckpt = load_model(path, device)
        self.kind = self.ckpt["kind"]
        if self.kind not in AUTOREGRESSIVE:
            raise CheckpointError(f"{path}: a {self.kind} checkpoint, not an autoregressive model (use sample_gan)")
        if int8 is None:
            int8 = self.kind in INT8_KINDS and torch.device(device).type == "cpu" and int8_available()
        if int8:
            from pianogen.models.int8 import int8_for_cpu

            if torch.device(device).type != "cpu":
                raise ValueError(f"int8 sampling runs on the CPU, not {device}")
            self.model = int8_for_cpu(self.model)
        self.weights = "int8" if int8 else "fp32"  # what the samples were drawn with (reported with them)
        self.codec = codec_from_dict(self.ckpt["representation"])
        self.device = torch.device(device)
        self.name = self.path.stem
        if isinstance(self.codec, PerformanceCodec):
            c = self.codec.config
            ids = torch.arange(c.vocab_size)
            pitch = ids % 128
            is_note = ids < c.time_shift
            self._mask = torch.where(is_note & ((pitch < PIANO_LOW) | (pitch > PIANO_HIGH)), float("-inf"), 0.0).to(self.device)
        else:
            pitch = torch.arange(128)
            self._mask = torch.where((pitch < PIANO_LOW) | (pitch > PIANO_HIGH), float("-inf"), 0.0).to(self.device)

    @property
    def defaults(self) -> tuple[float, float, float]:
        """(temperature, top-p, time tilt) this checkpoint samples with when a request names
        none: the setting recorded by ``scripts/tune_sampling.py --record``, as a whole, else
        the untuned plain distribution (``UNTUNED``, no tilt). The recorded pitch temperature, part of
        the same setting, is read by :meth:`pitch_temperature_for`."""
        from pianogen.checkpoints import read_report
        from pianogen.checkpoints import default_tilt, sampling_setting

        report = read_report(self.path)
        return (*sampling_setting(report), default_tilt(report))

    def pitch_temperature_for(self, temperature: float, pitch_temperature: float | None = None) -> float | None:
        """The pitch field's temperature when the others sample at ``temperature``: an asked
        ``pitch_temperature`` as it is; else the recorded defaults' ratio of pitch to overall
        temperature times ``temperature`` (so moving the app's one temperature slider moves both);
        None (the same as every field) when none is recorded. Event models draw pitch and time
        in one softmax, so a pitch temperature of their own is an error."""
        from pianogen.checkpoints import pitch_temperature_ratio, read_report

        if isinstance(self.codec, PerformanceCodec):
            if pitch_temperature is not None and pitch_temperature != temperature:
                raise ValueError(f"{self.name}: a pitch temperature of its own is for note models; an event model draws pitch and time "
                                 f"in one softmax at one temperature ({temperature:g})")
            return None
        if pitch_temperature is not None:
            if pitch_temperature < 0:
                raise ValueError(f"pitch temperature must be at least 0, not {pitch_temperature:g}")
            return None if pitch_temperature == temperature else pitch_temperature
        ratio = pitch_temperature_ratio(read_report(self.path))
        return None if ratio == 1.0 else temperature * ratio

    def generate(self, seed_notes: SeedNotes = None, seconds: float = 30.0, temperature: float | None = None, top_k: int = 0,
                 top_p: float | None = None, seed: int = 0, n: int = 1, seed_seconds: float | None = None,
                 max_note_seconds: float | None = MAX_NOTE_SECONDS, time_tilt: float | None = None,
                 notes_per_second: float | None = None, hold: bool = True, motif_memory: float | None = None,
                 held_keys: bool = False, pitch_temperature: float | None = None) -> pd.DataFrame:
        """See :func:`sample`. Sampling runs on the threads the process was given: one RNN step
        is too small for intra-op threads to pay (measured 1.2 ms vs 6.9 ms per step with 2
        threads under load), so a serving process sets ``torch.set_num_threads(1)`` once at
        start; nothing here changes process-wide state."""
        for notes, _ in self.stream(seed_notes, seconds, temperature, top_k, top_p, seed, n, seed_seconds, max_note_seconds, time_tilt,
                                    notes_per_second, every=None, hold=hold, motif_memory=motif_memory, held_keys=held_keys,
                                    pitch_temperature=pitch_temperature):
            pass
        return notes

    @torch.inference_mode()
    def stream(self, seed_notes: SeedNotes = None, seconds: float = 30.0, temperature: float | None = None, top_k: int = 0,
               top_p: float | None = None, seed: int = 0, n: int = 1, seed_seconds: float | None = None,
               max_note_seconds: float | None = MAX_NOTE_SECONDS, time_tilt: float | None = None,
               notes_per_second: float | None = None, every: float | None = 2.0, hold: bool = True,
               motif_memory: float | None = None, held_keys: bool = False,
               pitch_temperature: float | None = None) -> Iterator[tuple[pd.DataFrame, float]]:
        """:meth:`generate` a piece at a time, for sound that starts before the music is done.

        Yields ``(notes, known)``: the notes so far (seed included, laid out as :meth:`generate`
        returns them) and a time in seconds before which they are final: every onset and release
        earlier than ``known`` is in this and every later frame unchanged (a note that still
        sounds at ``known`` may end elsewhere later). A seed comes first, alone; then a frame
        each time every sample has reached another ``every`` seconds of new music (None: none);
        the last frame is exactly :meth:`generate`'s result, with ``known`` its end."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if every is not None and not every > 0:
            raise ValueError(f"every must be positive seconds, not {every}")
        t0, p0, _ = self.defaults
        temperature = t0 if temperature is None else temperature
        top_p = p0 if top_p is None else top_p
        pitch_temperature = self.pitch_temperature_for(temperature, pitch_temperature)
        if n < 1:
            raise ValueError("n must be at least 1")
        notes = seed_to_notes(seed_notes, seed_seconds)
        # The generator lives where the logits are (a CPU generator cannot draw CUDA samples);
        # the same seed gives the same music on the same device.
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        seed_end = float(notes["end"].max()) if notes is not None else 0.0
        end = seed_end + seconds
        empty = pd.DataFrame({"pitch": [], "velocity": [], "start": [], "end": []})
        primer = self.codec.encode(notes if notes is not None else empty)  # BOS first
        bias, control = self.density_controls(time_tilt, notes_per_second)
        # Past HoldConfig.after seconds each sample's pace is held to its own (a density-conditioned
        # model holds the asked density through its input instead).
        held = DensityHold(n, self.step_seconds, seconds + seed_end + 1) if hold and control is None and seconds > HoldConfig.after else None
        if isinstance(self.codec, PerformanceCodec):
            # The continuation starts after the seed's last release.
            begin, velocity = seed_end, int(notes["velocity"].iloc[-1]) if notes is not None else 64
            steps = self._perf(primer, seconds, temperature, top_k, top_p, gen, n, bias, control, every, held)
            decode = lambda r: self.codec.decode(r, start=begin, velocity=velocity, max_note_seconds=max_note_seconds, cut_restrikes=True)  # noqa: E731
        else:
            # The first new note steps from the seed's last onset.
            begin = float(notes["start"].max()) if notes is not None else 0.0
            memory = self._memory(primer, n, gen, motif_memory)
            keys = HeldKeys(self.codec.config, n) if held_keys else None
            steps = self._notes(primer, end - begin, temperature, top_k, top_p, gen, n, bias, every, held, memory, keys, pitch_temperature)
            # A key holds one note at a time, as in prepared data and in the event models' decoding:
            # a generated note ends where its key is struck again (the seed stays the user's).
            decode = lambda r: cut_restrikes(self.codec.decode(r, start=begin))  # noqa: E731
        if notes is not None and every is not None:
            yield self._frame([empty] * n, notes, end), begin
        for rows, reached in steps:
            yield self._frame([decode(r) for r in rows], notes, end), min(begin + reached, end)

    def _frame(self, conts: list[pd.DataFrame], notes: pd.DataFrame | None, end: float) -> pd.DataFrame:
        """Seed and continuations as one notes frame (a ``sample`` column for more than one),
        nothing sounding at or past ``end`` seconds."""
        out = []
        for i, cont in enumerate(conts):
            cont = cont[cont["start"] < end].copy()
            cont["end"] = cont["end"].clip(upper=end)
            cont["is_seed"] = False
            parts = [cont]
            if notes is not None:
                parts.insert(0, notes.assign(is_seed=True))
            df = pd.concat(parts, ignore_index=True)
            df["duration"] = df["end"] - df["start"]
            df = df.sort_values(["start", "pitch"], kind="stable").reset_index(drop=True)
            df["step"] = df["start"].diff().fillna(0.0)
            df = df[["pitch", "velocity", "start", "end", "duration", "step", "is_seed"]]
            if len(conts) > 1:
                df.insert(0, "sample", i)
            out.append(df)
        return out[0] if len(out) == 1 else pd.concat(out, ignore_index=True)

    @property
    def density_conditioned(self) -> bool:
        """True for a model trained with Magenta's note-density control."""
        return bool(getattr(self.model.config, "density_bins", 0))

    def density_controls(self, time_tilt: float | None, notes_per_second: float | None) -> tuple[torch.Tensor | None, int | None]:
        """(time bias, density bin) for a request. ``notes_per_second`` asks for a density: a
        density-conditioned model gets it as its control bin; any other model gets the time
        tilt that its recorded calibration says plays that many notes per second. Without a
        target, a conditioned model plays at its training corpus' mean density. ``time_tilt``
        None is the tilt recorded with the sampling defaults (0 without a target, since the
        calibration already gives the whole tilt for one)."""
        if notes_per_second is not None and not notes_per_second > 0:
            raise ValueError(f"notes_per_second must be positive, not {notes_per_second}")
        if time_tilt is None:
            time_tilt = self.default_tilt if notes_per_second is None else 0.0
        if self.density_conditioned:
            target = notes_per_second if notes_per_second is not None else float(self.ckpt["density_default"])
            lowest = float(self.codec.density.edges[0])
            if target < lowest:
                # Bin 0 is what the model saw where a piece ends (Magenta's rule): not "slow music".
                raise ValueError(f"{self.name} takes densities from {lowest:g} notes per second (asked for {target:g})")
            return self.time_bias(time_tilt), int(self.codec.density.bin(target))
        if notes_per_second is None:
            return self.time_bias(time_tilt), None
        return self.time_bias(time_tilt + self.tilt_for(notes_per_second)), None

    @property
    def default_tilt(self) -> float:
        """The time tilt chosen with the sampling defaults (``scripts/tune_sampling.py
        --time-tilts``): for a model whose density no temperature fixes. 0 if none."""
        return self.defaults[2]

    def tilt_for(self, notes_per_second: float) -> float:
        """The time tilt (see :meth:`time_bias`) measured to give ``notes_per_second``, by
        interpolating the checkpoint's recorded calibration (``scripts/tune_sampling.py
        --density``) in log notes/s; targets outside it get the end of the measured range."""
        from pianogen.checkpoints import read_report

        cal = read_report(self.path).get("density_calibration")
        if not cal:
            raise ValueError(f"{self.path.name} has no density calibration: run scripts/tune_sampling.py {self.path} --density --record")
        tilts = np.array([r["tilt"] for r in cal["table"]], dtype=float)
        rates = np.array([r["notes_per_second"] for r in cal["table"]], dtype=float)
        order = np.argsort(rates)
        return float(np.interp(np.log(notes_per_second), np.log(rates[order]), tilts[order]))

    def time_bias(self, time_tilt: float) -> torch.Tensor | None:
        """The density control: an exponential tilt against time. Every choice that moves time
        forward by d seconds (a TIME_SHIFT event; a note's step) gets ``-time_tilt * d`` added to
        its tempered logit, i.e. its probability times exp(-time_tilt * d): positive ``time_tilt``
        (per second) makes music busier, negative sparser, 0 leaves the model alone. The same
        rule for both models, applied at sampling time only (no retraining). A sparser tilt
        counts at most 1 s per choice (:func:`~pianogen.sampling.density_hold.tilt_bias`)."""
        if not time_tilt:
            return None
        return tilt_bias(torch.tensor(float(time_tilt), device=self.device), self.step_seconds)

    @cached_property
    def step_seconds(self) -> torch.Tensor:
        """Per class of the field a time tilt acts on (C,): the seconds it moves time forward
        (a TIME_SHIFT event's shift, a note's step; 0 for every other event)."""
        if isinstance(self.codec, PerformanceCodec):
            return self.shift_steps.float() * self.codec.config.shift_seconds
        return torch.as_tensor(self.codec.config.step_grid.values, dtype=torch.float32, device=self.device)

    @cached_property
    def shift_steps(self) -> torch.Tensor:
        """Per performance event (vocab,): the 10 ms grid steps it moves time (0 but for TIME_SHIFTs)."""
        c = self.codec.config
        ids = torch.arange(c.vocab_size, device=self.device)
        return torch.where((ids >= c.time_shift) & (ids < c.velocity), ids - c.time_shift + 1, 0)

    @property
    def context(self) -> int | None:
        """A Transformer's attention span in tokens (its training window); None for an RNN."""
        return getattr(self.model.config, "context", None)

    def _recorded_memory(self) -> tuple[MemoryConfig, float] | None:
        """A note model's fitted motif memory and default strength, read from its report each
        time (as :attr:`defaults` is: a re-recorded NAME.json counts at once); None for event models."""
        return recorded_memory(self.path) if not isinstance(self.codec, PerformanceCodec) else None

    @property
    def motif_memory(self) -> MemoryConfig | None:
        """The motif memory fitted to this checkpoint (a note model's, by likelihood on held-out
        music: ``scripts/fit_motif_memory.py``), or None."""
        recorded = self._recorded_memory()
        return recorded[0] if recorded else None

    @property
    def motif_strength(self) -> float:
        """The strength the motif memory samples at by default (0: off; see ``motif_memory``)."""
        recorded = self._recorded_memory()
        return recorded[1] if recorded else 0.0

    def _memory(self, primer: np.ndarray, n: int, gen: torch.Generator, strength: float | None) -> BatchMemory | None:
        """``n`` samples' motif memories at ``strength`` (None: the recorded one), holding the
        seed; None when the memory is off or none was fitted."""
        recorded = self._recorded_memory()
        if recorded is None:
            return None
        cfg, default = recorded
        strength = default if strength is None else float(strength)
        if strength == 0:
            return None
        return BatchMemory(cfg.scaled(strength), self.codec.config.step_grid.values, n, primer, gen, self.device)

    def _start(self, primer: np.ndarray) -> torch.Tensor:
        """The primer as a (1, T, ...) tensor; for a Transformer only its last ``context`` tokens
        (all it can attend to: memory and time stay bounded by the context, whatever the seed)."""
        x = torch.as_tensor(primer, device=self.device)[None]
        return x[:, -self.context :] if self.context else x

    def _advance(self, tok: torch.Tensor, state, history, **ctl):
        """Feed one new token per row (``history()`` gives every token so far, (n, T, ...)).

        A Transformer is trained on windows of ``context`` tokens, so it samples in them: when its
        cache holds a whole window, it re-reads its last ``context // 2`` tokens from scratch
        instead of sliding on (a sliding cache lets layer l see l x context tokens back, further
        than any training window showed it). Each token is then predicted from between half a
        context and a whole one of history, exactly as in training and in :func:`pianogen.training.autoregressive.windows`."""
        if self.context and state.pos >= self.context:
            out, state = self.model(history()[:, -max(1, self.context // 2) :])
            return out[:, -1], state
        return self.model.step(tok, state, **ctl)

    def _perf(self, primer, seconds, temperature, top_k, top_p, gen, n, bias=None, control: int | None = None,
              every: float | None = None, hold: DensityHold | None = None) -> Iterator[tuple[list[np.ndarray], float]]:
        """Yields (each row's events so far, seconds of music every row has reached) each time all
        rows pass another ``every`` seconds, and last (each row's whole events, ``seconds``).
        ``hold``: re-tilts each row's time every ``HOLD_EVERY`` events (see ``density_hold``)."""
        c = self.codec.config
        x = self._start(self.codec.events(primer))
        # A density-conditioned model is told the target density at every step, the seed's
        # included (its last step already predicts the first new event).
        ctl = {} if control is None else {"density": torch.full_like(x, control)}
        logits, state = self.model(x, **ctl)
        logits = logits[:, -1].expand(n, -1)
        state = _expand_state(state, n)
        limit = int(round(seconds / c.shift_seconds))
        mark = _Marks(every, c.shift_seconds)
        dev = self.device
        shift_steps = self.shift_steps
        time = torch.zeros(n, dtype=torch.long, device=dev)
        max_events = limit * 4 + 64  # safety cap: far above any real density
        buf = torch.empty((max_events, n), dtype=torch.long, device=dev)
        # The piano-range mask joins the time bias: -inf or 0 added before or after tempering
        # is the same number, and one addition per step is cheaper than two.
        masked = lambda b: self._mask if b is None else self._mask + b  # noqa: E731
        step_bias = masked(bias)
        # At batch 1 a step costs its number of small operations, so the loop keeps only the
        # clock; where each row reached the limit is read off the whole buffer at the end.
        for i in range(max_events):
            tok = pick(logits, temperature, top_k, top_p, gen, step_bias)
            buf[i] = tok
            time += shift_steps[tok]
            if hold is not None:
                hold.add(tok < c.note_off, time * c.shift_seconds)
                if i % HOLD_EVERY == 0:
                    step_bias = masked(hold.bias(bias, time * c.shift_seconds))
            if bool((time >= limit).all()):
                break
            if mark.passed(time):
                yield [buf[: i + 1, r].cpu().numpy() for r in range(n)], mark.reached
            if control is not None:
                ctl["density"] = torch.full_like(tok, control)
            logits, state = self._advance(tok, state, lambda: torch.cat([x.expand(n, -1), buf[: i + 1].T], 1), **ctl)
        # Each row ends with the event that took it to the limit (or with the last one drawn).
        reached = shift_steps[buf[: i + 1]].cumsum(0) >= limit  # (events, n)
        length = torch.where(reached.any(0), reached.int().argmax(0) + 1, i + 1).cpu()
        buf = buf.cpu()
        yield [buf[: int(length[r]), r].numpy() for r in range(n)], seconds

    def _notes(self, primer, seconds, temperature, top_k, top_p, gen, n, bias=None, every: float | None = None,
               hold: DensityHold | None = None, memory: BatchMemory | None = None,
               keys: HeldKeys | None = None, pitch_temperature: float | None = None) -> Iterator[tuple[list[np.ndarray], float]]:
        """Yields as :meth:`_perf` does, with note tuples (time from the primer's last onset).
        ``pitch_temperature``: the pitch field's (None: ``temperature``, as every other field's).
        ``memory``: each field is drawn from the model mixed with it (see ``motif_memory``).
        ``keys``: no note starts on a key still sounding (:class:`HeldKeys`; the seed's keys too)."""
        dev = self.device
        grid = torch.as_tensor(self.codec.config.step_grid.values, device=dev)
        x = self._start(primer)
        h, state = self.model(x)
        h = h[:, -1].expand(n, -1)
        state = _expand_state(state, n)
        mark = _Marks(every)
        onset = torch.zeros(n, dtype=torch.float64, device=dev)
        done_at = torch.full((n,), -1, dtype=torch.long, device=dev)
        max_notes = int(seconds * 60) + 64  # safety cap: 60 notes per second
        buf = torch.empty((max_notes, n, 4), dtype=torch.long, device=dev)

        step_bias = [bias]  # the step field's bias, re-tilted by ``hold``
        if keys is not None:
            for note in primer[1:]:  # row 0 is the start-of-piece token
                keys.push(np.repeat(note[None], n, 0))
        step = [None]  # the step drawn for the note being sampled

        def choose(field: int, logits: torch.Tensor) -> torch.Tensor:
            blocked, field_bias = None, step_bias[0] if field == 0 else self._mask if field == 1 else None
            if field == 1 and keys is not None:
                held = keys.held(step[0])
                held &= ~held[:, PIANO_LOW : PIANO_HIGH + 1].all(1, keepdims=True)  # never block every key
                blocked = torch.from_numpy(held).to(dev)
                field_bias = self._mask + torch.where(blocked, float("-inf"), 0.0)
            t = pitch_temperature if field == 1 and pitch_temperature is not None else temperature
            drawn = pick(logits, t, top_k, top_p, gen, field_bias)
            drawn = drawn if memory is None else memory.choose(field, drawn, blocked)
            if field == 0 and keys is not None:
                step[0] = drawn.cpu().numpy()
            return drawn

        for i in range(max_notes):
            note = self.model.generate_step(h, choose, state)
            onset += grid[note[:, 0]]
            buf[i] = note
            if keys is not None:
                keys.push(note.cpu().numpy())
            if memory is not None:
                memory.push(note)
            if hold is not None:
                hold.add(torch.ones_like(onset, dtype=torch.bool), onset)
                if i % HOLD_EVERY == 0:
                    step_bias[0] = hold.bias(bias, onset)
            done_at = torch.where((done_at < 0) & (onset >= seconds), i + 1, done_at)
            if (done_at >= 0).all():
                break
            if mark.passed(onset):
                yield [buf[: i + 1, r].cpu().numpy() for r in range(n)], mark.reached
            h, state = self._advance(note, state, lambda: torch.cat([x.expand(n, -1, -1), buf[: i + 1].transpose(0, 1)], 1))
        length = torch.where(done_at >= 0, done_at, i + 1).cpu()
        buf = buf.cpu()
        yield [buf[: int(length[r]), r].numpy() for r in range(n)], seconds


class _Marks:
    """When a stream yields: each time the slowest sample passes another ``every`` seconds of
    music (never for ``every`` None). ``unit``: seconds per count of the clock it is given."""

    def __init__(self, every: float | None, unit: float = 1.0):
        self.every, self.unit, self.next, self.reached = every, unit, every, 0.0

    def passed(self, clock: torch.Tensor) -> bool:
        if self.every is None:
            return False
        now = float(clock.min()) * self.unit
        if now < self.next:
            return False
        self.reached = now
        self.next = (now // self.every + 1) * self.every
        return True


def shortfall(notes: pd.DataFrame, seconds: float, notes_per_second: float | None = None) -> str | None:
    """Why one sample (the notes :func:`sample` returns) falls far short of what was asked, or
    None: no generated notes, silence after less than half of ``seconds``, or (given a
    ``notes_per_second`` target) under half of that density. The reason names what to change."""
    gen = notes[~notes["is_seed"]] if "is_seed" in notes else notes
    start = float(notes.loc[notes["is_seed"], "end"].max()) if "is_seed" in notes and notes["is_seed"].any() else 0.0
    if len(gen) == 0:
        return "no notes were generated (a temperature of 0 without seed notes, or a tiny top-k/top-p, can stop the music at once)"
    last = float(gen["end"].max()) - start
    if last < 0.5 * seconds:
        return (f"silent after {last:.1f} s of the {seconds:g} s asked (a low temperature, top-k or a sparse density can end the music "
                "early; try another seed or the model's defaults)")
    rate = len(gen) / seconds
    if notes_per_second and rate < 0.5 * notes_per_second:
        return f"{rate:.1f} notes/s against the {notes_per_second:g} asked (this model plays sparser than that here; try a density-conditioned model)"
    return None


def load_sampler(checkpoint: str | os.PathLike, device: str = "cpu", int8: bool | None = None) -> SequenceSampler:
    """A sampler for an autoregressive checkpoint, loaded once and cached (``int8``: see
    :class:`SequenceSampler`)."""
    return load_cached(SequenceSampler, checkpoint, device, int8=int8)


def sample(checkpoint, seed_notes: SeedNotes = None, seconds: float = 30.0, temperature: float | None = None, top_k: int = 0,
           top_p: float | None = None, seed: int = 0, n: int = 1, seed_seconds: float | None = None,
           max_note_seconds: float | None = MAX_NOTE_SECONDS, time_tilt: float | None = None, notes_per_second: float | None = None,
           hold: bool = True, motif_memory: float | None = None, held_keys: bool = False,
           pitch_temperature: float | None = None) -> pd.DataFrame:
    """Sample an autoregressive checkpoint (a path or a :class:`SequenceSampler`); see the module doc.

    ``temperature``, ``top_p`` and ``time_tilt`` left None take the checkpoint's recorded
    sampling defaults (:attr:`SequenceSampler.defaults`), so an unconfigured call plays the
    setting that was measured, not a mix of it and arbitrary values.

    With ``n`` > 1 the samples are batched and the result has a ``sample`` column (0..n-1).
    The same arguments and ``seed`` give the same notes. ``notes_per_second`` asks for a
    density (see :meth:`SequenceSampler.density_controls`); ``time_tilt`` (per second) tilts the
    model toward busier (> 0) or sparser (< 0) music by hand (see :meth:`SequenceSampler.time_bias`);
    None uses the tilt recorded with the checkpoint's sampling defaults, if any. ``hold``: past
    30 s of new music, each sample's notes/s is held near its own average so far by a feedback
    on its time tilt (:mod:`pianogen.sampling.density_hold`; not for a density-conditioned model,
    whose input holds it); shorter samples are never touched. ``motif_memory``: the strength at which a note model
    with a fitted motif memory brings back its own figures (:mod:`pianogen.sampling.motif_memory`;
    1 as fitted by likelihood, higher more often); None uses the strength recorded with the
    checkpoint, 0 samples the network alone. A generated note ends where its key is struck again
    (a key holds one note at a time, as in prepared data). ``held_keys`` (note models): no new
    note starts on a key still sounding at all (:class:`pianogen.representations.note_tuples.HeldKeys`;
    measured in docs/results.md: it turns repeated notes into semitone neighbours, so it is off
    by default). ``pitch_temperature`` (note models): the pitch field's own temperature, drawn
    after the step and before duration and velocity (the Compound Word Transformer samples each
    field at its own temperature); None keeps the pitch field as much cooler than ``temperature``
    as in the recorded defaults (:meth:`SequenceSampler.pitch_temperature_for`).
    """
    sampler = checkpoint if isinstance(checkpoint, SequenceSampler) else load_sampler(checkpoint)
    return sampler.generate(seed_notes, seconds, temperature, top_k, top_p, seed, n, seed_seconds, max_note_seconds, time_tilt, notes_per_second,
                            hold, motif_memory, held_keys, pitch_temperature=pitch_temperature)
