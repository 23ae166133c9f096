#!/usr/bin/env python3
"""Training tokens per second for note-rnn and perf-rnn (CPU, and CUDA when present).

Reference, same run: a bare PyTorch loop (forward, loss, backward, AdamW step) over the
same model and batches, so the ratio shows what pianogen's shared Trainer costs on top.

    python benchmarks/train.py [--steps 30] [--device cpu|cuda]
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

from pianogen.rnn_task import AugmentConfig, make_rnn_task, run_model, sequence_loss  # noqa: E402
from pianogen.training import TrainConfig, Trainer  # noqa: E402

SIZES = {
    "note-rnn (shipped, 2x256)": ("note-rnn", {"layers": 2, "hidden": 256, "embed": 64}, 128),
    "perf-rnn (shipped, 2x256)": ("perf-rnn", {"layers": 2, "hidden": 256, "embed": 128}, 256),
    "perf-rnn (Magenta 3x512)": ("perf-rnn", {"layers": 3, "hidden": 512, "embed": 256}, 256),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "maestro-mini"))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    print(f"device: {args.device}" + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else f" ({torch.get_num_threads()} threads)"))
    print(f"{'model':<28}{'seq':>5}{'trainer tok/s':>15}{'bare tok/s':>12}{'ratio':>8}")
    for name, (kind, model_cfg, seq_len) in SIZES.items():
        cfg = TrainConfig(max_steps=args.steps, batch_size=args.batch_size, seq_len=seq_len, eval_every=10**9, progress=False, device=args.device)
        task = make_rnn_task(kind, args.data, cfg, model_cfg, AugmentConfig())
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(task, cfg, Path(tmp) / "bench")
            for _ in range(3):  # warm-up
                task.train_step(trainer, 0)
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for step in range(args.steps):
                task.train_step(trainer, step)
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            ours = args.steps * cfg.batch_size * seq_len / (time.perf_counter() - t)
        model = task.models["model"]
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        batches = [torch.from_numpy(task.sampler.batch(cfg.batch_size)).to(trainer.device) for _ in range(args.steps)]
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for b in batches:
            with trainer.autocast():
                out, _ = run_model(model, kind, b)
            loss, _ = sequence_loss(kind, out, b[:, 1:])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        bare = args.steps * cfg.batch_size * seq_len / (time.perf_counter() - t)
        print(f"{name:<28}{seq_len:>5}{ours:>15,.0f}{bare:>12,.0f}{ours / bare:>7.2f}x")


if __name__ == "__main__":
    main()
