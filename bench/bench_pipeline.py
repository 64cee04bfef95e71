"""Time lost at epochs' ends, read from training runs' TensorBoard logs: the pipeline's cost the loop sees.

The training loop makes a new tf.data iterator every epoch and drops the last one. With tf.data's autotuner on (its
default), dropping the iterator waited for the autotuner's thread (a native stack trace of a running job:
`~RootDataset::Iterator` joining a thread of its own); a 47-minute AU run spent about 31 s at every epoch's end. The library's pipeline
now turns the autotuner off (`ccyclegan.data.pipeline`). This reads each run's logged steps (their wall times in
the TensorBoard events), and reports the median step, the gap at each epoch's first step, and the time those gaps
cost: give it runs from before and after the change that ran side by side on the same machine.

    python bench/bench_pipeline.py RUN [RUN ...] [--tag TAG]

`--throughput` instead reads one epoch of synthetic-sized data (4,500 faces of 64 px, batch 16) as fast as it can,
through the library's pipeline and through the same pipeline with the autotuner on, interleaved: what the change
costs a fast training step (a GPU's).

    python bench/bench_pipeline.py --throughput [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.machine import describe_machine  # noqa: E402


def logged_wall_times(run: Path, tag: str | None) -> dict[int, float]:
    """{step: wall time} of the first event of `tag` at each step; without a tag, of the run's most logged value."""
    import collections

    import tensorflow as tf

    files = sorted((run / "tensorboard").glob("events.out.tfevents.*"))
    if not files:
        raise SystemExit(f"{run}: no TensorBoard events in {run / 'tensorboard'}")
    events = collections.defaultdict(dict)
    for path in files:
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                events[value.tag].setdefault(int(event.step), event.wall_time)
    if tag is None:
        tag = max(events, key=lambda name: len(events[name]), default=None)
    walls = events.get(tag, {})
    if len(walls) < 3:
        raise SystemExit(f"{run}: fewer than three steps logged with the tag {tag!r}; pass another --tag (the run "
                         f"logs {', '.join(sorted(events)) or 'no values'})")
    return walls


def epoch_end_costs(run: Path, tag: str | None) -> dict:
    """The median time between consecutive logged steps, and what the gaps that cross an epoch's end add to it."""
    import csv

    walls = logged_wall_times(run, tag)
    if not (run / "train_log.csv").exists():
        raise SystemExit(f"{run}: no train_log.csv, which says which epoch each step was in")
    with open(run / "train_log.csv", newline="") as handle:
        # TensorBoard's step counts the steps done (the CSV's step index + 1)
        epoch_of = {int(row["step"]) + 1: int(row["epoch"]) for row in csv.DictReader(handle)}
    steps = np.array(sorted(step for step in walls if step in epoch_of))
    if len(steps) < 3:
        raise SystemExit(f"{run}: the CSV log and the TensorBoard events share fewer than three steps")
    times = np.array([walls[step] for step in steps])
    epochs = np.array([epoch_of[step] for step in steps])
    gaps, spans = np.diff(times), np.diff(steps)
    median = float(np.median(gaps[spans == 1]))
    crossing = epochs[1:] != epochs[:-1]
    extra = gaps[crossing] - median * spans[crossing]
    total = float(times[-1] - times[0])
    return {"steps": int(steps[-1]), "median_step": median, "epoch_ends": int(crossing.sum()),
            "median_epoch_end": float(np.median(extra)) if len(extra) else 0.0, "lost": float(extra.sum()),
            "share_lost": float(extra.sum()) / total}


def batches_per_second(dataset) -> float:
    import time

    started, count = time.perf_counter(), 0
    for _ in dataset:
        count += 1
    return count / (time.perf_counter() - started)


def throughput(repeats: int) -> None:
    import tensorflow as tf

    from ccyclegan.data.pipeline import image_dataset

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4500, 64, 64, 3), dtype=np.uint8)
    aus = rng.random((4500, 17), dtype=np.float32)
    autotuned = tf.data.Options()
    autotuned.autotune.enabled = True
    print(f"one epoch of 4,500 faces of 64 px, batch 16, read as fast as possible; {describe_machine()}")
    print(f"{'repeat':<7} {'library (batches/s)':>20} {'autotuner on (batches/s)':>25} {'ratio':>6}")
    for repeat in range(repeats):
        library = image_dataset(images, aus, batch_size=16, seed=repeat, repeat=False)
        baseline = library.with_options(autotuned)
        if library.options().autotune.enabled or not baseline.options().autotune.enabled:
            raise RuntimeError("the two pipelines do not differ in the autotuner; the comparison would mean nothing")
        ours, theirs = batches_per_second(library), batches_per_second(baseline)
        print(f"{repeat:<7} {ours:>20.0f} {theirs:>25.0f} {ours / theirs:>6.2f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", type=Path)
    parser.add_argument("--throughput", action="store_true", help="time the pipelines instead of reading runs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tag", help="a value the runs log every step (default: the most logged one)")
    args = parser.parse_args(argv)
    if args.throughput:
        throughput(args.repeats)
        return
    if not args.runs:
        parser.error("give run folders, or --throughput")
    print(f"time lost at epochs' ends, from the runs' own logs (this machine: {describe_machine()})")
    print(f"{'run':<40} {'steps':>6} {'step (s)':>9} {'epoch ends':>10} {'each (s)':>9} {'lost (min)':>11} "
          f"{'share':>6}")
    for run in args.runs:
        costs = epoch_end_costs(run, args.tag)
        print(f"{run.name:<40} {costs['steps']:>6} {costs['median_step']:>9.3f} {costs['epoch_ends']:>10} "
              f"{costs['median_epoch_end']:>9.1f} {costs['lost'] / 60:>11.1f} {costs['share_lost']:>6.1%}")


if __name__ == "__main__":
    main()
