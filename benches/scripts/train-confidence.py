#!/usr/bin/env python3
"""Trains the confidence filter: a logistic regression from a suggestion's features to
whether the user takes it, fitted on the typing replay's training regions (files the
benchmark never replays), and the thresholds of `balanced` and `strict`.

Gather the rows (the filter off, no wall-clock cut-offs, so two runs agree):

    INFILL_REPLAY_SET=train INFILL_REPLAY_MODE=quality INFILL_REPLAY_CONFIDENCE=off \
    INFILL_REPLAY_REGIONS=30 INFILL_BENCH_NO_LLAMA=1 INFILL_BENCH_MODEL=<test model> \
    INFILL_REPLAY_FEATURES=train.csv cargo bench -p infill-benches --bench typing_replay

then train and write the weights file the server embeds:

    python3 benches/scripts/train-confidence.py train.csv server/data/confidence-filter.json

Rows: the features (in the server's order: `FEATURE_NAMES` in `server/src/confidence.rs`,
read from there), then accepted
(0/1), characters accepted, characters shown. `# typed_chars=N` lines give the characters
typed in each replay, the denominator of "characters saved". Standard library only:
the data are a few thousand rows.
"""

import json
import math
import os
import re
import sys

def feature_names():
    """The features' names, from the server's source (one place for them)."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../server/src/confidence.rs")
    with open(source) as f:
        text = f.read()
    block = re.search(r"FEATURE_NAMES: \[&str; FEATURE_COUNT\] = \[(.*?)\];", text, re.S)
    if not block:
        sys.exit(f"no FEATURE_NAMES in {source}")
    return re.findall(r'"([a-z_]+)"', block.group(1))


FEATURES = feature_names()
# Most points of "characters saved" (of all typed) the thresholds may give up on the
# training rows. The live replay loses less than this estimate: a hidden answer stays in
# the cache and shows again once typing along it makes it sure enough.
BALANCED_LOSS_POINTS = 1.0
STRICT_LOSS_POINTS = 4.0
L2 = 0.01
STEPS = 800
RATE = 0.5


def read(path):
    rows, typed = [], 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if line.startswith("#"):
                typed += int(line.split("=", 1)[1])
                continue
            values = [float(v) for v in line.split(",")]
            if len(values) != len(FEATURES) + 3:
                sys.exit(f"a row with {len(values)} values, expected {len(FEATURES) + 3}: {line}")
            rows.append(values)
    return rows, typed


def standardize(rows):
    n = len(rows)
    mean = [sum(r[i] for r in rows) / n for i in range(len(FEATURES))]
    scale = []
    for i in range(len(FEATURES)):
        var = sum((r[i] - mean[i]) ** 2 for r in rows) / n
        scale.append(math.sqrt(var) if var > 1e-12 else 1.0)
    return mean, scale


def fit(xs, ys, weights):
    """Batch gradient descent on the weighted mean log loss with an L2 penalty
    (deterministic)."""
    d = len(xs[0])
    w, b = [0.0] * d, 0.0
    n = sum(weights)
    for _ in range(STEPS):
        gw, gb = [0.0] * d, 0.0
        for x, y, weight in zip(xs, ys, weights):
            p = sigmoid(b + sum(wi * xi for wi, xi in zip(w, x)))
            e = (p - y) * weight
            gb += e
            for i in range(d):
                gw[i] += e * x[i]
        w = [wi - RATE * (g / n + L2 * wi) for wi, g in zip(w, gw)]
        b -= RATE * gb / n
    return w, b


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def auc(scores, ys):
    pairs = sorted(zip(scores, ys))
    pos = sum(ys)
    neg = len(ys) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    rank_sum, rank = 0.0, 0
    for s, y in pairs:
        rank += 1
        if y:
            rank_sum += rank
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def threshold(scores, rows, typed, loss_points):
    """The threshold with the best share accepted among those losing at most `loss_points`."""
    best = (sum(r[-3] for r in rows) / len(rows), 0.0)
    for t in sorted(set(scores)):
        kept = [r for s, r in zip(scores, rows) if s >= t]
        lost = sum(r[-2] for s, r in zip(scores, rows) if s < t)
        if not kept or 100.0 * lost / typed > loss_points:
            continue
        share = sum(r[-3] for r in kept) / len(kept)
        if share > best[0]:
            best = (share, t)
    return best[1]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows, typed = read(sys.argv[1])
    if len(rows) < 50 or typed == 0:
        sys.exit(f"too few rows to train on: {len(rows)}")
    mean, scale = standardize(rows)
    xs = [[(r[i] - mean[i]) / scale[i] for i in range(len(FEATURES))] for r in rows]
    ys = [r[len(FEATURES)] for r in rows]
    # What a suggestion is worth is the characters it saves: a taken suggestion counts
    # in proportion to them (the taken ones weigh as many rows in all as they are), so
    # the filter learns to keep the long right ones rather than only the many short ones.
    taken = [r[-2] for r in rows if r[len(FEATURES)] > 0]
    mean_taken = sum(taken) / max(1, len(taken))
    weights = [r[-2] / mean_taken if r[len(FEATURES)] > 0 else 1.0 for r in rows]
    # Five folds, to say how well the fit carries to rows it did not see.
    held_scores, held_ys = [], []
    for k in range(5):
        train = [i for i in range(len(xs)) if i % 5 != k]
        test = [i for i in range(len(xs)) if i % 5 == k]
        w, b = fit([xs[i] for i in train], [ys[i] for i in train], [weights[i] for i in train])
        held_scores += [sigmoid(b + sum(wi * xi for wi, xi in zip(w, xs[i]))) for i in test]
        held_ys += [ys[i] for i in test]
    w, b = fit(xs, ys, weights)
    scores = [sigmoid(b + sum(wi * xi for wi, xi in zip(w, x))) for x in xs]
    balanced = threshold(scores, rows, typed, BALANCED_LOSS_POINTS)
    strict = max(balanced, threshold(scores, rows, typed, STRICT_LOSS_POINTS))
    print(f"{len(rows)} rows, {int(sum(ys))} accepted ({100 * sum(ys) / len(ys):.1f}%), {typed} chars typed")
    print(f"AUC on held-out folds {auc(held_scores, held_ys):.3f}, on the training rows {auc(scores, ys):.3f}")
    print(f"{'setting':<9} {'threshold':>9} {'shown':>6} {'accepted/shown':>15} {'saved pts lost':>15}")
    for name, t in [("off", 0.0), ("balanced", balanced), ("strict", strict)]:
        kept = [r for s, r in zip(scores, rows) if s >= t]
        lost = sum(r[-2] for s, r in zip(scores, rows) if s < t)
        share = 100.0 * sum(r[-3] for r in kept) / max(1, len(kept))
        print(f"{name:<9} {t:>9.3f} {len(kept):>6} {share:>14.1f}% {100.0 * lost / typed:>15.2f}")
    for name, weight in sorted(zip(FEATURES, w), key=lambda p: -abs(p[1])):
        print(f"  {name:<26} {weight:+.3f}")
    out = {
        "features": FEATURES,
        "mean": [round(m, 6) for m in mean],
        "scale": [round(s, 6) for s in scale],
        "weights": [round(x, 6) for x in w],
        "bias": round(b, 6),
        "balanced": round(balanced, 6),
        "strict": round(strict, 6),
    }
    with open(sys.argv[2], "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
