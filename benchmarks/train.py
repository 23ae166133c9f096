#!/usr/bin/env python3
"""Training throughput (tokens/s) of the autoregressive models on this machine.

Reference, same run: the loop as it was before the scale-up (float32, batch 16, all threads).
Then the same model with bf16 autocast (on CPUs with native bf16, and CUDA) and larger batches,
and the shared Trainer's own step (data sampling, augmentation, clipping) against a bare loop.

    python benchmarks/train.py [--data data/prepared/asap] [--steps 8] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from pianogen.training.autoregressive import AugmentConfig, make_sequence_task, run_model, sequence_loss  # noqa: E402
from pianogen.training import TrainConfig, Trainer  # noqa: E402

MODELS = {
    "perf-rnn 2x256": ("perf-rnn", {"layers": 2, "hidden": 256, "embed": 128}, 256),
    "perf-rnn 2x512": ("perf-rnn", {"layers": 2, "hidden": 512, "embed": 256}, 256),
    "perf-rnn 3x512 (Magenta)": ("perf-rnn", {"layers": 3, "hidden": 512, "embed": 256}, 256),
    "note-rnn 2x256": ("note-rnn", {"layers": 2, "hidden": 256, "embed": 64}, 128),
    "transformer 4x256 rope, window 256": ("transformer", {"layers": 4, "width": 256, "heads": 4, "context": 256}, 256),
    "transformer 4x256 rope, window 512": ("transformer", {"layers": 4, "width": 256, "heads": 4, "context": 512}, 512),
    "transformer 4x256 relative, window 256": ("transformer", {"layers": 4, "width": 256, "heads": 4, "context": 256, "position": "relative"}, 256),
    "transformer 3x192 rope, window 256": ("transformer", {"layers": 3, "width": 192, "heads": 3, "context": 256}, 256),
}
SETTINGS = [("float32, batch 16 (reference)", False, 16, False), ("bf16, batch 16", True, 16, False), ("bf16, batch 64", True, 64, False),
            ("bf16, batch 64, torch.compile", True, 64, True)]


def bare_rate(task, kind, batch, steps, device, bf16, compiled=False) -> float:
    """Tokens/s of forward + loss + backward + AdamW over pre-drawn batches (after warm-up,
    which for ``compiled`` includes torch.compile's own compilation)."""
    model = task.models["model"]
    run = torch.compile(model) if compiled else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batches = [torch.from_numpy(task.sampler.batch(batch)).to(device) for _ in range(steps + 2)]

    def step(b):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out, _ = run_model(run, kind, b)
        loss, _ = sequence_loss(kind, out, b[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()

    for b in batches[:2]:  # warm-up
        step(b)
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for b in batches[2:]:
        step(b)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch * (batches[0].shape[1] - 1) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ROOT / "data" / "prepared" / "asap"
    ap.add_argument("--data", default=str(default if default.is_dir() else ROOT / "data" / "prepared" / "maestro-mini"))
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile setting (its compilation takes a minute)")
    args = ap.parse_args()
    device = torch.device(args.device)
    print(f"device: {device}" + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else f" ({torch.get_num_threads()} threads)") + f", data {args.data}")
    print("| model | setting | tokens/s | vs reference |\n| --- | --- | ---: | ---: |")
    for name in args.models:
        kind, model_cfg, seq_len = MODELS[name]
        cfg = TrainConfig(batch_size=16, seq_len=seq_len, progress=False, device=args.device, eval_every=10**9)
        task = make_sequence_task(kind, args.data, cfg, model_cfg, AugmentConfig())
        task.models["model"].to(device).train()
        ref = None
        for label, bf16, batch, compiled in SETTINGS:
            if compiled and args.no_compile:
                continue
            try:
                rate = bare_rate(task, kind, batch, args.steps, device, bf16, compiled)
            except Exception as exc:  # torch.compile needs a C++ toolchain; say so rather than stop
                print(f"| {name} | {label} | failed: {str(exc).splitlines()[0][:80]} | |", flush=True)
                continue
            ref = ref or rate
            print(f"| {name} | {label} | {rate:,.0f} | {rate / ref:.2f}x |", flush=True)
        # The shared Trainer's step (sampling, augmentation, clipping, logging) vs the bare loop.
        cfg = TrainConfig(batch_size=64, seq_len=seq_len, progress=False, device=args.device, eval_every=10**9, max_steps=10**6)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(task, cfg, Path(tmp) / "bench")
            for _ in range(2):
                task.train_step(trainer, 0)
            t = time.perf_counter()
            for s in range(args.steps):
                task.train_step(trainer, s)
            if device.type == "cuda":
                torch.cuda.synchronize()
            ours = args.steps * 64 * seq_len / (time.perf_counter() - t)
        print(f"| {name} | Trainer step, bf16={trainer.autocast_dtype is not None}, batch 64 | {ours:,.0f} | {ours / ref:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
