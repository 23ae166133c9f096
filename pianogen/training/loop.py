"""One training loop for every model family (perf-rnn, note-rnn, both Transformers, MuseGAN).

The loop owns what all models share: devices (CUDA with bf16 autocast, else CPU),
torchrun + DistributedDataParallel, seeds, step and time budgets, gradient clipping,
evaluation, the best checkpoint by validation loss, resumable state, NaN/inf detection,
a progress bar and the run's JSON log. A :class:`Task` supplies the rest: models,
optimizers, one training step, evaluation and final metrics.

Outputs for ``--out checkpoints/NAME``: ``NAME.pt`` (best weights, loads with
``weights_only=True``), ``NAME.json`` (config, data, losses per evaluation, final metrics,
wall time, parameters) and ``NAME.state.pt`` (everything ``--resume`` needs); with
``keep_last``, also ``NAME.last.pt``, the weights of the last step.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

from pianogen import checkpoints
from pianogen.io import OutputExistsError, atomic_path, write_json


@dataclass
class TrainConfig:
    """Loop settings shared by every model (YAML/JSON loadable, CLI-overridable)."""

    max_steps: int = 2000  # stop after this many optimizer steps (the learning-rate schedule spans them)
    max_minutes: float = 0.0  # stop after this many minutes of training time; 0 = no time limit
    batch_size: int = 32  # sequences (or pianorolls) per step
    seq_len: int = 256  # tokens per training window (a Transformer's context by default)
    lr: float = 2e-3  # peak learning rate
    weight_decay: float = 0.0  # AdamW weight decay
    betas: tuple[float, float] = (0.9, 0.99)  # Adam betas
    grad_clip: float = 1.0  # max global grad norm; 0 = off
    warmup_steps: int = 50  # linear warm-up steps before the cosine decay
    min_lr_ratio: float = 0.1  # cosine decay to lr * this at max_steps
    eval_every: int = 200  # evaluate (and keep the best checkpoint) every this many steps
    eval_tokens: int = 0  # validation tokens scored per evaluation while training (0 = all; the final report uses all that fit --max-minutes)
    log_every: int = 10  # log losses every this many steps
    seed: int = 0  # random seed: the same seed, data and settings give the same run
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    bf16: bool = True  # autocast to bfloat16 on CUDA, and on CPUs with native bf16 (AVX-512 BF16 / AMX)
    threads: int = 0  # CPU threads for training; 0 = the cores idle at start (all on an idle machine, fewer beside busy processes)
    progress: bool = True  # show a progress bar
    keep_last: bool = False  # also write NAME.last.pt, the weights of the last step (where selection kept an earlier one); --resume of a finished run writes it without training


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The dict in a YAML (.yaml/.yml) or JSON config file."""
    text = Path(path).read_text(encoding="utf-8")
    if str(path).endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_load(text) or {}
    return json.loads(text)


def load_config(cls, values: dict[str, Any] | None = None):
    """A config dataclass from ``values`` (file sections, CLI flags); None values are skipped,
    unknown keys rejected, lists become tuples."""
    values = {k: v for k, v in (values or {}).items() if v is not None}
    unknown = set(values) - {f.name for f in fields(cls)}
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def process_rank() -> int:
    """This process's rank under torchrun (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def idle_cores(seconds: float = 0.25) -> int:
    """How many cores sat idle over the next ``seconds`` (Linux /proc/stat; elsewhere all of
    them), at least 1. Why: torch's threads wait on each other at every operation, so a thread
    placed on a core another process keeps busy stalls all of them: measured here, a training
    step went from 0.65 s to 12-37 s with two threads beside one busy process, and one thread
    kept a 9 s limit that two overran by 46 s."""
    n = os.cpu_count() or 1

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0)  # total, idle + iowait

    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return n
    return max(1, min(n, int(round(n * (i1 - i0) / max(1, t1 - t0)))))


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


class Task:
    """What a model brings to the loop. Subclasses set ``kind`` and ``models``."""

    kind: str
    models: dict[str, nn.Module]

    def optimizers(self, cfg: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, trainer: "Trainer", step: int) -> dict[str, float]:
        """One optimization step; returns metrics (the first is shown as the loss)."""
        raise NotImplementedError

    def evaluate(self, trainer: "Trainer") -> dict[str, float]:
        """Validation metrics; ``val_loss`` (lower is better) selects the best checkpoint."""
        raise NotImplementedError

    def final_metrics(self, trainer: "Trainer") -> dict[str, Any]:
        """Metrics of the best model (e.g. test NLL), written to NAME.json. A time-limited run
        has ``trainer.seconds_left()`` for them: a task whose report could take longer scores a
        fixed subset that fits and says so."""
        return {}

    def on_evaluate(self, trainer: "Trainer", step: int) -> None:
        """Hook after each evaluation (e.g. save sample images)."""

    def payload(self) -> dict[str, Any]:
        """Checkpoint fields besides the weights: kind, model_config, representation..."""
        raise NotImplementedError

    def checkpoint_module(self) -> nn.Module:
        """The module whose weights go into NAME.pt (default: the only model)."""
        (m,) = self.models.values()
        return m

    def summary(self) -> dict[str, Any]:
        """Data summary for NAME.json."""
        return {}

    def tokens_per_step(self, cfg: TrainConfig) -> int:
        return cfg.batch_size * cfg.seq_len

    def rng_state(self) -> dict:
        return {}

    def set_rng_state(self, state: dict) -> None:
        pass


def bf16_supported(device: torch.device) -> bool:
    """Whether bf16 autocast pays on ``device``: CUDA, or a CPU with native bf16 instructions
    (measured on AVX-512 BF16: a 2x256 LSTM trains 1.7x faster; without them oneDNN
    emulates bf16 and it is slower than float32)."""
    if device.type == "cuda":
        return True
    if device.type == "cpu":
        try:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    return False


def _pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        name = f"cuda:{local_rank}"
    return torch.device(name)


class Trainer:
    """Runs a :class:`Task` under a :class:`TrainConfig`, writing to ``out`` (a path stem)."""

    def __init__(self, task: Task, cfg: TrainConfig, out: str | os.PathLike, resume: bool = False, force: bool = False, extra_config: dict | None = None):
        self.task, self.cfg = task, cfg
        # Clocks of the time limit, measured as the run goes (see _stop_reason and seconds_left).
        self.deadline = math.inf  # perf_counter time at which max_minutes runs out
        self.step_seconds = 0.0  # a step's duration: a running mean, never below the last step
        self.eval_seconds = 0.0  # the last evaluation's duration
        self.train_rate = math.inf  # training tokens per second (all ranks)
        self.closing = False  # True for the evaluation that closes a time-limited run
        self.out = Path(out).with_suffix("") if str(out).endswith(".pt") else Path(out)
        self.ckpt_path = self.out.with_name(self.out.name + ".pt")
        self.json_path = self.out.with_name(self.out.name + ".json")
        self.state_path = self.out.with_name(self.out.name + ".state.pt")
        self.last_path = self.out.with_name(self.out.name + ".last.pt")
        self.extra_config = extra_config or {}
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.device = _pick_device(cfg.device, self.local_rank)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        # Under torchrun each process on a host gets its share of the cores: N processes each
        # using every core would oversubscribe the CPU many times over.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        torch.set_num_threads(cfg.threads or max(1, min((os.cpu_count() or 1) // local_world, idle_cores() // local_world)))
        cpu_bf16 = self.device.type != "cpu" or getattr(task, "cpu_bf16", False)
        self.autocast_dtype = torch.bfloat16 if (cfg.bf16 and cpu_bf16 and bf16_supported(self.device)) else None
        self.resume = resume
        if not resume and not force and self.is_main:
            for p in (self.ckpt_path, self.json_path):
                if p.exists():
                    raise OutputExistsError(f"{p}: already exists (pass --force to overwrite, or --resume to continue)")
        self._seed(cfg.seed + self.rank)
        for m in task.models.values():
            m.to(self.device)
        self.optimizers = task.optimizers(cfg)
        # DDP wrappers: tasks call self.wrapped[name](...) so gradients sync across ranks.
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.wrapped = {k: DDP(m, device_ids=ids) for k, m in task.models.items()}
        else:
            self.wrapped = dict(task.models)
        self.step = 0
        self.best = math.inf
        self.history: list[dict] = []
        self.elapsed = 0.0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _seed(self, seed: int) -> None:
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to ``lr * min_lr_ratio`` over whichever budget
        ends first: ``max_steps``, or ``max_minutes`` of training time (so a time-limited run
        still anneals; its schedule then depends on the clock, so it is not bit-repeatable)."""
        c = self.cfg
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        progress = min(1.0, (step - c.warmup_steps) / max(1, c.max_steps - c.warmup_steps))
        if c.max_minutes > 0 and self.world == 1 and hasattr(self, "_t0"):  # DDP ranks would disagree
            elapsed = self.elapsed + time.perf_counter() - self._t0
            progress = max(progress, min(1.0, elapsed / (c.max_minutes * 60)))
        return c.lr * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def backward(self, loss: torch.Tensor, optimizer: str, lr_scale: float = 1.0) -> float:
        """Backward, clip, step ``optimizer`` at the scheduled learning rate; returns the grad norm."""
        # Every rank decides together (one all-reduce), so no rank leaves for a collective
        # the others never reach.
        if self._any_rank(not bool(torch.isfinite(loss.detach()))):
            raise TrainingDiverged(f"step {self.step}: {optimizer} loss is {float(loss.detach())} (on some rank); stopped, the last good checkpoint {self.ckpt_path} is kept")
        opt = self.optimizers[optimizer]
        for g in opt.param_groups:
            g["lr"] = self.lr_at(self.step) * lr_scale
        opt.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip) if self.cfg.grad_clip > 0 else torch.tensor(0.0)
        if not torch.isfinite(norm):  # gradients are all-reduced: every rank sees the same norm
            raise TrainingDiverged(f"step {self.step}: {optimizer} gradient norm is {float(norm)}; stopped, the last good checkpoint {self.ckpt_path} is kept")
        opt.step()
        return float(norm)

    # --- state ------------------------------------------------------------------------

    def save_best(self, val: dict) -> None:
        self._save_weights(self.ckpt_path, {k: float(v) for k, v in val.items()})

    def _save_weights(self, path: Path, meta: dict) -> None:
        payload = {**self.task.payload(), "state_dict": self.task.checkpoint_module().state_dict(), "meta": {"step": self.step, **meta}}
        checkpoints.save(path, payload)

    def _any_rank(self, flag: bool) -> bool:
        """True if ``flag`` is true on any rank (an all-reduce under torchrun)."""
        if self.world == 1:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def sum_over_ranks(self, values: list[float]) -> list[float]:
        """Element-wise sums of ``values`` over all ranks (unchanged when not distributed)."""
        if self.world == 1:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t)
        return t.tolist()

    def _rank_rng(self) -> dict:
        """This rank's random state: torch (and CUDA) generators and the task's data sampler."""
        return {
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else torch.empty(0, dtype=torch.uint8),
            "task_rng": json.dumps(self.task.rng_state()),
        }

    def save_state(self) -> None:
        """Write NAME.state.pt. Under torchrun every rank calls this: each rank's random state
        is gathered into the file, so after --resume every rank draws its own data again."""
        ranks = [self._rank_rng()]
        if self.world > 1:
            ranks = [None] * self.world
            dist.all_gather_object(ranks, {k: (v.cpu() if torch.is_tensor(v) else v) for k, v in self._rank_rng().items()})
        if not self.is_main:
            return
        state = {
            "format": "pianogen-train-state",
            "step": self.step,
            "best": self.best,
            "elapsed": self.elapsed + (time.perf_counter() - self._t0),
            "history": json.dumps(self.history),
            "models": {k: m.state_dict() for k, m in self.task.models.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "world_size": self.world,
            "ranks": ranks,
        }
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def load_state(self) -> None:
        if not self.state_path.is_file():
            raise FileNotFoundError(f"{self.state_path}: nothing to resume (no training state)")
        st = torch.load(self.state_path, map_location=self.device, weights_only=True)
        for k, m in self.task.models.items():
            m.load_state_dict(st["models"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(st["optimizers"][k])
        ranks = st.get("ranks") or [{"torch_rng": st["torch_rng"], "cuda_rng": torch.empty(0, dtype=torch.uint8), "task_rng": st["task_rng"]}]
        if len(ranks) != self.world:
            raise ValueError(f"{self.state_path}: saved by {len(ranks)} process(es); resume with the same number (torchrun --nproc_per_node {len(ranks)})")
        mine = ranks[self.rank]
        torch.set_rng_state(mine["torch_rng"].cpu())
        if self.device.type == "cuda" and len(mine["cuda_rng"]):
            torch.cuda.set_rng_state(mine["cuda_rng"].cpu(), self.device)
        self.task.set_rng_state(json.loads(mine["task_rng"]))
        self.step, self.best, self.elapsed = int(st["step"]), float(st["best"]), float(st["elapsed"])
        self.history = json.loads(st["history"])

    # --- loop -------------------------------------------------------------------------

    def seconds_left(self) -> float:
        """Seconds until ``max_minutes`` runs out (inf without a time limit)."""
        return self.deadline - time.perf_counter()

    def _evaluate(self, train_metrics: dict) -> None:
        for m in self.task.models.values():
            m.eval()
        t = time.perf_counter()
        val = self.task.evaluate(self)
        self.eval_seconds = time.perf_counter() - t
        for m in self.task.models.values():
            m.train()
        wall = self.elapsed + time.perf_counter() - self._t0
        self.history.append({"step": self.step, "seconds": round(wall, 2), **{k: round(float(v), 5) for k, v in {**train_metrics, **val}.items()}})
        improved = val["val_loss"] < self.best
        if improved:
            self.best = float(val["val_loss"])
        if self.is_main:
            if improved:
                self.save_best(val)
            self.task.on_evaluate(self, self.step)
        self.save_state()

    def _install_interrupt_handler(self):
        """Route the first SIGINT to a flag (main thread only); returns the previous handler."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def on_sigint(signum, frame):
            if self._interrupted:
                raise KeyboardInterrupt
            self._interrupted = True

        return signal.signal(signal.SIGINT, on_sigint)

    def _stop_reason(self, deadline: float) -> str | None:
        """Why to stop before the next step, decided by all ranks together: "interrupted"
        (Ctrl-C on any rank), "max_minutes" (any rank's clock past the deadline) or None."""
        # The next step must end in time, and the evaluation that closes the run must fit too:
        # under a busy neighbour a step can take 30 s instead of 1, and the limit still holds.
        need = self.step_seconds + self.eval_seconds
        local = 2 if self._interrupted else (1 if time.perf_counter() + need > deadline else 0)
        if self.world > 1:
            t = torch.tensor([float(local)], device=self.device if self.device.type == "cuda" else "cpu")
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            local = int(t.item())
        return {0: None, 1: "max_minutes", 2: "interrupted"}[local]

    def fit(self) -> dict[str, Any]:
        from tqdm import tqdm

        cfg = self.cfg
        self._t0 = time.perf_counter()
        if self.resume:
            self.load_state()
        for m in self.task.models.values():
            m.train()
        deadline = self.deadline = self._t0 + cfg.max_minutes * 60 - self.elapsed if cfg.max_minutes > 0 else math.inf
        bar = tqdm(total=cfg.max_steps, initial=self.step, desc=self.task.kind, unit="step", disable=not (cfg.progress and self.is_main), file=sys.stderr, dynamic_ncols=True)
        tokens = self.task.tokens_per_step(cfg) * self.world
        running: dict[str, float] = {}
        stopped = "max_steps"
        t_rate = time.perf_counter()
        steps_rate = 0
        # Ctrl-C (SIGINT) only raises a flag; the loop stops at the next step boundary, where
        # weights, optimizer, step counter and random state agree, so --resume is exact. A
        # second Ctrl-C interrupts at once (and saves nothing: the last saved state stays).
        self._interrupted = False
        previous = self._install_interrupt_handler()
        try:
            while self.step < cfg.max_steps:
                reason = self._stop_reason(deadline)
                if reason == "interrupted":
                    if self.is_main and not self.ckpt_path.exists():  # a usable NAME.pt even before the first evaluation
                        self.save_best({})
                    self.save_state()
                    if self.is_main:
                        print(f"\ninterrupted at step {self.step}; state saved to {self.state_path} (--resume continues)", file=sys.stderr)
                    raise KeyboardInterrupt
                if reason:
                    stopped = reason
                    break
                t_step = time.perf_counter()
                metrics = self.task.train_step(self, self.step)
                dt_step = time.perf_counter() - t_step
                self.step_seconds = max(dt_step, 0.8 * self.step_seconds + 0.2 * dt_step)
                self.train_rate = tokens / max(self.step_seconds, 1e-6)  # tokens per second, all ranks
                for k, v in metrics.items():
                    running[k] = 0.9 * running.get(k, v) + 0.1 * v
                self.step += 1
                steps_rate += 1
                bar.update()
                if self.step % cfg.log_every == 0:
                    dt = time.perf_counter() - t_rate
                    first = next(iter(running))
                    post = {first: f"{running[first]:.3f}", "tok/s": f"{tokens * steps_rate / dt:,.0f}"}
                    if deadline < math.inf:  # the bar's ETA counts max_steps; say when the time budget ends
                        post["left"] = f"{max(0.0, deadline - time.perf_counter()) / 60:.1f} min"
                    bar.set_postfix(post)
                    t_rate, steps_rate = time.perf_counter(), 0
                if self.step % cfg.eval_every == 0 or self.step == cfg.max_steps:
                    self._evaluate(dict(running))
        finally:
            bar.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if not self.history or self.history[-1]["step"] != self.step:
            self.closing = stopped == "max_minutes"  # a task may score a subset that fits what is left of the limit
            self._evaluate(dict(running))
        return self.finish(stopped)

    def finish(self, stopped: str) -> dict[str, Any]:
        from pianogen.models import n_params

        wall = self.elapsed + time.perf_counter() - self._t0
        report: dict[str, Any] = {}
        if self.is_main and self.cfg.keep_last:
            self._save_weights(self.last_path, {"last": 1.0})
        if self.is_main:
            # Final metrics are those of the best checkpoint, not of the last step.
            ckpt = checkpoints.load(self.ckpt_path, map_location=self.device)
            self.task.checkpoint_module().load_state_dict(ckpt["state_dict"])
            for m in self.task.models.values():
                m.eval()
            final = self.task.final_metrics(self)
            report = {
                "kind": self.task.kind,
                "config": {"train": asdict(self.cfg), **self.extra_config, **{k: v for k, v in self.task.payload().items() if k != "kind"}},
                "data": self.task.summary(),
                "steps": self.step,
                "stopped": stopped,
                "world_size": self.world,
                "threads_per_process": torch.get_num_threads(),
                "device": str(self.device),
                "bf16": self.autocast_dtype is not None,
                "wall_seconds": round(wall, 1),
                "parameters": {k: n_params(m) for k, m in self.task.models.items()},
                "best_val_loss": self.best,
                "evals": self.history,
                "final": final,
                "checkpoint": str(self.ckpt_path),
            }
            write_json(self.json_path, report)
        if self.world > 1:
            dist.barrier()
        return report
