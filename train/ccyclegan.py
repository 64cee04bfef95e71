"""CCycleGAN trainer: the T24-T26 procedure of gtesei/ccyclegan on the shared loop.

Every iteration translates each real image to all the other classes (6 fakes per image for FER2013). D learns
real/fake and the expression of real images (an all-zero class target for fakes) on one batch of 7B images; every
`d_g_ratio` iterations G learns 2 x adversarial + 2 x expression + 1 x reconstruction (the T26 weights).

What changes no gradient is not computed (see docs/differences.md): G encodes each image once, not six times, and
reconstructs it once, not six times (the mean over six identical copies is the mean over one); the within-batch
shuffles of the original are dropped (a permutation of one batch leaves a mean loss and its gradient unchanged).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ccyclegan.data.pipeline import image_dataset, steps_per_epoch, unit_range_array
from ccyclegan.errors import UsageError
from ccyclegan.labels import FER_CLASSES
from ccyclegan.loop import LoopSettings, StepResult
from ccyclegan.losses import (
    attention_magnitude,
    attention_total_variation,
    mean_absolute_error,
    renormalised_sigmoid_cce,
    sigmoid_bce,
)
from ccyclegan.precision import MIXED_POLICY, dtype_policy
from ccyclegan.run import RunFolder, TrainingJob, fit
from ccyclegan.schedules import LR_SCHEDULES, learning_rate
from ccyclegan.steps import ReplicaSteps, float32_copies, generator_turn, global_mean, update_counts
from ccyclegan.viz import image_grid, mask_panel, plot_curves, rows_grid
from models.ccyclegan import DECODER_EDGES, ExpressionTranslator, build_ccyclegan, decode, discriminator_logits

# The CSV columns of the original t26 log, in order.
LOG_COLUMNS = ("epoch", "batch", "d_gan_loss", "d_gan_accuracy", "d_cl_loss", "d_cl_accuracy", "g_gan_loss",
               "g_cl_loss", "reconstr_loss")
SELF_REG_COLUMN = "self_reg_loss"  # logged after the original columns when the self-regularisation is on
MASK_COLUMNS = ("mask_mean", "mask_tv")  # logged with the attention head: mean A of the translations, its TV
G_STEP_VARIANTS = ("batched", "sequential")


@dataclass
class CCycleGANConfig:
    """Everything that defines a CCycleGAN run; the defaults are T26 at HEAD (the final model)."""

    d_gan_loss_w: float = 1
    d_cl_loss_w: float = 1
    g_gan_loss_w: float = 2
    g_cl_loss_w: float = 2
    rec_loss_w: float = 1
    # Not in the original (0 = off): SimGAN's self-regularisation, mean |G(x, t) - x| over the translations. T26's
    # "reconstruction" decodes x with its own label, so nothing else ties a translation to its input outside the
    # expression; this term keeps what the expression does not change (docs/differences.md).
    self_reg_w: float = 0
    adam_lr: float = 0.0002
    adam_beta_1: float = 0.5
    adam_beta_2: float = 0.999
    adam_epsilon: float = 1e-7  # Keras 2's default, which the original used
    lr_schedule: str = "constant"  # the original's; "linear-decay": constant, then linearly to 0 from lr_decay_start
    lr_decay_start: float = 0.5  # fraction of the run's updates after which "linear-decay" starts
    epochs: int = 170
    batch_size: int = 64
    sample_interval: int = 200
    d_g_ratio: int = 5  # t26/t27 use the default 5 of train(); t24/t25 used 1
    g_step: str = "batched"  # t25/t26: one G update on all 6B translations; "sequential": t24's six B-sized updates
    img_size: int = 48
    channels: int = 1
    num_classes: int = 7
    gf: int = 64
    df: int = 64
    num_layers: int = 4
    transform_layer: bool = True
    decoder_edge: str = "bias"  # the original's output_padding band; "replicate" fixes it (models/ccyclegan.py)
    # Not in the original: GANimation's attention head on G_dec, output = A * input + (1 - A) * colour, and its two
    # mask terms on the translations' masks: mask_w * mean(A) (keeps A from saturating to 1, i.e. no change) and
    # mask_smooth_w * total variation of A. Not on the reconstruction, whose ideal mask is all ones.
    attention_mask: bool = False
    mask_w: float = 0
    mask_smooth_w: float = 0
    class_activation: str = "sigmoid"
    flip: bool = True
    sampling: str = "epoch"  # "replacement" reproduces the original's np.random.choice batches
    seed: int = 0
    checkpoint_interval: int = 0  # 0: every sample_interval steps and at each epoch end
    log_style: str = "bar"
    xla: bool = False
    mixed_precision: bool = False  # bfloat16 compute, float32 weights; the exported generator is float32
    class_names: tuple = field(default_factory=lambda: FER_CLASSES)

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if not 0.0 <= self.lr_decay_start < 1.0:
            raise ValueError(f"lr_decay_start must be in [0, 1), got {self.lr_decay_start}")
        for name in ("self_reg_w", "mask_w", "mask_smooth_w"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if (self.mask_w or self.mask_smooth_w) and not self.attention_mask:
            raise ValueError("mask_w and mask_smooth_w weigh the attention mask; they need attention_mask=True "
                             "(--attention-mask)")
        if self.decoder_edge not in DECODER_EDGES:
            raise ValueError(f"decoder_edge must be one of {DECODER_EDGES}, got {self.decoder_edge!r}")
        if self.g_step not in G_STEP_VARIANTS:
            raise ValueError(f"g_step must be one of {G_STEP_VARIANTS}, got {self.g_step!r}")
        for name in ("epochs", "batch_size", "d_g_ratio", "num_classes", "gf", "df", "num_layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_classes < 2:
            raise ValueError("translation needs at least 2 classes")
        if self.sample_interval < 0:
            raise ValueError(f"sample_interval must be >= 0, got {self.sample_interval}")


def other_classes_table(num_classes: int) -> np.ndarray:
    """(C, C-1): row y lists the classes other than y in ascending order (the original's generate_new_labels_all)."""
    return np.array([[c for c in range(num_classes) if c != y] for y in range(num_classes)], dtype=np.int32)


class CCycleGANTrainer:
    """Owns the three networks, two Adam optimizers and the compiled D and G steps of one run.

    `total_steps` (the run's iterations) and `steps_per_epoch` are needed only by a learning-rate schedule other
    than "constant"; without them (e.g. when a checkpoint is opened to translate) the optimizers keep the initial
    rate.
    """

    def __init__(self, config: CCycleGANConfig, strategy: tf.distribute.Strategy | None = None,
                 total_steps: int | None = None, steps_per_epoch: int | None = None):
        self.config = config
        c = config
        self.steps = ReplicaSteps(strategy, xla=c.xla)
        self.strategy = self.steps.strategy
        keras.utils.set_random_seed(c.seed)  # the initial weights, like every other random choice, follow the seed
        with self.strategy.scope(), dtype_policy(MIXED_POLICY if c.mixed_precision else "float32"):
            self.encoder, self.decoder, self.discriminator = build_ccyclegan(**self._architecture)
            self.d_logits = discriminator_logits(self.discriminator)
            d_rate, g_rate = self._learning_rates(total_steps, steps_per_epoch)
            self.d_optimizer = keras.optimizers.Adam(d_rate, c.adam_beta_1, c.adam_beta_2, c.adam_epsilon)
            self.g_optimizer = keras.optimizers.Adam(g_rate, c.adam_beta_1, c.adam_beta_2, c.adam_epsilon)
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator_variables)
        self.others = tf.constant(other_classes_table(c.num_classes))
        self.global_batch = c.batch_size
        self._d_gradients = self.steps.gradients(self._d_gradients_and_values)
        self._g_gradients = self.steps.gradients(self._g_gradients_and_values)
        self._d_step = self.steps.distributed(self._d_replica_step)
        self._g_step = self.steps.distributed(self._g_replica_step)
        self._d_then_g_step = self.steps.distributed(self._d_then_g_replica_step)

    def _learning_rates(self, total_steps: int | None, steps_per_epoch: int | None):
        """D's and G's rates; a schedule counts each optimizer's own updates (G updates less often than D)."""
        c = self.config
        if c.lr_schedule == "constant" or total_steps is None:
            return c.adam_lr, c.adam_lr
        d_updates, g_updates = update_counts(total_steps, steps_per_epoch, c.d_g_ratio,
                                             c.num_classes - 1 if c.g_step == "sequential" else 1)
        return (learning_rate(c.lr_schedule, c.adam_lr, d_updates, c.lr_decay_start),
                learning_rate(c.lr_schedule, c.adam_lr, g_updates, c.lr_decay_start))

    @property
    def _architecture(self) -> dict:
        c = self.config
        return dict(img_size=c.img_size, channels=c.channels, num_classes=c.num_classes, gf=c.gf, df=c.df,
                    num_layers=c.num_layers, transform_layer=c.transform_layer, class_activation=c.class_activation,
                    decoder_edge=c.decoder_edge, attention_mask=c.attention_mask)

    @property
    def log_columns(self) -> tuple:
        return (LOG_COLUMNS + ((SELF_REG_COLUMN,) if self.config.self_reg_w > 0 else ())
                + (MASK_COLUMNS if self.config.attention_mask else ()))

    @property
    def generator_variables(self):
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    @property
    def networks(self) -> dict:
        """The networks by their checkpoint names (the one place these names are written)."""
        return {"G_enc": self.encoder, "G_dec": self.decoder, "D": self.discriminator}

    @property
    def optimizers(self) -> dict:
        return {"d": self.d_optimizer, "g": self.g_optimizer}

    @property
    def trackables(self) -> dict:
        """Everything the checkpoint holds: the networks and each optimizer (as `<name>_optimizer`)."""
        return {**self.networks, **{f"{name}_optimizer": opt for name, opt in self.optimizers.items()}}

    # -- the maths of one step, per replica --------------------------------------------------------------------------
    def _translation_targets(self, labels):
        """k-major targets of the (C-1) translations of a batch: [all images -> 1st other class, ..., -> last]."""
        others = tf.gather(self.others, tf.cast(labels, tf.int32))  # (b, C-1)
        return tf.one_hot(tf.reshape(tf.transpose(others), [-1]), self.config.num_classes)  # ((C-1) b, C)

    def _translate_all(self, images, features, labels, training, column=None):
        """Decode the encoder features of b images into their translations, encoding each image once.

        All (C-1) b translations, k-major, when `column` is None; else only those to the column-th other class.
        Returns (translations, attention masks or None, one-hot targets).
        """
        targets = self._translation_targets(labels)
        if column is None:
            copies = self.config.num_classes - 1
            features = [tf.tile(z, [copies, 1, 1, 1]) for z in features]
            images = tf.tile(images, [copies, 1, 1, 1])
        else:
            batch = tf.shape(labels)[0]
            targets = targets[column * batch:(column + 1) * batch]
        return (*decode(self.decoder, features, targets, images, training), targets)

    def _d_replica_step(self, images, labels):
        grads, values = self._d_gradients(images, labels)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        return values

    def _d_gradients_and_values(self, images, labels, fakes=None):
        """D's gradients on [reals, all their translations]; the translations are made here unless given."""
        c = self.config
        if fakes is None:
            fakes, _, _ = self._translate_all(images, self.encoder(images, training=False), labels, training=False)
        batch = tf.shape(images)[0]
        n_fake = tf.shape(fakes)[0]
        inputs = tf.concat([images, tf.stop_gradient(fakes)], axis=0)
        gan_targets = tf.concat([tf.ones([batch, 1]), tf.zeros([n_fake, 1])], axis=0)
        class_targets = tf.concat([tf.one_hot(labels, c.num_classes), tf.zeros([n_fake, c.num_classes])], axis=0)
        # Keras 2 averaged each output's loss over the 7B batch; here per replica: sum / global 7B.
        d_batch = self.global_batch * c.num_classes
        with tf.GradientTape() as tape:
            gan_logit, class_logits = self.d_logits(inputs, training=True)
            gan_loss = global_mean(sigmoid_bce(gan_targets, gan_logit), d_batch)
            cl_loss = global_mean(sigmoid_bce(class_targets, class_logits), d_batch)
            total = c.d_gan_loss_w * gan_loss + c.d_cl_loss_w * cl_loss
        grads = tape.gradient(total, self.discriminator.trainable_variables)
        # Keras 2's metrics=['accuracy'] on these BCE outputs is binary accuracy (element-wise, threshold 0.5).
        gan_acc = global_mean(tf.equal(tf.cast(gan_logit > 0, tf.float32), gan_targets), d_batch)
        cl_acc = global_mean(tf.reduce_mean(
            tf.cast(tf.equal(tf.cast(class_logits > 0, tf.float32), class_targets), tf.float32), axis=1), d_batch)
        return grads, {"d_loss": total, "d_gan_loss": gan_loss, "d_cl_loss": cl_loss,
                       "d_gan_accuracy": 100.0 * gan_acc, "d_cl_accuracy": 100.0 * cl_acc}

    def _g_forward(self, images, labels, column=None):
        """The generator's part of a G step: translations (all, or one target column) and reconstructions."""
        features = self.encoder(images, training=True)
        fakes, masks, targets = self._translate_all(images, features, labels, training=True, column=column)
        reconstruction, _ = decode(self.decoder, features, tf.one_hot(labels, self.config.num_classes), images,
                                   training=True)
        return fakes, masks, targets, reconstruction

    def _g_losses(self, images, fakes, masks, targets, reconstruction):
        c = self.config
        gan_logit, class_logits = self.d_logits(fakes, training=False)
        fakes_per_image = tf.shape(fakes)[0] // tf.shape(images)[0]  # C-1, or 1 for one target column (T24)
        n_fake = self.global_batch * fakes_per_image
        gan_loss = global_mean(sigmoid_bce(tf.ones_like(gan_logit), gan_logit), n_fake)
        cl_loss = global_mean(renormalised_sigmoid_cce(targets, class_logits), n_fake)
        rec_loss = global_mean(mean_absolute_error(reconstruction, images), self.global_batch)
        total = c.g_gan_loss_w * gan_loss + c.g_cl_loss_w * cl_loss + c.rec_loss_w * rec_loss
        values = {"g_loss": total, "g_gan_loss": gan_loss, "g_cl_loss": cl_loss, "reconstr_loss": rec_loss}
        if c.self_reg_w > 0:  # fakes are k-major, so the inputs repeat as whole batches
            inputs = tf.tile(images, [fakes_per_image, 1, 1, 1])
            self_reg = global_mean(mean_absolute_error(fakes, inputs), n_fake)
            total += c.self_reg_w * self_reg
            values.update(g_loss=total, **{SELF_REG_COLUMN: self_reg})
        if masks is not None:
            mask_mean = global_mean(attention_magnitude(masks), n_fake)
            mask_tv = global_mean(attention_total_variation(masks), n_fake)
            total += c.mask_w * mask_mean + c.mask_smooth_w * mask_tv
            values.update(g_loss=total, mask_mean=mask_mean, mask_tv=mask_tv)
        return total, values

    def _g_replica_step(self, images, labels, column=None):
        grads, values = self._g_gradients(images, labels, column)
        self.g_optimizer.apply_gradients(zip(grads, self.generator_variables))
        return values

    def _g_gradients_and_values(self, images, labels, column=None):
        with tf.GradientTape() as tape:
            total, values = self._g_losses(images, *self._g_forward(images, labels, column))
        return tape.gradient(total, self.generator_variables), values

    def _d_then_g_replica_step(self, images, labels):
        """A D update then a G update from one generator forward pass.

        The D step's translations are exactly the G step's (G does not change in between), so they are made once:
        the G tape records them, D trains on them (no gradient to G), and the tape resumes for G's losses, which
        see the updated D as in the original order.
        """
        with tf.GradientTape() as g_tape:
            fakes, masks, targets, reconstruction = self._g_forward(images, labels)
        d_grads, d_values = self._d_gradients_and_values(images, labels, tf.stop_gradient(fakes))
        self.d_optimizer.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        with g_tape:
            total, g_values = self._g_losses(images, fakes, masks, targets, reconstruction)
        g_grads = g_tape.gradient(total, self.generator_variables)
        self.g_optimizer.apply_gradients(zip(g_grads, self.generator_variables))
        return {**d_values, **g_values}

    # -- what the loop calls -----------------------------------------------------------------------------------------
    def train_step(self, batch, epoch: int, batch_index: int):
        """One iteration: a D update, then a G update on G's turns (batch_index % d_g_ratio == 0). As the original,
        only G turns are logged; D-only iterations return their values unlogged, for the loop's non-finite guard."""
        images, labels = batch
        if not generator_turn(batch_index, self.config.d_g_ratio):
            return StepResult(self._d_step(images, labels), log=False)
        if self.config.g_step == "sequential":
            values = {**self._d_step(images, labels), **self._sequential_g_steps(images, labels)}
        elif self.config.xla:  # XLA compiles the D and G gradients as two separate functions
            values = {**self._d_step(images, labels), **self._g_step(images, labels)}
        else:
            values = self._d_then_g_step(images, labels)
        return {k: values[k] for k in self.log_columns[2:]}

    def _sequential_g_steps(self, images, labels):
        """T24: one B-sized G update per target column (6 for FER2013), unshuffled; the last one's losses are logged."""
        for column in range(self.config.num_classes - 1):
            values = self._g_step(images, labels, tf.constant(column))
        return values

    # -- using the generator -----------------------------------------------------------------------------------------
    def translator(self) -> ExpressionTranslator:
        """The generator as one model (image, one-hot target) -> image, built so that it saves with its weights.

        Always float32: after mixed-precision training the weights (float32 already) go into float32 copies.
        """
        c = self.config
        encoder, decoder = self.encoder, self.decoder
        if c.mixed_precision:
            encoder, decoder = float32_copies(lambda: build_ccyclegan(**self._architecture)[:2], (encoder, decoder))
        model = ExpressionTranslator(encoder, decoder, class_names=c.class_names, name="ccyclegan_generator")
        model([tf.zeros([1, c.img_size, c.img_size, c.channels]), tf.zeros([1, c.num_classes])])
        return model

    def discriminator_test_accuracy(self, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                                    n: int = 64) -> tuple[float, float]:
        """The original's test-time D check: `n` held-out uint8 images drawn with replacement (no flip); the share
        D calls real (all are), and the accuracy of the argmax of its class head."""
        index = rng.integers(len(images), size=n)
        gan_prob, class_prob = self.discriminator(unit_range_array(images[index]), training=False)
        real = float(np.mean(np.asarray(gan_prob, np.float32).reshape(-1) > 0.5))
        expression = float(np.mean(np.argmax(np.asarray(class_prob, np.float32), axis=1) == labels[index]))
        return real, expression

    def translate_to_all(self, images: np.ndarray, labels: np.ndarray):
        """(B, H, W, C) in [-1, 1] -> fakes ((C-1)B, ...) k-major, reconstructions (B, ...), and the fakes' attention
        masks ((C-1)B, H, W, 1) or None without the attention head."""
        images = tf.convert_to_tensor(images, tf.float32)
        features = self.encoder(images, training=False)
        fakes, masks, _ = self._translate_all(images, features, tf.constant(labels), training=False)
        reconstruction, _ = decode(self.decoder, features, tf.one_hot(labels, self.config.num_classes), images)
        return fakes.numpy(), reconstruction.numpy(), None if masks is None else masks.numpy()

    def sample_grid(self, image: np.ndarray, label: int) -> np.ndarray:
        """The original's 2x4 grid: Orig, the translations to every other class (ascending), Reconstr.; with the
        attention head each row of translations has a row of their masks under it (4x4)."""
        fakes, reconstruction, masks = self.translate_to_all(image[None], np.array([label]))
        rows, titles = sample_grid_rows(image, label, fakes, reconstruction[0], masks, self.config.class_names)
        if masks is None:
            return image_grid([p for row in rows for p in row], [t for row in titles for t in row], rows=2)
        return rows_grid(rows, panel_titles=titles)


def sample_grid_rows(image, label: int, fakes, reconstruction, masks, class_names) -> tuple[list, list]:
    """The panels and titles of the sample grid, row by row: [Orig, first half of the translations], [second half,
    Reconstr.] as the original's 2x4 grid; with masks, each translation row is followed by a row of its masks, each
    mask in its translation's column."""
    others = other_classes_table(len(class_names))[label]
    panels = [image, *fakes, reconstruction]
    titles = [f"Orig:{class_names[label]}"] + [f"Trans:{class_names[k]}" for k in others] + ["Reconstr."]
    half = len(panels) // 2
    rows, row_titles = [panels[:half], panels[half:]], [titles[:half], titles[half:]]
    if masks is None:
        return rows, row_titles
    mask_panels = [None, *(mask_panel(m) for m in masks), None]  # no mask under Orig and Reconstr.
    mask_titles = [None, *(f"Mask:{class_names[k]}" for k in others), None]
    return ([rows[0], mask_panels[:half], rows[1], mask_panels[half:]],
            [row_titles[0], mask_titles[:half], row_titles[1], mask_titles[half:]])


def plot_training_log(rows: list[dict], steps_per_epoch: int, path: Path) -> Path | None:
    """The losses of the CSV log (and the mean attention mask) against the step, as a PNG (nothing to plot without
    logged rows)."""
    if not rows:
        return None
    steps = [int(r["epoch"]) * steps_per_epoch + int(r["batch"]) for r in rows]
    names = [n for n in ("d_gan_loss", "d_cl_loss", "g_gan_loss", "g_cl_loss", "reconstr_loss", SELF_REG_COLUMN,
                         MASK_COLUMNS[0]) if n in rows[0]]
    losses = {name: [float(r[name]) for r in rows] for name in names}
    return plot_curves(losses, steps, "step", path, title="CCycleGAN training losses")


def original_log_line(row: dict, epochs: int, steps: int, started: float | None = None) -> str:
    """The t26 console line, with the same figures and formats (truncated integer percentages)."""
    elapsed = row.get("elapsed", 0.0 if started is None else time.time() - started)
    from datetime import timedelta

    return (
        f"[Epoch {row['epoch']}/{epochs}] [Batch {row['batch']}/{steps}] "
        f"[D_gan loss: {row['d_gan_loss']:f}, acc_gan: {int(row['d_gan_accuracy']):3d}%] "
        f"[D_cl loss: {row['d_cl_loss']:f}, acc_cl: {int(row['d_cl_accuracy']):3d}%] "
        f"[G_gan loss: {row['g_gan_loss']:05f}, G_cl: {row['g_cl_loss']:05f}, recon: {row['reconstr_loss']:05f}] "
        f"time: {timedelta(seconds=elapsed)} "
    )


def resumable_fields(config: CCycleGANConfig) -> tuple:
    """Config fields a resumed run may change: its length (unless a schedule spans it) and how it reports."""
    length = ("epochs",) if config.lr_schedule == "constant" else ()
    return (*length, "log_style", "sample_interval", "checkpoint_interval", "xla")


TENSORBOARD_TAGS = {"reconstr_loss": "g/reconstr_loss", SELF_REG_COLUMN: "g/self_reg_loss",
                    MASK_COLUMNS[0]: "g/mask_mean", MASK_COLUMNS[1]: "g/mask_tv"}


def train(config: CCycleGANConfig, train_images: np.ndarray, train_labels: np.ndarray, run_dir: str | Path, *,
          sample_images: np.ndarray | None = None, sample_labels: np.ndarray | None = None,
          max_steps: int | None = None, resume: bool = False, strategy: tf.distribute.Strategy | None = None,
          context: dict | None = None) -> tuple[CCycleGANTrainer, dict]:
    """Train on uint8 (N, H, W, C) images with int labels; write everything into `run_dir` (see ccyclegan.run).

    Sample grids use `sample_images` (held-out, e.g. PublicTest) when given, else the training images. `context`
    (dataset, data path, strategy, ...) goes into config.json beside the config.
    """
    try:  # everything is checked before the run folder is created
        spe = steps_per_epoch(len(train_images), config.batch_size)
        settings = LoopSettings(
            epochs=config.epochs, steps_per_epoch=spe, max_steps=max_steps,
            sample_interval=config.sample_interval,
            checkpoint_interval=config.checkpoint_interval or config.sample_interval,
            log_style=config.log_style,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    run = RunFolder(Path(run_dir), config, context or {}, resume=resume, resumable=resumable_fields(config),
                    strategy=strategy)
    run.prepare()
    trainer = CCycleGANTrainer(config, strategy, total_steps=settings.total_steps, steps_per_epoch=spe)

    def epoch_data(epoch: int):
        dataset = image_dataset(train_images, train_labels.astype(np.int32), batch_size=config.batch_size,
                                flip=config.flip, seed=config.seed * 100_003 + epoch, repeat=False,
                                sampling=config.sampling)
        if config.sampling == "replacement":
            dataset = dataset.take(spe)
        return trainer.strategy.experimental_distribute_dataset(dataset)

    pool_images = train_images if sample_images is None else sample_images
    pool_labels = train_labels if sample_labels is None else sample_labels

    def sample(epoch: int, batch_index: int) -> np.ndarray:
        if config.log_style == "original":  # the original's D check on held-out images at every sample interval
            real, expression = trainer.discriminator_test_accuracy(
                pool_images, np.asarray(pool_labels), np.random.default_rng([config.seed, epoch, batch_index, 1]))
            print("*** TEST *** [D_gan accuracy   :", real, "] [D_cl accuracy :", expression, "]", flush=True)
        index = np.random.default_rng([config.seed, epoch, batch_index]).integers(len(pool_images))
        image = unit_range_array(pool_images[index])
        return trainer.sample_grid(image, int(pool_labels[index]))

    def finish(out: Path, rows: list) -> dict:
        plot_training_log(rows, spe, out / "curves.png")
        return {"generator": str(out / "generator.keras")}

    job = TrainingJob(
        trackables=trainer.trackables, make_epoch_data=epoch_data, train_step=trainer.train_step,
        log_columns=trainer.log_columns, format_line=lambda row: original_log_line(row, config.epochs, spe),
        sample=sample, optimizers=trainer.optimizers, tags=TENSORBOARD_TAGS,
        exports=lambda: {"generator.keras": trainer.translator(), "discriminator.keras": trainer.discriminator},
        finish=finish,
    )
    summary = fit(job, settings, run, resume=resume)
    return trainer, summary
