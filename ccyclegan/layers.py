"""Layers the model families share.

`ScalarInstanceNorm` is the normalisation of the original CCycleGAN and AU-GAN code: keras-contrib's
`InstanceNormalization()` with its default `axis=None`, which is *not* per-channel instance norm. See
`docs/differences.md` and `../shared/reference/ccyclegan.md` §1.1.
"""

from __future__ import annotations

import keras
from keras import ops


def channel_instance_norm(name: str, *, epsilon: float = 1e-5, affine: bool = True,
                          gamma_initializer="ones") -> keras.layers.Layer:
    """Per-channel instance norm, PyTorch's InstanceNorm2d (CycleGAN, GANimation, the AU family's PyTorch models):
    GroupNormalization with one group per channel is exactly that; `affine` adds a gamma and a beta per channel."""
    return keras.layers.GroupNormalization(groups=-1, epsilon=epsilon, center=affine, scale=affine,
                                           gamma_initializer=gamma_initializer, name=name)


@keras.saving.register_keras_serializable(package="ccyclegan")
class ScalarInstanceNorm(keras.layers.Layer):
    """Per-sample normalisation over all of H, W and C with a scalar gamma and beta (2 weights).

    Reproduces keras-contrib `InstanceNormalization(axis=None)`: `(x - mean) / (std + epsilon) * gamma + beta`,
    with mean and std taken per sample over every non-batch axis and epsilon added to the std (not the variance).
    Unlike per-channel instance norm it keeps a 1x1 bottleneck alive (per-channel IN maps a 1x1 map to beta).
    """

    def __init__(self, epsilon: float = 1e-3, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        self.gamma = self.add_weight(name="gamma", shape=(1,), initializer="ones")
        self.beta = self.add_weight(name="beta", shape=(1,), initializer="zeros")

    def call(self, inputs):
        # Statistics in float32 even under mixed precision: a variance over a whole map overflows float16.
        x = ops.cast(inputs, "float32")
        axes = tuple(range(1, len(inputs.shape)))
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        # (x - mean) / (std + eps) * gamma + beta, folded into one multiply-add over the map.
        scale = ops.cast(self.gamma, "float32") / (ops.sqrt(variance) + self.epsilon)
        shift = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(x * scale + shift, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="ccyclegan")
class ReplicateEdge(keras.layers.Layer):
    """Grows a (B, H, W, C) map by `amount` rows at the bottom and columns at the right, copies of the last ones.

    The fix for the original decoder's `output_padding` row: Conv2DTranspose fills that row and column with its bias
    only, which becomes the grey band along the right and bottom of every generated image.
    """

    def __init__(self, amount: int = 1, **kwargs):
        super().__init__(**kwargs)
        if amount < 1:
            raise ValueError(f"amount must be >= 1, got {amount}")
        self.amount = amount

    def call(self, inputs):
        last_row = inputs[:, -1:, :, :]
        x = ops.concatenate([inputs] + [last_row] * self.amount, axis=1)
        last_column = x[:, :, -1:, :]
        return ops.concatenate([x] + [last_column] * self.amount, axis=2)

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        height, width = (None if n is None else n + self.amount for n in (height, width))
        return (batch, height, width, channels)

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


@keras.saving.register_keras_serializable(package="ccyclegan")
class AttentionComposite(keras.layers.Layer):
    """GANimation's output: `attention * image + (1 - attention) * colour`, in float32.

    Inputs [image, colour, attention]; the attention map has one channel and broadcasts over the image's channels.
    attention = 1 keeps the input pixel, 0 takes the generated colour: the direction of every GANimation code base
    (the arXiv v1 equation has it the other way round; albertpumarola/GANimation issue #21).
    """

    def call(self, inputs):
        image, colour, attention = (ops.cast(t, "float32") for t in inputs)
        return attention * image + (1.0 - attention) * colour

    def compute_output_shape(self, input_shape):
        return input_shape[0]


# Below this variance a map counts as constant: its std is taken as 0 and gets no gradient. sqrt(1e-12) = 1e-6 is
# a thousandth of the epsilon that is added to the std, so the forward pass moves by at most 0.1% on such maps.
CONSTANT_MAP_VARIANCE = 1e-12


@keras.saving.register_keras_serializable(package="ccyclegan")
class StableScalarInstanceNorm(ScalarInstanceNorm):
    """`ScalarInstanceNorm` whose gradient stays finite when a sample's map is (nearly) constant.

    The keras-contrib layer computes `(x - mean) / (sqrt(var) + eps)`. The derivative of sqrt at 0 is infinite, so a
    sample whose map is constant (a black face, a ReLU that is dead for that sample) yields 0 * inf = NaN in the
    backward pass: in TF1 for exactly zero maps (the AU-GAN e1/e2 NaN), in TF 2 when rounding leaves a non-zero
    `x - mean` beside a variance that rounds to 0. Here the std is 0, with zero gradient, wherever the variance is
    below `CONSTANT_MAP_VARIANCE`; elsewhere the forward pass is exactly the parent's.
    """

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        axes = tuple(range(1, len(inputs.shape)))
        mean, variance = ops.moments(x, axes=axes, keepdims=True)
        varying = variance > CONSTANT_MAP_VARIANCE
        # The double `where`: sqrt never sees a variance below the threshold, so no inf enters the gradient.
        std = ops.where(varying, ops.sqrt(ops.where(varying, variance, 1.0)), 0.0)
        scale = ops.cast(self.gamma, "float32") / (std + self.epsilon)
        shift = ops.cast(self.beta, "float32") - mean * scale
        return ops.cast(x * scale + shift, inputs.dtype)


@keras.saving.register_keras_serializable(package="ccyclegan")
class SelfAttention(keras.layers.Layer):
    """SAGAN's self-attention block (Zhang et al. 2019): every position attends to every other one.

    query and key are 1x1 convolutions to C // reduction channels, value a 1x1 convolution to C channels; the
    output is `gamma * attention(x) + x` with a learnt scalar gamma that starts at 0, so the block starts as the
    identity and the network decides how much non-local context to mix in. Memory grows with (H * W)^2: place it
    at a small resolution.
    """

    def __init__(self, reduction: int = 8, **kwargs):
        super().__init__(**kwargs)
        if reduction < 1:
            raise ValueError(f"reduction must be >= 1, got {reduction}")
        self.reduction = reduction

    def build(self, input_shape):
        channels = int(input_shape[-1])
        inner = max(1, channels // self.reduction)
        self.query = keras.layers.Conv2D(inner, 1, name="query")
        self.key = keras.layers.Conv2D(inner, 1, name="key")
        self.value = keras.layers.Conv2D(channels, 1, name="value")
        for conv in (self.query, self.key, self.value):
            conv.build(input_shape)
        self.gamma = self.add_weight(name="gamma", shape=(1,), initializer="zeros")

    def call(self, inputs):
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        positions = height * width
        query = ops.reshape(self.query(inputs), (-1, positions, self.query.filters))
        key = ops.reshape(self.key(inputs), (-1, positions, self.key.filters))
        value = ops.reshape(self.value(inputs), (-1, positions, channels))
        weights = ops.softmax(ops.matmul(query, ops.transpose(key, (0, 2, 1))), axis=-1)  # (B, HW, HW)
        attended = ops.reshape(ops.matmul(weights, value), (-1, height, width, channels))
        return inputs + ops.cast(self.gamma, attended.dtype) * attended

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction}


class ConditionProjection(keras.layers.Layer):
    """The projection critic's conditional term (Miyato & Koyama 2018): <W y, h(x)> for the condition y a face is
    said to have (its AUs) and hidden features h(x) of the critic (the AU family's: its AU head's hidden layer).

    Added to the realness logit, it makes the critic judge a face *with* those AUs: a rendering passes only if it
    looks like a real face that has its target AUs, whereas an AU head trained on real faces alone can be moved by
    patterns no real face has. W starts at 0, so the critic starts as the unconditional one.
    Inputs [features (B, F), conditions (B, N)]; output (B, 1) in float32.
    """

    def build(self, input_shape):
        features, conditions = input_shape
        self.kernel = self.add_weight(name="kernel", shape=(int(conditions[-1]), int(features[-1])),
                                      initializer="zeros")

    def call(self, inputs):
        features, conditions = (ops.cast(t, "float32") for t in inputs)
        return ops.sum(ops.matmul(conditions, ops.cast(self.kernel, "float32")) * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def resize_conv(x, filters: int, target: int, name: str, interpolation: str, **conv_options):
    """Resize x to target x target (`{name}_resize`, no weights), then a 3x3 'same' conv named `name`: the up-sampling
    step that replaces a transposed conv where its checkerboard pattern hurts (`--upsample nearest|bilinear`).

    Nearest by a whole factor repeats pixels (UpSampling2D, the same values as the resize): XLA has no kernel for the
    resize's gradient, so `--xla` needs it. Without XLA it costs what the resize did (0.97-1.00 of its time with the
    conv, forward and backward, at au-cpu's decoder sizes)."""
    factor, remainder = divmod(target, int(x.shape[1]))
    if interpolation == "nearest" and remainder == 0 and int(x.shape[2]) * factor == target:
        x = keras.layers.UpSampling2D(factor, interpolation="nearest", name=f"{name}_resize")(x)
    else:
        x = keras.layers.Resizing(target, target, interpolation=interpolation, name=f"{name}_resize")(x)
    return keras.layers.Conv2D(filters, 3, padding="same", name=name, **conv_options)(x)


def binomial_low_pass(images):
    """Each channel blurred by the 3x3 binomial filter [1, 2, 1] x [1, 2, 1] / 16, edges reflected.

    Why: a critic's AU head is a regressor that a generator can fool with high-frequency patterns (checkerboard
    colour maps) that no other reader of the face sees as an expression. The filter's response at the highest
    frequency (a period of two pixels) is exactly 0, so an AU head that reads the filtered image cannot be moved by
    such patterns, while the brows, lids and lip shapes that carry the AUs pass. See docs/ganimation.md.
    """
    import tensorflow as tf

    channels = images.shape[-1]
    taps = tf.constant([1.0, 2.0, 1.0], images.dtype)
    kernel = (taps[:, None] * taps[None, :]) / 16.0
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, channels, 1])
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, strides=[1, 1, 1, 1], padding="VALID")


def random_shift(images, max_shift: int, seed):
    """Each image moved by its own whole-pixel offset in [-max_shift, max_shift] on both axes, edges reflected.

    `seed` is a stateless seed (a shape-(2,) integer tensor), so a resumed run draws the same shifts. Gradients flow
    to the images (the move is two gathers).
    """
    import tensorflow as tf

    if max_shift <= 0:
        return images
    size_y, size_x = images.shape[1], images.shape[2]
    if max_shift >= min(size_y, size_x):
        raise ValueError(f"a shift of up to {max_shift} pixels needs images larger than {size_y}x{size_x}")
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift], [0, 0]], mode="REFLECT")
    offsets = tf.random.stateless_uniform([tf.shape(images)[0], 2], seed, 0, 2 * max_shift + 1, dtype=tf.int32)
    rows = offsets[:, :1] + tf.range(size_y)[None]
    columns = offsets[:, 1:] + tf.range(size_x)[None]
    return tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), columns, axis=2, batch_dims=1)


LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601, the luminance every 8-bit image library uses


def luminance(images):
    """(B, H, W, 3) colour faces as their luminance repeated on three channels (the critic's input stays 3-channel).

    Why: the AUs are shapes (creases, lids, lips) that show in luminance; a generator that meets an AU head
    reading colour can paint hue blotches that move the head and no other reader (docs/aucgan.md). Grey and
    1-channel faces pass unchanged.
    """
    import tensorflow as tf

    if images.shape[-1] != 3:
        return images
    weights = tf.constant(LUMA_WEIGHTS, images.dtype)
    luma = tf.reduce_sum(images * weights, axis=-1, keepdims=True)
    return tf.tile(luma, [1, 1, 1, 3])


class AUHeadView:
    """The faces as a critic's AU head reads them under the AU families' `--au-low-pass`, `--au-shift` and
    `--au-luminance`.

    Why the shift: an AU head is a regressor, and a generator learns whatever pattern moves it. A pattern that
    fools the head at one position rarely does at every position, while the brows, lids and lips that carry the
    AUs read the same a pixel or two away; so a head that reads real faces and renderings at random offsets must
    be moved by the shapes (the expectation over transformations that makes adversarial patterns fail).
    """

    def __init__(self, low_pass: bool, max_shift: int, luminance: bool = False):
        self.low_pass, self.max_shift, self.luminance = low_pass, max_shift, luminance

    @classmethod
    def of_run(cls, config, shift: bool = True) -> AUHeadView:
        """The view a run's config (a dataclass or its config.json dict) trained with; `shift=False` for reading
        (evaluate reads each face once, where it is)."""
        def get(name, default):
            return config.get(name, default) if isinstance(config, dict) else getattr(config, name, default)

        return cls(bool(get("au_low_pass", False)), int(get("au_shift", 0)) if shift else 0,
                   bool(get("au_luminance", False)))

    @property
    def changes_faces(self) -> bool:
        """False when the head reads the faces as they are (then one critic call serves both heads)."""
        return self.low_pass or self.max_shift > 0 or self.luminance

    def __call__(self, images, seed):
        faces = luminance(images) if self.luminance else images
        faces = binomial_low_pass(faces) if self.low_pass else faces
        return random_shift(faces, self.max_shift, seed)
