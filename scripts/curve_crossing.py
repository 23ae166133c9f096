#!/usr/bin/env python3
"""Fit each run's validation curve (nll = a + b * minutes^-c) and say where a challenger would
overtake a leader: the Transformer-versus-LSTM question at equal CPU minutes.

Both runs must report NLL in the same unit (e.g. two event models, nats/event). Prints each
fit, the measured and fitted NLL at the challenger's last evaluation and beyond, and the
crossing minute if the fitted curves cross. An extrapolation: read it as such.
"""

import _path  # noqa: F401

from pianogen.cli import parser, run


def main() -> int:
    from pianogen.evaluation.curves import crossing, eval_curve, power_law_fit, predict, read_run, run_name

    ap = parser(__doc__, "python scripts/curve_crossing.py checkpoints/transformer.json checkpoints/perf-rnn.json")
    ap.add_argument("challenger", help="NAME.json of the run that starts behind (A.json+B.json: a run continued in legs)")
    ap.add_argument("leader", help="NAME.json of the run that starts ahead (A.json+B.json: a run continued in legs)")
    ap.add_argument("--at", type=float, nargs="+", default=[90, 180, 360, 720], help="minutes to project both curves to")
    ap.add_argument("--subset", action="store_true", help="fit the evaluation-subset curves as logged, without moving each onto "
                    "its run's final full-validation number")
    args = ap.parse_args()
    fits, curves = {}, {}
    for role, path in (("challenger", args.challenger), ("leader", args.leader)):
        report = read_run(path)
        curves[role] = eval_curve(report, on_full_split=not args.subset)
        fits[role] = power_law_fit(*curves[role])
        f = fits[role]
        print(f"{role} {run_name(path)}: nll = {f['a']:.3f} + {f['b']:.3f} * min^-{f['c']:.2f} (rms {f['rms']:.3f}; "
              f"last eval {curves[role][1][-1]:.3f} at {curves[role][0][-1]:.1f} min)")
    print("| minutes | " + " | ".join(fits) + " |\n| ---: | ---: | ---: |")
    for m in args.at:
        print(f"| {m:g} | " + " | ".join(f"{float(predict(f, m)):.3f}" for f in fits.values()) + " |")
    last = float(curves["challenger"][0][-1])  # extrapolate only beyond what was measured
    if predict(fits["challenger"], last) < predict(fits["leader"], last):
        print(f"the challenger is already ahead at {last:.1f} minutes")
        return 0
    x = crossing(fits["challenger"], fits["leader"], start=last)
    print(f"fitted curves cross at {x:,.0f} minutes" if x else "fitted curves do not cross within 100,000 minutes")
    return 0


if __name__ == "__main__":
    run(main, (FileNotFoundError, ValueError, KeyError))
