"""The one tf.data pipeline: determinism, flips, batching, both sampling modes, class balance, unpaired domains,
files, and distribution over two replicas."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from ccyclegan.data.pipeline import (
    class_balanced_dataset,
    file_dataset,
    image_dataset,
    steps_per_epoch,
    to_unit_range,
    unpaired_domains,
)
from tests.helpers import two_cpu_mirrored


def labelled_images(n, size=4):
    """Image i is filled with value i (so each image says which example it is), label i."""
    images = np.repeat(np.arange(n, dtype=np.uint8), size * size).reshape(n, size, size, 1)
    return images, np.arange(n, dtype=np.int64)


def take(ds, count):
    return [tuple(t.numpy() for t in batch) if isinstance(batch, tuple) else batch.numpy()
            for batch in ds.take(count)]


def pixel_ids(images):
    """Recover each example's index from an image normalised to [-1, 1]."""
    return np.rint((images.reshape(len(images), -1)[:, 0] + 1.0) * 127.5).astype(int)


def test_to_unit_range_and_steps_per_epoch():
    x = tf.constant([[0, 255, 51]], dtype=tf.uint8)
    np.testing.assert_allclose(to_unit_range(x).numpy(), [[-1.0, 1.0, 51 / 127.5 - 1]], rtol=1e-6)
    assert to_unit_range(tf.constant([0.5])).dtype == tf.float32
    assert steps_per_epoch(10, 4) == 2
    with pytest.raises(ValueError, match="no full batch"):
        steps_per_epoch(3, 4)
    with pytest.raises(ValueError, match="positive"):
        steps_per_epoch(3, 0)


def test_batches_are_float_unit_range_and_images_stay_with_their_labels():
    images, labels = labelled_images(12)
    for images_batch, labels_batch in take(image_dataset(images, labels, batch_size=4, seed=0), 6):
        assert images_batch.dtype == np.float32 and images_batch.shape == (4, 4, 4, 1)
        assert images_batch.min() >= -1.0 and images_batch.max() <= 1.0
        np.testing.assert_array_equal(pixel_ids(images_batch), labels_batch)


def test_same_seed_same_batches_and_another_seed_differs():
    images, labels = labelled_images(32, size=6)
    images[:, :, :3] = 0  # asymmetric, so flips show
    first = take(image_dataset(images, labels, batch_size=8, flip=True, seed=7), 6)
    again = take(image_dataset(images, labels, batch_size=8, flip=True, seed=7), 6)
    other = take(image_dataset(images, labels, batch_size=8, flip=True, seed=8), 6)
    for (a_images, a_labels), (b_images, b_labels) in zip(first, again):
        np.testing.assert_array_equal(a_images, b_images)
        np.testing.assert_array_equal(a_labels, b_labels)
    assert any(not np.array_equal(a[1], b[1]) for a, b in zip(first, other))


def test_epoch_sampling_visits_every_example_once_per_pass_in_a_fresh_order():
    images, labels = labelled_images(20)
    one_pass = take(image_dataset(images, labels, batch_size=5, repeat=False, seed=1), 10)
    seen = np.concatenate([batch[1] for batch in one_pass])
    assert sorted(seen.tolist()) == list(range(20))
    two_passes = np.concatenate([b[1] for b in take(image_dataset(images, labels, batch_size=5, seed=1), 8)])
    assert sorted(two_passes[:20].tolist()) == sorted(two_passes[20:].tolist()) == list(range(20))
    assert not np.array_equal(two_passes[:20], two_passes[20:])  # reshuffled each pass
    unshuffled = take(image_dataset(images, labels, batch_size=5, shuffle=False, repeat=False), 4)
    assert np.concatenate([b[1] for b in unshuffled]).tolist() == list(range(20))


def test_drop_remainder():
    images, labels = labelled_images(10)
    dropped = take(image_dataset(images, labels, batch_size=4, repeat=False), 10)
    kept = take(image_dataset(images, labels, batch_size=4, repeat=False, drop_remainder=False), 10)
    assert [len(b[1]) for b in dropped] == [4, 4]
    assert [len(b[1]) for b in kept] == [4, 4, 2]


def test_flips_mirror_about_half_of_the_images_and_nothing_else():
    images = np.zeros((64, 4, 4, 1), np.uint8)
    images[:, :, 2:] = 255  # dark left, bright right
    original, mirrored = to_unit_range(images[0]).numpy(), to_unit_range(images[0, :, ::-1]).numpy()
    flipped = image_dataset(images, batch_size=64, flip=True, shuffle=False, seed=3)
    batch = take(flipped, 1)[0]
    is_mirrored = [np.array_equal(image, mirrored) for image in batch]
    assert all(m or np.array_equal(image, original) for m, image in zip(is_mirrored, batch))
    assert 16 <= sum(is_mirrored) <= 48
    plain = take(image_dataset(images, batch_size=64, flip=False, shuffle=False), 1)[0]
    assert all(np.array_equal(image, original) for image in plain)


def test_replacement_sampling_draws_with_replacement_like_the_originals():
    images, labels = labelled_images(50)
    draws = np.concatenate([b[1] for b in take(image_dataset(images, labels, batch_size=10, sampling="replacement",
                                                             seed=2), 50)])
    assert draws.min() >= 0 and draws.max() < 50
    unique_in_first_pass = len(set(draws[:50].tolist())) / 50
    assert 0.45 < unique_in_first_pass < 0.8  # about 1 - 1/e = 63% are seen in an "epoch"
    assert len(set(draws.tolist())) == 50  # and over many draws every example comes up
    again = np.concatenate([b[1] for b in take(image_dataset(images, labels, batch_size=10, sampling="replacement",
                                                             seed=2), 50)])
    np.testing.assert_array_equal(draws, again)
    finite = take(image_dataset(images, labels, batch_size=10, sampling="replacement", repeat=False, seed=2), 99)
    assert sum(len(b[1]) for b in finite) == 50


def test_extra_arrays_travel_with_their_images():
    images, labels = labelled_images(8)
    aus = np.arange(8, dtype=np.float32)[:, None] * np.ones((1, 17), np.float32)
    for image, label, au in take(image_dataset(images, labels, batch_size=4, extra=(aus,), seed=5), 4):
        np.testing.assert_array_equal(au[:, 0], label)
        np.testing.assert_array_equal(pixel_ids(image), label)


def test_class_balanced_sampling_evens_out_a_rare_class():
    labels = np.array([0] * 90 + [1] * 5 + [2] * 5)
    images = (labels[:, None, None, None] * 100 * np.ones((1, 3, 3, 1))).astype(np.uint8)
    batches = take(class_balanced_dataset(images, labels, num_classes=3, batch_size=30, seed=0), 20)
    drawn = np.concatenate([b[1] for b in batches])
    fractions = np.bincount(drawn, minlength=3) / len(drawn)
    assert np.all(np.abs(fractions - 1 / 3) < 0.08), fractions
    for image, label in batches:
        np.testing.assert_array_equal(np.rint((image[:, 0, 0, 0] + 1) * 127.5), label * 100)
    again = take(class_balanced_dataset(images, labels, num_classes=3, batch_size=30, seed=0), 20)
    np.testing.assert_array_equal(drawn, np.concatenate([b[1] for b in again]))  # deterministic under the seed
    with pytest.raises(ValueError, match=r"classes \[2\] have no example"):
        class_balanced_dataset(images[:95], labels[:95], num_classes=3, batch_size=4)


def test_unpaired_domains_zip_two_independent_streams():
    domain_a = np.zeros((6, 4, 4, 1), np.uint8)
    domain_b = np.full((9, 4, 4, 1), 255, np.uint8)
    for a, b in take(unpaired_domains(domain_a, domain_b, batch_size=3, seed=0), 5):
        assert a.shape == b.shape == (3, 4, 4, 1)
        assert a.max() == -1.0 and b.min() == 1.0


def test_file_dataset_decodes_resizes_and_keeps_labels(tmp_path):
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        cv2.imwrite(str(path), np.full((20, 20), i * 40, np.uint8))
        paths.append(str(path))
    labels = np.arange(6)
    batches = take(file_dataset(paths, labels, size=8, channels=1, batch_size=3, seed=0, repeat=False), 5)
    assert len(batches) == 2
    for images, batch_labels in batches:
        assert images.shape == (3, 8, 8, 1) and images.dtype == np.float32
        np.testing.assert_array_equal(pixel_ids(images), batch_labels * 40)
    rgb = take(file_dataset(paths, size=5, channels=3, batch_size=2, shuffle=False, repeat=False), 1)[0]
    assert rgb.shape == (2, 5, 5, 3)


def test_every_pipeline_runs_without_the_autotuner_whose_sleep_stalled_each_epochs_end(tmp_path):
    """The loop drops an iterator every epoch; with tf.data's autotuner on, that waited for its sleeping thread
    (25-60 s per epoch in an AU run, bench/bench_pipeline.py). The prefetch stays, with a fixed buffer."""
    images, labels = labelled_images(8)
    path = tmp_path / "0.png"
    cv2.imwrite(str(path), np.zeros((4, 4), np.uint8))
    pipelines = {
        "image_dataset": image_dataset(images, labels, batch_size=2, repeat=False),
        "image_dataset, replacement": image_dataset(images, labels, batch_size=2, sampling="replacement"),
        "class_balanced_dataset": class_balanced_dataset(images, labels % 2, num_classes=2, batch_size=2),
        "unpaired_domains": unpaired_domains(images, images, batch_size=2),
        "file_dataset": file_dataset([str(path)] * 2, size=4, channels=1, batch_size=2),
    }
    for name, dataset in pipelines.items():
        assert dataset.options().autotune.enabled is False, name
        # what a trainer maps on top (CycleGAN's crops) keeps the setting
        assert dataset.map(lambda *batch: batch).options().autotune.enabled is False, name
        assert len(take(dataset, 2)) == 2, name


def test_bad_arguments_are_explained():
    images, labels = labelled_images(4)
    with pytest.raises(ValueError, match=r"\(N, H, W, C\)"):
        image_dataset(images[..., 0], batch_size=2)
    with pytest.raises(ValueError, match="4 images but 3 labels"):
        image_dataset(images, labels[:3], batch_size=2)
    with pytest.raises(ValueError, match="sampling must be one of"):
        image_dataset(images, batch_size=2, sampling="bootstrap")
    with pytest.raises(ValueError, match="extra array of length 2"):
        image_dataset(images, batch_size=2, extra=(np.zeros(2),))
    with pytest.raises(ValueError, match="no images"):
        image_dataset(images[:0], batch_size=2)
    with pytest.raises(ValueError, match="no image files"):
        file_dataset([], size=4, channels=1, batch_size=2)


def test_mirrored_strategy_splits_each_global_batch_over_two_replicas():
    strategy = two_cpu_mirrored()
    images, labels = labelled_images(32)
    expected = take(image_dataset(images, labels, batch_size=8, seed=4), 2)
    distributed = strategy.experimental_distribute_dataset(image_dataset(images, labels, batch_size=8, seed=4))

    @tf.function
    def label_sum(batch_images, batch_labels):
        return tf.reduce_sum(batch_labels) + tf.cast(tf.reduce_sum(batch_images) * 0, tf.int64)

    for (batch_images, batch_labels), (_, expected_labels) in zip(distributed, expected):
        per_replica = strategy.experimental_local_results(batch_labels)
        assert [len(part) for part in per_replica] == [4, 4]
        np.testing.assert_array_equal(np.concatenate([p.numpy() for p in per_replica]), expected_labels)
        total = strategy.reduce(tf.distribute.ReduceOp.SUM,
                                strategy.run(label_sum, args=(batch_images, batch_labels)), axis=None)
        assert int(total) == int(expected_labels.sum())
        break


def test_faces_and_aus_are_checked_against_the_networks_shape_and_range():
    from ccyclegan.data.pipeline import check_faces_and_aus

    faces, aus = np.zeros((3, 16, 16, 3), np.uint8), np.full((3, 17), 0.5)
    checked_faces, checked_aus = check_faces_and_aus(faces, aus, (16, 16, 3), 17, au_max=1.0)
    assert checked_aus.dtype == np.float32 and checked_faces.shape == (3, 16, 16, 3)
    with pytest.raises(ValueError, match="the networks take 32x32x3 faces"):
        check_faces_and_aus(faces, aus, (32, 32, 3), 17)
    with pytest.raises(ValueError, match=r"3 faces need AU vectors of shape \(3, 17\), got \(3, 5\)"):
        check_faces_and_aus(faces, aus[:, :5], (16, 16, 3), 17)
    with pytest.raises(ValueError, match=r"must lie in 0..1 \(model units\); got 0.5..5"):
        check_faces_and_aus(faces, np.where(np.arange(17) == 0, 5.0, 0.5) * np.ones((3, 1)), (16, 16, 3), 17,
                            au_max=1.0, au_units="model units")
