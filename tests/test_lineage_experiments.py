"""The CCycleGAN lineage by name (T1..T27): each id resolves to what the original's code did (checked against a table
written here from ../shared/reference/ccyclegan.md §4, independently of the registry), builds, and trains two steps
on tiny data; the lineage trainer learns.

Training runs eagerly here: two steps of tiny networks cost less than tracing them (the trainer itself compiles).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tests.helpers import load_train_script, striped_faces, write_fer_csv

LINEAGE = [f"T{i}" for i in range(1, 28)]

# What each experiment changes in the resolved CCycleGANConfig relative to its parent's (field: new value).
EXPECTED_DIFFERENCES = {
    "T2": {"rec_loss_w": 10, "id_loss_w": 1.0},
    "T3": {"adversarial_loss": "bce", "d_head": "dense", "g_gan_loss_w": 7, "id_loss_w": 0.0},
    "T4": {"architecture": "cyclegan", "d_label": "none", "d_wrong_label": False, "g_gan_loss_w": 1,
           "batch_size": 1, "sample_interval": 3000},
    "T5": {"g_label": "concat-bottleneck", "g_gan_loss_w": 1, "id_loss_w": 0.0},
    "T6": {"channels": 3, "d_head": "resnet50", "adversarial_loss": "bce", "g_adversarial_loss": "mse",
           "d_update": "joint"},
    "T7": {"d_wrong_label": False},
    "T8": {"frozen_cl_loss_w": 5.0, "rec_loss_w": 5},
    "T9": {"d_head": "acgan", "d_label": "none", "adversarial_loss": "lsgan", "g_adversarial_loss": "same",
           "frozen_cl_loss_w": 0.0, "rec_loss_w": 1, "g_cl_loss_w": 1, "d_update": "per-group"},
    "T10": {"g_gan_loss_w": 2, "flip": True},
    "T11": {"g_label": "multiply-bottleneck"},
    "T12": {"g_extra_blocks": 2, "epochs": 400, "sample_interval": 400},
    "T13": {"epochs": 300},
    "T14": {"d_label": "after", "d_update": "joint"},
    "T15": {"d_wrong_label": False},
    "T16": {"d_wrong_label": False, "d_update": "joint"},
    "T17": {"architecture": "t17", "g_label": "input", "adversarial_loss": "bce", "id_loss_w": 0.0,
            "g_gan_loss_w": 1, "g_cl_loss_w": 1, "translations": "one", "fake_class_target": "unrelated",
            "class_activation": "softmax", "d_g_ratio": 10, "epochs": 400},
    "T18": {"architecture": "final", "gf": 64, "transform_layer": False, "fake_class_target": "target",
            "d_g_ratio": 2},
    "T19": {"d_cl_loss_w": 7, "g_cl_loss_w": 7},
    "T20": {"transform_layer": True},
    "T21": {"class_activation": "sigmoid", "d_cl_loss_w": 3},
    "T22": {"fake_class_target": "zero", "g_cl_loss_w": 3},
    "T23": {"d_cl_loss_w": 1, "g_cl_loss_w": 1, "epochs": 600},
    "T24": {"translations": "all", "g_step": "sequential", "d_g_ratio": 1},
    "T25": {"g_step": "batched", "epochs": 200},
    "T26": {"d_g_ratio": 5, "epochs": 170, "g_gan_loss_w": 2, "g_cl_loss_w": 2},
    "T27": {"epochs": 200},  # and --search, which is an option of the command, not of one run's config
}
T1_FROM_DEFAULTS = {"architecture": "unet", "adversarial_loss": "lsgan", "g_gan_loss_w": 20,
                    "id_loss_w": 0.1, "d_wrong_label": True, "d_update": "per-group", "d_g_ratio": 1, "epochs": 200,
                    "flip": False, "gf": 32}
# The ImageNet ResNet50 D (23.6M parameters) even at 32 px; and, to keep the default suite short, the ids whose
# networks and step another default id already runs (T2 = T1's, T13 = T11's, T15/T16 = T14's groups, T19/T23 =
# T18/T22 with other weights, T25/T26 = the pinned tests' T26 step).
SLOW = {"T6", "T7", "T8", "T2", "T13", "T15", "T16", "T19", "T23", "T25", "T26"}


def resolved_config(experiment: str | None, extra=()):
    from train.ccyclegan_cli import config_from_args
    from train.experiments import experiment_settings

    parser = load_train_script().build_parser("ccyclegan")
    if experiment:
        parser.set_defaults(**experiment_settings(experiment))
    args = parser.parse_args(list(extra))
    return config_from_args(args), args


def _differences(config, parent) -> dict:
    a, b = dataclasses.asdict(config), dataclasses.asdict(parent)
    return {k: a[k] for k in a if a[k] != b[k]}


@pytest.mark.parametrize("experiment", LINEAGE[1:])
def test_each_experiment_differs_from_its_parent_as_the_reference_says(experiment):
    from train.experiments import find_experiment

    config, _ = resolved_config(experiment)
    parent, _ = resolved_config(find_experiment(experiment).parent)
    assert _differences(config, parent) == EXPECTED_DIFFERENCES[experiment]


def test_t1_from_the_family_defaults_and_t26_is_the_defaults():
    assert _differences(resolved_config("T1")[0], resolved_config(None)[0]) == T1_FROM_DEFAULTS
    assert _differences(resolved_config("T26")[0], resolved_config(None)[0]) == {}
    _, args = resolved_config("T27")
    assert args.search and not resolved_config("T26")[1].search
    _, args = resolved_config("T23")
    assert not args.use_test_in_train  # the leakage only on request
    assert resolved_config("T23", ["--use-test-in-train"])[1].use_test_in_train


def test_list_experiments_says_where_the_log_and_the_code_differ(capsys):
    assert load_train_script().main(["--list-experiments"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert set(LINEAGE) <= set(rows)
    for experiment in ("T1", "T6", "T8", "T9", "T12", "T23"):
        assert "[log:" in rows[experiment], experiment
    assert "load_batch" in rows["T1"] and "--use-test-in-train" in rows["T23"]


def _tiny(config, size: int | None = None):
    """The experiment at test size: the smallest images its networks allow, widths 4, batch 4."""
    if size is None:
        size = 32 if config.d_head == "resnet50" and config.architecture == "unet" else (
            24 if config.architecture == "final" else 16)
    layers = 3 if config.architecture == "final" else config.num_layers
    return dataclasses.replace(config, img_size=size, num_layers=layers, gf=4, df=4, batch_size=4, log_style="quiet")


def _batch(config, n: int = 4, seed: int = 1):
    images, labels = striped_faces(n, seed=seed)
    x = tf.image.resize(tf.constant(images, tf.float32), (config.img_size, config.img_size)) / 127.5 - 1.0
    if config.channels == 3:
        x = tf.repeat(x, 3, axis=-1)
    if config.architecture == "cyclegan":
        return x, x[::-1]
    return x, tf.constant(labels.astype(np.int32))


@pytest.fixture
def eager():
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="module")
def frozen_classifier(tmp_path_factory):
    """T8's frozen classifier: a tiny 7-class judge of 32x32 RGB faces, saved as the classifier family saves it."""
    from ccyclegan.labels import FER_CLASSES
    from models.classifier import build_judge, save_judge

    folder = tmp_path_factory.mktemp("c2")
    save_judge(build_judge(input_shape=(32, 32, 3), width=4), folder, "expression", FER_CLASSES)
    return str(folder)


def _weights(trainer) -> list[np.ndarray]:
    networks = trainer.networks if hasattr(trainer, "networks") else {}
    return [w.numpy().copy() for model in networks.values() for w in model.trainable_weights]


@pytest.mark.parametrize("experiment", [pytest.param(e, marks=pytest.mark.slow) if e in SLOW else e
                                        for e in LINEAGE if e != "T27"])
def test_every_experiment_builds_and_trains_two_steps(experiment, eager, frozen_classifier):
    from train.ccyclegan import make_trainer

    config, _ = resolved_config(experiment)
    if experiment == "T8":
        config = dataclasses.replace(config, frozen_classifier=frozen_classifier)
    config = _tiny(config)
    trainer = make_trainer(config, total_steps=2, steps_per_epoch=2)
    before = _weights(trainer)
    batch = _batch(config)
    for step in range(2):
        result = trainer.train_step(batch, 0, step)
        values = result.values if hasattr(result, "values") and not isinstance(result, dict) else result
        assert all(np.isfinite(float(v)) for v in values.values()), (experiment, values)
    after = _weights(trainer)
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert sum(changed) > len(changed) // 2, f"{experiment}: only {sum(changed)} of {len(changed)} weights moved"


def test_t8_without_its_classifier_is_a_clear_error():
    from ccyclegan.errors import UsageError
    from train.ccyclegan import make_trainer

    with pytest.raises(UsageError, match="--frozen-classifier"):
        make_trainer(_tiny(resolved_config("T8")[0]))


def test_resnet50_d_refuses_a_download_request():
    from models.lineage import build_resnet50_discriminator

    with pytest.raises(ValueError, match="never downloads"):
        build_resnet50_discriminator(weights="imagenet", img_size=32)
    with pytest.raises(FileNotFoundError, match="ResNet50 ImageNet weights file not found"):
        build_resnet50_discriminator(weights="/nowhere/resnet50.h5", img_size=32)


def test_the_unet_trainer_learns_its_cycle(eager):
    """T10 at tiny width without the adversarial term: 10 iterations on one batch bring G's cycle error down."""
    from train.ccyclegan import make_trainer

    config = _tiny(resolved_config("T10")[0])
    trainer = make_trainer(dataclasses.replace(config, adam_lr=5e-3, g_gan_loss_w=0))
    batch = _batch(config, n=4)
    cycle = [float(trainer.train_step(batch, 0, i)["g_cycle_loss"]) for i in range(10)]
    assert np.mean(cycle[-3:]) < 0.8 * np.mean(cycle[:3]), cycle


@pytest.mark.slow
def test_t4_trains_from_the_command_line_on_its_two_classes(tmp_path):
    data = write_fer_csv(tmp_path / "fer.csv", 48)
    out = tmp_path / "run"
    code = load_train_script().main(["--experiment", "T4", "--dataset", "fer2013", "--data", str(data), "--out",
                                     str(out), "--gf", "4", "--df", "4", "--max-steps", "2", "--log-style", "quiet"])
    assert code == 0
    assert (out / "G_AB.keras").exists() and (out / "D_B.keras").exists()
    rows = (out / "train_log.csv").read_text().splitlines()
    assert len(rows) == 3 and "g_cycle_loss" in rows[0]


def test_t8_takes_a_classifier_of_the_gray_faces_and_feeds_it_the_fakes_channel_mean(tmp_path):
    """The documented workflow: a C2 run on FER2013 (gray 48x48x1) is T8's frozen classifier of its RGB fakes."""
    from types import SimpleNamespace

    from ccyclegan.errors import UsageError
    from ccyclegan.labels import FER_CLASSES
    from models.classifier import build_judge, save_judge
    from train.ccyclegan import LineageUNetTrainer

    gray = build_judge(input_shape=(32, 32, 1), width=4)
    save_judge(gray, tmp_path / "c2", "expression", FER_CLASSES)
    owner = SimpleNamespace(config=SimpleNamespace(frozen_classifier=str(tmp_path / "c2"), img_size=32, channels=3,
                                                   num_classes=7))
    frozen = LineageUNetTrainer._load_frozen_classifier(owner)
    fakes = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(frozen(fakes).numpy(), gray(fakes.mean(axis=-1, keepdims=True)).numpy(), rtol=1e-5)
    owner.config.img_size = 48
    with pytest.raises(UsageError, match="the frozen classifier takes"):
        LineageUNetTrainer._load_frozen_classifier(owner)
