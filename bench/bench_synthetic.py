"""Benchmark of the synthetic faces: rendering speed and the learnability numbers the data set promises.

    python bench/bench_synthetic.py            # everything (a few minutes on 2 cores)
    python bench/bench_synthetic.py --quick    # speed only

Speed is compared with a baseline measured in the same run: rendering the same faces one `render()` call at a time
(the per-face numpy path) instead of in batches, so the ratio does not drift with the machine's load. The
learnability rows compare against chance / the mean predictor / each other, also measured in the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.machine import describe_machine  # noqa: E402
from ccyclegan.data import synthetic  # noqa: E402
from ccyclegan.labels import NUM_FER_CLASSES  # noqa: E402


def faces_per_second(n: int, size: int, channels: int, seed: int = 0, **options) -> float:
    """Faces per second of `make_faces` (sampling, rendering, records), single process."""
    synthetic.make_faces(64, seed=seed + 1, size=size, channels=channels, **options)  # warm caches
    started = time.perf_counter()
    synthetic.make_faces(n, seed=seed, size=size, channels=channels, **options)
    return n / (time.perf_counter() - started)


def one_at_a_time_per_second(n: int, size: int, channels: int, seed: int = 0) -> float:
    """The baseline: the same kind of faces, one `render()` call each."""
    faces = synthetic.make_faces(n, seed=seed, size=size, channels=channels)
    started = time.perf_counter()
    for r in faces.records:
        synthetic.render(r.identity, r.aus, size, channels, nuisance=r.nuisance)
    return n / (time.perf_counter() - started)


def class_learnability(train: int = 7000, test: int = 3000, seed: int = 100) -> float:
    """Test accuracy of a plain logistic regression on raw 48x48 gray pixels (scaled to 0..1) over the 7 classes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    train_set = synthetic.make_faces(train, seed=seed)
    test_set = synthetic.make_faces(test, seed=seed + 1)
    x_train = train_set.images.reshape(train, -1) / 255.0
    x_test = test_set.images.reshape(test, -1) / 255.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=300).fit(x_train, train_set.labels)
    return float((model.predict(x_test) == test_set.labels).mean())


def identity_versus_expression(pairs: int = 500, seed: int = 200) -> tuple[float, float]:
    """Mean pixel L1 ([-1, 1] units, 48x48 gray) between (a) two different identities, each in its own photo
    conditions, with the same expression, and (b) two different expressions of one identity in one photo."""
    rng = np.random.default_rng(seed)
    faces = synthetic.make_faces(2 * pairs, seed=seed)
    first, second = faces.records[:pairs], faces.records[pairs:]
    same_class = rng.integers(0, NUM_FER_CLASSES, pairs)
    other_class = (same_class + rng.integers(1, NUM_FER_CLASSES, pairs)) % NUM_FER_CLASSES
    unit = lambda images: images.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    a = unit(synthetic.true_translations(first, same_class))
    b = unit(synthetic.true_translations(second, same_class))
    c = unit(synthetic.true_translations(first, other_class))
    return float(np.abs(a - b).mean()), float(np.abs(a - c).mean())


def au_recoverability(train: int = 3000, test: int = 1000, seed: int = 300, alpha: float = 30.0,
                      channels: int = 3) -> tuple[float, float]:
    """MAE of a ridge regression from raw 128x128 pixels to the 17 AU intensities (each drawn independently from
    U(0, 5)) on held-out faces, and the MAE of always predicting the training mean. The faces are aligned crops
    (as the AU data sets: OpenFace, CelebA) with every identity, lighting and noise variation."""
    from sklearn.linear_model import Ridge

    options = dict(size=128, channels=channels, labels="random_aus", aligned=True)
    train_set = synthetic.make_faces(train, seed=seed, **options)
    test_set = synthetic.make_faces(test, seed=seed + 1, **options)
    x_train = train_set.images.reshape(train, -1).astype(np.float32) / 255.0
    x_test = test_set.images.reshape(test, -1).astype(np.float32) / 255.0
    mean_pixels = x_train.mean(axis=0)
    x_train -= mean_pixels
    x_test -= mean_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an ill-conditioned kernel warning at small alpha is expected
        model = Ridge(alpha=alpha).fit(x_train, train_set.aus)
    predicted = np.clip(model.predict(x_test), 0.0, 5.0)
    mae = float(np.abs(predicted - test_set.aus).mean())
    baseline = float(np.abs(train_set.aus.mean(axis=0) - test_set.aus).mean())
    return mae, baseline


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="speed only")
    parser.add_argument("--n", type=int, default=35887, help="faces for the 48x48 speed row (FER2013's size)")
    args = parser.parse_args(argv)

    rows = []
    started = time.perf_counter()
    rate_48 = faces_per_second(args.n, 48, 1)
    single_48 = one_at_a_time_per_second(500, 48, 1)
    rows.append(("render 48x48 gray", f"{rate_48:,.0f} faces/s", f"{single_48:,.0f} faces/s one at a time",
                 f"x{rate_48 / single_48:.1f}", f"{args.n / rate_48:.1f} s for {args.n:,}; target >= 2,000/s"))
    rate_128 = faces_per_second(3000, 128, 3)
    single_128 = one_at_a_time_per_second(300, 128, 3)
    rows.append(("render 128x128 RGB", f"{rate_128:,.0f} faces/s", f"{single_128:,.0f} faces/s one at a time",
                 f"x{rate_128 / single_128:.1f}", ""))
    if not args.quick:
        accuracy = class_learnability()
        rows.append(("logistic regression, 7 classes", f"{accuracy:.1%} test accuracy", "14.3% chance",
                     f"x{accuracy * NUM_FER_CLASSES:.1f}", "7,000 train / 3,000 test, 48x48 gray; target >= 90%"))
        between_ids, between_expressions = identity_versus_expression()
        rows.append(("L1 two identities, same expression", f"{between_ids:.4f}",
                     f"{between_expressions:.4f} one identity, two expressions",
                     f"x{between_ids / between_expressions:.1f}", "[-1, 1] units; target: ratio > 1"))
        mae, baseline = au_recoverability()
        rows.append(("ridge regression, 17 AUs", f"MAE {mae:.3f}", f"MAE {baseline:.3f} training mean",
                     f"x{mae / baseline:.2f}", "3,000 train / 1,000 test, 128x128 RGB; target ratio < 0.5"))

    headers = ("measure", "value", "baseline (same run)", "ratio", "note")
    widths = [max(len(str(r[i])) for r in rows + [headers]) for i in range(len(headers))]
    print(" | ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(v).ljust(w) for v, w in zip(row, widths)))
    print(f"({time.perf_counter() - started:.0f} s in all, {describe_machine()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
