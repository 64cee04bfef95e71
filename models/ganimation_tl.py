"""GANimation networks on TensorLayer 2.2.5, weight for weight the Keras ones of `models/ganimation.py`.

The original course project ported GANimation to TensorLayer (shuliyao/GANimation_TL, §B of
`../shared/reference/ganimation_cyclegan.md`). This port follows the Keras builders instead of that code: the same
layers, the same layer names (the converters below map by name), no biases where PyTorch has none (the TL port
added 3,268 to G and 18 to D), so that the same weights give the same outputs in both frameworks (tests/
test_ganimation_tl.py). TensorLayer needs patches on TF 2.21 / numpy 2 / h5py 3; `ccyclegan.tl_compat.apply()`
installs them before anything is built.

TL's own layers are used where they work (Conv2d, DeConv2d, InstanceNorm2d with the patched statistics,
Elementwise, ElementwiseLambda); instance norm has no running statistics, so training and inference mode give the
same outputs, as in Keras (and G is never put in eval mode in the originals).
"""

from __future__ import annotations

import itertools

import numpy as np
import tensorflow as tf

from ccyclegan import tl_compat
from ccyclegan.cli import check_upsample
from ccyclegan.labels import check_au_condition
from models.ganimation import LEAKY_SLOPE, NORM_EPSILON, check_critic_size, check_generator_size

_model_numbers = itertools.count()


def _tl():
    """TensorLayer, patched and quiet (its INFO log prints a line per layer)."""
    import tensorlayer as tl

    tl_compat.apply()
    tl.logging.set_verbosity(tl.logging.WARN)
    return tl


def unique_model_name(base: str) -> str:
    """TL refuses a model name used before in the process; the second G gets `<base>_1`, and so on."""
    from tensorlayer.models import core

    name = base
    while name in core._global_model_name_set:
        name = f"{base}_{next(_model_numbers) + 1}"
    return name


def _init(tl):
    return tl.initializers.random_normal(mean=0.0, stddev=0.02)


def _check_positive(**values):
    for field, value in values.items():
        if value < 1:
            raise ValueError(f"{field} must be >= 1, got {value}")


def _conv_norm_relu(tl, x, filters, kernel, stride, name, transpose=False, relu=True):
    if transpose:
        x = tl.layers.DeConv2d(filters, (kernel, kernel), (stride, stride), padding="SAME", W_init=_init(tl),
                               b_init=None, name=f"{name}_conv")(x)
    else:
        x = tl.layers.Conv2d(filters, (kernel, kernel), (stride, stride), padding="SAME", W_init=_init(tl),
                             b_init=None, name=f"{name}_conv")(x)
    return tl.layers.InstanceNorm2d(act=tf.nn.relu if relu else None, epsilon=NORM_EPSILON, num_features=filters,
                                    gamma_init=tl.initializers.ones(), beta_init=tl.initializers.zeros(),
                                    name=f"{name}_norm")(x)


def _up_block(tl, x, filters, name, upsample):
    """As the Keras `_up_block`: a 4x4 stride-2 transposed conv, or a 2x resize and a 3x3 conv."""
    if upsample == "transpose":
        return _conv_norm_relu(tl, x, filters, 4, 2, name, transpose=True)
    x = tl.layers.UpSampling2d((2, 2), method=upsample, name=f"{name}_conv_resize")(x)
    return _conv_norm_relu(tl, x, filters, 3, 1, name)


def _with_aus(image, aus, own=None):
    """The AU vector (minus the face's own AUs when given) copied to every pixel and concatenated to the image
    (B, S, S, C + A)."""
    if own is not None:
        aus = aus - own
    shape = tf.shape(image)
    aus_map = tf.broadcast_to(aus[:, None, None, :], [shape[0], shape[1], shape[2], tf.shape(aus)[-1]])
    return tf.concat([image, aus_map], axis=-1)


def _composite(image, colour, attention):
    return attention * image + (1.0 - attention) * colour


def build_tl_generator(img_size: int = 128, channels: int = 3, num_aus: int = 17, width: int = 64,
                       num_residual: int = 6, upsample: str = "transpose", au_condition: str = "target",
                       skips: bool = False, name: str = "ganimation_tl_G"):
    """G as a TL static model: [image (B, S, S, channels) in [-1, 1], AUs (B, num_aus)] -> [composite, attention,
    colour], as `models.ganimation.build_generator` with the same arguments (8,471,296 weights at the defaults);
    au_condition="change" adds the face's own AUs as a third input and conditions on AUs - own; skips concatenates
    each up block's output with the encoder map of its size.

    Call it with `model([image, aus], is_train=...)` (`[image, aus, own]` for "change");
    `model.all_weights` is its variable list in build order.
    """
    check_generator_size(img_size)
    check_upsample(upsample)
    check_au_condition(au_condition)
    _check_positive(channels=channels, num_aus=num_aus, width=width)
    if num_residual < 0:
        raise ValueError(f"num_residual must be >= 0, got {num_residual}")
    tl = _tl()
    image = tl.layers.Input([None, img_size, img_size, channels], name="image")
    aus = tl.layers.Input([None, num_aus], name="aus")
    inputs = [image, aus]
    if au_condition == "change":
        inputs.append(tl.layers.Input([None, num_aus], name="aus_own"))
    x = tl.layers.ElementwiseLambda(_with_aus, name="image_and_aus")(inputs)
    full = x = _conv_norm_relu(tl, x, width, 7, 1, "in")
    half = x = _conv_norm_relu(tl, x, width * 2, 4, 2, "down1")
    x = _conv_norm_relu(tl, x, width * 4, 4, 2, "down2")
    for i in range(num_residual):
        y = _conv_norm_relu(tl, x, width * 4, 3, 1, f"res{i + 1}_a")
        y = _conv_norm_relu(tl, y, width * 4, 3, 1, f"res{i + 1}_b", relu=False)
        x = tl.layers.Elementwise(tf.add, name=f"res{i + 1}_add")([x, y])
    x = _up_block(tl, x, width * 2, "up1", upsample)
    if skips:
        x = tl.layers.Concat(concat_dim=-1, name="up1_skip")([x, half])
    x = _up_block(tl, x, width, "up2", upsample)
    if skips:
        x = tl.layers.Concat(concat_dim=-1, name="up2_skip")([x, full])
    colour = tl.layers.Conv2d(channels, (7, 7), (1, 1), act=tf.nn.tanh, padding="SAME", W_init=_init(tl),
                              b_init=None, name="colour")(x)
    attention = tl.layers.Conv2d(1, (7, 7), (1, 1), act=tf.nn.sigmoid, padding="SAME", W_init=_init(tl),
                                 b_init=None, name="attention")(x)
    composite = tl.layers.ElementwiseLambda(_composite, name="composite")([image, colour, attention])
    return tl.models.Model(inputs=inputs, outputs=[composite, attention, colour], name=unique_model_name(name))


def _leaky_relu(x):
    return tf.nn.leaky_relu(x, LEAKY_SLOPE)


def _flatten_aus(au_map):
    return tf.reshape(au_map, [-1, au_map.shape[-1]])


def build_tl_critic(img_size: int = 128, channels: int = 3, num_aus: int = 17, width: int = 64, num_down: int = 6,
                    name: str = "ganimation_tl_D"):
    """D as a TL static model: image -> [critic_map (B, S/2**num_down, S/2**num_down, 1), aus (B, num_aus)], as
    `models.ganimation.build_critic` with the same arguments (44,860,352 weights at the defaults)."""
    check_critic_size(img_size, num_down)
    _check_positive(channels=channels, num_aus=num_aus, width=width)
    tl = _tl()
    image = tl.layers.Input([None, img_size, img_size, channels], name="image")
    x = image
    for i in range(num_down):
        x = tl.layers.Conv2d(width * 2**i, (4, 4), (2, 2), act=_leaky_relu, padding="SAME", W_init=_init(tl),
                             b_init=tl.initializers.zeros(), name=f"down{i + 1}_conv")(x)
    critic_map = tl.layers.Conv2d(1, (3, 3), (1, 1), padding="SAME", W_init=_init(tl), b_init=None,
                                  name="critic_map")(x)
    last = img_size // 2**num_down
    au_map = tl.layers.Conv2d(num_aus, (last, last), (1, 1), padding="VALID", W_init=_init(tl), b_init=None,
                              name="au_conv")(x)
    aus = tl.layers.Lambda(_flatten_aus, name="aus")(au_map)
    return tl.models.Model(inputs=image, outputs=[critic_map, aus], name=unique_model_name(name))


def count_weights(tl_model) -> int:
    return int(sum(np.prod(w.shape) for w in tl_model.all_weights))


# -- weight conversion ------------------------------------------------------------------------------------------------
_ROLES = {"kernel": "kernel", "filters": "kernel", "bias": "bias", "biases": "bias", "gamma": "gamma",
          "beta": "beta"}


def _role(variable_name: str) -> str:
    short = variable_name.split("/")[-1].split(":")[0]
    if short not in _ROLES:
        raise ValueError(f"weight {variable_name!r}: not a kernel, bias, gamma or beta; the converter does not know "
                         f"where it goes")
    return _ROLES[short]


def _keras_layers(keras_model) -> dict:
    """Layer name -> {role: variable} for every Keras layer with weights (nested models flattened)."""
    import keras

    found = {}
    for layer in keras_model.layers:
        if isinstance(layer, keras.Model):
            found.update(_keras_layers(layer))
        elif layer.weights:
            found[layer.name] = {_role(w.name): w for w in layer.weights}
    return found


def _tl_layers(tl_model) -> dict:
    found = {}
    for layer in tl_model.all_layers:
        weights = layer.all_weights or []
        if weights:
            found[layer.name] = {_role(w.name): w for w in weights}
    return found


def weight_pairs(keras_model, tl_model):
    """(Keras variable, TL variable) for every weight, matched by layer name and role; refuses any mismatch."""
    keras_side, tl_side = _keras_layers(keras_model), _tl_layers(tl_model)
    if set(keras_side) != set(tl_side):
        only_keras, only_tl = sorted(set(keras_side) - set(tl_side)), sorted(set(tl_side) - set(keras_side))
        raise ValueError(f"the Keras model {keras_model.name!r} and the TL model {tl_model.name!r} have different "
                         f"layers: only in Keras {only_keras}, only in TL {only_tl}")
    pairs = []
    for layer_name, keras_weights in keras_side.items():
        tl_weights = tl_side[layer_name]
        if set(keras_weights) != set(tl_weights):
            raise ValueError(f"layer {layer_name!r}: Keras has {sorted(keras_weights)}, TL {sorted(tl_weights)}")
        for role, keras_weight in keras_weights.items():
            tl_weight = tl_weights[role]
            if int(np.prod(keras_weight.shape)) != int(np.prod(tl_weight.shape)) or (
                    role in ("kernel",) and tuple(keras_weight.shape) != tuple(tl_weight.shape)):
                raise ValueError(f"layer {layer_name!r} {role}: Keras shape {tuple(keras_weight.shape)}, TL "
                                 f"{tuple(tl_weight.shape)} (built with other sizes?)")
            pairs.append((keras_weight, tl_weight))
    return pairs


def keras_to_tl(keras_model, tl_model) -> int:
    """Copy every weight of a Keras GANimation network into its TL twin (built with the same arguments); returns
    the number of values copied. Instance-norm gamma/beta are (C,) in Keras and (1, 1, 1, C) in TL."""
    pairs = weight_pairs(keras_model, tl_model)
    for keras_weight, tl_weight in pairs:
        tl_weight.assign(np.reshape(np.asarray(keras_weight.numpy()), tl_weight.shape))
    return sum(int(np.prod(t.shape)) for _, t in pairs)


def tl_to_keras(tl_model, keras_model) -> int:
    """Copy every weight of a TL GANimation network into its Keras twin; returns the number of values copied."""
    pairs = weight_pairs(keras_model, tl_model)
    for keras_weight, tl_weight in pairs:
        keras_weight.assign(np.reshape(tl_weight.numpy(), keras_weight.shape))
    return sum(int(np.prod(k.shape)) for k, _ in pairs)
