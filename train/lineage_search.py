"""T27: the original's hyper-parameter search, scored by the Frechet distance of the translations per target class.

Each configuration of the grid (by default the original's: G adversarial weight {1, 2} x G class weight {1, 2} x
learning rate {2e-4, 1e-4}, in `itertools.product` order) is a T26 run of its own. When it ends, held-out faces of
every class other than i are translated to class i and compared with held-out real faces of class i, for each i:
the distance between Gaussians fitted to their features (`ccyclegan.metrics.frechet_distance`). The features are
InceptionV3's pool layer from a local ImageNet weights file (`--fid-weights`, never downloaded), or else the
penultimate layer of a trained judge (`--judge`); the report names which. Neither is comparable to published FIDs
(the original used a TF1 Inception graph with its own resize). The whole table goes to `search.csv`; the
configuration with the lowest mean distance over the classes wins (the original chose by hand).

Differences from the original (docs/lineage.md): scored once at the end of each run instead of after every epoch;
sources exclude the target class (the original's could include it, a reconstruction rather than a translation);
faces come from PublicTest, which is not trained on (the original's "test" faces were in its training pool);
every face requested is used (the original's batching dropped N mod 64).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np

from ccyclegan.atomic import atomic_output
from ccyclegan.errors import UsageError

ORIGINAL_GRID = {"g_gan_loss_w": (1, 2), "g_cl_loss_w": (1, 2), "adam_lr": (2e-4, 1e-4)}
FIXED_COLUMNS = ("d_gan_loss_w", "d_cl_loss_w", "g_gan_loss_w", "g_cl_loss_w", "rec_loss_w", "adam_lr")
NOT_COMPARABLE = ("Frechet distances on this library's features: not comparable to published FIDs (the original "
                  "used the TF1 Inception graph 'pool_3' with its own 299-px resize)")


def grid_configs(base, grid: dict | None = None) -> list:
    """The configurations of `grid` (name -> values) over `base`, the last name varying fastest."""
    grid = ORIGINAL_GRID if grid is None else grid
    names = list(grid)
    unknown = [n for n in names if n not in {f.name for f in dataclasses.fields(base)}]
    if unknown:
        raise UsageError(f"the search grid names {', '.join(unknown)}, which are not CCycleGAN settings")
    if not names or any(len(grid[n]) == 0 for n in names):
        raise UsageError("the search grid needs at least one value for every name")
    return [dataclasses.replace(base, **dict(zip(names, values))) for values in itertools.product(*grid.values())]


def feature_extractor(fid_weights: str | None, judge_path: str | None, image_shape):
    """(features(images) -> (N, D), description): InceptionV3 from a local file, else the judge's penultimate
    layer; without either, a usage error that says how to get one."""
    from models.classifier import extract_features, inception_feature_extractor, judge_feature_extractor, load_judge

    if fid_weights:
        model = inception_feature_extractor(fid_weights, input_shape=tuple(image_shape))
        return (lambda images: extract_features(model, images)), f"InceptionV3 pool (2048-d) from {fid_weights}"
    if judge_path:
        model = judge_feature_extractor(load_judge(judge_path).model)
        if tuple(model.input_shape[1:]) != tuple(image_shape):
            raise UsageError(f"{judge_path}: the judge takes {tuple(model.input_shape[1:])} images, the data are "
                             f"{tuple(image_shape)}")
        return ((lambda images: extract_features(model, images)),
                f"the judge's penultimate layer ({model.output_shape[-1]}-d) of {judge_path}")
    raise UsageError("the search scores translations by a Frechet distance: give --fid-weights (a local InceptionV3 "
                     "no-top weights file) or --judge (a classifier trained with `--family classifier`)")


def class_distances(generator, images: np.ndarray, labels: np.ndarray, features, n: int, seed: int,
                    num_classes: int) -> list[float]:
    """Per target class i: the Frechet distance between up to n faces of other classes translated to i and up to
    n real faces of class i (held-out uint8 images); NaN for a class with fewer than 2 faces of either kind."""
    from ccyclegan.data.pipeline import unit_range_array
    from train.ccyclegan_use import translate_batch

    rng = np.random.default_rng(seed)
    real_features = {}
    distances = []
    for target in range(num_classes):
        reals = np.flatnonzero(labels == target)
        sources = np.flatnonzero(labels != target)
        if len(reals) < 2 or len(sources) < 2:
            distances.append(float("nan"))
            continue
        reals = rng.choice(reals, min(n, len(reals)), replace=False)
        sources = rng.choice(sources, min(n, len(sources)), replace=False)
        fakes, _ = translate_batch(generator, unit_range_array(images[sources]), np.full(len(sources), target))
        if target not in real_features:
            real_features[target] = features(images[reals])
        from ccyclegan.metrics import frechet_distance

        distances.append(frechet_distance(features(fakes), real_features[target]))
    return distances


def search(base, train_images, train_labels, held_images, held_labels, out: Path, *, features, extractor: str,
           grid: dict | None = None, max_steps: int | None = None, fid_n: int = 1000, context: dict | None = None,
           resume: bool = False) -> dict:
    """Train every configuration of the grid into out/<i>, score it, write out/search.csv and out/search.json.

    Returns {"rows": [...], "winner": row, "extractor": ...}. A configuration already scored in search.csv (same
    settings) is kept, so an interrupted search continues where it stopped when run again with `resume`.
    """
    from train.ccyclegan import train

    configs = grid_configs(base, grid)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "search.csv"
    class_columns = [f"lab{i}_FID" for i in range(base.num_classes)]
    columns = [*FIXED_COLUMNS, "steps", *class_columns, "mean_FID"]
    rows = _read_rows(table_path) if resume else []
    for index, config in enumerate(configs):
        settings = {name: getattr(config, name) for name in FIXED_COLUMNS}
        if any(_same_settings(row, settings) for row in rows):
            continue
        print(f">>> search {index + 1}/{len(configs)}: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
              flush=True)
        run_dir = out / f"config_{index}"
        trainer, summary = train(config, train_images, train_labels, run_dir, max_steps=max_steps,
                                 resume=resume and run_dir.exists(), context={**(context or {}), "search": index})
        distances = class_distances(trainer.translator(), held_images, held_labels, features, fid_n,
                                    config.seed, config.num_classes)
        row = {**settings, "steps": summary["steps"], **dict(zip(class_columns, distances)),
               "mean_FID": float(np.nanmean(distances))}
        print("    " + " ".join(f"{i}:{d:.3f}" for i, d in enumerate(distances)) + f"  mean {row['mean_FID']:.3f}",
              flush=True)
        rows.append(row)
        _write_rows(table_path, columns, rows)
    scored = [row for row in rows if np.isfinite(float(row["mean_FID"]))]
    if not scored:
        raise UsageError(f"no configuration of the search could be scored (every Frechet distance is NaN; see "
                         f"{table_path}): give more held-out faces per class (--eval-n) or longer runs")
    winner = min(scored, key=lambda r: float(r["mean_FID"]))
    report = {"winner": winner, "extractor": extractor, "note": NOT_COMPARABLE, "table": str(table_path),
              "configurations": len(rows)}
    with atomic_output(out / "search.json") as temporary:
        temporary.write_text(json.dumps(report, indent=2, default=float))
    print("best: " + ", ".join(f"{k}={winner[k]}" for k in ("g_gan_loss_w", "g_cl_loss_w", "rec_loss_w", "adam_lr"))
          + f" (mean Frechet distance {float(winner['mean_FID']):.3f}; features: {extractor})")
    print(NOT_COMPARABLE)
    return {"rows": rows, **report}


def _same_settings(row: dict, settings: dict) -> bool:
    return all(np.isclose(float(row[k]), float(v)) for k, v in settings.items())


def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _write_rows(path: Path, columns, rows) -> None:
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def search_command(args: argparse.Namespace, base) -> dict:
    """`python train.py --experiment T27 [--judge PATH | --fid-weights FILE]`: the original's grid (each run
    -epochs long, or --max-steps), scored on PublicTest (--eval-n faces per class)."""
    from ccyclegan.cli import default_run_dir
    from ccyclegan.data.sources import load_fer_source

    if getattr(args, "time_limit", None) is not None:
        raise UsageError("--time-limit: T27's search trains its configurations one after another and compares them "
                         "at the same length; give each one --max-steps or -epochs instead")
    if getattr(args, "strategy", "default") != "default" or getattr(args, "evaluate_after", False):
        raise UsageError("T27's search trains its configurations one after another on one device and scores each "
                         "by the Frechet distance itself: drop --strategy and --evaluate-after")
    source = load_fer_source(args.dataset, args.data, synthetic_n=args.synthetic_n, seed=args.seed,
                             merge_test_into_train=args.use_test_in_train)
    fer = source.data
    features, extractor = feature_extractor(args.fid_weights, args.judge, fer.train.images.shape[1:])
    print(f"features for the Frechet distance: {extractor}")
    out = Path(args.out) if args.out else default_run_dir("ccyclegan", args.experiment or "search")
    return search(base, fer.train.images, fer.train.labels, fer.public_test.images, fer.public_test.labels, out,
                  features=features, extractor=extractor, max_steps=args.max_steps, fid_n=args.eval_n,
                  context={"dataset": args.dataset, "data": str(source.csv_path)}, resume=args.resume)
