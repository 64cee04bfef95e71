"""The AU-conditioned family's training steps: the default model's critic and generator steps, in images/s.

The default model is e8's design (AttGAN G with one AU injection, AttGAN critic, WGAN-GP) at the default batch (32).
The baseline, measured in the same run, is the same critic step without the gradient penalty (`--adversarial bce`),
so the ratio is what the penalty's second backward pass costs. Sizes can be reduced for a CPU (`--preset au-cpu`:
64 px, widths 16, heads 128, one skip, attention mask: the README's CPU run). `--mixed-precision` also times the
default steps in bfloat16 (float32 weights) and prints the time of one iteration over float32's;
`--separate-au-trunk` those with the AU head on convolutions of its own (`--au-trunk separate`); `--xla` those
compiled with XLA.

    python bench/bench_aucgan.py [--preset default|au-cpu] [--batch-size 32] [--iterations 5] [--mixed-precision]
        [--separate-au-trunk] [--xla]

`--table` instead trains each experiment e1..e9 (and e1/e2 with the original's norm) for a fixed number of steps at
reduced widths through train.py, then evaluates it (with `--judge`), and prints the README's table: finite or not,
the judge's AU error of the translations over the input-unchanged error, and the ground-truth error.

    python bench/bench_aucgan.py --table --data DIR --judge JUDGE [--steps 40] [--out DIR]
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


def _network_settings(experiment: str) -> dict:
    """An experiment's settings that shape the networks and the step (not its length or its outputs)."""
    from train.experiments import experiment_settings

    renamed = {"image_size": "img_size"}
    skip = {"batch_size", "epochs", "sample_interval", "checkpoint_interval", "critic_warmup"}
    return {renamed.get(k, k): v for k, v in experiment_settings(experiment).items() if k not in skip}


PRESETS = {"default": {}, "au-cpu": _network_settings("au-cpu")}


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


TABLE_RUNS = (("e1", ()), ("e1", ("--keras-norm", "original")), ("e2", ()), ("e2", ("--keras-norm", "original")),
              ("e3", ()), ("e4", ()), ("e5", ()), ("e5", ("--degenerate-norm",)), ("e6", ()), ("e7", ()), ("e8", ()),
              ("e9", ()))


def experiment_table(args) -> None:
    """Each experiment for `args.steps` steps at widths 8 (AttGAN at 64 px, the others at the originals' 112 px)."""
    import json

    from tests.helpers import load_train_script

    out = Path(args.out)
    lines = [f"e1..e9 at {args.steps} steps each (widths {args.width}, heads {8 * args.width}, batch {args.batch}, "
             f"K <= 2 targets per image); {describe_machine()}",
             "| experiment | finite | seconds | AU error / unchanged (presence: accuracy vs unchanged) "
             "| ground truth (unchanged, nearest) |",
             "| --- | --- | --- | --- | --- |"]
    for experiment, extra in TABLE_RUNS:
        name = experiment + ("-" + "-".join(a.strip("-") for a in extra) if extra else "")
        run = out / name
        size = ["--image-size", "64"] if experiment in ("e7", "e8", "e9") else []
        started = time.perf_counter()
        code = load_train_script().main([
            "--experiment", experiment, "--data", args.data, "--out", str(run), "--max-steps", str(args.steps),
            "--log-style", "quiet", "--gf", str(args.width), "--df", str(args.width), "--fc-dim", str(8 * args.width),
            "-batch_size", str(args.batch), "--checkpoint-interval", str(args.steps), "-sample_interval", "0",
            "--targets-per-image", "2" if experiment in ("e3", "e4") else "1", *size, *extra])
        seconds = time.perf_counter() - started
        finite = {0: "yes", 1: "no (NaN/Inf)"}.get(code, f"failed ({code})")
        au = truth = "-"
        if code == 0 and args.judge:
            load_train_script().main(["--family", "aucgan", "--mode", "evaluate", "--model", str(run), "--data",
                                      args.data, "--judge", args.judge, "--eval-n", str(args.eval_n)])
            evaluation = run / "evaluation.json"
            report = json.loads(evaluation.read_text()) if evaluation.exists() else {}
            judged = report.get("judge") or {}
            if "translation_over_unchanged" in judged:
                au = f"{judged['translation_over_unchanged']:.3f}"
            elif "translation_presence_accuracy" in judged:
                au = (f"accuracy {judged['translation_presence_accuracy']:.3f} vs "
                      f"{judged['unchanged_presence_accuracy']:.3f}")
            gt = report.get("ground_truth")
            if gt:
                truth = f"{gt['translation']:.4f} ({gt['unchanged']:.4f}, {gt['nearest_training_face']:.4f})"
        lines.append(f"| {name} | {finite} | {seconds:.0f} | {au} | {truth} |")
        print(lines[-1], flush=True)
    print("\n".join(lines))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="default")
    parser.add_argument("--batch-size", type=int, default=AUCGANConfig.batch_size)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--mixed-precision", action="store_true",
                        help="also time the default steps in bfloat16 and print their time over float32's")
    parser.add_argument("--separate-au-trunk", action="store_true",
                        help="also time the steps with the AU head on convolutions of its own (--au-trunk separate) "
                             "and print its cost over the shared trunk")
    parser.add_argument("--g-average", action="store_true",
                        help="also time the steps with a weight average of G (--g-average 0.999), or without one "
                             "when the preset keeps one (au-cpu)")
    parser.add_argument("--xla", action="store_true",
                        help="also time the steps compiled with XLA (--xla) and print their time over the default's")
    parser.add_argument("--table", action="store_true", help="the e1..e9 table instead of the step timings")
    parser.add_argument("--data", help="--table: the synthetic-openface folder")
    parser.add_argument("--judge", help="--table: an AU judge (run folder) for the AU error")
    parser.add_argument("--steps", type=int, default=40, help="--table: training steps per experiment")
    parser.add_argument("--eval-n", type=int, default=200, help="--table: held-out faces evaluated")
    parser.add_argument("--width", type=int, default=8, help="--table: gf = df (heads 8x) (default 8)")
    parser.add_argument("--batch", type=int, default=4, help="--table: batch size (default 4)")
    parser.add_argument("--out", default="/tmp/aucgan-table", help="--table: where the runs go")
    args = parser.parse_args(argv)
    if args.table:
        if not args.data:
            parser.error("--table needs --data (a synthetic-openface folder)")
        experiment_table(args)
        return
    base = {**PRESETS[args.preset], "batch_size": args.batch_size}
    library = time_steps(AUCGANConfig(**base), args.iterations)
    baseline = time_steps(AUCGANConfig(**{**base, "adversarial": "bce"}), args.iterations)
    batch = args.batch_size
    print(f"AU-conditioned steps, preset {args.preset}, batch {batch}, {args.iterations} iterations; "
          f"{describe_machine()}; TF_NUM_INTRAOP_THREADS={os.environ.get('TF_NUM_INTRAOP_THREADS', 'unset')}; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'step':<34} {'s/step':>8} {'images/s':>9}")
    rows = [("critic, WGAN-GP (default)", library["critic"]), ("generator (default)", library["generator"]),
            ("critic, bce (baseline: no penalty)", baseline["critic"])]
    for name, seconds in rows:
        print(f"{name:<34} {seconds:>8.3f} {batch / seconds:>9.1f}")
    iteration = library["critic"] + library["generator"]
    print(f"{'one iteration (d_g_ratio 1)':<34} {iteration:>8.3f} {batch / iteration:>9.1f}")
    no_average = {"g_average": 0.0, "g_average_span": AUCGANConfig.g_average_span}
    variants = ((args.mixed_precision, "bfloat16", {"mixed_precision": True}),
                (args.separate_au_trunk, "separate AU trunk", {"au_trunk": "separate"}),
                (args.g_average, *(("no G weight average", no_average) if base.get("g_average") else
                                   ("G weight average", {"g_average": 0.999}))),
                (args.xla, "XLA", {"xla": True}))
    for wanted, label, settings in variants:
        if not wanted:
            continue
        timed = time_steps(AUCGANConfig(**{**base, **settings}), args.iterations)
        for name in ("critic", "generator"):
            print(f"{name + ', ' + label:<34} {timed[name]:>8.3f} {batch / timed[name]:>9.1f}")
        variant_iteration = timed["critic"] + timed["generator"]
        print(f"{'one iteration, ' + label:<34} {variant_iteration:>8.3f} {batch / variant_iteration:>9.1f}")
        print(f"one iteration, {label} / the default: {variant_iteration / iteration:.2f}")
    print(f"ratio critic WGAN-GP / bce: {library['critic'] / baseline['critic']:.2f}")


if __name__ == "__main__":
    main()
