"""Using a trained CCycleGAN: `translate` faces to an expression, and `evaluate` a generator on a held-out split.

evaluate reports the transfer accuracy of the translations as judged by a classifier (or, without one, by the
discriminator's own class head, labelled as such), the judge's accuracy on the real images beside it, the
reconstruction L1, and on synthetic data the ground-truth error of the translations next to two baselines: the
input unchanged, and the mean face of the target class.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ccyclegan import metrics
from ccyclegan.data.pipeline import unit_range_array
from ccyclegan.errors import UsageError
from ccyclegan.labels import FER_CLASSES, class_index
from ccyclegan.viz import image_grid, mask_panel, save_png
from train.ccyclegan import other_classes_table

PICTURE_ROWS = 4  # source faces shown in the evaluation picture
SPLITS = ("public_test", "private_test")


@dataclass
class TranslateSettings:
    """What `translate` needs: everything the command line's translate mode does, from Python."""

    model: str  # a run folder or its generator.keras
    input: str  # an image, a folder of images, or a FER2013-format CSV
    target: str = "all"  # a class name or index, or "all" for a grid of every other class
    output: str | None = None  # default: <run folder>/translations
    detect: bool = True  # find and crop the face in photos (False: they are cropped faces already)
    limit: int = 1000  # at most this many inputs

    def __post_init__(self):
        if self.limit < 1:
            raise UsageError(f"the number of inputs (--eval-n) must be >= 1, got {self.limit}")


@dataclass
class EvaluateSettings:
    """What `evaluate` needs: everything the command line's evaluate mode does, from Python."""

    model: str
    dataset: str = "fer2013"
    data: str | None = None
    synthetic_n: int | None = None  # synthetic data rendered on first use: None = the source's default
    seed: int = 0
    split: str = "private_test"
    eval_n: int = 1000  # held-out faces, each translated to every other class
    judge: str | None = None  # a classifier .keras; None: the discriminator's class head, labelled as such
    output: str | None = None  # default: the run folder

    def __post_init__(self):
        if self.eval_n < 1:
            raise UsageError(f"--eval-n must be >= 1, got {self.eval_n}")
        if self.split not in SPLITS:
            raise UsageError(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")


def load_generator(path: str | Path) -> keras.Model:
    """An exported generator: the .keras file, a finished run folder (its generator.keras), or a run folder still
    training or stopped early (rebuilt from its config.json and latest checkpoint)."""
    import models.ccyclegan  # noqa: F401  (registers the custom layers for deserialisation)
    from ccyclegan.modelio import load_keras_model
    from ccyclegan.run import CONFIG_FILE, checkpoint_steps

    path = Path(path)
    file = path / "generator.keras" if path.is_dir() else path
    if file.exists():
        return load_keras_model(file, "generator", check=_not_a_generator, hint=GENERATOR_HINT)
    if path.is_dir() and (path / CONFIG_FILE).exists() and checkpoint_steps(path / "checkpoints"):
        return _trainer_from_checkpoint(path).translator()
    raise FileNotFoundError(f"{file}: no exported generator here; a `python train.py` run writes generator.keras "
                            f"into its --out folder when it ends, and checkpoints while it runs")


GENERATOR_HINT = "a CCycleGAN run folder or its generator.keras"


def _not_a_generator(model) -> str | None:
    """Why `model` is not a CCycleGAN generator (None when it is)."""
    if hasattr(model, "translate_with_attention"):
        return None
    if model.name in ("G", "G_AB", "G_BA"):  # the lineage's T1-T16 exports (docs/lineage.md)
        return (f"is the U-Net generator {model.name!r} of a T1-T16 run ([label, image] -> image), which translate "
                f"and evaluate do not take; bench/bench_lineage.py evaluates those runs")
    return f"is a {type(model).__name__} named {model.name!r}, not an exported CCycleGAN generator"


def _trainer_from_checkpoint(run_dir: Path):
    """The networks of a run folder at its latest checkpoint (no optimizer state)."""
    from ccyclegan.run import read_config, restore_networks
    from train.ccyclegan import CCycleGANConfig, CCycleGANTrainer

    settings, _ = read_config(run_dir)
    settings["class_names"] = tuple(settings.get("class_names", FER_CLASSES))
    trainer = CCycleGANTrainer(CCycleGANConfig(**{**settings, "xla": False}))
    restore_networks(run_dir, trainer.networks)
    return trainer


def class_names(generator: keras.Model) -> tuple:
    """The names of the conditions the generator was trained on (saved in its config)."""
    return tuple(getattr(generator, "class_names", FER_CLASSES))


def translate_images(generator: keras.Model, images: np.ndarray, target) -> np.ndarray:
    """Faces (N, H, W, C) uint8 or float in [-1, 1] -> the same faces with expression `target` (a name or an index),
    float32 in [-1, 1]; from Python, with no files involved."""
    size, channels, _ = image_geometry(generator)
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.shape[1:] != (size, size, channels):
        raise UsageError(f"the generator takes {size}x{size}x{channels} faces, got an array of shape {images.shape}")
    try:
        index = class_index(target, class_names(generator))
    except ValueError as error:
        raise UsageError(str(error)) from None
    sources = unit_range_array(images) if images.dtype == np.uint8 else images.astype(np.float32)
    return translate_batch(generator, sources, np.full(len(sources), index))[0]


def image_geometry(generator: keras.Model) -> tuple[int, int, int]:
    """(image size, channels, number of classes) the generator was built for."""
    _, size, _, channels = generator.encoder.input_shape
    label = next(t for t in generator.decoder.inputs if t.name == "label")
    return size, channels, label.shape[-1]


def translate_batch(generator: keras.Model, images: np.ndarray, targets: np.ndarray, batch_size: int = 256):
    """images float32 [-1, 1], targets class indices -> (translations float32 [-1, 1], attention masks or None).

    The masks ((n, H, W, 1) in [0, 1], 1 = input pixel kept) come from a generator with the attention head.
    """
    num_classes = image_geometry(generator)[2]
    outputs, masks = [], []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        onehot = np.eye(num_classes, dtype=np.float32)[targets[start:start + batch_size]]
        translated, mask = generator.translate_with_attention([chunk, onehot])
        outputs.append(np.asarray(translated))
        masks.append(None if mask is None else np.asarray(mask))
    if not outputs:
        return np.zeros((0, *images.shape[1:]), np.float32), None
    return np.concatenate(outputs), (None if masks[0] is None else np.concatenate(masks))


# -- translate ------------------------------------------------------------------------------------------------------
def _read_inputs(path: Path, size: int, channels: int, detect: bool, limit: int):
    """(images uint8, names, labels or None) from an image, a folder of images, or a FER2013 CSV."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".csv":
        from ccyclegan.data.fer2013 import read_fer2013

        fer = read_fer2013(path, normalize=False)
        split = fer.private_test if len(fer.private_test) else fer.train
        count = min(limit, len(split))
        if size != 48 or channels != 1:
            raise UsageError(f"{path}: FER2013 faces are 48x48 gray but the generator takes {size}x{size}x{channels}")
        return split.images[:count], [f"row{i}" for i in range(count)], split.labels[:count]
    from ccyclegan.data.photos import image_files, load_faces

    files = image_files(path)
    faces = load_faces(files[:limit], size=size, channels=channels, detect=detect)
    return faces.images, [Path(p).stem for p in faces.paths], None


def translate_command(args: argparse.Namespace) -> dict:
    """The command line's translate mode: its arguments into `TranslateSettings`."""
    if not args.model or not args.input:
        raise UsageError("--mode translate needs --model (a run folder or generator.keras) and --input")
    return translate(TranslateSettings(model=args.model, input=args.input, target=args.target, output=args.output,
                                       detect=not args.no_detect, limit=args.eval_n))


def translate(settings: TranslateSettings) -> dict:
    """Translate an image, a folder or a FER2013 CSV; writes pictures, returns their paths."""
    generator = load_generator(settings.model)
    names_of = class_names(generator)
    size, channels, num_classes = image_geometry(generator)
    images, names, labels = _read_inputs(Path(settings.input), size, channels, settings.detect, settings.limit)
    model_path = Path(settings.model)
    out = Path(settings.output) if settings.output else (model_path if model_path.is_dir() else
                                                         model_path.parent) / "translations"
    sources = unit_range_array(images)
    written = []
    if str(settings.target).lower() == "all":
        for index, (image, name) in enumerate(zip(sources, names)):
            own = None if labels is None else int(labels[index])
            targets = np.array([c for c in range(num_classes) if c != own])
            fakes, masks = translate_batch(generator, np.repeat(image[None], len(targets), 0), targets)
            panels, titles = [image], ["Orig" + ("" if own is None else f":{names_of[own]}")]
            panels += list(fakes)
            titles += [f"Trans:{names_of[t]}" for t in targets]
            if own is not None:
                panels.append(translate_batch(generator, image[None], np.array([own]))[0][0])
                titles.append("Reconstr.")
            written.append(save_png(image_grid(panels, titles, rows=2), out / f"{name}_all.png"))
            if masks is not None:
                mask_titles = [f"Mask:{names_of[t]}" for t in targets]
                written.append(save_png(image_grid([mask_panel(m) for m in masks], mask_titles, rows=1),
                                        out / f"{name}_all_masks.png"))
    else:
        try:
            target = class_index(settings.target, names_of)
        except ValueError as error:
            raise UsageError(f"--target: {error}") from None
        fakes, masks = translate_batch(generator, sources, np.full(len(sources), target))
        for index, (image, fake, name) in enumerate(zip(sources, fakes, names)):
            panels, titles = [image, fake], ["Input", f"Trans:{names_of[target]}"]
            if masks is not None:
                panels.append(mask_panel(masks[index]))
                titles.append("Mask (white: kept)")
            panel = image_grid(panels, titles, rows=1)
            written.append(save_png(panel, out / f"{name}_{names_of[target].lower()}.png"))
    print(f"Wrote {len(written)} pictures to {out}")
    return {"written": [str(p) for p in written]}


# -- evaluate -------------------------------------------------------------------------------------------------------
def _load_judge(judge_path: str | None, generator_path: Path, names: tuple):
    """(images in [-1, 1] -> class probabilities, a description): --judge, or the run's discriminator class head.

    The model is loaded once and scores both the translations and the real faces. A judge must judge the classes
    the generator translates to (`names`), in the same order.
    """
    if judge_path:
        from models.classifier import load_judge

        judge = load_judge(judge_path)
        if judge.task == "au" or tuple(judge.names) != tuple(names):
            raise UsageError(f"{judge_path}: judges {judge.task} ({', '.join(map(str, judge.names))}), but the "
                             f"generator translates to {', '.join(names)}; pass a judge trained on those classes")
        return judge.scores, f"classifier {judge_path}"
    run_dir = generator_path if generator_path.is_dir() else generator_path.parent
    if (run_dir / "discriminator.keras").exists():
        from ccyclegan.modelio import load_keras_model

        discriminator = load_keras_model(run_dir / "discriminator.keras", "discriminator")
    else:
        discriminator = _trainer_from_checkpoint(run_dir).discriminator

    def class_head(images):
        return np.concatenate([np.asarray(discriminator(images[i:i + 256], training=False)[1])
                               for i in range(0, len(images), 256)])

    return class_head, "the discriminator's own class head (not an independent judge; pass --judge)"


def evaluate_generator(generator, images_uint8: np.ndarray, labels: np.ndarray, *, judge_scores_fn, judge_name: str,
                       records=None, class_mean_faces=None) -> tuple[dict, dict]:
    """All numbers of one evaluation, plus the arrays the picture needs."""
    num_classes = image_geometry(generator)[2]
    sources = unit_range_array(images_uint8)
    others = other_classes_table(num_classes)[labels]  # (n, C-1)
    source_index = np.repeat(np.arange(len(sources)), num_classes - 1)
    targets = others.reshape(-1)
    fakes, masks = translate_batch(generator, sources[source_index], targets)
    reconstructions, _ = translate_batch(generator, sources, labels)
    fake_scores, real_scores = judge_scores_fn(fakes), judge_scores_fn(sources)
    report = {
        "judge": judge_name,
        "sources": int(len(sources)),
        "translations": int(len(fakes)),
        **metrics.transfer_report(real_scores, labels, fake_scores, targets),
        "reconstruction_l1": metrics.reconstruction_l1(sources, reconstructions),
        "attention_mask_mean": None if masks is None else float(masks.mean()),  # 1 = every input pixel kept
    }
    arrays = {"sources": sources, "fakes": fakes, "targets": targets, "reconstructions": reconstructions}
    if records is not None:
        from ccyclegan.data import synthetic

        source_records = [records[i] for i in source_index]
        report["ground_truth_l1"] = synthetic.ground_truth_errors(fakes, source_records, targets,
                                                                  class_mean_faces=class_mean_faces, attention=masks)
        shown = slice(0, PICTURE_ROWS * (num_classes - 1))
        arrays["truth"] = unit_range_array(synthetic.true_translations(
            source_records[shown], targets[shown], size=sources.shape[1], channels=sources.shape[3]))
    return report, arrays


def evaluation_picture(arrays: dict, labels: np.ndarray, names=FER_CLASSES, rows: int = PICTURE_ROWS) -> np.ndarray:
    """Per source: its translations to every other class; on synthetic data the true translations underneath."""
    per = len(names) - 1
    panels, titles = [], []
    for i in range(min(rows, len(arrays["sources"]))):
        targets = arrays["targets"][i * per:(i + 1) * per]
        panels += [arrays["sources"][i], *arrays["fakes"][i * per:(i + 1) * per]]
        titles += [f"Orig:{names[labels[i]]}"] + [f"Trans:{names[t]}" for t in targets]
        if "truth" in arrays:
            panels += [arrays["sources"][i], *arrays["truth"][i * per:(i + 1) * per]]
            titles += ["(truth)"] + [f"True:{names[t]}" for t in targets]
    columns = per + 1
    return image_grid(panels, titles, rows=len(panels) // columns, cols=columns, panel_inches=1.2)


def evaluate_command(args: argparse.Namespace) -> dict:
    """The command line's evaluate mode: its arguments into `EvaluateSettings`."""
    if not args.model:
        raise UsageError("--mode evaluate needs --model (a run folder or generator.keras)")
    return evaluate(EvaluateSettings(model=args.model, dataset=args.dataset, data=args.data,
                                     synthetic_n=args.synthetic_n, seed=args.seed, split=args.split,
                                     eval_n=args.eval_n, judge=args.judge, output=args.output))


def evaluate(settings: EvaluateSettings) -> dict:
    """Translate held-out faces to every other class and report (JSON, picture, console); returns the report."""
    from ccyclegan.data.sources import load_fer_source

    generator_path = Path(settings.model)
    generator = load_generator(generator_path)
    source = load_fer_source(settings.dataset, settings.data, synthetic_n=settings.synthetic_n, seed=settings.seed)
    split = getattr(source.data, settings.split)
    if len(split) == 0:
        raise UsageError(f"{source.csv_path}: the {settings.split} split is empty")
    chosen = np.sort(np.random.default_rng(settings.seed).choice(len(split), min(settings.eval_n, len(split)), replace=False))
    records = source.split_records(settings.split)
    class_means = None
    if records is not None:
        from ccyclegan.data.synthetic import mean_faces_by_class

        class_means = mean_faces_by_class(source.data.train.images, source.data.train.labels)
        records = [records[i] for i in chosen]
    judge_scores_fn, judge_name = _load_judge(settings.judge, generator_path, class_names(generator))
    report, arrays = evaluate_generator(
        generator, split.images[chosen], split.labels[chosen], judge_scores_fn=judge_scores_fn, judge_name=judge_name,
        records=records, class_mean_faces=class_means,
    )
    report.update({"dataset": settings.dataset, "split": settings.split, "model": str(generator_path)})
    out = Path(settings.output) if settings.output else (generator_path if generator_path.is_dir() else
                                                 generator_path.parent)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"evaluation_{settings.split}.json").write_text(json.dumps(report, indent=2, default=float))
    save_png(evaluation_picture(arrays, split.labels[chosen], class_names(generator)),
             out / f"evaluation_{settings.split}.png")
    print(f"judge: {report['judge']}")
    print(metrics.format_transfer_report(report))
    if "ground_truth_l1" in report:
        truth = report["ground_truth_l1"]
        print(f"ground-truth L1 ({truth['unit']}): translation {truth['translation']:.4f}, baselines: input "
              f"unchanged {truth['unchanged']:.4f}, target-class mean face {truth['class_mean']:.4f}; reference: a "
              f"perfect generator that samples the target class {truth['class_sample']:.4f}")
        regions = truth["regions"]
        if regions["translation_on_changed"] is not None:  # None: no target moved a pixel (nothing to split)
            print(f"  on the {regions['changed_fraction']:.1%} of pixels the expression changes: translation "
                  f"{regions['translation_on_changed']:.4f} vs input unchanged {regions['unchanged_on_changed']:.4f}; "
                  f"on the rest, where the truth is the input: translation {regions['translation_on_unchanged']:.4f}")
            if "attention_on_changed" in regions:
                print(f"  attention mask (1 = input kept): {regions['attention_on_changed']:.3f} on the changed "
                      f"pixels, {regions['attention_on_unchanged']:.3f} on the rest")
    if report["attention_mask_mean"] is not None:
        print(f"attention mask mean over the translations (1 = input kept): {report['attention_mask_mean']:.3f}")
    print(f"reconstruction L1: {report['reconstruction_l1']:.4f}; report in {out / f'evaluation_{settings.split}.json'}")
    return report
