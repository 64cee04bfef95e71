"""GANimation trainer: config checks, loss forms against the references' formulas, learning, exact resume, and the
whole command line (train, evaluate, translate, animate) on tiny networks and synthetic faces."""

import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.errors import UsageError
from tests.helpers import load_train_script
from train.ganimation import GANimationConfig, GANimationTrainer, mask_smoothness, train

TINY = dict(img_size=16, g_conv_dim=4, d_conv_dim=4, g_repeat_num=1, d_repeat_num=3, batch_size=4)


def tiny_faces(n=24, size=16, seed=0):
    """Faces whose AUs are visible: AU k brightens horizontal band k of the image (so a critic can learn them)."""
    rng = np.random.default_rng(seed)
    aus = (rng.random((n, 17)) < 0.3) * rng.uniform(0.2, 1.0, (n, 17))
    images = rng.normal(0.0, 0.05, (n, size, size, 3)) + 0.2
    bands = np.linspace(0, size, 18).astype(int)
    for k in range(17):
        images[:, bands[k]:max(bands[k + 1], bands[k] + 1), :, :] += 0.6 * aus[:, k, None, None, None]
    return (np.clip(images, 0, 1) * 255).astype(np.uint8), aus.astype(np.float32)


@pytest.mark.parametrize("change, message", [
    ({"framework": "torch"}, "framework"), ({"batch_size": 1}, "batch_size must be >= 2"),
    ({"img_size": 18}, "divisible by 4"), ({"img_size": 32, "d_repeat_num": 6}, "divisible by 64"),
    ({"lambda_mask": -1}, "lambda_mask"), ({"alpha_rec": 2}, "alpha_rec"), ({"mask_smooth_form": "max"}, "form"),
    ({"framework": "tensorlayer", "mixed_precision": True}, "mixed_precision is for the Keras networks"),
    ({"gp_step": "twice"}, "gp_step must be one of"), ({"lambda_kept_colour": -1}, "lambda_kept_colour must be >= 0"),
    ({"lambda_identity": -0.5}, "lambda_identity must be >= 0"),
])
def test_config_refuses_bad_settings_naming_them(change, message):
    with pytest.raises(ValueError, match=message):
        GANimationConfig(**{**TINY, **change})


def test_defaults_are_the_official_codes():
    config = GANimationConfig()
    assert (config.batch_size, config.epochs, config.n_critic, config.lr_G, config.beta1) == (25, 30, 5, 1e-4, 0.5)
    assert config.lambda_D_cond / config.batch_size == 160  # vipermu's lambda_cls at batch 25
    assert config.lr_decay_start == pytest.approx(20 / 30)
    assert GANimationConfig(epochs=4, lr_decay_epochs=10).lr_decay_start == 0.0  # decays over the whole run


def test_summed_mask_smoothness_is_the_official_sum_over_pixels_and_batch():
    masks = tf.random.stateless_uniform((3, 8, 8, 1), seed=[1, 2])
    official = (np.abs(np.diff(masks.numpy(), axis=1)).sum() + np.abs(np.diff(masks.numpy(), axis=2)).sum())
    per_example = mask_smoothness(masks, GANimationConfig(**TINY), batch_size=3).numpy()
    assert per_example.mean() == pytest.approx(official, rel=1e-5)  # the trainer averages over the batch
    vipermu = mask_smoothness(masks, GANimationConfig(**TINY, mask_smooth_form="mean"), batch_size=3).numpy()
    expected = (np.abs(np.diff(masks.numpy(), axis=1)).mean(axis=(1, 2, 3))
                + np.abs(np.diff(masks.numpy(), axis=2)).mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(vipermu, expected, rtol=1e-5)


@pytest.mark.parametrize("au_condition", ["target", "change"])
def test_critic_and_generator_learn_the_aus_on_a_fixed_batch(au_condition):
    images, aus = tiny_faces(8)
    config = GANimationConfig(**{**TINY, "batch_size": 8}, n_critic=1, lr_G=1e-3, lr_D=1e-3, lr_schedule="constant",
                              au_condition=au_condition)
    trainer = GANimationTrainer(config)
    batch = (tf.constant(images.astype(np.float32) / 127.5 - 1), tf.constant(aus))
    rows = [trainer.train_step(batch, 0, i, 100) for i in range(25)]
    first, last = rows[0], rows[-1]
    assert last["d_au"] < 0.75 * first["d_au"]  # D's AU head regresses the real faces' AUs
    assert last["g_cyc"] < first["g_cyc"]  # G learns to return to the input
    assert all(np.isfinite(list(r.values())).all() for r in rows)
    assert 0.0 < last["mask_mean"] < 1.0


def test_the_kept_colour_term_pulls_the_colour_map_to_the_input_where_the_mask_keeps_it():
    """Same seed and steps with the term off and on: on, its logged value falls further, and G's loss carries it."""
    images, aus = tiny_faces(8)
    batch = (tf.constant(images.astype(np.float32) / 127.5 - 1), tf.constant(aus))
    kept = {}
    for weight in (0.0, 10.0):
        config = GANimationConfig(**{**TINY, "batch_size": 8}, n_critic=1, lr_G=1e-3, lr_D=1e-3,
                                  lr_schedule="constant", lambda_kept_colour=weight)
        trainer = GANimationTrainer(config)
        assert ("g_kept" in trainer.log_columns) == bool(weight)
        trainer.train_step(batch, 0, 0, 100)
        composite, attention, colour = trainer.render(batch[0].numpy(), aus)
        before = float(np.mean(attention * np.abs(colour - batch[0].numpy())))
        rows = [trainer.train_step(batch, 0, i, 100) for i in range(1, 20)]
        composite, attention, colour = trainer.render(batch[0].numpy(), aus)
        kept[weight] = float(np.mean(attention * np.abs(colour - batch[0].numpy()))) / before
        if weight:
            assert all(np.isfinite(r["g_kept"]) for r in rows)
    assert kept[10.0] < 0.8 * kept[0.0], kept


@pytest.mark.parametrize("framework", ["keras", "tensorlayer"])
def test_the_identity_term_teaches_g_to_return_a_face_asked_for_its_own_aus(framework):
    """Same seed and steps with the term off and on: on, G(x, own AUs) comes closer to x, and the log carries it."""
    images, aus = tiny_faces(8)
    batch = (tf.constant(images.astype(np.float32) / 127.5 - 1), tf.constant(aus))
    error = {}
    for weight in (0.0, 50.0):  # 50 against the AU term's 4000 x MSE
        config = GANimationConfig(**{**TINY, "batch_size": 8}, n_critic=1, lr_G=1e-3, lr_D=1e-3,
                                  lr_schedule="constant", lambda_identity=weight, au_condition="change",
                                  framework=framework)
        trainer = GANimationTrainer(config)
        assert ("g_idt" in trainer.log_columns) == bool(weight)
        rows = [trainer.train_step(batch, 0, i, 100) for i in range(20)]
        composite = trainer.render(batch[0].numpy(), aus, own=aus)[0]
        error[weight] = float(np.mean(np.abs(composite - batch[0].numpy())))
        if weight:  # the logged term is that error as G's step saw it
            assert float(rows[-1]["g_idt"]) == pytest.approx(error[weight], rel=0.5)
            assert float(rows[-1]["g_idt"]) < 0.7 * float(rows[0]["g_idt"])
    assert error[50.0] < 0.7 * error[0.0], error


def test_a_generator_conditioned_on_the_change_is_given_each_call_s_own_aus():
    """G(x, t, own) must see own = the AUs of what it is given: the data's labels for the faces, the targets for the
    renderings (the cycle back). Checked by recording every call of the trainer's generator in one G turn."""
    images, aus = tiny_faces(4)
    trainer = GANimationTrainer(GANimationConfig(**TINY, n_critic=1, au_condition="change", virtual_cycle=True,
                                                 alpha_rec=0.5))
    calls, generate = [], trainer.nets.generator

    def recording(image, target, training=False, own=None):
        calls.append((target, own))
        return generate(image, target, training, own=own)

    trainer.nets.generator = recording
    batch = (tf.constant(images / 127.5 - 1.0, tf.float32), tf.constant(aus))
    trainer._d_then_g_replica_step(*batch, tf.constant(0, tf.int64))
    forward, cycle, virtual, back = calls
    np.testing.assert_array_equal(forward[1], aus)  # the faces' own AUs are the labels
    np.testing.assert_array_equal(cycle[0], aus)  # the cycle goes back to the labels ...
    np.testing.assert_array_equal(cycle[1], forward[0])  # ... from the rendering, whose AUs are the target
    np.testing.assert_array_equal(virtual[1], forward[0])
    np.testing.assert_array_equal(back[0], forward[0])  # back to the first target from the second
    np.testing.assert_array_equal(back[1], virtual[0])
    with pytest.raises(ValueError, match="needs the faces' own AUs"):
        generate(batch[0], batch[1], False)


@pytest.mark.parametrize("gp_step, updates", [("joint", 1), ("separate", 2)])
def test_the_official_separate_penalty_step_is_a_second_adam_step_of_the_critic(gp_step, updates):
    images, aus = tiny_faces(4)
    trainer = GANimationTrainer(GANimationConfig(**TINY, n_critic=2, gp_step=gp_step))
    batch = (tf.constant(images / 127.5 - 1.0, tf.float32), tf.constant(aus))
    before = [v.numpy().copy() for v in trainer.nets.critic_variables]
    both = trainer.train_step(batch, 0, 0, 10)  # G's turn: critic then generator
    critic_only = trainer.train_step(batch, 0, 1, 10).values
    assert int(trainer.d_optimizer.iterations) == 2 * updates and int(trainer.g_optimizer.iterations) == 1
    for values in (both, critic_only):
        assert float(values["d_gp"]) > 0 and np.isfinite(float(values["d_loss"]))
        assert float(values["d_loss"]) == pytest.approx(float(values["d_adv"]) + trainer.cond_weight
                                                        * float(values["d_au"]) + 10.0 * float(values["d_gp"]),
                                                        rel=1e-4, abs=1e-5)
    assert any(not np.array_equal(b, v.numpy()) for b, v in zip(before, trainer.nets.critic_variables))


def test_mixed_precision_computes_in_bfloat16_trains_and_exports_float32():
    images, aus = tiny_faces(4)
    trainer = GANimationTrainer(GANimationConfig(**TINY, n_critic=1, mixed_precision=True))
    batch = (tf.constant(images / 127.5 - 1.0, tf.float32), tf.constant(aus))
    rows = [trainer.train_step(batch, 0, i, 10) for i in range(2)]
    assert all(np.isfinite(float(v)) for row in rows for v in row.values())
    generator = trainer.nets.trackables["G"]
    inner = [layer for layer in generator.layers if layer.name.endswith("_conv")]
    assert inner and {layer.compute_dtype for layer in inner} == {"bfloat16"}  # the heads stay float32
    assert all(v.dtype == "float32" for v in generator.trainable_variables)
    exported = trainer.nets.exports()["generator.keras"]
    assert {layer.compute_dtype for layer in exported.layers} == {"float32"}
    mixed = generator([batch[0], batch[1]])[0].numpy()
    full = exported([batch[0], batch[1]])[0].numpy()
    assert full.dtype == np.float32 and np.abs(mixed - full).max() < 0.05  # the same weights, bfloat16 rounding


def test_targets_are_other_samples_and_the_same_on_a_repeated_iteration():
    trainer = GANimationTrainer(GANimationConfig(**TINY))
    aus = tf.constant(np.eye(4, 17, dtype=np.float32) * 0.5 + 0.25)
    first, again = trainer._targets(aus, tf.constant(7, tf.int64), 0), trainer._targets(aus, tf.constant(7, tf.int64), 0)
    other = trainer._targets(aus, tf.constant(8, tf.int64), 0)
    np.testing.assert_array_equal(first.numpy(), again.numpy())
    assert not np.allclose(first.numpy(), other.numpy())
    assert np.all(first.numpy() >= 0) and np.all(first.numpy() <= 1)  # clipped, as vipermu
    assert np.abs(first.numpy() - aus.numpy()).max() > 0.1  # not the samples' own AUs plus noise only


@pytest.mark.slow
def test_resume_continues_exactly(tmp_path):
    """Three runs (straight, stopped, resumed): about 60 s on 2 cores."""
    images, aus = tiny_faces(16)
    # constant rate: a linear decay spans each command's own run (--max-steps included), as the platform's schedules
    config = GANimationConfig(**TINY, epochs=2, log_style="quiet", sample_interval=0, checkpoint_interval=3,
                              lr_schedule="constant")
    straight, _ = train(config, images, aus, tmp_path / "straight")
    train(config, images, aus, tmp_path / "split", max_steps=3)
    resumed, summary = train(config, images, aus, tmp_path / "split", resume=True)
    assert summary["steps"] == 8
    for ours, theirs in zip(straight.nets.generator_variables, resumed.nets.generator_variables):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-5)  # float summation order only
    with open(tmp_path / "split" / "train_log.csv", newline="") as handle:
        assert [int(r["step"]) for r in csv.DictReader(handle)] == [0, 4]  # G turns: batch 0 of each 4-batch epoch (n_critic 5)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A 6-step run from the command line on 100 synthetic faces read at 32 px (the renderer's smallest size, for
    the ground truth), with its data folder."""
    folder = tmp_path_factory.mktemp("ganimation")
    out, data = folder / "run", folder / "data"
    argv = ["--family", "ganimation", "--dataset", "synthetic-ganimation", "--data", str(data), "--synthetic-n",
            "100", "--image-size", "32", "--g_conv_dim", "4", "--d_conv_dim", "4", "--g_repeat_num", "1",
            "--d_repeat_num", "3", "-batch_size", "4", "--max-steps", "6", "--sample-interval", "5",
            "--log-style", "quiet", "--out", str(out)]
    assert load_train_script().main(argv) == 0
    return out, data


def test_the_command_line_trains_and_exports_the_generator(trained_run):
    import keras

    import models.ganimation  # noqa: F401

    out, _ = trained_run
    config = json.loads((out / "config.json").read_text())
    assert config["img_size"] == 32 and config["framework"] == "keras" and config["lambda_D_cond"] == 4000
    with open(out / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [0, 5] and 0 < float(rows[-1]["mask_mean"]) < 1
    generator = keras.models.load_model(out / "generator.keras")
    assert [tuple(t.shape[1:]) for t in generator.outputs] == [(32, 32, 3), (32, 32, 1), (32, 32, 3)]
    assert (out / "samples" / "0_0.png").exists() and (out / "curves.png").exists()


def test_evaluate_reports_au_errors_and_both_ground_truth_baselines(trained_run, capsys):
    out, data = trained_run
    argv = ["--family", "ganimation", "--mode", "evaluate", "--model", str(out), "--dataset",
            "synthetic-ganimation", "--data", str(data), "--eval-n", "8"]
    assert load_train_script().main(argv) == 0, capsys.readouterr().err
    report = json.loads((out / "evaluation_test.json").read_text())
    assert report["faces"] == 8 and "not an independent judge" in report["judge"]
    assert report["au_error_generated"] >= 0 and report["au_error_unchanged"] > 0 and 0 < report["mean_attention"] < 1
    truth = report["ground_truth_l1"]
    assert 0 < truth["unchanged"] < truth["nearest_au_face"]  # an expression moves few pixels; identity moves all
    assert (out / "evaluation_test.png").exists()


def test_keep_above_takes_the_input_exactly_where_the_attention_exceeds_it(trained_run, capsys):
    """--keep-above T: pixels whose attention is above T are the input's, with the mask reported as 1 there; every
    other pixel renders as without it; evaluate records T; values outside (0, 1) are refused by name."""
    from train.ganimation_use import load_generator

    out, data = trained_run
    plain, hard = load_generator(out), load_generator(out, keep_above=0.5)
    faces = np.random.default_rng(1).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    aus = np.random.default_rng(2).uniform(0, 1, (3, 17)).astype(np.float32)
    composite, attention, colour = plain.render(faces, aus)
    kept = attention > 0.5
    assert 0 < kept.mean() < 1  # the test covers both kinds of pixel
    hard_composite, hard_attention, hard_colour = hard.render(faces, aus)
    mask = np.broadcast_to(kept, faces.shape)
    np.testing.assert_array_equal(hard_composite[mask], faces[mask])
    np.testing.assert_allclose(hard_composite[~mask], composite[~mask], atol=1e-6)
    assert np.all(hard_attention[kept] == 1) and np.allclose(hard_attention[~kept], attention[~kept])
    np.testing.assert_allclose(hard_colour, colour, atol=1e-6)
    argv = ["--family", "ganimation", "--mode", "evaluate", "--model", str(out), "--dataset",
            "synthetic-ganimation", "--data", str(data), "--eval-n", "4", "--keep-above", "0.5"]
    assert load_train_script().main(argv) == 0, capsys.readouterr().err
    assert json.loads((out / "evaluation_test.json").read_text())["keep_above"] == 0.5
    assert "kept exactly (--keep-above)" in capsys.readouterr().out
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(UsageError, match=f"--keep-above must lie strictly between 0 and 1.*got {bad}"):
            load_generator(out, keep_above=bad)


def test_the_critic_reads_aus_through_the_view_its_run_trained_with(trained_run):
    from ccyclegan.layers import AUHeadView, binomial_low_pass, luminance
    from train.ganimation_use import GANimationGenerator, load_generator

    out, _ = trained_run
    loaded = load_generator(out)
    assert loaded.critic is not None and not loaded.critic_view.changes_faces  # the run had no view options
    faces = np.random.default_rng(0).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded.critic_aus(faces), loaded.critic(faces)[1].numpy(), atol=1e-6)
    blurred = GANimationGenerator(loaded.model, out, loaded.critic, AUHeadView.of_run({"au_low_pass": True}))
    np.testing.assert_allclose(blurred.critic_aus(faces), loaded.critic(binomial_low_pass(faces))[1].numpy(),
                               atol=1e-6)
    assert not np.allclose(blurred.critic_aus(faces), loaded.critic_aus(faces), atol=1e-4)
    grey = GANimationGenerator(loaded.model, out, loaded.critic, AUHeadView.of_run({"au_luminance": True}))
    np.testing.assert_allclose(grey.critic_aus(faces), loaded.critic(luminance(faces))[1].numpy(), atol=1e-6)


def test_animate_writes_frames_a_gif_and_a_mask_sheet(trained_run, tmp_path, capsys):
    from PIL import Image

    out, data = trained_run
    face = sorted((data / "images_aligned").iterdir())[0]
    aus_file = tmp_path / "anim.txt"
    aus_file.write_text("a.jpg " + " ".join(["0"] * 8 + ["3"] + ["0"] * 8) + "\n"
                        "b.jpg " + " ".join(["0"] * 14 + ["4", "4", "0"]) + "\n")
    argv = ["--family", "ganimation", "--mode", "animate", "--model", str(out), "--input", str(face), "--no-detect",
            "--output", str(tmp_path / "anim")]
    assert load_train_script().main(argv + ["--aus-file", str(aus_file)]) == 0, capsys.readouterr().err
    assert Image.open(tmp_path / "anim" / "animation.gif").n_frames == 2
    assert load_train_script().main(argv + ["--from-aus", "neutral", "--to-aus", "happy", "--frames", "5"]) == 0
    assert Image.open(tmp_path / "anim" / "animation.gif").n_frames == 5
    assert len(list((tmp_path / "anim" / "frames").glob("*.png"))) == 5 and (tmp_path / "anim" / "masks.png").exists()
    # two sequences at once, and an unknown expression, are refused with the option named
    assert load_train_script().main(argv + ["--aus-file", str(aus_file), "--to-aus", "happy"]) == 2
    assert "exactly one AU sequence" in capsys.readouterr().err
    assert load_train_script().main(argv + ["--to-aus", "AU99=3"]) == 2
    assert "AU99" in capsys.readouterr().err


def test_translate_renders_a_target_and_a_delta_of_the_faces_own_aus(trained_run, tmp_path, capsys):
    out, data = trained_run
    face = sorted((data / "images_aligned").iterdir())[0]
    argv = ["--family", "ganimation", "--mode", "translate", "--model", str(out / "generator.keras"), "--input",
            str(face), "--no-detect", "--output", str(tmp_path / "tr")]
    assert load_train_script().main(argv + ["--aus", "AU12=4,AU06=2"]) == 0, capsys.readouterr().err
    assert (tmp_path / "tr" / f"{face.stem}_translated.png").exists()
    capsys.readouterr()
    # a photo does not give its AUs: the critic beside the generator reads them (without one: test below)
    assert load_train_script().main(argv + ["--aus-delta", "AU12=+2"]) == 0, capsys.readouterr().err
    assert "own AUs are read by the critic's AU head" in capsys.readouterr().out
    au_file = data / "list_attr_synthetic.txt"  # an AU file input gives the faces' AUs, so a delta works
    argv = ["--family", "ganimation", "--mode", "translate", "--model", str(out), "--input", str(au_file), "--output",
            str(tmp_path / "tr2"), "--eval-n", "2", "--aus-delta", "AU12=+2"]
    assert load_train_script().main(argv) == 0, capsys.readouterr().err
    assert len(list((tmp_path / "tr2").glob("*.png"))) == 2


@pytest.fixture(scope="module")
def change_run(tmp_path_factory, trained_run):
    """A tiny run conditioned on the AU change, on the data of `trained_run`."""
    out, data = tmp_path_factory.mktemp("ganimation_change") / "run", trained_run[1]
    argv = ["--family", "ganimation", "--dataset", "synthetic-ganimation", "--data", str(data), "--image-size", "32",
            "--g_conv_dim", "4", "--d_conv_dim", "4", "--g_repeat_num", "1", "--d_repeat_num", "3", "-batch_size",
            "4", "--max-steps", "3", "--sample-interval", "2", "--log-style", "quiet", "--au-condition", "change",
            "--out", str(out)]
    assert load_train_script().main(argv) == 0
    return out, data


def test_a_generator_conditioned_on_the_change_is_used_with_the_faces_own_aus(change_run, tmp_path, capsys):
    """evaluate: the labels as own AUs, and beside them the own AUs read by the critic (what a photo gets);
    translate and animate read a photo's AUs with the critic, and refuse by name when nothing can read them."""
    import shutil

    out, data = change_run
    script = load_train_script()
    argv = ["--family", "ganimation", "--mode", "evaluate", "--model", str(out), "--dataset",
            "synthetic-ganimation", "--data", str(data), "--eval-n", "6"]
    assert script.main(argv) == 0, capsys.readouterr().err
    report = json.loads((out / "evaluation_test.json").read_text())
    assert report["own_aus"].startswith("the data set's labels")
    read = report["read_own_aus"]
    assert "critic" in read["reader"] and read["au_error_generated"] >= 0 and read["ground_truth_l1"] > 0
    assert "with the own AUs read by" in capsys.readouterr().out
    face = sorted((data / "images_aligned").iterdir())[0]
    argv = ["--family", "ganimation", "--mode", "translate", "--input", str(face), "--no-detect", "--aus-delta",
            "AU12=+2", "--output", str(tmp_path / "tr")]
    assert script.main(argv + ["--model", str(out)]) == 0, capsys.readouterr().err
    assert "own AUs are read by the critic's AU head" in capsys.readouterr().out
    assert (tmp_path / "tr" / f"{face.stem}_translated.png").exists()
    alone = tmp_path / "alone"  # the generator without its critic: a photo's AUs cannot be read
    alone.mkdir()
    shutil.copy(out / "generator.keras", alone / "generator.keras")
    assert script.main(argv + ["--model", str(alone / "generator.keras")]) == 2
    assert "nothing here can read" in capsys.readouterr().err
    argv[argv.index("--aus-delta"):argv.index("--aus-delta") + 2] = ["--aus", "AU12=3"]
    assert script.main(argv + ["--model", str(alone / "generator.keras")]) == 2
    assert "no critic to read AUs with" in capsys.readouterr().err
    au_file = data / "list_attr_synthetic.txt"  # an AU file gives its faces' AUs: no reader needed
    argv = ["--family", "ganimation", "--mode", "animate", "--model", str(alone / "generator.keras"), "--input",
            str(au_file), "--to-aus", "happy", "--frames", "3", "--output", str(tmp_path / "anim")]
    assert script.main(argv) == 0, capsys.readouterr().err
    assert len(list((tmp_path / "anim" / "frames").glob("*.png"))) == 3


def test_a_data_set_without_aus_is_refused(tmp_path, capsys):
    argv = ["--family", "ganimation", "--dataset", "synthetic", "--data", str(tmp_path / "d"), "--out",
            str(tmp_path / "r"), "--max-steps", "1"]
    assert load_train_script().main(argv) == 2
    assert "conditions on classes" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_load_generator_refuses_a_model_that_is_not_a_generator(tmp_path):
    from models.ganimation import build_critic
    from train.ganimation_use import load_generator

    build_critic(img_size=16, width=4, num_down=3).save(tmp_path / "critic.keras")
    with pytest.raises(UsageError, match="not a GANimation generator"):
        load_generator(tmp_path / "critic.keras")


def test_a_linear_decay_over_zero_epochs_is_refused_by_name():
    with pytest.raises(ValueError, match="lr_decay_epochs must be >= 1 with the linear-decay schedule"):
        GANimationConfig(**TINY, lr_schedule="linear-decay", lr_decay_epochs=0)
    GANimationConfig(**TINY, lr_schedule="constant", lr_decay_epochs=0)  # no decay: nothing to refuse
