"""translate and evaluate with an exported generator, on synthetic FER-format data with ground truth."""

import json
from pathlib import Path

import numpy as np
import pytest

from ccyclegan.data import synthetic
from ccyclegan.errors import UsageError
from ccyclegan.viz import save_png
from train.ccyclegan import CCycleGANConfig, train
from train.ccyclegan_cli import ORIGINAL_BATCH_SIZE  # noqa: F401  (the CLI module imports cleanly)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny generator trained for a few steps on 300 synthetic faces written in the FER2013 format."""
    root = tmp_path_factory.mktemp("use")
    synthetic.write_fer2013(root / "synthetic", n=300, seed=0)
    from ccyclegan.data.sources import load_fer_source

    fer = load_fer_source("synthetic", root / "synthetic").data
    config = CCycleGANConfig(epochs=1, batch_size=16, gf=8, df=8, sample_interval=0, log_style="quiet")
    train(config, fer.train.images, fer.train.labels, root / "run", max_steps=4)
    return root


def args_for(root, **overrides):
    import argparse

    values = dict(model=str(root / "run"), dataset="synthetic", data=str(root / "synthetic"), synthetic_n=300,
                  seed=0, judge=None, split="private_test", eval_n=8, output=None, input=None, target="all",
                  no_detect=True)
    values.update(overrides)
    return argparse.Namespace(**values)


def test_evaluate_reports_transfer_reconstruction_and_ground_truth(trained_run):
    from train.ccyclegan_use import evaluate_command

    report = evaluate_command(args_for(trained_run))
    assert report["translations"] == 8 * 6 and report["sources"] == 8
    assert "discriminator" in report["judge"]  # no --judge: labelled as the D's own head
    assert 0.0 <= report["transfer_accuracy"] <= 1.0 and 0.0 <= report["judge_real_accuracy"] <= 1.0
    truth = report["ground_truth_l1"]
    assert truth["translation"] > 0 and truth["unchanged"] > 0 and truth["class_mean"] > 0
    written = json.loads((trained_run / "run" / "evaluation_private_test.json").read_text())
    assert written["ground_truth_l1"]["unchanged"] == pytest.approx(truth["unchanged"])
    assert (trained_run / "run" / "evaluation_private_test.png").stat().st_size > 1000


def test_a_generator_with_the_attention_head_exports_reloads_and_evaluates(trained_run, tmp_path):
    """The attention head's extra decoder input and output survive the .keras round trip and the use commands."""
    from ccyclegan.data.sources import load_fer_source
    from train.ccyclegan_use import evaluate_command, load_generator, translate_command

    fer = load_fer_source("synthetic", trained_run / "synthetic").data
    config = CCycleGANConfig(epochs=1, batch_size=16, gf=8, df=8, sample_interval=0, log_style="quiet",
                             attention_mask=True)
    trainer, _ = train(config, fer.train.images, fer.train.labels, tmp_path / "run", max_steps=2)
    generator = load_generator(tmp_path / "run")
    assert generator.has_attention
    x = fer.private_test.images[:4].astype(np.float32) / 127.5 - 1.0
    target = np.eye(7, dtype=np.float32)[[0, 3, 5, 6]]
    translated, mask = generator.translate_with_attention([x, target])
    np.testing.assert_allclose(translated, trainer.translator()([x, target]), atol=1e-6)
    assert mask.shape == (4, 48, 48, 1) and 0.0 < float(np.min(mask)) and float(np.max(mask)) < 1.0
    report = evaluate_command(args_for(trained_run, model=str(tmp_path / "run"), output=str(tmp_path / "eval")))
    assert report["translations"] == 8 * 6 and report["ground_truth_l1"]["translation"] > 0
    regions = report["ground_truth_l1"]["regions"]
    assert 0 < report["attention_mask_mean"] < 1 and 0 < regions["attention_on_unchanged"] < 1
    csv_path = trained_run / "synthetic" / "fer2013.csv"
    written = translate_command(args_for(trained_run, model=str(tmp_path / "run"), input=str(csv_path), target="all",
                                         output=str(tmp_path / "grids"), eval_n=2))["written"]
    assert sorted(Path(p).name for p in written) == ["row0_all.png", "row0_all_masks.png", "row1_all.png",
                                                     "row1_all_masks.png"]


def test_translate_a_fer_csv_to_one_expression_and_to_all(trained_run, tmp_path):
    from train.ccyclegan_use import translate_command

    csv_path = trained_run / "synthetic" / "fer2013.csv"
    one = translate_command(args_for(trained_run, input=str(csv_path), target="happy", output=str(tmp_path / "a"),
                                     eval_n=3))
    assert len(one["written"]) == 3 and all(p.endswith("_happy.png") for p in one["written"])
    grids = translate_command(args_for(trained_run, input=str(csv_path), target="all", output=str(tmp_path / "b"),
                                       eval_n=2))
    assert len(grids["written"]) == 2


def test_translate_a_folder_of_cropped_photos(trained_run, tmp_path):
    from train.ccyclegan_use import translate_command

    faces = synthetic.make_faces(2, seed=5)
    for i, face in enumerate(faces.images):
        save_png(face[..., 0], tmp_path / "in" / f"face{i}.png")
    result = translate_command(args_for(trained_run, input=str(tmp_path / "in"), target="3", output=str(tmp_path / "o")))
    assert sorted(p.split("/")[-1] for p in result["written"]) == ["face0_happy.png", "face1_happy.png"]


def test_translate_rejects_an_unknown_expression_and_missing_inputs(trained_run, tmp_path):
    from train.ccyclegan_use import translate_command

    csv_path = str(trained_run / "synthetic" / "fer2013.csv")
    with pytest.raises(UsageError, match="unknown expression 'smirk'"):
        translate_command(args_for(trained_run, input=csv_path, target="smirk", output=str(tmp_path)))
    with pytest.raises(FileNotFoundError, match="no such file"):
        translate_command(args_for(trained_run, input=str(tmp_path / "none.png"), target="3"))
    with pytest.raises(FileNotFoundError, match="generator.keras"):
        translate_command(args_for(trained_run, model=str(tmp_path), input=csv_path))


def test_unchanged_baseline_is_zero_when_the_target_is_the_source_prototype():
    """Sanity of the ground truth the evaluation uses: a face rendered with its own class mean AUs."""
    faces = synthetic.make_faces(4, seed=1)
    truth = synthetic.true_translations(faces.records, faces.labels)
    report = synthetic.ground_truth_errors(truth, faces.records, faces.labels,
                                           class_mean_faces=np.zeros((7, 48, 48, 1), np.float32))
    assert report["translation"] == pytest.approx(0.0, abs=1e-6)
    assert np.isfinite(report["unchanged"])


def test_evaluate_scores_with_a_saved_judge_and_refuses_one_of_other_classes(trained_run, tmp_path):
    """--judge loads through models.classifier.load_judge; a judge of other classes (a domain judge) is refused."""
    from ccyclegan.errors import UsageError
    from ccyclegan.labels import FER_CLASSES
    from models.classifier import build_judge, save_judge
    from train.ccyclegan_use import evaluate_command

    save_judge(build_judge(num_classes=7, width=8), tmp_path / "judge", "expression", FER_CLASSES)
    report = evaluate_command(args_for(trained_run, judge=str(tmp_path / "judge"), output=str(tmp_path / "eval")))
    assert report["judge"] == f"classifier {tmp_path / 'judge'}" and report["translations"] == 48
    save_judge(build_judge(num_classes=2, width=8), tmp_path / "domain", "domain", ("age 20..29", "age 50..59"))
    with pytest.raises(UsageError, match="judges domain .*translates to Angry"):
        evaluate_command(args_for(trained_run, judge=str(tmp_path / "domain")))


def test_translate_images_and_load_generator_refuse_the_wrong_input_in_one_line(trained_run, tmp_path):
    """A face array of the wrong shape, an unknown target, and a .keras that is not a generator are UsageErrors."""
    import keras

    from ccyclegan.errors import UsageError
    from train.ccyclegan_use import load_generator, translate_images

    generator = load_generator(trained_run / "run")
    with pytest.raises(UsageError, match=r"takes 48x48x1 faces, got an array of shape \(2, 32, 32, 1\)"):
        translate_images(generator, np.zeros((2, 32, 32, 1), np.uint8), "Happy")
    with pytest.raises(UsageError, match="unknown expression 'Smug'"):
        translate_images(generator, np.zeros((2, 48, 48, 1), np.uint8), "Smug")
    assert translate_images(generator, np.zeros((48, 48, 1), np.uint8), 3).shape == (1, 48, 48, 1)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)], name="not_a_generator")
    other.save(tmp_path / "other.keras")
    with pytest.raises(UsageError, match="not an exported CCycleGAN generator"):
        load_generator(tmp_path / "other.keras")
