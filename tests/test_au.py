"""AU vectors as users type them, edits, training targets and sweeps (ccyclegan.au)."""

import numpy as np
import pytest
import tensorflow as tf

from ccyclegan import au
from ccyclegan.errors import UsageError
from ccyclegan.labels import AU_CODES, au_index


def test_named_aus_become_model_units_with_every_other_au_zero():
    vector = au.parse_aus("AU12=3, au06=2.5")
    assert vector.shape == (17,) and vector.dtype == np.float32
    assert vector[au_index(12)] == pytest.approx(0.6) and vector[au_index(6)] == pytest.approx(0.5)
    assert np.count_nonzero(vector) == 2
    assert au.format_aus(vector) == "AU06=2.5,AU12=3.0"


def test_a_bare_vector_needs_all_seventeen_values_in_openface_order():
    values = [str(i % 6) for i in range(17)]
    np.testing.assert_allclose(au.parse_aus(",".join(values)), [(i % 6) / 5 for i in range(17)], rtol=1e-6)
    with pytest.raises(UsageError, match="3 values given.*all 17"):
        au.parse_aus("1,2,3")


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("AU13=2", "AU13 is not one of the 17"),
    ("AU12=3,AU12=1", "AU12 is given twice"),
    ("AU12=six", "AU12: 'six' is not a number"),
    ("AU12=7", "AU12=7 is outside the intensity range 0..5"),
    ("AU12=-1", "outside the intensity range"),
    ("AU12=nan", "not a finite number"),
    ("smile=3", "not of the form AUxx=value"),
])
def test_bad_au_text_names_the_item(text, message):
    with pytest.raises(UsageError, match=message):
        au.parse_aus(text)


def test_deltas_are_relative_and_the_result_stays_in_range():
    base = au.parse_aus("AU12=4,AU04=1")
    deltas = au.parse_au_deltas("AU12=+2,AU04=-0.5")
    edited = au.apply_au_deltas(base, deltas)
    assert edited[au_index(12)] == pytest.approx(1.0)  # 4 + 2 clipped to 5
    assert edited[au_index(4)] == pytest.approx(0.1)
    with pytest.raises(UsageError, match="AU12 changes by \\+9"):
        au.parse_au_deltas("AU12=+9")
    with pytest.raises(UsageError, match="17 AU values"):
        au.apply_au_deltas(np.zeros(5), deltas)


def test_training_targets_are_other_samples_plus_bounded_noise_and_reproducible():
    aus = tf.constant(np.linspace(0.05, 0.95, 8 * 17, dtype=np.float32).reshape(8, 17))
    targets = au.targets_from_other_samples(aus, seed=[1, 2], noise=0.1, count=3).numpy()
    again = au.targets_from_other_samples(aus, seed=[1, 2], noise=0.1, count=3).numpy()
    np.testing.assert_array_equal(targets, again)
    assert targets.shape == (24, 17)
    assert targets.min() >= 0.0 and targets.max() <= 1.0
    rows = aus.numpy()
    for target in targets:  # each target is some sample of the batch moved by at most the noise on every AU
        assert np.min(np.max(np.abs(rows - target), axis=1)) <= 0.1 + 1e-6
    # Three independent permutations: not all three copies of the batch are in the same order.
    sources = [np.argmin(np.abs(rows[:, :1] - target[0]).ravel()) for target in targets]
    assert len({tuple(sources[k * 8:(k + 1) * 8]) for k in range(3)}) > 1
    unclipped = au.targets_from_other_samples(tf.ones((4, 17)), seed=[0, 0], noise=0.1, clip=False).numpy()
    assert unclipped.max() > 1.0


def test_interpolation_sweep_and_expression_prototypes():
    start, end = au.expression_aus("neutral"), au.expression_aus("happy", intensity=5)
    frames = au.interpolate_aus(start, end, 5)
    assert frames.shape == (5, 17)
    np.testing.assert_allclose(frames[0], start)
    np.testing.assert_allclose(frames[-1], end)
    assert frames[2, au_index(12)] == pytest.approx(0.5)
    grid = au.au_sweep(start, [12, 4], intensities=(0, 2.5, 5))
    assert grid.shape == (2, 3, 17)
    assert list(grid[0, :, au_index(12)]) == pytest.approx([0, 0.5, 1.0])
    assert np.all(grid[1, :, au_index(12)] == 0)
    with pytest.raises(UsageError, match="unknown expression 'smug'"):
        au.expression_aus("smug")
    with pytest.raises(UsageError, match="at least 2 steps"):
        au.interpolate_aus(start, end, 1)
    assert set(au.EXPRESSION_AUS["fear"]) <= set(AU_CODES)
