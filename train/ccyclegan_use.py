"""Using a trained CCycleGAN: `translate` faces to an expression, and `evaluate` a generator on a held-out split.

evaluate reports the transfer accuracy of the translations as judged by a classifier (or, without one, by the
discriminator's own class head, labelled as such), the judge's accuracy on the real images beside it, the
reconstruction L1, and on synthetic data the ground-truth error of the translations next to two baselines: the
input unchanged, and the mean face of the target class.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ccyclegan import metrics
from ccyclegan.data.pipeline import unit_range_array
from ccyclegan.errors import UsageError
from ccyclegan.labels import FER_CLASSES, fer_class_index
from ccyclegan.viz import image_grid, mask_panel, save_png
from train.ccyclegan import other_classes_table

PICTURE_ROWS = 4  # source faces shown in the evaluation picture
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def load_generator(path: str | Path) -> keras.Model:
    """An exported generator: the .keras file, a finished run folder (its generator.keras), or a run folder still
    training or stopped early (rebuilt from its config.json and latest checkpoint)."""
    import models.ccyclegan  # noqa: F401  (registers the custom layers for deserialisation)

    path = Path(path)
    file = path / "generator.keras" if path.is_dir() else path
    if file.exists():
        return keras.models.load_model(file)
    if path.is_dir() and (path / "config.json").exists() and tf.train.latest_checkpoint(path / "checkpoints"):
        return _trainer_from_checkpoint(path).translator()
    raise FileNotFoundError(f"{file}: no exported generator here; a `python train.py` run writes generator.keras "
                            f"into its --out folder when it ends, and checkpoints while it runs")


def _trainer_from_checkpoint(run_dir: Path):
    """The networks of a run folder at its latest checkpoint (no optimizer state)."""
    from train.ccyclegan import CCycleGANConfig, CCycleGANTrainer

    settings = json.loads((run_dir / "config.json").read_text())
    settings["class_names"] = tuple(settings.get("class_names", FER_CLASSES))
    trainer = CCycleGANTrainer(CCycleGANConfig(**{**settings, "xla": False}))
    checkpoint = tf.train.Checkpoint(G_enc=trainer.encoder, G_dec=trainer.decoder, D=trainer.discriminator)
    checkpoint.read(tf.train.latest_checkpoint(run_dir / "checkpoints")).expect_partial()
    return trainer


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
    from ccyclegan.data.photos import load_faces

    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder")
    else:
        files = [path]
    faces = load_faces(files[:limit], size=size, channels=channels, detect=detect)
    return faces.images, [Path(p).stem for p in faces.paths], None


def translate_command(args: argparse.Namespace) -> dict:
    if not args.model or not args.input:
        raise UsageError("--mode translate needs --model (a run folder or generator.keras) and --input")
    generator = load_generator(args.model)
    size, channels, num_classes = image_geometry(generator)
    images, names, labels = _read_inputs(Path(args.input), size, channels, not args.no_detect, args.eval_n)
    out = Path(args.output) if args.output else Path(args.model if Path(args.model).is_dir() else
                                                     Path(args.model).parent) / "translations"
    sources = unit_range_array(images)
    written = []
    if str(args.target).lower() == "all":
        for index, (image, name) in enumerate(zip(sources, names)):
            own = None if labels is None else int(labels[index])
            targets = np.array([c for c in range(num_classes) if c != own])
            fakes, masks = translate_batch(generator, np.repeat(image[None], len(targets), 0), targets)
            panels, titles = [image], ["Orig" + ("" if own is None else f":{FER_CLASSES[own]}")]
            panels += list(fakes)
            titles += [f"Trans:{FER_CLASSES[t]}" for t in targets]
            if own is not None:
                panels.append(translate_batch(generator, image[None], np.array([own]))[0][0])
                titles.append("Reconstr.")
            written.append(save_png(image_grid(panels, titles, rows=2), out / f"{name}_all.png"))
            if masks is not None:
                mask_titles = [f"Mask:{FER_CLASSES[t]}" for t in targets]
                written.append(save_png(image_grid([mask_panel(m) for m in masks], mask_titles, rows=1),
                                        out / f"{name}_all_masks.png"))
    else:
        try:
            target = fer_class_index(args.target)
        except ValueError as error:
            raise UsageError(f"--target: {error}") from None
        fakes, masks = translate_batch(generator, sources, np.full(len(sources), target))
        for index, (image, fake, name) in enumerate(zip(sources, fakes, names)):
            panels, titles = [image, fake], ["Input", f"Trans:{FER_CLASSES[target]}"]
            if masks is not None:
                panels.append(mask_panel(masks[index]))
                titles.append("Mask (white: kept)")
            panel = image_grid(panels, titles, rows=1)
            written.append(save_png(panel, out / f"{name}_{FER_CLASSES[target].lower()}.png"))
    print(f"Wrote {len(written)} pictures to {out}")
    return {"written": [str(p) for p in written]}


# -- evaluate -------------------------------------------------------------------------------------------------------
def _load_judge(args, generator_path: Path):
    """(images in [-1, 1] -> class probabilities, a description): --judge, or the run's discriminator class head.

    The model is loaded once and scores both the translations and the real faces.
    """
    if args.judge:
        from train.classifier import class_scores

        judge = keras.models.load_model(args.judge)
        return (lambda images: class_scores(judge, images)), f"classifier {args.judge}"
    run_dir = generator_path if generator_path.is_dir() else generator_path.parent
    if (run_dir / "discriminator.keras").exists():
        discriminator = keras.models.load_model(run_dir / "discriminator.keras")
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


def evaluation_picture(arrays: dict, labels: np.ndarray, num_classes: int, rows: int = PICTURE_ROWS) -> np.ndarray:
    """Per source: its translations to every other class; on synthetic data the true translations underneath."""
    per = num_classes - 1
    panels, titles = [], []
    for i in range(min(rows, len(arrays["sources"]))):
        targets = arrays["targets"][i * per:(i + 1) * per]
        panels += [arrays["sources"][i], *arrays["fakes"][i * per:(i + 1) * per]]
        titles += [f"Orig:{FER_CLASSES[labels[i]]}"] + [f"Trans:{FER_CLASSES[t]}" for t in targets]
        if "truth" in arrays:
            panels += [arrays["sources"][i], *arrays["truth"][i * per:(i + 1) * per]]
            titles += ["(truth)"] + [f"True:{FER_CLASSES[t]}" for t in targets]
    columns = per + 1
    return image_grid(panels, titles, rows=len(panels) // columns, cols=columns, panel_inches=1.2)


def evaluate_command(args: argparse.Namespace) -> dict:
    from ccyclegan.data.sources import load_fer_source

    if not args.model:
        raise UsageError("--mode evaluate needs --model (a run folder or generator.keras)")
    generator_path = Path(args.model)
    generator = load_generator(generator_path)
    source = load_fer_source(args.dataset, args.data, synthetic_n=args.synthetic_n, seed=args.seed)
    split = getattr(source.data, args.split)
    if len(split) == 0:
        raise UsageError(f"{source.csv_path}: the {args.split} split is empty")
    chosen = np.sort(np.random.default_rng(args.seed).choice(len(split), min(args.eval_n, len(split)), replace=False))
    records = source.split_records(args.split)
    class_means = None
    if records is not None:
        from ccyclegan.data.synthetic import mean_faces_by_class

        class_means = mean_faces_by_class(source.data.train.images, source.data.train.labels)
        records = [records[i] for i in chosen]
    judge_scores_fn, judge_name = _load_judge(args, generator_path)
    report, arrays = evaluate_generator(
        generator, split.images[chosen], split.labels[chosen], judge_scores_fn=judge_scores_fn, judge_name=judge_name,
        records=records, class_mean_faces=class_means,
    )
    report.update({"dataset": args.dataset, "split": args.split, "model": str(generator_path)})
    out = Path(args.output) if args.output else (generator_path if generator_path.is_dir() else
                                                 generator_path.parent)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"evaluation_{args.split}.json").write_text(json.dumps(report, indent=2, default=float))
    save_png(evaluation_picture(arrays, split.labels[chosen], image_geometry(generator)[2]),
             out / f"evaluation_{args.split}.png")
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
    print(f"reconstruction L1: {report['reconstruction_l1']:.4f}; report in {out / f'evaluation_{args.split}.json'}")
    return report
