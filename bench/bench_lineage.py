"""The CCycleGAN lineage results table: each experiment trained at one fixed budget on the synthetic FER-format data.

Every experiment gets the same number of iterations, batch size and widths (its other settings are its own: losses,
where the label enters, d_g_ratio, ...), then translates the same held-out PrivateTest faces to every other class
(T4: between its two classes only). Reported per experiment: transfer accuracy by the default judge (a classifier
trained here on real synthetic faces, or --judge), the ground-truth L1 error of the translations beside the two
baselines (the input unchanged, the target class's mean face) and their ratio to the unchanged baseline,
the reconstruction L1 (each experiment's own: the true cycle G(y, G(t, x)) for T1-T16, G_dec(z, y) from T17),
and seconds per iteration after the first 10 (with its ratio to T26's, measured in the same run).

    python bench/bench_lineage.py --out /work/runs/lineage/bench            # the 13 ids of the README table
    python bench/bench_lineage.py --out runs/bench-lineage --ids T1,T26 --steps 50   # a quick look

Each finished experiment is kept in <out>/results.json; running the same command again continues with the rest.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.machine import describe_machine  # noqa: E402

WARM_UP = 10  # iterations left out of the time per iteration (tracing; T26's first G turn comes at batch 0, 5, ..)
DEFAULT_IDS = ("T1", "T3", "T4", "T5", "T11", "T17", "T18", "T20", "T21", "T22", "T24", "T25", "T26")


def resolved_config(experiment: str):
    """The experiment's CCycleGANConfig exactly as `python train.py --experiment <id>` resolves it."""
    import importlib.util

    from train.ccyclegan_cli import config_from_args
    from train.experiments import experiment_settings

    spec = importlib.util.spec_from_file_location("train_script", Path(__file__).resolve().parents[1] / "train.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    parser = script.build_parser("ccyclegan")
    parser.set_defaults(**experiment_settings(experiment))
    return config_from_args(parser.parse_args([]))


def default_judge(source, folder: Path, width: int, epochs: int, seed: int):
    """The library's default judge (models.classifier.build_judge) trained on the real synthetic training faces."""
    import keras

    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.labels import FER_CLASSES
    from models.classifier import build_judge, load_judge, save_judge

    if (folder / "classifier.keras").exists():
        return load_judge(folder)
    keras.utils.set_random_seed(seed)
    train, held = source.data.train, source.data.public_test
    model = build_judge(input_shape=train.images.shape[1:], width=width)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(unit_range_array(train.images), train.labels, batch_size=64, epochs=epochs, verbose=2,
              validation_data=(unit_range_array(held.images), held.labels))
    folder.mkdir(parents=True, exist_ok=True)
    save_judge(model, folder, "expression", FER_CLASSES, arch="judge", width=width, epochs=epochs)
    return load_judge(folder)


def evaluation_set(source, n: int, seed: int, domains=None):
    """(images uint8, labels, records) of n PrivateTest faces (T4: only faces of its two classes)."""
    split = source.data.private_test
    records = source.split_records("private_test")
    index = np.arange(len(split.labels))
    if domains is not None:
        index = index[np.isin(split.labels, domains)]
    chosen = np.sort(np.random.default_rng(seed).choice(index, min(n, len(index)), replace=False))
    return split.images[chosen], split.labels[chosen], [records[i] for i in chosen]


def translators(trainer):
    """(translate(images, targets), reconstruct(images, labels, targets)) of a trained run, images in [-1, 1]."""
    from train.ccyclegan import LineageUNetTrainer
    from train.ccyclegan_use import translate_batch

    if isinstance(trainer, LineageUNetTrainer):
        return trainer.translate, trainer.reconstruct
    generator = trainer.translator()
    return (lambda images, targets: translate_batch(generator, images, targets)[0],
            lambda images, labels, targets: translate_batch(generator, images, labels)[0])


def evaluate(trainer, config, source, judge, class_means, n: int, seed: int) -> dict:
    from ccyclegan import metrics
    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.data.synthetic import ground_truth_errors
    from train.ccyclegan import other_classes_table

    cyclegan = config.architecture == "cyclegan"
    images, labels, records = evaluation_set(source, n, seed, config.domains if cyclegan else None)
    sources = unit_range_array(images)
    if cyclegan:  # T4 translates A <-> B only
        a, b = config.domains
        targets, index = np.where(labels == a, b, a), np.arange(len(labels))
    else:
        others = other_classes_table(config.num_classes)[labels]
        index, targets = np.repeat(np.arange(len(labels)), others.shape[1]), others.reshape(-1)
    if config.channels == 3:
        sources = np.repeat(sources, 3, axis=-1)
    translate, reconstruct = translators(trainer)
    fakes = translate(sources[index], targets)
    reconstructions = reconstruct(sources[index], labels[index], targets)
    if config.channels == 3:  # judged and compared in gray, as the faces are
        fakes, reconstructions, sources = fakes.mean(-1, keepdims=True), reconstructions.mean(-1, keepdims=True), \
            sources[..., :1]
    transfer = metrics.transfer_report(judge.scores(sources), labels, judge.scores(fakes), targets)
    truth = ground_truth_errors(fakes, [records[i] for i in index], targets, class_mean_faces=class_means)
    return {"transfer_accuracy": transfer["transfer_accuracy"], "judge_real_accuracy": transfer["judge_real_accuracy"],
            "gt_translation": truth["translation"], "gt_unchanged": truth["unchanged"],
            "gt_class_mean": truth["class_mean"], "reconstruction_l1": metrics.reconstruction_l1(
                sources[index], reconstructions), "translations": int(len(targets))}


def run_experiment(experiment: str, args, source, judge, class_means) -> dict:
    import tensorflow as tf

    from train.ccyclegan import train

    config = dataclasses.replace(resolved_config(experiment), gf=args.width, df=args.width,
                                 batch_size=args.batch_size, sample_interval=0, log_style="quiet", seed=args.seed,
                                 frozen_classifier=None, frozen_cl_loss_w=0)
    data = source.data
    if (args.out / experiment).exists():  # an interrupted earlier attempt: start this experiment again
        import shutil

        shutil.rmtree(args.out / experiment)
    tf.keras.backend.clear_session()
    step_starts = []

    def timed(make):  # the start time of every iteration, to leave tracing and warm-up out of s / iteration
        def make_timed(*a, **k):
            trainer = make(*a, **k)
            step = trainer.train_step

            def train_step(*args_, **kwargs):
                step_starts.append(time.perf_counter())
                return step(*args_, **kwargs)

            trainer.train_step = train_step
            return trainer
        return make_timed

    import train.ccyclegan as family

    original = family.make_trainer
    family.make_trainer = timed(original)
    started = time.perf_counter()
    try:
        trainer, summary = train(config, data.train.images, data.train.labels, args.out / experiment,
                                 max_steps=args.steps, context={"bench": "bench_lineage", "experiment": experiment})
    finally:
        family.make_trainer = original
    seconds = time.perf_counter() - started
    warm = min(WARM_UP, len(step_starts) - 2)
    row = {"id": experiment, "steps": summary["steps"], "seconds": seconds,
           "seconds_per_iteration": (step_starts[-1] - step_starts[warm]) / (len(step_starts) - 1 - warm)}
    row.update(evaluate(trainer, config, source, judge, class_means, args.eval_n, args.seed))
    return row


def picture(out: Path, ids, source, path: Path, faces: int = 1) -> Path:
    """One row per experiment: the same PrivateTest face(s) (a Neutral one, then a Happy one) translated to every other class by each finished run
    (T4: to its other class only), under the true translations of the synthetic data."""
    import keras

    import models.ccyclegan  # noqa: F401  (registers the custom layers)
    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.data.synthetic import true_translations
    from ccyclegan.labels import FER_CLASSES
    from ccyclegan.viz import rows_grid, save_png
    from train.ccyclegan import other_classes_table
    from train.ccyclegan_use import translate_batch

    split = source.data.private_test
    records = source.split_records("private_test")
    chosen = [int(np.flatnonzero(split.labels == label)[0]) for label in (6, 3)][:faces]  # a Neutral, a Happy face
    rows, titles, row_titles = [], [], []
    for index in chosen:
        label = int(split.labels[index])
        targets = other_classes_table(len(FER_CLASSES))[label]
        image = unit_range_array(split.images[index:index + 1])
        truth = unit_range_array(true_translations([records[index]] * len(targets), targets, size=image.shape[1],
                                                   channels=1))
        rows.append([image[0], *truth])
        titles.append([f"{FER_CLASSES[label]} (input)"] + [f"true {FER_CLASSES[t]}" for t in targets])
        row_titles.append("truth")
        for experiment in ids:
            folder = out / experiment
            if (folder / "G_AB.keras").exists():  # T4: only its other domain
                a, b = 6, 3
                name = "G_AB.keras" if label == a else "G_BA.keras"
                fake = keras.saving.load_model(folder / name, compile=False)(image).numpy()[0]
                other = b if label == a else a
                rows.append([None, *[fake if t == other else None for t in targets]])
            elif (folder / "generator.keras").exists():
                generator = keras.saving.load_model(folder / "generator.keras", compile=False)
                if hasattr(generator, "translate_with_attention"):
                    fakes = translate_batch(generator, np.repeat(image, len(targets), 0), targets)[0]
                else:  # T1-T16: G([label, image]); T6-T9 take the gray face as RGB
                    sources = np.repeat(image, len(targets), 0)
                    sources = np.repeat(sources, generator.inputs[1].shape[-1], axis=-1)
                    fakes = generator([keras.ops.convert_to_tensor(targets.reshape(-1, 1).astype(np.int32)),
                                       keras.ops.convert_to_tensor(sources)]).numpy()
                if fakes.shape[-1] == 3:
                    fakes = fakes.mean(-1, keepdims=True)
                rows.append([None, *fakes])
            else:
                continue
            titles.append([None] * (len(targets) + 1))
            row_titles.append(experiment)
    return save_png(rows_grid(rows, panel_titles=titles, row_titles=row_titles), path)


def table(rows: list[dict], baseline: str = "T26") -> str:
    base = next((r["seconds_per_iteration"] for r in rows if r["id"] == baseline), None)
    lines = ["| id | transfer (judge) | GT L1 | unchanged | class mean | GT / unchanged | reconstruction L1 | "
             "s / iteration | vs T26 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['seconds_per_iteration'] / base:.2f}x" if base else "-"
        lines.append(f"| {r['id']} | {100 * r['transfer_accuracy']:.1f}% | {r['gt_translation']:.4f} | "
                     f"{r['gt_unchanged']:.4f} | {r['gt_class_mean']:.4f} | "
                     f"{r['gt_translation'] / r['gt_unchanged']:.2f} | {r['reconstruction_l1']:.4f} | "
                     f"{r['seconds_per_iteration']:.3f} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs, the judge and results.json")
    parser.add_argument("--ids", default=",".join(DEFAULT_IDS), help="comma-separated experiment ids")
    parser.add_argument("--steps", type=int, default=500, help="iterations per experiment (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="(default: %(default)s)")
    parser.add_argument("--width", type=int, default=16, help="gf = df for every experiment (default: %(default)s)")
    parser.add_argument("--eval-n", type=int, default=150, help="PrivateTest faces translated (default: %(default)s)")
    parser.add_argument("--synthetic-n", type=int, default=6000, help="synthetic faces (default: %(default)s)")
    parser.add_argument("--judge", default=None, help="a trained judge (default: train the default judge here)")
    parser.add_argument("--judge-width", type=int, default=16)
    parser.add_argument("--judge-epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--picture", type=Path, default=None,
                        help="also draw the finished runs' translations of a PrivateTest face into this PNG")
    parser.add_argument("--picture-only", action="store_true", help="only draw --picture from the finished runs")
    args = parser.parse_args(argv)
    ids = [i.strip() for i in args.ids.split(",") if i.strip()]
    from train.experiments import find_experiment

    for experiment in ids:
        find_experiment(experiment)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe_machine()}; TF threads: intra {os.environ.get('TF_NUM_INTRAOP_THREADS', 'default')}")
    print(f"budget per experiment: {args.steps} iterations at batch {args.batch_size}, gf = df = {args.width}, "
          f"48x48 gray synthetic faces ({args.synthetic_n}), evaluation on {args.eval_n} PrivateTest faces",
          flush=True)

    from ccyclegan.data.sources import load_fer_source
    from ccyclegan.data.synthetic import mean_faces_by_class
    from models.classifier import load_judge

    source = load_fer_source("synthetic", args.out / "data", synthetic_n=args.synthetic_n, seed=args.seed)
    if args.picture_only:
        print(picture(args.out, ids, source, args.picture))
        return 0
    judge = load_judge(args.judge) if args.judge else default_judge(source, args.out / "judge", args.judge_width,
                                                                       args.judge_epochs, args.seed)
    class_means = mean_faces_by_class(source.data.train.images, source.data.train.labels)
    results_path = args.out / "results.json"
    rows = json.loads(results_path.read_text()) if results_path.exists() else []
    done = {r["id"] for r in rows}
    for experiment in ids:
        if experiment in done:
            continue
        print(f"--- {experiment}", flush=True)
        row = run_experiment(experiment, args, source, judge, class_means)
        rows.append(row)
        results_path.write_text(json.dumps(rows, indent=2))
        print(json.dumps(row), flush=True)
    rows = [r for i in ids for r in rows if r["id"] == i]
    text = table(rows)
    (args.out / "results.md").write_text(text + "\n")
    print(text)
    if args.picture:
        print(picture(args.out, ids, source, args.picture))
    return 0


if __name__ == "__main__":
    sys.exit(main())
