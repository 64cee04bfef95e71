"""Progressive CycleGAN training against training at the final size only, in one run.

Trains the cyclegan family twice on the same synthetic UTKFace-style faces: once progressively over `--sizes`
(`--epochs` epochs at each size, the weights carried from size to size), and once for the same total number of epochs
at the last size only. Prints the seconds per epoch at each size (the median step time of each stage times its steps,
so the one-off tracing of each stage is left out), the wall-clock totals (tracing included) and their ratio, and the
original's full schedule (48x15, 64x25, 96x30, 128x20, 256x20 epochs) projected from the measured per-epoch times
where those sizes were measured.

    python bench/bench_progressive.py [--sizes 48,64,96,128,256] [--epochs 2] [--faces 64] [--batch-size 8]
                                      [--width 16] [--residual-blocks 6] [--d-width 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import describe_machine  # noqa: E402

ORIGINAL_EPOCHS = {48: 15, 64: 25, 96: 30, 128: 20, 256: 20}  # the README's schedule (reference C.5)


def faces(n: int, size: int, seed: int):
    """Two domains of n synthetic faces each (20s and 50s), uint8 RGB at `size`."""
    import numpy as np

    from ccyclegan.data.synthetic import make_faces

    ages = np.concatenate([np.full(n, 25), np.full(n, 55)])
    images = make_faces(2 * n, seed=seed, size=size, channels=3, labels=None, identity={"age_look": ages},
                        aligned=True, zoom=0.8).images
    return images[:n], images[n:]


def run_schedule(schedule, images_a, images_b, args, folder: Path):
    from train.cyclegan import CycleGANConfig, train

    config = CycleGANConfig(schedule=schedule, width=args.width, residual_blocks=args.residual_blocks,
                            d_width=args.d_width, log_style="quiet", checkpoint_interval=0)
    started = time.perf_counter()
    _, summary = train(config, images_a, images_b, folder)
    return summary["seconds_per_epoch"], time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="48,64,96,128,256", help="the progressive sizes (multiples of 8)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs at each size (default 2)")
    parser.add_argument("--faces", type=int, default=64, help="faces per domain (default 64)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--width", type=int, default=16, help="generator base filters (default 16; 64 is the original)")
    parser.add_argument("--residual-blocks", type=int, default=6, help="(default 6; 9 is the original)")
    parser.add_argument("--d-width", type=int, default=16, help="discriminator base filters (default 16; 64 original)")
    args = parser.parse_args(argv)

    from train.cyclegan import CycleGANConfig, StageSpec, parse_schedule

    sizes = [int(s) for s in args.sizes.split(",")]
    progressive = parse_schedule(",".join(f"{s}:{args.epochs}:{args.batch_size}" for s in sizes))
    final = (StageSpec(sizes[-1], args.epochs * len(sizes), args.batch_size),)
    read = max(CycleGANConfig(schedule=progressive).load_size_of(s) for s in sizes)
    images_a, images_b = faces(args.faces, min(read, 200), seed=0)

    print(f"Machine: {describe_machine()}; TF intra-op threads {os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}")
    print(f"G width {args.width}, {args.residual_blocks} residual blocks, D width {args.d_width}; {args.faces} faces "
          f"per domain, batch {args.batch_size} ({args.faces // args.batch_size} steps per epoch)")
    with tempfile.TemporaryDirectory() as folder:
        per_epoch, progressive_wall = run_schedule(progressive, images_a, images_b, args, Path(folder) / "prog")
        final_epoch, final_wall = run_schedule(final, images_a, images_b, args, Path(folder) / "final")

    print(f"\n| stage | epochs | seconds per epoch | relative to {sizes[-1]} px |")
    print("|---|---|---|---|")
    final_seconds = final_epoch[f"{sizes[-1]}px"]
    for size in sizes:
        seconds = per_epoch[f"{size}px"]
        print(f"| {size} px | {args.epochs} | {seconds:.2f} | {seconds / final_seconds:.3f} |")
    print(f"| {sizes[-1]} px only | {args.epochs * len(sizes)} | {final_seconds:.2f} | 1.000 |")
    steady_progressive = sum(per_epoch[f"{s}px"] * args.epochs for s in sizes)
    steady_final = final_seconds * args.epochs * len(sizes)
    print(f"\nTotal for {args.epochs * len(sizes)} epochs: progressive {progressive_wall:.1f} s wall "
          f"({steady_progressive:.1f} s without tracing), final size only {final_wall:.1f} s wall "
          f"({steady_final:.1f} s); final-only / progressive = {final_wall / progressive_wall:.2f}x wall, "
          f"{steady_final / steady_progressive:.2f}x without tracing")
    measured = [s for s in ORIGINAL_EPOCHS if f"{s}px" in per_epoch]
    if measured == list(ORIGINAL_EPOCHS):
        total = sum(ORIGINAL_EPOCHS[s] * per_epoch[f"{s}px"] for s in measured)
        at_final = sum(ORIGINAL_EPOCHS.values()) * per_epoch["256px"]
        print(f"The original's schedule (110 epochs) projected from these epochs: progressive {total / 3600:.2f} h, "
              f"all 110 at 256 px {at_final / 3600:.2f} h ({at_final / total:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
