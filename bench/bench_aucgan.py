"""The AU-conditioned family's training steps: the default model's critic and generator steps, in images/s.

The default model is e8's design (AttGAN G with one AU injection, AttGAN critic, WGAN-GP) at the default batch (32).
The baseline, measured in the same run, is the same critic step without the gradient penalty (`--adversarial bce`),
so the ratio is what the penalty's second backward pass costs. Sizes can be reduced for a CPU (`--preset au-cpu`:
64 px, widths 16, heads 128, four skips, attention mask: the README's CPU run).

    python bench/bench_aucgan.py [--preset default|au-cpu] [--batch-size 32] [--iterations 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tensorflow as tf  # noqa: E402

from bench.machine import describe_machine  # noqa: E402
from train.aucgan import AUCGANConfig, AUCGANTrainer  # noqa: E402

PRESETS = {
    "default": {},
    "au-cpu": {"img_size": 64, "gf": 16, "df": 16, "fc_dim": 128, "shortcut_layers": 4, "attention_mask": True,
               "mask_w": 0.05, "mask_smooth_w": 0.1},
}


def time_steps(config: AUCGANConfig, iterations: int) -> dict:
    """Seconds per critic step and per generator step (after one traced call of each)."""
    trainer = AUCGANTrainer(config)
    size, batch = config.img_size, config.batch_size
    images = tf.random.stateless_uniform([batch, size, size, 3], seed=[1, 2], minval=-1.0, maxval=1.0)
    aus = tf.random.stateless_uniform([batch, config.num_aus], seed=[3, 4])
    seed = tf.constant([0, 0], tf.int64)
    times = {}
    for name, step in (("critic", trainer._d_step), ("generator", trainer._g_step)):
        step(images, aus, seed)  # trace
        started = time.perf_counter()
        for i in range(iterations):
            values = step(images, aus, seed + i)
        float(next(iter(values.values())))
        times[name] = (time.perf_counter() - started) / iterations
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="default")
    parser.add_argument("--batch-size", type=int, default=AUCGANConfig.batch_size)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args(argv)
    base = {**PRESETS[args.preset], "batch_size": args.batch_size}
    library = time_steps(AUCGANConfig(**base), args.iterations)
    baseline = time_steps(AUCGANConfig(**{**base, "adversarial": "bce"}), args.iterations)
    batch = args.batch_size
    print(f"AU-conditioned steps, preset {args.preset}, batch {batch}, {args.iterations} iterations; "
          f"{describe_machine()}; TF intra-op threads {tf.config.threading.get_intra_op_parallelism_threads() or 'all'}")
    print(f"{'step':<34} {'s/step':>8} {'images/s':>9}")
    rows = [("critic, WGAN-GP (default)", library["critic"]), ("generator (default)", library["generator"]),
            ("critic, bce (baseline: no penalty)", baseline["critic"])]
    for name, seconds in rows:
        print(f"{name:<34} {seconds:>8.3f} {batch / seconds:>9.1f}")
    iteration = library["critic"] + library["generator"]
    print(f"{'one iteration (d_g_ratio 1)':<34} {iteration:>8.3f} {batch / iteration:>9.1f}")
    print(f"ratio critic WGAN-GP / bce: {library['critic'] / baseline['critic']:.2f}")


if __name__ == "__main__":
    main()
