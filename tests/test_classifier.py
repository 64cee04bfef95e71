"""The classifier builders (exact parameter counts of the originals), the train step, evaluation and the trainer."""

import argparse
import json
from types import SimpleNamespace

import keras
import numpy as np
import pytest
import tensorflow as tf

from models import classifier as builders
from tests.helpers import load_train_script, with_option
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
    # global pooling: the size does not matter, RGB adds 2 x 9 x 32 weights to the first convolution
    assert builders.build_judge((112, 112, 3)).count_params() == 1_176_359 + 2 * 9 * 32
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
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["arch"] == "judge" and metrics["task"] == "expression" and metrics["input_shape"] == [48, 48, 1]
    assert (metrics["selection_split"], metrics["report_split"]) == ("public_test", "private_test")
    assert "selection_note" not in metrics  # FER2013 selects and reports on different splits
    judge = builders.load_judge(run_dir)
    assert judge.task == "expression" and judge.names[1] == "Disgust" and judge.input_shape == (48, 48, 1)
    np.testing.assert_allclose(np.argmax(judge.scores(data.private_test.images), axis=1).tolist(),
                               np.argmax(trainer.class_scores(judge.model, data.private_test.images), axis=1))
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

    from tests.helpers import write_fer_csv

    train_script = load_train_script()
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


# --- any input shape, three tasks, judges ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 64, 3), (112, 112, 3), (64, 64, 1)])
def test_builders_take_any_image_shape(shape):
    images = np.random.default_rng(0).uniform(-1, 1, size=(2, *shape)).astype(np.float32)
    judge = builders.build_judge(shape, num_classes=2, width=4)
    assert judge.input_shape == (None, *shape) and judge.output_shape == (None, 2)
    regressor = builders.build_judge(shape, num_classes=17, width=4, output_activation="sigmoid")
    predicted = keras.ops.convert_to_numpy(regressor(images, training=False))
    assert predicted.shape == (2, 17) and np.all((predicted > 0) & (predicted < 1))
    assert not np.allclose(predicted.sum(axis=1), 1.0)  # a sigmoid per AU, not a softmax
    style = builders.build_discriminator_style_classifier(shape, num_classes=17, df=4, output_activation="sigmoid")
    assert style.output_shape == (None, 17)
    assert keras.ops.convert_to_numpy(style(images)).shape == (2, 17)


def test_resnet50_baselines_take_rgb_and_gray_at_other_sizes():
    c2 = builders.build_c2_resnet50(input_shape=(112, 112, 3), num_classes=17, output_activation="sigmoid")
    assert c2.input_shape == (None, 112, 112, 3) and c2.output_shape == (None, 17)
    c1 = builders.build_c1_label_match(input_shape=(64, 64, 1), num_classes=2)
    assert [tuple(i.shape) for i in c1.inputs] == [(None, 1), (None, 64, 64, 1)]  # gray made RGB inside


def test_builders_refuse_impossible_shapes_and_heads():
    with pytest.raises(ValueError, match="input_shape must be"):
        builders.build_judge((16, 16, 3))
    with pytest.raises(ValueError, match="input_shape must be"):
        builders.build_judge((64, 64, 4))
    with pytest.raises(ValueError, match="output_activation must be one of"):
        builders.build_judge(output_activation="relu")


def test_class_scores_lives_with_the_models_and_the_trainer_re_exports_it():
    assert trainer.class_scores is builders.class_scores and trainer.is_label_match is builders.is_label_match


def _tiny_model(task, shape):
    """An untrained judge for `task` ("expression", "domain" or "au") at `shape`."""
    outputs = {"expression": 7, "domain": 2, "au": 17}[task]
    activation = "sigmoid" if task == "au" else "softmax"
    return builders.build_judge(shape, num_classes=outputs, width=4, output_activation=activation)


@pytest.mark.parametrize("task, shape, names", [
    ("expression", (48, 48, 1), trainer.FER_CLASSES),
    ("domain", (64, 64, 3), ("age 20..29", "age 50..59")),
    ("au", (112, 112, 3), builders.AU_NAMES),
])
def test_load_judge_round_trip(tmp_path, task, shape, names):
    model = _tiny_model(task, shape)
    builders.save_judge(model, tmp_path, task, names, arch="judge", dataset="test")
    record = json.loads((tmp_path / "judge.json").read_text())
    assert record["task"] == task and record["input_shape"] == list(shape) and record["names"] == list(names)
    images = np.random.default_rng(1).integers(0, 256, size=(5, *shape), dtype=np.uint8)
    expected = keras.ops.convert_to_numpy(model(images.astype(np.float32) / 127.5 - 1.0, training=False))
    for path in (tmp_path, tmp_path / "classifier.keras"):  # the run folder or the model file
        judge = builders.load_judge(path)
        assert (judge.task, judge.names, judge.input_shape) == (task, tuple(names), shape)
        assert judge.record["dataset"] == "test" and judge.is_regressor == (task == "au")
        np.testing.assert_allclose(judge.scores(images, batch_size=2), expected, rtol=1e-4, atol=1e-6)
    if task == "au":
        assert builders.load_au_judge(tmp_path, "reading AUs").task == "au"
    else:  # a judge of another task is refused where AUs are needed, saying what wanted them
        from ccyclegan.errors import UsageError

        with pytest.raises(UsageError, match=f"a {task} judge; reading AUs needs an AU regressor"):
            builders.load_au_judge(tmp_path, "reading AUs")
    # other sizes are resized to the judge's; gray faces are made RGB for an RGB judge
    other = np.random.default_rng(2).integers(0, 256, size=(3, 40, 56, 1), dtype=np.uint8)
    assert judge.scores(other).shape == (3, len(names))
    if shape[-1] == 1:
        with pytest.raises(ValueError, match="judges gray images"):
            judge.scores(np.zeros((1, *shape[:2], 3), np.uint8))


def test_load_judge_errors_are_one_line_naming_the_path(tmp_path):
    from ccyclegan.modelio import ModelFileError

    missing = tmp_path / "nope" / "classifier.keras"
    with pytest.raises(ModelFileError, match=f"^{missing}: no such file; expected a judge") as error:
        builders.load_judge(missing)
    assert "\n" not in str(error.value)
    with pytest.raises(ModelFileError, match=f"^{tmp_path}: is a folder"):
        builders.load_judge(tmp_path)
    # a judge.json that does not describe its model
    builders.save_judge(_tiny_model("domain", (64, 64, 3)), tmp_path, "domain", ("a", "b"))
    record = json.loads((tmp_path / "judge.json").read_text())
    (tmp_path / "judge.json").write_text(json.dumps({**record, "input_shape": [48, 48, 3]}))
    with pytest.raises(ModelFileError, match=r"takes images \(64, 64, 3\) but judge.json says \(48, 48, 3\)"):
        builders.load_judge(tmp_path)
    (tmp_path / "judge.json").write_text(json.dumps({**record, "task": "age"}))
    with pytest.raises(ModelFileError, match="judge.json: names the task 'age'"):
        builders.load_judge(tmp_path)
    (tmp_path / "judge.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="judge.json: is not a judge record"):
        builders.load_judge(tmp_path)
    with pytest.raises(ValueError, match="2 outputs but 3 names"):
        builders.save_judge(_tiny_model("domain", (64, 64, 3)), tmp_path / "x", "domain", ("a", "b", "c"))


def test_a_judge_without_judge_json_is_a_fer_judge_only_with_seven_classes(tmp_path):
    from ccyclegan.modelio import ModelFileError

    _tiny_model("expression", (48, 48, 1)).save(tmp_path / "old.keras")  # trained before judge.json existed
    judge = builders.load_judge(tmp_path / "old.keras")
    assert judge.task == "expression" and judge.names == tuple(trainer.FER_CLASSES)
    _tiny_model("au", (64, 64, 3)).save(tmp_path / "au.keras")
    with pytest.raises(ModelFileError, match="has 17 outputs and no judge.json beside it"):
        builders.load_judge(tmp_path / "au.keras")


def test_the_task_follows_the_source_and_a_mismatch_is_a_usage_error(capsys):

    from ccyclegan.data.sources import source_spec
    from ccyclegan.errors import UsageError

    assert [trainer.task_for_source(source_spec(name)) for name in ("synthetic", "synthetic-utkface", "openface",
                                                                     "synthetic-ganimation")] == \
        ["expression", "domain", "au", "au"]
    assert trainer.task_for_source(source_spec("ganimation"), "au") == "au"
    with pytest.raises(UsageError, match="--task au does not fit --dataset synthetic-utkface: it conditions on "
                                         "domains .*trains --task domain"):
        trainer.task_for_source(source_spec("synthetic-utkface"), "au")
    with pytest.raises(UsageError, match="--arch c1 .* cannot regress AU"):
        trainer.ClassifierConfig(arch="c1", task="au")
    train_script = load_train_script()
    assert train_script.main(["--family", "classifier", "--dataset", "synthetic-openface", "--task",
                              "expression"]) == 2
    assert "--task expression does not fit --dataset synthetic-openface" in capsys.readouterr().err


def test_non_fer_sources_use_their_own_synthetic_size_and_at_most_128_pixels(monkeypatch, tmp_path):
    from ccyclegan.data import sources

    calls = []

    def fake_load_source(name, path=None, **options):
        calls.append((name, options))
        raise FileNotFoundError("stop here")

    monkeypatch.setattr(sources, "load_source", fake_load_source)
    parser = argparse.ArgumentParser()
    trainer.add_arguments(parser)
    for dataset, synthetic_n, size in (("synthetic-utkface", None, 128), ("synthetic-openface", 600, 112)):
        args = parser.parse_args([])
        args.dataset, args.synthetic_n, args.data, args.out, args.seed = dataset, synthetic_n, None, tmp_path, 0
        with pytest.raises(FileNotFoundError, match="stop here"):
            trainer.run(args)
        name, options = calls[-1]
        assert name == dataset and options["synthetic_n"] == synthetic_n  # None: the source's own default
        assert options.get("size", 112) == size
    args.dataset, args.image_size = "synthetic", 64
    with pytest.raises(trainer.UsageError, match="FER2013 faces are 48x48"):
        trainer.run(args)


def _source(name, tmp_path, n, size):
    from ccyclegan.data.sources import load_source

    return load_source(name, tmp_path / name, synthetic_n=n, size=size)


def test_au_regressor_beats_the_training_mean_on_synthetic_faces(tmp_path):
    """About 30 s: 288 steps on 270 faces at 48 px. Measured: held-out MAE 0.158 against 0.226 for the mean."""
    data = _source("synthetic-openface", tmp_path, 300, 48)
    config = trainer.ClassifierConfig(task="au", width=16, epochs=36, batch_size=32, learning_rate=1e-3,
                                      augment=False, patience=100, lr_patience=100, log_style="quiet")
    _, summary = trainer.fit_classifier(config, data, tmp_path / "run", dataset="synthetic-openface")
    assert summary["held_out_mae"] < 0.85 * summary["baseline_mae"]
    assert summary["baseline_mae"] == pytest.approx(0.2257, abs=2e-3)  # the data are seeded
    assert summary["selection_split"] == "test" and "selection_note" in summary
    assert set(summary["held_out_per_au_mae"]) == set(builders.AU_NAMES)
    judge = builders.load_judge(tmp_path / "run")
    assert judge.task == "au" and judge.input_shape == (48, 48, 3) and judge.names == builders.AU_NAMES
    predicted = judge.scores(data.held_out.images)
    assert np.mean(np.abs(predicted - data.held_out.aus)) == pytest.approx(summary["held_out_mae"], rel=1e-5)
    assert "all" in (tmp_path / "run" / "au_report.txt").read_text()


def test_domain_classifier_learns_the_synthetic_utkface_age_task(tmp_path):
    data = _source("synthetic-utkface", tmp_path, 300, 48)
    config = trainer.ClassifierConfig(task="domain", width=8, epochs=5, batch_size=32, learning_rate=3e-3,
                                      augment=False, patience=100, log_style="quiet")
    _, summary = trainer.fit_classifier(config, data, tmp_path / "run", dataset="synthetic-utkface")
    assert summary["held_out_accuracy"] >= 0.75  # chance 0.5; measured 0.97
    assert summary["names"] == ["age 20..29", "age 50..59"]
    assert "age 50..59" in (tmp_path / "run" / "classification_report.txt").read_text()
    judge = builders.load_judge(tmp_path / "run" / "classifier.keras")
    assert judge.task == "domain" and judge.input_shape == (48, 48, 3)
    accuracy = np.mean(np.argmax(judge.scores(data.held_out.images), axis=1) == data.held_out.labels)
    assert accuracy == pytest.approx(summary["held_out_accuracy"])


def test_train_py_trains_an_au_judge_from_the_command_line(tmp_path, capsys):

    train_script = load_train_script()
    out = tmp_path / "au-judge"
    status = train_script.main(["--family", "classifier", "--dataset", "synthetic-openface", "--synthetic-n", "120",
                                "--data", str(tmp_path / "faces"), "--out", str(out), "-epochs", "1",
                                "-batch_size", "32", "--width", "4", "--image-size", "48", "--au-loss", "l1",
                                "--log-style", "quiet"])
    assert status == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "au" and metrics["au_loss"] == "l1" and metrics["steps"] == 3  # 108 faces / 32
    assert json.loads((out / "judge.json").read_text())["input_shape"] == [48, 48, 3]
    assert "held-out AU mean absolute error" in capsys.readouterr().out


# --- the platform's run folders -------------------------------------------------------------------------------------


def _classifier_args(csv_path, out, *extra):
    """A tiny classifier run: 32 training faces in batches of 16 (2 steps per epoch), width 8."""
    return ["--family", "classifier", "--data", str(csv_path), "--out", str(out), "-epochs", "1", "-batch_size", "16",
            "--width", "8", "--log-style", "quiet", *[str(value) for value in extra]]


@pytest.fixture(scope="module")
def classifier_csv(tmp_path_factory):
    from tests.helpers import write_fer_csv

    return write_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv", n_train=32, n_public=14, n_private=14)


@pytest.fixture(scope="module")
def saved_classifier_run(classifier_csv, tmp_path_factory):
    """A classifier run stopped by --max-steps 1 of 2: checkpoint ckpt-1, config.json, its judge and metrics."""
    out = tmp_path_factory.mktemp("classifier") / "run"
    assert load_train_script().main(_classifier_args(classifier_csv, out, "--max-steps", 1)) == 0
    assert (out / "checkpoints" / "ckpt-1.index").exists()
    return out


@pytest.fixture
def classifier_run(saved_classifier_run, tmp_path):
    """A private copy of the saved classifier run."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(saved_classifier_run, copy)
    return copy


def test_a_classifier_run_that_fails_before_its_first_step_creates_no_run_folder(classifier_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = load_train_script().main(with_option(_classifier_args(classifier_csv, out), "-batch_size", 64))  # 32 faces
    assert code == 2
    assert "32 examples make no full batch of 64" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(trainer.UsageError, match="no full batch"):  # the same from Python
        trainer.fit_classifier(trainer.ClassifierConfig(width=8, batch_size=64), tiny_fer(train=32, test=14),
                               tmp_path / "direct")
    assert not (tmp_path / "direct").exists()


def test_a_classifier_run_writes_the_platforms_config_and_summary(saved_classifier_run, classifier_csv):
    config = json.loads((saved_classifier_run / "config.json").read_text())
    assert config["width"] == 8 and config["task"] == "expression"
    assert config["_run"]["dataset"] == "fer2013" and config["_run"]["data"] == str(classifier_csv)
    assert config["_run"]["task"] == "expression"
    summary = json.loads((saved_classifier_run / "summary.json").read_text())
    metrics = json.loads((saved_classifier_run / "metrics.json").read_text())
    assert summary["steps"] == metrics["steps"] == 1
    assert summary["private_test_accuracy"] == metrics["private_test_accuracy"]
    assert summary["exports"] == {"classifier.keras": str(saved_classifier_run / "classifier.keras")}


def test_classifier_resume_with_another_width_is_refused_and_touches_nothing(classifier_run, classifier_csv, capsys):
    config_before = (classifier_run / "config.json").read_bytes()
    checkpoint_before = (classifier_run / "checkpoints" / "ckpt-1.index").read_bytes()
    argv = with_option(_classifier_args(classifier_csv, classifier_run, "--resume"), "--width", 16)
    assert load_train_script().main(argv) == 2
    error = capsys.readouterr().err
    assert "width: saved 8, now 16" in error and "Traceback" not in error
    assert (classifier_run / "config.json").read_bytes() == config_before
    assert (classifier_run / "checkpoints" / "ckpt-1.index").read_bytes() == checkpoint_before
    assert sorted(p.name for p in (classifier_run / "checkpoints").iterdir() if p.suffix == ".index") == \
        ["ckpt-1.index"]


def test_classifier_resume_with_more_epochs_is_accepted_and_continues(classifier_run, classifier_csv, capsys):
    argv = with_option(_classifier_args(classifier_csv, classifier_run, "--resume", "--max-steps", 3), "-epochs", 2)
    assert load_train_script().main(argv) == 0
    out = capsys.readouterr().out
    assert "epochs: saved 1, now 2" in out and "at step 1" in out
    with open(classifier_run / "train_log.csv", newline="") as handle:
        import csv

        assert [int(row["step"]) for row in csv.DictReader(handle)] == [0, 1, 2]
    epochs_logged = [line.split(",")[0] for line in (classifier_run / "validation_log.csv").read_text().splitlines()]
    assert epochs_logged == ["epoch", "0"]
    assert json.loads((classifier_run / "config.json").read_text())["epochs"] == 2
    assert json.loads((classifier_run / "metrics.json").read_text())["steps"] == 3


def test_a_gender_judge_from_the_command_line_and_domain_options_only_for_utkface(tmp_path, capsys):
    train_script = load_train_script()
    out = tmp_path / "gender-judge"
    status = train_script.main(["--family", "classifier", "--dataset", "synthetic-utkface", "--synthetic-n", "100",
                                "--data", str(tmp_path / "utk"), "--domains", "gender", "--out", str(out),
                                "-epochs", "1", "-batch_size", "16", "--width", "4", "--image-size", "48",
                                "--log-style", "quiet"])
    assert status == 0
    judge = builders.load_judge(out)
    assert judge.task == "domain" and len(judge.names) == 2 and "age" not in " ".join(judge.names)
    capsys.readouterr()
    assert train_script.main(["--family", "classifier", "--dataset", "synthetic", "--domains", "gender",
                              "--out", str(tmp_path / "refused")]) != 0
    assert "--dataset synthetic-fer2013 has none" in capsys.readouterr().err
    assert train_script.main(["--family", "classifier", "--dataset", "synthetic-utkface", "--domain-a", "age<=29",
                              "--data", str(tmp_path / "utk"), "--out", str(tmp_path / "refused2")]) != 0
    assert "--domain-a and --domain-b go together" in capsys.readouterr().err
    assert train_script.main(["--family", "classifier", "--dataset", "synthetic-utkface", "--domain-a", "age>=60",
                              "--domain-b", "age<=10,age>20", "--data", str(tmp_path / "utk"),
                              "--out", str(tmp_path / "refused3")]) != 0
    assert "no age satisfies it" in capsys.readouterr().err
    # The comparison syntax its --help shows (the cyclegan family's) names the same domains as the preset.
    out = tmp_path / "age-judge"
    assert train_script.main(["--family", "classifier", "--dataset", "synthetic-utkface", "--data",
                              str(tmp_path / "utk"), "--domain-a", "age>=20,age<=29", "--domain-b", "age=50-59",
                              "--out", str(out), "-epochs", "1", "-batch_size", "16", "--width", "4",
                              "--image-size", "48", "--log-style", "quiet"]) == 0
    assert builders.load_judge(out).names == ("age 20..29", "age 50..59")
    assert not any((tmp_path / name).exists() for name in ("refused", "refused2", "refused3"))
