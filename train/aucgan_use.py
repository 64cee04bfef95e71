"""Using an AU-conditioned generator: `translate` faces to AU vectors (absolute, relative, or an AU-edit grid) and
`evaluate` it on held-out faces.

evaluate reports, with an AU regressor trained on real faces (`--judge`, `python train.py --family classifier`):
the AU error of the translations against their targets, beside the judge's own error on the real faces and the
error of the input left unchanged; on synthetic faces the ground-truth error of the translations (pixel L1 against
the same face rendered with the target AUs) against two baselines, the input unchanged and the nearest training
face by AU vector (another identity with the closest expression); and identity preservation: the reconstruction
L1 and, on synthetic faces, the error on the pixels the expression does not move.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccyclegan.data.pipeline import unit_range_array
from ccyclegan.errors import UsageError
from ccyclegan.labels import AU_CODES, AU_MAX_INTENSITY

GENERATOR_HINT = "an AU-conditioned run folder (python train.py --family aucgan) or its generator.keras"
PICTURE_ROWS = 4
DEFAULT_GRID_AUS = (1, 2, 4, 5, 6, 12, 15, 25, 26, 45)
GRID_INTENSITIES = (0, 1, 2, 3, 4, 5)
GENERATOR_WEIGHTS = ("average", "own")  # evaluate --generator-weights


# -- the generator ----------------------------------------------------------------------------------------------------
def load_generator(path, generator_weights: str = "average"):
    """An exported AU generator: a .keras file, a finished run folder (its generator.keras), or a run folder still
    training or stopped early (its networks rebuilt from config.json and restored from the newest checkpoint).

    generator_weights="own": of a run that kept a weight average of G (`--g-average`), the weights G trained on
    rather than the average it exported, read from the newest checkpoint (to measure what the average brings).
    """
    import ccyclegan.layers  # noqa: F401  (registers the custom layers for deserialisation)
    import models.ccyclegan  # noqa: F401
    from ccyclegan.modelio import load_keras_model
    from ccyclegan.run import CONFIG_FILE, checkpoint_steps

    path = Path(path)
    has_checkpoint = path.is_dir() and (path / CONFIG_FILE).exists() and checkpoint_steps(path / "checkpoints")
    if generator_weights == "own":
        if not has_checkpoint:
            raise UsageError(f"{path}: --generator-weights own reads G's own weights from a run folder's "
                             f"checkpoints; this is not a run folder with checkpoints (an exported .keras file "
                             f"holds one set of weights only)")
        return trainer_from_checkpoint(path, "own").translator()
    file = path / "generator.keras" if path.is_dir() else path
    if file.exists():
        return load_keras_model(file, "generator", check=_not_an_au_generator, hint=GENERATOR_HINT)
    if has_checkpoint:
        return trainer_from_checkpoint(path).translator()
    raise FileNotFoundError(f"{file}: no exported generator here, and no checkpoint to rebuild one from; expected "
                            f"{GENERATOR_HINT}")


def _not_an_au_generator(model) -> str | None:
    if not hasattr(model, "translate_with_attention"):
        return "is not a generator (no encoder/decoder pair)"
    names = tuple(getattr(model, "class_names", ()))
    if not names or not all(name.startswith("AU") for name in names):
        return f"conditions on {names or 'classes'}, not on Action Units"
    return None


def trainer_from_checkpoint(run_dir: Path, generator_weights: str = "average"):
    """The networks of a run folder at its newest checkpoint (no optimizer state). A run that kept a weight average
    of G (`--g-average`) gives G that average, or with generator_weights="own" the weights G trained on."""
    from ccyclegan.averaging import CHECKPOINT_NAME
    from ccyclegan.run import read_config, restore_networks
    from train.aucgan import AUCGANConfig, AUCGANTrainer

    if generator_weights not in ("average", "own"):
        raise ValueError(f"generator_weights must be 'average' or 'own', got {generator_weights!r}")
    settings, _ = read_config(run_dir)
    trainer = AUCGANTrainer(AUCGANConfig(**{**settings, "xla": False}))
    average = trainer.weight_average
    restore_networks(run_dir, {**trainer.networks, **({CHECKPOINT_NAME: average.state} if average else {})})
    if average is not None and generator_weights == "average":
        average.copy_to_networks()
    trainer.weight_average = None  # the networks now hold the weights asked for
    return trainer


def run_settings(model_path) -> dict:
    """config.json of the run a model belongs to ({} for a bare .keras file)."""
    from ccyclegan.run import read_config

    folder = Path(model_path)
    folder = folder if folder.is_dir() else folder.parent
    try:
        return read_config(folder)[0]
    except (FileNotFoundError, OSError, ValueError):
        return {}


def au_scale(settings: dict) -> float:
    """Intensity units (0..5) per model unit: 5 for AUs divided by 5 (or by each AU's maximum, taken as 5), 1 for
    raw intensities."""
    return 1.0 if settings.get("au_normalization") == "none" else AU_MAX_INTENSITY


def image_geometry(generator) -> tuple[int, int, int]:
    """(image size, channels, number of AUs) the generator was built for."""
    _, size, _, channels = generator.encoder.input_shape
    label = next(t for t in generator.decoder.inputs if t.name == "label")
    return size, channels, label.shape[-1]


def translate_faces(generator, images, targets, own=None, batch_size: int = 128) -> np.ndarray:
    """Faces (N, H, W, C) uint8 or float [-1, 1] with target AUs (N, num_aus) in model units -> float32 [-1, 1];
    `own`, the faces' own AUs (N, num_aus), is needed by a generator conditioned on the change, ignored otherwise."""
    size, channels, num_aus = image_geometry(generator)
    images = np.asarray(images)
    targets = np.asarray(targets, np.float32)
    if images.ndim != 4 or images.shape[1:] != (size, size, channels):
        raise UsageError(f"the generator takes {size}x{size}x{channels} faces, got an array of shape {images.shape}")
    if targets.shape != (len(images), num_aus):
        raise UsageError(f"{len(images)} faces need targets ({len(images)}, {num_aus}), got {targets.shape}")
    inputs = [unit_range_array(images), targets]
    if generator.needs_own_aus:
        if own is None:
            raise UsageError("this generator is conditioned on the AU change (--au-condition change): it needs the "
                             "faces' own AUs (an OpenFace CSV or data set gives them; on photos pass --judge)")
        own = np.asarray(own, np.float32)
        if own.shape != targets.shape:
            raise UsageError(f"{len(images)} faces need own AUs ({len(images)}, {num_aus}), got {own.shape}")
        inputs.append(own)
    outputs = [np.asarray(generator([x[s:s + batch_size] for x in inputs])) for s in range(0, len(images), batch_size)]
    return np.concatenate(outputs) if outputs else np.zeros((0, size, size, channels), np.float32)


def au_edit_grid(generator, image, base_aus, au_codes=DEFAULT_GRID_AUS, intensities=GRID_INTENSITIES,
                 scale: float = AU_MAX_INTENSITY) -> np.ndarray:
    """One face, each AU of `au_codes` swept over `intensities` (0..5) on top of `base_aus` (model units), one row
    per AU with the input first: a uint8 RGB picture."""
    from ccyclegan.au import au_sweep
    from ccyclegan.viz import rows_grid

    sweep = au_sweep(np.asarray(base_aus, np.float32) * scale / AU_MAX_INTENSITY, au_codes, intensities)
    sweep = sweep * AU_MAX_INTENSITY / scale  # back to model units when they are not intensity / 5
    rows_count, columns = sweep.shape[:2]
    faces = np.repeat(np.asarray(image)[None], rows_count * columns, axis=0)
    own = np.repeat(np.asarray(base_aus, np.float32)[None], len(faces), axis=0)
    outputs = translate_faces(generator, faces, sweep.reshape(-1, sweep.shape[-1]), own).reshape(
        rows_count, columns, *faces.shape[1:])
    source = unit_range_array(np.asarray(image)[None])[0]
    rows = [[source if r == 0 else None, *outputs[r]] for r in range(rows_count)]
    return rows_grid(rows, row_titles=[f"AU{int(code):02d}" for code in au_codes],
                     column_titles=["input"] + [f"{value:g}" for value in intensities],
                     title="AU-edit grid: one AU set to 0..5 per row, the others as in the input")


# -- translate --------------------------------------------------------------------------------------------------------
@dataclass
class TranslateSettings:
    """What `translate` needs; `input` None takes the first `limit` held-out faces of `dataset` (with their AUs), an
    OpenFace CSV as `input` its first `limit` faces (with their AUs), images are read by the judge when AUs are
    needed."""

    model: str
    input: str | None = None
    aus: str | None = None  # 'AU12=3,AU06=2', 17 values, or an image whose AUs the judge reads
    aus_delta: str | None = None  # 'AU12=+2,AU04=-1', on top of each input's own AUs
    grid: bool = False
    grid_aus: tuple = DEFAULT_GRID_AUS
    judge: str | None = None  # reads the AUs of input images (for --aus-delta, --grid) and of an --aus image
    dataset: str = "synthetic-openface"
    data: str | None = None
    synthetic_n: int | None = None
    output: str | None = None
    detect: bool = True
    limit: int = 8

    def __post_init__(self):
        if self.limit < 1:
            raise UsageError(f"the number of inputs (--eval-n) must be >= 1, got {self.limit}")
        if self.aus is not None and self.aus_delta is not None:
            raise UsageError("give --aus (absolute targets) or --aus-delta (relative edits), not both")
        if self.aus is None and self.aus_delta is None and not self.grid:
            raise UsageError("translate needs a target: --aus 'AU12=3,AU06=2', --aus-delta 'AU12=+2', or --grid")


def _read_input_faces(settings: TranslateSettings, size: int, channels: int, run: dict):
    """(faces uint8, names, their AUs in model units or None); `run`: the model's run settings (its AU options)."""
    if settings.input is None:
        source = _au_source(settings.dataset, settings.data, settings.synthetic_n, size, settings.model)
        split = source.held_out
        count = min(settings.limit, len(split))
        return split.images[:count], [Path(n).stem for n in split.names[:count]], split.aus[:count]
    from ccyclegan.data.photos import image_files, load_faces

    path = Path(settings.input)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() == ".csv":
        return _openface_file_faces(path, settings.limit, size, channels, run)
    files = image_files(path)
    faces = load_faces(files[:settings.limit], size=size, channels=channels, detect=settings.detect)
    return faces.images, [Path(p).stem for p in faces.paths], None


def _openface_file_faces(path: Path, limit: int, size: int, channels: int, run: dict):
    """The first `limit` faces of an OpenFace CSV (its `<stem>_aligned` crops) with their AUs in model units, read
    with the run's AU options ("column_max" takes this file's maxima, as reading the data set does)."""
    from ccyclegan.data.openface import read_openface

    if channels != 3:
        raise UsageError(f"{path}: OpenFace's aligned faces are RGB, but the generator takes {channels} channel(s)")
    data = read_openface(path, size=size, au_kind=run.get("au_kind", "intensity"),
                         au_normalization=run.get("au_normalization", "5"))
    count = min(limit, len(data))
    return data.images[:count], [Path(p).stem for p in data.image_paths[:count]], data.aus[:count]


def _judge_aus(judge_path, images, scale: float, why: str) -> np.ndarray:
    """AUs of faces read by the judge, in the generator's model units."""
    from models.classifier import load_au_judge

    if judge_path is None:
        raise UsageError(f"{why} needs the AUs of the input faces: pass --judge (an AU regressor from "
                         f"`python train.py --family classifier --dataset synthetic-openface`) or leave out --input "
                         f"to use held-out faces of --dataset, whose AUs are known")
    judge = load_au_judge(judge_path, "reading AUs")
    return (np.clip(judge.scores(images), 0.0, 1.0) * AU_MAX_INTENSITY / scale).astype(np.float32)


def _target_vector(settings: TranslateSettings, size: int, channels: int, scale: float) -> np.ndarray:
    from ccyclegan.au import parse_aus
    from ccyclegan.data.photos import IMAGE_SUFFIXES

    text = settings.aus.strip()
    candidate = Path(text)
    if candidate.suffix.lower() in IMAGE_SUFFIXES:
        if not candidate.is_file():
            raise FileNotFoundError(f"--aus {text}: no such image (give AUs as 'AU12=3,AU06=2' or 17 values)")
        from ccyclegan.data.photos import load_faces

        reference = load_faces([candidate], size=size, channels=channels, detect=settings.detect).images
        return _judge_aus(settings.judge, reference, scale, f"--aus {text} (a reference image)")[0]
    return parse_aus(text, scale=scale)


def translate(settings: TranslateSettings) -> dict:
    """Translate faces as `settings` says; writes PNGs into `settings.output` and returns what was written."""
    from ccyclegan.au import apply_au_deltas, format_aus, parse_au_deltas
    from ccyclegan.viz import rows_grid, save_png

    generator = load_generator(settings.model)
    size, channels, _ = image_geometry(generator)
    run = run_settings(settings.model)
    scale = au_scale(run)
    faces, names, aus = _read_input_faces(settings, size, channels, run)
    needs_own = settings.aus_delta is not None or settings.grid or generator.needs_own_aus
    if aus is None and needs_own:
        what = ("--aus-delta" if settings.aus_delta else "--grid" if settings.grid else
                "the faces' own AUs (the generator is conditioned on the AU change)")
        aus = _judge_aus(settings.judge, faces, scale, what)
    model = Path(settings.model)
    out = Path(settings.output) if settings.output else (model if model.is_dir() else model.parent) / "translations"
    out.mkdir(parents=True, exist_ok=True)
    written = {"translations": [], "grids": []}
    if settings.aus is not None or settings.aus_delta is not None:
        if settings.aus is not None:
            targets = np.repeat(_target_vector(settings, size, channels, scale)[None], len(faces), axis=0)
        else:
            deltas = parse_au_deltas(settings.aus_delta, scale=scale)
            targets = apply_au_deltas(aus * scale / AU_MAX_INTENSITY, deltas * scale / AU_MAX_INTENSITY)
            targets = (targets * AU_MAX_INTENSITY / scale).astype(np.float32)
        translated = translate_faces(generator, faces, targets, aus)
        sources = unit_range_array(faces)
        for name, image, target in zip(names, translated, targets):
            path = out / f"{name}_aus.png"
            save_png(rows_grid([[image]], panel_titles=[[format_aus(target * scale / AU_MAX_INTENSITY)]]), path)
            written["translations"].append(str(path))
        titles = [[f"{n}", format_aus(t * scale / AU_MAX_INTENSITY)] for n, t in zip(names, targets)]
        overview = rows_grid([[s, t] for s, t in zip(sources, translated)], panel_titles=titles)
        written["overview"] = str(save_png(overview, out / "translations.png"))
    if settings.grid:
        for name, face, own in zip(names, faces, aus):
            path = out / f"{name}_au_grid.png"
            save_png(au_edit_grid(generator, face, own, settings.grid_aus, scale=scale), path)
            written["grids"].append(str(path))
    print(f"Wrote {len(written['translations'])} translation(s) and {len(written['grids'])} AU-edit grid(s) "
          f"into {out}")
    return written


def _grid_codes(text: str) -> tuple:
    codes = []
    for item in str(text).replace("AU", "").split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) not in AU_CODES:
            raise UsageError(f"--grid-aus: {item!r} is not one of the AU codes {', '.join(map(str, AU_CODES))}")
        codes.append(int(item))
    if not codes:
        raise UsageError("--grid-aus names no AU")
    return tuple(codes)


def translate_command(args: argparse.Namespace) -> dict:
    if not args.model:
        raise UsageError("--mode translate needs --model (a run folder or generator.keras)")
    settings = TranslateSettings(model=args.model, input=args.input, aus=args.aus, aus_delta=args.aus_delta,
                                 grid=args.grid, grid_aus=_grid_codes(args.grid_aus), judge=args.judge,
                                 dataset=args.dataset, data=args.data, synthetic_n=args.synthetic_n,
                                 output=args.output, detect=not args.no_detect,
                                 limit=min(args.eval_n, 8) if args.input is None else args.eval_n)
    return translate(settings)


# -- evaluate ---------------------------------------------------------------------------------------------------------
@dataclass
class EvaluateSettings:
    model: str
    judge: str | None = None
    dataset: str = "synthetic-openface"
    data: str | None = None
    synthetic_n: int | None = None
    eval_n: int = 1000
    seed: int = 0
    output: str | None = None
    generator_weights: str = "average"  # or "own": see load_generator

    def __post_init__(self):
        if self.eval_n < 1:
            raise UsageError(f"--eval-n must be >= 1, got {self.eval_n}")
        if self.generator_weights not in GENERATOR_WEIGHTS:
            raise UsageError(f"--generator-weights must be one of {GENERATOR_WEIGHTS}, got {self.generator_weights!r}")


def _au_source(dataset, data, synthetic_n, size: int, model):
    """The data set with the run's AU options, read at the generator's size."""
    from train.aucgan import load_au_source

    settings = run_settings(model)
    args = argparse.Namespace(dataset=dataset, data=data, synthetic_n=synthetic_n, image_size=size)
    return load_au_source(args, settings.get("au_kind", "intensity"), settings.get("au_normalization", "5"))


def evaluate(settings: EvaluateSettings) -> dict:
    """The evaluation report (also written as evaluation.json and evaluation.png beside the model)."""
    from ccyclegan import metrics
    from ccyclegan.viz import rows_grid, save_png

    generator = load_generator(settings.model, settings.generator_weights)
    size, channels, _ = image_geometry(generator)
    run = run_settings(settings.model)
    scale = au_scale(run)
    presence = run.get("au_kind") == "presence"
    source = _au_source(settings.dataset, settings.data, settings.synthetic_n, size, settings.model)
    split = source.held_out
    count = min(settings.eval_n, len(split))
    if count < 2:
        raise UsageError(f"{settings.dataset}: {len(split)} held-out face(s); evaluation needs at least 2")
    rng = np.random.default_rng(settings.seed)
    index = rng.choice(len(split), size=count, replace=False)
    faces, aus = split.images[index], split.aus[index].astype(np.float32)
    partner = np.roll(np.arange(count), 1 + int(rng.integers(count - 1)))  # another held-out face's AUs
    targets = aus[partner]
    translated = translate_faces(generator, faces, targets, aus)
    reconstructed = translate_faces(generator, faces, aus, aus)
    sources = unit_range_array(faces)
    report = {"model": str(settings.model), "dataset": settings.dataset, "split": "test", "n": int(count),
              "targets": "the AUs of another held-out face", "au_units": "intensity / 5 (0..1)",
              "generator_weights": settings.generator_weights if run.get("g_average") else "own",
              "identity": {"reconstruction_l1": metrics.reconstruction_l1(sources, reconstructed),
                           "translation_to_input_l1": metrics.reconstruction_l1(sources, translated)}}
    if settings.judge:
        report["judge"] = _judge_report(settings.judge, faces, aus, translated, targets, scale, presence,
                                        reconstructed)
    else:
        report["judge"] = None
        print("No --judge: the AU error of the translations needs an AU regressor trained on real faces "
              "(python train.py --family classifier --dataset synthetic-openface --image-size ...)")
    critic = _critic_report(_model_folder(settings.model), sources, aus, translated, targets, scale)
    if critic:
        report["critic"] = critic
    records = [split.records[i] for i in index] if source.synthetic and not presence else None
    if records:
        report["ground_truth"] = _ground_truth_report(translated, records, targets * scale, source.train, scale, size,
                                                      channels)
    if generator.needs_own_aus and settings.judge and not presence:
        # what a user without AU labels gets: the faces' own AUs read by the judge instead of the data set's
        read = translate_faces(generator, faces, targets, _judge_aus(settings.judge, faces, scale, "evaluate"))
        scored = _judge_report(settings.judge, faces, aus, read, targets, scale, presence)
        report["read_own_aus"] = {"reader": str(settings.judge), "translation_mae": scored["translation_mae"],
                                  "translation_over_unchanged": scored["translation_over_unchanged"]}
        if records:
            report["read_own_aus"]["ground_truth"] = _ground_truth_report(
                read, records, targets * scale, source.train, scale, size, channels)["translation"]
    out = Path(settings.output) if settings.output else _model_folder(settings.model)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))
    rows = [[sources[r], sources[partner[r]], translated[r]] for r in range(min(PICTURE_ROWS, count))]
    save_png(rows_grid(rows, column_titles=["input", "face with the target AUs", "translation"]),
             out / "evaluation.png")
    print(format_report(report))
    return report


def _model_folder(model) -> Path:
    path = Path(model)
    return path if path.is_dir() else path.parent


def _critic_report(run_dir: Path, faces, aus, translated, targets, scale) -> dict | None:
    """The run's critic's AU head on the faces and the translations (intensity / 5), when the run has checkpoints."""
    from ccyclegan import metrics
    from ccyclegan.run import CONFIG_FILE, checkpoint_steps

    if not ((run_dir / CONFIG_FILE).exists() and checkpoint_steps(run_dir / "checkpoints")):
        return None
    trainer = trainer_from_checkpoint(run_dir)
    return metrics.critic_au_report(trainer.read_critic_aus, faces, aus, translated, targets,
                                    unit=scale / AU_MAX_INTENSITY)


def _judge_report(judge_path, faces, aus, translated, targets, scale, presence, reconstructed=None) -> dict:
    """The judge's AU error on the translations, the unchanged inputs and the real faces; with `reconstructed`
    (G asked for the faces' own AUs) also on those, which separates what G's rendering costs the judge from
    whether G moved the AUs."""
    from ccyclegan import metrics
    from models.classifier import load_au_judge

    judge = load_au_judge(judge_path, "evaluate")
    to_fifths = scale / AU_MAX_INTENSITY  # model units -> intensity / 5, the judge's units
    on_real, on_inputs, on_translations = (judge.scores(x) for x in (faces, faces, translated))
    if presence:  # the judge reads intensities; an AU counts as present from intensity 1
        threshold = 1.0 / AU_MAX_INTENSITY
        return {"judge": str(judge_path), "presence_threshold": threshold,
                "real_presence_accuracy": float(np.mean((on_real >= threshold) == (aus >= 0.5))),
                "translation_presence_accuracy": float(np.mean((on_translations >= threshold) == (targets >= 0.5))),
                "unchanged_presence_accuracy": float(np.mean((on_inputs >= threshold) == (targets >= 0.5)))}
    real = metrics.au_regression_error(on_real, aus * to_fifths)
    translation = metrics.au_regression_error(on_translations, targets * to_fifths)
    unchanged = metrics.au_regression_error(on_inputs, targets * to_fifths)
    report = {"judge": str(judge_path), "real_mae": real["mae"], "translation_mae": translation["mae"],
              "unchanged_mae": unchanged["mae"], "translation_over_unchanged": translation["mae"] / unchanged["mae"],
              "per_au_translation_mae": translation["per_au_mae"], "per_au_unchanged_mae": unchanged["per_au_mae"]}
    if reconstructed is not None:
        report["reconstruction_mae"] = metrics.au_regression_error(judge.scores(reconstructed), aus * to_fifths)["mae"]
    return report


def _ground_truth_report(translated, records, target_intensities, train_split, scale, size, channels) -> dict:
    """Pixel L1 against the true translations, beside the input unchanged and the nearest training face by AUs."""
    from ccyclegan.data.synthetic_faces import ground_truth_errors, true_translations

    target_intensities = np.clip(target_intensities, 0.0, AU_MAX_INTENSITY)
    result = ground_truth_errors(translated, records, target_intensities)
    truth = unit_range_array(true_translations(records, target_intensities, size=size, channels=channels))
    train_intensities = train_split.aus * scale
    nearest = np.array([int(np.argmin(np.sum((train_intensities - t) ** 2, axis=1))) for t in target_intensities])
    neighbours = unit_range_array(train_split.images[nearest])
    return {"translation": result["translation"], "unchanged": result["unchanged"],
            "nearest_training_face": float(np.mean(np.abs(neighbours - truth))), "unit": result["unit"],
            "regions": result["regions"]}


def format_report(report: dict) -> str:
    from ccyclegan import metrics

    lines = [f"AU-conditioned evaluation of {report['model']} on {report['n']} held-out faces of {report['dataset']} "
             f"(targets: {report['targets']})"]
    judge = report.get("judge")
    if judge and "translation_mae" in judge:
        lines += [f"AU error by the judge (MAE, intensity / 5): translations {judge['translation_mae']:.4f}, "
                  f"input unchanged {judge['unchanged_mae']:.4f} (ratio {judge['translation_over_unchanged']:.3f}), "
                  f"the judge on real faces {judge['real_mae']:.4f}"
                  + (f", on the reconstructions (G asked for the own AUs) {judge['reconstruction_mae']:.4f}"
                     if "reconstruction_mae" in judge else "")]
    elif judge:
        lines += [f"AU presence accuracy by the judge: translations {judge['translation_presence_accuracy']:.4f}, "
                  f"input unchanged {judge['unchanged_presence_accuracy']:.4f}, real {judge['real_presence_accuracy']:.4f}"]
    truth = report.get("ground_truth")
    if truth:
        lines += [f"ground-truth L1 ([-1, 1] units): translations {truth['translation']:.4f}, input unchanged "
                  f"{truth['unchanged']:.4f}, nearest training face by AUs {truth['nearest_training_face']:.4f}; "
                  f"on the pixels the expression does not move {truth['regions']['translation_on_unchanged']:.4f}"]
    read = report.get("read_own_aus")
    if read:
        truth_text = f", ground-truth L1 {read['ground_truth']:.4f}" if "ground_truth" in read else ""
        lines += [f"with the own AUs read by the judge instead of the labels: translations "
                  f"{read['translation_mae']:.4f} (ratio {read['translation_over_unchanged']:.3f}){truth_text}"]
    if report.get("critic"):
        lines += [metrics.format_critic_au_report(report["critic"])]
    identity = report["identity"]
    lines += [f"identity: reconstruction L1 {identity['reconstruction_l1']:.4f}, translation vs input L1 "
              f"{identity['translation_to_input_l1']:.4f}"]
    return "\n".join(lines)


def evaluate_command(args: argparse.Namespace) -> dict:
    if not args.model:
        raise UsageError("--mode evaluate needs --model (a run folder or generator.keras)")
    return evaluate(EvaluateSettings(model=args.model, judge=args.judge, dataset=args.dataset, data=args.data,
                                     synthetic_n=args.synthetic_n, eval_n=args.eval_n, seed=args.seed,
                                     output=args.output, generator_weights=args.generator_weights))
