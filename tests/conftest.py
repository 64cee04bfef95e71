"""Shared test set-up: quiet TensorFlow, two logical CPU devices for tf.distribute tests, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _split_cpu_into_two_logical_devices():
    """Let MirroredStrategy tests run two replicas on CPU; must happen before TF initialises its devices."""
    try:
        import tensorflow as tf
    except ImportError:
        return
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    except RuntimeError:
        pass  # already initialised by an earlier import; tests that need two devices skip themselves


_split_cpu_into_two_logical_devices()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _no_data_written_into_the_repository(request):
    """A test that renders a data set without --data writes it into the repository's datasets/ folder, where the
    README's main job would then find a 100-face set instead of rendering its own; every test passes --data."""
    from pathlib import Path

    datasets = Path(__file__).resolve().parents[1] / "datasets"
    before = {p.name for p in datasets.iterdir()} if datasets.is_dir() else set()
    yield
    after = {p.name for p in datasets.iterdir()} if datasets.is_dir() else set()
    assert after <= before, f"{request.node.nodeid} wrote {sorted(after - before)} into {datasets}; pass --data"
