"""Networks of the CCycleGAN log's earlier experiments (gtesei/ccyclegan T1-T17), as Keras 3 functional models.

The final model (T18-T27, `models.ccyclegan`) uses 'valid' convolutions and ConvTranspose up blocks. The earlier
experiments use a Keras-GAN-style U-Net instead: 'same' padding, stride-2 4x4 convolutions down (48 -> 24 -> 12 ->
6 -> 3 at the original's 48x48x1) and UpSampling(2) + stride-1 4x4 convolutions up. The normalisation is the same
keras-contrib `InstanceNormalization()` (per-sample scalar; `StableScalarInstanceNorm`, its finite-gradient form), after the LeakyReLU(0.2) in the
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

from ccyclegan.layers import StableScalarInstanceNorm
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


def _same_down_block(x, filters: int, name: str, normalise: bool = True, strides: int = 2):
    """Conv(k4, s2, same) -> LeakyReLU(0.2) -> scalar IN (the original's `conv2d` / `d_layer`)."""
    x = layers.Conv2D(filters, 4, strides=strides, padding="same", name=f"{name}_conv")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(x)
    if normalise:
        x = StableScalarInstanceNorm(name=f"{name}_norm")(x)
    return x


def _upsample_block(x, skip, filters: int, name: str, strides: int = 1):
    """UpSampling(2) -> Conv(k4, s1, same, ReLU) -> scalar IN -> concat([up, skip]) (the original's `deconv2d`;
    its `dropout_rate` is always 0, so there is no dropout). T12's first two up blocks use stride 2."""
    x = layers.UpSampling2D(2, name=f"{name}_upsample")(x)
    x = layers.Conv2D(filters, 4, strides=strides, padding="same", activation="relu", name=f"{name}_conv")(x)
    x = StableScalarInstanceNorm(name=f"{name}_norm")(x)
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


G_LABEL_PLACES = ("input", "concat-bottleneck", "multiply-bottleneck", "none")
D_LABEL_PLACES = ("input", "after", "none")
D_HEADS = ("patch", "dense", "acgan")
CONCAT_LABEL_CHANNELS = 11  # T5/T6/T9: Embedding(7, 99) = 3 x 3 x 11 at the original's 3x3 bottleneck


def _label_at_bottleneck(x, label, num_classes: int, place: str):
    """T5 ("concat-bottleneck": Embedding(C, s*s*11) concatenated after the flattened map, 3x3x267 at 48 px) or T11
    ("multiply-bottleneck": Embedding(C, s*s*ch) multiplied element-wise with the flattened map)."""
    size, channels = x.shape[1], x.shape[-1]
    flat = layers.Flatten(name="bottleneck_flatten")(x)
    if place == "multiply-bottleneck":
        embedding = layers.Flatten(name="label_flatten")(
            layers.Embedding(num_classes, size * size * channels, name="label_embedding")(label))
        x = layers.Multiply(name="label_multiply")([flat, embedding])
        return layers.Reshape((size, size, channels), name="conditioned_bottleneck")(x)
    embedding = layers.Flatten(name="label_flatten")(
        layers.Embedding(num_classes, size * size * CONCAT_LABEL_CHANNELS, name="label_embedding")(label))
    x = layers.Concatenate(name="label_concat")([flat, embedding])
    return layers.Reshape((size, size, channels + CONCAT_LABEL_CHANNELS), name="conditioned_bottleneck")(x)


def build_unet_generator(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32,
                         label_place: str = "input", extra_blocks: int = 0, name: str = "G") -> keras.Model:
    """The U-Net G of T1-T16 with the label where each experiment put it; inputs [label (int, (B, 1)), image], or
    the image alone for `label_place="none"` (T4's unconditional CycleGAN generators).

    label_place: "input" (T1-T4, T10, T13-T16: Embedding(C, H*W*C) times the image), "concat-bottleneck" (T5-T9:
    Embedding(C, s*s*11) concatenated to the flattened bottleneck), "multiply-bottleneck" (T11, T13, T16:
    Embedding(C, s*s*ch) times the flattened bottleneck), "none". `extra_blocks` (T12: 2) adds stride-1 down
    blocks at the bottleneck width (the label then enters after the last one) and, to mirror them, up blocks of
    UpSampling(2) -> stride-2 conv that stay at the bottleneck size.
    """
    if label_place not in G_LABEL_PLACES:
        raise ValueError(f"label_place must be one of {G_LABEL_PLACES}, got {label_place!r}")
    if extra_blocks < 0:
        raise ValueError(f"extra_blocks must be >= 0, got {extra_blocks}")
    _check_size(img_size)
    label = None if label_place == "none" else keras.Input((1,), dtype="int32", name="label")
    if label_place == "input":
        label, image, x = _label_times_image(img_size, channels, num_classes)
    else:
        image = keras.Input((img_size, img_size, channels), name="image")
        x = image
    skips = []
    for i in range(NUM_DOWN):
        x = _same_down_block(x, gf * 2**i, name=f"down{i + 1}")
        skips.append(x)
    for i in range(extra_blocks):  # T12's d5, d6: stride 1, same width as d4
        x = _same_down_block(x, gf * 2 ** (NUM_DOWN - 1), name=f"down{NUM_DOWN + i + 1}", strides=1)
        skips.append(x)
    if label_place in ("concat-bottleneck", "multiply-bottleneck"):
        x = _label_at_bottleneck(x, label, num_classes, label_place)
    up = 0
    for skip_index in range(len(skips) - 2, -1, -1):
        up += 1
        stride = 2 if skip_index >= NUM_DOWN - 1 else 1  # T12's extra up blocks stay at the bottleneck size
        filters = gf * 2 ** min(skip_index, NUM_DOWN - 1)
        x = _upsample_block(x, skips[skip_index], filters, name=f"up{up}", strides=stride)
    inputs = image if label is None else [label, image]
    return keras.Model(inputs, _output_block(x, channels), name=name)


def build_t1_generator(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32,
                       name: str = "G") -> keras.Model:
    """T1's conditional U-Net G (T1-T10, T13-T16 use the same network; T11/T12 move the label to the bottleneck).

    [label (int, (B, 1)), image] -> image. The image is multiplied by Embedding(num_classes, H*W*C)(label), then
    four down blocks Conv(k4, s2, same) -> LeakyReLU(0.2) -> scalar IN (24x24x32, 12x12x64, 6x6x128, 3x3x256 at
    48 px), three up blocks UpSampling(2) -> Conv(k4, same, ReLU) -> scalar IN -> concat skip, and UpSampling(2) ->
    Conv(channels, k4, same, tanh). At the original's sizes: 1,558,479 parameters.
    """
    return build_unet_generator(img_size, channels, num_classes, gf, "input", name=name)


def build_patch_discriminator(img_size: int = 48, channels: int = 1, num_classes: int = 7, df: int = 64,
                              label_place: str = "input", head: str = "patch", name: str = "D") -> keras.Model:
    """The PatchGAN D of T1-T16 with each experiment's conditioning and head. Every output is a logit (no sigmoid):
    the trainer applies the experiment's loss (mse = LSGAN on the map, or sigmoid cross-entropy).

    label_place: "input" (T1: [label, image], the image times Embedding(C, H*W*C)), "after" (T14/T15: the
    validity map times Embedding(C, s*s)), "none" (T4, T9: image only). head: "patch" (the validity map
    (B, s, s, 1)), "dense" (T3: Dense(128) on the validity map -> LeakyReLU -> Dropout(0.4) -> Flatten ->
    Dense(1)), "acgan" (T9: [validity map, Dense(C + 1) class logits on the flattened last block; class C =
    "fake"]).
    """
    if label_place not in D_LABEL_PLACES:
        raise ValueError(f"label_place must be one of {D_LABEL_PLACES}, got {label_place!r}")
    if head not in D_HEADS:
        raise ValueError(f"head must be one of {D_HEADS}, got {head!r}")
    size = _check_size(img_size)
    label = None if label_place == "none" else keras.Input((1,), dtype="int32", name="label")
    if label_place == "input":
        label, image, x = _label_times_image(img_size, channels, num_classes)
    else:
        image = keras.Input((img_size, img_size, channels), name="image")
        x = image
    for i in range(NUM_DOWN):
        x = _same_down_block(x, df * 2**i, name=f"d{i + 1}", normalise=i > 0)
    features = x
    validity = layers.Conv2D(1, 4, strides=1, padding="same", name="validity", dtype="float32")(x)
    if label_place == "after":
        embedding = layers.Flatten(name="label_flatten")(
            layers.Embedding(num_classes, size * size, name="label_embedding")(label))
        flat = layers.Flatten(name="validity_flatten")(validity)
        validity = layers.Reshape((size, size, 1), name="conditioned_validity", dtype="float32")(
            layers.Multiply(name="label_multiply", dtype="float32")([flat, embedding]))
    outputs = validity
    if head == "dense":
        x = layers.Dense(128, name="head_dense")(validity)
        x = layers.LeakyReLU(LEAKY_SLOPE, name="head_lrelu")(x)
        x = layers.Dropout(0.4, name="head_dropout")(x)
        x = layers.Flatten(name="head_flatten")(x)
        outputs = layers.Dense(1, name="gan_logit", dtype="float32")(x)
    elif head == "acgan":
        flat = layers.Flatten(name="flatten")(features)
        outputs = [validity, layers.Dense(num_classes + 1, name="class_logits", dtype="float32")(flat)]
    inputs = image if label is None else [label, image]
    return keras.Model(inputs, outputs, name=name)


def build_t1_discriminator(img_size: int = 48, channels: int = 1, num_classes: int = 7, df: int = 64,
                           name: str = "D") -> keras.Model:
    """T1's conditional PatchGAN D (T1, T2, T10, T11, T13, T16; T14/T15 condition the validity map instead).

    [label (int, (B, 1)), image] -> validity map (B, img/16, img/16, 1), linear (T1 trains it with mse, LSGAN).
    The image is multiplied by Embedding(num_classes, H*W*C)(label); then four Conv(k4, s2, same) -> LeakyReLU(0.2)
    blocks (scalar IN on all but the first; 24, 12, 6, 3 px with 64..512 channels at 48 px) and Conv(1, k4, s1,
    same). At the original's sizes: 2,778,823 parameters.
    """
    return build_patch_discriminator(img_size, channels, num_classes, df, "input", "patch", name=name)


def build_resnet50_discriminator(weights=None, img_size: int = 48, channels: int = 3, num_classes: int = 7,
                                 name: str = "D") -> keras.Model:
    """T6/T7/T8's D: C1's network (models.classifier.build_c1_label_match): [label, image] -> P(real and matching).

    ImageNet ResNet50 (no top, trainable) -> GAP ++ Embedding(C, 100) -> Dense(1024, ReLU) -> Dense(1, sigmoid).
    `weights`: None (random) or a local ResNet50 no-top weights file; never downloaded. ResNet50 needs >= 32 px.
    """
    from models.classifier import build_c1_label_match

    model = build_c1_label_match(weights, (img_size, img_size, channels), num_classes, gray_input=channels == 1)
    return keras.Model(model.inputs, model.outputs, name=name)


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
                                label_channels: int = 8, onehot_label: bool = False,
                                name: str = "G_dec") -> keras.Model:
    """T17's G_dec: [z1, z2, z3, z4, label (int, (B, 1))] -> image.

    The label goes through Embedding(num_classes, s*s*label_channels) (72 = 3*3*8 at 48 px), is reshaped to an
    s x s x label_channels map and concatenated after z4 (3x3x264); then three UpSampling(2) -> Conv(k4, same, ReLU)
    -> scalar IN -> concat skip blocks and UpSampling(2) -> Conv(channels, k4, same, tanh). There is no 1x1 conv or
    transform layer at the bottleneck (those come with T18/T20). The original hard-codes the 3x3 and 72; here they
    follow img_size. At the original's sizes: 870,111 parameters. `onehot_label=True` takes a one-hot (B, C) label
    instead (the trainer's convention): a bias-free Dense on it is the embedding lookup, with the same weights.
    """
    bottleneck = _check_size(img_size)
    feature_inputs = [
        keras.Input((img_size // 2 ** (i + 1),) * 2 + (gf * 2**i,), name=f"z{i + 1}") for i in range(NUM_DOWN)
    ]
    units = bottleneck * bottleneck * label_channels
    if onehot_label:  # the trainer's calling convention; a bias-free Dense on a one-hot vector is the same lookup
        label = keras.Input((num_classes,), name="label")
        embedding = layers.Dense(units, use_bias=False, name="label_embedding")(label)
    else:
        label = keras.Input((1,), dtype="int32", name="label")
        embedding = layers.Embedding(num_classes, units, name="label_embedding")(label)
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


def build_t17(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 32, df: int = 64,
              onehot_label: bool = False):
    """T17's three networks: (G_enc, G_dec, D)."""
    return (build_t17_generator_encoder(img_size, channels, gf),
            build_t17_generator_decoder(img_size, channels, num_classes, gf, onehot_label=onehot_label),
            build_t17_discriminator(img_size, channels, num_classes, df))
