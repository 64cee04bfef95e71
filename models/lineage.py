"""Networks of the CCycleGAN log's earlier experiments (gtesei/ccyclegan T1-T17), as Keras 3 functional models.

The final model (T18-T27, `models.ccyclegan`) uses 'valid' convolutions and ConvTranspose up blocks. The earlier
experiments use a Keras-GAN-style U-Net instead: 'same' padding, stride-2 4x4 convolutions down (48 -> 24 -> 12 ->
6 -> 3 at the original's 48x48x1) and UpSampling(2) + stride-1 4x4 convolutions up. The normalisation is the same
keras-contrib `InstanceNormalization()` (per-sample scalar, `ScalarInstanceNorm`), after the LeakyReLU(0.2) in the
down blocks and after the ReLU in the up blocks.

- T1 (shared by T1-T16 except where the log says otherwise): `build_t1_generator` and `build_t1_discriminator`,
  both conditioned on an int label by `Embedding(num_classes, H*W*C)` multiplied element-wise with the flattened
  input image. Inputs are `[label, image]` in that order, as the original.
- T17 (first split of G): `build_t17_generator_encoder`, `build_t17_generator_decoder` (label embedded and
  concatenated at the bottleneck) and `build_t17_discriminator` (unconditional, two Dense(800) heads).

With the originals' sizes the parameter counts are the reference's Keras 3 rebuild: T1 G 1,558,479 and D 2,778,823;
T17 G_enc 689,128, G_dec 870,111 and D 10,135,310.
"""

from __future__ import annotations

import keras
from keras import layers

from ccyclegan.layers import ScalarInstanceNorm
from models.ccyclegan import LEAKY_SLOPE, multitask_heads

NUM_DOWN = 4  # the U-Net depth of T1-T17 (four stride-2 blocks: 48 -> 3)


def _check_size(img_size: int, num_down: int = NUM_DOWN) -> int:
    """The bottleneck size img_size / 2**num_down; 'same' stride-2 convolutions and UpSampling(2) only invert each
    other when every size on the way is even."""
    factor = 2**num_down
    if img_size < factor or img_size % factor:
        raise ValueError(f"img_size must be a positive multiple of {factor} for a {num_down}-level U-Net "
                         f"with 'same' padding, got {img_size}")
    return img_size // factor


def _same_down_block(x, filters: int, name: str, normalise: bool = True):
    """Conv(k4, s2, same) -> LeakyReLU(0.2) -> scalar IN (the original's `conv2d` / `d_layer`)."""
    x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"{name}_conv")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(x)
    if normalise:
        x = ScalarInstanceNorm(name=f"{name}_norm")(x)
    return x


def _upsample_block(x, skip, filters: int, name: str):
    """UpSampling(2) -> Conv(k4, s1, same, ReLU) -> scalar IN -> concat([up, skip]) (the original's `deconv2d`;
    its `dropout_rate` is always 0, so there is no dropout)."""
    x = layers.UpSampling2D(2, name=f"{name}_upsample")(x)
    x = layers.Conv2D(filters, 4, strides=1, padding="same", activation="relu", name=f"{name}_conv")(x)
    x = ScalarInstanceNorm(name=f"{name}_norm")(x)
    return layers.Concatenate(name=f"{name}_skip")([x, skip])


def _output_block(x, channels: int):
    """UpSampling(2) -> Conv(channels, k4, s1, same, tanh): the image in [-1, 1]."""
    x = layers.UpSampling2D(2, name="output_upsample")(x)
    return layers.Conv2D(channels, 4, strides=1, padding="same", activation="tanh", name="output_conv",
                         dtype="float32")(x)


def _label_times_image(img_size: int, channels: int, num_classes: int):
    """[label (int, shape (1,)), image] and the image multiplied element-wise by Embedding(label) (T1's input
    conditioning: one learned 48x48x1 mask per class)."""
    label = keras.Input((1,), dtype="int32", name="label")
    image = keras.Input((img_size, img_size, channels), name="image")
    size = img_size * img_size * channels
    embedding = layers.Embedding(num_classes, size, name="label_embedding")(label)
    embedding = layers.Flatten(name="label_flatten")(embedding)
    flat_image = layers.Flatten(name="image_flatten")(image)
    x = layers.Multiply(name="label_multiply")([flat_image, embedding])
    x = layers.Reshape((img_size, img_size, channels), name="conditioned_image")(x)
    return label, image, x


def build_t1_generator(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32,
                       name: str = "G") -> keras.Model:
    """T1's conditional U-Net G (T1-T10, T13-T16 use the same network; T11/T12 move the label to the bottleneck).

    [label (int, (B, 1)), image] -> image. The image is multiplied by Embedding(num_classes, H*W*C)(label), then
    four down blocks Conv(k4, s2, same) -> LeakyReLU(0.2) -> scalar IN (24x24x32, 12x12x64, 6x6x128, 3x3x256 at
    48 px), three up blocks UpSampling(2) -> Conv(k4, same, ReLU) -> scalar IN -> concat skip, and UpSampling(2) ->
    Conv(channels, k4, same, tanh). At the original's sizes: 1,558,479 parameters.
    """
    _check_size(img_size)
    label, image, x = _label_times_image(img_size, channels, num_classes)
    skips = []
    for i in range(NUM_DOWN):
        x = _same_down_block(x, gf * 2**i, name=f"down{i + 1}")
        skips.append(x)
    for i in range(NUM_DOWN - 1):
        skip_index = NUM_DOWN - 2 - i
        x = _upsample_block(x, skips[skip_index], gf * 2**skip_index, name=f"up{i + 1}")
    return keras.Model([label, image], _output_block(x, channels), name=name)


def build_t1_discriminator(img_size: int = 48, channels: int = 1, num_classes: int = 7, df: int = 64,
                           name: str = "D") -> keras.Model:
    """T1's conditional PatchGAN D (T1, T2, T10, T11, T13, T16; T14/T15 condition the validity map instead).

    [label (int, (B, 1)), image] -> validity map (B, img/16, img/16, 1), linear (T1 trains it with mse, LSGAN).
    The image is multiplied by Embedding(num_classes, H*W*C)(label); then four Conv(k4, s2, same) -> LeakyReLU(0.2)
    blocks (scalar IN on all but the first; 24, 12, 6, 3 px with 64..512 channels at 48 px) and Conv(1, k4, s1,
    same). At the original's sizes: 2,778,823 parameters.
    """
    _check_size(img_size)
    label, image, x = _label_times_image(img_size, channels, num_classes)
    for i in range(NUM_DOWN):
        x = _same_down_block(x, df * 2**i, name=f"d{i + 1}", normalise=i > 0)
    validity = layers.Conv2D(1, 4, strides=1, padding="same", name="validity", dtype="float32")(x)
    return keras.Model([label, image], validity, name=name)


def build_t17_generator_encoder(img_size: int = 48, channels: int = 1, gf: int = 32,
                                name: str = "G_enc") -> keras.Model:
    """T17's G_enc: image -> [z1, z2, z3, z4] (24x24x32, 12x12x64, 6x6x128, 3x3x256 at 48 px, gf=32).

    T1's down path without the label: four Conv(k4, s2, same) -> LeakyReLU(0.2) -> scalar IN blocks.
    At the original's sizes: 689,128 parameters.
    """
    _check_size(img_size)
    image = keras.Input((img_size, img_size, channels), name="image")
    x, features = image, []
    for i in range(NUM_DOWN):
        x = _same_down_block(x, gf * 2**i, name=f"enc{i + 1}")
        features.append(x)
    return keras.Model(image, features, name=name)


def build_t17_generator_decoder(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32,
                                label_channels: int = 8, name: str = "G_dec") -> keras.Model:
    """T17's G_dec: [z1, z2, z3, z4, label (int, (B, 1))] -> image.

    The label goes through Embedding(num_classes, s*s*label_channels) (72 = 3*3*8 at 48 px), is reshaped to an
    s x s x label_channels map and concatenated after z4 (3x3x264); then three UpSampling(2) -> Conv(k4, same, ReLU)
    -> scalar IN -> concat skip blocks and UpSampling(2) -> Conv(channels, k4, same, tanh). There is no 1x1 conv or
    transform layer at the bottleneck (those come with T18/T20). The original hard-codes the 3x3 and 72; here they
    follow img_size. At the original's sizes: 870,111 parameters.
    """
    bottleneck = _check_size(img_size)
    feature_inputs = [
        keras.Input((img_size // 2 ** (i + 1),) * 2 + (gf * 2**i,), name=f"z{i + 1}") for i in range(NUM_DOWN)
    ]
    label = keras.Input((1,), dtype="int32", name="label")
    embedding = layers.Embedding(num_classes, bottleneck * bottleneck * label_channels, name="label_embedding")(label)
    embedding = layers.Flatten(name="label_flatten")(embedding)
    label_map = layers.Reshape((bottleneck, bottleneck, label_channels), name="label_map")(embedding)
    x = layers.Concatenate(name="label_concat")([feature_inputs[-1], label_map])
    for i in range(NUM_DOWN - 1):
        skip_index = NUM_DOWN - 2 - i
        x = _upsample_block(x, feature_inputs[skip_index], gf * 2**skip_index, name=f"dec{i + 1}")
    return keras.Model([*feature_inputs, label], _output_block(x, channels), name=name)


def build_t17_discriminator(img_size: int = 48, channels: int = 1, num_classes: int = 7, df: int = 64,
                            hidden: int = 800, name: str = "D") -> keras.Model:
    """T17's unconditional multi-task D: image -> [real/fake probability (B, 1), class softmax (B, num_classes)].

    Four Conv(k4, s2, same) -> LeakyReLU(0.2) blocks (scalar IN on all but the first) to 3x3x512 at 48 px, Flatten
    (4608), then two heads Dense(800) -> LeakyReLU(0.2) -> Dense(1, sigmoid) and Dense(800) -> LeakyReLU(0.2) ->
    Dense(num_classes, softmax). The hidden size 800 is a literal in the original (T18 on use df * 8 = 512).
    The logits are the layers `gan_logit` and `class_logits`. At the original's sizes: 10,135,310 parameters.
    """
    _check_size(img_size)
    image = keras.Input((img_size, img_size, channels), name="image")
    x = image
    for i in range(NUM_DOWN):
        x = _same_down_block(x, df * 2**i, name=f"d{i + 1}", normalise=i > 0)
    features = layers.Flatten(name="flatten")(x)
    gan, cls = multitask_heads(features, hidden, num_classes, class_activation="softmax")
    return keras.Model(image, [gan, cls], name=name)


def build_t1(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32, df: int = 64):
    """T1's two networks: (G, D)."""
    return (build_t1_generator(img_size, channels, num_classes, gf),
            build_t1_discriminator(img_size, channels, num_classes, df))


def build_t17(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32, df: int = 64):
    """T17's three networks: (G_enc, G_dec, D)."""
    return (build_t17_generator_encoder(img_size, channels, gf),
            build_t17_generator_decoder(img_size, channels, num_classes, gf),
            build_t17_discriminator(img_size, channels, num_classes, df))
