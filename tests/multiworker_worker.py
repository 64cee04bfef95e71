"""One process of tests/test_multiworker.py: a few CCycleGAN training steps on one fixed global batch.

Run as `python tests/multiworker_worker.py --strategy multi-worker --out W.npz --run-dir DIR` once per worker (each
with its own TF_CONFIG), or with `--strategy default` for the single-process reference. It writes the trained
weights, the images this process trained on, and what it found out about chief and run folders into W.npz.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

GLOBAL_BATCH = 8
# batch_index 0 and 5 run the fused D-then-G step, 1 only a D step (d_g_ratio is 5): both step functions are covered.
BATCH_INDICES = (0, 1, 5)


def global_batch_dataset(tf):
    """The test's one global batch of 8 striped faces, sharded by element across workers (see the comment)."""
    from tests.helpers import striped_faces

    images, labels = striped_faces(GLOBAL_BATCH)
    x, y = tf.constant(images, tf.float32) / 127.5 - 1.0, tf.constant(labels, tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    # Under MultiWorkerMirroredStrategy, experimental_distribute_dataset splits each global batch of 8 into one
    # batch of 4 per replica and then shards by worker. With the DATA policy, worker i keeps the i-th piece of every
    # global batch, so the two workers together train on exactly the 8 images of the single process (worker 0 on
    # images 0-3, worker 1 on 4-7, as MirroredStrategy splits them). AUTO would first try to shard by input file;
    # an in-memory dataset has none, so it falls back to DATA with a warning. OFF gives every worker the whole
    # stream of pieces: both workers then train on images 0-3 (checked), and 4-7 never reach a replica.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def named_weights(trainer) -> dict:
    """Every weight of D ("D/i") and of G's encoder and decoder ("G/i") as numpy arrays, in model order."""
    import numpy as np

    weights = {f"D/{i}": np.array(v) for i, v in enumerate(trainer.discriminator.weights)}
    generator = trainer.encoder.weights + trainer.decoder.weights
    weights.update({f"G/{i}": np.array(v) for i, v in enumerate(generator)})
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strategy", choices=("default", "multi-worker"), required=True)
    parser.add_argument("--out", type=Path, required=True, help=".npz to write")
    parser.add_argument("--run-dir", type=Path, required=True, help="the run folder only the chief may write")
    args = parser.parse_args()

    from ccyclegan.distribute import is_chief, make_strategy, remove_worker_dir, writable_run_dir

    strategy = make_strategy(args.strategy)  # first: collective ops must be set up before TensorFlow starts

    import numpy as np
    import tensorflow as tf

    from train.ccyclegan import CCycleGANConfig, CCycleGANTrainer

    trainer = CCycleGANTrainer(CCycleGANConfig(gf=8, df=8, batch_size=GLOBAL_BATCH, seed=3), strategy)
    initial = {f"initial/{name}": value for name, value in named_weights(trainer).items()}
    images, labels = next(iter(strategy.experimental_distribute_dataset(global_batch_dataset(tf))))
    for batch_index in BATCH_INDICES:
        trainer.train_step((images, labels), epoch=0, batch_index=batch_index)

    # Saving is collective: every worker saves, the non-chief ones into a temp folder they delete afterwards.
    write_dir = writable_run_dir(args.run_dir, strategy)
    try:
        checkpoint = tf.train.Checkpoint(**trainer.trackables)
        tf.train.CheckpointManager(checkpoint, write_dir / "checkpoints", max_to_keep=1).save()
    finally:
        remove_worker_dir(write_dir, strategy)

    local_images = np.concatenate([np.asarray(t) for t in strategy.experimental_local_results(images)])
    np.savez(args.out, **named_weights(trainer), **initial, local_images=local_images, is_chief=is_chief(strategy),
             write_dir=str(write_dir), write_dir_exists=write_dir.exists(),
             replicas=strategy.num_replicas_in_sync)


if __name__ == "__main__":
    main()
