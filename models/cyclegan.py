"""The two-domain CycleGAN of the UTKFace original (`../shared/reference/ganimation_cyclegan.md` part C): the ResNet
generator and the patch discriminator as its notebooks build them, fully convolutional so that one set of weights runs
at every image size (48, 64, 96, 128, 256 pixels), which is what lets progressive training carry weights from one
size to the next.

Generator (C.3): reflect pad 3, 7x7 conv to `width`, two 3x3 stride-2 convs (2x, 4x width), `residual_blocks`
residual blocks at 4x width (reflect pad 1, 3x3 conv, IN, ReLU, reflect pad 1, 3x3 conv, IN, plus the input), two
3x3 stride-2 transposed convs back to `width`, reflect pad 3, 7x7 conv to 3 channels, tanh. Discriminator (C.4): 4x4
convs 64/2 (no norm), 128/2, 256/2, 512/1 with instance norm and LeakyReLU 0.2, then a 4x4 stride-1 conv to one
channel: a map of input_size / 8 on each side. No biases anywhere; weights ~ TruncatedNormal(0, 0.02); instance
norm per channel with scale ~ N(1, 0.02), offset 0 and epsilon 1e-5, as the original's. At the default widths the
generator has 11,383,424 parameters and the discriminator 2,765,568 (tests pin both).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ccyclegan.layers import channel_instance_norm

GENERATOR_PARAMETERS = 11_383_424  # per generator at width 64 with 9 residual blocks (reference C.3)
DISCRIMINATOR_PARAMETERS = 2_765_568  # per discriminator at width 64 (reference C.4)
SIZE_MULTIPLE = 8  # image sides must be multiples of this: the discriminator halves three times


@keras.saving.register_keras_serializable(package="cyclegan")
class ReflectionPad2D(keras.layers.Layer):
    """Pads H and W by `amount` on every side with the reflection of the border (no edge pixel repeated), as
    tf.pad(mode="REFLECT") in the original; works on maps of any size larger than `amount`."""

    def __init__(self, amount: int = 1, **kwargs):
        super().__init__(**kwargs)
        if amount < 1:
            raise ValueError(f"amount must be >= 1, got {amount}")
        self.amount = int(amount)

    def call(self, inputs):
        import tensorflow as tf

        a = self.amount
        return tf.pad(inputs, [[0, 0], [a, a], [a, a], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = [None if n is None else n + 2 * self.amount for n in (height, width)]
        return (batch, *grow, channels)

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


def _conv_init():
    return keras.initializers.TruncatedNormal(stddev=0.02)


def instance_norm(name: str) -> layers.Layer:
    """The core's per-channel affine instance norm with the original's N(1, 0.02) gamma initialisation."""
    return channel_instance_norm(name, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02))


def _check_widths(**widths) -> None:
    for name, value in widths.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def build_generator(width: int = 64, residual_blocks: int = 9, channels: int = 3, name: str = "generator",
                    image_size: int | None = None) -> keras.Model:
    """The ResNet generator; `image_size` None (the default) builds it for any size that is a multiple of 4."""
    _check_widths(width=width, residual_blocks=residual_blocks, channels=channels)
    inputs = keras.Input((image_size, image_size, channels), name="image")
    conv = dict(use_bias=False, kernel_initializer=_conv_init())
    x = ReflectionPad2D(3, name="e1_pad")(inputs)
    x = layers.Conv2D(width, 7, padding="valid", name="e1_conv", **conv)(x)
    x = layers.ReLU(name="e1_relu")(instance_norm("e1_norm")(x))
    for index, multiple in ((2, 2), (3, 4)):
        x = layers.Conv2D(width * multiple, 3, strides=2, padding="same", name=f"e{index}_conv", **conv)(x)
        x = layers.ReLU(name=f"e{index}_relu")(instance_norm(f"e{index}_norm")(x))
    for block in range(1, residual_blocks + 1):
        y = ReflectionPad2D(1, name=f"r{block}_pad1")(x)
        y = layers.Conv2D(width * 4, 3, padding="valid", name=f"r{block}_conv1", **conv)(y)
        y = layers.ReLU(name=f"r{block}_relu")(instance_norm(f"r{block}_norm1")(y))
        y = ReflectionPad2D(1, name=f"r{block}_pad2")(y)
        y = layers.Conv2D(width * 4, 3, padding="valid", name=f"r{block}_conv2", **conv)(y)
        x = layers.Add(name=f"r{block}_add")([x, instance_norm(f"r{block}_norm2")(y)])
    for index, multiple in ((1, 2), (2, 1)):
        x = layers.Conv2DTranspose(width * multiple, 3, strides=2, padding="same", name=f"d{index}_deconv", **conv)(x)
        x = layers.ReLU(name=f"d{index}_relu")(instance_norm(f"d{index}_norm")(x))
    x = ReflectionPad2D(3, name="out_pad")(x)
    outputs = layers.Conv2D(channels, 7, padding="valid", activation="tanh", dtype="float32", name="out_conv",
                            **conv)(x)
    return keras.Model(inputs, outputs, name=name)


def build_discriminator(width: int = 64, channels: int = 3, name: str = "discriminator",
                        image_size: int | None = None) -> keras.Model:
    """The patch discriminator: logits (least-squares targets 1 real / 0 fake) on a map of image_size / 8."""
    _check_widths(width=width, channels=channels)
    inputs = keras.Input((image_size, image_size, channels), name="image")
    conv = dict(kernel_size=4, padding="same", use_bias=False, kernel_initializer=_conv_init())
    x = layers.Conv2D(width, strides=2, name="h0_conv", **conv)(inputs)
    x = layers.LeakyReLU(0.2, name="h0_lrelu")(x)
    for index, (multiple, stride) in enumerate(((2, 2), (4, 2), (8, 1)), start=1):
        x = layers.Conv2D(width * multiple, strides=stride, name=f"h{index}_conv", **conv)(x)
        x = layers.LeakyReLU(0.2, name=f"h{index}_lrelu")(instance_norm(f"h{index}_norm")(x))
    outputs = layers.Conv2D(1, strides=1, dtype="float32", name="patch_logits", **conv)(x)
    return keras.Model(inputs, outputs, name=name)


def check_image_size(size: int, where: str = "image size") -> int:
    """A size both networks take: an integer multiple of 8 of at least 16 pixels."""
    if not isinstance(size, int) or size < 2 * SIZE_MULTIPLE or size % SIZE_MULTIPLE:
        raise ValueError(f"{where} must be a multiple of {SIZE_MULTIPLE} of at least {2 * SIZE_MULTIPLE} pixels "
                         f"(the discriminator halves the image three times), got {size!r}")
    return size


def patch_size(image_size: int) -> int:
    """The side of the discriminator's output map for an input of `image_size`."""
    return check_image_size(image_size) // SIZE_MULTIPLE


def count_parameters(model: keras.Model) -> int:
    return int(sum(int(ops.size(w)) for w in model.weights))
