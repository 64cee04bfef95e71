"""T27 on tiny data: a two-configuration grid, a few steps each, scored by the Frechet distance per target class on
a tiny judge's features; the table is written and the winner is the row with the lowest mean."""

import csv
import dataclasses
import json

import numpy as np
import pytest

from tests.helpers import striped_faces

SIZE = 32  # the judge needs 32 px; a 3-layer final model takes it (32 -> 15 -> 6 -> 2)


def faces(n, seed):
    import tensorflow as tf

    images, labels = striped_faces(n, seed=seed)
    return tf.image.resize(images, (SIZE, SIZE)).numpy().round().astype(np.uint8), labels


@pytest.fixture
def eager():
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)  # a few tiny steps cost less than tracing them
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(scope="module")
def tiny_judge(tmp_path_factory):
    from ccyclegan.labels import FER_CLASSES
    from models.classifier import build_judge, save_judge

    folder = tmp_path_factory.mktemp("judge")
    save_judge(build_judge(input_shape=(SIZE, SIZE, 1), width=4), folder, "expression", FER_CLASSES)
    return str(folder)


def test_a_tiny_search_writes_its_table_and_picks_the_lowest_mean(tmp_path, tiny_judge, eager):
    from train.ccyclegan import CCycleGANConfig
    from train.lineage_search import feature_extractor, search

    images, labels = faces(48, seed=2)
    held_images, held_labels = faces(70, seed=3)
    base = CCycleGANConfig(img_size=SIZE, gf=4, df=4, num_layers=3, batch_size=8, epochs=1, sample_interval=0, log_style="quiet",
                           d_g_ratio=1)
    features, extractor = feature_extractor(None, tiny_judge, images.shape[1:])
    assert "penultimate" in extractor
    result = search(base, images, labels, held_images, held_labels, tmp_path, features=features,
                    extractor=extractor, grid={"g_gan_loss_w": (1, 2), "adam_lr": (2e-4,)}, max_steps=2, fid_n=10)

    with open(tmp_path / "search.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["g_gan_loss_w"]) for r in rows] == [1, 2]
    means = [float(r["mean_FID"]) for r in rows]
    assert all(np.isfinite(means)) and all(m >= 0 for m in means)
    for row in rows:  # the mean is the mean of the seven per-class distances
        assert np.isclose(np.nanmean([float(row[f"lab{i}_FID"]) for i in range(7)]), float(row["mean_FID"]))
    report = json.loads((tmp_path / "search.json").read_text())
    assert float(report["winner"]["mean_FID"]) == min(means)
    assert "not comparable" in report["note"] and report["extractor"] == extractor
    assert result["configurations"] == 2


def test_the_search_needs_features_and_a_grid_of_settings():
    from ccyclegan.errors import UsageError
    from train.ccyclegan import CCycleGANConfig
    from train.lineage_search import ORIGINAL_GRID, feature_extractor, grid_configs

    with pytest.raises(UsageError, match="--fid-weights .* or --judge"):
        feature_extractor(None, None, (48, 48, 1))
    configs = grid_configs(CCycleGANConfig())
    assert len(configs) == 8
    assert [(c.g_gan_loss_w, c.g_cl_loss_w, c.adam_lr) for c in configs[:3]] == [(1, 1, 2e-4), (1, 1, 1e-4),
                                                                                  (1, 2, 2e-4)]
    assert ORIGINAL_GRID["adam_lr"] == (2e-4, 1e-4)
    with pytest.raises(UsageError, match="not CCycleGAN settings"):
        grid_configs(CCycleGANConfig(), {"learning_rate": (1,)})
    assert dataclasses.asdict(configs[-1])["g_gan_loss_w"] == 2


def test_the_search_refuses_options_it_would_ignore(tmp_path, capsys):
    from tests.helpers import load_train_script

    train_script = load_train_script()
    for extra in (["--strategy", "mirrored"], ["--evaluate-after"]):
        status = train_script.main(["--experiment", "T27", "--dataset", "synthetic", "--out", str(tmp_path / "t27"),
                                    *extra])
        assert status != 0
        assert "T27's search trains its configurations one after another" in capsys.readouterr().err
    assert not (tmp_path / "t27").exists()
