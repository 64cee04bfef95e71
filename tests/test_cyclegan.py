"""The two-domain CycleGAN family: networks at several sizes, the schedule and domain parsing, the fake pool, and
progressive training through the shared loop (stages, resume in stage 2 at the right size, learning)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ccyclegan.data.utkface import parse_domain
from models.cyclegan import (
    DISCRIMINATOR_PARAMETERS,
    GENERATOR_PARAMETERS,
    build_discriminator,
    build_generator,
    count_parameters,
    patch_size,
)
from train.cyclegan import CycleGANConfig, CycleGANTrainer, FakePool, StageSpec, parse_schedule


def test_parameter_counts_at_the_default_widths_are_the_references():
    assert count_parameters(build_generator()) == GENERATOR_PARAMETERS == 11_383_424
    assert count_parameters(build_discriminator()) == DISCRIMINATOR_PARAMETERS == 2_765_568


def test_the_same_generator_weights_run_at_three_sizes():
    generator, discriminator = build_generator(4, 1), build_discriminator(4)
    for size in (48, 64, 96):
        images = np.random.default_rng(size).uniform(-1, 1, (2, size, size, 3)).astype(np.float32)
        out = np.asarray(generator(images))
        assert out.shape == (2, size, size, 3) and np.all(np.abs(out) <= 1)
        assert np.asarray(discriminator(images)).shape == (2, size // 8, size // 8, 1) == (2, patch_size(size),
                                                                                            patch_size(size), 1)
    # fully convolutional: one 32 px patch of a 64 px image far from the border comes out the same at either size
    assert len(generator.weights) == len(build_generator(4, 1).weights)


def test_reflection_padding_mirrors_without_repeating_the_edge():
    from models.cyclegan import ReflectionPad2D

    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    padded = np.asarray(ReflectionPad2D(1)(x))[0, :, :, 0]
    assert padded.shape == (5, 5)
    assert padded[1].tolist() == [1, 0, 1, 2, 1] and padded[0].tolist() == padded[2].tolist()


def test_schedule_parsing_defaults_and_errors():
    stages = parse_schedule("48:15,64:25,96:30,128:20,256:20")
    assert [(s.size, s.epochs, s.batch_size) for s in stages] == [(48, 15, 32), (64, 25, 18), (96, 30, 9),
                                                                  (128, 20, 5), (256, 20, 1)]
    assert parse_schedule("48:2:4,72:1", batch_size=6) == (StageSpec(48, 2, 4), StageSpec(72, 1, 6))
    for bad, words in (("50:3", "multiple of 8"), ("48", "size:epochs"), ("48:0", "must be >= 1"),
                       ("48:2,64:x", "stage 2")):
        with pytest.raises(ValueError, match=words):
            parse_schedule(bad)


def test_domain_specs_become_the_presets_ranges():
    from ccyclegan.data.utkface import UTKFaceLabel

    age20s = parse_domain("age>=20,age<=29")
    assert str(age20s) == "age 20..29" == str(parse_domain("age=20-29"))
    assert age20s(UTKFaceLabel(25, 0, 0)) and not age20s(UTKFaceLabel(30, 0, 0))
    both = parse_domain("gender==1, age>50")
    assert both(UTKFaceLabel(51, 1, 2)) and not both(UTKFaceLabel(50, 1, 2)) and "age 51..116" in both.__name__
    for bad, words in (("age>=30,age<20", "empty"), ("height>3", "not a comparison"), ("", "empty")):
        with pytest.raises(ValueError, match=words):
            parse_domain(bad)


def test_config_names_what_is_wrong():
    with pytest.raises(ValueError, match="domain_a and domain_b go together"):
        CycleGANConfig(domain_a="age=20-29")
    with pytest.raises(ValueError, match="task must be one of"):
        CycleGANConfig(task="hair")
    with pytest.raises(ValueError, match="load_size 200 is smaller"):
        CycleGANConfig(load_size=200)
    assert CycleGANConfig(schedule=((48, 1, 2),)).schedule == (StageSpec(48, 1, 2),)  # from config.json lists
    assert CycleGANConfig().load_size_of(256) == 286 and CycleGANConfig(load_size=286).load_size_of(48) == 286


def test_fake_pool_fills_then_mixes_history_and_new_fakes():
    import tensorflow as tf

    pool = FakePool(4, "test_pool")
    pool.prepare(8)
    first = tf.ones((4, 8, 8, 3)) * tf.reshape(tf.range(4, dtype=tf.float32), (4, 1, 1, 1))
    assert np.allclose(pool.query(first, tf.constant([0, 1])), first)  # filling: the new fakes are shown
    assert int(pool.count.numpy()) == 4
    shown = np.asarray(pool.query(first + 10, tf.constant([0, 2])))
    # every swap exchanges a new fake for a stored one: shown + stored is always the old four and the new four
    stored = pool.images.numpy()[:, 0, 0, 0]
    assert sorted([*shown[:, 0, 0, 0], *stored]) == [0, 1, 2, 3, 10, 11, 12, 13]
    pool.prepare(8)
    assert int(pool.count.numpy()) == 4  # same size: kept (a resumed run keeps its history)
    pool.prepare(16)
    assert int(pool.count.numpy()) == 0 and pool.images.numpy().shape == (4, 16, 16, 3)


def _faces(n: int, seed: int, size: int = 32):
    """Two small domains that differ visibly (B brighter), as uint8 RGB."""
    from ccyclegan.data.synthetic import make_faces

    faces = make_faces(2 * n, seed=seed, size=size, channels=3, labels=None)
    a = faces.images[:n]
    b = np.clip(faces.images[n:].astype(int) + 60, 0, 255).astype(np.uint8)
    return a, b


TINY = dict(width=4, residual_blocks=1, d_width=4, log_style="quiet", checkpoint_interval=5)


def _run_killed_then_resumed(tmp_path, monkeypatch, capsys, config, a, b):
    """Train `config`, killed during step index 5 (after the checkpoint of step 5), then resumed; returns the
    resumed trainer, its summary, the image sizes each step saw (killed run, resumed run) and what it printed."""
    from train import cyclegan

    sizes, original = [], CycleGANTrainer.train_step

    def killed_at_step_5(self, batch, global_batch, seed):
        sizes.append(int(batch[0].shape[1]))
        if len(sizes) == 6:  # the 6th step (index 5) dies; the checkpoint of step 5 (interval 5) is on disk
            raise KeyboardInterrupt("killed")
        return original(self, batch, global_batch, seed)

    monkeypatch.setattr(CycleGANTrainer, "train_step", killed_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        cyclegan.train(config, a, b, tmp_path / "run")
    killed_sizes = list(sizes)
    capsys.readouterr()
    sizes.clear()

    def recording(self, batch, global_batch, seed):
        sizes.append(int(batch[0].shape[1]))
        return original(self, batch, global_batch, seed)

    monkeypatch.setattr(CycleGANTrainer, "train_step", recording)
    resumed, summary = cyclegan.train(config, a, b, tmp_path / "run", resume=True)
    return resumed, summary, killed_sizes, list(sizes), capsys.readouterr().out


def test_stages_train_at_their_sizes_and_a_run_killed_in_stage_2_resumes_there(tmp_path, monkeypatch, capsys):
    a, b = _faces(8, seed=3)
    config = CycleGANConfig(schedule=(StageSpec(16, 2, 4), StageSpec(24, 1, 4)), **TINY)  # 4 steps, then 2
    _, summary, killed, resumed, printed = _run_killed_then_resumed(tmp_path, monkeypatch, capsys, config, a, b)
    assert killed == [16] * 4 + [24] * 2  # stage 1 at 16 px, stage 2 at 24 px, killed in its second step
    assert "stage 2 of 2" in printed and "Stage 2 of 2: 24x24" in printed and "Stage 1 of 2" not in printed
    assert resumed == [24] and summary["steps"] == 6  # the one step left, at stage 2's size
    rows = list(csv.DictReader(open(tmp_path / "run" / "train_log.csv")))
    assert [int(r["step"]) for r in rows] == list(range(6)) and [r["stage"] for r in rows] == ["0"] * 4 + ["1"] * 2
    config_saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert [s["size"] for s in config_saved["schedule"]] == [16, 24]


@pytest.mark.slow
def test_a_resumed_staged_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, monkeypatch, capsys):
    from train import cyclegan

    a, b = _faces(8, seed=3)
    config = CycleGANConfig(schedule=(StageSpec(16, 2, 4), StageSpec(24, 1, 4)), pool_size=3, **TINY)
    straight, _ = cyclegan.train(config, a, b, tmp_path / "straight")
    resumed, *_ = _run_killed_then_resumed(tmp_path, monkeypatch, capsys, config, a, b)
    for name in ("G_AB", "G_BA", "D_A", "D_B"):
        for mine, theirs in zip(resumed.networks[name].weights, straight.networks[name].weights):
            np.testing.assert_allclose(np.asarray(mine), np.asarray(theirs), atol=1e-5)


@pytest.mark.slow
def test_training_lowers_the_cycle_error_and_exports_generators_that_run_at_any_size(tmp_path):
    from train import cyclegan

    a, b = _faces(16, seed=5)
    config = CycleGANConfig(schedule=(StageSpec(16, 10, 4), StageSpec(24, 1, 4)), width=8, residual_blocks=1,
                            d_width=8, learning_rate=2e-3, log_style="quiet", checkpoint_interval=0)
    _, summary = cyclegan.train(config, a, b, tmp_path / "run")
    rows = list(csv.DictReader(open(tmp_path / "run" / "train_log.csv")))
    cycle = [float(r["g_cycle_l1"]) for r in rows]
    assert np.mean(cycle[-12:-4]) < 0.8 * np.mean(cycle[:4]), cycle  # stage 1's last epochs vs its first steps
    import keras

    generator = keras.models.load_model(tmp_path / "run" / "generator_ab.keras")
    assert np.asarray(generator(np.zeros((1, 40, 40, 3), np.float32))).shape == (1, 40, 40, 3)
    assert set(summary["seconds_per_epoch"]) <= {"16px", "24px"} and (tmp_path / "run" / "samples").is_dir()
