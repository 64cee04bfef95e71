"""CCycleGAN networks (gtesei/ccyclegan `models.py`, the final model T21-T27), as Keras 3 functional models.

Generator = encoder `G_enc` (image -> four feature maps z1..z4) + decoder `G_dec` (z1..z4 + target one-hot label ->
image). The label enters at the bottleneck, followed by the "transform layer" (Dense + LeakyReLU) and a linear 1x1
conv; the decoder's up blocks concatenate the encoder's maps (U-Net skips). The discriminator is multi-task: a
real/fake probability and one sigmoid per expression class.

With the T26 settings (48x48x1, gf = df = 64, 7 classes, 4 layers, kernel 4) the parameter counts are exactly the
original's: G_enc 2,754,504, G_dec 3,946,495, D 3,283,918. The original hard-codes the geometry for 48 pixels
(`output_padding=1` in the third up block); here each up block's output padding is derived from the encoder's map
sizes, which gives the same network at 48 and a working one at other sizes. `decoder_edge="replicate"` removes the
grey band that `output_padding` leaves (same parameter count).
"""

from __future__ import annotations

import keras
from keras import layers

from ccyclegan.layers import AttentionComposite, ReplicateEdge, StableScalarInstanceNorm

LEAKY_SLOPE = 0.2
# How an up-sampling step that must grow one pixel beyond (n - 1) * 2 + 4 gets it. "bias": Conv2DTranspose's
# output_padding, as the original (the extra row and column receive only the bias: the grey right/bottom band of
# its samples); "replicate": no output_padding, then the last row and column are copied (docs/differences.md).
DECODER_EDGES = ("bias", "replicate")


def conv_output_size(size: int, kernel: int = 4, stride: int = 2) -> int:
    """Spatial size after a 'valid' convolution: floor((n - k) / s) + 1."""
    return (size - kernel) // stride + 1


def encoder_sizes(img_size: int, num_layers: int = 4, kernel: int = 4) -> list[int]:
    """Spatial sizes of z1..zL for a square input, e.g. 48 -> [23, 10, 4, 1]."""
    sizes, size = [], img_size
    for layer in range(num_layers):
        size = conv_output_size(size, kernel)
        if size < 1:
            raise ValueError(
                f"a {img_size}px input is too small for {num_layers} stride-2 {kernel}x{kernel} 'valid' convolutions "
                f"(layer {layer + 1} would have size {size})"
            )
        sizes.append(size)
    return sizes


def _down_block(x, filters: int, name: str, normalise: bool = True):
    """Conv(k4, s2, valid) -> LeakyReLU(0.2) -> scalar IN: normalisation after the activation, as the original."""
    x = layers.Conv2D(filters, 4, strides=2, padding="valid", name=f"{name}_conv")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(x)
    if normalise:
        x = StableScalarInstanceNorm(name=f"{name}_norm")(x)
    return x


def build_generator_encoder(img_size: int = 48, channels: int = 1, gf: int = 64, num_layers: int = 4,
                            name: str = "G_enc") -> keras.Model:
    """G_enc: image in [-1, 1] -> [z1, ..., zL] (48x48x1, gf=64: 23x23x64, 10x10x128, 4x4x256, 1x1x512)."""
    encoder_sizes(img_size, num_layers)  # validates the geometry
    image = keras.Input((img_size, img_size, channels), name="image")
    x, features = image, []
    for i in range(num_layers):
        x = _down_block(x, gf * 2**i, name=f"enc{i + 1}")
        features.append(x)
    return keras.Model(image, features, name=name)


def _up_sample(x, filters: int, target: int, activation: str, decoder_edge: str, name: str, **kwargs):
    """ConvTranspose(k4, s2, valid) from x's size to `target` (which may be one more than (n - 1) * 2 + 4)."""
    extra = target - ((x.shape[1] - 1) * 2 + 4)
    if extra not in (0, 1):
        raise ValueError(f"cannot up-sample {x.shape[1]}px to {target}px with a 4x4 stride-2 kernel ({name})")
    if decoder_edge == "bias" or extra == 0:
        return layers.Conv2DTranspose(filters, 4, strides=2, padding="valid", activation=activation,
                                      output_padding=extra or None, name=name, **kwargs)(x)
    x = layers.Conv2DTranspose(filters, 4, strides=2, padding="valid", activation=activation, name=name, **kwargs)(x)
    return ReplicateEdge(extra, name=f"{name}_edge")(x)


def build_generator_decoder(img_size: int = 48, channels: int = 1, gf: int = 64, num_classes: int = 7,
                            num_layers: int = 4, transform_layer: bool = True, decoder_edge: str = "bias",
                            attention_mask: bool = False, name: str = "G_dec") -> keras.Model:
    """G_dec: [z1, ..., zL, one-hot label] -> image in [-1, 1].

    The label (a float vector, one-hot for expressions) is tiled over the bottleneck (1x1 at 48 px, so a plain
    concatenation there) and passed through the transform layer (Flatten -> Dense -> LeakyReLU, from T20 on) and a
    linear 1x1 conv. Each up block is ConvTranspose(k4, s2, valid, ReLU) -> scalar IN -> concat(up, skip).
    `decoder_edge`: see DECODER_EDGES.

    `attention_mask=True` (not in the original; docs/differences.md) adds GANimation's attention head beside the
    output layer: G_dec then also takes the source image and returns [A * image + (1 - A) * colour, A], so a pixel
    the expression does not touch can be kept exactly instead of being redrawn.
    """
    if decoder_edge not in DECODER_EDGES:
        raise ValueError(f"decoder_edge must be one of {DECODER_EDGES}, got {decoder_edge!r}")
    sizes = encoder_sizes(img_size, num_layers)
    feature_inputs = [
        keras.Input((size, size, gf * 2**i), name=f"z{i + 1}") for i, size in enumerate(sizes)
    ]
    label = keras.Input((num_classes,), name="label")

    bottleneck, bottleneck_size = feature_inputs[-1], sizes[-1]
    label_map = layers.Reshape((1, 1, num_classes), name="label_map")(label)
    if bottleneck_size > 1:
        label_map = layers.UpSampling2D(bottleneck_size, name="label_tile")(label_map)
    x = layers.Concatenate(name="label_concat")([bottleneck, label_map])
    if transform_layer:
        units = bottleneck_size * bottleneck_size * x.shape[-1]
        x = layers.Flatten(name="transform_flatten")(x)
        x = layers.Dense(units, name="transform_dense")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name="transform_lrelu")(x)
        x = layers.Reshape((bottleneck_size, bottleneck_size, units // bottleneck_size**2), name="transform_map")(x)
    x = layers.Conv2D(gf * 2 ** (num_layers - 1), 1, padding="valid", name="bottleneck_conv")(x)

    for i in range(num_layers - 1):
        skip_index = num_layers - 2 - i
        x = _up_sample(x, gf * 2 ** (num_layers - 2 - i), sizes[skip_index], "relu", decoder_edge,
                       name=f"dec{i + 1}_deconv")
        x = StableScalarInstanceNorm(name=f"dec{i + 1}_norm")(x)
        x = layers.Concatenate(name=f"dec{i + 1}_skip")([x, feature_inputs[skip_index]])

    image = _up_sample(x, channels, img_size, "tanh", decoder_edge, name="output_deconv", dtype="float32")
    if not attention_mask:
        return keras.Model([*feature_inputs, label], image, name=name)
    source = keras.Input((img_size, img_size, channels), name="image")
    attention = _up_sample(x, 1, img_size, "sigmoid", decoder_edge, name="attention_deconv", dtype="float32")
    composite = AttentionComposite(dtype="float32", name="composite")([source, image, attention])
    return keras.Model([*feature_inputs, label, source], [composite, attention], name=name)


def feature_maps(features) -> list:
    """G_enc's output as a list of maps. Why: Keras returns a one-output model's output as the bare tensor, and an
    encoder that passes only its bottleneck (AttGAN with shortcut_layers 0) would be unpacked along the batch."""
    return list(features) if isinstance(features, (list, tuple)) else [features]


def decode(decoder: keras.Model, features, label, image, training: bool = False):
    """G_dec's call for both layouts: (image, attention mask or None). A decoder with the attention head takes the
    source image as its last input and returns [composite, mask]; the original's takes neither."""
    features = feature_maps(features)
    if len(decoder.outputs) == 1:
        return decoder([*features, label], training=training), None
    composite, attention = decoder([*features, label, image], training=training)
    return composite, attention


def decoder_with_colour(decoder: keras.Model) -> keras.Model:
    """The same G_dec (shared weights) that also returns its colour map: [composite, mask, colour]. Training needs the
    colour for `ccyclegan.losses.kept_colour_error`; the exported decoder keeps its two outputs."""
    if len(decoder.outputs) != 2:
        raise ValueError(f"{decoder.name} has no attention head, so no colour map")
    colour = decoder.get_layer("composite").input[1]
    return keras.Model(decoder.inputs, [*decoder.outputs, colour], name=f"{decoder.name}_with_colour")


def build_discriminator(img_size: int = 48, channels: int = 1, df: int = 64, num_classes: int = 7,
                        num_layers: int = 4, class_activation: str = "sigmoid", name: str = "D") -> keras.Model:
    """D: image -> [real/fake probability (B,1), class probabilities (B, num_classes)].

    `class_activation` is 'sigmoid' from T21 on (one independent probability per class, trained with BCE and an
    all-zero target for fakes) and 'softmax' before. The pre-activation logits are the layers named `gan_logit`
    and `class_logits`; `discriminator_logits` exposes them for numerically stable losses.
    """
    encoder_sizes(img_size, num_layers)
    image = keras.Input((img_size, img_size, channels), name="image")
    x = image
    for i in range(num_layers):
        x = _down_block(x, df * 2**i, name=f"d{i + 1}", normalise=i > 0)
    features = layers.Flatten(name="flatten")(x)
    gan, cls = multitask_heads(features, df * 2 ** (num_layers - 1), num_classes, class_activation)
    return keras.Model(image, [gan, cls], name=name)


def multitask_heads(features, hidden: int, num_classes: int, class_activation: str = "sigmoid"):
    """The two heads of the CCycleGAN discriminators from T17 on: Dense(hidden) -> LeakyReLU -> Dense(1, sigmoid)
    for real/fake and Dense(hidden) -> LeakyReLU -> Dense(num_classes, class_activation) for the expression.
    The logits are the float32 layers `gan_logit` and `class_logits` (see `discriminator_logits`)."""
    gan = layers.Dense(hidden, name="gan_hidden")(features)
    gan = layers.LeakyReLU(LEAKY_SLOPE, name="gan_lrelu")(gan)
    gan = layers.Dense(1, name="gan_logit", dtype="float32")(gan)
    gan = layers.Activation("sigmoid", name="gan_prob", dtype="float32")(gan)

    cls = layers.Dense(hidden, name="class_hidden")(features)
    cls = layers.LeakyReLU(LEAKY_SLOPE, name="class_lrelu")(cls)
    cls = layers.Dense(num_classes, name="class_logits", dtype="float32")(cls)
    cls = layers.Activation(class_activation, name="class_prob", dtype="float32")(cls)
    return gan, cls


def discriminator_logits(discriminator: keras.Model) -> keras.Model:
    """The same D (shared weights) returning [gan_logit, class_logits] instead of probabilities."""
    return keras.Model(
        discriminator.inputs,
        [discriminator.get_layer("gan_logit").output, discriminator.get_layer("class_logits").output],
        name=f"{discriminator.name}_logits",
    )


def build_ccyclegan(img_size: int = 48, channels: int = 1, num_classes: int = 7, gf: int = 64, df: int = 64,
                    num_layers: int = 4, transform_layer: bool = True, class_activation: str = "sigmoid",
                    decoder_edge: str = "bias", attention_mask: bool = False):
    """The three networks of the final model: (G_enc, G_dec, D)."""
    return (
        build_generator_encoder(img_size, channels, gf, num_layers),
        build_generator_decoder(img_size, channels, gf, num_classes, num_layers, transform_layer, decoder_edge,
                                attention_mask),
        build_discriminator(img_size, channels, df, num_classes, num_layers, class_activation),
    )


@keras.saving.register_keras_serializable(package="ccyclegan")
class ExpressionTranslator(keras.Model):
    """The exported generator: (image, one-hot target label) -> translated image, i.e. G_dec(G_enc(x), label)
    (with the attention head: G_dec(G_enc(x), label, x)[0]).

    `class_names` (saved in its config) name the conditions it was trained on, so that translate and evaluate read
    them from the model instead of assuming FER2013's; a model exported before they were saved gets FER2013's.
    `au_condition` "change" (the AU family's option, saved too): the inputs are (image, target AUs, own AUs) and
    G_dec is given target - own.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, class_names=None, au_condition: str = "target",
                 **kwargs):
        from ccyclegan.labels import check_au_condition

        super().__init__(**kwargs)
        check_au_condition(au_condition)
        self.encoder = encoder
        self.decoder = decoder
        self.au_condition = au_condition
        num_classes = next((t.shape[-1] for t in decoder.inputs if t.name == "label"), None)
        if class_names is None:
            from ccyclegan.labels import FER_CLASSES

            class_names = FER_CLASSES
        if num_classes is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class names for a generator of {num_classes} classes")
        self.class_names = tuple(class_names)

    @property
    def has_attention(self) -> bool:
        """Whether G_dec has the attention head (it then takes the source image and also returns the mask)."""
        return len(self.decoder.outputs) == 2

    def call(self, inputs):
        return self.translate_with_attention(inputs)[0]

    @property
    def needs_own_aus(self) -> bool:
        """True when the inputs are (image, target AUs, own AUs): a generator conditioned on the AU change."""
        return self.au_condition == "change"

    def translate_with_attention(self, inputs):
        """(translation, attention mask or None): the mask shows which pixels were kept (1) or redrawn (0)."""
        from ccyclegan.labels import condition_vector

        expected = 3 if self.needs_own_aus else 2
        if len(inputs) != expected:
            what = "(image, target AUs, own AUs)" if self.needs_own_aus else "(image, label)"
            raise ValueError(f"this generator takes {what}, got {len(inputs)} inputs")
        image, label, *own = (keras.ops.convert_to_tensor(t, "float32") for t in inputs)
        label = condition_vector(self.au_condition, label, own[0] if own else None)
        return decode(self.decoder, self.encoder(image), label, image)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "class_names": list(self.class_names),
            "au_condition": self.au_condition,
        }

    @classmethod
    def from_config(cls, config):
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


# -- blocks shared with the AU-conditioned family (models/aucgan.py) -------------------------------------------------
def conv_block(x, filters: int, name: str, *, kernel: int = 4, strides: int = 2, normalise: bool = True,
               norm_layer=StableScalarInstanceNorm):
    """The down block of the Keras originals with its kernel, stride and norm as arguments: Conv(valid) ->
    LeakyReLU(0.2) -> norm, named like `_down_block` (`<name>_conv`, `<name>_lrelu`, `<name>_norm`). AU-GAN's e1..e4
    use kernel 6 (stride 3, then 2)."""
    x = layers.Conv2D(filters, kernel, strides=strides, padding="valid", name=f"{name}_conv")(x)
    x = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_lrelu")(x)
    if normalise:
        x = norm_layer(name=f"{name}_norm")(x)
    return x


def condition_bottleneck(bottleneck, label, filters: int, transform_layer: bool = True,
                         dense_initializer="glorot_uniform"):
    """The condition's entry at the bottleneck, as in `build_generator_decoder`: the label vector tiled over the
    bottleneck and concatenated, the transform layer (Flatten -> Dense -> LeakyReLU -> reshape) when asked, then a
    linear 1x1 conv to `filters` (same layer names). AU-GAN's e1 used glorot_normal for the Dense layer."""
    size, num_conditions = bottleneck.shape[1], label.shape[-1]
    label_map = layers.Reshape((1, 1, num_conditions), name="label_map")(label)
    if size > 1:
        label_map = layers.UpSampling2D(size, name="label_tile")(label_map)
    x = layers.Concatenate(name="label_concat")([bottleneck, label_map])
    if transform_layer:
        units = size * size * x.shape[-1]
        x = layers.Flatten(name="transform_flatten")(x)
        x = layers.Dense(units, kernel_initializer=dense_initializer, name="transform_dense")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name="transform_lrelu")(x)
        x = layers.Reshape((size, size, units // size**2), name="transform_map")(x)
    return layers.Conv2D(filters, 1, padding="valid", name="bottleneck_conv")(x)
