"""CCycleGAN trainer: the T24-T26 procedure of gtesei/ccyclegan on the shared loop.

Every iteration translates each real image to all the other classes (6 fakes per image for FER2013). D learns
real/fake and the expression of real images (an all-zero class target for fakes) on one batch of 7B images; every
`d_g_ratio` iterations G learns 2 x adversarial + 2 x expression + 1 x reconstruction (the T26 weights).

What changes no gradient is not computed (see docs/differences.md): G encodes each image once, not six times, and
reconstructs it once, not six times (the mean over six identical copies is the mean over one); the within-batch
shuffles of the original are dropped (a permutation of one batch leaves a mean loss and its gradient unchanged).
"""

from __future__ import annotations

import dataclasses
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
    per_example_mean,
    renormalised_sigmoid_cce,
    sigmoid_bce,
    softmax_cce,
)
from ccyclegan.precision import MIXED_POLICY, dtype_policy
from ccyclegan.run import CriticAndGeneratorOptimizers, RunFolder, SplitGeneratorNetworks, TrainingJob, fit
from ccyclegan.schedules import LR_SCHEDULES
from ccyclegan.steps import ReplicaSteps, critic_and_generator_rates, float32_copies, generator_turn, global_mean
from ccyclegan.viz import image_grid, mask_panel, plot_curves, rows_grid
from models.ccyclegan import DECODER_EDGES, ExpressionTranslator, build_ccyclegan, decode, discriminator_logits

# The CSV columns of the original t26 log, in order.
LOG_COLUMNS = ("epoch", "batch", "d_gan_loss", "d_gan_accuracy", "d_cl_loss", "d_cl_accuracy", "g_gan_loss",
               "g_cl_loss", "reconstr_loss")
SELF_REG_COLUMN = "self_reg_loss"  # logged after the original columns when the self-regularisation is on
MASK_COLUMNS = ("mask_mean", "mask_tv")  # logged with the attention head: mean A of the translations, its TV
G_STEP_VARIANTS = ("batched", "sequential")
# The lineage (docs/lineage.md): which networks and step maths a run uses. "final": models.ccyclegan (T18-T27);
# "t17": T17's 'same'-padding split G and Dense(800) D; "unet": the single conditional U-Net G with a true cycle
# of T1-T16; "cyclegan": T4's unconditional two-domain CycleGAN.
ARCHITECTURES = ("final", "t17", "unet", "cyclegan")
TRANSLATIONS = ("all", "one")  # per real image: all C-1 other classes (T24+), or one random other class (T17-T23)
FAKE_CLASS_TARGETS = ("zero", "target", "unrelated")  # D's class target for fakes (see CCycleGANConfig)
ADVERSARIAL_LOSSES = ("bce", "lsgan")
# Settings only some architectures read; set to anything but its default elsewhere, one would be ignored without a
# word, so CCycleGANConfig refuses it. (The T1-T16 trainer's one G step per D step, a value it needs rather than a
# setting it ignores, is checked by make_trainer.)
ARCHITECTURE_FIELDS = {
    **dict.fromkeys(("num_layers", "transform_layer", "decoder_edge", "attention_mask", "mask_w", "mask_smooth_w"),
                    ("final",)),
    **dict.fromkeys(("self_reg_w", "translations", "fake_class_target", "class_activation", "lr_schedule",
                     "lr_decay_start", "g_step", "xla", "mixed_precision"), ("final", "t17")),
    **dict.fromkeys(("g_label", "g_extra_blocks", "d_label", "d_head", "resnet_weights", "adversarial_loss",
                     "g_adversarial_loss", "id_loss_w", "d_wrong_label", "d_update", "frozen_classifier",
                     "frozen_cl_loss_w"), ("unet", "cyclegan")),
    "domains": ("cyclegan",),
}
G_ADVERSARIAL_LOSSES = ("same", "mse")
D_UPDATES = ("joint", "per-group")
G_LABEL_PLACES = ("input", "concat-bottleneck", "multiply-bottleneck")
D_LABEL_PLACES = ("input", "after", "none")
D_HEADS = ("patch", "dense", "acgan", "resnet50")


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
    # -- the lineage's variants (docs/lineage.md); the defaults are T26's -------------------------------------------
    architecture: str = "final"  # see ARCHITECTURES
    translations: str = "all"  # T17-T23: "one" random other class per image, so D sees B reals and B fakes
    # D's class target for a fake: "zero" (T22+), "target" (T18-T21: its target class), "unrelated" (T17's bug: an
    # independent random other class, also G's class target, while the decoder is conditioned on the target)
    fake_class_target: str = "zero"
    # T1-T16 (architecture "unet"/"cyclegan"); rec_loss_w weighs the true cycle |G(G(x, t), y) - x| there
    g_label: str = "input"  # where the label enters G: see G_LABEL_PLACES
    g_extra_blocks: int = 0  # T12: two stride-1 blocks at the bottleneck
    d_label: str = "input"  # where the label enters D: see D_LABEL_PLACES
    d_head: str = "patch"  # see D_HEADS; "resnet50" is T6-T8's ImageNet ResNet50 D (C1's network)
    resnet_weights: str | None = None  # a local ResNet50 no-top weights file for d_head "resnet50"; None: random
    adversarial_loss: str = "bce"  # "lsgan": mse against 1/0 on D's linear output (T1, T2, T4, T5, T9-T16)
    g_adversarial_loss: str = "same"  # "mse": G's squared error of D's sigmoid probability against 1 (T6-T8)
    id_loss_w: float = 0  # identity loss |G(x, y) - x| (T1, T2, T4, T10-T16)
    d_wrong_label: bool = False  # D also learns (real image, wrong label) -> fake (T1-T3, T5, T6, T10-T14)
    d_update: str = "joint"  # "per-group": one D update per group, as T1's separate train_on_batch calls
    frozen_classifier: str | None = None  # T8: a classifier .keras (C2) whose softmax on the fake must be the target
    frozen_cl_loss_w: float = 0
    domains: tuple = (6, 3)  # T4: domain A, domain B (class indices; Neutral <-> Happy)

    def __post_init__(self):
        for name, choices in (("architecture", ARCHITECTURES), ("translations", TRANSLATIONS),
                              ("fake_class_target", FAKE_CLASS_TARGETS), ("adversarial_loss", ADVERSARIAL_LOSSES),
                              ("g_adversarial_loss", G_ADVERSARIAL_LOSSES), ("d_update", D_UPDATES),
                              ("g_label", G_LABEL_PLACES), ("d_label", D_LABEL_PLACES), ("d_head", D_HEADS),
                              ("class_activation", ("sigmoid", "softmax"))):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {choices}, got {getattr(self, name)!r}")
        for name in ("id_loss_w", "frozen_cl_loss_w", "g_extra_blocks"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if len(self.domains) != 2 or self.domains[0] == self.domains[1] or not all(
                0 <= d < self.num_classes for d in self.domains):
            raise ValueError(f"domains must be two different classes in 0..{self.num_classes - 1}, got {self.domains}")
        if self.d_head == "acgan" and self.d_label != "none":
            raise ValueError("the ACGAN head (T9) is on an unconditional D: use d_label 'none'")
        if self.d_head == "resnet50" and self.d_label != "input":
            raise ValueError("the ResNet50 D (T6-T8) takes the label beside the image: use d_label 'input'")
        self.domains = tuple(self.domains)  # config.json stores it as a list
        unused = [(name, getattr(self, name), users) for name, users in ARCHITECTURE_FIELDS.items()
                  if self.architecture not in users and getattr(self, name) != CCYCLEGAN_DEFAULTS[name]]
        if unused:
            raise ValueError(f"architecture {self.architecture!r} does not use " + "; ".join(
                f"{name}={value!r} (only {'/'.join(users)} does)" for name, value, users in unused)
                + (": leave it at its default" if len(unused) == 1 else ": leave them at their defaults"))
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


CCYCLEGAN_DEFAULTS = {f.name: f.default for f in dataclasses.fields(CCycleGANConfig)
                      if f.default is not dataclasses.MISSING}


def other_classes_table(num_classes: int) -> np.ndarray:
    """(C, C-1): row y lists the classes other than y in ascending order (the original's generate_new_labels_all)."""
    return np.array([[c for c in range(num_classes) if c != y] for y in range(num_classes)], dtype=np.int32)


def random_other_class(labels, num_classes: int) -> tf.Tensor:
    """One uniformly random class other than each label (int32): a random offset 1..C-1 added modulo C."""
    offset = tf.random.uniform(tf.shape(labels), 1, num_classes, dtype=tf.int32)
    return tf.math.floormod(tf.cast(labels, tf.int32) + offset, num_classes)


class CCycleGANTrainer(SplitGeneratorNetworks):
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
            self.encoder, self.decoder, self.discriminator = self._build_networks()
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
        return critic_and_generator_rates(c.lr_schedule, c.adam_lr, c.adam_lr, total_steps, steps_per_epoch,
                                          c.d_g_ratio, c.lr_decay_start,
                                          c.num_classes - 1 if c.g_step == "sequential" else 1)

    def _build_networks(self):
        """(G_enc, G_dec, D): the final model's (T18 on), or T17's 'same'-padding networks."""
        c = self.config
        if c.architecture == "t17":
            from models.lineage import build_t17

            return build_t17(c.img_size, c.channels, c.num_classes, c.gf, c.df, onehot_label=True)
        return build_ccyclegan(**self._architecture)

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

    # -- the maths of one step, per replica --------------------------------------------------------------------------
    def _translation_targets(self, labels):
        """k-major targets of the (C-1) translations of a batch: [all images -> 1st other class, ..., -> last]."""
        others = tf.gather(self.others, tf.cast(labels, tf.int32))  # (b, C-1)
        return tf.one_hot(tf.reshape(tf.transpose(others), [-1]), self.config.num_classes)  # ((C-1) b, C)

    def _random_other_classes(self, labels):
        """One uniformly random class other than each label (the original's generate_new_labels), one-hot."""
        return tf.one_hot(random_other_class(labels, self.config.num_classes), self.config.num_classes)

    def _fake_class_targets(self, targets):
        """D's class target for each fake (and, for T17's "unrelated", G's too): see CCycleGANConfig."""
        if self.config.fake_class_target == "zero":
            return tf.zeros_like(targets)
        if self.config.fake_class_target == "target":
            return targets
        return self._random_other_classes(tf.argmax(targets, axis=-1, output_type=tf.int32))

    def _class_loss_d(self, targets, logits):
        """D's class loss per example: BCE on sigmoids (T21+), softmax cross-entropy before."""
        if self.config.class_activation == "sigmoid":
            return sigmoid_bce(targets, logits)
        return softmax_cce(targets, logits)

    def _class_loss_g(self, targets, logits):
        """G's class loss per example: categorical cross-entropy on D's (renormalised) sigmoids or its softmax."""
        if self.config.class_activation == "sigmoid":
            return renormalised_sigmoid_cce(targets, logits)
        return softmax_cce(targets, logits)

    def _translate_all(self, images, features, labels, training, column=None, every_class=False):
        """Decode the encoder features of b images into their translations, encoding each image once.

        All (C-1) b translations, k-major, when `column` is None; else only those to the column-th other class;
        with translations "one" (T17-T23), one translation per image to a random other class.
        Returns (translations, attention masks or None, one-hot targets).
        """
        if self.config.translations == "one" and not every_class:
            targets = self._random_other_classes(labels)
            return (*decode(self.decoder, features, targets, images, training), targets)
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

    def _d_gradients_and_values(self, images, labels, fakes=None, fake_class_targets=None):
        """D's gradients on [reals, their translations]; the translations are made here unless given."""
        c = self.config
        if fakes is None:
            fakes, _, targets = self._translate_all(images, self.encoder(images, training=False), labels,
                                                    training=False)
            fake_class_targets = self._fake_class_targets(targets)
        batch = tf.shape(images)[0]
        n_fake = tf.shape(fakes)[0]
        inputs = tf.concat([images, tf.stop_gradient(fakes)], axis=0)
        gan_targets = tf.concat([tf.ones([batch, 1]), tf.zeros([n_fake, 1])], axis=0)
        if fake_class_targets is None:
            fake_class_targets = tf.zeros([n_fake, c.num_classes])
        class_targets = tf.concat([tf.one_hot(labels, c.num_classes), fake_class_targets], axis=0)
        # Keras 2 averaged each output's loss over the 7B batch (2B with one translation per image); here per
        # replica: sum / global 7B.
        d_batch = self.global_batch * (2 if c.translations == "one" else c.num_classes)
        with tf.GradientTape() as tape:
            gan_logit, class_logits = self.d_logits(inputs, training=True)
            gan_loss = global_mean(sigmoid_bce(gan_targets, gan_logit), d_batch)
            cl_loss = global_mean(self._class_loss_d(class_targets, class_logits), d_batch)
            total = c.d_gan_loss_w * gan_loss + c.d_cl_loss_w * cl_loss
        grads = tape.gradient(total, self.discriminator.trainable_variables)
        # Keras 2's metrics=['accuracy'] on these BCE outputs is binary accuracy (element-wise, threshold 0.5).
        gan_acc = global_mean(tf.equal(tf.cast(gan_logit > 0, tf.float32), gan_targets), d_batch)
        class_predictions = (class_logits > 0 if c.class_activation == "sigmoid"
                             else tf.one_hot(tf.argmax(class_logits, axis=-1), c.num_classes) > 0)
        cl_acc = global_mean(tf.reduce_mean(
            tf.cast(tf.equal(tf.cast(class_predictions, tf.float32), class_targets), tf.float32), axis=1), d_batch)
        return grads, {"d_loss": total, "d_gan_loss": gan_loss, "d_cl_loss": cl_loss,
                       "d_gan_accuracy": 100.0 * gan_acc, "d_cl_accuracy": 100.0 * cl_acc}

    def _g_forward(self, images, labels, column=None):
        """The generator's part of a G step: translations (all, or one target column) and reconstructions."""
        features = self.encoder(images, training=True)
        fakes, masks, targets = self._translate_all(images, features, labels, training=True, column=column)
        reconstruction, _ = decode(self.decoder, features, tf.one_hot(labels, self.config.num_classes), images,
                                   training=True)
        if self.config.fake_class_target == "unrelated":  # T17: G's class target is D's unrelated label too
            targets = self._fake_class_targets(targets)
        return fakes, masks, targets, reconstruction

    def _g_losses(self, images, fakes, masks, targets, reconstruction):
        c = self.config
        gan_logit, class_logits = self.d_logits(fakes, training=False)
        fakes_per_image = tf.shape(fakes)[0] // tf.shape(images)[0]  # C-1, or 1 for one target column (T24)
        n_fake = self.global_batch * fakes_per_image
        gan_loss = global_mean(sigmoid_bce(tf.ones_like(gan_logit), gan_logit), n_fake)
        cl_loss = global_mean(self._class_loss_g(targets, class_logits), n_fake)
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
        # "target": the fakes' own targets; "unrelated" (T17): the ones _g_forward drew for G, which D shares
        fake_class_targets = None if self.config.fake_class_target == "zero" else targets
        d_grads, d_values = self._d_gradients_and_values(images, labels, tf.stop_gradient(fakes),
                                                         fake_class_targets)
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
            encoder, decoder = float32_copies(lambda: self._build_networks()[:2], (encoder, decoder))
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
        fakes, masks, _ = self._translate_all(images, features, tf.constant(labels), training=False, every_class=True)
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


# -- T1-T16: the single conditional U-Net G with a true cycle, and T4's two-domain CycleGAN --------------------------
UNET_LOG_COLUMNS = ("epoch", "batch", "d_loss", "d_accuracy", "g_loss", "g_adv_loss", "g_cycle_loss", "g_id_loss")
ACGAN_COLUMNS = ("d_cl_loss", "g_cl_loss")  # T9's 8-way head
FROZEN_COLUMN = "g_frozen_cl_loss"  # T8's frozen classifier


def _probability_logit(probability):
    """The logit of a sigmoid output (T6-T8's ResNet50 D ends in a sigmoid), clipped as Keras' BCE clips."""
    p = tf.clip_by_value(tf.cast(probability, tf.float32), 1e-7, 1.0 - 1e-7)
    return tf.math.log(p) - tf.math.log1p(-p)


class LineageUNetTrainer(CriticAndGeneratorOptimizers):
    """T1-T16 (architecture "unet") and T4 ("cyclegan"): the original's Keras-GAN U-Net era, on the shared loop.

    "unet": one conditional G(label, image); D learns (true label, real) -> real, optionally (wrong label, real) ->
    fake, and (target label, fake) -> fake, in one joint update or one update per group (T1's three calls);
    G learns g_gan_loss_w x adversarial + rec_loss_w x |G(y, G(t, x)) - x| (a true cycle) + id_loss_w x
    |G(y, x) - x|, plus T9's class loss on an (C+1)-way ACGAN head or T8's frozen classifier. "cyclegan": G_AB,
    G_BA, D_A, D_B between two classes, each D updated on reals then fakes, as Keras-GAN's CycleGAN.
    """

    def __init__(self, config: CCycleGANConfig, strategy: tf.distribute.Strategy | None = None,
                 total_steps: int | None = None, steps_per_epoch: int | None = None):
        from models import lineage

        self.config = c = config
        self.steps = ReplicaSteps(strategy)
        self.strategy = self.steps.strategy
        self.cyclegan = c.architecture == "cyclegan"
        keras.utils.set_random_seed(c.seed)
        with self.strategy.scope():
            if self.cyclegan:
                make_g = lambda name: lineage.build_unet_generator(  # noqa: E731
                    c.img_size, c.channels, c.num_classes, c.gf, "none", c.g_extra_blocks, name=name)
                make_d = lambda name: lineage.build_patch_discriminator(  # noqa: E731
                    c.img_size, c.channels, c.num_classes, c.df, "none", "patch", name=name)
                self.generators = {"G_AB": make_g("G_AB"), "G_BA": make_g("G_BA")}
                self.discriminators = {"D_A": make_d("D_A"), "D_B": make_d("D_B")}
            else:
                self.generators = {"G": lineage.build_unet_generator(
                    c.img_size, c.channels, c.num_classes, c.gf, c.g_label, c.g_extra_blocks)}
                if c.d_head == "resnet50":
                    d = lineage.build_resnet50_discriminator(c.resnet_weights, c.img_size, c.channels, c.num_classes)
                else:
                    d = lineage.build_patch_discriminator(c.img_size, c.channels, c.num_classes, c.df, c.d_label,
                                                          c.d_head)
                self.discriminators = {"D": d}
            self.frozen = self._load_frozen_classifier() if c.frozen_classifier else None
            self.d_optimizer = keras.optimizers.Adam(c.adam_lr, c.adam_beta_1, c.adam_beta_2, c.adam_epsilon)
            self.g_optimizer = keras.optimizers.Adam(c.adam_lr, c.adam_beta_1, c.adam_beta_2, c.adam_epsilon)
            self.d_optimizer.build(self.discriminator_variables)
            self.g_optimizer.build(self.generator_variables)
        self.global_batch = c.batch_size
        self._step = self.steps.distributed(self._cycle_step if self.cyclegan else self._conditional_step)

    def _load_frozen_classifier(self):
        """T8's frozen classifier (the original loads C2's saved model): a .keras classifier of this data's
        classes, or its run folder, taking images of this run's shape."""
        from models.classifier import load_judge

        judge = load_judge(self.config.frozen_classifier)
        size, channels = self.config.img_size, self.config.channels
        gray_judge_of_rgb = tuple(judge.input_shape) == (size, size, 1) and channels == 3
        if (tuple(judge.input_shape) != (size, size, channels) and not gray_judge_of_rgb) or len(
                judge.names) != self.config.num_classes:
            raise UsageError(f"{self.config.frozen_classifier}: the frozen classifier takes {judge.input_shape} "
                             f"images and {len(judge.names)} classes; this run has "
                             f"{(size, size, channels)} and {self.config.num_classes}")
        judge.model.trainable = False
        if not gray_judge_of_rgb:
            return judge.model
        # T6-T8 run on FER's gray faces repeated to RGB, so a classifier trained on the gray faces (a C2 run on
        # FER2013) judges the channel mean of the fakes.
        rgb = keras.Input((size, size, 3), name="fake_rgb")
        gray = keras.layers.Lambda(lambda x: keras.ops.mean(x, axis=-1, keepdims=True), name="to_gray")(rgb)
        return keras.Model(rgb, judge.model(gray), name="frozen_classifier_on_gray")

    # -- bookkeeping the loop needs --------------------------------------------------------------------------------
    @property
    def generator_variables(self):
        return [v for g in self.generators.values() for v in g.trainable_variables]

    @property
    def discriminator_variables(self):
        return [v for d in self.discriminators.values() for v in d.trainable_variables]

    @property
    def networks(self) -> dict:
        return {**self.generators, **self.discriminators}

    @property
    def log_columns(self) -> tuple:
        c = self.config
        return (UNET_LOG_COLUMNS + (ACGAN_COLUMNS if c.d_head == "acgan" and not self.cyclegan else ())
                + ((FROZEN_COLUMN,) if self.frozen is not None else ()))

    # -- losses ----------------------------------------------------------------------------------------------------
    def _d_call(self, d, labels, images, training):
        """(adversarial output, class logits or None) of D; labels (B,) int or None for an unconditional D."""
        out = d(images if labels is None else [tf.reshape(labels, [-1, 1]), images], training=training)
        if self.config.d_head == "acgan" and not self.cyclegan:
            return out[0], out[1]
        if self.config.d_head == "resnet50" and not self.cyclegan:
            return _probability_logit(out), None
        return out, None

    def _d_adversarial(self, output, real: bool):
        if self.config.adversarial_loss == "lsgan":
            return per_example_mean(tf.square(tf.cast(output, tf.float32) - (1.0 if real else 0.0)))
        target = tf.ones_like(output) if real else tf.zeros_like(output)
        return sigmoid_bce(target, output)

    def _g_adversarial(self, output):
        c = self.config
        if c.g_adversarial_loss == "mse":  # T6-T8: mse of D's probability against 1
            return per_example_mean(tf.square(tf.sigmoid(tf.cast(output, tf.float32)) - 1.0))
        if c.adversarial_loss == "lsgan":
            return per_example_mean(tf.square(tf.cast(output, tf.float32) - 1.0))
        return sigmoid_bce(tf.ones_like(output), output)

    def _accuracy(self, output, real: bool):
        threshold = 0.5 if self.config.adversarial_loss == "lsgan" else 0.0
        hit = (tf.cast(output, tf.float32) > threshold) if real else (tf.cast(output, tf.float32) <= threshold)
        return per_example_mean(tf.cast(hit, tf.float32))

    def _acgan_class_loss_d(self, targets, logits):
        """T9's D class loss: Keras' binary_crossentropy on the (C+1)-way softmax (as the original compiled it)."""
        p = tf.clip_by_value(tf.nn.softmax(tf.cast(logits, tf.float32)), 1e-7, 1.0 - 1e-7)
        return tf.reduce_mean(-(targets * tf.math.log(p) + (1.0 - targets) * tf.math.log(1.0 - p)), axis=-1)

    def _random_other(self, labels):
        return random_other_class(labels, self.config.num_classes)

    def _d_update(self, groups):
        """D's update(s) on groups of (labels or None, images, real?, class targets or None): one joint update on the
        mean over every group, or one update per group (T1, T4, T9); returns the mean loss and accuracy."""
        c = self.config
        d = next(iter(self.discriminators.values())) if len(self.discriminators) == 1 else None
        parts = [groups] if c.d_update == "joint" else [[g] for g in groups]
        total_loss, total_acc, total_cl = 0.0, 0.0, 0.0
        n_groups = float(len(groups))
        for part in parts:
            with tf.GradientTape() as tape:
                loss, cl = 0.0, 0.0
                for network, labels, images, real, class_targets in part:
                    output, class_logits = self._d_call(d or network, labels, images, training=True)
                    adversarial = global_mean(self._d_adversarial(output, real), self.global_batch)
                    total_acc += global_mean(self._accuracy(output, real), self.global_batch) / n_groups
                    group_loss = c.d_gan_loss_w * adversarial
                    if class_targets is not None:
                        group_cl = global_mean(self._acgan_class_loss_d(class_targets, class_logits), self.global_batch)
                        group_loss += c.d_cl_loss_w * group_cl
                        cl += group_cl
                    loss += group_loss
                loss = loss / float(len(part))
            variables = self.discriminator_variables
            grads = tape.gradient(loss, variables)
            self.d_optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
            total_loss += loss * float(len(part)) / n_groups
            total_cl += cl / n_groups
        return total_loss, total_acc, total_cl

    def _conditional_step(self, images, labels):
        """One T1-T16 iteration: D update(s), then G's."""
        c = self.config
        labels = tf.cast(labels, tf.int32)
        g = self.generators["G"]
        targets = self._random_other(labels)
        fakes = tf.stop_gradient(g([tf.reshape(targets, [-1, 1]), images], training=False))
        acgan = c.d_head == "acgan"
        fake_class = tf.one_hot(tf.fill(tf.shape(labels), c.num_classes), c.num_classes + 1) if acgan else None
        real_class = tf.one_hot(labels, c.num_classes + 1) if acgan else None
        unconditional = c.d_label == "none"
        groups = [(None, None if unconditional else labels, images, True, real_class)]
        if c.d_wrong_label:
            groups.append((None, self._random_other(labels), images, False, None))
        groups.append((None, None if unconditional else targets, fakes, False, fake_class))
        d_loss, d_acc, d_cl = self._d_update(groups)

        with tf.GradientTape() as tape:
            target_in, label_in = tf.reshape(targets, [-1, 1]), tf.reshape(labels, [-1, 1])
            fake = g([target_in, images], training=True)
            cycle = g([label_in, fake], training=True)
            output, class_logits = self._d_call(self.discriminators["D"], None if unconditional else targets, fake,
                                                training=False)
            adv = global_mean(self._g_adversarial(output), self.global_batch)
            cycle_loss = global_mean(mean_absolute_error(cycle, images), self.global_batch)
            total = c.g_gan_loss_w * adv + c.rec_loss_w * cycle_loss
            id_loss = tf.constant(0.0)
            if c.id_loss_w > 0:
                id_loss = global_mean(mean_absolute_error(g([label_in, images], training=True), images),
                                      self.global_batch)
                total += c.id_loss_w * id_loss
            values = {}
            if acgan:  # T9: G wants D to call the fake its target class
                g_cl = global_mean(softmax_cce(tf.one_hot(targets, c.num_classes + 1), class_logits),
                                   self.global_batch)
                total += c.g_cl_loss_w * g_cl
                values.update(d_cl_loss=d_cl, g_cl_loss=g_cl)
            if self.frozen is not None:  # T8: mae between the frozen classifier's softmax and the target one-hot
                probs = self.frozen(fake, training=False)
                frozen = global_mean(mean_absolute_error(probs, tf.one_hot(targets, c.num_classes)),
                                     self.global_batch)
                total += c.frozen_cl_loss_w * frozen
                values[FROZEN_COLUMN] = frozen
        grads = tape.gradient(total, self.generator_variables)
        self.g_optimizer.apply_gradients([(gr, v) for gr, v in zip(grads, self.generator_variables)
                                          if gr is not None])
        return {"d_loss": d_loss, "d_accuracy": 100.0 * d_acc, "g_loss": total, "g_adv_loss": adv,
                "g_cycle_loss": cycle_loss, "g_id_loss": id_loss, **values}

    def _cycle_step(self, images_a, images_b):
        """One T4 iteration (Keras-GAN CycleGAN): D_A and D_B on reals then fakes, then both generators on
        adversarial, cycle and identity losses of both directions."""
        c = self.config
        g_ab, g_ba = self.generators["G_AB"], self.generators["G_BA"]
        d_a, d_b = self.discriminators["D_A"], self.discriminators["D_B"]
        fake_b = tf.stop_gradient(g_ab(images_a, training=False))
        fake_a = tf.stop_gradient(g_ba(images_b, training=False))
        d_loss, d_acc, _ = self._d_update([(d_a, None, images_a, True, None), (d_a, None, fake_a, False, None),
                                           (d_b, None, images_b, True, None), (d_b, None, fake_b, False, None)])
        with tf.GradientTape() as tape:
            fake_b = g_ab(images_a, training=True)
            fake_a = g_ba(images_b, training=True)
            adv = 0.5 * global_mean(self._g_adversarial(d_a(fake_a, training=False)) +
                                    self._g_adversarial(d_b(fake_b, training=False)), self.global_batch)
            cycle = 0.5 * global_mean(mean_absolute_error(g_ba(fake_b, training=True), images_a) +
                                      mean_absolute_error(g_ab(fake_a, training=True), images_b), self.global_batch)
            identity = 0.5 * global_mean(mean_absolute_error(g_ba(images_a, training=True), images_a) +
                                         mean_absolute_error(g_ab(images_b, training=True), images_b),
                                         self.global_batch)
            # Keras-GAN sums both directions' terms; the logged values are their means
            total = 2.0 * (c.g_gan_loss_w * adv + c.rec_loss_w * cycle + c.id_loss_w * identity)
        grads = tape.gradient(total, self.generator_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator_variables))
        return {"d_loss": d_loss, "d_accuracy": 100.0 * d_acc, "g_loss": total, "g_adv_loss": adv,
                "g_cycle_loss": cycle, "g_id_loss": identity}

    def train_step(self, batch, epoch: int, batch_index: int):
        if self.cyclegan:
            images_a, images_b = batch
            return self._step(images_a, images_b)
        images, labels = batch
        return self._step(images, labels)

    # -- using the generator(s) ------------------------------------------------------------------------------------
    def translate(self, images: np.ndarray, targets: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Images in [-1, 1] translated to `targets` (class indices). T4 translates only between its domains:
        a target equal to domain B uses G_AB, domain A G_BA; any other target is an error."""
        outputs = []
        for start in range(0, len(images), batch_size):
            chunk = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            chunk_targets = np.asarray(targets[start:start + batch_size])
            outputs.append(self._translate_chunk(chunk, chunk_targets))
        return np.concatenate(outputs) if outputs else np.zeros((0, *images.shape[1:]), np.float32)

    def _translate_chunk(self, chunk, targets):
        if not self.cyclegan:
            label = tf.constant(targets.reshape(-1, 1).astype(np.int32))
            return self.generators["G"]([label, chunk], training=False).numpy()
        domain_a, domain_b = self.config.domains
        if not np.all(np.isin(targets, self.config.domains)):
            raise ValueError(f"T4 translates only between classes {domain_a} and {domain_b}")
        to_b = self.generators["G_AB"](chunk, training=False).numpy()
        to_a = self.generators["G_BA"](chunk, training=False).numpy()
        return np.where((targets == domain_b)[:, None, None, None], to_b, to_a)

    def reconstruct(self, images: np.ndarray, labels: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """The cycle G(y, G(t, x)) the run trained (T4: G_BA(G_AB(x)) or G_AB(G_BA(x)))."""
        return self.translate(self.translate(images, targets), labels)

    def sample_grid(self, image: np.ndarray, label: int) -> np.ndarray:
        """The source, its translations (every other class; T4: the other domain) and the cycle of the first."""
        c = self.config
        if self.cyclegan:
            other = c.domains[1] if label == c.domains[0] else c.domains[0]
            targets = np.array([other])
        else:
            targets = other_classes_table(c.num_classes)[label]
        sources = np.repeat(image[None], len(targets), axis=0)
        fakes = self.translate(sources, targets)
        cycle = self.translate(fakes[:1], np.array([label]))[0]
        titles = [f"Orig:{c.class_names[label]}"] + [f"Trans:{c.class_names[k]}" for k in targets] + ["Cycle"]
        return image_grid([image, *fakes, cycle], titles, rows=2 if len(targets) > 2 else 1)

    def exports(self) -> dict:
        return {f"{name}.keras" if self.cyclegan else {"G": "generator.keras", "D": "discriminator.keras"}[name]:
                model for name, model in self.networks.items()}


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


def make_trainer(config: CCycleGANConfig, strategy: tf.distribute.Strategy | None = None,
                 total_steps: int | None = None, steps_per_epoch: int | None = None):
    """The trainer of `config.architecture`: CCycleGANTrainer (T17-T27) or LineageUNetTrainer (T1-T16)."""
    if config.frozen_cl_loss_w > 0 and not config.frozen_classifier:  # checked here: T8 names no file by itself
        raise UsageError("the frozen classifier's loss (T8) needs the classifier: give its run folder or "
                         "classifier.keras with --frozen-classifier (e.g. a `--experiment C2` run)")
    if config.architecture in ("unet", "cyclegan"):
        if config.d_g_ratio != 1:
            raise UsageError(f"the T1-T16 trainer makes one G step per D step (--d-g-ratio 1), got {config.d_g_ratio}")
        return LineageUNetTrainer(config, strategy, total_steps, steps_per_epoch)
    return CCycleGANTrainer(config, strategy, total_steps=total_steps, steps_per_epoch=steps_per_epoch)


def lineage_log_line(row: dict, epochs: int, steps: int) -> str:
    """T1-T16's console line: [Epoch][Batch][D loss, acc][G loss, adv, recon, id] (plus any extra losses)."""
    extra = "".join(f", {k}: {row[k]:05f}" for k in (*ACGAN_COLUMNS, FROZEN_COLUMN) if k in row)
    return (f"[Epoch {row['epoch']}/{epochs}] [Batch {row['batch']}/{steps}] [D loss: {row['d_loss']:f}, acc: "
            f"{int(row['d_accuracy']):3d}%] [G loss: {row['g_loss']:05f}, adv: {row['g_adv_loss']:05f}, recon: "
            f"{row['g_cycle_loss']:05f}, id: {row['g_id_loss']:05f}{extra}]")


def train(config: CCycleGANConfig, train_images: np.ndarray, train_labels: np.ndarray, run_dir: str | Path, *,
          sample_images: np.ndarray | None = None, sample_labels: np.ndarray | None = None,
          max_steps: int | None = None, time_limit: float | None = None, resume: bool = False,
          strategy: tf.distribute.Strategy | None = None, context: dict | None = None) -> tuple[CCycleGANTrainer, dict]:
    """Train on uint8 (N, H, W, C) images with int labels; write everything into `run_dir` (see ccyclegan.run).

    Sample grids use `sample_images` (held-out, e.g. PublicTest) when given, else the training images. `context`
    (dataset, data path, strategy, ...) goes into config.json beside the config.
    """
    if config.channels == 3 and train_images.shape[-1] == 1:  # T6-T9 train on gray faces made RGB
        train_images = np.repeat(train_images, 3, axis=-1)
        sample_images = None if sample_images is None else np.repeat(sample_images, 3, axis=-1)
    domains = None
    if config.architecture == "cyclegan":  # T4: two classes as two unpaired domains
        domains = [train_images[np.asarray(train_labels) == d] for d in config.domains]
        if min(len(d) for d in domains) < config.batch_size:
            raise UsageError(f"the CycleGAN domains {config.domains} have {[len(d) for d in domains]} training "
                             f"images; each needs at least one batch ({config.batch_size})")
    try:  # everything is checked before the run folder is created
        spe = steps_per_epoch(min(len(d) for d in domains) if domains else len(train_images), config.batch_size)
        settings = LoopSettings(
            epochs=config.epochs, steps_per_epoch=spe, max_steps=max_steps, time_limit=time_limit,
            sample_interval=config.sample_interval,
            checkpoint_interval=config.checkpoint_interval or config.sample_interval,
            log_style=config.log_style,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    run = RunFolder(Path(run_dir), config, context or {}, resume=resume, resumable=resumable_fields(config),
                    strategy=strategy)
    run.prepare()
    # The schedule spans the planned run, not --max-steps, so that a run stopped early and resumed stays on one curve.
    trainer = make_trainer(config, strategy, total_steps=settings.planned_steps, steps_per_epoch=spe)
    lineage = isinstance(trainer, LineageUNetTrainer)

    def epoch_data(epoch: int):
        if domains is not None:
            streams = [image_dataset(d, batch_size=config.batch_size, flip=config.flip, repeat=False,
                                     seed=config.seed * 100_003 + epoch + k, sampling=config.sampling).take(spe)
                       for k, d in enumerate(domains)]
            return trainer.strategy.experimental_distribute_dataset(tf.data.Dataset.zip(tuple(streams)))
        dataset = image_dataset(train_images, train_labels.astype(np.int32), batch_size=config.batch_size,
                                flip=config.flip, seed=config.seed * 100_003 + epoch, repeat=False,
                                sampling=config.sampling)
        if config.sampling == "replacement":
            dataset = dataset.take(spe)
        return trainer.strategy.experimental_distribute_dataset(dataset)

    pool_images = train_images if sample_images is None else sample_images
    pool_labels = train_labels if sample_labels is None else sample_labels
    if domains is not None:  # T4's samples come from its two classes
        in_domains = np.isin(np.asarray(pool_labels), config.domains)
        if not in_domains.any():
            pool_images, pool_labels = train_images, train_labels
            in_domains = np.isin(np.asarray(pool_labels), config.domains)
        pool_images, pool_labels = pool_images[in_domains], np.asarray(pool_labels)[in_domains]

    def sample(epoch: int, batch_index: int) -> np.ndarray:
        if config.log_style == "original" and not lineage:  # the original's D check on held-out images
            real, expression = trainer.discriminator_test_accuracy(
                pool_images, np.asarray(pool_labels), np.random.default_rng([config.seed, epoch, batch_index, 1]))
            print("*** TEST *** [D_gan accuracy   :", real, "] [D_cl accuracy :", expression, "]", flush=True)
        index = np.random.default_rng([config.seed, epoch, batch_index]).integers(len(pool_images))
        image = unit_range_array(pool_images[index])
        return trainer.sample_grid(image, int(pool_labels[index]))

    def finish(out: Path, rows: list) -> dict:
        if not lineage:
            plot_training_log(rows, spe, out / "curves.png")
        return {"generator": str(out / ("G_AB.keras" if config.architecture == "cyclegan" else "generator.keras"))}

    job = TrainingJob(
        trackables=trainer.trackables, make_epoch_data=epoch_data, train_step=trainer.train_step,
        log_columns=trainer.log_columns,
        format_line=(lambda row: lineage_log_line(row, config.epochs, spe)) if lineage else (
            lambda row: original_log_line(row, config.epochs, spe)),
        sample=sample, optimizers=trainer.optimizers, tags=TENSORBOARD_TAGS,
        exports=trainer.exports if lineage else (
            lambda: {"generator.keras": trainer.translator(), "discriminator.keras": trainer.discriminator}),
        finish=finish,
    )
    summary = fit(job, settings, run, resume=resume)
    return trainer, summary
