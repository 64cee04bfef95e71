"""Layers the model families share.

`ScalarInstanceNorm` is the normalisation of the original CCycleGAN and AU-GAN code: keras-contrib's
`InstanceNormalization()` with its default `axis=None`, which is *not* per-channel instance norm. See
`docs/differences.md` and `../shared/reference/ccyclegan.md` §1.1.
"""

from __future__ import annotations

import keras
from keras import ops


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
