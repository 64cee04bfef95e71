"""Small data the tests make: faces whose class is visible, and FER2013-format CSVs of them."""

import functools

import numpy as np


def striped_faces(n: int, seed: int = 0):
    """Images whose class is written in them: class c has 2c+2 horizontal stripes (plus noise and a random phase)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 7, n)
    rows = np.arange(48)[:, None]
    images = []
    for label in labels:
        phase = rng.uniform(0, 2 * np.pi)
        stripes = 0.5 + 0.4 * np.sin(rows * (label + 1) * 2 * np.pi / 48 + phase) * np.ones((48, 48))
        images.append(np.clip(stripes + rng.normal(0, 0.05, (48, 48)), 0, 1))
    return (np.stack(images)[..., None] * 255).astype(np.uint8), labels


def write_fer_csv(path, n_train: int, n_public: int = 16, n_private: int = 16, seed: int = 0):
    """A FER2013-format CSV (emotion,pixels,Usage) of striped faces; returns its path."""
    images, labels = striped_faces(n_train + n_public + n_private, seed)
    usages = ["Training"] * n_train + ["PublicTest"] * n_public + ["PrivateTest"] * n_private
    lines = ["emotion,pixels,Usage"]
    for image, label, usage in zip(images, labels, usages):
        lines.append(f"{label},{' '.join(map(str, image.reshape(-1)))},{usage}")
    path.write_text("\n".join(lines) + "\n")
    return path


@functools.cache
def two_cpu_mirrored():
    """One MirroredStrategy over the two logical CPUs conftest makes, shared by every test of the process (two
    strategies in one process can clash on their collective instance keys), or None without two devices."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        return None
    return tf.distribute.MirroredStrategy([d.name for d in devices[:2]])
