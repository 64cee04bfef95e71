"""The AU-conditioned family (`--family aucgan`): translate a face to any vector of 17 Action Unit intensities.

The original (gtesei/facial_unpaired_i2i_translation_SA_C_CC_GAN, `../shared/reference/au_gan.md`) went through
two generations, e1..e4 in Keras and e5..e9 in PyTorch; `train/experiments_aucgan.py` names each. One trainer runs
them all:

- critic step: targets for each image (K other samples' AUs + U(-noise, noise), clipped, or the 17 one-AU
  complements of e5), fakes G(x, target) without gradient to G; the adversarial loss by name (bce /
  nonsaturating, lsgan, lsgan-sigmoid (e3's least squares on a sigmoid: not a Wasserstein critic), wgan-gp with
  the penalty at real/fake interpolates); the AU loss by name on the real images' AUs, and with `d_au_on_fakes`
  (e1..e4) also on the fakes against their targets; `joint_d_batch` (e1..e4) averages everything over the one
  (K+1)B batch Keras trained on;
- generator step every `d_g_ratio` iterations with fresh targets: adversarial + g_au_w x AU loss of the fakes +
  rec_w x L1 of the self-reconstruction G(x, own AUs) as the original, or of a true cycle G(G(x, t), own AUs)
  (`cycle="true"`, which the original never had).

Defaults are e8, the final model whose critic worked (AttGAN G with one AU injection, AttGAN critic, WGAN-GP,
d_g_ratio 1, lambda_cl = lambda_cyc = 10 as its committed log), conditioned on AU intensities / 5 (e9's AU_r, so
that any intensity can be asked for) with an AU head trained by BCE against those soft targets.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccyclegan.cli import LR_SCHEDULE_CHOICES
from ccyclegan.run import SplitGeneratorNetworks

MODES = ("train", "translate", "evaluate")
ADVERSARIAL_LOSSES = ("bce", "nonsaturating", "lsgan", "lsgan-sigmoid", "wgan-gp")
AU_LOSS_CHOICES = ("mse", "l1", "bce", "log-abs")
AU_HEADS = ("linear", "sigmoid")
TARGET_MODES = ("other-samples", "flip-one-au")
CYCLES = ("self", "true")
AU_KIND_CHOICES = ("intensity", "presence")
AU_NORMALIZATION_CHOICES = ("5", "column_max", "none")
GENERATOR_CHOICES = ("unet", "unet-e5", "unet-e6", "attgan")  # = models.aucgan.GENERATORS (a test holds them equal)
CRITIC_CHOICES = ("keras", "pytorch", "attgan", "ganimation")
KERAS_NORM_CHOICES = ("stable", "original")
DENSE_INIT_CHOICES = ("glorot_uniform", "glorot_normal")
# The CSV columns of the original PyTorch log (e5..e9), then the penalty when there is one.
LOG_COLUMNS = ("epoch", "batch", "d_gan_loss", "d_AU_loss", "g_gan_loss", "g_AU_loss", "reconstr_loss")
GP_COLUMN = "gradient_penalty"
AU_SMOOTH_COLUMN = "d_au_jacobian"  # logged when au_smooth_w is on
MASK_COLUMNS = ("mask_mean", "mask_tv")
KEPT_COLOUR_COLUMN = "g_kept"  # logged when kept_colour_w is on
# Logged when au_mismatch_w is on: D's realness of real faces with their own AUs minus with other faces' AUs, which
# rises above 0 as the projection critic learns which AUs a face has.
MATCH_GAP_COLUMN = "d_match_gap"
RAW_AU_MAX = 5.0  # targets of un-normalised intensities are clipped to OpenFace's 0..5


@dataclass
class AUCGANConfig:
    """Everything that defines a run; the defaults are the e8 design on AU intensities (see the module doc)."""

    # networks (models/aucgan.py)
    generator: str = "attgan"
    critic: str = "attgan"
    gf: int = 64
    df: int = 64
    fc_dim: int = 1024  # AttGAN critic heads
    au_trunk: str = "shared"  # AttGAN critic: "separate" gives the AU head convolutions the realness game never moves
    inject_layers: int = 1  # AttGAN: 1 = e8/e9, 0 = e7
    shortcut_layers: int = 1  # AttGAN: encoder maps concatenated into the decoder (the original: 1)
    transform_layer: bool = True  # Keras U-Net
    keras_norm: str = "stable"  # "original": keras-contrib's scalar IN, NaN gradient on constant maps (e1/e2)
    dense_init: str = "glorot_uniform"  # e1: glorot_normal
    degenerate_norm: bool = False  # e5/e6's zeroing 1x1 instance norm
    attention_at: int = 0  # not in the original: SAGAN block on the AttGAN decoder map of this size (0: none)
    # Not in the original: GANimation's attention mask on the AttGAN decoder (output = A x + (1 - A) colour), with
    # mask_w x mean(A) against masks saturating at 1 (no change) and mask_smooth_w x its total variation.
    attention_mask: bool = False
    mask_w: float = 0.0
    mask_smooth_w: float = 0.0
    # Not in the original: change_w x mean(1 - A), the share of the face taken from the colour map. The opposite pull
    # of mask_w, for a generator whose colour map can copy the input (the U-Net skips), where mean(A) alone drives
    # the mask to 0 and the whole face is redrawn: with it only what the AU and adversarial losses need changes.
    change_w: float = 0.0
    kept_colour_w: float = 0.0  # not in the original: mean(A |C - x|), see ccyclegan.losses.kept_colour_error
    upsample: str = "transpose"  # not in the original unless "transpose": AttGAN decoder's x2 steps (ccyclegan.cli)
    au_low_pass: bool = False  # not in the original: D's AU head reads binomially blurred faces (docs/aucgan.md)
    au_shift: int = 0  # not in the original: D's AU head reads faces moved by a random offset of up to this many px
    au_luminance: bool = False  # not in the original: D's AU head reads the faces' luminance (ccyclegan.layers)
    critic_warmup: int = 0  # not in the original: the first N iterations train D's AU regression alone
    # Not in the original: "change" gives G_dec target - own AUs instead of the target (as GANimation's option), so
    # that an AU the target keeps asks for nothing to be drawn.
    au_condition: str = "target"
    au_smooth_w: float = 0.0  # not in the original: D's AU head's Jacobian penalty (ccyclegan.losses.jacobian_penalty)
    # Not in the original: D's AU head learns on real faces moved by up to this much per pixel towards its worst
    # reading (ccyclegan.losses.adversarial_inputs), so G cannot move it with a faint pattern; 0: off.
    au_robust_eps: float = 0.0
    # Not in the original: D's realness logit gains <W y, h(x)> for the AUs y a face is said to have (a real face its
    # own, a rendering its target) and the AU head's hidden features h(x): a projection critic
    # (ccyclegan.layers.ConditionProjection), which judges the pair, and trains the AU features on the renderings.
    au_projection: bool = False
    # Not in the original: with au_projection, the critic also ranks real faces said to have their own AUs above the
    # same faces said to have other faces' AUs (softplus of the difference), weighted so (a matching-aware critic, as
    # Reed et al. 2016): it learns which AUs a face has from the start, not only once G's renderings look real.
    au_mismatch_w: float = 0.0
    img_size: int = 112
    channels: int = 3
    num_aus: int = 17
    # losses
    adversarial: str = "wgan-gp"
    gp_weight: float = 10.0
    au_loss: str = "bce"
    au_head: str = "linear"  # the AU head's activation before mse / l1 / log-abs (bce always takes the logits)
    d_gan_w: float = 1.0
    d_au_w: float = 10.0  # lambda_cl (PyTorch weighs D's and G's AU losses with the same lambda_cl)
    g_gan_w: float = 1.0
    g_au_w: float = 10.0
    rec_w: float = 10.0  # lambda_cyc
    d_au_on_fakes: bool = False  # e1..e4: D also regresses the target AUs on fakes
    joint_d_batch: bool = False  # e1..e4: one (K+1)B batch, every term averaged over it
    cycle: str = "self"
    # targets
    target_mode: str = "other-samples"
    targets_per_image: int = 1
    target_noise: float = 0.1
    # data
    au_kind: str = "intensity"
    au_normalization: str = "5"
    # schedule
    d_g_ratio: int = 1
    adam_lr: float = 0.0002
    adam_beta_1: float = 0.5
    adam_beta_2: float = 0.999
    # Not in the original (a constant rate): "linear-decay" keeps the rate for the first lr_decay_start of the game's
    # iterations (after critic_warmup), then takes both rates linearly to 0, so the late steps settle the AU edits
    # that a constant rate keeps shaking (CycleGAN's and GANimation's schedule).
    lr_schedule: str = "constant"
    lr_decay_start: float = 0.5
    # Not in the original: an exponential moving average of G's weights with this decay (0: none), which exports,
    # samples, translate and evaluate use (`ccyclegan.averaging`).
    g_average: float = 0.0
    g_average_span: float = 0.1
    epochs: int = 170
    batch_size: int = 32
    sample_interval: int = 1000
    checkpoint_interval: int = 0
    flip: bool = False  # the original's flip was never switched on
    sampling: str = "epoch"  # "replacement": the original's batches drawn with replacement
    seed: int = 0
    log_style: str = "bar"
    xla: bool = False
    mixed_precision: bool = False  # bfloat16 compute, float32 weights, heads and losses; exports are float32

    def __post_init__(self):
        choices = {"generator": GENERATOR_CHOICES, "critic": CRITIC_CHOICES, "keras_norm": KERAS_NORM_CHOICES,
                   "dense_init": DENSE_INIT_CHOICES, "adversarial": ADVERSARIAL_LOSSES, "au_loss": AU_LOSS_CHOICES,
                   "au_head": AU_HEADS, "cycle": CYCLES, "target_mode": TARGET_MODES, "au_kind": AU_KIND_CHOICES,
                   "au_normalization": AU_NORMALIZATION_CHOICES, "sampling": ("epoch", "replacement"),
                   "lr_schedule": LR_SCHEDULE_CHOICES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        for name in ("gf", "df", "fc_dim", "epochs", "batch_size", "d_g_ratio", "targets_per_image", "img_size",
                     "num_aus"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("critic_warmup", "au_smooth_w", "au_robust_eps", "mask_w", "mask_smooth_w", "change_w",
                     "kept_colour_w", "gp_weight", "d_gan_w", "au_mismatch_w",
                     "d_au_w", "g_gan_w", "g_au_w", "rec_w", "target_noise", "sample_interval", "checkpoint_interval",
                     "attention_at", "inject_layers", "shortcut_layers"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        from ccyclegan.cli import check_au_trunk, check_au_view, check_upsample
        from ccyclegan.labels import check_au_condition

        check_au_view(self.au_shift, self.au_luminance, self.img_size, self.channels)
        check_upsample(self.upsample)
        check_au_trunk(self.au_trunk, self.critic)
        check_au_condition(self.au_condition)
        if self.target_mode == "flip-one-au" and self.targets_per_image not in (1, self.num_aus):
            raise ValueError(f"target_mode flip-one-au makes {self.num_aus} targets per image (one per AU); "
                             f"targets_per_image must be left at 1 or be {self.num_aus}")
        if self.au_loss == "log-abs" and self.au_head != "sigmoid":
            raise ValueError("au_loss log-abs needs predictions in [0, 1]: use au_head sigmoid (as e4's models_gan)")
        if self.au_kind == "presence" and self.au_normalization != "5":
            raise ValueError("au_normalization applies to intensities; presence labels are 0/1 already")
        if (self.attention_at or self.attention_mask or self.upsample != "transpose") and self.generator != "attgan":
            raise ValueError("attention_at, attention_mask and upsample need the AttGAN generator (generator attgan)")
        weighted = [f"{name}={getattr(self, name)}" for name in ("mask_w", "mask_smooth_w", "change_w",
                                                                   "kept_colour_w") if getattr(self, name)]
        if weighted and not self.attention_mask:
            raise ValueError(f"{', '.join(weighted)}: weights of the attention mask or its colour map, which only "
                             f"attention_mask (--attention-mask) builds")
        if self.au_mismatch_w and not self.au_projection:
            raise ValueError(f"au_mismatch_w={self.au_mismatch_w} weighs a term of the projection critic: set "
                             f"au_projection (--au-projection) too")
        if self.au_projection and self.critic == "ganimation":
            raise ValueError("au_projection needs a critic with a dense AU head (keras, pytorch or attgan); "
                             "the ganimation critic's AU head is a convolution")
        if self.au_robust_eps >= 1:
            raise ValueError(f"au_robust_eps={self.au_robust_eps} is a per-pixel change in [-1, 1] units: a value "
                             f"of 1 or more can turn any face into any other; use a small one such as au-cpu's 0.015")
        if not 0.0 <= self.lr_decay_start < 1.0:
            raise ValueError(f"lr_decay_start must be in [0, 1) (the fraction of the game after which the rate "
                             f"falls), got {self.lr_decay_start}")
        from ccyclegan.averaging import check_decay, check_span

        check_decay(self.g_average, "g_average")
        check_span(self.g_average_span, "g_average_span")
        if not self.g_average and self.g_average_span != AUCGANConfig.g_average_span:
            raise ValueError(f"g_average_span={self.g_average_span} shapes a weight average the run does not keep: "
                             f"set g_average (--g-average DECAY) too")
        if self.mask_w and self.change_w:
            raise ValueError(f"mask_w={self.mask_w} and change_w={self.change_w} pull mean(A) in opposite directions "
                             f"and only their difference trains: set one of them")

    @property
    def fakes_per_image(self) -> int:
        return self.num_aus if self.target_mode == "flip-one-au" else self.targets_per_image

    @property
    def au_max(self) -> float:
        """The largest value an AU target can take in model units."""
        return RAW_AU_MAX if self.au_kind == "intensity" and self.au_normalization == "none" else 1.0


def resumable_fields(config: AUCGANConfig) -> tuple:
    """Config fields a resumed run may change: its length (unless a schedule spans it) and how it reports."""
    length = ("epochs",) if config.lr_schedule == "constant" else ()
    return (*length, "log_style", "sample_interval", "checkpoint_interval", "xla")


class AUCGANTrainer(SplitGeneratorNetworks):
    """Owns G_enc, G_dec, D, one Adam per network, and the compiled critic and generator steps.

    `total_steps` (the run's iterations) and `steps_per_epoch` are needed only by a learning-rate schedule other
    than "constant"; without them (e.g. when a checkpoint is opened to translate) the optimizers keep the initial
    rate.
    """

    def __init__(self, config: AUCGANConfig, strategy=None, total_steps: int | None = None,
                 steps_per_epoch: int | None = None):
        import keras
        import tensorflow as tf

        from ccyclegan.layers import AUHeadView
        from ccyclegan.precision import MIXED_POLICY, dtype_policy
        from ccyclegan.steps import ReplicaSteps

        self.config = c = config
        self.steps = ReplicaSteps(strategy, xla=c.xla)
        self.strategy = self.steps.strategy
        self.au_view = AUHeadView.of_run(c)
        keras.utils.set_random_seed(c.seed)
        with self.strategy.scope():
            with dtype_policy(MIXED_POLICY if c.mixed_precision else "float32"):
                self.encoder, self.decoder, self.discriminator = self.build_networks()
            # D's two outputs alone (the same layers): a call that needs one computes only its path, which matters
            # where the AU head has a trunk of its own
            self._realness_reader = keras.Model(self.discriminator.inputs, self.discriminator.outputs[0])
            self._au_reader = keras.Model(self.discriminator.inputs, self.discriminator.outputs[1])
            if c.kept_colour_w:
                from models.ccyclegan import decoder_with_colour

                self._colour_decoder = decoder_with_colour(self.decoder)
            self.projection = None
            if c.au_projection:
                from ccyclegan.layers import ConditionProjection
                from models.aucgan import critic_with_au_features

                self._critic_with_features = critic_with_au_features(self.discriminator)
                self.projection = ConditionProjection(name="au_projection")
                self.projection.build([(None, self._critic_with_features.outputs[2].shape[-1]), (None, c.num_aus)])
            d_rate, g_rate = self._learning_rates(total_steps, steps_per_epoch)
            self.d_optimizer = keras.optimizers.Adam(d_rate, c.adam_beta_1, c.adam_beta_2)
            self.g_optimizer = keras.optimizers.Adam(g_rate, c.adam_beta_1, c.adam_beta_2)
            self.d_optimizer.build(self.critic_variables)
            self.g_optimizer.build(self.generator_variables)
            if c.critic_warmup:
                self.make_warmup_optimizer(self.discriminator.trainable_variables, c.adam_lr, c.adam_beta_1,
                                           c.adam_beta_2)
            if c.g_average:
                from ccyclegan.averaging import WeightAverage

                self.weight_average = WeightAverage((self.encoder, self.decoder), c.g_average,
                                                    c.g_average_span)
        self.global_batch = c.batch_size
        self._d_gradients = self.steps.gradients(self._d_gradients_and_values)
        self._g_gradients = self.steps.gradients(self._g_gradients_and_values)
        self._d_step = self.steps.distributed(self._d_replica_step)
        self._g_step = self.steps.distributed(self._g_replica_step)
        self._warmup_step = self.steps.distributed(self._warmup_replica_step)
        self._tf = tf

    def _learning_rates(self, total_steps: int | None, steps_per_epoch: int | None):
        """D's and G's rates over the game's own updates: the warm-up iterations train the warm-up optimizer, so a
        schedule spans the iterations after them (the generator turns counted as if the game began an epoch)."""
        from ccyclegan.steps import critic_and_generator_rates

        c = self.config
        game_steps = None if total_steps is None else max(1, total_steps - c.critic_warmup)
        return critic_and_generator_rates(c.lr_schedule, c.adam_lr, c.adam_lr, game_steps, steps_per_epoch,
                                          c.d_g_ratio, c.lr_decay_start)

    @property
    def critic_variables(self) -> list:
        """What the critic's Adam trains: D's weights and, with au_projection, the projection's."""
        extra = self.projection.trainable_variables if self.projection is not None else []
        return self.discriminator.trainable_variables + extra

    @property
    def networks(self) -> dict:
        return {**super().networks, **({"D_projection": self.projection} if self.projection is not None else {})}

    def build_networks(self):
        from models.aucgan import build_aucgan

        c = self.config
        return build_aucgan(c.generator, c.critic, img_size=c.img_size, channels=c.channels, num_aus=c.num_aus,
                            gf=c.gf, df=c.df, transform_layer=c.transform_layer, keras_norm=c.keras_norm,
                            dense_initializer=c.dense_init, degenerate_norm=c.degenerate_norm,
                            inject_layers=c.inject_layers, shortcut_layers=c.shortcut_layers, fc_dim=c.fc_dim,
                            attention_at=c.attention_at or None, attention_mask=c.attention_mask,
                            upsample=c.upsample, au_trunk=c.au_trunk, seed=c.seed)

    @property
    def log_columns(self) -> tuple:
        return (LOG_COLUMNS + ((GP_COLUMN,) if self.config.adversarial == "wgan-gp" else ())
                + (MASK_COLUMNS if self.config.attention_mask else ())
                + ((KEPT_COLOUR_COLUMN,) if self.config.kept_colour_w else ())
                + ((MATCH_GAP_COLUMN,) if self.config.au_mismatch_w else ())
                + ((AU_SMOOTH_COLUMN,) if self.config.au_smooth_w else ()))

    # -- the maths, per replica --------------------------------------------------------------------------------------
    def targets(self, aus, seed):
        """((K B, num_aus) targets, K): K-major, i.e. [target 1 of every image, target 2, ...]."""
        tf = self._tf
        c = self.config
        if c.target_mode == "flip-one-au":  # e5: every AU complemented in turn (1 - x), one copy per AU
            eye = tf.eye(c.num_aus)[:, None, :]  # (17, 1, 17)
            flipped = aus[None] * (1.0 - eye) + (c.au_max - aus[None]) * eye
            return tf.reshape(flipped, [-1, c.num_aus]), c.num_aus
        from ccyclegan.au import targets_from_other_samples

        raw = c.au_max != 1.0  # raw 0..5 intensities (e1/e2): clip to 0..5, not to the model range [0, 1]
        targets = targets_from_other_samples(aus, seed, noise=c.target_noise, clip=not raw,
                                             count=c.targets_per_image)
        if raw:
            targets = tf.clip_by_value(targets, 0.0, c.au_max)
        return targets, c.targets_per_image

    def translate(self, features, targets, copies: int, training: bool, images=None, colour: bool = False, *,
                  own):
        """(G_dec of encoder features repeated `copies` times (K-major) with `targets`, attention masks or None);
        `images` (the sources, B of them) feed the attention head; `own`, the B sources' own AUs, make the condition
        target - own under au_condition "change". `colour`: also the colour maps (with kept_colour_w on)."""
        from ccyclegan.labels import condition_vector
        from models.ccyclegan import decode, feature_maps

        tf = self._tf
        features = feature_maps(features)
        if copies > 1:
            features = [tf.tile(z, [copies, 1, 1, 1]) for z in features]
            images = None if images is None else tf.tile(images, [copies, 1, 1, 1])
            own = tf.tile(own, [copies, 1])
        label = condition_vector(self.config.au_condition, targets, own)
        if colour:
            return tuple(self._colour_decoder([*features, label, images], training=training))
        return decode(self.decoder, features, label, images, training)

    def _au_predictions(self, logits):
        c = self.config
        if c.au_loss == "bce" or c.au_head == "linear":
            return logits
        return self._tf.sigmoid(logits)

    def _adversarial_inputs(self, logits):
        """The critic's raw output, or its sigmoid for e3's least squares on a sigmoid."""
        return self._tf.sigmoid(logits) if self.config.adversarial == "lsgan-sigmoid" else logits

    def _critic(self, faces, conditions, training: bool, with_aus: bool = True):
        """D's (realness logits, AU logits) of faces said to have the AUs `conditions`; these count only with
        au_projection, whose term joins the realness logit."""
        gan, au, features = self._critic_parts(faces, training, with_aus)
        return self._realness(gan, features, conditions), au

    def _critic_parts(self, faces, training: bool, with_aus: bool = True):
        """D's (realness logits without the projection, AU logits, the AU head's hidden features or None); the AU
        logits are None when `with_aus` is False (the caller reads the AUs through the AU view, or not at all)."""
        if self.projection is None:
            if not with_aus:
                return self._realness_reader(faces, training=training), None, None
            return (*self.discriminator(faces, training=training), None)
        return tuple(self._critic_with_features(faces, training=training))

    def _realness(self, gan, features, conditions):
        return gan if self.projection is None else gan + self.projection([features, conditions])

    def _adversarial_mode(self) -> str:
        return {"lsgan-sigmoid": "lsgan", "wgan-gp": "wgan"}.get(self.config.adversarial, self.config.adversarial)

    def _d_gradients_and_values(self, images, aus, seed):
        tf = self._tf
        from ccyclegan.losses import au_loss, discriminator_adversarial_loss, gradient_penalty, jacobian_penalty
        from ccyclegan.steps import global_mean

        c = self.config
        targets, copies = self.targets(aus, seed)
        fakes = tf.stop_gradient(self.translate(self.encoder(images, training=True), targets, copies, True, images,
                                                own=aus)[0])
        batch, n_fake = self.global_batch, self.global_batch * copies
        robust = self._robust_faces(images, aus, seed) if c.au_robust_eps else None
        with tf.GradientTape() as tape:
            # One critic call on reals and fakes: every critic normalises per sample, so this is the two calls' maths.
            gan, au, features = self._critic_parts(tf.concat([images, fakes], axis=0), True,
                                                   with_aus=not self.au_view.changes_faces)
            real_count = tf.shape(images)[0]
            if c.au_mismatch_w:  # the real faces said to have the first block of targets (other faces' AUs)
                mismatched = self._realness(gan[:real_count], features[:real_count], targets[:real_count])
            gan = self._realness(gan, features, tf.concat([aus, targets], axis=0))
            real_gan, fake_gan = gan[:real_count], gan[real_count:]
            if self.au_view.changes_faces:
                au = self._critic_aus(tf.concat([images, fakes], axis=0), self._shift_seed(seed, 0))
            real_au, fake_au = au[:real_count], au[real_count:]
            if robust is not None:  # the head learns the real faces' AUs from their worst nearby versions
                real_au = self._critic_aus(robust, self._shift_seed(seed, 0))
            on_real, on_fake = discriminator_adversarial_loss(
                self._adversarial_mode(), self._adversarial_inputs(real_gan), self._adversarial_inputs(fake_gan))
            au_real = au_loss(c.au_loss, aus, self._au_predictions(real_au))
            if c.joint_d_batch:  # Keras: one batch of B reals and K B fakes, each output's loss its mean
                joint = batch + n_fake
                gan_loss = global_mean(on_real, joint) + global_mean(on_fake, joint)
                au_value = global_mean(au_real, joint)
                if c.d_au_on_fakes:
                    au_value += global_mean(au_loss(c.au_loss, targets, self._au_predictions(fake_au)), joint)
            else:
                gan_loss = global_mean(on_real, batch) + global_mean(on_fake, n_fake)
                au_value = global_mean(au_real, batch)
                if c.d_au_on_fakes:
                    au_value += global_mean(au_loss(c.au_loss, targets, self._au_predictions(fake_au)), n_fake)
            if c.au_mismatch_w:  # a logistic ranking of own over other AUs: bounded whatever the adversarial loss
                # (as a linear WGAN term it has no optimum: the gap grew to 1e4 in 2,000 iterations)
                on_mismatch = tf.nn.softplus(tf.reshape(mismatched - real_gan, [-1]))
                gan_loss += c.au_mismatch_w * global_mean(on_mismatch, batch)
            total = c.d_gan_w * gan_loss + c.d_au_w * au_value
            values = {"d_gan_loss": gan_loss, "d_AU_loss": au_value}
            if c.au_mismatch_w:
                values[MATCH_GAP_COLUMN] = global_mean(tf.reshape(real_gan - mismatched, [-1]), batch)
            if c.adversarial == "wgan-gp":
                # e5 penalised at the last block of fakes only (AU45 flipped); one fake per real here too. With
                # au_projection the critic is a function of the face at the fakes' targets.
                fake_targets = targets[-tf.shape(images)[0]:]
                penalty = global_mean(gradient_penalty(lambda x: self._critic(x, fake_targets, True, False)[0], images,
                                                       fakes[-tf.shape(images)[0]:], seed=seed + 1), batch)
                total += c.gp_weight * penalty
                values[GP_COLUMN] = penalty
            if c.au_smooth_w:  # the AU head kept smooth where it reads: on the reals and on one fake per real
                faces = tf.concat([images, fakes[-tf.shape(images)[0]:]], axis=0)
                smoothness = global_mean(jacobian_penalty(self._read_au_values, faces, self._shift_seed(seed, 2)),
                                         2 * batch)
                total += c.au_smooth_w * smoothness
                values[AU_SMOOTH_COLUMN] = smoothness
        grads = tape.gradient(total, self.critic_variables)
        return grads, values

    def _shift_seed(self, seed, stream: int):
        """A seed of its own for the AU head's random shifts (the step's seeds are (seed, 4 step + 0..2))."""
        return seed + self._tf.constant([1_000_003, stream], self._tf.int64)

    def _critic_aus(self, faces, seed, training: bool = True):
        """D's AU output on faces, through the low-pass and the random shift when the run asks for them."""
        return self._au_reader(self.au_view(faces, seed), training=training)

    def _robust_faces(self, images, aus, seed):
        """Real faces moved by up to au_robust_eps per pixel towards the AU head's largest error on them."""
        from ccyclegan.losses import adversarial_inputs, au_loss

        def head_error(faces):
            predictions = self._au_predictions(self._critic_aus(faces, self._shift_seed(seed, 0)))
            return au_loss(self.config.au_loss, aus, predictions)

        return adversarial_inputs(head_error, images, self.config.au_robust_eps, self._shift_seed(seed, 3))

    def _warmup_replica_step(self, images, aus, seed):
        from ccyclegan.steps import au_regression_update

        def read_aus(faces):
            return self._au_predictions(self._critic_aus(faces, self._shift_seed(seed, 0)))

        if self.config.au_robust_eps:
            images = self._robust_faces(images, aus, seed)
        loss = au_regression_update(read_aus, self.discriminator.trainable_variables, self.warmup_optimizer, images,
                                    aus, self.config.au_loss, self.global_batch)
        return {"d_AU_loss": loss}

    def _d_replica_step(self, images, aus, seed):
        grads, values = self._d_gradients(images, aus, seed)
        self.d_optimizer.apply_gradients(zip(grads, self.critic_variables))
        return values

    def _g_gradients_and_values(self, images, aus, seed):
        tf = self._tf
        from ccyclegan.losses import (
            attention_magnitude,
            attention_total_variation,
            au_loss,
            generator_adversarial_loss,
            kept_colour_error,
            mean_absolute_error,
        )
        from ccyclegan.steps import global_mean

        c = self.config
        targets, copies = self.targets(aus, seed)
        n_fake = self.global_batch * copies
        with_colour = bool(c.kept_colour_w)
        with tf.GradientTape() as tape:
            features = self.encoder(images, training=True)
            fakes, masks, *colour = self.translate(features, targets, copies, True, images, colour=with_colour,
                                                   own=aus)
            if with_colour:  # the colour maps of the renderings, then of the reconstructions
                kept = global_mean(kept_colour_error(tf.tile(images, [copies, 1, 1, 1]), masks, colour[0]), n_fake)
            fake_gan, fake_au = self._critic(fakes, targets, False, with_aus=not self.au_view.changes_faces)
            if self.au_view.changes_faces:
                fake_au = self._critic_aus(fakes, self._shift_seed(seed, 1), training=False)
            gan_loss = global_mean(generator_adversarial_loss(self._adversarial_mode(),
                                                              self._adversarial_inputs(fake_gan)), n_fake)
            au_value = global_mean(au_loss(c.au_loss, targets, self._au_predictions(fake_au)), n_fake)
            if c.cycle == "self":  # the original: x decoded with its own AUs from its one encoding
                reconstruction, back_masks, *back_colour = self.translate(features, aus, 1, True, images,
                                                                          colour=with_colour, own=aus)
                rec_loss = global_mean(mean_absolute_error(reconstruction, images), self.global_batch)
                if with_colour:
                    kept += global_mean(kept_colour_error(images, back_masks, back_colour[0]), self.global_batch)
            else:  # G(G(x, t), y_source)
                cycled, back_masks, *back_colour = self.translate(self.encoder(fakes, training=True),
                                                                  tf.tile(aus, [copies, 1]), 1, True, fakes,
                                                                  colour=with_colour, own=targets)
                rec_loss = global_mean(mean_absolute_error(cycled, tf.tile(images, [copies, 1, 1, 1])), n_fake)
                if with_colour:
                    kept += global_mean(kept_colour_error(fakes, back_masks, back_colour[0]), n_fake)
            total = c.g_gan_w * gan_loss + c.g_au_w * au_value + c.rec_w * rec_loss
            values = {"g_gan_loss": gan_loss, "g_AU_loss": au_value, "reconstr_loss": rec_loss}
            if masks is not None:
                mask_mean = global_mean(attention_magnitude(masks), n_fake)
                mask_tv = global_mean(attention_total_variation(masks), n_fake)
                total += c.mask_w * mask_mean + c.change_w * (1.0 - mask_mean) + c.mask_smooth_w * mask_tv
                values.update(mask_mean=mask_mean, mask_tv=mask_tv)
            if with_colour:
                total += c.kept_colour_w * kept
                values[KEPT_COLOUR_COLUMN] = kept
        grads = tape.gradient(total, self.generator_variables)
        return grads, values

    def _g_replica_step(self, images, aus, seed):
        grads, values = self._g_gradients(images, aus, seed)
        self.g_optimizer.apply_gradients(zip(grads, self.generator_variables))
        if self.weight_average is not None:
            self.weight_average.update()
        return values

    # -- what the loop calls -----------------------------------------------------------------------------------------
    def train_step(self, batch, epoch: int, batch_index: int, step: int | None = None):
        """A critic update, then a generator update on G's turns (batch_index % d_g_ratio == 0); critic-only
        iterations are returned unlogged, for the loop's non-finite guard. Targets come from stateless seeds of
        (seed, step), so a resumed run draws the same ones."""
        from ccyclegan.loop import StepResult
        from ccyclegan.steps import generator_turn

        tf = self._tf
        images, aus = batch
        step = epoch * 1_000_003 + batch_index if step is None else step
        d_seed = tf.constant([self.config.seed, 4 * step], tf.int64)
        if step < self.config.critic_warmup:
            return StepResult(self._warmup_step(images, aus, d_seed), log=False)
        values = self._d_step(images, aus, d_seed)
        if not generator_turn(batch_index, self.config.d_g_ratio):
            return StepResult(values, log=False)
        values = {**values, **self._g_step(images, aus, d_seed + tf.constant([0, 2], tf.int64))}
        return {k: values[k] for k in self.log_columns[2:]}

    def _read_au_values(self, faces, training: bool = True):
        """D's AU head on faces, in model units (the sigmoid of BCE's logits), through the view it trained with but
        no shift."""
        from ccyclegan.layers import AUHeadView

        logits = self._au_reader(AUHeadView.of_run(self.config, shift=False)(faces, None), training=training)
        return self._tf.sigmoid(logits) if self.config.au_loss == "bce" else self._au_predictions(logits)

    def read_critic_aus(self, faces, batch_size: int = 128) -> np.ndarray:
        """D's AU head on faces in [-1, 1], in model units, through the low-pass it trained with but no shift
        (evaluate reports how well it reads: G learns the AUs through this head alone)."""
        tf = self._tf
        return np.concatenate([self._read_au_values(tf.constant(faces[i:i + batch_size], tf.float32), False).numpy()
                               for i in range(0, len(faces), batch_size)])

    # -- using the generator -----------------------------------------------------------------------------------------
    def translator(self, networks: tuple | None = None):
        """The exported generator: (image in [-1, 1], AU vector in model units) -> image, float32; `networks`: the
        `float32_networks()` to build it from, when the caller has them already."""
        import tensorflow as tf

        from ccyclegan.data.sources import AU_CLASS_NAMES
        from models.ccyclegan import ExpressionTranslator

        c = self.config
        encoder, decoder = (networks or self.float32_networks())[:2]
        model = ExpressionTranslator(encoder, decoder, class_names=AU_CLASS_NAMES[:c.num_aus],
                                     au_condition=c.au_condition, name="aucgan_generator")
        aus = tf.zeros([1, c.num_aus])
        model([tf.zeros([1, c.img_size, c.img_size, c.channels]), aus] + ([aus] if model.needs_own_aus else []))
        return model

    def float32_networks(self) -> tuple:
        """(G_enc, G_dec, D) to export: the networks themselves, or float32 copies after mixed precision or of G's
        weight average (the networks keep training on their own weights)."""
        from ccyclegan.steps import float32_copies

        networks = (self.encoder, self.decoder, self.discriminator)
        if self.weight_average is None and not self.config.mixed_precision:
            return networks
        with self.generator_average_in():
            return float32_copies(self.build_networks, networks)

    def exports(self) -> dict:
        """The run's exported files; one float32 copy of each network serves both (mixed precision builds them)."""
        networks = self.float32_networks()
        return {"generator.keras": self.translator(networks), "discriminator.keras": networks[2]}

    def translate_images(self, images: np.ndarray, targets: np.ndarray, own: np.ndarray,
                         batch_size: int = 64) -> np.ndarray:
        """Float images in [-1, 1] (N, H, W, C) with their own AUs translated to targets (N, num_aus), in
        inference mode."""
        import tensorflow as tf

        images, targets, own = (tf.convert_to_tensor(a, tf.float32) for a in (images, targets, own))
        out = []
        for start in range(0, len(images), batch_size):
            chunk, rows = images[start:start + batch_size], slice(start, start + batch_size)
            translated, _ = self.translate(self.encoder(chunk, training=False), targets[rows], 1, False, chunk,
                                           own=own[rows])
            out.append(np.asarray(translated))
        return np.concatenate(out)


def sample_grid(trainer: AUCGANTrainer, faces: np.ndarray, aus: np.ndarray) -> np.ndarray:
    """Training samples: row r is face r, its reconstruction, then its translations to the AUs of the other rows'
    faces (shown in the top row's titles by their face number)."""
    from ccyclegan.viz import rows_grid

    n = len(faces)
    rows, titles = [], []
    for r in range(n):
        targets = np.concatenate([aus[r:r + 1], np.delete(aus, r, axis=0)])
        outputs = trainer.translate_images(np.repeat(faces[r:r + 1], n, axis=0), targets,
                                           np.repeat(aus[r:r + 1], n, axis=0))
        rows.append([faces[r], outputs[0], *outputs[1:]])
        titles.append(["input", "reconstr."] + [f"AUs of {k + 1}" for k in range(n) if k != r])
    return rows_grid(rows, panel_titles=titles, row_titles=[f"face {r + 1}" for r in range(n)])


def plot_training_log(rows: list[dict], steps_per_epoch: int, path: Path) -> Path | None:
    from ccyclegan.viz import plot_curves

    if not rows:
        return None
    steps = [int(r["epoch"]) * steps_per_epoch + int(r["batch"]) for r in rows]
    names = [n for n in LOG_COLUMNS[2:] + (GP_COLUMN, MASK_COLUMNS[0]) if n in rows[0]]
    return plot_curves({n: [float(r[n]) for r in rows] for n in names}, steps, "step", path,
                       title="AU-conditioned GAN training losses")


def original_log_line(row: dict, epochs: int, steps: int) -> str:
    """The PyTorch scripts' line for G-step batches (the original's only logged kind here)."""
    from datetime import timedelta

    return (f"[Epoch {row['epoch']}/{epochs}] [Batch {row['batch']}/{steps}] "
            f"[D_gan loss: {row['d_gan_loss']:f}, D_AU_loss: {row['d_AU_loss']:f}] "
            f"[G_gan loss: {row['g_gan_loss']:05f}, G_AU_loss: {row['g_AU_loss']:05f}, "
            f"recon: {row['reconstr_loss']:05f}] time: {timedelta(seconds=row.get('elapsed', 0.0))} ")


def train(config: AUCGANConfig, images: np.ndarray, aus: np.ndarray, run_dir, *, sample_images=None,
          sample_aus=None, max_steps: int | None = None, time_limit: float | None = None, resume: bool = False,
          strategy=None, context: dict | None = None):
    """Train on uint8 faces (N, H, W, C) with their AU vectors (N, num_aus) in model units; everything goes into
    `run_dir`. Returns (trainer, summary)."""
    from ccyclegan.data.pipeline import check_faces_and_aus, image_dataset, steps_per_epoch, unit_range_array
    from ccyclegan.errors import UsageError
    from ccyclegan.loop import LoopSettings
    from ccyclegan.run import RunFolder, TrainingJob, fit

    try:
        images, aus = check_faces_and_aus(images, aus, (config.img_size, config.img_size, config.channels),
                                          config.num_aus, au_max=config.au_max,
                                          au_units=f"model units for au_normalization {config.au_normalization}")
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
    trainer = AUCGANTrainer(config, strategy, total_steps=settings.planned_steps, steps_per_epoch=spe)

    def epoch_data(epoch: int):
        dataset = image_dataset(images, aus, batch_size=config.batch_size, flip=config.flip,
                                seed=config.seed * 100_003 + epoch, repeat=False, sampling=config.sampling)
        if config.sampling == "replacement":
            dataset = dataset.take(spe)
        return trainer.strategy.experimental_distribute_dataset(dataset)

    pool_images = images if sample_images is None else sample_images
    pool_aus = aus if sample_aus is None else np.asarray(sample_aus, np.float32)
    chosen = np.random.default_rng([config.seed, 7]).choice(len(pool_images), size=min(4, len(pool_images)),
                                                           replace=False)

    def sample(epoch: int, batch_index: int) -> np.ndarray:
        with trainer.generator_average_in():
            return sample_grid(trainer, unit_range_array(pool_images[chosen]), pool_aus[chosen])

    def step(batch, epoch: int, batch_index: int):
        return trainer.train_step(batch, epoch, batch_index, step=epoch * spe + batch_index)

    def finish(out: Path, rows: list) -> dict:
        plot_training_log(rows, spe, out / "curves.png")
        return {"generator": str(out / "generator.keras")}

    job = TrainingJob(trackables=trainer.trackables, make_epoch_data=epoch_data, train_step=step,
                      log_columns=trainer.log_columns,
                      format_line=lambda row: original_log_line(row, config.epochs, spe),
                      sample=sample, optimizers=trainer.optimizers,
                      exports=trainer.exports,
                      finish=finish)
    return trainer, fit(job, settings, run, resume=resume)


# -- the command line -----------------------------------------------------------------------------------------------
OPTION_FIELDS = ("generator", "critic", "gf", "df", "fc_dim", "au_trunk", "inject_layers", "shortcut_layers",
                 "keras_norm", "attention_mask", "mask_w", "mask_smooth_w", "change_w", "kept_colour_w", "upsample",
                 "au_low_pass",
                 "au_shift", "au_luminance", "critic_warmup", "au_condition", "au_smooth_w", "au_robust_eps",
                 "au_projection", "au_mismatch_w", "dense_init", "degenerate_norm", "attention_at", "adversarial",
                 "gp_weight", "au_loss", "au_head", "d_gan_w", "d_au_w", "g_gan_w", "g_au_w", "rec_w", "d_au_on_fakes",
                 "joint_d_batch", "cycle", "target_mode", "targets_per_image", "target_noise", "au_kind",
                 "au_normalization", "d_g_ratio", "adam_lr", "adam_beta_1", "adam_beta_2", "lr_schedule",
                 "lr_decay_start", "g_average", "g_average_span", "sample_interval", "checkpoint_interval", "sampling")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = AUCGANConfig()
    from ccyclegan.cli import (
        AU_TRUNKS,
        add_au_condition_option,
        add_au_critic_options,
        add_generator_average_option,
        add_kept_colour_option,
        add_lr_schedule_options,
        add_mixed_precision_option,
        add_upsample_option,
    )

    parser.set_defaults(dataset="synthetic-openface", split="test")
    nets = parser.add_argument_group("AU-conditioned networks (--family aucgan; defaults: the e8 design)")
    nets.add_argument("--generator", choices=GENERATOR_CHOICES, default=defaults.generator,
                      help="unet: e1..e4 Keras U-Net; unet-e5 / unet-e6: the PyTorch U-Nets; attgan: e7..e9 "
                           "(default: %(default)s)")
    nets.add_argument("--critic", choices=CRITIC_CHOICES, default=defaults.critic,
                      help="keras: e1..e4 multi-task D; pytorch: e5/e6; attgan: e7..e9; ganimation: not in the "
                           "original, GANimation's critic (no norm, a conv AU head) (default: %(default)s)")
    nets.add_argument("--gf", type=int, default=defaults.gf, help="generator base width (default: %(default)s)")
    nets.add_argument("--df", type=int, default=defaults.df, help="critic base width (default: %(default)s)")
    nets.add_argument("--fc-dim", dest="fc_dim", type=int, default=defaults.fc_dim,
                      help="AttGAN critic: width of its two heads (default: %(default)s)")
    nets.add_argument("--au-trunk", choices=AU_TRUNKS, default=defaults.au_trunk,
                      help="AttGAN critic: the AU head on the realness head's convolutions (shared, the original) or "
                           "on convolutions of its own that only the AU regression trains (separate; not in the "
                           "original) (default: %(default)s)")
    nets.add_argument("--inject-layers", type=int, default=defaults.inject_layers,
                      help="AttGAN: decoder blocks after which the AUs are concatenated again (e8: 1, e7: 0)")
    nets.add_argument("--shortcut-layers", type=int, default=defaults.shortcut_layers,
                      help="AttGAN: how many encoder maps are concatenated into the decoder, from the smallest "
                           "(the original: 1; more keep more detail of the input) (default: %(default)s)")
    nets.add_argument("--keras-norm", choices=KERAS_NORM_CHOICES, default=defaults.keras_norm,
                      help="Keras nets' scalar instance norm: stable (finite gradient on constant maps) or original "
                           "(keras-contrib's, NaN there: the e1/e2 failure) (default: %(default)s)")
    nets.add_argument("--dense-init", choices=DENSE_INIT_CHOICES, default=defaults.dense_init,
                      help="Keras nets' Dense kernels: e2's glorot_uniform or e1's glorot_normal")
    nets.add_argument("--degenerate-norm", action="store_true",
                      help="e5/e6: reproduce the instance norm of 1x1 maps that outputs only its beta (blind critic)")
    nets.add_argument("--attention-at", type=int, default=0, metavar="PIXELS",
                      help="not in the original: a SAGAN self-attention block on the AttGAN decoder map of this "
                           "size (0: none)")
    nets.add_argument("--attention-mask", action="store_true",
                      help="not in the original: GANimation's attention head on the AttGAN decoder, output = A * "
                           "input + (1 - A) * colour, so pixels the AUs do not move can be kept exactly")
    nets.add_argument("--mask-w", type=float, default=0.0,
                      help="--attention-mask: weight of mean(A), against masks that saturate at 1 (no change)")
    nets.add_argument("--mask-smooth-w", type=float, default=0.0,
                      help="--attention-mask: weight of the mask's total variation")
    nets.add_argument("--change-w", type=float, default=0.0,
                      help="not in the original; --attention-mask: weight of mean(1 - A), the share of the face "
                           "redrawn: the opposite of --mask-w, for the U-Net whose colour map can copy the input, "
                           "so that only what the AUs need changes")
    add_kept_colour_option(nets, dest="kept_colour_w")
    add_upsample_option(nets)
    add_au_critic_options(nets)
    add_au_condition_option(nets)
    losses = parser.add_argument_group("AU-conditioned losses and targets")
    losses.add_argument("--adversarial", choices=ADVERSARIAL_LOSSES, default=defaults.adversarial,
                        help="bce / nonsaturating, lsgan (on the raw output), lsgan-sigmoid (e3's 'WGAN': least "
                             "squares on a sigmoid), wgan-gp (e5..e9) (default: %(default)s)")
    losses.add_argument("--gp-weight", type=float, default=defaults.gp_weight)
    losses.add_argument("--au-smooth-w", type=float, default=defaults.au_smooth_w, metavar="W",
                        help="not in the original: W x the squared Jacobian of the critic's AU head (in AU units, a "
                             "random projection) on the reals and the fakes, so that no faint pattern moves it "
                             "(default: %(default)s)")
    losses.add_argument("--au-robust-eps", type=float, default=defaults.au_robust_eps, metavar="EPS",
                        help="not in the original: the critic's AU head learns the real faces' AUs from the faces "
                             "moved by up to EPS per pixel ([-1, 1] units) towards its worst reading, so that the "
                             "generator cannot move it with a faint pattern (adversarial training; 0: off) "
                             "(default: %(default)s)")
    losses.add_argument("--au-projection", action="store_true",
                        help="not in the original: the critic's realness score gains a projection of the AUs a face "
                             "is said to have (a real face its own, a rendering its target; Miyato & Koyama 2018), "
                             "so a rendering must look like a real face with its target AUs")
    losses.add_argument("--au-mismatch-w", type=float, default=defaults.au_mismatch_w, metavar="W",
                        help="not in the original; --au-projection: the critic also ranks real faces with their own "
                             "AUs above the same faces with other faces' AUs (a logistic loss on the difference), "
                             "weight W (a matching-aware critic) (default: %(default)s)")
    losses.add_argument("--au-loss", choices=AU_LOSS_CHOICES, default=defaults.au_loss,
                        help="mse, l1, bce (logits against presence or soft intensities), log-abs (e4's "
                             "-log(1 - |a - b|)) (default: %(default)s)")
    losses.add_argument("--au-head", choices=AU_HEADS, default=defaults.au_head,
                        help="activation of the critic's AU head before mse / l1 / log-abs (default: %(default)s)")
    for flag, dest, what in (("--d-gan-w", "d_gan_w", "critic adversarial"), ("--d-au-w", "d_au_w", "critic AU"),
                             ("--g-gan-w", "g_gan_w", "generator adversarial"), ("--g-au-w", "g_au_w", "generator AU"),
                             ("--rec-w", "rec_w", "reconstruction / cycle")):
        losses.add_argument(flag, dest=dest, type=float, default=getattr(defaults, dest),
                            help=f"{what} loss weight (default: %(default)s)")
    losses.add_argument("--lambda-cl", type=float, default=None,
                        help="PyTorch style: sets --d-au-w and --g-au-w together")
    losses.add_argument("--d-au-on-fakes", action="store_true",
                        help="e1..e4: the critic also regresses the target AUs on fakes")
    losses.add_argument("--joint-d-batch", action="store_true",
                        help="e1..e4: the critic's losses averaged over one batch of B reals and K B fakes")
    losses.add_argument("--cycle", choices=CYCLES, default=defaults.cycle,
                        help="self: L1 of G(x, own AUs) (the original); true: L1 of G(G(x, t), own AUs)")
    losses.add_argument("--target-mode", choices=TARGET_MODES, default=defaults.target_mode,
                        help="other-samples (+ noise, clipped) or flip-one-au (e5: each AU complemented in turn)")
    losses.add_argument("--targets-per-image", type=int, default=defaults.targets_per_image,
                        help="K target vectors per image (e3/e4: 10) (default: %(default)s)")
    losses.add_argument("--target-noise", type=float, default=defaults.target_noise,
                        help="U(-n, n) added to every target AU, in the labels' units (the original's 0.1 on raw "
                             "0..5 intensities in e1/e2, on normalised ones later) (default: %(default)s)")
    losses.add_argument("--au-kind", choices=AU_KIND_CHOICES, default=defaults.au_kind,
                        help="intensity (AUxx_r) or presence (AUxx_c, e5..e8) (default: %(default)s)")
    losses.add_argument("--au-normalization", choices=AU_NORMALIZATION_CHOICES, default=defaults.au_normalization,
                        help="intensities divided by 5, by each AU's maximum (e3/e9), or raw 0..5 (e1/e2)")
    sched = parser.add_argument_group("AU-conditioned schedule")
    sched.add_argument("--d-g-ratio", type=int, default=defaults.d_g_ratio,
                       help="one generator update every N critic updates (default: %(default)s)")
    sched.add_argument("-adam_lr", "--adam-lr", dest="adam_lr", type=float, default=defaults.adam_lr)
    sched.add_argument("-adam_beta_1", "--adam-beta-1", dest="adam_beta_1", type=float, default=defaults.adam_beta_1)
    sched.add_argument("-adam_beta_2", "--adam-beta-2", dest="adam_beta_2", type=float, default=defaults.adam_beta_2)
    add_lr_schedule_options(sched)
    add_generator_average_option(sched, defaults.g_average, defaults.g_average_span)
    sched.add_argument("-sample_interval", "--sample-interval", dest="sample_interval", type=int,
                       default=defaults.sample_interval)
    sched.add_argument("--checkpoint-interval", type=int, default=0)
    sched.add_argument("--sampling", choices=("epoch", "replacement"), default="epoch",
                       help="replacement: the original's batches drawn with replacement")
    sched.add_argument("--image-size", type=int, default=None, metavar="PIXELS",
                       help="read the faces at this size (default: the data set's own, 112 for OpenFace)")
    add_mixed_precision_option(sched)
    use = parser.add_argument_group("AU-conditioned translate")
    use.add_argument("--aus", default=None,
                     help="translate: target AUs, 'AU12=3,AU06=2' (0..5, others 0) or 17 values, or an image whose "
                          "AUs the --judge reads")
    use.add_argument("--aus-delta", default=None, help="translate: relative edits, e.g. 'AU12=+2,AU04=-1'")
    use.add_argument("--grid", action="store_true",
                     help="translate: the AU-edit grid of each input (rows: AUs, columns: 0..5)")
    from train.aucgan_use import GENERATOR_WEIGHTS

    use.add_argument("--generator-weights", choices=GENERATOR_WEIGHTS, default="average",
                     help="evaluate a run that kept a weight average of G (--g-average) with that average (as its "
                          "export) or with the weights G trained on, from its newest checkpoint")
    use.add_argument("--grid-aus", default="1,2,4,5,6,12,15,25,26,45",
                     help="translate --grid: the AU codes swept (default: %(default)s)")


def config_from_args(args: argparse.Namespace, image_size: int) -> AUCGANConfig:
    from ccyclegan.errors import UsageError

    values = {name: getattr(args, name) for name in OPTION_FIELDS}
    if args.lambda_cl is not None:
        values.update(d_au_w=args.lambda_cl, g_au_w=args.lambda_cl)
    try:
        return AUCGANConfig(**values, img_size=image_size, epochs=args.epochs or AUCGANConfig.epochs,
                            batch_size=args.batch_size or AUCGANConfig.batch_size, seed=args.seed,
                            log_style=args.log_style, xla=args.xla, mixed_precision=args.mixed_precision,
                            flip=False)
    except ValueError as error:
        raise UsageError(str(error)) from None


def au_source_spec(dataset: str):
    """The spec of `--dataset`; a data set without AU vectors is refused by name."""
    from ccyclegan.data.sources import source_spec
    from ccyclegan.errors import UsageError

    spec = source_spec(dataset)
    if spec.conditioning != "aus":
        raise UsageError(f"--family aucgan needs AU vectors; --dataset {dataset} conditions on "
                         f"{spec.conditioning}: use openface, ganimation, synthetic-openface or synthetic-ganimation")
    return spec


def load_au_source(args: argparse.Namespace, au_kind: str = "intensity", au_normalization: str = "5"):
    """The data set of the command line with the AU options of the run."""
    from ccyclegan.data.sources import load_source
    from ccyclegan.errors import UsageError

    spec = au_source_spec(args.dataset)
    options = {}
    if args.image_size:
        options["size"] = args.image_size
    if spec.format == "openface":
        options.update(au_kind=au_kind, au_normalization=au_normalization)
    elif au_kind != "intensity" or au_normalization != "5":
        raise UsageError(f"--dataset {args.dataset} (GANimation AU file) holds intensities only, divided by 5; "
                         f"--au-kind and --au-normalization need the OpenFace format")
    return load_source(args.dataset, args.data, synthetic_n=args.synthetic_n, seed=getattr(args, "seed", 0), **options)


def run(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import run_mode

    return run_mode(args, train_command, "train.aucgan_use")


def train_command(args: argparse.Namespace) -> dict:
    from ccyclegan.cli import default_run_dir, print_parameters, run_length
    from ccyclegan.distribute import make_strategy

    # Bad options are refused before a first run spends a minute rendering its faces.
    config_from_args(args, args.image_size or au_source_spec(args.dataset).image_shape[0])
    source = load_au_source(args, args.au_kind, args.au_normalization)
    config = config_from_args(args, source.image_shape[0])
    out = Path(args.out) if args.out else default_run_dir("aucgan", args.experiment or args.dataset)
    print_parameters({**dataclasses.asdict(config), "dataset": args.dataset, "out": str(out)})
    print(f"> {args.dataset}: {len(source.train)} training and {len(source.held_out)} held-out faces of "
          f"{'x'.join(map(str, source.image_shape))}")
    strategy = make_strategy(args.strategy, args.cpu_devices)
    context = {"dataset": args.dataset, "data": str(source.path),
               "data_options": {"image_size": args.image_size, "synthetic_n": args.synthetic_n},
               "strategy": args.strategy, "max_steps": args.max_steps}
    _, summary = train(config, source.train.images, source.train.aus, out, sample_images=source.held_out.images,
                       sample_aus=source.held_out.aus, **run_length(args), resume=args.resume,
                       strategy=strategy, context=context)
    print(f"Done: {summary['steps']} steps in {summary['seconds']:.0f} s; generator saved to {summary['generator']}")
    if args.evaluate_after:
        from train.aucgan_use import evaluate_command

        summary["evaluation"] = evaluate_command(argparse.Namespace(**{**vars(args), "model": str(out)}))
    return summary
