"""AU-conditioned networks (gtesei/facial_unpaired_i2i_translation_SA_C_CC_GAN, experiments e1..e9), Keras 3.

Every generator is an encoder `G_enc` (image -> feature maps) plus a decoder `G_dec` (feature maps + AU vector ->
image), so that a translation and the self-reconstruction share one encoding, and the exported generator is
`models.ccyclegan.ExpressionTranslator` with the AU codes as its condition names. Every critic returns raw values
`[gan_logit (B, 1), class_logits (B, num_aus)]`; the trainer applies the sigmoid where an experiment had one.

| generator | critic | experiments | reference (../shared/reference/au_gan.md) |
| --- | --- | --- | --- |
| "unet": Keras U-Net, k6 (stride 3, then 2), 1x1 bottleneck, transform layer, scalar IN | "keras": multi-task | e1..e4 | 2.1 |
| "unet-e5": PyTorch U-Net, per-channel IN, one 6x6 skip, IN + LeakyReLU output | "pytorch" | e5 | 2.3 |
| "unet-e6": PyTorch U-Net k4/s2, 5x5 bottleneck, AU tiled | "pytorch" | e6 | 2.4 |
| "attgan": AttGAN encoder/decoder, BN, one skip, AU tiled at the bottleneck (+ injected once) | "attgan" | e7..e9 | 2.5, 2.6 |
| (any) | "ganimation": not in the original, GANimation's critic (`models.ganimation.build_critic`) | - | - |

At the originals' sizes (112x112x3, widths 64, 17 AUs) the parameter counts are the reference's: e1 G 14,434,755
(G_enc 6,201,032 + G_dec 8,233,723) and D 6,735,576; e5 G 13,855,369 and D 6,735,570; e6 G 6,311,049; e7 G
43,418,243; e8 G 43,557,507; AttGAN D 30,043,026.

Fixed here, the originals' behaviour by option (docs/differences-aucgan.md):
- `keras_norm`: "stable" (default) is the scalar instance norm with a finite gradient on constant maps; "original" is
  keras-contrib's, whose std gradient is 0 * inf = NaN there (the e1/e2 NaN).
- `degenerate_norm`: the e5/e6 per-channel instance norm of a 1x1 map outputs its beta (zero features: the e5/e6
  critic is blind and the e5 bottleneck carries nothing). False (default) normalises a 1x1 map over its channels
  instead (same parameter count); True reproduces the defect.
- `attention_at`: not in the original, whose title promises self-attention it never built: a SAGAN block on the
  AttGAN decoder's map of that size.
"""

from __future__ import annotations

import keras
from keras import layers

from ccyclegan.cli import check_au_trunk, check_upsample
from ccyclegan.layers import (
    AttentionComposite,
    ScalarInstanceNorm,
    SelfAttention,
    StableScalarInstanceNorm,
    channel_instance_norm,
    resize_conv,
)
from models.ccyclegan import LEAKY_SLOPE, condition_bottleneck, conv_block, discriminator_logits, multitask_heads

GENERATORS = ("unet", "unet-e5", "unet-e6", "attgan")
CRITICS = ("keras", "pytorch", "attgan", "ganimation")
GANIMATION_CRITIC_MAX_DOWNS = 6  # GANimation's six stride-2 convs (128 px -> a 2x2 critic map)
KERAS_NORMS = {"stable": StableScalarInstanceNorm, "original": ScalarInstanceNorm}
DENSE_INITIALIZERS = ("glorot_uniform", "glorot_normal")
ATTGAN_SLOPE = 0.01  # PyTorch nn.LeakyReLU()'s default, which the AttGAN blocks use
ATTGAN_MAX_FILTERS = 1024
TORCH_EPSILON = 1e-5  # PyTorch's BatchNorm / InstanceNorm epsilon
TORCH_BN_MOMENTUM = 0.9  # PyTorch momentum 0.1


def valid_size(size: int, kernel: int, stride: int) -> int:
    """Spatial size after a 'valid' convolution."""
    return (size - kernel) // stride + 1


def strided_sizes(img_size: int, kernel: int, strides, padding: int = 0) -> list[int]:
    """Sizes of the encoder's maps, with a clear error when the image is too small for the stack."""
    sizes, size = [], img_size
    for index, stride in enumerate(strides):
        size = valid_size(size + 2 * padding, kernel, stride)
        if size < 1:
            raise ValueError(f"a {img_size}px image is too small for {len(strides)} {kernel}x{kernel} convolutions "
                             f"with strides {list(strides)} (layer {index + 1} would be {size}px)")
        sizes.append(size)
    return sizes


def _transpose_to(x, filters: int, kernel: int, stride: int, target: int, name: str, *, crop: int = 0,
                  activation=None, use_bias: bool = True, dtype=None):
    """ConvTranspose('valid') from x's size to `target`, with the output padding (and a symmetric crop, PyTorch's
    `padding`) that this needs; an impossible size is an error naming the layer."""
    full = (x.shape[1] - 1) * stride + kernel - 2 * crop
    extra = target - full
    if not 0 <= extra < stride:
        raise ValueError(f"{name}: cannot up-sample {x.shape[1]}px to {target}px with kernel {kernel}, stride {stride}")
    x = layers.Conv2DTranspose(filters, kernel, strides=stride, padding="valid", output_padding=extra or None,
                               activation=activation, use_bias=use_bias, name=name, dtype=dtype)(x)
    if crop:
        x = layers.Cropping2D(crop, name=f"{name}_crop", dtype=dtype)(x)
    return x


def _up_to(x, filters: int, target: int, name: str, upsample: str, **conv_options):
    """AttGAN's x2 step to `target`: the original's ConvT(k4, s2, p1), or a resize and a 3x3 conv (`--upsample`)."""
    if upsample == "transpose":
        return _transpose_to(x, filters, 4, 2, target, name, crop=1, **conv_options)
    return resize_conv(x, filters, target, name, upsample, **conv_options)


def _tile(condition, size: int, name: str):
    """A (B, K) vector as a (B, size, size, K) map."""
    x = layers.Reshape((1, 1, condition.shape[-1]), name=f"{name}_map")(condition)
    return layers.UpSampling2D(size, name=f"{name}_tile")(x) if size > 1 else x


def _instance_norm(x, name: str, affine: bool, degenerate: bool):
    """PyTorch InstanceNorm2d (per channel). On a 1x1 map it outputs beta alone; unless `degenerate`, such a map is
    normalised over its channels instead (LayerNormalization: the same 2C parameters when affine)."""
    if x.shape[1] * x.shape[2] == 1 and not degenerate:
        return layers.LayerNormalization(axis=-1, epsilon=TORCH_EPSILON, center=affine, scale=affine, name=name)(x)
    return channel_instance_norm(name, epsilon=TORCH_EPSILON, affine=affine)(x)


def reinitialise_dense(model: keras.Model, initializer: str, seed: int | None = None) -> None:
    """Draw every Dense kernel of `model` again from `initializer` (e1's glorot_normal; convolutions keep theirs)."""
    init = keras.initializers.get({"class_name": initializer, "config": {"seed": seed}})
    for layer in model.layers:
        if isinstance(layer, layers.Dense):
            layer.kernel.assign(init(layer.kernel.shape))


# -- e1..e4: the Keras U-Net and multi-task critic ---------------------------------------------------------------------
KERAS_STRIDES = (3, 2, 2, 2)


def build_unet(img_size: int = 112, channels: int = 3, num_aus: int = 17, gf: int = 64, kernel: int = 6,
               strides=KERAS_STRIDES, transform_layer: bool = True, keras_norm: str = "stable",
               dense_initializer: str = "glorot_uniform") -> tuple[keras.Model, keras.Model]:
    """e1..e4's G (2.1): G_enc image -> [z1..zL]; G_dec [z1..zL, aus] -> tanh image.

    Encoder: Conv(k, stride, valid) -> LeakyReLU(0.2) -> scalar IN per level, filters gf * 2^i (36, 16, 6, 1 px at
    112). Decoder: the AUs at the bottleneck with the transform layer and a linear 1x1 conv (shared with CCycleGAN),
    then ConvT(k, s2, ReLU) -> IN -> concat(skip) per level, and ConvT(k, first stride, tanh) with the output padding
    that reaches the image size (1 at 112).
    """
    norm = _keras_norm(keras_norm)
    sizes = strided_sizes(img_size, kernel, strides)
    image = keras.Input((img_size, img_size, channels), name="image")
    x, features = image, []
    for i, stride in enumerate(strides):
        x = conv_block(x, gf * 2**i, f"enc{i + 1}", kernel=kernel, strides=stride, norm_layer=norm)
        features.append(x)
    encoder = keras.Model(image, features, name="G_enc")

    inputs = [keras.Input(tuple(f.shape[1:]), name=f"z{i + 1}") for i, f in enumerate(features)]
    label = keras.Input((num_aus,), name="label")
    levels = len(strides)
    x = condition_bottleneck(inputs[-1], label, gf * 2 ** (levels - 1), transform_layer, dense_initializer)
    for i in range(levels - 1):
        skip = levels - 2 - i
        x = _transpose_to(x, gf * 2**skip, kernel, strides[skip + 1], sizes[skip], f"dec{i + 1}_deconv",
                          activation="relu")
        x = norm(name=f"dec{i + 1}_norm")(x)
        x = layers.Concatenate(name=f"dec{i + 1}_skip")([x, inputs[skip]])
    output = _transpose_to(x, channels, kernel, strides[0], img_size, "output_deconv", activation="tanh",
                           dtype="float32")
    return encoder, keras.Model([*inputs, label], output, name="G_dec")


def build_keras_critic(img_size: int = 112, channels: int = 3, num_aus: int = 17, df: int = 64, kernel: int = 6,
                       strides=KERAS_STRIDES, keras_norm: str = "stable") -> keras.Model:
    """e1..e4's D (2.1): Conv blocks as the encoder (no norm on the first), Flatten, and the two Dense heads of
    CCycleGAN's `multitask_heads` (hidden = the last block's filters). Returns the logits model."""
    norm = _keras_norm(keras_norm)
    strided_sizes(img_size, kernel, strides)
    image = keras.Input((img_size, img_size, channels), name="image")
    x = image
    for i, stride in enumerate(strides):
        x = conv_block(x, df * 2**i, f"d{i + 1}", kernel=kernel, strides=stride, normalise=i > 0, norm_layer=norm)
    features = layers.Flatten(name="flatten")(x)
    gan, au = multitask_heads(features, df * 2 ** (len(strides) - 1), num_aus, "linear")
    return discriminator_logits(keras.Model(image, [gan, au], name="D"))


def _keras_norm(name: str):
    if name not in KERAS_NORMS:
        raise ValueError(f"keras_norm must be one of {tuple(KERAS_NORMS)}, got {name!r}")
    return KERAS_NORMS[name]


# -- e5, e6: the PyTorch U-Nets and critic -----------------------------------------------------------------------------
def build_torch_unet(img_size: int = 112, channels: int = 3, num_aus: int = 17, gf: int = 64, kernel: int = 6,
                     strides=KERAS_STRIDES, degenerate_norm: bool = False) -> tuple[keras.Model, keras.Model]:
    """e5's G (kernel 6, strides 3/2/2/2, 1x1 bottleneck) or e6's (kernel 4, strides 2, 5x5 bottleneck) (2.3, 2.4).

    Blocks are Conv -> InstanceNorm(affine) -> LeakyReLU(0.2); the AUs are tiled over the bottleneck, concatenated
    and mixed by a linear 1x1 conv; the decoder's blocks are ConvT -> IN -> LeakyReLU with one skip (the
    third-level map) after the first, and the output block too ends in IN + LeakyReLU (no tanh), as the original.
    """
    sizes = strided_sizes(img_size, kernel, strides)
    image = keras.Input((img_size, img_size, channels), name="image")
    x, features = image, []
    for i, stride in enumerate(strides):
        x = layers.Conv2D(gf * 2**i, kernel, strides=stride, padding="valid", name=f"enc{i + 1}_conv")(x)
        x = _instance_norm(x, f"enc{i + 1}_norm", True, degenerate_norm)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"enc{i + 1}_lrelu")(x)
        features.append(x)
    levels = len(strides)
    encoder = keras.Model(image, [features[-2], features[-1]], name="G_enc")

    skip_input = keras.Input(tuple(features[-2].shape[1:]), name=f"z{levels - 1}")
    bottleneck = keras.Input(tuple(features[-1].shape[1:]), name=f"z{levels}")
    label = keras.Input((num_aus,), name="label")
    x = layers.Concatenate(name="label_concat")([bottleneck, _tile(label, sizes[-1], "label")])
    x = layers.Conv2D(gf * 2 ** (levels - 1), 1, name="bottleneck_conv")(x)
    for i in range(levels):
        level = levels - 2 - i  # the encoder level whose size this block restores (-1: the image)
        filters, target = (gf * 2**level, sizes[level]) if level >= 0 else (channels, img_size)
        x = _transpose_to(x, filters, kernel, strides[level + 1], target, f"dec{i + 1}_deconv")
        x = _instance_norm(x, f"dec{i + 1}_norm", True, degenerate_norm)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"dec{i + 1}_lrelu", dtype="float32" if level < 0 else None)(x)
        if i == 0:
            x = layers.Concatenate(name="dec1_skip")([x, skip_input])
    return encoder, keras.Model([skip_input, bottleneck, label], x, name="G_dec")


def build_torch_critic(img_size: int = 112, channels: int = 3, num_aus: int = 17, df: int = 64, kernel: int = 6,
                       strides=KERAS_STRIDES, degenerate_norm: bool = False) -> keras.Model:
    """e5/e6's D (2.3): Conv(k6) -> [InstanceNorm, no affine, from the second block] -> LeakyReLU(0.2), Flatten,
    and two heads Linear -> ReLU -> Linear (1 and num_aus logits). `degenerate_norm`: the original's zero 1x1
    features (the critic then sees nothing)."""
    strided_sizes(img_size, kernel, strides)
    image = keras.Input((img_size, img_size, channels), name="image")
    x = image
    for i, stride in enumerate(strides):
        x = layers.Conv2D(df * 2**i, kernel, strides=stride, padding="valid", name=f"d{i + 1}_conv")(x)
        if i > 0:
            x = _instance_norm(x, f"d{i + 1}_norm", False, degenerate_norm)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"d{i + 1}_lrelu")(x)
    features = layers.Flatten(name="flatten")(x)
    return keras.Model(image, _relu_heads(features, df * 2 ** (len(strides) - 1), num_aus), name="D")


def _relu_heads(features, hidden: int, num_aus: int, au_features=None):
    """PyTorch's two heads: Linear(hidden) -> ReLU -> Linear(1) and Linear(hidden) -> ReLU -> Linear(num_aus), the
    second on `au_features` when given (an AU trunk of its own)."""
    gan = layers.Dense(hidden, activation="relu", name="gan_hidden")(features)
    gan = layers.Dense(1, name="gan_logit", dtype="float32")(gan)
    au = layers.Dense(hidden, activation="relu", name="class_hidden")(features if au_features is None else au_features)
    au = layers.Dense(num_aus, name="class_logits", dtype="float32")(au)
    return [gan, au]


# The AU head's hidden features: the Keras critic's activation layer, the ReLU Dense of the PyTorch-style ones.
AU_FEATURE_LAYERS = ("class_lrelu", "class_hidden")


def critic_with_au_features(discriminator: keras.Model) -> keras.Model:
    """The same D (shared weights) returning [gan_logit, au_logits, the AU head's hidden features]: what a
    projection term (`ccyclegan.layers.ConditionProjection`) reads, at the cost of one critic call. The AU head's
    features, because the AU regression teaches them to carry the AUs from the first step (the realness head's carry
    nothing a zero-initialised projection could learn from: a shuffled batch has the same mean AUs)."""
    names = {layer.name for layer in discriminator.layers}
    for name in AU_FEATURE_LAYERS:
        if name in names:
            return keras.Model(discriminator.inputs, [*discriminator.outputs, discriminator.get_layer(name).output],
                               name=f"{discriminator.name}_with_au_features")
    raise ValueError(f"critic {discriminator.name!r} has no dense AU head (none of the layers "
                     f"{', '.join(AU_FEATURE_LAYERS)}): a projection term needs one")


# -- e7..e9: AttGAN ----------------------------------------------------------------------------------------------------
def attgan_sizes(img_size: int, num_layers: int = 5) -> list[int]:
    """Encoder sizes of k4/s2/p1 convolutions: floor(n / 2) per layer (112 -> 56, 28, 14, 7, 3)."""
    return strided_sizes(img_size, 4, (2,) * num_layers, padding=1)


def build_attgan_generator(img_size: int = 112, channels: int = 3, num_aus: int = 17, gf: int = 64,
                           num_layers: int = 5, shortcut_layers: int = 1, inject_layers: int = 1,
                           attention_at: int | None = None, attention_mask: bool = False,
                           upsample: str = "transpose") -> tuple[keras.Model, keras.Model]:
    """e7 (inject_layers=0) and e8/e9 (inject_layers=1) G (2.5, 2.6).

    Encoder: ZeroPad(1) -> Conv(k4, s2, no bias) -> BatchNorm -> LeakyReLU(0.01), filters min(gf * 2^i, 1024).
    Decoder: the AUs tiled over the bottleneck and concatenated; ConvT(k4, s2, p1) -> BN -> ReLU blocks (the first
    with the output padding that restores an odd size, 3 -> 7); after the first `shortcut_layers` blocks the
    encoder's map of that size is concatenated, after the first `inject_layers` the AUs again, tiled; then
    ConvT(k4, s2, p1, bias) -> tanh. `attention_at`: a SAGAN block after the decoder block of that size.
    `attention_mask` (not in the original; GANimation's head, as CCycleGAN's option): G_dec also takes the source
    image and returns [A * image + (1 - A) * colour, A], with A from a parallel ConvT -> sigmoid, so that pixels the
    AUs do not move can be kept exactly (models.ccyclegan.decode calls both layouts). `upsample` (not in the
    original unless "transpose"): every ConvT of the decoder becomes a nearest or bilinear resize and a 3x3 conv.
    """
    check_upsample(upsample)
    sizes = attgan_sizes(img_size, num_layers)
    if not 0 <= shortcut_layers < num_layers or not 0 <= inject_layers < num_layers:
        raise ValueError(f"shortcut_layers and inject_layers must be within 0..{num_layers - 1}")
    decoder_sizes = sizes[-2::-1]  # the sizes the first num_layers - 1 decoder blocks restore
    if attention_at is not None and attention_at not in decoder_sizes:
        raise ValueError(f"attention_at must be the size of a decoder map, one of {decoder_sizes}; got {attention_at}")
    image = keras.Input((img_size, img_size, channels), name="image")
    x, features = image, []
    for i in range(num_layers):
        x = layers.ZeroPadding2D(1, name=f"enc{i + 1}_pad")(x)
        x = layers.Conv2D(min(gf * 2**i, ATTGAN_MAX_FILTERS), 4, strides=2, use_bias=False, name=f"enc{i + 1}_conv")(x)
        x = layers.BatchNormalization(momentum=TORCH_BN_MOMENTUM, epsilon=TORCH_EPSILON, name=f"enc{i + 1}_bn")(x)
        x = layers.LeakyReLU(ATTGAN_SLOPE, name=f"enc{i + 1}_lrelu")(x)
        features.append(x)
    kept = features[num_layers - 1 - shortcut_layers:]  # the shortcut maps, then the bottleneck
    encoder = keras.Model(image, kept, name="G_enc")

    first_kept = num_layers - shortcut_layers
    inputs = [keras.Input(tuple(f.shape[1:]), name=f"z{first_kept + i}") for i, f in enumerate(kept)]
    label = keras.Input((num_aus,), name="label")
    x = layers.Concatenate(name="label_concat")([inputs[-1], _tile(label, sizes[-1], "label")])
    for i, target in enumerate(decoder_sizes):
        filters = min(gf * 2 ** (num_layers - 1 - i), ATTGAN_MAX_FILTERS)
        x = _up_to(x, filters, target, f"dec{i + 1}_deconv", upsample, use_bias=False)
        x = layers.BatchNormalization(momentum=TORCH_BN_MOMENTUM, epsilon=TORCH_EPSILON, name=f"dec{i + 1}_bn")(x)
        x = layers.ReLU(name=f"dec{i + 1}_relu")(x)
        if i < shortcut_layers:
            x = layers.Concatenate(name=f"dec{i + 1}_skip")([x, inputs[-2 - i]])
        if i < inject_layers:
            x = layers.Concatenate(name=f"dec{i + 1}_inject")([x, _tile(label, target, f"inject{i + 1}")])
        if attention_at == target:
            x = SelfAttention(name=f"dec{i + 1}_attention")(x)
    output = _up_to(x, channels, img_size, "output_deconv", upsample, activation="tanh", dtype="float32")
    if not attention_mask:
        return encoder, keras.Model([*inputs, label], output, name="G_dec")
    source = keras.Input((img_size, img_size, channels), name="image")
    mask = _up_to(x, 1, img_size, "attention_deconv", upsample, activation="sigmoid", dtype="float32")
    composite = AttentionComposite(dtype="float32", name="composite")([source, output, mask])
    return encoder, keras.Model([*inputs, label, source], [composite, mask], name="G_dec")


def build_attgan_critic(img_size: int = 112, channels: int = 3, num_aus: int = 17, df: int = 64, num_layers: int = 5,
                        fc_dim: int = 1024, au_trunk: str = "shared") -> keras.Model:
    """e7..e9's D (2.5): ZeroPad(1) -> Conv(k4, s2, no bias) -> InstanceNorm(affine) -> LeakyReLU(0.01) per layer
    (the first included), Flatten, and two heads Linear(fc_dim) -> ReLU -> Linear (1 and num_aus logits).

    `au_trunk` "separate" (not in the original) gives the AU head convolutions of its own (layers `a1_conv`...): the
    realness game then never moves what reads the AUs, which the shared trunk lets it do (docs/aucgan.md)."""
    check_au_trunk(au_trunk, "attgan")
    attgan_sizes(img_size, num_layers)
    image = keras.Input((img_size, img_size, channels), name="image")

    def trunk(prefix: str):
        x = image
        for i in range(num_layers):
            x = layers.ZeroPadding2D(1, name=f"{prefix}{i + 1}_pad")(x)
            x = layers.Conv2D(min(df * 2**i, ATTGAN_MAX_FILTERS), 4, strides=2, use_bias=False,
                              name=f"{prefix}{i + 1}_conv")(x)
            x = _instance_norm(x, f"{prefix}{i + 1}_norm", True, degenerate=False)  # 1x1 below 64 px: over channels
            x = layers.LeakyReLU(ATTGAN_SLOPE, name=f"{prefix}{i + 1}_lrelu")(x)
        return layers.Flatten(name="flatten" if prefix == "d" else f"{prefix}_flatten")(x)

    features = trunk("d")
    au_features = trunk("a") if au_trunk == "separate" else features
    return keras.Model(image, _relu_heads(features, fc_dim, num_aus, au_features), name="D")


def ganimation_critic_downs(img_size: int) -> int:
    """GANimation's six stride-2 convs, fewer where the size does not halve that often (112 px: 4, a 7x7 map)."""
    downs = 0
    while downs < GANIMATION_CRITIC_MAX_DOWNS and img_size % 2 ** (downs + 1) == 0:
        downs += 1
    if downs == 0:
        raise ValueError(f"the GANimation critic needs an even image size, got {img_size}")
    return downs


def build_ganimation_critic(img_size: int = 112, channels: int = 3, num_aus: int = 17, df: int = 64) -> keras.Model:
    """Not in the original: GANimation's critic in this family's interface, its critic map averaged to one logit.

    Stride-2 4x4 convs with LeakyReLU and no normalisation, and an AU head that is one conv over the last map. Why:
    the AttGAN critic's AU head (instance norm, dense heads) read held-out faces at 0.167 (AU / 5) where
    GANimation's read its own at 0.065, and G learns the AUs through that head alone (docs/aucgan.md).
    """
    from models.ganimation import build_critic

    critic = build_critic(img_size, channels, num_aus, width=df, num_down=ganimation_critic_downs(img_size),
                          name="ganimation_D")
    image = keras.Input((img_size, img_size, channels), name="image")
    critic_map, aus = critic(image)
    gan_logit = layers.GlobalAveragePooling2D(dtype="float32", name="gan_logit")(critic_map)
    return keras.Model(image, [gan_logit, aus], name="D")


# -- one entry point ---------------------------------------------------------------------------------------------------
def build_aucgan(generator: str = "attgan", critic: str = "attgan", *, img_size: int = 112, channels: int = 3,
                 num_aus: int = 17, gf: int = 64, df: int = 64, transform_layer: bool = True,
                 keras_norm: str = "stable", dense_initializer: str = "glorot_uniform", degenerate_norm: bool = False,
                 inject_layers: int = 1, shortcut_layers: int = 1, fc_dim: int = 1024, attention_at: int | None = None,
                 attention_mask: bool = False, upsample: str = "transpose", au_trunk: str = "shared",
                 seed: int | None = None) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(G_enc, G_dec, D) of one experiment's architecture; D returns [gan_logit, class_logits]."""
    if generator not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {generator!r}")
    if critic not in CRITICS:
        raise ValueError(f"critic must be one of {CRITICS}, got {critic!r}")
    if dense_initializer not in DENSE_INITIALIZERS:
        raise ValueError(f"dense_initializer must be one of {DENSE_INITIALIZERS}, got {dense_initializer!r}")
    check_au_trunk(au_trunk, critic)
    if (attention_at is not None or attention_mask or upsample != "transpose") and generator != "attgan":
        raise ValueError("attention_at (the self-attention block), attention_mask and upsample are built into the AttGAN "
                         "generator only")
    shape = dict(img_size=img_size, channels=channels, num_aus=num_aus)
    if generator == "unet":
        encoder, decoder = build_unet(**shape, gf=gf, transform_layer=transform_layer, keras_norm=keras_norm,
                                      dense_initializer=dense_initializer)
    elif generator == "unet-e5":
        encoder, decoder = build_torch_unet(**shape, gf=gf, degenerate_norm=degenerate_norm)
    elif generator == "unet-e6":
        encoder, decoder = build_torch_unet(**shape, gf=gf, kernel=4, strides=(2, 2, 2, 2),
                                            degenerate_norm=degenerate_norm)
    else:
        encoder, decoder = build_attgan_generator(**shape, gf=gf, shortcut_layers=shortcut_layers,
                                                  inject_layers=inject_layers, attention_at=attention_at,
                                                  attention_mask=attention_mask, upsample=upsample)
    if critic == "keras":
        discriminator = build_keras_critic(**shape, df=df, keras_norm=keras_norm)
        if dense_initializer != "glorot_uniform":
            reinitialise_dense(discriminator, dense_initializer, seed)
    elif critic == "pytorch":
        discriminator = build_torch_critic(**shape, df=df, degenerate_norm=degenerate_norm)
    elif critic == "ganimation":
        discriminator = build_ganimation_critic(**shape, df=df)
    else:
        discriminator = build_attgan_critic(**shape, df=df, fc_dim=fc_dim, au_trunk=au_trunk)
    return encoder, decoder, discriminator
