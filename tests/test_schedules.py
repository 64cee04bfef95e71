"""Learning-rate schedules."""

import keras
import pytest

from ccyclegan.schedules import ConstantThenEpochDecay, ConstantThenLinearDecay, learning_rate


def test_constant_then_linear_to_zero():
    schedule = ConstantThenLinearDecay(1e-3, total_steps=100, decay_start=0.5)
    values = [float(schedule(step)) for step in (0, 49, 50, 75, 99, 100, 150)]
    assert values[:3] == pytest.approx([1e-3, 1e-3, 1e-3])
    assert values[3] == pytest.approx(5e-4)
    assert values[4] == pytest.approx(2e-5)
    assert values[5:] == [0.0, 0.0]


def test_schedule_survives_an_optimizer_round_trip():
    optimizer = keras.optimizers.Adam(learning_rate("linear-decay", 2e-4, 10, 0.2))
    rebuilt = keras.optimizers.Adam.from_config(optimizer.get_config())
    assert float(rebuilt.learning_rate) == pytest.approx(2e-4)
    assert learning_rate("constant", 2e-4, 10) == 2e-4


@pytest.mark.parametrize("kwargs, message", [
    (dict(total_steps=0), "total_steps"), (dict(total_steps=10, decay_start=1.0), "decay_start"),
    (dict(total_steps=10, decay_start=-0.1), "decay_start"),
])
def test_impossible_schedules_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ConstantThenLinearDecay(1e-3, **kwargs)


def test_unknown_schedule_name_is_refused():
    with pytest.raises(ValueError, match="linear-decay"):
        learning_rate("cosine", 1e-3, 10)


def test_epoch_decay_is_vipermus_x09_per_epoch_after_epoch_20_of_30():
    schedule = learning_rate("epoch-decay", 1e-4, total_steps=3000, decay_start=20 / 30, epochs=30)  # 100 per epoch
    assert isinstance(schedule, ConstantThenEpochDecay)
    rates = {epoch: float(schedule(epoch * 100 + 50)) for epoch in (0, 20, 21, 22, 29)}
    assert rates[0] == rates[20] == pytest.approx(1e-4)  # epochs 0..20 at the full rate
    assert rates[21] == pytest.approx(9e-5) and rates[22] == pytest.approx(8.1e-5)
    assert rates[29] == pytest.approx(1e-4 * 0.9**9)  # 3.9e-5: it never reaches 0
    assert float(schedule(2099)) == pytest.approx(1e-4) and float(schedule(2100)) == pytest.approx(9e-5)
    rebuilt = keras.optimizers.Adam.from_config(keras.optimizers.Adam(schedule).get_config())
    assert float(rebuilt.learning_rate) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="needs the run's number of epochs"):
        learning_rate("epoch-decay", 1e-4, 3000, 0.5)
