#!/usr/bin/env python3
"""Train MuseGAN (WGAN-GP) on multi-track pianorolls of a prepared folder.

Writes OUT.pt, OUT.json, OUT.metrics.json (MuseGAN's EB/UPC/QN/TD, real vs generated vs
untrained), OUT.state.pt (for --resume) and OUT_samples/step_*.png at every evaluation.
--roll-steps-per-beat 12 trains in musical time: crops of whole annotated bars (a corpus
prepared with beat annotations, e.g. ../shared/data/asap-performances).
Defaults follow the paper: Adam lr 1e-3, betas 0.5/0.9, 5 critic steps, GP weight 10.
"""

import _path  # noqa: F401

from pianogen.cli import add_dataclass_flags, parser, picked, run, setup_logging


#: The paper's training settings, over TrainConfig's (shared with the autoregressive models): Adam
#: lr 1e-3 and betas 0.5/0.9, no clipping, warm-up or decay; --help shows these.
GAN_TRAIN_DEFAULTS = {"lr": 1e-3, "betas": (0.5, 0.9), "grad_clip": 0.0, "warmup_steps": 0, "min_lr_ratio": 1.0, "batch_size": 16,
                      "eval_every": 100, "max_steps": 1000}


def main() -> int:
    from pianogen.checkpoints import load, load_weights
    from pianogen.training.gan import GANConfig, make_gan_task
    from pianogen.models.musegan import check_growable
    from pianogen.representations.pianoroll import PianorollConfig
    from pianogen.training import TrainConfig, Trainer, load_config, read_config_file

    ap = parser(__doc__, "python scripts/train_musegan.py --data data/prepared/maestro-mini --out runs/my-musegan --max-minutes 10")
    ap.add_argument("--data", default="data/prepared/maestro-mini", help="folder written by scripts/prepare_data.py")
    ap.add_argument("--out", default="runs/musegan", help="output path stem (default: runs/musegan); the app loads only checkpoints/ "
                    "(or its --checkpoints), so a trial run never shows up beside the shipped models")
    ap.add_argument("--config", help='YAML/JSON config file with optional sections "train", "gan", "pianoroll", "model"; flags override it')
    ap.add_argument("--resume", action="store_true", help="continue the run from OUT.state.pt (same flags)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing OUT.pt / OUT.json")
    ap.add_argument("--z-dim", type=int, help="size of each latent vector (default: 32, or --init's)")
    ap.add_argument("--g-channels", type=int, help="width of the generator's first feature map (default: 128, or --init's)")
    ap.add_argument("--d-channels", type=int, help="width of the critic's streams (default: 64, or --init's)")
    ap.add_argument("--design", choices=["hybrid", "composer", "jamming"], help="the paper's generator designs (default hybrid)")
    ap.add_argument("--onsets", action="store_true", default=None, help="also generate an onset roll per track; notes start only at onsets")
    ap.add_argument("--refiner", action="store_true", default=None, help="BinaryMuseGAN's refiner with binary neurons after the generator")
    ap.add_argument("--velocity", action="store_true", default=None, help="also generate a velocity roll per track: learned dynamics")
    ap.add_argument("--smoother", action="store_true", default=None, help="residual convolution over the logits across the generator's block and bar edges")
    ap.add_argument("--keys", action="store_true", default=None, help="condition on the key signature (musical time on an annotated corpus): "
                    "a user can ask for a piece in a key; grows from --init")
    ap.add_argument("--rhythm", action="store_true", default=None, help="musical time: the critic reads where in the beat notes start and the smoother "
                    "knows each step's place in the beat (needs --smoother); grows from --init")
    ap.add_argument("--texture", action="store_true", default=None, help="condition on each passage's texture, its rhythm, density and loudness classes "
                    "(musical time, with --velocity and --rhythm): a user can ask for 'triplets, soft'; grows from --init")
    ap.add_argument("--init", metavar="CHECKPOINT", help="start from this MuseGAN's weights (its model settings are the defaults): "
                    "with --refiner, the paper's second stage; with --velocity, a binary MuseGAN learns dynamics (its layers grow)")
    add_dataclass_flags(ap, TrainConfig, "training", defaults=GAN_TRAIN_DEFAULTS, skip=("seq_len", "eval_tokens"))
    add_dataclass_flags(ap, GANConfig, "gan", prefix="gan_")
    add_dataclass_flags(ap, PianorollConfig, "pianoroll", prefix="roll_")
    ap.set_defaults(lr=None)
    args = ap.parse_args()
    setup_logging()
    file_cfg = read_config_file(args.config) if args.config else {}
    unknown = set(file_cfg) - {"train", "gan", "pianoroll", "model"}
    if unknown:
        raise ValueError(f"{args.config}: unknown sections {sorted(unknown)} (use train, gan, pianoroll, model)")
    train_cfg = load_config(TrainConfig, {**GAN_TRAIN_DEFAULTS, **file_cfg.get("train", {}), **picked(args, TrainConfig)})
    gan = load_config(GANConfig, {**file_cfg.get("gan", {}), **picked(args, GANConfig, "gan_")})
    model = {**file_cfg.get("model", {}), **{k: v for k in ("z_dim", "g_channels", "d_channels", "design", "onsets", "refiner", "velocity", "smoother", "keys", "rhythm", "texture") if (v := getattr(args, k)) is not None}}
    roll = {**file_cfg.get("pianoroll", {}), **picked(args, PianorollConfig, "roll_")}
    if args.init:
        init = load(args.init)
        if init["kind"] != "musegan":
            raise ValueError(f"--init {args.init} is a {init['kind']} checkpoint, not musegan")
        model = {**init["model_config"], **model}
        roll = {**init["representation"]["config"], **roll}
    task = make_gan_task(args.data, train_cfg.seed, roll, model, gan, out=args.out)
    if args.init:
        check_growable(init["model_config"], task.net.config)  # new channels after the old ones, or a clear refusal
    extra = {"command": "train_musegan"}
    if args.init and not args.resume:
        extra["init"] = {"checkpoint": args.init, "new_parameters": load_weights(task.net, args.init, init, grow=True)}
    report = Trainer(task, train_cfg, args.out, resume=args.resume, force=args.force, extra_config=extra).fit()
    if report:
        d = report["final"]["distance"]
        print(f"musegan: {report['steps']} steps in {report['wall_seconds']:.0f} s; metric distance to real {d['generated']:.3f} (untrained {d['untrained']:.3f}) -> {args.out}.pt")
    return 0


if __name__ == "__main__":
    from pianogen.io import OutputExistsError
    from pianogen.training import TrainingDiverged

    from pianogen.checkpoints import CheckpointError

    run(main, (OutputExistsError, FileNotFoundError, ValueError, TrainingDiverged, CheckpointError))
