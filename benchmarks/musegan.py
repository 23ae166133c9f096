#!/usr/bin/env python3
"""MuseGAN speed: generator samples per second (batch 1 and 64) and WGAN-GP training steps
per second, on CPU (and CUDA when present).

Reference, same run: real time. Each sample is ``n_bars`` x ``bar_seconds`` of music, so
the ratio says how many times faster than real time the generator writes music.

    python benchmarks/musegan.py [--checkpoint checkpoints/musegan.pt] [--device cpu]
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

from pianogen.training.gan import GANConfig, make_gan_task  # noqa: E402
from pianogen.sampling import load_gan  # noqa: E402
from pianogen.training import TrainConfig, Trainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "musegan.pt"))
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "maestro-mini"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    g = load_gan(args.checkpoint, args.device)
    cfg = g.roll_cfg
    music = cfg.n_bars * cfg.seconds_per_bar()
    print(f"device: {args.device}; one sample = {music:g} s of music, {len(cfg.tracks)} tracks")
    for n in (1, 64):
        z = g.latent(0, n)
        with torch.inference_mode():
            g.model.generator({k: v.to(args.device) for k, v in z.items()})
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            reps = 20 if n == 1 else 3
            t = time.perf_counter()
            for _ in range(reps):
                g.model.generator({k: v.to(args.device) for k, v in z.items()})
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            dt = (time.perf_counter() - t) / reps
        print(f"generator batch {n:>3}: {n / dt:9.1f} samples/s  ({n * music / dt:,.0f}x real time)")
    task = make_gan_task(args.data, 0, g.ckpt["representation"]["config"], {k: v for k, v in g.ckpt["model_config"].items() if k in ("z_dim", "g_channels", "d_channels")}, GANConfig(**g.ckpt.get("gan", {})))
    tc = TrainConfig(batch_size=16, lr=1e-3, betas=(0.5, 0.9), grad_clip=0, warmup_steps=0, min_lr_ratio=1.0, progress=False, device=args.device)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(task, tc, Path(tmp) / "b")
        task.train_step(trainer, 0)
        t = time.perf_counter()
        for s in range(args.steps):
            task.train_step(trainer, s)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t) / args.steps
    print(f"training: {1 / dt:.2f} generator steps/s (each with {task.gan.n_critic} critic steps, batch {tc.batch_size})")


if __name__ == "__main__":
    main()
