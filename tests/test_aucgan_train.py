"""The AU-conditioned trainer: the default (e8 design) learns, every experiment e1..e9 trains two steps from the
command line, e1's failure condition (black faces, raw 0..5 AUs) stays finite, and the options behave as named."""

import csv
import dataclasses
import json

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.data.synthetic_faces import make_faces
from ccyclegan.errors import UsageError
from ccyclegan.loop import StepResult
from tests.helpers import load_train_script
from train.aucgan import GENERATOR_CHOICES, AUCGANConfig, AUCGANTrainer, train

TINY = dict(gf=4, df=4, fc_dim=16, batch_size=4, sample_interval=0, log_style="quiet")


@pytest.fixture(scope="module")
def faces32():
    faces = make_faces(16, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    return faces.images, faces.aus / 5.0


def assert_learns_au_head_and_reconstruction(rows):
    """Every logged value finite; over the steps' rows the reconstruction falls by 30% and the critic learns the real
    faces' AUs (the means of the first and last three)."""
    def mean(rows, key):
        return np.mean([float(r[key]) for r in rows])

    assert all(np.isfinite(float(v)) for r in rows for v in r.values())
    assert mean(rows[-3:], "reconstr_loss") < 0.7 * mean(rows[:3], "reconstr_loss")
    assert mean(rows[-3:], "d_AU_loss") < mean(rows[:3], "d_AU_loss")


def test_choices_match_the_models():
    from models.aucgan import CRITICS, GENERATORS, KERAS_NORMS
    from train.aucgan import CRITIC_CHOICES, KERAS_NORM_CHOICES

    assert GENERATOR_CHOICES == GENERATORS and CRITIC_CHOICES == CRITICS
    assert KERAS_NORM_CHOICES == tuple(KERAS_NORMS)


@pytest.mark.parametrize("mixed_precision", [False, True])
def test_default_model_learns_its_au_head_and_reconstruction(faces32, mixed_precision):
    images, aus = faces32
    config = AUCGANConfig(img_size=32, shortcut_layers=4, adam_lr=2e-3, mixed_precision=mixed_precision,
                          **{**TINY, "batch_size": 8})
    trainer = AUCGANTrainer(config)
    batch = (tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32))
    assert_learns_au_head_and_reconstruction([trainer.train_step(batch, 0, 0, step=i) for i in range(20)])


@pytest.mark.parametrize("cycle", ["self", "true"])
def test_the_kept_colour_term_pulls_the_colour_map_to_the_input_where_the_mask_keeps_it(faces32, cycle):
    """Same seed and steps with the term off and on: on, A |C - x| of the renderings falls further; the colour
    decoder shares G_dec's weights, and its composite is A x + (1 - A) C."""
    from models.ccyclegan import decoder_with_colour

    images, aus = faces32
    batch = (tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32))
    kept = {}
    for weight in (0.0, 10.0):
        config = AUCGANConfig(img_size=32, attention_mask=True, kept_colour_w=weight, cycle=cycle, adam_lr=2e-3,
                              **{**TINY, "batch_size": 8})
        trainer = AUCGANTrainer(config)
        assert ("g_kept" in trainer.log_columns) == bool(weight)
        colour_decoder = decoder_with_colour(trainer.decoder)

        def kept_error(trainer=trainer, colour_decoder=colour_decoder):
            features = trainer.encoder(batch[0], training=False)
            composite, mask, colour = colour_decoder([*features, tf.roll(batch[1], 1, 0), batch[0]])
            np.testing.assert_allclose(composite, mask * batch[0] + (1 - mask) * colour, atol=1e-5)
            return float(np.mean(mask * np.abs(colour - batch[0])))

        before = kept_error()
        rows = [trainer.train_step(batch, 0, 0, step=i) for i in range(40)]
        kept[weight] = kept_error() / before
        if weight:
            assert all(np.isfinite(float(r["g_kept"])) for r in rows)
    assert kept[10.0] < 0.7 * kept[0.0], kept


def test_the_change_weight_pulls_the_mask_toward_keeping_the_input_where_mask_w_pulls_it_away(faces32):
    """Same seed and steps, mask_w 10 against change_w 10: the logged mean(A) of the renderings ends higher with the
    change weight (keep the input) than with the mask weight (redraw), from the same start."""
    images, aus = faces32
    batch = (tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32))
    final = {}
    for weights in ({"mask_w": 10.0}, {"change_w": 10.0}):
        trainer = AUCGANTrainer(AUCGANConfig(img_size=32, attention_mask=True, adam_lr=2e-3,
                                             **{**TINY, "batch_size": 8}, **weights))
        rows = [trainer.train_step(batch, 0, 0, step=i) for i in range(30)]
        final[next(iter(weights))] = np.mean([float(r["mask_mean"]) for r in rows[-3:]])
        start = float(rows[0]["mask_mean"])
    assert final["change_w"] > start and final["change_w"] > final["mask_w"] + 0.1, (start, final)


def test_an_attgan_generator_without_skips_trains_samples_and_exports(faces32):
    """--shortcut-layers 0: G_enc passes the bottleneck alone, which Keras returns as a bare tensor; it must not be
    unpacked along the batch (the sample grid of such a run once failed with 'expects 3 inputs, received 6')."""
    images, aus = faces32
    trainer = AUCGANTrainer(AUCGANConfig(img_size=32, shortcut_layers=0, attention_mask=True, kept_colour_w=1.0,
                                         **TINY))
    assert [t.name for t in trainer.decoder.inputs][0] == "z5" and len(trainer.decoder.inputs) == 3
    x, own = tf.constant(images[:4] / 127.5 - 1.0, tf.float32), tf.constant(aus[:4], tf.float32)
    rows = [trainer.train_step((x, own), 0, 0, step=i) for i in range(2)]
    assert all(np.isfinite(float(v)) for row in rows for v in row.values())
    translated = trainer.translate_images(images[:3], aus[1:4], aus[:3])
    assert translated.shape == (3, 32, 32, 3) and np.isfinite(translated).all()
    np.testing.assert_allclose(trainer.translator()([x[:3], own[1:4]]).numpy(),
                               trainer.translate(trainer.encoder(x[:3]), own[1:4], 1, False, x[:3], own=own[:3])[0],
                               atol=1e-5)


@pytest.mark.slow
def test_xla_compiles_and_trains_the_cpu_preset_design(faces32):
    """--xla with au-cpu's design (nearest up-sampling, attention mask, low-pass AU view, robust AU head, warm-up):
    the nearest resize's gradient once had no XLA kernel and the steps failed to compile. XLA draws other random
    numbers than the default steps, so the check is that the compiled steps learn as the default's test does."""
    images, aus = faces32
    batch = (tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32))
    trainer = AUCGANTrainer(AUCGANConfig(img_size=32, shortcut_layers=1, attention_mask=True, upsample="nearest",
                                         au_low_pass=True, kept_colour_w=10.0, au_robust_eps=0.015, critic_warmup=1,
                                         adam_lr=2e-3, xla=True, **{**TINY, "batch_size": 8}))
    assert trainer.steps.xla
    rows = [trainer.train_step(batch, 0, 0, step=i) for i in range(21)]
    rows = [row.values if isinstance(row, StepResult) else row for row in rows]
    assert all(np.isfinite(float(v)) for v in rows[0].values())  # the warm-up step
    assert_learns_au_head_and_reconstruction(rows[1:])


def test_mixed_precision_computes_in_bfloat16_and_exports_float32_networks(faces32):
    """The CPU preset's path (attention mask, kept colour, warm-up): bfloat16 layers with float32 weights, a float32
    composite, and exports that are float32 copies computing what the trained networks compute."""
    images, aus = faces32
    config = AUCGANConfig(img_size=32, attention_mask=True, kept_colour_w=10.0, critic_warmup=1, au_low_pass=True,
                          mixed_precision=True, **TINY)
    trainer = AUCGANTrainer(config)
    x, own = tf.constant(images[:4] / 127.5 - 1.0, tf.float32), tf.constant(aus[:4], tf.float32)
    rows = [trainer.train_step((x, own), 0, 0, step=i) for i in range(3)]  # the first is the warm-up
    assert all(np.isfinite(float(v)) for row in rows[1:] for v in row.values())
    assert np.isfinite(float(rows[0].values["d_AU_loss"]))
    for network in (trainer.encoder, trainer.decoder, trainer.discriminator):
        inner = [layer for layer in network.layers if layer.name.endswith("conv")
                 and not layer.name.startswith(("output", "attention"))]  # the output heads are float32
        assert inner and {layer.compute_dtype for layer in inner} == {"bfloat16"}
        assert all(v.dtype == "float32" for v in network.trainable_variables)
    targets = tf.roll(own, 1, 0)
    mixed, mask = trainer.translate(trainer.encoder(x, training=False), targets, 1, False, x, own=own)
    assert mixed.dtype == tf.float32 and mask.dtype == tf.float32
    exported = trainer.translator()
    assert {layer.compute_dtype for model in (exported.encoder, exported.decoder) for layer in model.layers} == {
        "float32"}
    full = exported([x, targets]).numpy()
    assert 0 < np.abs(full - mixed.numpy()).max() < 0.05  # the same weights; only bfloat16 rounding differs
    critic = trainer.float32_networks()[2]
    assert {layer.compute_dtype for layer in critic.layers} == {"float32"}
    np.testing.assert_allclose(critic(x)[1], trainer.discriminator(x)[1], atol=0.05)


def test_change_conditioning_gives_g_dec_target_minus_own_and_the_export_takes_the_own_aus(faces32, tmp_path):
    """au_condition "change": the trainer's translations are G_dec(features, target - own); the self-reconstruction
    asks for no change (a zero vector); the exported generator takes (image, target, own), keeps its condition
    through a save, and refuses to be called without the own AUs."""
    import keras

    from models.ccyclegan import decode

    images, aus = faces32
    x, own = tf.constant(images[:4] / 127.5 - 1.0, tf.float32), tf.constant(aus[:4], tf.float32)
    targets = tf.roll(own, 1, 0)
    trainer = AUCGANTrainer(AUCGANConfig(img_size=32, attention_mask=True, au_condition="change", **TINY))
    features = trainer.encoder(x, training=False)
    translated = trainer.translate(features, targets, 1, False, x, own=own)[0]
    np.testing.assert_allclose(translated, decode(trainer.decoder, features, targets - own, x)[0], atol=1e-6)
    reconstruction = trainer.translate(features, own, 1, False, x, own=own)[0]
    np.testing.assert_allclose(reconstruction, decode(trainer.decoder, features, tf.zeros_like(own), x)[0], atol=1e-6)
    assert not np.allclose(translated, reconstruction, atol=1e-4)  # the condition reaches the output
    # K targets per image: the own AUs are repeated K-major with the features
    doubled = trainer.translate(features, tf.concat([targets, own], 0), 2, False, x, own=own)[0]
    np.testing.assert_allclose(doubled, tf.concat([translated, reconstruction], 0), atol=1e-6)

    path = tmp_path / "generator.keras"
    trainer.translator().save(path)
    generator = keras.saving.load_model(path)
    assert generator.au_condition == "change" and generator.needs_own_aus
    np.testing.assert_allclose(generator([x, targets, own]), translated, atol=1e-5)
    with pytest.raises(ValueError, match=r"takes \(image, target AUs, own AUs\), got 2 inputs"):
        generator([x, targets])


def test_change_conditioning_learns_to_return_the_face_when_asked_for_no_change(faces32):
    """Asked for no change (own AUs), G must return the face: 20 steps take that error below 0.7x its start."""
    images, aus = faces32
    config = AUCGANConfig(img_size=32, shortcut_layers=4, adam_lr=2e-3, au_condition="change",
                          **{**TINY, "batch_size": 8})
    trainer = AUCGANTrainer(config)
    batch = (tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32))
    rows = [trainer.train_step(batch, 0, 0, step=i) for i in range(20)]
    first, last = (np.mean([float(r["reconstr_loss"]) for r in part]) for part in (rows[:3], rows[-3:]))
    assert all(np.isfinite(float(v)) for r in rows for v in r.values())
    assert last < 0.7 * first, (first, last)


def test_a_separate_au_trunk_is_trained_by_the_au_regression_alone(faces32):
    """au_trunk "separate": the warm-up (AU regression) moves the AU trunk and not the realness one; in the game with
    d_au_w 0 the realness terms move their trunk and leave the AU trunk where the warm-up left it."""
    images, aus = faces32
    config = AUCGANConfig(img_size=32, au_trunk="separate", d_au_w=0.0, critic_warmup=1, au_robust_eps=0.015,
                          au_low_pass=True, attention_mask=True, kept_colour_w=10.0, **TINY)
    trainer = AUCGANTrainer(config)
    critic = trainer.discriminator

    def trunks():
        return {prefix: [w.numpy().copy() for w in critic.trainable_weights
                         if w.path.startswith(prefix) and "conv" in w.path] for prefix in ("a", "d")}

    def moved(before, after):
        return max(float(np.abs(b - a).max()) for b, a in zip(before, after))

    x, own = tf.constant(images[:4] / 127.5 - 1.0, tf.float32), tf.constant(aus[:4], tf.float32)
    start = trunks()
    warm = trainer.train_step((x, own), 0, 0, step=0)
    after_warmup = trunks()
    assert np.isfinite(float(warm.values["d_AU_loss"]))
    assert moved(start["a"], after_warmup["a"]) > 0 and moved(start["d"], after_warmup["d"]) == 0
    rows = [trainer.train_step((x, own), 0, 0, step=i) for i in (1, 2)]
    after_game = trunks()
    assert all(np.isfinite(float(v)) for row in rows for v in row.values())
    assert moved(after_warmup["d"], after_game["d"]) > 0 and moved(after_warmup["a"], after_game["a"]) == 0
    gan, au = critic(x)  # the step's one-output readers compute what D computes
    np.testing.assert_allclose(trainer._realness_reader(x), gan, atol=1e-6)
    np.testing.assert_allclose(trainer._au_reader(x), au, atol=1e-6)


def test_projection_term_is_the_hand_computed_inner_product_and_starts_at_zero():
    from ccyclegan.layers import ConditionProjection

    features = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]], np.float32)
    conditions = np.array([[1.0, 0.0], [0.2, 0.4]], np.float32)
    projection = ConditionProjection()
    projection.build([features.shape, conditions.shape])
    np.testing.assert_array_equal(projection([features, conditions]), np.zeros((2, 1)))
    kernel = np.array([[1.0, -1.0, 2.0], [0.0, 3.0, 1.0]], np.float32)
    projection.kernel.assign(kernel)
    # row 0: W^T y = (1, -1, 2), . (1, 2, 0) = -1; row 1: (0.2, 1.0, 0.8) . (0.5, -1, 3) = 0.1 - 1 + 2.4 = 1.5
    np.testing.assert_allclose(projection([features, conditions]), [[-1.0], [1.5]], atol=1e-6)


def test_projection_critic_learns_which_aus_a_real_face_has_and_checkpoints_its_term(faces32, tmp_path):
    """au_projection with the matching-aware term: the critic scores a face with the AUs it is said to have. At the
    start (W = 0) real faces score the same with their own AUs and with other faces'; after a 30-step AU warm-up and
    40 game steps their own AUs score higher, and the logged gap has grown. The projection's weights are in the
    checkpoint, and a fresh trainer restores them."""
    images, aus = faces32
    x, own = tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32)
    others = tf.roll(own, 3, 0)
    config = AUCGANConfig(img_size=32, adam_lr=2e-3, au_projection=True, au_mismatch_w=3.0, critic_warmup=30,
                          **{**TINY, "fc_dim": 32, "batch_size": 8})
    trainer = AUCGANTrainer(config)

    def margin():
        return float(tf.reduce_mean(trainer._critic(x, own, False)[0] - trainer._critic(x, others, False)[0]))

    assert margin() == 0.0
    assert "D_projection" in trainer.networks and "d_match_gap" in trainer.log_columns
    rows = [trainer.train_step((x, own), 0, 0, step=i) for i in range(70)][30:]
    assert all(np.isfinite(float(v)) for r in rows for v in r.values())
    gaps = [float(r["d_match_gap"]) for r in rows]
    assert np.mean(gaps[-5:]) > 2 * np.mean(gaps[:5]) and np.mean(gaps[-5:]) > 0.03, gaps
    learned = margin()
    assert learned > 0.01, learned

    checkpoint = str(tmp_path / "ckpt-1")
    tf.train.Checkpoint(**trainer.networks).write(checkpoint)
    fresh = AUCGANTrainer(config)
    tf.train.Checkpoint(**fresh.networks).read(checkpoint).assert_existing_objects_matched()
    np.testing.assert_allclose(fresh.projection.kernel, trainer.projection.kernel)
    np.testing.assert_allclose(fresh._critic(x, others, False)[0], trainer._critic(x, others, False)[0], atol=1e-5)


def test_a_critic_without_a_dense_au_head_is_refused_for_the_projection_by_name():
    from models.aucgan import build_ganimation_critic, critic_with_au_features

    with pytest.raises(ValueError, match="has no dense AU head .*class_lrelu, class_hidden"):
        critic_with_au_features(build_ganimation_critic(img_size=32, df=4, num_aus=17))


def test_a_decoder_without_the_attention_head_has_no_colour_map_to_return():
    from models.aucgan import build_aucgan
    from models.ccyclegan import decoder_with_colour

    decoder = build_aucgan(img_size=32, gf=4, df=4, fc_dim=8)[1]
    with pytest.raises(ValueError, match="has no attention head, so no colour map"):
        decoder_with_colour(decoder)


def test_targets_are_other_samples_within_the_noise_and_one_au_flips(faces32):
    _, aus = faces32
    aus = tf.constant(aus[:4], tf.float32)
    trainer = AUCGANTrainer(AUCGANConfig(img_size=32, targets_per_image=3, target_noise=0.1, **TINY))
    targets, copies = trainer.targets(aus, tf.constant([0, 5], tf.int64))
    assert copies == 3 and targets.shape == (12, 17)
    distance = np.abs(targets.numpy()[:, None, :] - aus.numpy()[None])  # each target is near some sample's AUs
    assert np.all(distance.max(axis=2).min(axis=1) <= 0.1 + 1e-6)
    assert targets.numpy().min() >= 0 and targets.numpy().max() <= 1
    flips = AUCGANTrainer(AUCGANConfig(img_size=32, target_mode="flip-one-au", au_kind="presence", **TINY))
    presence = tf.constant([[1.0] * 17, [0.0] * 17])
    flipped, copies = flips.targets(presence, tf.constant([0, 0], tf.int64))
    assert copies == 17 and flipped.shape == (34, 17)
    np.testing.assert_array_equal(flipped.numpy()[2 * 4], np.where(np.arange(17) == 4, 0.0, 1.0))  # AU06 off
    np.testing.assert_array_equal(flipped.numpy()[2 * 4 + 1], np.where(np.arange(17) == 4, 1.0, 0.0))


@pytest.mark.parametrize("bad, message", [({"adversarial": "wgan"}, "adversarial"),
                                          ({"au_loss": "log-abs"}, "log-abs needs"),
                                          ({"target_mode": "flip-one-au", "targets_per_image": 3}, "17 targets"),
                                          ({"attention_at": 8, "generator": "unet"}, "AttGAN"),
                                          ({"kept_colour_w": 1.0}, "kept_colour_w=1.0: weights of the attention mask"),
                                          ({"change_w": 1.0}, "change_w=1.0: weights of the attention mask"),
                                          ({"attention_mask": True, "mask_w": 0.1, "change_w": 0.2},
                                           "opposite directions"),
                                          ({"attention_mask": True, "change_w": -1.0}, "change_w must be >= 0"),
                                          ({"au_smooth_w": -0.1}, "au_smooth_w must be >= 0"),
                                          ({"au_robust_eps": -0.1}, "au_robust_eps must be >= 0"),
                                          ({"au_robust_eps": 1.0}, "au_robust_eps=1.0 is a per-pixel change"),
                                          ({"au_condition": "delta"}, "au_condition must be one of"),
                                          ({"au_projection": True, "critic": "ganimation"},
                                           "au_projection needs a critic with a dense AU head"),
                                          ({"au_mismatch_w": 1.0}, "set au_projection"),
                                          ({"au_projection": True, "au_mismatch_w": -1.0}, "au_mismatch_w must be >= 0"),
                                          ({"lr_schedule": "cosine"}, "lr_schedule must be one of"),
                                          ({"au_trunk": "own"}, "au_trunk must be one of"),
                                          ({"au_trunk": "separate", "critic": "pytorch"}, "AttGAN critic only"),
                                          ({"lr_decay_start": 1.0}, "lr_decay_start must be in"),
                                          ({"batch_size": 0}, "batch_size")])
def test_bad_settings_are_refused_by_name(bad, message):
    with pytest.raises(ValueError, match=message):
        AUCGANConfig(**bad)


def test_linear_decay_spans_the_game_after_the_warm_up_and_ends_at_zero(faces32, tmp_path):
    """The warm-up iterations train their own optimizer, so the schedule counts the game's: 16 faces, batch 4,
    2 epochs = 8 iterations, 3 of warm-up; the game's 5 updates keep the rate for 2 (0.4) then fall to 0."""
    images, aus = faces32
    config = AUCGANConfig(img_size=32, epochs=2, critic_warmup=3, lr_schedule="linear-decay", lr_decay_start=0.4,
                          **TINY)
    trainer, summary = train(config, images, aus, tmp_path / "run")
    assert summary["steps"] == 8 and np.isfinite(summary["last_row"]["g_AU_loss"])
    for optimizer in (trainer.d_optimizer, trainer.g_optimizer):
        assert int(optimizer.iterations.numpy()) == 5
        assert optimizer.get_config()["learning_rate"]["config"]["total_steps"] == 5
        assert float(optimizer.learning_rate) == 0.0
        schedule = optimizer._learning_rate
        rates = [float(schedule(step)) / config.adam_lr for step in range(6)]
        assert rates == pytest.approx([1, 1, 1, 2 / 3, 1 / 3, 0], abs=1e-6)
    assert float(trainer.warmup_optimizer.learning_rate) == pytest.approx(config.adam_lr)
    with pytest.raises(UsageError, match="epochs"):  # the schedule spans the planned run: its length is fixed
        train(dataclasses.replace(config, epochs=3), images, aus, tmp_path / "run", resume=True)


def test_train_refuses_aus_outside_the_model_range(tmp_path, faces32):
    images, aus = faces32
    with pytest.raises(UsageError, match="0..1"):
        train(AUCGANConfig(img_size=32, **TINY), images, aus * 5, tmp_path / "run", max_steps=1)
    assert not (tmp_path / "run").exists()


def _e1_config(**changes):
    from train.experiments import experiment_settings

    settings = experiment_settings("e1")
    fields = {k: v for k, v in settings.items() if k in AUCGANConfig.__dataclass_fields__}
    return AUCGANConfig(**{**fields, **TINY, **changes})


def _black_frames():
    faces = make_faces(6, seed=4, size=112, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    images, aus = faces.images.copy(), faces.aus.copy()
    images[::3], aus[::3] = 0, 0.0  # a third of the frames failed: black faces with AUs 0, as e1/e2 read them
    return images, aus


def test_e1_critic_gradient_on_black_faces_is_finite():
    """One critic gradient of e1 (raw 0..5 AUs, glorot_normal, BCE, D regressing fakes' targets) on a batch with
    black faces, the frames e1/e2 did not filter out: every gradient is finite."""
    images, aus = _black_frames()
    config = _e1_config(batch_size=6)
    assert config.au_normalization == "none" and config.keras_norm == "stable" and config.dense_init == "glorot_normal"
    trainer = AUCGANTrainer(config)
    grads, values = trainer._d_gradients_and_values(tf.constant(images / 127.5 - 1.0, tf.float32),
                                                    tf.constant(aus, tf.float32), tf.constant([0, 1], tf.int64))
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert all(np.isfinite(float(v)) for v in values.values())


@pytest.mark.slow
def test_e1_failure_condition_black_faces_and_raw_aus_stay_finite(tmp_path):
    """e1/e2 read every OpenFace row, also unsuccessful frames (black faces, AUs 0), with raw 0..5 AUs; their critic
    went NaN within a few batches. The library's e1 on such data keeps every loss and weight finite."""
    images, aus = _black_frames()
    images, aus = np.concatenate([images, images]), np.concatenate([aus, aus])
    config = _e1_config(d_g_ratio=1, epochs=2, sampling="epoch")
    trainer, summary = train(config, images, aus, tmp_path / "e1", max_steps=6)
    with open(tmp_path / "e1" / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6 and summary["steps"] == 6
    assert all(np.isfinite(float(r[k])) for r in rows for k in ("d_gan_loss", "d_AU_loss", "g_AU_loss"))
    assert all(np.all(np.isfinite(w.numpy())) for w in trainer.discriminator.weights + trainer.decoder.weights)


# The experiments at tiny widths; e1..e6 keep the originals' 112-pixel geometry, e7..e9 (AttGAN) run at 32.
EXPERIMENTS = ["e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"]


@pytest.fixture(scope="module")
def openface_root(tmp_path_factory):
    from ccyclegan.data.synthetic_writers import write_openface

    return write_openface(tmp_path_factory.mktemp("openface"), n=24, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_trains_two_steps_from_the_command_line(experiment, openface_root, tmp_path, capsys):
    out = tmp_path / experiment
    size = ["--image-size", "32"] if experiment in ("e7", "e8", "e9") else []
    code = load_train_script().main([
        "--experiment", experiment, "--data", str(openface_root), "--out", str(out), "--max-steps", "2",
        "--log-style", "quiet", "--gf", "4", "--df", "4", "--fc-dim", "16", "-batch_size", "2",
        "--targets-per-image", "2" if experiment in ("e3", "e4") else "1", *size])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert json.loads((out / "summary.json").read_text())["steps"] == 2
    assert (out / "generator.keras").exists()
    expected = {"e1": ("unet", "bce", "none"), "e3": ("unet", "lsgan-sigmoid", "5"),
                "e5": ("unet-e5", "wgan-gp", "5"), "e9": ("attgan", "wgan-gp", "column_max")}
    if experiment in expected:
        assert (config["generator"], config["adversarial"], config["au_normalization"]) == expected[experiment]
