"""The critic options of the AU families: `--au-low-pass` (the filter against hand-computed values; in both trainers
the AU head that a period-two pattern cannot move once it is on), `--au-luminance` (the same for a hue change of no
luminance), `--au-shift` (the shift against hand-checked copies; drawn from the iteration's seed) and
`--critic-warmup` (the AU head learns alone)."""

import warnings

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.layers import binomial_low_pass


def _checkerboard(shape):
    """+1 / -1 alternating in both directions: the pattern of a generator's checkerboard artefacts."""
    rows, cols = np.indices(shape[1:3])
    return np.broadcast_to((((rows + cols) % 2) * 2.0 - 1.0)[None, :, :, None], shape).astype(np.float32)


def test_the_filter_against_hand_computed_values():
    impulse = np.zeros((1, 5, 5, 1), np.float32)
    impulse[0, 2, 2] = 16.0
    expected = np.zeros((5, 5), np.float32)
    expected[1:4, 1:4] = [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    np.testing.assert_allclose(binomial_low_pass(tf.constant(impulse)).numpy()[0, :, :, 0], expected)
    corner = np.zeros((1, 3, 3, 1), np.float32)
    corner[0, 0, 0] = 16.0  # edges reflect (row -1 is row 1), so the corner keeps the centre weight 4 only
    np.testing.assert_allclose(binomial_low_pass(tf.constant(corner)).numpy()[0, :, :, 0],
                               [[4, 2, 0], [2, 1, 0], [0, 0, 0]])
    constant = np.full((2, 4, 6, 3), 0.3, np.float32)
    np.testing.assert_allclose(binomial_low_pass(tf.constant(constant)).numpy(), constant, rtol=1e-6)
    pattern = _checkerboard((1, 6, 8, 2))  # odd and even sizes; the zero lands on the edges too
    np.testing.assert_allclose(binomial_low_pass(tf.constant(pattern)).numpy(), 0.0, atol=1e-6)


def _ganimation_au_gradient_on_pattern(low_pass: bool, pattern, **view):
    """The cosine between the pattern and the gradient that G's AU loss sends to its renderings."""
    from tests.test_ganimation import TINY, tiny_faces
    from train.ganimation import GANimationConfig, GANimationTrainer

    images, aus = tiny_faces(4)
    trainer = GANimationTrainer(GANimationConfig(**TINY, au_low_pass=low_pass, **view))
    images, aus = tf.constant(images / 127.5 - 1.0, tf.float32), tf.constant(aus)
    iteration = tf.constant(0, tf.int64)
    targets = trainer._targets(aus, iteration, 0)
    fakes = tf.tanh(images)
    attention = tf.fill(tf.concat([tf.shape(images)[:3], [1]], 0), 0.5)
    with tf.GradientTape() as tape:
        tape.watch(fakes)
        _, values = trainer._g_losses(images, aus, targets, iteration, forward=(fakes, attention, fakes))
    gradient = tape.gradient(values["g_au"], fakes).numpy()
    pattern = np.broadcast_to(pattern, gradient.shape)
    return abs(np.sum(gradient * pattern)) / (np.linalg.norm(gradient) * np.linalg.norm(pattern))


def test_the_generator_gets_no_au_gradient_towards_a_checkerboard_with_the_low_pass():
    pattern = _checkerboard((1, 16, 16, 3))
    assert _ganimation_au_gradient_on_pattern(True, pattern) < 1e-5
    assert _ganimation_au_gradient_on_pattern(False, pattern) > 1e-3  # without it the head is moved


def test_the_au_critic_reads_faces_with_a_checkerboard_as_without_with_the_low_pass():
    from ccyclegan.data.synthetic_faces import make_faces
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    faces = make_faces(4, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    aus = tf.constant(faces.aus / 5.0, tf.float32)
    pattern = 0.2 * _checkerboard((1, 32, 32, 3))

    def d_au_loss(low_pass, shift):
        trainer = AUCGANTrainer(AUCGANConfig(img_size=32, gf=4, df=4, fc_dim=16, batch_size=4, au_low_pass=low_pass))
        images = tf.constant(faces.images / 127.5 - 1.0 + shift, tf.float32)
        return float(trainer._d_gradients_and_values(images, aus, tf.constant([0, 0], tf.int64))[1]["d_AU_loss"])

    assert d_au_loss(True, pattern) == pytest.approx(d_au_loss(True, 0.0), rel=1e-5)
    assert abs(d_au_loss(False, pattern) - d_au_loss(False, 0.0)) > 1e-3 * d_au_loss(False, 0.0)


def _hue_pattern(shape, seed: int = 0):
    """A random colour change of zero luminance at every pixel (what a generator's hue blotches are)."""
    from ccyclegan.layers import LUMA_WEIGHTS

    pattern = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    weights = np.asarray(LUMA_WEIGHTS, np.float32)
    return pattern - (pattern @ weights)[..., None] * weights / (weights @ weights)


def test_luminance_against_hand_computed_values():
    from ccyclegan.layers import luminance

    red_grey = tf.constant([[[[1.0, 0.0, 0.0], [0.5, 0.5, 0.5]]]])
    np.testing.assert_allclose(luminance(red_grey).numpy(), [[[[0.299] * 3, [0.5] * 3]]], rtol=1e-6)
    np.testing.assert_allclose(luminance(tf.constant(_hue_pattern((2, 4, 4, 3)))).numpy(), 0.0, atol=1e-6)
    grey = tf.zeros((1, 4, 4, 1))
    assert luminance(grey) is grey  # one channel: already no colour


def test_the_generator_gets_no_au_gradient_towards_a_hue_change_with_au_luminance():
    pattern = _hue_pattern((1, 16, 16, 3))
    assert _ganimation_au_gradient_on_pattern(False, pattern, au_luminance=True) < 1e-5
    assert _ganimation_au_gradient_on_pattern(False, pattern) > 1e-3  # reading colour, the head is moved


def test_the_au_critic_reads_faces_as_without_a_hue_change_with_au_luminance():
    from ccyclegan.data.synthetic_faces import make_faces
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    faces = make_faces(4, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    aus = tf.constant(faces.aus / 5.0, tf.float32)
    pattern = 0.2 * _hue_pattern((4, 32, 32, 3))

    def d_au_loss(grey, change):
        trainer = AUCGANTrainer(AUCGANConfig(img_size=32, gf=4, df=4, fc_dim=16, batch_size=4, au_luminance=grey))
        images = tf.constant(faces.images / 127.5 - 1.0 + change, tf.float32)
        return float(trainer._d_gradients_and_values(images, aus, tf.constant([0, 0], tf.int64))[1]["d_AU_loss"])

    assert d_au_loss(True, pattern) == pytest.approx(d_au_loss(True, 0.0), rel=1e-5)
    assert abs(d_au_loss(False, pattern) - d_au_loss(False, 0.0)) > 1e-3 * d_au_loss(False, 0.0)


def _warm_up(family: str, au_shift: int = 0, critic: str = "attgan"):
    """(AU loss of the warm-up's first and last steps, whether G's weights moved) over 30 warm-up steps."""
    from ccyclegan.data.synthetic_faces import make_faces

    faces = make_faces(8, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    images, aus = tf.constant(faces.images / 127.5 - 1.0, tf.float32), tf.constant(faces.aus / 5.0, tf.float32)
    if family == "ganimation":
        from train.ganimation import GANimationConfig, GANimationTrainer

        trainer = GANimationTrainer(GANimationConfig(img_size=32, g_conv_dim=4, d_conv_dim=8, g_repeat_num=1,
                                                     d_repeat_num=3, batch_size=8, lr_D=2e-3, critic_warmup=30,
                                                     lr_schedule="constant", au_shift=au_shift))
        generator, key = trainer.nets.generator_variables, "d_au"
        step = lambda i: trainer.train_step((images, aus), 0, i, 100)  # noqa: E731
    else:
        from train.aucgan import AUCGANConfig, AUCGANTrainer

        trainer = AUCGANTrainer(AUCGANConfig(img_size=32, gf=4, df=8, fc_dim=16, batch_size=8, adam_lr=2e-3,
                                             critic_warmup=30, au_shift=au_shift, critic=critic))
        generator, key = trainer.generator_variables, "d_AU_loss"
        step = lambda i: trainer.train_step((images, aus), 0, i, step=i)  # noqa: E731
    before = [v.numpy().copy() for v in generator]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [step(i) for i in range(30)]
    # The realness head has no gradient in the warm-up by design; that is not a loss that forgot a variable.
    assert not [w for w in caught if "Gradients do not exist" in str(w.message)]
    assert all(result.log is False for result in results)  # warm-up iterations are not logged rows
    losses = [float(result.values[key]) for result in results]
    moved = any(not np.array_equal(b, v.numpy()) for b, v in zip(before, generator))
    # The warm-up steps an Adam of its own: the game's critic optimizer starts fresh (its moments would otherwise be
    # the converged regression's, and the game's first steps many times the learning rate; docs/aucgan.md).
    assert int(trainer.warmup_optimizer.iterations) == 30 and int(trainer.d_optimizer.iterations) == 0
    assert trainer.optimizers["d_warmup"] is trainer.warmup_optimizer  # checkpointed, so resume is exact
    after = step(30)  # the first ordinary iteration: a logged row with G's losses
    assert int(trainer.warmup_optimizer.iterations) == 30 and int(trainer.d_optimizer.iterations) >= 1
    return losses, moved, after


@pytest.mark.parametrize("family,au_shift,critic", [("ganimation", 0, None), ("aucgan", 0, "attgan"),
                                                   ("ganimation", 2, None), ("aucgan", 2, "attgan"),
                                                   ("aucgan", 2, "ganimation")])
def test_the_critic_warmup_learns_the_aus_alone_then_the_game_starts(family, au_shift, critic):
    losses, moved, after = _warm_up(family, au_shift, critic)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:5])
    assert not moved  # G untouched during the warm-up
    assert isinstance(after, dict) and any(key.startswith("g_") for key in after)


def test_the_random_shift_moves_each_face_by_its_own_whole_pixel_offset_with_reflected_edges():
    from ccyclegan.layers import random_shift

    images = tf.constant(np.random.default_rng(0).normal(size=(64, 7, 9, 2)), tf.float32)
    seed = tf.constant([5, 6], tf.int64)
    shifted = random_shift(images, 2, seed).numpy()
    padded = np.pad(images.numpy(), [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    offsets = set()
    for index in range(len(shifted)):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if np.array_equal(padded[index, dy:dy + 7, dx:dx + 9], shifted[index])]
        assert len(matches) == 1, index  # a copy of the reflected face at exactly one offset
        offsets.add(matches[0])
    assert len(offsets) > 15  # 64 faces spread over the 25 offsets, (0, 0) to (4, 4) in the padded face
    np.testing.assert_array_equal(random_shift(images, 2, seed).numpy(), shifted)  # stateless: the seed decides
    assert not np.array_equal(random_shift(images, 2, seed + 1).numpy(), shifted)
    assert random_shift(images, 0, seed) is images
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(random_shift(images, 2, seed))
    # Every output pixel comes from one input pixel: the gradient of the sum counts 7 x 9 x 2 pixels per face.
    np.testing.assert_allclose(tf.reduce_sum(tape.gradient(total, images), axis=[1, 2, 3]).numpy(), 126.0)
    with pytest.raises(ValueError, match="larger than 7x9"):
        random_shift(images, 7, seed)


def test_with_au_shift_the_generator_au_loss_reads_shifted_faces_drawn_by_the_iteration():
    from tests.test_ganimation import TINY, tiny_faces
    from train.ganimation import GANimationConfig, GANimationTrainer

    images, aus = tiny_faces(4)
    images, aus = tf.constant(images / 127.5 - 1.0, tf.float32), tf.constant(aus)

    def g_au(shift, step):
        trainer = GANimationTrainer(GANimationConfig(**TINY, au_shift=shift))
        iteration = tf.constant(step, tf.int64)
        targets = trainer._targets(aus, tf.constant(0, tf.int64), 0)
        attention = tf.fill(tf.concat([tf.shape(images)[:3], [1]], 0), 0.5)
        forward = (tf.tanh(images), attention, tf.tanh(images))  # (composite, attention, colour)
        return float(trainer._g_losses(images, aus, targets, iteration, forward=forward)[1]["g_au"])

    assert g_au(3, 0) == g_au(3, 0)  # the same iteration draws the same shifts (exact resume)
    assert g_au(3, 0) != g_au(3, 1) and g_au(3, 0) != g_au(0, 0)


@pytest.mark.parametrize("family", ["ganimation", "aucgan"])
def test_au_shift_and_luminance_are_refused_where_they_cannot_apply(family):
    if family == "ganimation":
        from train.ganimation import GANimationConfig as Config
    else:
        from train.aucgan import AUCGANConfig as Config
    with pytest.raises(ValueError, match="au_shift must be >= 0"):
        Config(img_size=32, au_shift=-1)
    with pytest.raises(ValueError, match=r"au_shift \(32 pixels\) must be smaller than the image \(32\)"):
        Config(img_size=32, au_shift=32)
    with pytest.raises(ValueError, match=r"au_luminance reads the luminance of colour faces; these have 1 "):
        Config(img_size=32, channels=1, au_luminance=True)


def _critic_step_inputs():
    """Eight 32-px synthetic faces in [-1, 1], their AUs / 5 and a step seed: the critic-step tests' batch."""
    from ccyclegan.data.synthetic_faces import make_faces

    faces = make_faces(8, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    images, aus = tf.constant(faces.images / 127.5 - 1.0, tf.float32), tf.constant(faces.aus / 5.0, tf.float32)
    return images, aus, tf.constant([5, 6], tf.int64)


def _small_au_trainer(**options):
    """A tiny AU-family trainer whose critic reads low-passed faces, with the option under test."""
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    return AUCGANTrainer(AUCGANConfig(img_size=32, gf=4, df=8, fc_dim=16, batch_size=8, au_low_pass=True, seed=0,
                                      **options))


def test_the_au_smoothness_penalty_enters_the_critic_step_and_the_log():
    """--au-smooth-w: the critic's loss gains W x the Jacobian penalty of its AU head (in AU units, no shift), logged
    as d_au_jacobian; the critic's gradients change with it and nothing else does."""
    from train.aucgan import AU_SMOOTH_COLUMN

    images, aus, seed = _critic_step_inputs()
    results = {}
    for weight in (0.0, 1.0):
        trainer = _small_au_trainer(au_smooth_w=weight)
        results[weight] = trainer._d_gradients_and_values(images, aus, seed)
        assert (AU_SMOOTH_COLUMN in trainer.log_columns) == bool(weight)
    (plain, plain_values), (smooth, values) = results[0.0], results[1.0]
    assert AU_SMOOTH_COLUMN not in plain_values and float(values[AU_SMOOTH_COLUMN]) > 0
    assert float(values["d_AU_loss"]) == pytest.approx(float(plain_values["d_AU_loss"]), rel=1e-5)  # same nets
    assert any(not np.allclose(a.numpy(), b.numpy(), atol=1e-7) for a, b in zip(plain, smooth) if a is not None)


def test_the_robust_au_head_learns_from_real_faces_moved_towards_its_worst_reading():
    """--au-robust-eps: the critic's AU loss is taken on real faces moved by at most eps per pixel, which the head
    reads worse than the faces themselves; the realness terms are untouched, and the warm-up reads the same faces."""
    from ccyclegan.losses import au_loss

    images, aus, seed = _critic_step_inputs()
    values = {}
    for eps in (0.0, 0.05):
        trainer = _small_au_trainer(au_robust_eps=eps)
        values[eps] = trainer._d_gradients_and_values(images, aus, seed)[1]
    moved = trainer._robust_faces(images, aus, seed)
    assert 0 < float(tf.reduce_max(tf.abs(moved - images))) <= 0.05 + 1e-6

    def head_error(x):
        return float(tf.reduce_mean(au_loss("bce", aus, trainer._critic_aus(x, trainer._shift_seed(seed, 0)))))

    assert head_error(moved) > head_error(images)
    assert float(values[0.05]["d_AU_loss"]) == pytest.approx(head_error(moved), rel=1e-4)
    assert float(values[0.05]["d_gan_loss"]) == pytest.approx(float(values[0.0]["d_gan_loss"]), rel=1e-5)
    # the warm-up's AU regression reads the same moved faces (its loss is taken before its update)
    warming = _small_au_trainer(au_robust_eps=0.05, critic_warmup=1)
    warm_moved = warming._robust_faces(images, aus, seed)
    expected = float(tf.reduce_mean(au_loss("bce", aus, warming._critic_aus(warm_moved, warming._shift_seed(seed, 0)))))
    assert float(warming._warmup_replica_step(images, aus, seed)["d_AU_loss"]) == pytest.approx(expected, rel=1e-4)
