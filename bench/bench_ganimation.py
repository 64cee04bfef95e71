"""GANimation training speed: the library's Keras and TensorLayer networks in the shared trainer, and optionally the
PyTorch original (vipermu/ganimation), all in one run, in real images per second of the 5:1 critic/generator
schedule.

One schedule cycle is 5 iterations of B real images: the library runs 4 critic-only steps and 1 critic-then-
generator step (`GANimationTrainer.train_step`, the steps training runs); the original runs `train_discriminator`
5 times and `train_generator` once (its `Solver.train` loop with n_critic 5). images/s = 5 B / (time of a cycle).
Cycles are interleaved across the frameworks, each going first in turn, so that a load change on a shared
machine hits them alike; the table gives the median per step and per cycle, and the ratios come from the
same run. The step times are of the steps alone: random tensors, no data pipeline, no logging.

`--reference PATH` is a checkout of vipermu/ganimation with torch installed. Its `solver.Solver` is built with
vipermu's defaults (conv dims 64, 6 residual blocks, 6 critic downs, lambda_cls 160, ...) at the same batch and
size; its steps run on random tensors (targets drawn as U(0, 1)). tensorboardX and torchvision, which its modules
import but the two steps never call, are stubbed when missing (torchvision's PyPI wheel does not load beside the
CPU torch wheel).

Memory: all three in one process peak at about 11 GB (two TF trainers with 53 M parameters and Adam state, and
torch); a run on a machine whose other jobs left less was killed by the OOM killer here. Drop a framework
(`--frameworks keras`) on a smaller machine; the ratios stay within one run.

    python bench/bench_ganimation.py [--cycles 3] [--batch-size 25] [--image-size 128] [--threads N] [--xla]
                                     [--frameworks keras,tensorlayer] [--reference /path/to/ganimation] [--parts]

`--parts` also times a critic step's two halves alone: G's forward that makes the fakes, and the critic's own work
(real and fake faces, the gradient penalty, the gradients), which shows where a framework gains or loses; and G's
forward in GFLOP/s beside this thread's float32 matrix product, which shows how much any framework could still gain.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.machine import describe_machine, time_calls  # noqa: E402

N_CRITIC = 5
NUM_AUS = 17
# What --frameworks can time: name -> (GANimationConfig.framework, mixed_precision).
LIBRARY_RUNNERS = {"keras": ("keras", False), "keras-bf16": ("keras", True), "tensorlayer": ("tensorlayer", False)}


class LibraryRunner:
    """The shared trainer's steps on one framework's networks (default widths unless --small)."""

    def __init__(self, name: str, batch: int, size: int, xla: bool, widths: dict):
        import tensorflow as tf

        from train.ganimation import GANimationConfig, GANimationTrainer

        self.name = name
        framework, mixed = LIBRARY_RUNNERS[name]
        config = GANimationConfig(framework=framework, img_size=size, batch_size=batch, lr_schedule="constant",
                                  n_critic=N_CRITIC, xla=xla, mixed_precision=mixed, **widths)
        self.trainer = GANimationTrainer(config)
        rng = np.random.default_rng(0)
        self.batch = (tf.constant(rng.uniform(-1, 1, (batch, size, size, 3)), tf.float32),
                      tf.constant(rng.uniform(0, 1, (batch, NUM_AUS)), tf.float32))
        self.parameters = sum(int(np.prod(v.shape)) for v in
                              list(self.trainer.nets.generator_variables) + list(self.trainer.nets.critic_variables))

    def _step(self, index: int) -> float:
        start = time.perf_counter()
        result = self.trainer.train_step(self.batch, 0, index, 1000)
        values = result.values if hasattr(result, "values") and not isinstance(result, dict) else result
        [float(v) for v in values.values()]  # waits for the step
        return time.perf_counter() - start

    def warm_up(self):
        self._step(0)
        self._step(1)

    def parts(self) -> dict:
        """A critic step's two halves, each timed alone: G's forward for the fakes, and the critic's own work (its
        loss on real and fake faces with the gradient penalty, and the gradients)."""
        import tensorflow as tf

        trainer, (images, aus) = self.trainer, self.batch
        iteration = tf.constant(1, tf.int64)
        targets = trainer._targets(aus, iteration, 0)
        forward = tf.function(lambda: trainer.nets.generator(images, targets, True)[0])
        fakes = forward()
        critic_work = tf.function(lambda: trainer._d_gradients_and_values(images, aus, iteration, fakes),
                                  jit_compile=trainer.config.xla)
        return {"generator forward": time_calls(lambda: forward().numpy()),
                "critic work": time_calls(lambda: [float(v) for v in critic_work()[1].values()])}

    def cycle(self) -> dict:
        """One 5:1 cycle: the critic-then-generator step (G's turn), then 4 critic-only steps."""
        both = self._step(0)
        critic = [self._step(i) for i in range(1, N_CRITIC)]
        return {"critic": statistics.median(critic), "critic_then_generator": both, "cycle": both + sum(critic)}


def _stub_missing(module_name: str, attributes: dict) -> bool:
    """Put a stand-in module for an import the timed code never calls; True if it was missing."""
    try:
        importlib.import_module(module_name)
        return False
    except Exception:  # noqa: BLE001 - torchvision fails with RuntimeError beside the CPU torch wheel
        parts = module_name.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name not in sys.modules or depth == len(parts):
                sys.modules[name] = types.ModuleType(name)
            if depth > 1:
                setattr(sys.modules[".".join(parts[:depth - 1])], parts[depth - 1], sys.modules[name])
        for key, value in attributes.items():
            setattr(sys.modules[module_name], key, value)
        return True


class ReferenceRunner:
    """vipermu/ganimation's own `train_discriminator` / `train_generator` on random tensors."""

    name = "reference"

    def __init__(self, path: Path, batch: int, size: int, widths: dict):
        import torch

        if not (path / "solver.py").is_file() or not (path / "model.py").is_file():
            raise SystemExit(f"--reference {path}: not a vipermu/ganimation checkout (no solver.py / model.py)")
        self.stubbed = [name for name, attrs in (("tensorboardX", {"SummaryWriter": object}),
                                                 ("torchvision.utils", {"save_image": None}))
                        if _stub_missing(name, attrs)]
        sys.path.insert(0, str(path))
        from solver import Solver

        solver = Solver.__new__(Solver)  # its __init__ wants a data loader and TensorBoard; the steps need neither
        solver.__dict__.update(
            c_dim=NUM_AUS, image_size=size, g_conv_dim=widths.get("g_conv_dim", 64),
            d_conv_dim=widths.get("d_conv_dim", 64), g_repeat_num=widths.get("g_repeat_num", 6),
            d_repeat_num=widths.get("d_repeat_num", 6), lambda_cls=160, lambda_rec=10, lambda_gp=10, lambda_sat=0.1,
            lambda_smooth=1e-4, g_lr=1e-4, d_lr=1e-4, beta1=0.5, beta2=0.999, batch_size=batch, use_virtual=False,
            alpha_rec=1, device="cpu", loss_visualization={})
        solver.build_model()
        generator = torch.Generator().manual_seed(0)
        solver.x_real = torch.rand(batch, 3, size, size, generator=generator) * 2 - 1
        solver.label_org = torch.rand(batch, NUM_AUS, generator=generator)
        solver.label_trg = torch.rand(batch, NUM_AUS, generator=generator)
        self.solver = solver
        self.parameters = sum(p.numel() for p in list(solver.G.parameters()) + list(solver.D.parameters()))
        self.version = f"torch {torch.__version__}, {torch.get_num_threads()} threads"

    def _time(self, step) -> float:
        start = time.perf_counter()
        step()
        return time.perf_counter() - start

    def warm_up(self):
        self.solver.train_discriminator()
        self.solver.train_generator()

    def parts(self) -> dict:
        """The halves of `train_discriminator`, each timed alone: G's forward as it makes it (autograd recording,
        then detached), and the critic's work on real, fake and interpolated faces with its own penalty."""
        import torch

        solver = self.solver
        real, targets = solver.x_real, solver.label_trg

        def forward():
            attention, colour = solver.G(real, targets)
            return solver.imFromAttReg(attention, colour, real).detach()

        fakes = forward()

        def critic_work():
            critic_real, aus_real = solver.D(real)
            critic_fake, _ = solver.D(fakes)
            alpha = torch.rand(real.size(0), 1, 1, 1)
            mixed = (alpha * real + (1 - alpha) * fakes).requires_grad_(True)
            penalty = solver.gradient_penalty(solver.D(mixed)[0], mixed)
            loss = (critic_fake.mean() - critic_real.mean()
                    + solver.lambda_cls * torch.nn.functional.mse_loss(aus_real, solver.label_org)
                    + solver.lambda_gp * penalty)
            solver.reset_grad()
            loss.backward()

        return {"generator forward": time_calls(forward), "critic work": time_calls(critic_work)}

    def cycle(self) -> dict:
        """vipermu's iteration: a critic step every iteration, a generator step after the 5th."""
        critic = [self._time(self.solver.train_discriminator) for _ in range(N_CRITIC)]
        generator = self._time(self.solver.train_generator)
        return {"critic": statistics.median(critic), "critic_then_generator": critic[-1] + generator,
                "cycle": sum(critic) + generator}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=3, help="timed 5:1 cycles per framework (default 3)")
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--frameworks", default="keras,tensorlayer",
                        help="library versions to time, comma-separated, from keras, keras-bf16 (Keras with "
                             "--mixed-precision) and tensorlayer (default keras,tensorlayer)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for every framework: TF's intra-op pool and torch.set_num_threads (default: "
                             "the CPU count). On a machine shared with other jobs use 1: torch's OpenMP threads wait "
                             "for each other when the cores are oversubscribed (10x slower steps seen here)")
    parser.add_argument("--xla", action="store_true", help="the library's steps XLA-compiled (config.xla)")
    parser.add_argument("--small", action="store_true",
                        help="widths 8 and 1 residual block / 3 downs at 32 px: a smoke run of the benchmark itself")
    parser.add_argument("--reference", type=Path, metavar="PATH",
                        help="a vipermu/ganimation checkout (torch installed): time its steps in the same run")
    parser.add_argument("--parts", action="store_true",
                        help="also time a critic step's halves alone, G's forward for the fakes and the critic's own "
                             "work (real, fake, gradient penalty, gradients), for every framework")
    args = parser.parse_args(argv)
    if args.cycles < 1 or args.batch_size < 1 or args.threads < 1:
        parser.error("--cycles, --batch-size and --threads must be >= 1")
    frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    unknown = sorted(set(frameworks) - set(LIBRARY_RUNNERS))
    if unknown:
        parser.error(f"--frameworks: unknown {unknown}; choose from {', '.join(LIBRARY_RUNNERS)}")
    widths, size = {}, args.image_size
    if args.small:
        widths, size = dict(g_conv_dim=8, d_conv_dim=8, g_repeat_num=1, d_repeat_num=3), 32

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.reference is not None:
        import torch

        torch.set_num_threads(args.threads)
    print(f"machine: {describe_machine()}; {args.threads} thread(s) per framework")
    print(f"tensorflow {tf.__version__}; batch {args.batch_size}, {size}x{size}, "
          f"{'reduced widths (--small)' if args.small else 'default widths'}, {N_CRITIC}:1 critic/generator, "
          f"{args.cycles} timed cycles each (medians){', XLA' if args.xla else ''}")
    runners = [LibraryRunner(f, args.batch_size, size, args.xla, widths) for f in frameworks]
    if args.reference is not None:
        runners.append(ReferenceRunner(args.reference.resolve(), args.batch_size, size, widths))
        print(f"reference: {args.reference} ({runners[-1].version}"
              f"{'; stubbed: ' + ', '.join(runners[-1].stubbed) if runners[-1].stubbed else ''})")
    for runner in runners:
        start = time.perf_counter()
        runner.warm_up()
        print(f"  {runner.name}: {runner.parameters:,} parameters, first steps (tracing) "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    timings = {runner.name: [] for runner in runners}
    for number in range(args.cycles):
        shift = number % len(runners)  # each framework goes first in turn: no fixed place in a load pattern
        for runner in runners[shift:] + runners[:shift]:
            timings[runner.name].append(runner.cycle())
            print(f"  cycle {number + 1} {runner.name}: {timings[runner.name][-1]['cycle']:.2f} s", flush=True)

    if args.parts:
        from bench.machine import conv_flops, matmul_gflops
        from models.ganimation import build_generator

        generator_gflop = args.batch_size * conv_flops(build_generator(size, 3, NUM_AUS, widths.get("g_conv_dim", 64),
                                                                       widths.get("g_repeat_num", 6))) / 1e9
        ceiling = matmul_gflops()
        print(f"\nA critic step's halves, each timed alone (median of 3); G's forward is {generator_gflop:.3g} GFLOP "
              f"of convolutions a batch (the same network in every framework), this thread's float32 matrix "
              f"product {ceiling:.0f} GFLOP/s:\n{'':12} {'G forward s':>12} {'GFLOP/s':>8} {'of matmul':>10} "
              f"{'critic work s':>14}")
        for runner in runners:
            parts = runner.parts()
            rate = generator_gflop / parts["generator forward"]
            print(f"{runner.name:12} {parts['generator forward']:12.3f} {rate:8.0f} {rate / ceiling:10.0%} "
                  f"{parts['critic work']:14.3f}", flush=True)

    images_per_cycle = N_CRITIC * args.batch_size
    rows = {}
    print(f"\n{'':12} {'critic step s':>14} {'critic+G step s':>16} {'5:1 cycle s':>12} {'images/s':>9}")
    for name, cycles in timings.items():
        median = {key: statistics.median(c[key] for c in cycles) for key in cycles[0]}
        rows[name] = images_per_cycle / median["cycle"]
        print(f"{name:12} {median['critic']:14.3f} {median['critic_then_generator']:16.3f} {median['cycle']:12.2f} "
              f"{rows[name]:9.2f}")
    print()
    if "keras" in rows and "tensorlayer" in rows:
        print(f"Keras / TensorLayer speed: {rows['keras'] / rows['tensorlayer']:.2f}x "
              f"(TensorLayer takes {rows['keras'] / rows['tensorlayer']:.2f}x Keras' time; target <= 1.25)")
    if "keras" in rows and "keras-bf16" in rows:
        print(f"Keras bfloat16 / Keras float32: {rows['keras-bf16'] / rows['keras']:.2f}x")
    if "reference" in rows:
        for name in frameworks:
            print(f"{name} / original: {rows[name] / rows['reference']:.2f}x "
                  f"({rows[name]:.2f} vs {rows['reference']:.2f} images/s; target for Keras >= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
