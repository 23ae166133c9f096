#!/usr/bin/env python3
"""Seconds for one classifier test ("can a listener tell?") on the bundled corpus, boosting's bin
edges found with one sort per feature against scikit-learn's own binning in the same run.

scikit-learn 1.9 bins a weighted fit (the test's ``class_weight="balanced"``) with one
``_weighted_percentile`` call per bin edge, each sorting the feature again
(``pianogen.evaluation.classifier_test._one_sort_per_feature``). The reference is the same test
with scikit-learn's function in place. Prints seconds for each classifier, the ratio, and
whether both gave the same accuracies (they must: same edges, same trees).

    python benchmarks/classifier_test.py [--data data/prepared/maestro-mini] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import pianogen.evaluation.classifier_test as ct  # noqa: E402
from pianogen.evaluation.features import labelled_segments  # noqa: E402
from pianogen.evaluation.segment_features import feature_matrix  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT / "data" / "prepared" / "maestro-mini"), help="prepared folder (make prepare)")
    ap.add_argument("--split", default="train")
    ap.add_argument("--repeats", type=int, default=1, help="repeats of 5-fold cross-validation")
    args = ap.parse_args()
    segs, groups = labelled_segments(args.data, args.split, 20.0)
    x, _ = feature_matrix(segs)
    groups = np.asarray(groups)
    side = np.isin(groups, sorted(set(groups))[::2])  # real against real: half the compositions each
    print(f"{len(x)} segments of 20 s x {x.shape[1]} features, {args.repeats} x 5-fold, real against real")
    print("| classifier | scikit-learn's binning, s | one sort per feature, s | ratio | same accuracy |\n| --- | ---: | ---: | ---: | --- |")
    shared = ct._one_sort_per_feature
    ct.classifier_test(x[side][:40], x[~side][:40], groups[side][:40], groups[~side][:40], ct.ClassifierTestConfig(repeats=1))  # imports, warm-up
    for c in ct.CLASSIFIERS:
        cfg = ct.ClassifierTestConfig(repeats=args.repeats, classifiers=(c,))
        out = {}
        for name, block in (("reference", contextlib.nullcontext), ("shared", shared)):
            ct._one_sort_per_feature = block
            t = time.perf_counter()
            res = ct.classifier_test(x[side], x[~side], groups[side], groups[~side], cfg)
            out[name] = (time.perf_counter() - t, res[c]["accuracy"])
        ct._one_sort_per_feature = shared
        (a, acc_a), (b, acc_b) = out["reference"], out["shared"]
        print(f"| {c} | {a:.1f} | {b:.1f} | {b / a:.2f} | {'yes' if acc_a == acc_b else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
