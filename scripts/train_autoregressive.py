#!/usr/bin/env python3
"""Train an autoregressive model (perf-rnn, transformer, note-rnn, note-transformer) on a prepared folder;
writes OUT.pt, OUT.json, OUT.state.pt.

Config: --config FILE (YAML or JSON with optional sections "train", "model", "augment"),
then any flag below overrides it. Runs on CUDA with bf16 when available, else CPU; under
torchrun it trains with DistributedDataParallel on every process, unchanged.
"""

import _path  # noqa: F401

from pianogen.cli import add_dataclass_flags, parser, picked, run, setup_logging


def main(script: str = "train_autoregressive.py") -> int:
    from pianogen.training.autoregressive import AugmentConfig, make_sequence_task
    from pianogen.checkpoints import load, load_weights
    from pianogen.representations.controls import DensityConfig
    from pianogen.training import TrainConfig, Trainer, load_config, read_config_file

    ap = parser(__doc__, f"python scripts/{script} --model perf-rnn --data data/prepared/maestro-mini --out runs/my-perf-rnn --max-minutes 10")
    ap.add_argument("--model", required=True, choices=["note-rnn", "perf-rnn", "transformer", "note-transformer"],
                    help="note-rnn and note-transformer model note tuples; perf-rnn and transformer performance events")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--out", help="output path stem (default: runs/MODEL); the app loads only checkpoints/ (or its --checkpoints), "
                    "so a trial run never shows up beside the shipped models")
    ap.add_argument("--config", help="YAML/JSON config file")
    ap.add_argument("--resume", action="store_true", help="continue from OUT.state.pt (same flags)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing OUT.pt/OUT.json")
    ap.add_argument("--init", metavar="CHECKPOINT", help="start from this checkpoint's weights (same model kind; its sizes are the default "
                    "model flags); layers it lacks, such as a new density control, start from zero")
    mg = ap.add_argument_group("model")
    mg.add_argument("--layers", type=int, help="recurrent or Transformer layers (default: the model's: perf-rnn 3, note-rnn 2, Transformers 4; or --init's)")
    mg.add_argument("--hidden", type=int, help="perf-rnn, note-rnn: units per recurrent layer (default: 512, 256)")
    mg.add_argument("--embed", type=int, help="perf-rnn: event embedding; note-rnn: per-field embedding; note-transformer: embedding of each decided field for the later heads")
    mg.add_argument("--dropout", type=float, help="dropout between layers (default: 0.1 for the RNNs, 0 for the Transformers, "
                    "whose attention dropout on a CPU costs the fused attention kernel: 2.6x slower steps)")
    mg.add_argument("--cell", choices=["lstm", "gru"], help="note-rnn only")
    mg.add_argument("--width", type=int, help="transformer, note-transformer: model dimension")
    mg.add_argument("--heads", type=int, help="transformer, note-transformer: attention heads")
    mg.add_argument("--context", type=int, help="transformer, note-transformer: attention span in tokens (default: --seq-len)")
    mg.add_argument("--position", choices=["rope", "relative"], help="transformer, note-transformer: rotary (default) or Music Transformer's relative embeddings")
    mg.add_argument("--keyboard", action="store_true", default=None, help="note-transformer: tell the model which keys are sounding "
                    "(at every input and at the next note's onset; pianogen/models/keyboard.py)")
    mg.add_argument("--density-control", action="store_true", help="perf-rnn: condition on note density as Magenta does, so a sample can "
                    "ask for a number of notes per second")
    add_dataclass_flags(ap, TrainConfig, "training")
    add_dataclass_flags(ap, AugmentConfig, "augmentation", prefix="aug_")
    args = ap.parse_args()
    args.out = args.out or f"runs/{args.model}"
    setup_logging()

    file_cfg = read_config_file(args.config) if args.config else {}
    train_cfg = load_config(TrainConfig, {**file_cfg.get("train", {}), **picked(args, TrainConfig)})
    augment = load_config(AugmentConfig, {**file_cfg.get("augment", {}), **picked(args, AugmentConfig, "aug_")})
    flags = ("layers", "dropout") + {"transformer": ("width", "heads", "context", "position"), "note-transformer": ("width", "heads", "context", "position", "embed", "keyboard"),
                                     "note-rnn": ("hidden", "embed", "cell"), "perf-rnn": ("hidden", "embed")}[args.model]
    given = [k for k in ("hidden", "embed", "cell", "width", "heads", "context", "position", "keyboard") if getattr(args, k) is not None and k not in flags]
    if given:
        raise ValueError(f"--{given[0]} does not apply to {args.model}")
    model_cfg = {**file_cfg.get("model", {}), **{k: v for k in flags if (v := getattr(args, k)) is not None}}
    if args.density_control:
        if args.model != "perf-rnn":
            raise ValueError(f"--density-control applies to perf-rnn, not {args.model}")
        model_cfg["density_bins"] = DensityConfig().n_bins
    extra = {"command": script.removesuffix(".py")}
    if args.init:
        init = load(args.init)
        if init["kind"] != args.model:
            raise ValueError(f"--init {args.init} is a {init['kind']} checkpoint, not {args.model}")
        model_cfg = {**{k: v for k, v in init["model_config"].items() if k != "density_bins"}, **model_cfg}

    task = make_sequence_task(args.model, args.data, train_cfg, model_cfg, augment)
    if args.init and not args.resume:
        extra["init"] = {"checkpoint": args.init, "new_parameters": load_weights(task.models["model"], args.init, init)}
    trainer = Trainer(task, train_cfg, args.out, resume=args.resume, force=args.force, extra_config=extra)
    report = trainer.fit()
    if report:
        b = report["final"]["baselines"]
        split = b["split"]
        t = report["final"][split]
        absent = "" if split == "test" else " (this corpus has no test split)"
        print(
            f"{args.model}: {report['steps']} steps in {report['wall_seconds']:.0f} s; {split} NLL {t['nll_per_token']:.3f} nats/token, "
            f"{t['nll_per_second']:.1f} nats/s (bigram {b['bigram']['nll_per_second']:.1f}, unigram {b['unigram']['nll_per_second']:.1f}){absent} -> {trainer.ckpt_path}"
        )
    return 0


def _expected() -> tuple[type[BaseException], ...]:
    """The errors reported as one line (no traceback)."""
    from pianogen.checkpoints import CheckpointError
    from pianogen.io import OutputExistsError
    from pianogen.training import TrainingDiverged

    return (OutputExistsError, FileNotFoundError, ValueError, TrainingDiverged, CheckpointError)


EXPECTED = _expected()

if __name__ == "__main__":
    run(main, EXPECTED)
