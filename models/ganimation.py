"""GANimation networks (vipermu/ganimation `model.py` = albertpumarola/GANimation), as Keras 3 functional models.

Generator: the target AU vector is tiled over the image and concatenated to it; 7x7 conv, two 4x4 stride-2 downs,
residual blocks, two 4x4 stride-2 transposed convs (all without bias, each followed by affine per-channel instance
norm and ReLU), then two 7x7 heads: a colour map C (tanh, `channels` channels) and an attention mask A (sigmoid, one
channel). Its output is A * I + (1 - A) * C (A = 1 keeps the input pixel), the composition of every code base; the
arXiv v1 equation has A and 1 - A the other way round (`docs/differences-ganimation.md`).

Critic: six 4x4 stride-2 convs with bias and LeakyReLU(0.01), no normalisation; a 3x3 critic map (no bias) and an
AU regression head whose kernel covers the whole last map (no bias, 'valid'), flattened to (B, num_aus).

At 128x128, 17 AUs and width 64 the parameter counts are the original's: G 8,471,296 and D 44,860,352
(`../shared/reference/ganimation_cyclegan.md` A.2, A.3). Both build for any size the strides allow: G for sizes
divisible by 4, D for sizes divisible by 2**num_down.

With `au_condition="change"` (not in the originals) G takes a third input, the face's own AUs, and is conditioned
on the change target - own (the difference-vector conditioning of STGAN and RelGAN) instead of the target itself:
G then does not have to read the face's expression to know what to change. The subtraction is a layer of the model,
so an exported generator says by its inputs which AUs it needs. No weight changes: the parameter counts are the same.

Layer names are a contract: the TensorLayer port (`models/ganimation_tl.py`) maps weights layer by layer onto
them. Do not rename.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from ccyclegan.cli import check_upsample
from ccyclegan.labels import check_au_condition
from ccyclegan.layers import AttentionComposite, channel_instance_norm, resize_conv

LEAKY_SLOPE = 0.01
NORM_EPSILON = 1e-5  # PyTorch InstanceNorm2d's default


def weight_init():
    """N(0, 0.02) for every conv kernel, as both PyTorch code bases initialise them (biases start at 0)."""
    return keras.initializers.RandomNormal(0.0, 0.02)


@keras.saving.register_keras_serializable(package="ccyclegan")
class TileAUs(keras.layers.Layer):
    """[image (B, H, W, C), aus (B, A)] -> (B, H, W, A): the AU vector copied to every pixel of the image."""

    def call(self, inputs):
        image, aus = inputs
        shape = ops.shape(image)
        aus = ops.cast(aus, self.compute_dtype)
        return ops.broadcast_to(aus[:, None, None, :], (shape[0], shape[1], shape[2], ops.shape(aus)[-1]))

    def compute_output_shape(self, input_shape):
        image_shape, aus_shape = input_shape
        return (image_shape[0], image_shape[1], image_shape[2], aus_shape[-1])


def instance_norm(name: str):
    """Affine per-channel instance norm (PyTorch InstanceNorm2d(affine=True)): gamma and beta per channel."""
    return channel_instance_norm(name, epsilon=NORM_EPSILON)


def _conv_norm_relu(x, filters: int, kernel: int, stride: int, name: str, transpose: bool = False):
    conv = layers.Conv2DTranspose if transpose else layers.Conv2D
    x = conv(filters, kernel, strides=stride, padding="same", use_bias=False, kernel_initializer=weight_init(),
             name=f"{name}_conv")(x)
    x = instance_norm(f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def _residual_block(x, filters: int, name: str):
    """Conv3x3 -> IN -> ReLU -> Conv3x3 -> IN, added to the input (no ReLU after the sum)."""
    y = _conv_norm_relu(x, filters, 3, 1, f"{name}_a")
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer=weight_init(),
                      name=f"{name}_b_conv")(y)
    y = instance_norm(f"{name}_b_norm")(y)
    return layers.Add(name=f"{name}_add")([x, y])


def _up_block(x, filters: int, name: str, upsample: str):
    """x2 resolution: the original's 4x4 stride-2 transposed conv, or a resize and a 3x3 conv; then IN and ReLU."""
    if upsample == "transpose":
        return _conv_norm_relu(x, filters, 4, 2, name, transpose=True)
    x = resize_conv(x, filters, 2 * x.shape[1], f"{name}_conv", upsample, use_bias=False,
                    kernel_initializer=weight_init())
    x = instance_norm(f"{name}_norm")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def check_generator_size(img_size: int) -> None:
    if img_size < 4 or img_size % 4:
        raise ValueError(f"the generator's two stride-2 downs need an image size divisible by 4, got {img_size}")


def check_critic_size(img_size: int, num_down: int) -> None:
    if num_down < 1:
        raise ValueError(f"num_down must be >= 1, got {num_down}")
    if img_size < 2**num_down or img_size % 2**num_down:
        raise ValueError(f"the critic's {num_down} stride-2 convs need an image size divisible by {2**num_down}, "
                         f"got {img_size} (use a larger size or fewer downs, --d-repeat-num)")


def build_generator(img_size: int = 128, channels: int = 3, num_aus: int = 17, width: int = 64,
                    num_residual: int = 6, upsample: str = "transpose", au_condition: str = "target",
                    skips: bool = False, name: str = "ganimation_G") -> keras.Model:
    """G: [image in [-1, 1] (B, S, S, channels), AUs in [0, 1] (B, num_aus)] -> [composite, attention, colour];
    with au_condition="change" a third input, the face's own AUs (B, num_aus), and G is conditioned on AUs - own.

    composite (B, S, S, channels) = attention * image + (1 - attention) * colour; attention (B, S, S, 1) in [0, 1];
    colour (B, S, S, channels) in [-1, 1]. The composite is float32 (AttentionComposite). upsample: one of
    UPSAMPLE_MODES ("transpose" is the original; a resize mode has 3x3 instead of 4x4 up kernels).

    skips (not in the originals): each up block's output is concatenated with the encoder map of its size (U-Net
    style), so the colour map can copy the input's detail; without them it is drawn from the 4x-reduced bottleneck
    alone, and where the mask is not exactly 1 its difference from the input leaks into the face (docs/ganimation.md).
    """
    check_generator_size(img_size)
    check_upsample(upsample)
    check_au_condition(au_condition)
    for field, value in (("channels", channels), ("num_aus", num_aus), ("width", width)):
        if value < 1:
            raise ValueError(f"{field} must be >= 1, got {value}")
    if num_residual < 0:
        raise ValueError(f"num_residual must be >= 0, got {num_residual}")
    image = keras.Input((img_size, img_size, channels), name="image")
    aus = keras.Input((num_aus,), name="aus")
    inputs, condition = [image, aus], aus
    if au_condition == "change":
        own = keras.Input((num_aus,), name="aus_own")
        inputs, condition = [image, aus, own], layers.Subtract(name="aus_change")([aus, own])
    aus_map = TileAUs(name="aus_map")([image, condition])
    x = layers.Concatenate(name="image_and_aus")([image, aus_map])
    full = x = _conv_norm_relu(x, width, 7, 1, "in")
    half = x = _conv_norm_relu(x, width * 2, 4, 2, "down1")
    x = _conv_norm_relu(x, width * 4, 4, 2, "down2")
    for i in range(num_residual):
        x = _residual_block(x, width * 4, f"res{i + 1}")
    x = _up_block(x, width * 2, "up1", upsample)
    if skips:
        x = layers.Concatenate(name="up1_skip")([x, half])
    x = _up_block(x, width, "up2", upsample)
    if skips:
        x = layers.Concatenate(name="up2_skip")([x, full])
    colour = layers.Conv2D(channels, 7, padding="same", use_bias=False, activation="tanh",
                           kernel_initializer=weight_init(), dtype="float32", name="colour")(x)
    attention = layers.Conv2D(1, 7, padding="same", use_bias=False, activation="sigmoid",
                              kernel_initializer=weight_init(), dtype="float32", name="attention")(x)
    composite = AttentionComposite(dtype="float32", name="composite")([image, colour, attention])
    return keras.Model(inputs, [composite, attention, colour], name=name)


def build_critic(img_size: int = 128, channels: int = 3, num_aus: int = 17, width: int = 64, num_down: int = 6,
                 name: str = "ganimation_D") -> keras.Model:
    """D: image in [-1, 1] -> [critic_map (B, S/2**num_down, S/2**num_down, 1), aus (B, num_aus)] (both float32).

    The critic map is the WGAN score per patch (a trainer averages it); the AU head regresses the AU vector in
    model units [0, 1] (no activation, as the original).
    """
    check_critic_size(img_size, num_down)
    for field, value in (("channels", channels), ("num_aus", num_aus), ("width", width)):
        if value < 1:
            raise ValueError(f"{field} must be >= 1, got {value}")
    image = keras.Input((img_size, img_size, channels), name="image")
    x = image
    for i in range(num_down):
        x = layers.Conv2D(width * 2**i, 4, strides=2, padding="same", kernel_initializer=weight_init(),
                          name=f"down{i + 1}_conv")(x)
        x = layers.LeakyReLU(LEAKY_SLOPE, name=f"down{i + 1}_lrelu")(x)
    critic_map = layers.Conv2D(1, 3, padding="same", use_bias=False, kernel_initializer=weight_init(),
                               dtype="float32", name="critic_map")(x)
    last = img_size // 2**num_down
    au_map = layers.Conv2D(num_aus, last, padding="valid", use_bias=False, kernel_initializer=weight_init(),
                           dtype="float32", name="au_conv")(x)
    aus = layers.Reshape((num_aus,), dtype="float32", name="aus")(au_map)
    return keras.Model(image, [critic_map, aus], name=name)
