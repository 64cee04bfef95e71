"""Using an AU generator: translate with --aus / --aus-delta / the AU-edit grid from the command line, evaluate with
an AU judge (its figures beside the two baselines), the attention-mask option, and clear refusals. The tests that
share the trained fixture are slow (training through train.py traces the critic's double backward pass)."""

import json

import numpy as np
import pytest

from ccyclegan.errors import UsageError
from tests.helpers import load_train_script
from train.aucgan_use import EvaluateSettings, TranslateSettings, evaluate, load_generator, translate


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-step AttGAN (with the attention mask) on 32-pixel synthetic OpenFace faces, and a tiny AU judge."""
    from ccyclegan.data.synthetic_writers import write_openface
    from ccyclegan.labels import AU_CODES
    from models.classifier import build_judge, save_judge

    root = tmp_path_factory.mktemp("aucgan_use")
    data = write_openface(root / "data", n=30, seed=0, size=32)  # 3 held-out faces
    out = root / "run"
    code = load_train_script().main([
        "--family", "aucgan", "--data", str(data), "--out", str(out), "--max-steps", "2",
        "--log-style", "quiet", "--gf", "4", "--df", "4", "--fc-dim", "8", "-batch_size", "4", "--attention-mask",
        "--mask-w", "0.1", "--au-low-pass"])
    assert code == 0
    judge = save_judge(build_judge((32, 32, 3), 17, width=4, dropout=0.0, output_activation="sigmoid"),
                       root / "judge", "au", [f"AU{c:02d}" for c in AU_CODES])
    return {"data": data, "run": out, "judge": judge}


@pytest.mark.slow
def test_translate_aus_delta_and_grid_from_the_command_line(trained, tmp_path, capsys):
    code = load_train_script().main([
        "--family", "aucgan", "--mode", "translate", "--model", str(trained["run"]), "--data", str(trained["data"]),
        "--aus-delta", "AU12=+3", "--grid", "--grid-aus", "12,26", "--eval-n", "2", "--output", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    assert len(list(tmp_path.glob("*_aus.png"))) == 2 and len(list(tmp_path.glob("*_au_grid.png"))) == 2
    assert (tmp_path / "translations.png").exists()


@pytest.mark.slow
def test_translate_absolute_aus_and_refusals(trained, tmp_path):
    written = translate(TranslateSettings(model=str(trained["run"]), aus="AU06=2,AU12=3", data=str(trained["data"]),
                                          limit=1, output=str(tmp_path)))
    assert len(written["translations"]) == 1
    with pytest.raises(UsageError, match="AU13"):
        translate(TranslateSettings(model=str(trained["run"]), aus="AU13=2", data=str(trained["data"]), limit=1,
                                    output=str(tmp_path)))


@pytest.mark.slow
def test_translate_reads_an_openface_csv_with_its_own_aus(trained, tmp_path):
    """An OpenFace CSV as --input: its aligned faces, named by their files, and its AUs (so --aus-delta needs no
    judge), the same faces and AUs as reading the file with the run's AU options."""
    from pathlib import Path

    from ccyclegan.data.openface import read_openface
    from train.aucgan_use import _read_input_faces, run_settings

    csv_path = next(trained["data"].rglob("*.csv"))
    settings = TranslateSettings(model=str(trained["run"]), input=str(csv_path), aus_delta="AU12=+2", limit=2,
                                 output=str(tmp_path))
    faces, names, aus = _read_input_faces(settings, 32, 3, run_settings(trained["run"]))
    truth = read_openface(csv_path, size=32)
    np.testing.assert_array_equal(faces, truth.images[:2])
    np.testing.assert_allclose(aus, truth.aus[:2])
    assert names == [Path(p).stem for p in truth.image_paths[:2]]
    written = translate(settings)
    assert [Path(p).name for p in written["translations"]] == [f"{n}_aus.png" for n in names]


def test_an_openface_csv_input_is_refused_by_name_for_a_generator_that_is_not_rgb(tmp_path):
    from train.aucgan_use import _openface_file_faces

    csv_path = tmp_path / "faces.csv"
    csv_path.write_text("frame, success\n")
    with pytest.raises(UsageError, match="faces.csv: OpenFace's aligned faces are RGB, but the generator takes 1 "):
        _openface_file_faces(csv_path, 2, 32, 1, {})


def test_translate_settings_refuse_two_targets_or_none():
    with pytest.raises(UsageError, match="not both"):
        TranslateSettings(model="x", aus="AU12=1", aus_delta="AU12=+1")
    with pytest.raises(UsageError, match="needs a target"):
        TranslateSettings(model="x")


@pytest.mark.slow
def test_the_exported_generator_keeps_its_attention_head_and_au_names(trained):
    generator = load_generator(trained["run"])
    assert generator.has_attention and generator.class_names[:2] == ("AU01", "AU02")
    image = np.zeros((1, 32, 32, 3), np.float32)
    out, mask = generator.translate_with_attention([image, np.zeros((1, 17), np.float32)])
    assert out.shape == (1, 32, 32, 3) and mask.shape == (1, 32, 32, 1)


@pytest.mark.slow
def test_evaluate_reports_the_judge_and_ground_truth_beside_their_baselines(trained, tmp_path):
    report = evaluate(EvaluateSettings(model=str(trained["run"]), judge=str(trained["judge"]),
                                       data=str(trained["data"]), eval_n=3, output=str(tmp_path)))
    judge, truth = report["judge"], report["ground_truth"]
    assert report["n"] == 3 and judge["unchanged_mae"] > 0
    assert judge["translation_over_unchanged"] == pytest.approx(judge["translation_mae"] / judge["unchanged_mae"])
    assert 0 < truth["unchanged"] < truth["nearest_training_face"]  # another identity is far from the truth
    assert truth["translation"] > 0 and report["identity"]["reconstruction_l1"] > 0
    # the judge on G's renderings of the faces' own AUs, against the labels (intensity / 5)
    from models.classifier import load_au_judge
    from train.aucgan_use import _au_source, translate_faces

    source = _au_source("synthetic-openface", str(trained["data"]), None, 32, str(trained["run"]))
    index = np.random.default_rng(0).choice(len(source.held_out), size=3, replace=False)
    faces, aus = source.held_out.images[index], source.held_out.aus[index].astype(np.float32)
    generator = load_generator(trained["run"])
    read = load_au_judge(str(trained["judge"]), "test").scores(translate_faces(generator, faces, aus, aus))
    assert judge["reconstruction_mae"] == pytest.approx(float(np.mean(np.abs(read - aus))), rel=1e-5)
    # the critic's own AU head, read as it trained (the run's low-pass, no shift), in the judge's units
    import tensorflow as tf

    from ccyclegan.layers import binomial_low_pass
    from train.aucgan_use import trainer_from_checkpoint

    trainer = trainer_from_checkpoint(trained["run"])
    faces = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype(np.float32)
    assert trainer.config.au_low_pass and trainer.config.au_loss == "bce"  # blurred faces; the head's logits
    expected = tf.sigmoid(trainer.discriminator(binomial_low_pass(faces), training=False)[1]).numpy()
    np.testing.assert_allclose(trainer.read_critic_aus(faces), expected, atol=1e-6)
    assert 0 < report["critic"]["real_mae"] < 1
    assert 0 < report["critic"]["generated_mae"] < 1
    assert json.loads((tmp_path / "evaluation.json").read_text())["n"] == 3
    assert (tmp_path / "evaluation.png").exists()


def test_a_change_conditioned_generator_is_given_the_faces_own_aus_in_translate_and_evaluate(tmp_path):
    """--au-condition change: translate takes the own AUs from the data set's labels, or from --judge on photos
    (refused by name without one); evaluate also scores the renderings made with the judge's reading of them."""
    from ccyclegan.data.synthetic_writers import write_openface
    from ccyclegan.labels import AU_CODES
    from models.classifier import build_judge, save_judge
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    data = write_openface(tmp_path / "data", n=30, seed=0, size=32)
    trainer = AUCGANTrainer(AUCGANConfig(img_size=32, gf=4, df=4, fc_dim=8, batch_size=4, au_condition="change"))
    model = tmp_path / "generator.keras"
    trainer.translator().save(model)
    judge = save_judge(build_judge((32, 32, 3), 17, width=4, dropout=0.0, output_activation="sigmoid"),
                       tmp_path / "judge", "au", [f"AU{c:02d}" for c in AU_CODES])
    written = translate(TranslateSettings(model=str(model), aus="AU12=3", data=str(data), limit=2, grid=True,
                                          grid_aus=(12,), output=str(tmp_path / "out")))
    assert len(written["translations"]) == 2 and len(written["grids"]) == 2
    photo = tmp_path / "face.png"
    from PIL import Image

    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(photo)
    with pytest.raises(UsageError, match="the faces' own AUs .* needs the AUs of the input faces: pass --judge"):
        translate(TranslateSettings(model=str(model), input=str(photo), aus="AU12=3", detect=False,
                                    output=str(tmp_path / "photo")))
    written = translate(TranslateSettings(model=str(model), input=str(photo), aus="AU12=3", detect=False,
                                          judge=str(judge), output=str(tmp_path / "photo")))
    assert len(written["translations"]) == 1
    report = evaluate(EvaluateSettings(model=str(model), judge=str(judge), data=str(data), eval_n=3,
                                       output=str(tmp_path / "eval")))
    read = report["read_own_aus"]
    assert read["translation_mae"] > 0 and read["ground_truth"] > 0
    assert read["translation_over_unchanged"] == pytest.approx(read["translation_mae"]
                                                               / report["judge"]["unchanged_mae"])
