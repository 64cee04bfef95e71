"""Small data the tests make (faces whose class is visible, FER2013-format CSVs of them), and the pieces every
command-line test uses: `train.py` loaded as a module, an option set in an argument list."""

import functools
import importlib.util
from pathlib import Path

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
    strategies in one process can clash on their collective instance keys); the calling test is skipped without
    them."""
    import pytest
    import tensorflow as tf

    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs the two logical CPU devices that conftest configures before TensorFlow starts")
    return tf.distribute.MirroredStrategy([d.name for d in devices[:2]])


TRAIN_SCRIPT = Path(__file__).resolve().parents[1] / "train.py"


def load_train_script():
    """`train.py` as a module (it is a script beside the `train` package, so it is loaded from its file), freshly
    executed so that each test sees the current source."""
    spec = importlib.util.spec_from_file_location("train_script", TRAIN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def with_option(argv, flag, value):
    """A copy of the argument list with `flag` set to `value`: replaced where it is given, appended otherwise."""
    argv = list(argv)
    if flag in argv:
        argv[argv.index(flag) + 1] = str(value)
    else:
        argv += [flag, str(value)]
    return argv
