"""Mixed precision: build networks under a Keras dtype policy without leaving it set for the whole process."""

from __future__ import annotations

import contextlib

import keras

MIXED_POLICY = "mixed_bfloat16"  # bfloat16 compute, float32 weights; needs no loss scaling (float16 would)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Layers built inside take the policy `name`; the previous global policy comes back afterwards.

    Keras keeps one global policy and layers read it when they are created, so scoping it to the builders keeps a
    judge or an exported float32 copy built later in the same process at full precision.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
