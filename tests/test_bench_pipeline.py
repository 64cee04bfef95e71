"""bench/bench_pipeline.py reads the time a run lost at its epochs' ends from its own logs."""

import pytest
import tensorflow as tf

from bench.bench_pipeline import epoch_end_costs


def write_run(folder, walls_by_step, epoch_of_step):
    """A run folder as the loop writes it: the CSV log (0-based step index) and TensorBoard events (steps done)."""
    (folder / "tensorboard").mkdir(parents=True)
    rows = ["step,epoch,batch,reconstr_loss"] + [f"{step - 1},{epoch_of_step[step]},0,0.5" for step in walls_by_step]
    (folder / "train_log.csv").write_text("\n".join(rows) + "\n")
    with tf.io.TFRecordWriter(str(folder / "tensorboard" / "events.out.tfevents.0.test")) as writer:
        for step, wall in walls_by_step.items():
            value = tf.compat.v1.Summary.Value(tag="loss/reconstr_loss", simple_value=0.5)
            event = tf.compat.v1.Event(wall_time=wall, step=step, summary=tf.compat.v1.Summary(value=[value]))
            writer.write(event.SerializeToString())


def test_the_gaps_at_epochs_ends_beyond_the_median_step_are_the_time_lost(tmp_path):
    walls, epochs, clock = {}, {}, 0.0
    for step in range(1, 16):  # three epochs of five steps, 1 s a step, 10 s more at each epoch's first step
        epoch = (step - 1) // 5
        clock += 11.0 if step > 1 and (step - 1) % 5 == 0 else 1.0
        walls[step], epochs[step] = clock, epoch
    write_run(tmp_path / "run", walls, epochs)
    costs = epoch_end_costs(tmp_path / "run", None)
    assert costs["epoch_ends"] == 2 and costs["median_step"] == pytest.approx(1.0)
    assert costs["median_epoch_end"] == pytest.approx(10.0) and costs["lost"] == pytest.approx(20.0)
    assert costs["share_lost"] == pytest.approx(20.0 / (walls[15] - walls[1]))


def test_a_run_without_events_or_with_another_tag_is_explained(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="no TensorBoard events"):
        epoch_end_costs(tmp_path / "empty", None)
    write_run(tmp_path / "run", {1: 0.0, 2: 1.0, 3: 2.0}, {1: 0, 2: 0, 3: 0})
    with pytest.raises(SystemExit, match="'d_gan_loss'; pass another --tag"):
        epoch_end_costs(tmp_path / "run", "d_gan_loss")
    (tmp_path / "run" / "train_log.csv").unlink()
    with pytest.raises(SystemExit, match="no train_log.csv"):
        epoch_end_costs(tmp_path / "run", None)
