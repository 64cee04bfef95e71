"""The generator's weight average (`ccyclegan.averaging`, `--g-average`): its arithmetic, what it is for, and how the
AU family checkpoints, resumes, exports and evaluates it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.averaging import CHECKPOINT_NAME, WeightAverage, check_decay, check_span
from ccyclegan.data.synthetic_faces import make_faces
from ccyclegan.errors import UsageError
from tests.helpers import two_cpu_mirrored


def _dense(units: int = 3, inputs: int = 2) -> keras.Model:
    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(units)])


def _flat(values) -> np.ndarray:
    return np.concatenate([np.asarray(v).ravel() for v in values])


@pytest.mark.parametrize("span", [0.1, 0.25])
def test_the_average_follows_the_ramped_decay_by_hand(span):
    model = _dense()
    rng = np.random.default_rng(0)
    start = [rng.normal(size=w.shape).astype(np.float32) for w in model.weights]
    model.set_weights(start)
    average = WeightAverage([model], decay=0.9, span=span)
    expected = _flat(start)
    for n in range(5):
        new = [rng.normal(size=w.shape).astype(np.float32) for w in start]
        model.set_weights(new)
        average.update()
        # in float32, as the average computes it (a float64 reference differs by rounding near zero)
        d = np.float32(min(0.9, (1 + n) / (1 / span + n)))  # span 0.1: 0.1, 2/11, 0.25, 4/13, 5/14; 0.25: 1/4 .. 5/8
        expected = d * expected + (np.float32(1) - d) * _flat(new)
    np.testing.assert_allclose(_flat(average.state.averages), expected, rtol=1e-6)
    assert int(average.state.updates.numpy()) == 5


def test_a_span_of_one_half_is_the_plain_mean_of_every_weight_so_far():
    """The longest ramp: d = (1 + n) / (2 + n) weighs the starting weights and each update's alike."""
    model = _dense()
    rng = np.random.default_rng(1)
    seen = [_flat(model.weights)]
    average = WeightAverage([model], decay=0.99999, span=0.5)
    for _ in range(6):
        model.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in model.weights])
        seen.append(_flat(model.weights))
        average.update()
    np.testing.assert_allclose(_flat(average.state.averages), np.mean(seen, axis=0), rtol=1e-5, atol=1e-6)


def test_the_average_of_noisy_updates_is_nearer_the_optimum_than_the_last_weights():
    """What it is for: gradient steps that jitter around a solution (as a generator chasing its critic) leave the
    last weights a step's noise away from it; the average cancels most of that noise."""
    model = _dense(units=4, inputs=4)
    optimum = 0.5
    average = WeightAverage([model], decay=0.99)

    @tf.function
    def descend(steps: int):
        for i in tf.range(steps):
            for j, w in enumerate(model.weights):
                noise = tf.random.stateless_normal(w.shape, seed=tf.stack([tf.cast(i, tf.int32), j]))
                w.assign_sub(0.1 * (w - optimum + noise))  # SGD on (w - optimum)^2 / 2 with unit gradient noise
            average.update()

    descend(tf.constant(1500))
    last = np.abs(_flat(model.weights) - optimum).mean()
    averaged = np.abs(_flat(average.state.averages) - optimum).mean()
    assert averaged < 0.5 * last, (averaged, last)  # theory for this AR(1) process: about 0.3


def test_a_checkpointed_average_continues_exactly(tmp_path):
    """Resume: the average and its update count are checkpoint state, so a restored average goes on as if the run
    had not stopped."""
    first, second = _dense(), _dense()
    running = WeightAverage([first], decay=0.9)
    steps = [[np.full(w.shape, float(k), np.float32) for w in first.weights] for k in range(1, 6)]
    for weights in steps[:3]:
        first.set_weights(weights)
        running.update()
    path = tf.train.Checkpoint(**{CHECKPOINT_NAME: running.state}).write(str(tmp_path / "average"))
    restored = WeightAverage([second], decay=0.9)
    tf.train.Checkpoint(**{CHECKPOINT_NAME: restored.state}).read(path).assert_consumed()
    assert int(restored.state.updates.numpy()) == 3
    for weights in steps[3:]:
        for model, average in ((first, running), (second, restored)):
            model.set_weights(weights)
            average.update()
    np.testing.assert_array_equal(_flat(restored.state.averages), _flat(running.state.averages))


def test_swapping_the_average_in_gives_the_weights_back_and_copying_keeps_it():
    model = _dense()
    own = [w.numpy().copy() for w in model.weights]
    average = WeightAverage([model], decay=0.5)
    for w in model.weights:
        w.assign(w.numpy() + 1.0)
    average.update()  # n = 0: d = 0.1, so the average is own + 0.9
    moved = [w.numpy().copy() for w in model.weights]
    with average.swapped_in():  # atol as well: a weight near -0.9 ends near 0 (float32 rounding)
        np.testing.assert_allclose(_flat(model.weights), _flat(own) + 0.9, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(_flat(model.weights), _flat(moved))
    average.copy_to_networks()
    np.testing.assert_allclose(_flat(model.weights), _flat(own) + 0.9, rtol=1e-6, atol=1e-6)


def test_the_average_updates_inside_a_mirrored_replica_step():
    strategy = two_cpu_mirrored()
    with strategy.scope():
        model = _dense()
        average = WeightAverage([model], decay=0.5)
    start = _flat(model.weights)

    @tf.function
    def step():
        def replica():
            for w in model.weights:
                w.assign_add(tf.ones_like(w))
            average.update()
        strategy.run(replica)

    step()
    # atol as well: an unseeded weight near -0.9 ends near 0, where float32 rounding is a large relative error
    np.testing.assert_allclose(_flat(average.state.averages), start + 0.9, rtol=1e-6, atol=1e-6)
    for average_variable in average.state.averages:  # every replica holds the same average
        replicas = strategy.experimental_local_results(average_variable)
        assert len(replicas) == 2
        np.testing.assert_array_equal(replicas[0].numpy(), replicas[1].numpy())


@pytest.mark.parametrize("decay", [1.0, -0.1, 1.5])
def test_a_decay_outside_zero_to_one_is_refused_by_name(decay):
    with pytest.raises(ValueError, match="--g-average"):
        check_decay(decay)
    from train.aucgan import AUCGANConfig

    with pytest.raises(ValueError, match="g_average"):
        AUCGANConfig(g_average=decay)
    with pytest.raises(ValueError, match="needs a decay"):
        WeightAverage([_dense()], decay=0.0)


@pytest.mark.parametrize("span", [0.0, -0.1, 0.6, 1.0])
def test_a_span_outside_its_range_is_refused_by_name(span):
    with pytest.raises(ValueError, match="--g-average-span"):
        check_span(span)
    with pytest.raises(ValueError, match="--g-average-span"):
        WeightAverage([_dense()], decay=0.9, span=span)
    from train.aucgan import AUCGANConfig

    with pytest.raises(ValueError, match="g_average_span"):
        AUCGANConfig(g_average=0.9, g_average_span=span)


def test_a_span_without_an_average_is_refused_not_ignored():
    from train.aucgan import AUCGANConfig

    with pytest.raises(ValueError, match="a weight average the run does not keep: set g_average"):
        AUCGANConfig(g_average_span=0.25)


# -- the AU family ----------------------------------------------------------------------------------------------------
TINY = dict(img_size=32, gf=4, df=4, fc_dim=16, batch_size=4, sample_interval=2, checkpoint_interval=2,
            log_style="quiet", critic_warmup=2, attention_mask=True, g_average=0.9)


@pytest.fixture(scope="module")
def faces32():
    faces = make_faces(16, seed=3, size=32, channels=3, labels="sparse_aus", aligned=True, face_mask=True)
    return faces.images, (faces.aus / 5.0).astype(np.float32)


def test_an_au_run_checkpoints_and_exports_its_average_and_loads_either_weights(faces32, tmp_path):
    from train.aucgan import AUCGANConfig, train
    from train.aucgan_use import load_generator, trainer_from_checkpoint

    images, aus = faces32
    train(AUCGANConfig(epochs=2, **TINY), images, aus, tmp_path / "run")  # 8 iterations, 2 of warm-up
    reader = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert int(reader.get_tensor(f"{CHECKPOINT_NAME}/updates/.ATTRIBUTES/VARIABLE_VALUE")) == 6

    run = tmp_path / "run"
    x, targets = images[:3], aus[1:4]
    exported = load_generator(run)
    average = trainer_from_checkpoint(run, "average").translator()
    own = trainer_from_checkpoint(run, "own").translator()
    unit = tf.constant(x / 127.5 - 1.0, tf.float32)
    np.testing.assert_allclose(exported([unit, targets]).numpy(), average([unit, targets]).numpy(), atol=1e-5)
    assert np.abs(own([unit, targets]).numpy() - average([unit, targets]).numpy()).max() > 1e-4
    np.testing.assert_allclose(load_generator(run, "own")([unit, targets]).numpy(), own([unit, targets]).numpy(),
                               atol=1e-6)
    with pytest.raises(UsageError, match="generator-weights own"):
        load_generator(run / "generator.keras", "own")


def test_an_au_trainer_on_two_replicas_keeps_the_average_of_its_weights(faces32):
    """The average is updated inside the mirrored G step: after two G updates it is the ramped recurrence of the
    weights G went through, and every replica holds the same."""
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    mirrored = two_cpu_mirrored()
    images, aus = faces32
    trainer = AUCGANTrainer(AUCGANConfig(**{**TINY, "critic_warmup": 0, "batch_size": 8, "seed": 5}), mirrored)
    x, y = tf.constant(images[:8] / 127.5 - 1.0, tf.float32), tf.constant(aus[:8], tf.float32)
    batch = next(iter(mirrored.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(8))))
    seen = [_flat(trainer.weight_average.sources)]
    for step in range(2):
        trainer.train_step(batch, 0, step, step=step)
        seen.append(_flat(trainer.weight_average.sources))
    d0, d1 = 0.1, 2 / 11  # min(0.9, (1 + n) / (10 + n)) for n = 0, 1
    expected = d1 * (d0 * seen[0] + (1 - d0) * seen[1]) + (1 - d1) * seen[2]
    assert not np.allclose(seen[2], seen[0])
    replicas = [_flat([mirrored.experimental_local_results(a)[r] for a in trainer.weight_average.state.averages])
                for r in range(2)]
    np.testing.assert_allclose(replicas[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(replicas[0], replicas[1])


def test_generator_weights_other_than_average_or_own_are_refused_by_name(tmp_path):
    from train.aucgan_use import EvaluateSettings, trainer_from_checkpoint

    with pytest.raises(UsageError, match="--generator-weights must be one of"):
        EvaluateSettings(model=str(tmp_path), generator_weights="ema")
    with pytest.raises(ValueError, match="generator_weights must be 'average' or 'own'"):
        trainer_from_checkpoint(tmp_path, "ema")
