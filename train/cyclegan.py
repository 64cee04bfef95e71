"""The two-domain CycleGAN family for UTKFace attributes (age 20s <-> 50s, gender, ethnicity), with progressive
training: `python train.py --family cyclegan --task age --schedule 48:15,64:25,96:30,128:20,256:20`.

The original (`../shared/reference/ganimation_cyclegan.md` part C): two ResNet generators G_AB, G_BA and two patch
discriminators D_A, D_B (`models.cyclegan`), least-squares adversarial loss, cycle L1 with weight 10, Adam 2e-4
(0.5, 0.999), one generator step then one discriminator step per batch, the discriminators judging the fakes of the
pre-update generators; an epoch is min(|A|, |B|) // batch batches. Its progressive schedule (48, 64, 96, 128 and
256 pixels) carried the weights from size to size because the networks are fully convolutional; here the schedule
is a run in stages of the shared loop (`ccyclegan.loop.Stage`): the stage is in the checkpoint, so `--resume`
continues in the right stage at the right size, and the Adam state and learning-rate schedule carry across stages.
Options add what the original lacked or left unused: an identity loss, a pool of past fakes, linear decay. The
differences are listed in docs/differences-cyclegan.md.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODES = ("train", "translate", "evaluate")
TASKS = ("age", "gender", "ethnicity")
GAN_LOSSES = ("lsgan", "bce", "hinge")
LR_SCHEDULES = ("constant", "linear-decay")
NETWORKS = ("G_AB", "G_BA", "D_A", "D_B")  # the checkpoint's names of the four networks
# The README's schedule (48x15, 64x25, 96x30, 128x20, 256x20 epochs) with the batch sizes the notebooks used at each
# size (the ethnicity notebook: 32, 18, 9, 5, 1; reference C.5).
DEFAULT_SCHEDULE = "48:15,64:25,96:30,128:20,256:20"
ORIGINAL_BATCH_SIZES = {48: 32, 64: 18, 96: 9, 128: 5, 256: 1}
ORIGINAL_LOAD_SIZE = 286  # the original resized every face to 286 px and cropped the stage's size from it
DEFAULT_LOAD_SCALE = ORIGINAL_LOAD_SIZE / 256  # the same jitter relative to each stage's size
SAMPLE_FACES = 3  # faces per domain in the sample grids


@dataclass(frozen=True)
class StageSpec:
    """One size of the progressive schedule: `epochs` epochs of `batch_size` images of `size` x `size` pixels."""

    size: int
    epochs: int
    batch_size: int

    def __str__(self) -> str:
        return f"{self.size}:{self.epochs}:{self.batch_size}"


def parse_schedule(text: str, batch_size: int | None = None) -> tuple[StageSpec, ...]:
    """`"48:15,64:25:18"` -> stages. A stage without its own batch size takes `batch_size`, else the original's batch
    at that size (48: 32, 64: 18, 96: 9, 128: 5, 256: 1), else 1. Sizes are multiples of 8; ValueError names the
    stage that is wrong."""
    from models.cyclegan import check_image_size

    stages = []
    for position, item in enumerate(str(text).split(","), start=1):
        parts = item.strip().split(":")
        if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"--schedule stage {position} {item.strip()!r}: expected size:epochs or "
                             f"size:epochs:batch with positive integers (e.g. 48:15 or 64:25:18)")
        size, epochs = int(parts[0]), int(parts[1])
        check_image_size(size, f"--schedule stage {position} size")
        batch = int(parts[2]) if len(parts) == 3 else (batch_size or ORIGINAL_BATCH_SIZES.get(size, 1))
        if epochs < 1 or batch < 1:
            raise ValueError(f"--schedule stage {position} {item.strip()!r}: epochs and batch size must be >= 1")
        stages.append(StageSpec(size, epochs, batch))
    return tuple(stages)


@dataclass
class CycleGANConfig:
    """Everything that defines a run (saved as config.json); validated on creation (ValueError names the field)."""

    task: str | None = "age"  # a named pair of domains; None with domain_a and domain_b
    domain_a: str | None = None  # a domain spec (`age>=20,age<=29`, `age=20-29`), replacing the task's A
    domain_b: str | None = None
    domain_names: tuple = ()  # filled by the trainer from the data: the judge's class names
    schedule: tuple = tuple(parse_schedule(DEFAULT_SCHEDULE))  # StageSpec per stage
    width: int = 64  # generator base filters (ngf)
    residual_blocks: int = 9
    d_width: int = 64  # discriminator base filters (ndf)
    gan_loss: str = "lsgan"
    cycle_weight: float = 10.0
    identity_weight: float = 0.0  # x cycle_weight, as junyanz's lambda_identity; the original had none
    pool_size: int = 0  # past fakes the discriminators see (50 in CycleGAN; the original built one but never used it)
    learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    lr_schedule: str = "constant"  # constant (the original: its decay never started) or linear-decay
    decay_start: float = 0.5  # linear-decay: fraction of all steps before the rate starts to fall
    load_scale: float = DEFAULT_LOAD_SCALE  # faces are resized to size * load_scale, then a random size crop
    load_size: int | None = None  # a fixed resize for every stage instead (the original: 286)
    flip: bool = True
    sample_interval: int = 0  # batches between sample grids (0: one at the start of each epoch)
    checkpoint_interval: int = 500  # steps between checkpoints (and at the end of every epoch)
    seed: int = 0
    log_style: str = "bar"

    def __post_init__(self):
        self.schedule = tuple(s if isinstance(s, StageSpec) else StageSpec(**s) if isinstance(s, dict) else
                              StageSpec(*s) for s in self.schedule)  # config.json holds dicts
        self.domain_names = tuple(self.domain_names)
        if not self.schedule:
            raise ValueError("schedule: at least one stage is needed")
        if self.task is not None and self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS} (or None with domain_a and domain_b), got {self.task!r}")
        if (self.domain_a is None) != (self.domain_b is None):
            raise ValueError("domain_a and domain_b go together: give both (they replace the task's domains) or "
                             "neither")
        if self.task is None and self.domain_a is None:
            raise ValueError("task is None: give domain_a and domain_b")
        from ccyclegan.data.utkface import parse_domain

        for name in ("domain_a", "domain_b"):
            if getattr(self, name) is not None:
                parse_domain(getattr(self, name))
        for name in ("width", "residual_blocks", "d_width"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        if self.gan_loss not in GAN_LOSSES:
            raise ValueError(f"gan_loss must be one of {GAN_LOSSES}, got {self.gan_loss!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        for name in ("cycle_weight", "identity_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.learning_rate <= 0 or not (0 <= self.beta_1 < 1 and 0 <= self.beta_2 < 1):
            raise ValueError("learning_rate must be > 0 and beta_1, beta_2 in [0, 1)")
        if not 0 <= self.decay_start < 1:
            raise ValueError(f"decay_start must be in [0, 1), got {self.decay_start}")
        if self.pool_size < 0 or self.sample_interval < 0 or self.checkpoint_interval < 0:
            raise ValueError("pool_size, sample_interval and checkpoint_interval must be >= 0")
        if self.load_scale < 1:
            raise ValueError(f"load_scale must be >= 1 (the crop is taken from the resized face), got "
                             f"{self.load_scale}")
        if self.load_size is not None and self.load_size < max(s.size for s in self.schedule):
            raise ValueError(f"load_size {self.load_size} is smaller than the schedule's largest size "
                             f"{max(s.size for s in self.schedule)}")

    def load_size_of(self, size: int) -> int:
        """The side faces are resized to before the random crop of `size`."""
        return self.load_size if self.load_size is not None else max(size, int(round(size * self.load_scale)))

    @property
    def final_size(self) -> int:
        return self.schedule[-1].size


# --- the trainer ----------------------------------------------------------------------------------------------------


class FakePool:
    """CycleGAN's history of generated images (Shrivastava et al.): until full, each fake is stored and shown; then
    with probability 1/2 a fake replaces a random stored one, which the discriminator sees instead. The images live
    in variables of the stage's size (checkpointed, so resume is exact) and are cleared when the size changes."""

    def __init__(self, size: int, name: str):
        import tensorflow as tf

        self.size = size
        self.images = tf.Variable(tf.zeros((size, 1, 1, 3)), shape=tf.TensorShape([size, None, None, 3]),
                                  trainable=False, name=f"{name}_images")
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name=f"{name}_count")

    def trackables(self, name: str) -> dict:
        return {f"{name}_images": self.images, f"{name}_count": self.count}

    def prepare(self, image_size: int) -> None:
        """Empty the pool unless it already holds images of `image_size` (a resumed run keeps its pool)."""
        import tensorflow as tf

        if tuple(tf.shape(self.images).numpy()[1:3]) != (image_size, image_size):
            self.images.assign(tf.zeros((self.size, image_size, image_size, 3)))
            self.count.assign(0)

    def query(self, fakes, seed):
        """The images the discriminator sees for this batch of fakes (same shape), updating the pool."""
        import tensorflow as tf

        shown = []
        draws = tf.random.stateless_uniform((fakes.shape[0], 2), seed=seed)
        for i in range(fakes.shape[0]):
            full = self.count >= self.size
            slot = tf.where(full, tf.minimum(tf.cast(draws[i, 1] * self.size, tf.int32), self.size - 1), self.count)
            old = self.images[slot]
            swap = tf.logical_and(full, draws[i, 0] > 0.5)
            shown.append(tf.where(swap, old, fakes[i]))
            keep_old = tf.logical_and(full, tf.logical_not(swap))
            self.images.scatter_nd_update([[slot]], tf.where(keep_old, old, fakes[i])[None])
            self.count.assign(tf.minimum(self.count + 1, self.size))
        return tf.stack(shown)


class CycleGANTrainer:
    """The four networks, their optimizers, the step and the per-stage data of one run."""

    def __init__(self, config: CycleGANConfig, strategy=None, total_steps: int = 1):
        import keras

        from ccyclegan.schedules import learning_rate
        from ccyclegan.steps import ReplicaSteps
        from models.cyclegan import build_discriminator, build_generator

        self.config = config
        self.steps = ReplicaSteps(strategy)
        c = config
        with self.steps.strategy.scope():
            self.G_AB = build_generator(c.width, c.residual_blocks, name="generator_ab")
            self.G_BA = build_generator(c.width, c.residual_blocks, name="generator_ba")
            self.D_A = build_discriminator(c.d_width, name="discriminator_a")
            self.D_B = build_discriminator(c.d_width, name="discriminator_b")
            self.optimizers = {}
            for name in NETWORKS:
                rate = learning_rate(c.lr_schedule, c.learning_rate, total_steps, c.decay_start)
                optimizer = keras.optimizers.Adam(rate, beta_1=c.beta_1, beta_2=c.beta_2, name=f"adam_{name}")
                optimizer.build(self.networks[name].trainable_variables)
                self.optimizers[name] = optimizer
            self.pools = {"pool_a": FakePool(c.pool_size, "pool_a"), "pool_b": FakePool(c.pool_size, "pool_b")} \
                if c.pool_size else {}
        self._step = self.steps.distributed(self._replica_step)

    @property
    def networks(self) -> dict:
        """The checkpoint's names of the networks (also what `restore_networks` restores)."""
        return {"G_AB": self.G_AB, "G_BA": self.G_BA, "D_A": self.D_A, "D_B": self.D_B}

    @property
    def trackables(self) -> dict:
        from ccyclegan.run import checkpoint_objects

        values = checkpoint_objects(self.networks, {name.lower(): o for name, o in self.optimizers.items()})
        for name, pool in self.pools.items():
            values.update(pool.trackables(name))
        return values

    def _replica_step(self, images_a, images_b, global_batch, seed):
        """One generator update, then one discriminator update on the fakes of the pre-update generators."""
        import tensorflow as tf

        from ccyclegan.losses import discriminator_adversarial_loss, generator_adversarial_loss, mean_absolute_error
        from ccyclegan.steps import global_mean

        c = self.config
        mode = c.gan_loss
        generators = self.G_AB.trainable_variables + self.G_BA.trainable_variables
        with tf.GradientTape() as tape:
            fake_b = self.G_AB(images_a, training=True)
            fake_a = self.G_BA(images_b, training=True)
            cycle_a = self.G_BA(fake_b, training=True)
            cycle_b = self.G_AB(fake_a, training=True)
            adv_ab = generator_adversarial_loss(mode, self.D_B(fake_b, training=True))
            adv_ba = generator_adversarial_loss(mode, self.D_A(fake_a, training=True))
            cycle = mean_absolute_error(images_a, cycle_a) + mean_absolute_error(images_b, cycle_b)
            per_example = adv_ab + adv_ba + c.cycle_weight * cycle
            identity = tf.zeros_like(cycle)
            if c.identity_weight:
                identity = (mean_absolute_error(images_b, self.G_AB(images_b, training=True))
                            + mean_absolute_error(images_a, self.G_BA(images_a, training=True)))
                per_example += c.identity_weight * c.cycle_weight * identity
            g_loss = global_mean(per_example, global_batch)
        gradients = tape.gradient(g_loss, generators)
        split = len(self.G_AB.trainable_variables)
        self.optimizers["G_AB"].apply_gradients(zip(gradients[:split], self.G_AB.trainable_variables))
        self.optimizers["G_BA"].apply_gradients(zip(gradients[split:], self.G_BA.trainable_variables))

        shown_a, shown_b = fake_a, fake_b
        if self.pools:
            shown_a = self.pools["pool_a"].query(fake_a, seed)
            shown_b = self.pools["pool_b"].query(fake_b, seed + 1)
        d_values = {}
        for name, real, fake in (("D_A", images_a, shown_a), ("D_B", images_b, shown_b)):
            network = self.networks[name]
            with tf.GradientTape() as tape:
                on_real, on_fake = discriminator_adversarial_loss(mode, network(real, training=True),
                                                                  network(tf.stop_gradient(fake), training=True))
                loss = global_mean(0.5 * (on_real + on_fake), global_batch)
            self.optimizers[name].apply_gradients(zip(tape.gradient(loss, network.trainable_variables),
                                                      network.trainable_variables))
            d_values[name] = loss
        return {"g_loss": g_loss, "g_adv_ab": global_mean(adv_ab, global_batch),
                "g_adv_ba": global_mean(adv_ba, global_batch), "g_cycle_l1": global_mean(cycle / 2, global_batch),
                "g_identity_l1": global_mean(identity / 2, global_batch), "d_a_loss": d_values["D_A"],
                "d_b_loss": d_values["D_B"]}

    def train_step(self, batch, global_batch: int, seed):
        import tensorflow as tf

        images_a, images_b = batch
        return self._step(images_a, images_b, tf.constant(global_batch, tf.int32), seed)

    def translate(self, images: np.ndarray, direction: str = "a2b", batch_size: int = 64) -> np.ndarray:
        """float images in [-1, 1] (N, H, W, 3) of any size the networks take -> translations, float32 [-1, 1]."""
        network = {"a2b": self.G_AB, "b2a": self.G_BA}[direction]
        return translate_with(network, images, batch_size)


def translate_with(generator, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """A generator over float images in [-1, 1], in batches; float32 [-1, 1]."""
    outputs = [np.asarray(generator(images[i:i + batch_size], training=False)) for i in range(0, len(images),
                                                                                            batch_size)]
    return np.concatenate(outputs) if outputs else np.zeros((0, *images.shape[1:]), np.float32)


def resize_faces(images: np.ndarray, size: int, chunk: int = 256) -> np.ndarray:
    """uint8 faces (N, H, W, 3) -> (N, size, size, 3) uint8 (area-averaged down, bilinear up)."""
    import tensorflow as tf

    if images.shape[1:3] == (size, size):
        return images
    method = "area" if size < images.shape[1] else "bilinear"
    out = [tf.image.resize(images[i:i + chunk], (size, size), method=method).numpy() for i in range(0, len(images),
                                                                                                 chunk)]
    return np.clip(np.round(np.concatenate(out)), 0, 255).astype(np.uint8)


def _crop_batches(size: int, seed: int):
    """Map function over batched (a, b): a random `size` crop per face at an integer offset (crop_and_resize at
    exact pixel positions is a plain crop), from a stateless seed per batch."""
    import tensorflow as tf

    def crop(images, batch_seed):
        batch, load = tf.shape(images)[0], tf.shape(images)[1]
        if images.shape[1] == size:
            return images
        room = tf.cast(load - size + 1, tf.float32)
        offsets = tf.floor(tf.random.stateless_uniform((batch, 2), seed=batch_seed) * room)
        scale = tf.cast(load - 1, tf.float32)
        boxes = tf.concat([offsets / scale, (offsets + size - 1) / scale], axis=1)
        return tf.image.crop_and_resize(images, boxes, tf.range(batch), (size, size), method="bilinear")

    def apply(index, pair):
        images_a, images_b = pair
        return (crop(images_a, tf.stack([tf.cast(seed, tf.int64), 2 * index])),
                crop(images_b, tf.stack([tf.cast(seed, tf.int64), 2 * index + 1])))

    return apply


def train(config: CycleGANConfig, images_a: np.ndarray, images_b: np.ndarray, run_dir, *, strategy=None,
          max_steps: int | None = None, time_limit: float | None = None, resume: bool = False,
          context: dict | None = None) -> tuple:
    """Train on two domains of uint8 faces (N, H, W, 3), progressively over `config.schedule`; everything goes into
    `run_dir`. Returns (trainer, summary)."""
    import tensorflow as tf

    from ccyclegan.data.pipeline import steps_per_epoch, unit_range_array, unpaired_domains
    from ccyclegan.errors import UsageError
    from ccyclegan.loop import LoopSettings, Stage
    from ccyclegan.run import RunFolder, TrainingJob, fit
    from ccyclegan.viz import rows_grid

    for name, images in (("domain A", images_a), ("domain B", images_b)):
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise UsageError(f"{name}: expected uint8 RGB faces (N, H, W, 3), got {images.dtype} {images.shape}")
    smaller = min(len(images_a), len(images_b))
    stages = []
    for spec in config.schedule:
        try:
            stages.append(Stage(spec.epochs, steps_per_epoch(smaller, spec.batch_size), f"{spec.size}px"))
        except ValueError:
            raise UsageError(f"stage {spec.size}px: the smaller domain has {smaller} faces, no full batch of "
                             f"{spec.batch_size}; lower its batch size in --schedule") from None
    if strategy is not None and strategy.num_replicas_in_sync > 1:
        if config.pool_size:
            raise UsageError("--pool-size needs one device (the pool is one history, not one per replica)")
        for spec in config.schedule:
            if spec.batch_size % strategy.num_replicas_in_sync:
                raise UsageError(f"stage {spec.size}px: batch {spec.batch_size} does not split over "
                                 f"{strategy.num_replicas_in_sync} replicas")
    # Without an interval, one grid at the start of each epoch (batch 0 of every stage's epochs).
    interval = config.sample_interval or max(s.steps_per_epoch for s in stages)
    settings = LoopSettings.staged(stages, max_steps=max_steps, time_limit=time_limit, sample_interval=interval,
                                   checkpoint_interval=config.checkpoint_interval, log_style=config.log_style)
    run = RunFolder(Path(run_dir), config, context or {}, resume=resume, resumable=("log_style",),
                    strategy=strategy)
    run.prepare()  # validated before anything is created
    import keras

    keras.utils.set_random_seed(config.seed)
    trainer = CycleGANTrainer(config, strategy, total_steps=settings.planned_steps)
    current: dict = {}

    def on_stage_start(index: int) -> None:
        spec = config.schedule[index]
        load = config.load_size_of(spec.size)
        current.update(spec=spec, a=resize_faces(images_a, load), b=resize_faces(images_b, load))
        shown = [resize_faces(images[:SAMPLE_FACES], spec.size) for images in (images_a, images_b)]
        current["samples"] = [unit_range_array(s) for s in shown]
        for pool in trainer.pools.values():
            pool.prepare(spec.size)
        print(f"Stage {index + 1} of {len(config.schedule)}: {spec.size}x{spec.size} px (faces resized to {load} "
              f"and cropped), {spec.epochs} epochs of {stages[index].steps_per_epoch} batches of {spec.batch_size}")

    def epoch_data(epoch: int):
        spec = current["spec"]
        seed = config.seed * 1_000_003 + epoch * 7919
        dataset = unpaired_domains(current["a"], current["b"], batch_size=spec.batch_size, flip=config.flip,
                                   seed=seed)
        dataset = dataset.enumerate().map(_crop_batches(spec.size, seed), num_parallel_calls=tf.data.AUTOTUNE,
                                          deterministic=True)
        return trainer.steps.strategy.experimental_distribute_dataset(dataset)

    def train_step(batch, epoch: int, index: int):
        seed = tf.constant([config.seed, epoch * 100_003 + index], tf.int32)
        return trainer.train_step(batch, current["spec"].batch_size, seed)

    def sample(epoch: int, index: int) -> np.ndarray:
        rows, titles = [], []
        for real, forward, backward, name in ((current["samples"][0], trainer.G_AB, trainer.G_BA, "A"),
                                              (current["samples"][1], trainer.G_BA, trainer.G_AB, "B")):
            fake = translate_with(forward, real)
            cycle = translate_with(backward, fake)
            for i in range(len(real)):
                rows.append([real[i], fake[i], cycle[i]])
                titles.append(f"{name}{i}")
        return rows_grid(rows, row_titles=titles, column_titles=["input", "translated", "cycle"],
                         title=f"epoch {epoch} batch {index} ({current['spec'].size} px)", panel_inches=1.2)

    def exports():
        return {"generator_ab.keras": trainer.G_AB, "generator_ba.keras": trainer.G_BA}

    def finish(folder: Path, rows: list) -> dict:
        per_step = step_seconds(rows)
        return {"schedule": [str(s) for s in config.schedule],
                "seconds_per_epoch": {f"{config.schedule[i].size}px":
                                      per_step[i] * stages[i].steps_per_epoch for i in per_step}}

    job = TrainingJob(trackables=trainer.trackables, make_epoch_data=epoch_data, train_step=train_step,
                      log_columns=["g_loss", "g_adv_ab", "g_adv_ba", "g_cycle_l1", "g_identity_l1", "d_a_loss",
                                   "d_b_loss", "elapsed"],
                      sample=sample, optimizers={n.lower(): o for n, o in trainer.optimizers.items()},
                      tags={"d_a_loss": "d/a_loss", "d_b_loss": "d/b_loss"}, exports=exports, finish=finish,
                      on_stage_start=on_stage_start)
    summary = fit(job, settings, run, resume=resume)
    return trainer, summary


def step_seconds(rows: list) -> dict[int, float]:
    """The median seconds per step of each stage (index -> seconds) from a run's log rows: the differences of the
    `elapsed` column between consecutive steps of one stage (the first step of a stage, which traces the step
    function, and steps across a resume are left out)."""
    by_stage: dict[int, list] = {}
    previous = None
    for row in rows:
        elapsed, stage, step = float(row["elapsed"]), int(row.get("stage") or 0), int(row["step"])
        if previous is not None and previous[1] == stage and previous[2] == step - 1 and elapsed > previous[0]:
            by_stage.setdefault(stage, []).append(elapsed - previous[0])
        previous = (elapsed, stage, step)
    return {stage: float(np.median(deltas)) for stage, deltas in by_stage.items()}


# --- the train.py plug-in -------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(dataset="synthetic-utkface")
    group = parser.add_argument_group("cyclegan (--family cyclegan)")
    group.add_argument("--task", choices=TASKS, default="age",
                       help="the two domains: age (20s vs 50s, the original's), gender (male vs female) or ethnicity "
                            "(White vs Black) (default: %(default)s)")
    group.add_argument("--domain-a", metavar="SPEC", default=None,
                       help="domain A instead of the task's, e.g. 'age>=20,age<=29' or 'age=20-29' (with --domain-b)")
    group.add_argument("--domain-b", metavar="SPEC", default=None, help="domain B, e.g. 'age>=50,age<=59'")
    group.add_argument("--schedule", default=DEFAULT_SCHEDULE, metavar="SIZE:EPOCHS[:BATCH],...",
                       help="progressive training: image sizes (multiples of 8) and epochs, optionally a batch size "
                            "per stage; weights carry from size to size (default: %(default)s, batches 32, 18, 9, "
                            "5, 1 as the original; -batch_size sets the batch of stages that name none)")
    group.add_argument("--width", type=int, default=64, help="generator base filters (default 64)")
    group.add_argument("--residual-blocks", type=int, default=9, help="generator residual blocks (default 9)")
    group.add_argument("--d-width", type=int, default=64, help="discriminator base filters (default 64)")
    group.add_argument("--gan-loss", choices=GAN_LOSSES, default="lsgan", help="adversarial loss (default lsgan)")
    group.add_argument("--cycle-weight", type=float, default=10.0, help="cycle L1 weight (default 10)")
    group.add_argument("--identity-weight", type=float, default=0.0,
                       help="identity L1 weight as a fraction of the cycle weight (CycleGAN's 0.5; default 0: the "
                            "original had none)")
    group.add_argument("--pool-size", type=int, default=0,
                       help="past fakes shown to the discriminators (CycleGAN's 50; default 0: the original's pool "
                            "was never called)")
    group.add_argument("--learning-rate", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    group.add_argument("--beta-1", type=float, default=0.5, help="Adam beta_1 (default 0.5)")
    group.add_argument("--beta-2", type=float, default=0.999, help="Adam beta_2 (default 0.999)")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="constant",
                       help="constant (the original's) or linear-decay to 0 over the last part of all steps")
    group.add_argument("--decay-start", type=float, default=0.5,
                       help="linear-decay: the fraction of all steps before the rate falls (default 0.5)")
    group.add_argument("--load-scale", type=float, default=DEFAULT_LOAD_SCALE,
                       help="faces are resized to size x this, then randomly cropped to the size (default 286/256, "
                            "the original's jitter at 256 px)")
    group.add_argument("--load-size", type=int, default=None,
                       help="resize to this for every stage instead (286: the original, whose 48 px stage trained on "
                            "48 px patches of a 286 px face)")
    group.add_argument("--no-flip", action="store_true", help="no random left-right flips")
    group.add_argument("--sample-interval", type=int, default=0,
                       help="batches between sample grids (default 0: one at the start of each epoch)")
    group.add_argument("--checkpoint-interval", type=int, default=500,
                       help="steps between checkpoints, besides the end of every epoch (default 500)")
    group.add_argument("--direction", choices=("a2b", "b2a", "both"), default="both",
                       help="translate: which generator(s) to apply (default both)")
    group.add_argument("--chain", metavar="RUN", default=None,
                       help="translate: a second run (e.g. gender) applied after this one; the grid shows every "
                            "combination of directions")


def config_from_args(args: argparse.Namespace, domain_names: tuple = ()) -> CycleGANConfig:
    from ccyclegan.errors import UsageError

    if getattr(args, "epochs", None) is not None:
        raise UsageError("-epochs: this family's length is --schedule SIZE:EPOCHS,... (e.g. --schedule 64:10)")
    try:
        schedule = parse_schedule(args.schedule, getattr(args, "batch_size", None))
        explicit = args.domain_a is not None or args.domain_b is not None
        return CycleGANConfig(
            task=None if explicit else args.task, domain_a=args.domain_a, domain_b=args.domain_b,
            domain_names=domain_names, schedule=schedule, width=args.width, residual_blocks=args.residual_blocks,
            d_width=args.d_width, gan_loss=args.gan_loss, cycle_weight=args.cycle_weight,
            identity_weight=args.identity_weight, pool_size=args.pool_size, learning_rate=args.learning_rate,
            beta_1=args.beta_1, beta_2=args.beta_2, lr_schedule=args.lr_schedule, decay_start=args.decay_start,
            load_scale=args.load_scale, load_size=args.load_size, flip=not args.no_flip,
            sample_interval=args.sample_interval, checkpoint_interval=args.checkpoint_interval, seed=args.seed,
            log_style=args.log_style)
    except ValueError as error:
        raise UsageError(str(error)) from None


def load_domains(dataset: str, data, config: CycleGANConfig, *, synthetic_n=None, seed: int = 0, size=None):
    """The source's faces split into the config's domains (a `LoadedSource`; labels 0 = A, 1 = B)."""
    from ccyclegan.data.sources import load_source, source_spec
    from ccyclegan.errors import UsageError

    spec = source_spec(dataset)
    if spec.format != "utkface":
        raise UsageError(f"--dataset {dataset}: the cyclegan family translates between UTKFace domains; use "
                         f"--dataset synthetic-utkface (rendered on first use) or utkface (the real chips)")
    from ccyclegan.data.utkface import parse_domain

    options = {"task": config.task or "age"}
    if config.domain_a is not None:
        options.update(domain_a=parse_domain(config.domain_a), domain_b=parse_domain(config.domain_b))
        if not spec.synthetic:
            options["task"] = None
    if size is not None and size != spec.image_size:
        options["size"] = size
    try:
        return load_source(dataset, data, synthetic_n=synthetic_n, seed=seed, **options)
    except ValueError as error:
        raise UsageError(str(error)) from None


def read_size(config: CycleGANConfig, source_size: int) -> int:
    """The size faces are read at: the largest the schedule resizes to, at most the source's own (larger stages
    upscale when the stage starts)."""
    return min(source_size, max(config.load_size_of(s.size) for s in config.schedule))


def run(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import run_mode

    return run_mode(args, train_command, "train.cyclegan_use")


def train_command(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import default_run_dir, print_parameters, run_length
    from ccyclegan.data.sources import source_spec
    from ccyclegan.distribute import make_strategy
    from ccyclegan.errors import UsageError

    if getattr(args, "xla", False):
        raise UsageError("--xla: the cyclegan family changes its image size from stage to stage; drop --xla")
    config = config_from_args(args)
    size = read_size(config, source_spec(args.dataset).image_size)
    source = load_domains(args.dataset, args.data, config, synthetic_n=args.synthetic_n, seed=args.seed, size=size)
    config = dataclasses.replace(config, domain_names=tuple(source.class_names))
    train_split = source.train
    images_a, images_b = train_split.images_of(0), train_split.images_of(1)
    out = Path(args.out) if args.out else default_run_dir("cyclegan", args.experiment or config.task or "domains")
    print_parameters({**{k: v for k, v in dataclasses.asdict(config).items() if k != "schedule"},
                      "schedule": ", ".join(map(str, config.schedule)), "dataset": args.dataset, "out": str(out)})
    print(f"{args.dataset} ({source.path}): domain A {source.class_names[0]}: {len(images_a)} faces, domain B "
          f"{source.class_names[1]}: {len(images_b)} faces (read at {size} px); an epoch is "
          f"{min(len(images_a), len(images_b))} pairs")
    context = {"dataset": args.dataset, "data": str(source.path), "strategy": args.strategy,
               "data_options": {"read_size": size, "synthetic_n": args.synthetic_n}, "max_steps": args.max_steps}
    strategy = make_strategy(args.strategy, args.cpu_devices)
    _, summary = train(config, images_a, images_b, out, strategy=strategy, **run_length(args),
                       resume=args.resume, context=context)
    print(f"Done: {summary['steps']} steps in {summary['seconds']:.0f} s; generators in {out}")
    if args.evaluate_after:
        from train.cyclegan_use import evaluate_command

        summary["evaluation"] = evaluate_command(argparse.Namespace(**{**vars(args), "model": str(out)}))
    return summary


