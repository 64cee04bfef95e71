"""GANimation: AU-conditioned face animation through an attention mask, trained with WGAN-GP (the family module).

    python train.py --family ganimation --dataset synthetic-ganimation --out runs/ganimation
    python train.py --family ganimation --mode animate --model runs/ganimation --input face.png --aus-file anim.txt

Every iteration updates the critic D: WGAN loss on real faces and on G's renderings of them with target AUs,
the gradient penalty at random interpolates (the mixing factor drawn per sample), and the AU regression of real
faces. Every `n_critic`-th iteration (5) also updates G: the adversarial term, the AU regression of its renderings
by D, the cycle L1 back to the original AUs, and the two attention terms (magnitude and total variation) on both
masks. Target AUs are the AUs of other samples of the batch plus U(-0.1, 0.1) (`ccyclegan.au`). Adam 1e-4
(0.5, 0.999), constant, then linearly to 0 over the last `lr_decay_epochs`; batch 25, 30 epochs: the official
code's settings (`../shared/reference/ganimation_cyclegan.md` A.4, A.5), with its loss scaling by default and
vipermu's as an experiment (`train/experiments_ganimation.py`); differences in `docs/differences-ganimation.md`.

The losses and steps call the networks only through two callables, `generator(image, aus, training) ->
(composite, attention, colour)` and `critic(image, training) -> (critic_map, aus)`, with explicit variable lists
(`Networks`), so the same code trains the Keras networks (`models/ganimation.py`) and the TensorLayer port
(`--framework tensorlayer`, networks from `train.ganimation_tl.make_tl_networks`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ccyclegan.run import CriticAndGeneratorOptimizers

MODES = ("train", "translate", "evaluate", "animate")
FRAMEWORKS = ("keras", "tensorlayer")
MASK_SMOOTH_FORMS = ("sum", "mean")  # the official code's summed TV (weight 1e-5) or vipermu's mean TV (1e-4)
AU_LOSS_NAMES = ("mse", "l1", "bce", "log-abs")  # ccyclegan.losses.au_loss
LR_SCHEDULE_CHOICES = ("constant", "linear-decay", "epoch-decay")  # ccyclegan.schedules.LR_SCHEDULES
GP_STEPS = ("joint", "separate")
LOG_COLUMNS = ("d_loss", "d_adv", "d_au", "d_gp", "g_loss", "g_adv", "g_au", "g_cyc", "g_mask", "g_tv", "mask_mean")
KEPT_COLOUR_COLUMN = "g_kept"  # logged when --kept-colour-w is on
IDENTITY_COLUMN = "g_idt"  # logged when --identity-w is on
TENSORBOARD_TAGS = {"mask_mean": "g/mask_mean"}


def _au_names() -> tuple:
    from ccyclegan.data.sources import AU_CLASS_NAMES

    return tuple(AU_CLASS_NAMES)


@dataclass
class GANimationConfig:
    """Everything that defines a GANimation run; the defaults are the official code's (albertpumarola/GANimation
    `launch/run_train.sh`): batch 25, 30 epochs of which the last 10 decay linearly, its lambdas and loss forms."""

    framework: str = "keras"  # or "tensorlayer": the same losses and steps on the TensorLayer port
    img_size: int = 128
    channels: int = 3
    num_aus: int = 17
    g_conv_dim: int = 64
    d_conv_dim: int = 64
    g_repeat_num: int = 6  # residual blocks of G
    d_repeat_num: int = 6  # stride-2 convs of D
    upsample: str = "transpose"  # G's two x2 steps (ccyclegan.cli.UPSAMPLE_MODES); resizes are not the original
    au_condition: str = "target"  # or "change" (not in the originals): G sees target - own AUs (models.ganimation)
    skips: bool = False  # not in the originals: U-Net skips from G's encoder to its decoder (models.ganimation)
    # The official code's lambdas, by its names.
    lambda_D_prob: float = 1.0  # the WGAN terms of D and G
    lambda_D_cond: float = 4000.0  # the AU regression (D on real faces, G through D on its renderings)
    cond_per_batch: bool = True  # the official MSE is divided by the batch size again: 4000 / 25 = vipermu's 160
    lambda_D_gp: float = 10.0
    gp_step: str = "joint"  # "separate": the official second Adam step of D on the penalty alone
    lambda_cyc: float = 10.0
    lambda_mask: float = 0.1  # mean attention of both masks (keeps them from saturating to 1 = "change nothing")
    lambda_mask_smooth: float = 1e-5  # total variation of both masks
    mask_smooth_form: str = "sum"  # "sum" over pixels and batch (official), "mean" per direction (vipermu, 1e-4)
    lambda_kept_colour: float = 0.0  # not in the originals: A |C - x| of both renderings (losses.kept_colour_error)
    # Not in the originals: L1 of G(x, own AUs) against x (CycleGAN's identity term; the AU family's self
    # reconstruction). A face asked for its own AUs must come back unchanged, which teaches G to keep every region
    # whose AUs the target leaves alone (the rest-of-face error that keeps the ground truth above the input's).
    lambda_identity: float = 0.0
    au_loss: str = "mse"
    target_noise: float = 0.1  # targets: another sample's AUs + U(-noise, noise)
    clip_targets: bool = True  # to [0, 1] (vipermu); the official code does not clip
    virtual_cycle: bool = False  # vipermu's --use_virtual (Kaneko et al. 2019): cycle through a second target
    alpha_rec: float = 1.0  # virtual cycle: weight of the virtual term; 1 - alpha on the ordinary cycle (vipermu: 1)
    n_critic: int = 5
    lr_G: float = 1e-4
    lr_D: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    adam_epsilon: float = 1e-8  # PyTorch's default
    lr_schedule: str = "linear-decay"
    lr_decay_epochs: int = 10  # the official nepochs_decay: the rate falls linearly to 0 over the last N epochs
    epochs: int = 30
    batch_size: int = 25
    flip: bool = True  # random horizontal flips (official; vipermu has none)
    au_low_pass: bool = False  # not in the originals: the AU head reads binomially blurred faces (see the docs)
    au_shift: int = 0  # not in the originals: the AU head reads faces moved by a random offset of up to this many px
    au_luminance: bool = False  # not in the originals: the AU head reads the faces' luminance (ccyclegan.layers)
    critic_warmup: int = 0  # not in the originals: the first N iterations train the critic's AU regression alone
    sample_interval: int = 500
    checkpoint_interval: int = 0  # 0: every sample_interval steps and at each epoch end
    seed: int = 0
    log_style: str = "bar"
    xla: bool = False
    mixed_precision: bool = False  # Keras only: bfloat16 compute, float32 weights, outputs and losses
    au_names: tuple = field(default_factory=_au_names)

    def __post_init__(self):
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"framework must be one of {FRAMEWORKS}, got {self.framework!r}")
        if self.gp_step not in GP_STEPS:
            raise ValueError(f"gp_step must be one of {GP_STEPS}, got {self.gp_step!r}")
        if self.mask_smooth_form not in MASK_SMOOTH_FORMS:
            raise ValueError(f"mask_smooth_form must be one of {MASK_SMOOTH_FORMS}, got {self.mask_smooth_form!r}")
        if self.au_loss not in AU_LOSS_NAMES:
            raise ValueError(f"au_loss must be one of {AU_LOSS_NAMES}, got {self.au_loss!r}")
        if self.lr_schedule not in LR_SCHEDULE_CHOICES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULE_CHOICES}, got {self.lr_schedule!r}")
        for name in ("img_size", "channels", "num_aus", "g_conv_dim", "d_conv_dim", "d_repeat_num", "n_critic",
                     "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("critic_warmup", "g_repeat_num", "lr_decay_epochs", "sample_interval", "checkpoint_interval",
                     "lambda_D_prob", "lambda_D_cond", "lambda_D_gp", "lambda_cyc", "lambda_mask",
                     "lambda_mask_smooth", "lambda_kept_colour", "lambda_identity", "target_noise", "lr_G", "lr_D"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.lr_schedule != "constant" and self.lr_decay_epochs < 1:
            raise ValueError(f"lr_decay_epochs must be >= 1 with the {self.lr_schedule} schedule (the rate decays over "
                             f"that many last epochs), got {self.lr_decay_epochs}; use --lr-schedule constant instead")
        from ccyclegan.cli import check_au_view

        check_au_view(self.au_shift, self.au_luminance, self.img_size, self.channels)
        if not 0.0 <= self.alpha_rec <= 1.0:
            raise ValueError(f"alpha_rec must be in [0, 1], got {self.alpha_rec}")
        if self.mixed_precision and self.framework != "keras":
            raise ValueError("mixed_precision is for the Keras networks; the TensorLayer port computes in float32")
        if self.batch_size < 2:
            raise ValueError("batch_size must be >= 2: the target AUs come from the other samples of the batch")
        if len(self.au_names) != self.num_aus:
            raise ValueError(f"{len(self.au_names)} AU names for num_aus={self.num_aus}")
        from ccyclegan.cli import check_upsample
        from ccyclegan.labels import check_au_condition
        from models.ganimation import check_critic_size, check_generator_size

        check_upsample(self.upsample)
        check_au_condition(self.au_condition)
        check_generator_size(self.img_size)
        check_critic_size(self.img_size, self.d_repeat_num)

    @property
    def architecture(self) -> dict:
        """The builders' arguments: (generator kwargs, critic kwargs)."""
        return dict(
            generator=dict(img_size=self.img_size, channels=self.channels, num_aus=self.num_aus,
                           width=self.g_conv_dim, num_residual=self.g_repeat_num, upsample=self.upsample,
                           au_condition=self.au_condition, skips=self.skips),
            critic=dict(img_size=self.img_size, channels=self.channels, num_aus=self.num_aus,
                        width=self.d_conv_dim, num_down=self.d_repeat_num),
        )

    @property
    def lr_decay_start(self) -> float:
        """The fraction of the run after which the rate decays (the whole run when decay epochs >= epochs)."""
        return max(0, self.epochs - self.lr_decay_epochs) / self.epochs


@dataclass
class Networks:
    """What a framework hands the trainer: G and D as callables of tensors, their variables, and how they persist.

    generator(image, aus, training, own=None) -> (composite, attention, colour); critic(image, training) ->
    (critic_map, aus), all float32 tensors (image in [-1, 1], (B, S, S, C); aus (B, num_aus) in [0, 1], the target;
    own: the face's own AUs, which a generator conditioned on the change needs and another ignores; attention
    (B, S, S, 1); critic_map (B, s, s, 1)). generator_variables / critic_variables: the trainable tf.Variables the
    optimizers update. trackables: checkpoint name -> trackable (a Keras model, a tf.Module, ...): what `tf.train.Checkpoint`
    saves and restores besides the optimizers. exports() -> {file name: Keras model} written at the end of a run
    (the generator as `generator.keras`). keras_generator() -> the generator as a Keras model with the weights of
    now (for samples and use), or None.
    """

    generator: Callable
    critic: Callable
    generator_variables: Sequence
    critic_variables: Sequence
    trackables: Mapping[str, object]
    exports: Callable[[], Mapping[str, object]]
    framework: str = "keras"


def make_keras_networks(config: GANimationConfig) -> Networks:
    """The Keras networks of `models/ganimation.py`, built in the current strategy scope; under mixed precision
    they compute in bfloat16 (their heads and outputs stay float32) and export as float32 copies."""
    from ccyclegan.precision import MIXED_POLICY, dtype_policy
    from ccyclegan.steps import float32_copies
    from models.ganimation import build_critic, build_generator

    shapes = config.architecture

    def build():
        return build_generator(**shapes["generator"]), build_critic(**shapes["critic"])

    with dtype_policy(MIXED_POLICY if config.mixed_precision else "float32"):
        generator, critic = build()

    def exports():
        exported = float32_copies(build, (generator, critic)) if config.mixed_precision else (generator, critic)
        return dict(zip(("generator.keras", "discriminator.keras"), exported))

    def generate(image, aus, training=False, own=None):
        composite, attention, colour = generator(generator_inputs(config.au_condition, image, aus, own),
                                                 training=training)
        return composite, attention, colour

    def criticise(image, training=False):
        critic_map, aus = critic(image, training=training)
        return critic_map, aus

    return Networks(generate, criticise, generator.trainable_variables, critic.trainable_variables,
                    {"G": generator, "D": critic}, exports, "keras")


def generator_inputs(au_condition: str, image, aus, own=None) -> list:
    """The inputs of a generator conditioned on `au_condition`: [image, aus], or [image, aus, own] for "change"."""
    if au_condition == "target":
        return [image, aus]
    if own is None:
        raise ValueError("this generator is conditioned on the AU change (target - own): it needs the faces' own AUs")
    return [image, aus, own]


def make_networks(config: GANimationConfig) -> Networks:
    """The networks of `config.framework`."""
    if config.framework == "keras":
        return make_keras_networks(config)
    from ccyclegan.errors import UsageError

    try:
        from train.ganimation_tl import make_tl_networks
    except ImportError as error:
        raise UsageError(f"--framework tensorlayer needs train/ganimation_tl.py with make_tl_networks(config) and "
                         f"TensorLayer 2.2.5 installed ({error})") from None
    return make_tl_networks(config)


def mask_smoothness(attention, config: GANimationConfig, batch_size: int):
    """Per-example total variation of masks (B, S, S, 1) in the config's form.

    "mean": mean |A[y+1] - A[y]| + mean |A[x+1] - A[x]| (vipermu). "sum": the official sum over pixels *and batch*;
    per example that is its sum over pixels times the batch size (so that the mean over the batch is the sum),
    and for square masks the sum over pixels is the mean times S (S - 1).
    """
    from ccyclegan.losses import attention_total_variation

    tv = attention_total_variation(attention)
    if config.mask_smooth_form == "mean":
        return tv
    size = attention.shape[1]
    return tv * float(size * (size - 1) * batch_size)


class GANimationTrainer(CriticAndGeneratorOptimizers):
    """The networks, one Adam per network, and the compiled critic and generator steps of one run."""

    def __init__(self, config: GANimationConfig, strategy=None, total_steps: int | None = None,
                 steps_per_epoch: int | None = None, networks: Networks | None = None):
        import keras

        from ccyclegan.layers import AUHeadView
        from ccyclegan.steps import ReplicaSteps

        self.config = c = config
        self.steps = ReplicaSteps(strategy, xla=c.xla)
        self.strategy = self.steps.strategy
        keras.utils.set_random_seed(c.seed)
        with self.strategy.scope():
            self.nets = networks or make_networks(c)
            d_rate, g_rate = self._learning_rates(total_steps, steps_per_epoch)
            self.d_optimizer = keras.optimizers.Adam(d_rate, c.beta1, c.beta2, c.adam_epsilon)
            self.g_optimizer = keras.optimizers.Adam(g_rate, c.beta1, c.beta2, c.adam_epsilon)
            self.d_optimizer.build(list(self.nets.critic_variables))
            self.g_optimizer.build(list(self.nets.generator_variables))
            if c.critic_warmup:
                self.make_warmup_optimizer(self.nets.critic_variables, c.lr_D, c.beta1, c.beta2, c.adam_epsilon)
        self.global_batch = c.batch_size
        self.au_view = AUHeadView.of_run(c)
        self.cond_weight = c.lambda_D_cond / c.batch_size if c.cond_per_batch else c.lambda_D_cond
        self._d_gradients = self.steps.gradients(self._d_gradients_and_values)
        self._g_gradients = self.steps.gradients(self._g_gradients_and_values)
        self._penalty_gradients = self.steps.gradients(self._penalty_gradients_and_value)
        self._d_step = self.steps.distributed(self._d_replica_step)
        self._d_then_g_step = self.steps.distributed(self._d_then_g_replica_step)
        self._warmup_step = self.steps.distributed(self._warmup_replica_step)

    def _learning_rates(self, total_steps, steps_per_epoch):
        from ccyclegan.steps import critic_and_generator_rates

        c = self.config
        return critic_and_generator_rates(c.lr_schedule, c.lr_D, c.lr_G, total_steps, steps_per_epoch, c.n_critic,
                                          c.lr_decay_start)

    @property
    def networks(self) -> dict:
        """The networks by checkpoint name, as their framework keeps them (Keras models, or TL weight modules)."""
        return self.nets.trackables

    # -- the maths, per replica ----------------------------------------------------------------------------------
    def _seed(self, iteration, stream: int):
        """A stateless seed for one random draw of one iteration on this replica (resume draws the same)."""
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        replica = 0 if context is None else context.replica_id_in_sync_group
        base = tf.cast(self.config.seed, tf.int64) * 1009 + tf.cast(replica, tf.int64)
        return tf.stack([base, tf.cast(iteration, tf.int64) * 8 + stream])

    def _targets(self, aus, iteration, stream: int):
        from ccyclegan.au import targets_from_other_samples

        c = self.config
        return targets_from_other_samples(aus, self._seed(iteration, stream), noise=c.target_noise,
                                          clip=c.clip_targets)

    def _penalty(self, images, fakes, iteration):
        from ccyclegan.losses import gradient_penalty
        from ccyclegan.steps import global_mean

        return global_mean(gradient_penalty(lambda x: self.nets.critic(x, True)[0], images, fakes,
                                            seed=self._seed(iteration, 1)), self.global_batch)

    def _penalty_gradients_and_value(self, images, fakes, iteration):
        """The official second critic step: the gradient of lambda_D_gp x the penalty alone."""
        import tensorflow as tf

        variables = list(self.nets.critic_variables)
        with tf.GradientTape() as tape:
            gp = self._penalty(images, tf.stop_gradient(fakes), iteration)
            weighted = self.config.lambda_D_gp * gp
        return tape.gradient(weighted, variables), gp

    def _d_gradients_and_values(self, images, aus, iteration, fakes=None, penalty: bool = True):
        """The critic's gradients and logged terms; `penalty=False` leaves the gradient penalty out (--gp-step
        separate takes it in a step of its own)."""
        import tensorflow as tf

        from ccyclegan.losses import au_loss, discriminator_adversarial_loss
        from ccyclegan.steps import global_mean

        c, nets = self.config, self.nets
        if fakes is None:
            fakes = nets.generator(images, self._targets(aus, iteration, 0), True, own=aus)[0]
        fakes = tf.stop_gradient(fakes)
        variables = list(nets.critic_variables)
        batch = tf.shape(images)[0]
        with tf.GradientTape() as tape:
            # One critic call on reals and fakes: the critic has no batch-dependent layer, so this is the two
            # calls' maths, and one larger batch runs faster on a CPU (bench_ganimation.py --parts).
            critic_both, aus_both = nets.critic(tf.concat([images, fakes], axis=0), True)
            critic_real, critic_fake, aus_real = critic_both[:batch], critic_both[batch:], aus_both[:batch]
            if self.au_view.changes_faces:
                aus_real = self._critic_aus(images, self._seed(iteration, 3))
            on_real, on_fake = discriminator_adversarial_loss("wgan", critic_real, critic_fake)
            adv = global_mean(on_real + on_fake, self.global_batch)  # mean D(fake) - mean D(real)
            au = global_mean(au_loss(c.au_loss, aus, aus_real), self.global_batch)
            gp = self._penalty(images, fakes, iteration) if penalty else tf.zeros_like(adv)
            total = c.lambda_D_prob * adv + self.cond_weight * au + c.lambda_D_gp * gp
        grads = tape.gradient(total, variables)
        return grads, {"d_loss": total, "d_adv": adv, "d_au": au, "d_gp": gp}

    def _critic_aus(self, images, seed):
        """The critic's AU head on faces, through the low-pass and the random shift when the run asks for them."""
        return self.nets.critic(self.au_view(images, seed), True)[1]

    def _warmup_replica_step(self, images, aus, iteration):
        from ccyclegan.steps import au_regression_update

        def read_aus(faces):
            return self._critic_aus(faces, self._seed(iteration, 3))

        loss = au_regression_update(read_aus, self.nets.critic_variables, self.warmup_optimizer, images, aus,
                                    self.config.au_loss, self.global_batch)
        return {"d_au": loss}

    def _d_update(self, images, aus, iteration, fakes=None):
        """One critic iteration: one Adam step on the whole loss (joint), or the official two, the loss without the
        penalty and then the penalty at the updated critic (separate). Returns the logged terms."""
        critic = self.nets.critic_variables
        if self.config.gp_step == "joint":
            grads, values = self._d_gradients(images, aus, iteration, fakes)
            self.d_optimizer.apply_gradients(zip(grads, critic))
            return values
        if fakes is None:
            fakes = self.nets.generator(images, self._targets(aus, iteration, 0), True, own=aus)[0]
        grads, values = self._d_gradients(images, aus, iteration, fakes, penalty=False)
        self.d_optimizer.apply_gradients(zip(grads, critic))
        grads, gp = self._penalty_gradients(images, fakes, iteration)
        self.d_optimizer.apply_gradients(zip(grads, critic))
        return {**values, "d_gp": gp, "d_loss": values["d_loss"] + self.config.lambda_D_gp * gp}

    def _d_replica_step(self, images, aus, iteration):
        return self._d_update(images, aus, iteration)

    def _g_losses(self, images, aus, targets, iteration, forward=None):
        """G's total and logged terms; `forward` = G(images, targets) = (composite, attention, colour) when made
        already."""
        import tensorflow as tf

        from ccyclegan.losses import (
            attention_magnitude,
            au_loss,
            generator_adversarial_loss,
            kept_colour_error,
            mean_absolute_error,
        )
        from ccyclegan.steps import global_mean

        c, nets, batch = self.config, self.nets, self.global_batch
        fakes, attention, colour = forward if forward is not None else nets.generator(images, targets, True, own=aus)
        critic_fake, aus_fake = nets.critic(fakes, True)
        if self.au_view.changes_faces:
            aus_fake = self._critic_aus(fakes, self._seed(iteration, 4))
        adv = global_mean(generator_adversarial_loss("wgan", critic_fake), batch)  # -mean D(fake)
        au = global_mean(au_loss(c.au_loss, targets, aus_fake), batch)
        first_mask = attention_magnitude(attention)
        first_tv = mask_smoothness(attention, c, batch)
        with_colour = bool(c.lambda_kept_colour)  # the kept-colour term is built only when it is weighed
        kept = kept_colour_error(images, attention, colour) if with_colour else None
        cycle_l1 = tf.zeros_like(first_mask)
        second_mask, second_tv = tf.zeros_like(first_mask), tf.zeros_like(first_mask)
        if not c.virtual_cycle or c.alpha_rec < 1.0:
            weight = 1.0 - c.alpha_rec if c.virtual_cycle else 1.0
            reconstruction, cycle_attention, cycle_colour = nets.generator(fakes, aus, True, own=targets)
            cycle_l1 += weight * mean_absolute_error(reconstruction, images)
            second_mask += weight * attention_magnitude(cycle_attention)
            second_tv += weight * mask_smoothness(cycle_attention, c, batch)
            if with_colour:
                kept += weight * kept_colour_error(fakes, cycle_attention, cycle_colour)
        if c.virtual_cycle:
            # vipermu's virtual cycle: fake -> a second target -> back to the first target; the result must be the
            # fake again. Only the image term of the last composite is cut from the gradient, as vipermu does.
            second_targets = self._targets(aus, iteration, 2)
            virtual = nets.generator(fakes, second_targets, True, own=targets)[0]
            _, back_attention, back_colour = nets.generator(virtual, targets, True, own=second_targets)
            back = back_attention * tf.stop_gradient(virtual) + (1.0 - back_attention) * back_colour
            cycle_l1 += c.alpha_rec * mean_absolute_error(back, fakes)
            second_mask += c.alpha_rec * attention_magnitude(back_attention)
            second_tv += c.alpha_rec * mask_smoothness(back_attention, c, batch)
            if with_colour:
                kept += c.alpha_rec * kept_colour_error(virtual, back_attention, back_colour)
        cyc = global_mean(cycle_l1, batch)
        mask = global_mean(first_mask + second_mask, batch)
        tv = global_mean(first_tv + second_tv, batch)
        total = (c.lambda_D_prob * adv + self.cond_weight * au + c.lambda_cyc * cyc + c.lambda_mask * mask
                 + c.lambda_mask_smooth * tv)
        values = {"g_adv": adv, "g_au": au, "g_cyc": cyc, "g_mask": mask, "g_tv": tv,
                  "mask_mean": global_mean(first_mask, batch)}
        if with_colour:
            values[KEPT_COLOUR_COLUMN] = global_mean(kept, batch)
            total += c.lambda_kept_colour * values[KEPT_COLOUR_COLUMN]
        if c.lambda_identity:
            unchanged = nets.generator(images, aus, True, own=aus)[0]
            values[IDENTITY_COLUMN] = global_mean(mean_absolute_error(unchanged, images), batch)
            total += c.lambda_identity * values[IDENTITY_COLUMN]
        values["g_loss"] = total
        return total, values

    def _g_gradients_and_values(self, images, aus, iteration):
        import tensorflow as tf

        targets = self._targets(aus, iteration, 0)
        variables = list(self.nets.generator_variables)
        with tf.GradientTape() as tape:
            total, values = self._g_losses(images, aus, targets, iteration)
        return tape.gradient(total, variables), values

    def _d_then_g_replica_step(self, images, aus, iteration):
        """A critic update, then a generator update (which sees the updated critic, as in the originals). Without
        XLA the renderings of the targets are made once: D trains on them (no gradient to G), G's tape keeps them."""
        import tensorflow as tf

        if self.config.xla:
            d_values = self._d_replica_step(images, aus, iteration)
            grads, g_values = self._g_gradients(images, aus, iteration)
        else:
            targets = self._targets(aus, iteration, 0)
            variables = list(self.nets.generator_variables)
            with tf.GradientTape() as tape:
                forward = self.nets.generator(images, targets, True, own=aus)
            d_values = self._d_update(images, aus, iteration, forward[0])
            with tape:
                total, g_values = self._g_losses(images, aus, targets, iteration, forward=forward)
            grads = tape.gradient(total, variables)
        self.g_optimizer.apply_gradients(zip(grads, self.nets.generator_variables))
        return {**d_values, **g_values}

    # -- what the loop calls -------------------------------------------------------------------------------------
    def train_step(self, batch, epoch: int, batch_index: int, steps_per_epoch: int):
        """One iteration: a critic update, and on G's turns (batch_index % n_critic == 0) a generator update. Only
        G turns are logged; critic-only iterations return their values unlogged, for the loop's NaN guard. The first
        `critic_warmup` iterations of the run update the critic's AU regression alone (unlogged too)."""
        import tensorflow as tf

        from ccyclegan.loop import StepResult
        from ccyclegan.steps import generator_turn

        images, aus = batch
        step = epoch * steps_per_epoch + batch_index
        iteration = tf.constant(step, tf.int64)
        if step < self.config.critic_warmup:
            return StepResult(self._warmup_step(images, aus, iteration), log=False)
        if not generator_turn(batch_index, self.config.n_critic):
            return StepResult(self._d_step(images, aus, iteration), log=False)
        values = self._d_then_g_step(images, aus, iteration)
        return {name: values[name] for name in self.log_columns}

    @property
    def log_columns(self) -> tuple:
        return (LOG_COLUMNS + ((KEPT_COLOUR_COLUMN,) if self.config.lambda_kept_colour else ())
                + ((IDENTITY_COLUMN,) if self.config.lambda_identity else ()))

    def render(self, images: np.ndarray, aus: np.ndarray, own: np.ndarray | None = None, batch_size: int = 64):
        """Faces float32 [-1, 1] (N, S, S, C) with target AU vectors (N, A) (and their own AUs, which a generator
        conditioned on the change needs) -> (composites, attention, colour) as numpy."""
        return render_with(self.nets.generator, images, aus, own, batch_size)


def render_with(generator: Callable, images: np.ndarray, aus: np.ndarray, own: np.ndarray | None = None,
                batch_size: int = 64):
    """Run a generator callable over numpy arrays in chunks: (composites, attention, colour), float32. `own`: the
    faces' own AUs (N, A), passed on to the generator (which ignores them unless conditioned on the change)."""
    import tensorflow as tf

    images = np.asarray(images, np.float32)
    aus = np.asarray(aus, np.float32)
    if len(images) != len(aus):
        raise ValueError(f"{len(images)} faces but {len(aus)} AU vectors")
    if own is not None:
        own = np.asarray(own, np.float32)
        if own.shape != aus.shape:
            raise ValueError(f"own AUs of shape {own.shape} for target AUs of shape {aus.shape}")
    parts = [[], [], []]
    for start in range(0, len(images), batch_size):
        chunk = slice(start, start + batch_size)
        outputs = generator(tf.constant(images[chunk]), tf.constant(aus[chunk]), False,
                            own=None if own is None else tf.constant(own[chunk]))
        for part, output in zip(parts, outputs):
            part.append(np.asarray(output, np.float32))
    if not parts[0]:
        empty = np.zeros((0, *images.shape[1:]), np.float32)
        return empty, np.zeros((0, *images.shape[1:3], 1), np.float32), empty
    return tuple(np.concatenate(part) for part in parts)


def sample_rows(render: Callable, faces: np.ndarray, references: np.ndarray, reference_aus: np.ndarray,
                face_aus: np.ndarray | None = None):
    """The sample grid's rows: the reference faces whose AUs are the targets on top, then per input face its
    renderings with each target, their attention masks (white: input kept) and their colour maps. `face_aus`: the
    input faces' own AUs (for a generator conditioned on the change)."""
    from ccyclegan.viz import mask_panel

    rows, titles = [[None, *references]], [[None, *[f"target {k + 1}" for k in range(len(references))]]]
    count = len(references)
    for index, face in enumerate(faces):
        own = None if face_aus is None else np.repeat(face_aus[index][None], count, 0)
        composites, attention, colour = render(np.repeat(face[None], count, 0), reference_aus, own)
        rows += [[face, *composites], [None, *(mask_panel(a) for a in attention)], [None, *colour]]
        titles += [["input", *["rendered"] * count], [None, *["attention"] * count], [None, *["colour"] * count]]
    return rows, titles


def plot_training_log(rows: list[dict], path: Path) -> Path | None:
    """The logged losses and the mean attention against the step (two panels' worth of lines in one PNG)."""
    from ccyclegan.viz import plot_curves

    if not rows:
        return None
    steps = [int(r["step"]) for r in rows]
    names = ("d_adv", "d_gp", "g_au", "g_cyc", "mask_mean")
    return plot_curves({n: [float(r[n]) for r in rows] for n in names}, steps, "step", path,
                       title="GANimation training (d_adv = critic(fake) - critic(real))")


def resumable_fields(config: GANimationConfig) -> tuple:
    """Config fields a resumed run may change: its length (unless the rate schedule spans it) and how it reports."""
    length = ("epochs",) if config.lr_schedule == "constant" else ()
    return (*length, "log_style", "sample_interval", "checkpoint_interval", "xla")


def train(config: GANimationConfig, images: np.ndarray, aus: np.ndarray, run_dir, *, sample_images=None,
          sample_aus=None, max_steps: int | None = None, time_limit: float | None = None, resume: bool = False,
          strategy=None, context: dict | None = None):
    """Train on uint8 faces (N, S, S, C) with AU vectors (N, A) in [0, 1]; everything goes into `run_dir`.

    Sample grids use `sample_images` / `sample_aus` (held-out faces) when given. Returns (trainer, summary).
    """
    from ccyclegan.data.pipeline import check_faces_and_aus, image_dataset, steps_per_epoch, unit_range_array
    from ccyclegan.errors import UsageError
    from ccyclegan.loop import LoopSettings
    from ccyclegan.run import RunFolder, TrainingJob, fit
    from ccyclegan.viz import rows_grid

    try:
        images, aus = check_faces_and_aus(images, aus, (config.img_size, config.img_size, config.channels),
                                          config.num_aus)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        spe = steps_per_epoch(len(images), config.batch_size)
        settings = LoopSettings(epochs=config.epochs, steps_per_epoch=spe, max_steps=max_steps,
                                time_limit=time_limit, sample_interval=config.sample_interval,
                                checkpoint_interval=config.checkpoint_interval or config.sample_interval,
                                log_style=config.log_style)
    except ValueError as error:
        raise UsageError(str(error)) from None
    run = RunFolder(Path(run_dir), config, context or {}, resume=resume, resumable=resumable_fields(config),
                    strategy=strategy)
    run.prepare()
    # The schedule spans the planned run, not --max-steps, so that a run stopped early and resumed stays on one curve.
    trainer = GANimationTrainer(config, strategy, total_steps=settings.planned_steps, steps_per_epoch=spe)

    def epoch_data(epoch: int):
        dataset = image_dataset(images, None, extra=(aus,), batch_size=config.batch_size, flip=config.flip,
                                seed=config.seed * 100_003 + epoch, repeat=False)
        return trainer.strategy.experimental_distribute_dataset(dataset)

    pool_images = images if sample_images is None else np.asarray(sample_images)
    pool_aus = aus if sample_aus is None else np.asarray(sample_aus, np.float32)
    chosen = np.random.default_rng([config.seed, 7]).choice(len(pool_images), min(len(pool_images), 7), replace=False)
    faces, references = unit_range_array(pool_images[chosen[:3]]), unit_range_array(pool_images[chosen[3:]])
    face_aus, reference_aus = pool_aus[chosen[:3]], pool_aus[chosen[3:]]

    def sample(epoch: int, batch_index: int) -> np.ndarray:
        rows, titles = sample_rows(trainer.render, faces, references, reference_aus, face_aus)
        return rows_grid(rows, panel_titles=titles, panel_inches=1.2,
                         title=f"epoch {epoch}, batch {batch_index}: each target is the AUs of the face above it")

    def finish(out: Path, rows: list) -> dict:
        plot_training_log(rows, out / "curves.png")
        return {"generator": str(out / "generator.keras"), "framework": config.framework}

    job = TrainingJob(
        trackables=trainer.trackables, make_epoch_data=epoch_data,
        train_step=lambda batch, epoch, index: trainer.train_step(batch, epoch, index, spe),
        log_columns=trainer.log_columns, sample=sample if len(pool_images) >= 2 else None, optimizers=trainer.optimizers,
        tags=TENSORBOARD_TAGS, exports=trainer.nets.exports, finish=finish,
    )
    summary = fit(job, settings, run, resume=resume)
    return trainer, summary


# -- the command line -----------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """GANimation's options: the official lambdas by name, the architecture, the schedule, the use modes' targets."""
    from ccyclegan.cli import (
        add_au_condition_option,
        add_au_critic_options,
        add_kept_colour_option,
        add_mixed_precision_option,
        add_upsample_option,
    )

    parser.set_defaults(epochs=30, batch_size=25, dataset="synthetic-ganimation", split="test")
    group = parser.add_argument_group("GANimation (the official code's lambdas and defaults)")
    group.add_argument("--framework", choices=FRAMEWORKS, default="keras",
                       help="keras, or tensorlayer: the TensorLayer 2.2.5 port, weight for weight the same networks "
                            "(default: %(default)s)")
    group.add_argument("--lambda_D_prob", type=float, default=1.0, help="WGAN terms of D and G (default 1)")
    group.add_argument("--lambda_D_cond", type=float, default=4000.0,
                       help="AU regression of D (real) and G (renderings); divided by the batch size unless "
                            "--no-cond-per-batch (default 4000, i.e. 160 at batch 25 = vipermu's lambda_cls)")
    group.add_argument("--no-cond-per-batch", dest="cond_per_batch", action="store_false",
                       help="weigh the AU MSE by --lambda_D_cond itself (vipermu, 160; the TL port, 4000)")
    group.add_argument("--lambda_D_gp", type=float, default=10.0, help="gradient penalty (default 10)")
    group.add_argument("--gp-step", choices=GP_STEPS, default="joint",
                       help="joint: one critic step on the loss with the penalty (vipermu); separate: the official "
                            "code's second Adam step on the penalty alone (default: %(default)s)")
    group.add_argument("--lambda_cyc", type=float, default=10.0, help="cycle L1 (default 10)")
    group.add_argument("--lambda_mask", type=float, default=0.1,
                       help="mean attention of both masks; raise it if the masks saturate at 1 (no change), lower "
                            "it if they fall to 0 (default 0.1)")
    group.add_argument("--lambda_mask_smooth", type=float, default=1e-5,
                       help="total variation of both masks (default 1e-5 with --mask-smooth-form sum)")
    add_kept_colour_option(group, dest="lambda_kept_colour")
    group.add_argument("--identity-w", dest="lambda_identity", type=float, default=0.0, metavar="W",
                       help="not in the originals: W x L1 of G(x, its own AUs) against x, so that a region whose AUs "
                            "the target leaves alone is kept (CycleGAN's identity term) (default 0: off)")
    group.add_argument("--mask-smooth-form", choices=MASK_SMOOTH_FORMS, default="sum",
                       help="sum: TV summed over pixels and batch (official); mean: mean per direction (vipermu, "
                            "with --lambda_mask_smooth 1e-4) (default: %(default)s)")
    group.add_argument("--au-loss", choices=AU_LOSS_NAMES, default="mse", help="AU regression loss (default mse)")
    group.add_argument("--target-noise", type=float, default=0.1,
                       help="targets are other samples' AUs + U(-noise, noise) (default 0.1)")
    group.add_argument("--no-clip-targets", dest="clip_targets", action="store_false",
                       help="do not clip the targets to [0, 1] (the official code; vipermu clips)")
    group.add_argument("--virtual-cycle", action="store_true",
                       help="vipermu's --use_virtual: the cycle goes through a second random target and back")
    group.add_argument("--alpha-rec", type=float, default=1.0,
                       help="--virtual-cycle: weight of the virtual cycle, 1 - alpha on the ordinary one (default 1, "
                            "as vipermu)")
    group.add_argument("--n_critic", type=int, default=5, help="critic updates per generator update (default 5)")
    group.add_argument("--lr_G", type=float, default=1e-4, help="G's Adam rate (default 1e-4)")
    group.add_argument("--lr_D", type=float, default=1e-4, help="D's Adam rate (default 1e-4)")
    group.add_argument("--beta1", type=float, default=0.5, help="Adam beta1 (default 0.5)")
    group.add_argument("--beta2", type=float, default=0.999, help="Adam beta2 (default 0.999)")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULE_CHOICES, default="linear-decay",
                       help="linear-decay: constant, then linearly to 0 over the last --lr-decay-epochs (official); "
                            "epoch-decay: constant, then x0.9 per epoch over the last --lr-decay-epochs (vipermu); "
                            "constant (default: %(default)s)")
    group.add_argument("--lr-decay-epochs", type=int, default=10,
                       help="the official nepochs_decay (default 10; the whole run when >= -epochs)")
    group.add_argument("--image-size", "--image_size", dest="image_size", type=int, default=None,
                       help="image side the networks take; faces are read at this size (default: the data set's)")
    group.add_argument("--g_conv_dim", type=int, default=64, help="G's base width (default 64)")
    group.add_argument("--d_conv_dim", type=int, default=64, help="D's base width (default 64)")
    group.add_argument("--g_repeat_num", type=int, default=6, help="G's residual blocks (default 6)")
    group.add_argument("--d_repeat_num", type=int, default=6,
                       help="D's stride-2 convs (default 6; the image size must be divisible by 2**N)")
    add_upsample_option(group)
    add_au_condition_option(group)
    group.add_argument("--skips", action="store_true",
                       help="not in the originals: G's up blocks are concatenated with its encoder's maps of the same "
                            "size (U-Net skips), so the colour map can copy the input's detail where the mask is "
                            "not quite 1 (both frameworks)")
    group.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flips")
    add_mixed_precision_option(group, " (Keras networks only)")
    add_au_critic_options(group)
    group.add_argument("--sample-interval", type=int, default=500, help="sample grid every N steps (default 500)")
    group.add_argument("--checkpoint-interval", type=int, default=0,
                       help="checkpoint every N steps (default: every --sample-interval and each epoch end)")

    use = parser.add_argument_group("translate, evaluate and animate")
    use.add_argument("--aus", help="translate: the target AUs, 'AU12=3,AU06=2' (0..5; unnamed AUs 0) or 17 values")
    use.add_argument("--aus-delta", help="translate: change the input's AUs (needs them: a data file input), e.g. "
                                         "'AU12=+2,AU04=-1'")
    use.add_argument("--aus-file", metavar="PATH",
                     help="animate: a GANimation AU file ('<file> v1 .. v17' per line, 0..5), one frame per line")
    use.add_argument("--reference", metavar="DIR",
                     help="animate: a folder of reference faces: their AUs (by --judge, or the critic's AU head) "
                          "drive the frames, in file-name order")
    use.add_argument("--from-aus", help="animate: the first expression: an AU vector or an expression name (happy, "
                                        "sad, ...), interpolated to --to-aus")
    use.add_argument("--to-aus", help="animate: the last expression (an AU vector or an expression name)")
    use.add_argument("--frames", type=int, default=12, help="animate: frames of an interpolation (default 12)")
    use.add_argument("--fps", type=float, default=8.0, help="animate: GIF frames per second (default 8)")
    use.add_argument("--keep-above", type=float, default=None, metavar="T",
                     help="translate, animate, evaluate; not in the originals: pixels whose attention exceeds T "
                          "(0 < T < 1) are the input's exactly, so the colour map's faint share stops leaking into "
                          "what the mask mostly keeps; it trades AU strength for fidelity (docs/ganimation.md)")


def config_from_args(args: argparse.Namespace, img_size: int, channels: int) -> GANimationConfig:
    from ccyclegan.errors import UsageError

    try:
        return GANimationConfig(
            framework=args.framework, img_size=img_size, channels=channels, g_conv_dim=args.g_conv_dim,
            d_conv_dim=args.d_conv_dim, g_repeat_num=args.g_repeat_num, d_repeat_num=args.d_repeat_num,
            upsample=args.upsample, au_condition=args.au_condition, skips=args.skips,
            lambda_D_prob=args.lambda_D_prob, lambda_D_cond=args.lambda_D_cond, cond_per_batch=args.cond_per_batch,
            lambda_D_gp=args.lambda_D_gp, gp_step=args.gp_step, lambda_cyc=args.lambda_cyc, lambda_mask=args.lambda_mask,
            lambda_mask_smooth=args.lambda_mask_smooth, mask_smooth_form=args.mask_smooth_form,
            lambda_kept_colour=args.lambda_kept_colour, lambda_identity=args.lambda_identity,
            au_loss=args.au_loss, target_noise=args.target_noise, clip_targets=args.clip_targets,
            virtual_cycle=args.virtual_cycle, alpha_rec=args.alpha_rec, n_critic=args.n_critic, lr_G=args.lr_G,
            lr_D=args.lr_D, beta1=args.beta1, beta2=args.beta2, lr_schedule=args.lr_schedule,
            lr_decay_epochs=args.lr_decay_epochs, epochs=args.epochs, batch_size=args.batch_size, flip=args.flip,
            au_low_pass=args.au_low_pass, au_shift=args.au_shift, au_luminance=args.au_luminance,
            critic_warmup=args.critic_warmup,
            mixed_precision=args.mixed_precision,
            sample_interval=args.sample_interval, checkpoint_interval=args.checkpoint_interval, seed=args.seed,
            log_style=args.log_style, xla=args.xla)
    except ValueError as error:
        raise UsageError(str(error)) from None


def au_source_spec(dataset: str):
    """The spec of `--dataset`; a data set without AU vectors is refused by name."""
    from ccyclegan.data.sources import source_spec
    from ccyclegan.errors import UsageError

    spec = source_spec(dataset)
    if spec.conditioning != "aus":
        names = ", ".join(n for n in ("ganimation", "synthetic-ganimation", "openface", "synthetic-openface"))
        raise UsageError(f"GANimation trains on AU vectors; --dataset {dataset} conditions on {spec.conditioning}. "
                         f"Use one of {names}")
    return spec


def load_au_source(dataset: str, data, *, image_size: int | None, synthetic_n=None, seed: int = 0):
    """A data set with AU vectors (`--dataset`), read at `image_size` (default: its own)."""
    from ccyclegan.data.sources import load_source
    from ccyclegan.errors import UsageError

    au_source_spec(dataset)
    if image_size is not None and image_size < 4:
        raise UsageError(f"--image-size must be >= 4, got {image_size}")
    options = {"size": image_size} if image_size is not None else {}
    return load_source(dataset, data, synthetic_n=synthetic_n, seed=seed, **options)


def run(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import run_mode

    return run_mode(args, train_command, "train.ganimation_use")


def train_command(args: argparse.Namespace) -> dict:
    import dataclasses

    from ccyclegan.cli import default_run_dir, print_parameters, run_length
    from ccyclegan.distribute import make_strategy

    # Bad options are refused before a first run spends a minute rendering its faces.
    expected_size, _, expected_channels = au_source_spec(args.dataset).image_shape
    config_from_args(args, args.image_size or expected_size, expected_channels)
    source = load_au_source(args.dataset, args.data, image_size=args.image_size, synthetic_n=args.synthetic_n,
                            seed=args.seed)
    size, _, channels = source.image_shape
    config = config_from_args(args, size, channels)
    out = Path(args.out) if args.out else default_run_dir("ganimation", args.experiment or args.dataset)
    print_parameters({**dataclasses.asdict(config), "dataset": args.dataset, "out": str(out)})
    print(f"> {args.dataset} ({source.path}): {len(source.train)} training faces, {len(source.held_out)} held out, "
          f"{'x'.join(map(str, source.image_shape))}")
    strategy = make_strategy(args.strategy, args.cpu_devices)
    context = {"dataset": args.dataset, "data": str(source.path),
               "data_options": {"image_size": args.image_size}, "strategy": args.strategy,
               "max_steps": args.max_steps}
    _, summary = train(config, source.train.images, source.train.aus, out, sample_images=source.held_out.images,
                       sample_aus=source.held_out.aus, **run_length(args), resume=args.resume,
                       strategy=strategy, context=context)
    print(f"Done: {summary['steps']} steps in {summary['seconds']:.0f} s; generator saved to {summary['generator']}")
    if args.evaluate_after:
        from train.ganimation_use import evaluate_command

        summary["evaluation"] = evaluate_command(argparse.Namespace(**{**vars(args), "model": str(out)}))
    return summary
