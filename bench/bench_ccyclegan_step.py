"""One CCycleGAN training iteration at batch 64: the original's structure against the library's, in one run.

The original iteration (ccyclegan_t26.py, Keras 2) does, per batch of B images:
  D step: G_enc.predict(B), then six G_dec.predict calls (one per target class), a shuffled 7B batch and
          D.train_on_batch;
  G step (every 5th iteration): combined.train_on_batch on 6B inputs (each image repeated six times), which encodes
          every image six times and decodes its reconstruction six times.
The baseline below reproduces that structure in Keras 3 (predict calls, compiled train_on_batch models, the
compile-then-freeze idiom kept working by toggling D.trainable); the library runs `CCycleGANTrainer`'s
tf.function steps, which encode each image once, reconstruct it once, and on G iterations make the translations
once for both updates (`_d_then_g_step`). With --xla the D and G gradients are XLA-compiled separately; with
--mixed-precision the library's steps also run in bfloat16; with --attention-mask the library's steps also run
with the attention head on G_dec (the cost of the option).

    python bench/bench_ccyclegan_step.py [--iterations 5] [--batch-size 64] [--xla] [--mixed-precision]
                                         [--attention-mask]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.machine import describe_machine, time_calls  # noqa: E402
from models.ccyclegan import build_ccyclegan  # noqa: E402
from train.ccyclegan import CCycleGANConfig, CCycleGANTrainer, other_classes_table  # noqa: E402

NUM_CLASSES = 7


class OriginalStructure:
    """The t26 iteration with Keras 3 predict / train_on_batch calls, as the original issues them."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.encoder, self.decoder, self.discriminator = build_ccyclegan()
        d = self.discriminator
        d.compile(optimizer=keras.optimizers.Adam(2e-4, 0.5), loss=["binary_crossentropy", "binary_crossentropy"],
                  loss_weights=[1, 1])
        image = keras.Input((48, 48, 1))
        label0, label1 = keras.Input((NUM_CLASSES,)), keras.Input((NUM_CLASSES,))
        features = self.encoder(image)
        fake = self.decoder([*features, label1])
        reconstruction = self.decoder([*features, label0])
        d.trainable = False
        gan_valid, class_valid = d(fake)
        self.combined = keras.Model([image, label0, label1], [gan_valid, class_valid, reconstruction])
        self.combined.compile(optimizer=keras.optimizers.Adam(2e-4, 0.5),
                              loss=["binary_crossentropy", "categorical_crossentropy", "mae"], loss_weights=[2, 2, 1])
        self.others = other_classes_table(NUM_CLASSES)
        self._first_calls()

    def _first_calls(self):
        """Trace each compiled function once in the trainable state it must keep (Keras 2 froze at compile time)."""
        images, labels = random_batch(self.batch_size, seed=99)
        self.d_step(images, labels)
        self.g_step(images, labels)

    def d_step(self, images, labels):
        b = len(images)
        features = self.encoder.predict(images, verbose=0)
        fakes = [self.decoder.predict([*features, np.eye(NUM_CLASSES, dtype=np.float32)[self.others[labels][:, k]]],
                                      verbose=0) for k in range(NUM_CLASSES - 1)]
        x = np.concatenate([images, *fakes])
        gan = np.concatenate([np.ones((b, 1)), np.zeros((6 * b, 1))]).astype(np.float32)
        cls = np.concatenate([np.eye(NUM_CLASSES)[labels], np.zeros((6 * b, NUM_CLASSES))]).astype(np.float32)
        order = np.random.permutation(len(x))
        self.discriminator.trainable = True
        return self.discriminator.train_on_batch(x[order], [gan[order], cls[order]])

    def g_step(self, images, labels):
        b = len(images)
        repeated = np.tile(images, (6, 1, 1, 1))
        label0 = np.tile(np.eye(NUM_CLASSES, dtype=np.float32)[labels], (6, 1))
        label1 = np.concatenate([np.eye(NUM_CLASSES, dtype=np.float32)[self.others[labels][:, k]] for k in range(6)])
        order = np.random.permutation(6 * b)
        self.discriminator.trainable = False
        return self.combined.train_on_batch([repeated[order], label0[order], label1[order]],
                                            [np.ones((6 * b, 1), np.float32), label1[order], repeated[order]])


def random_batch(batch_size: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (batch_size, 48, 48, 1)).astype(np.float32), rng.integers(0, NUM_CLASSES, batch_size)


def check_baseline_updates_the_right_networks(original: OriginalStructure, images, labels):
    """The toggled-trainable baseline must train D in its D step and only G in its G step, as Keras 2 did."""
    d_before = [w.numpy().copy() for w in original.discriminator.weights]
    g_before = [w.numpy().copy() for w in original.encoder.weights]
    original.g_step(images, labels)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(d_before, original.discriminator.weights)), "G moved D"
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(g_before, original.encoder.weights)), "G step idle"
    original.d_step(images, labels)
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(d_before, original.discriminator.weights)), "D idle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--xla", action="store_true", help="also time the library's steps compiled with XLA")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="also time the library's steps computed in bfloat16 (float32 weights)")
    parser.add_argument("--attention-mask", action="store_true",
                        help="also time the library's steps with the attention head on G_dec")
    args = parser.parse_args()
    b = args.batch_size
    images, labels = random_batch(b)

    original = OriginalStructure(b)
    check_baseline_updates_the_right_networks(original, images, labels)
    # Each variant: (a D-only iteration, a D+G iteration).
    variants = {"original structure": (lambda: original.d_step(images, labels),
                                       lambda: (original.d_step(images, labels), original.g_step(images, labels)))}
    tf_images, tf_labels = tf.constant(images), tf.constant(labels, tf.int32)
    library = [("ccyclegan", {})] + ([("ccyclegan + XLA", {"xla": True})] if args.xla else []) + \
        ([("ccyclegan + bfloat16", {"mixed_precision": True})] if args.mixed_precision else []) + \
        ([("ccyclegan + attention", {"attention_mask": True})] if args.attention_mask else [])
    for name, options in library:
        trainer = CCycleGANTrainer(CCycleGANConfig(batch_size=b, **options))
        variants[name] = (
            lambda t=trainer: t.train_step((tf_images, tf_labels), 0, 1),
            lambda t=trainer: t.train_step((tf_images, tf_labels), 0, 0),
        )

    rows = {name: (time_calls(d_only, args.iterations), time_calls(d_and_g, args.iterations))
            for name, (d_only, d_and_g) in variants.items()}
    base_d, base_dg = rows["original structure"]
    base_average = (4 * base_d + base_dg) / 5
    print(f"\nCCycleGAN T26 at 48x48x1, batch {b}, median of {args.iterations} (after a warm-up), "
          f"{describe_machine()}, TF {tf.__version__}")
    header = (f"{'implementation':<22} {'D iter s':>9} {'D img/s':>8} {'D+G iter s':>11} {'G img/s':>8} "
              f"{'mean iter s (T26: 1 G per 5 D)':>31} {'speed-up':>9}")
    print(header)
    print("-" * len(header))
    for name, (d_seconds, dg_seconds) in rows.items():
        average = (4 * d_seconds + dg_seconds) / 5
        print(f"{name:<22} {d_seconds:>9.3f} {7 * b / d_seconds:>8.0f} {dg_seconds:>11.3f} "
              f"{6 * b / (dg_seconds - d_seconds):>8.0f} {average:>31.3f} {base_average / average:>8.2f}x")
    print("\nD img/s: the 7B images D trains on per second of a D-only iteration. G img/s: the 6B translations G")
    print("trains on per second of the time a G update adds to an iteration. Speed-up: of the mean T26 iteration.")
    for name, (d_seconds, dg_seconds) in rows.items():
        if name != "original structure":
            print(f"{name}: D-only iteration {base_d / d_seconds:.2f}x, D+G iteration {base_dg / dg_seconds:.2f}x")

if __name__ == "__main__":
    main()
