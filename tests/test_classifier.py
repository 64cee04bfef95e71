"""The classifier builders (exact parameter counts of the originals), the train step, evaluation and the trainer."""

import argparse
import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import classifier as builders
from train import classifier as trainer

NUM_CLASSES = 7


def structured_faces(n, seed, size=48):
    """Tiny learnable data: class c is a bright 8x8 square in cell c of a 3x3 grid, on noise, as uint8 images."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % NUM_CLASSES
    rng.shuffle(labels)
    images = rng.integers(0, 90, size=(n, size, size, 1)).astype(np.uint8)
    cell = size // 3
    for image, label in zip(images, labels):
        row, col = divmod(int(label), 3)
        top, left = row * cell + rng.integers(0, cell - 8), col * cell + rng.integers(0, cell - 8)
        image[top:top + 8, left:left + 8] = 230
    return SimpleNamespace(images=images, labels=labels.astype(np.int64))


def tiny_fer(train=140, test=70, seed=0):
    return SimpleNamespace(train=structured_faces(train, seed), public_test=structured_faces(test, seed + 1),
                           private_test=structured_faces(test, seed + 2))


def tiny_label_match_model(num_classes=NUM_CLASSES):
    """A small stand-in for C1 with the same interface: [int label (1,), image] -> match probability."""
    label = keras.Input((1,), dtype="int32")
    image = keras.Input((48, 48, 1))
    features = keras.layers.Dense(8)(keras.layers.Flatten()(keras.layers.AveragePooling2D(8)(image)))
    embedded = keras.layers.Flatten()(keras.layers.Embedding(num_classes, 8)(label))
    match = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([features, embedded]))
    return keras.Model([label, image], match)


# --- builders --------------------------------------------------------------------------------------------------


def test_original_resnet50_baselines_have_the_originals_parameter_counts():
    assert builders.build_c1_label_match().count_params() == 25_790_013
    c2 = builders.build_c2_resnet50(gray_input=True)
    assert c2.count_params() == 25_693_063  # the in-model gray -> RGB replication adds nothing
    assert c2.input_shape == (None, 48, 48, 1) and c2.output_shape == (None, 7)


def test_judge_and_discriminator_style_sizes():
    judge = builders.build_judge()
    assert judge.count_params() == 1_176_359
    assert judge.output_shape == (None, 7)
    assert builders.build_discriminator_style_classifier().count_params() == 2_786_765


def test_imagenet_weights_are_only_read_from_a_local_file(tmp_path):
    missing = tmp_path / "resnet.h5"
    with pytest.raises(FileNotFoundError, match=f"{missing}: ResNet50 ImageNet weights file not found.*~/.keras"):
        builders.build_c2_resnet50(weights=missing)
    with pytest.raises(ValueError, match="must be a local file path; this library never downloads"):
        builders.build_c1_label_match(weights="imagenet")
    with pytest.raises(FileNotFoundError, match="InceptionV3 ImageNet weights file not found"):
        builders.inception_feature_extractor(tmp_path / "inception.h5")


def test_gray_to_rgb_replicates_the_channel_for_arrays_and_tensors():
    gray = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    rgb = builders.gray_to_rgb(gray)
    assert rgb.shape == (2, 2, 2, 3) and np.all(rgb == gray)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(builders.gray_to_rgb(tf.constant(gray))), rgb)
    with pytest.raises(ValueError, match="expects 1 channel"):
        builders.gray_to_rgb(rgb)


def test_augmentation_changes_images_only_in_training_and_the_judge_is_deterministic():
    judge = builders.build_judge(width=4)
    augment = builders.augmentation_block(seed=1)
    images = np.random.default_rng(0).uniform(-1, 1, size=(4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(augment(images, training=False)), images)
    assert not np.allclose(keras.ops.convert_to_numpy(augment(images, training=True)), images)
    first = keras.ops.convert_to_numpy(judge(images, training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(judge(images, training=False)), first)


def test_feature_extractors_give_pooled_features():
    judge = builders.build_judge(width=4)
    extractor = builders.judge_feature_extractor(judge)
    images = structured_faces(5, seed=0).images
    features = builders.extract_features(extractor, images, batch_size=2)
    assert features.shape == (5, 32) and features.dtype == np.float64
    direct = keras.ops.convert_to_numpy(extractor(images.astype(np.float32) / 127.5 - 1.0))
    np.testing.assert_allclose(features, direct, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="has no layer 'nope'"):
        builders.judge_feature_extractor(judge, layer="nope")


@pytest.mark.slow
def test_inception_feature_extractor_builds_from_gray_48px():
    extractor = builders.inception_feature_extractor(None)
    features = builders.extract_features(extractor, structured_faces(2, seed=0).images)
    assert features.shape == (2, 2048)


# --- training and evaluation --------------------------------------------------------------------------------------


def test_judge_learns_a_tiny_synthetic_set_above_chance():
    keras.utils.set_random_seed(0)
    data = tiny_fer(train=140, test=70)
    model = builders.build_judge(width=8)
    step = trainer.make_train_step(model, keras.optimizers.Adam(3e-3))
    images = data.train.images.astype(np.float32) / 127.5 - 1.0
    for _ in range(16):
        for start in range(0, 140, 70):
            values = step(tf.constant(images[start:start + 70]), tf.constant(data.train.labels[start:start + 70]))
    assert np.isfinite(float(values["loss"]))
    result = trainer.evaluate(model, data.public_test.images, data.public_test.labels)
    assert result["accuracy"] > 0.5  # chance is 1/7
    assert np.sum(result["confusion_matrix"]) == 70


def test_label_match_step_and_seven_way_scores():
    model = tiny_label_match_model()
    step = trainer.make_train_step(model, keras.optimizers.Adam(1e-2))
    data = structured_faces(14, seed=3)
    images = tf.constant(data.images.astype(np.float32) / 127.5 - 1.0)
    values = step(images, tf.constant(data.labels))
    assert 0.0 <= float(values["accuracy"]) <= 1.0 and np.isfinite(float(values["loss"]))
    scores = trainer.class_scores(model, data.images, batch_size=4)
    assert scores.shape == (14, NUM_CLASSES)
    direct = model([np.full((14, 1), 5, np.int32), images.numpy()]).numpy()[:, 0]
    np.testing.assert_allclose(scores[:, 5], direct, rtol=1e-5)
    assert "label_match_accuracy" in trainer.evaluate(model, data.images, data.labels)


def test_score_report_by_hand():
    scores = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.1, 0.8]])
    labels = np.array([0, 1, 2])
    report = trainer.score_report(scores, labels)
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["loss"] == pytest.approx(-np.mean(np.log([0.7, 0.4, 0.8])))
    assert report["confusion_matrix"] == [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    # label match: wrong labels drawn from seed 0; true scores 0.7, 0.4, 0.8 -> 2 of 3 true pairs right
    wrong = (labels + np.random.default_rng(0).integers(1, 3, size=3)) % 3
    wrong_right = np.sum(scores[np.arange(3), wrong] < 0.5)
    matched = trainer.score_report(scores, labels, label_match=True, seed=0)
    assert matched["label_match_accuracy"] == pytest.approx((2 + wrong_right) / 6)


def test_fit_classifier_writes_the_run(tmp_path):
    data = tiny_fer(train=64, test=21)
    config = trainer.ClassifierConfig(width=4, epochs=1, batch_size=32, log_style="quiet", augment=True,
                                      lr_schedule="cosine")
    run_dir = tmp_path / "run"
    _, summary = trainer.fit_classifier(config, data, run_dir)
    assert summary["epochs_completed"] == 1 and summary["steps"] == 2
    validation = (run_dir / "validation_log.csv").read_text().splitlines()
    assert float(validation[1].split(",")[-1]) == pytest.approx(1e-5)  # cosine decayed to 1% of 1e-3 at the end
    assert 0.0 <= summary["private_test_accuracy"] <= 1.0
    for name in ("config.json", "train_log.csv", "validation_log.csv", "classifier.keras", "best.weights.h5",
                 "confusion_matrix.png", "classification_report.txt", "metrics.json"):
        assert (run_dir / name).exists(), name
    assert "Disgust" in (run_dir / "classification_report.txt").read_text()
    assert json.loads((run_dir / "metrics.json").read_text())["arch"] == "judge"
    reloaded = keras.models.load_model(run_dir / "classifier.keras")
    assert reloaded.count_params() == builders.build_judge(width=4).count_params()
    with pytest.raises(FileExistsError, match="--resume"):
        trainer.fit_classifier(config, data, run_dir)


@pytest.mark.slow
def test_fit_classifier_resumes_where_it_stopped(tmp_path):
    data = tiny_fer(train=64, test=21)
    run_dir = tmp_path / "run"
    trainer.fit_classifier(trainer.ClassifierConfig(width=4, epochs=2, batch_size=32, log_style="quiet"), data,
                           run_dir)
    # a resumed run with more epochs continues from step 4, keeping the validation log without duplicates
    longer = trainer.ClassifierConfig(width=4, epochs=3, batch_size=32, log_style="quiet")
    _, resumed = trainer.fit_classifier(longer, data, run_dir, resume=True)
    assert resumed["steps"] == 6 and resumed["epochs_completed"] == 3
    epochs_logged = [line.split(",")[0] for line in (run_dir / "validation_log.csv").read_text().splitlines()[1:]]
    assert epochs_logged == ["0", "1", "2"]


@pytest.mark.slow
def test_early_stopping_stops_when_publictest_stops_improving(tmp_path):
    data = tiny_fer(train=64, test=21)
    config = trainer.ClassifierConfig(width=4, epochs=20, batch_size=32, log_style="quiet", patience=1,
                                      learning_rate=1e-9, augment=False)
    _, summary = trainer.fit_classifier(config, data, tmp_path / "run")
    assert summary["stopped_early"] and summary["epochs_completed"] == 2  # epoch 0 is best, epoch 1 is stale


def test_plugin_arguments_and_per_architecture_defaults():
    parser = argparse.ArgumentParser()
    trainer.add_arguments(parser)
    args = parser.parse_args(["--arch", "c2", "--imagenet-weights", "w.h5"])
    args.epochs, args.batch_size, args.seed = 5, 16, 3
    config = trainer.config_from_args(args)
    assert (config.learning_rate, config.beta_1, config.patience, config.lr_patience) == (2e-4, 0.5, 20, 5)
    assert config.augment is False and config.imagenet_weights == "w.h5" and config.epochs == 5
    judge = trainer.config_from_args(parser.parse_args(["--no-augment", "--patience", "2"]))
    assert judge.augment is False and judge.patience == 2 and judge.learning_rate == 1e-3
    with pytest.raises(ValueError, match="--arch must be one of"):
        trainer.ClassifierConfig(arch="vgg")



@pytest.mark.slow
def test_train_py_runs_the_classifier_family_end_to_end(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    from tests.helpers import write_fer_csv

    spec = importlib.util.spec_from_file_location("train_script", Path(__file__).resolve().parents[1] / "train.py")
    train_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_script)
    csv_path = write_fer_csv(tmp_path / "fer2013.csv", n_train=32, n_public=14, n_private=14)
    out = tmp_path / "run"
    status = train_script.main(["--family", "classifier", "--data", str(csv_path), "--out", str(out), "-epochs", "1",
                                "-batch_size", "16", "--width", "4", "--log-style", "quiet"])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 2 and 0.0 <= metrics["private_test_accuracy"] <= 1.0
    assert "PrivateTest accuracy" in capsys.readouterr().out
    assert train_script.main(["--family", "classifier", "--data", str(csv_path), "--out", str(tmp_path / "x"),
                              "--xla"]) == 2
