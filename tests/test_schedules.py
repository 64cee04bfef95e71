"""Learning-rate schedules."""

import keras
import pytest

from ccyclegan.schedules import ConstantThenLinearDecay, learning_rate


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
