"""The benchmarks' arithmetic count, against values computed by hand, so that a GFLOP/s they print is right."""

import keras

from bench.machine import conv_flops


def test_conv_flops_counts_two_per_multiply_add_of_convs_transposed_convs_and_dense_layers_nested_too():
    inner = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same")])
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"), inner,
                              keras.layers.Flatten(), keras.layers.Dense(5)])
    conv = 2 * (8 * 8) * 3 * 4 * 9  # each of the 8x8 outputs: 3 x 4 channels x 3x3 taps
    transposed = 2 * (8 * 8) * 4 * 2 * 16  # each of the 8x8 inputs scatters 4 x 2 channels x 4x4 taps
    dense = 2 * (16 * 16 * 2) * 5
    assert conv_flops(model) == conv + transposed + dense


def test_ganimation_generator_at_128_px_is_21_gflop_an_image():
    from models.ganimation import build_generator

    # 7x7 from 3 + 17 channels at 128 px 2.06, two downs 2.15, twelve 3x3 256-channel convs at 32 px 14.5, two ups
    # 2.15, the colour and attention heads 0.41: 21.26 GFLOP
    assert 21.2e9 < conv_flops(build_generator(128)) < 21.3e9
