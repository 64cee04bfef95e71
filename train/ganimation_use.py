"""Using a trained GANimation generator: `translate` faces to AU vectors, `evaluate` it, `animate` a face.

- translate: faces (a photo, a folder, or a GANimation AU file with its faces) rendered with `--aus` (absolute) or
  `--aus-delta` (a change of the faces' own AUs); one strip per face: input, rendering, attention, colour.
- evaluate: held-out faces rendered with the AUs of other held-out faces. The AU error of the renderings by an AU
  regressor (`--judge`, a classifier trained with `--task au`; else the critic's own AU head, labelled as not
  independent) beside that judge's error on the real faces (its floor) and on the unchanged inputs (the baseline);
  on synthetic faces the pixel error against the true rendering beside two baselines: the input unchanged, and the
  training face whose AUs are nearest to the target (a retrieval baseline: the right expression on someone else);
  the mean attention.
- animate: one face and a sequence of AU vectors (a GANimation AU file, the AUs of a folder of reference faces, or
  an interpolation between two expressions or AU vectors) -> frames, a GIF, and a sheet of the frames with their
  attention and colour masks.

A generator trained with `--au-condition change` takes the faces' own AUs besides the target (a third input): they
come from the input when it has them (an AU file; evaluate: the data set's labels), else from `--judge` (an AU
regressor), else from the run's critic's AU head; the console says which.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccyclegan.errors import UsageError

GENERATOR_HINT = "a GANimation run folder (python train.py --family ganimation) or its generator.keras"
SHEET_COLUMNS = 12  # frames shown in the mask sheet at most (evenly spaced); the GIF has them all
AU_FILE_SUFFIXES = (".txt",)


@dataclass
class GANimationGenerator:
    """A loaded generator: the Keras model and, when its run folder has one, the critic (for its AU head)."""

    model: object
    path: Path
    critic: object | None = None
    critic_view: object = None  # the run's AUHeadView unshifted (low-pass, luminance); None: faces as they are
    keep_above: float | None = None  # --keep-above: pixels whose attention exceeds it are the input's, exactly

    @property
    def img_size(self) -> int:
        return int(self.model.inputs[0].shape[1])

    @property
    def channels(self) -> int:
        return int(self.model.inputs[0].shape[3])

    @property
    def num_aus(self) -> int:
        return int(self.model.inputs[1].shape[1])

    @property
    def needs_own_aus(self) -> bool:
        """True for a generator conditioned on the AU change (--au-condition change): it takes the faces' own AUs."""
        return len(self.model.inputs) == 3

    def render(self, images: np.ndarray, aus: np.ndarray, own: np.ndarray | None = None, batch_size: int = 64):
        """(composites, attention, colour) float32 for faces in [-1, 1] and target AU vectors in [0, 1]; `own`, the
        faces' own AUs, is needed by a generator conditioned on the change and ignored by another."""
        from train.ganimation import generator_inputs, render_with

        condition = "change" if self.needs_own_aus else "target"
        if self.needs_own_aus and own is None:
            raise UsageError(f"{self.path}: this generator is conditioned on the AU change; it needs the faces' own "
                             f"AUs")

        def generate(image, target, training, own=None):
            return self.model(generator_inputs(condition, image, target, own), training=training)

        composites, attention, colour = render_with(generate, images, aus, own, batch_size)
        if self.keep_above is not None:
            kept = attention > self.keep_above  # the mask set to 1 there: A x + (1 - A) C becomes x
            composites = np.where(kept, np.asarray(images, np.float32), composites)
            attention = np.where(kept, np.float32(1.0), attention)
        return composites, attention, colour

    def critic_aus(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if self.critic is None:
            raise UsageError(f"{self.path}: no critic to read AUs with (discriminator.keras or checkpoints); pass "
                             f"--judge, an AU regressor trained with --family classifier --task au")
        from ccyclegan.layers import AUHeadView

        view = self.critic_view or AUHeadView(False, 0)  # as the head trained, without the random shift
        return np.concatenate([np.asarray(self.critic(view(images[i:i + batch_size], None), training=False)[1],
                                          np.float32) for i in range(0, len(images), batch_size)])


def _not_a_generator(model) -> str | None:
    names = [tensor.name for tensor in getattr(model, "inputs", [])]
    if len(names) in (2, 3) and len(getattr(model, "outputs", [])) == 3 and all(n.startswith("aus") for n in names[1:]):
        return None
    return f"is a model named {getattr(model, 'name', '?')!r} with inputs {names}, not a GANimation generator"


def check_keep_above(threshold: float | None) -> None:
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise UsageError(f"--keep-above must lie strictly between 0 and 1 (an attention value), got {threshold}")


def load_generator(path, keep_above: float | None = None) -> GANimationGenerator:
    """A generator from its .keras file, a finished run folder (generator.keras, discriminator.keras), or a run
    folder still training or stopped (rebuilt from config.json and its newest intact checkpoint; Keras or
    TensorLayer runs alike). `keep_above`: see `GANimationGenerator.keep_above`."""
    generator = _load_generator(path)
    check_keep_above(keep_above)
    generator.keep_above = keep_above
    return generator


def _load_generator(path) -> GANimationGenerator:
    import models.ganimation  # noqa: F401  (registers TileAUs for deserialisation)
    from ccyclegan.modelio import load_keras_model
    from ccyclegan.run import CONFIG_FILE, checkpoint_steps

    path = Path(path)
    file = path / "generator.keras" if path.is_dir() else path
    if file.exists():
        model = load_keras_model(file, "generator", check=_not_a_generator, hint=GENERATOR_HINT)
        critic_file = file.parent / "discriminator.keras"
        critic = load_keras_model(critic_file, "critic") if critic_file.exists() else None
        return GANimationGenerator(model, path, critic, _run_au_view(file.parent))
    if path.is_dir() and (path / CONFIG_FILE).exists() and checkpoint_steps(path / "checkpoints"):
        return _from_checkpoint(path)
    raise FileNotFoundError(f"{file}: no exported generator here; pass {GENERATOR_HINT} (a run writes "
                            f"generator.keras when it ends, and checkpoints while it runs)")


def _run_au_view(run_dir: Path):
    """How the run beside an exported generator showed faces to its critic's AU head (None without its config)."""
    from ccyclegan.layers import AUHeadView
    from ccyclegan.run import CONFIG_FILE, read_config

    return AUHeadView.of_run(read_config(run_dir)[0], shift=False) if (run_dir / CONFIG_FILE).exists() else None


def _from_checkpoint(run_dir: Path) -> GANimationGenerator:
    from ccyclegan.layers import AUHeadView
    from ccyclegan.run import read_config, restore_networks
    from train.ganimation import GANimationConfig, make_networks

    saved, _ = read_config(run_dir)
    saved["au_names"] = tuple(saved.get("au_names", ()))
    try:
        config = GANimationConfig(**saved)
    except (TypeError, ValueError) as error:
        raise UsageError(f"{run_dir / 'config.json'}: not a GANimation run's config ({error})") from None
    networks = make_networks(config)
    checkpoint = restore_networks(run_dir, networks.trackables)
    print(f"Using the networks of {checkpoint} (the run has not exported generator.keras yet)")
    exported = networks.exports()
    return GANimationGenerator(exported["generator.keras"], run_dir, exported.get("discriminator.keras"),
                               AUHeadView.of_run(config, shift=False))


# -- inputs ---------------------------------------------------------------------------------------------------------
@dataclass
class Faces:
    images: np.ndarray  # uint8 (N, S, S, C)
    names: list[str]
    aus: np.ndarray | None  # (N, A) in [0, 1] when the input says (an AU file)


def read_faces(path, size: int, channels: int, *, detect: bool = True, limit: int = 1000) -> Faces:
    """Faces from a photo, a folder of photos (the largest face of each, found and cropped unless detect=False) or a
    GANimation AU file (its faces, already aligned, with their AUs)."""
    from ccyclegan.data.photos import load_faces

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file() and path.suffix.lower() in AU_FILE_SUFFIXES:
        from ccyclegan.data.au_file import read_au_file
        from ccyclegan.data.synthetic_writers import AU_IMAGE_DIR

        image_dir = path.parent / AU_IMAGE_DIR if (path.parent / AU_IMAGE_DIR).is_dir() else None
        data = read_au_file(path, image_dir, size=size)
        count = min(limit, len(data))
        images = data.images[:count]
        if channels == 1:
            images = np.round(images.mean(axis=-1, keepdims=True)).astype(np.uint8)
        return Faces(images, [Path(p).stem for p in data.image_paths[:count]], data.aus[:count])
    faces = load_faces(path, size=size, channels=channels, detect=detect)
    return Faces(faces.images[:limit], [Path(p).stem for p in faces.paths[:limit]], None)


def _output_dir(settings_output, model_path: Path, name: str) -> Path:
    if settings_output:
        return Path(settings_output)
    return (model_path if model_path.is_dir() else model_path.parent) / name


def read_aus(generator: GANimationGenerator, images: np.ndarray, judge_path=None) -> tuple[np.ndarray, str]:
    """AUs of faces in [-1, 1] read by `--judge` (an AU regressor), else by the run's critic's AU head, clipped to
    [0, 1]; and a phrase saying which read them."""
    if judge_path:
        from models.classifier import load_au_judge

        judge = load_au_judge(judge_path, "reading the faces' AUs")
        return np.clip(judge.scores(images), 0.0, 1.0).astype(np.float32), f"the judge {judge_path}"
    return np.clip(generator.critic_aus(images), 0.0, 1.0), "the critic's AU head (pass --judge for another reader)"


def own_aus_of(generator: GANimationGenerator, faces: Faces, images: np.ndarray, judge_path=None,
               needed: bool | None = None) -> np.ndarray | None:
    """The faces' own AUs when they are needed (by default: when the generator is conditioned on the change): the
    input's (an AU file's), else read by `read_aus`, saying so on the console."""
    if not (generator.needs_own_aus if needed is None else needed):
        return None
    if faces.aus is not None:
        return np.asarray(faces.aus, np.float32)
    aus, reader = read_aus(generator, images, judge_path)
    print(f"the faces' own AUs are read by {reader}")
    return aus


def _check_aus_width(aus: np.ndarray, generator: GANimationGenerator, what: str) -> np.ndarray:
    aus = np.asarray(aus, np.float32)
    if aus.shape[-1] != generator.num_aus:
        raise UsageError(f"{what}: {aus.shape[-1]} AU values, but the generator takes {generator.num_aus}")
    return aus


# -- translate ------------------------------------------------------------------------------------------------------
@dataclass
class TranslateSettings:
    model: str
    input: str
    aus: str | None = None  # absolute target, 'AU12=3,AU06=2' or 17 values (OpenFace units 0..5)
    aus_delta: str | None = None  # change of the input's own AUs (an AU file's, or read by the judge or critic)
    judge: str | None = None  # an AU regressor to read the faces' own AUs when the input does not give them
    output: str | None = None
    detect: bool = True
    limit: int = 1000
    keep_above: float | None = None

    def __post_init__(self):
        check_keep_above(self.keep_above)
        if (self.aus is None) == (self.aus_delta is None):
            raise UsageError("--mode translate needs exactly one of --aus (the target AUs) and --aus-delta (a change "
                             "of the faces' own AUs)")
        if self.limit < 1:
            raise UsageError(f"the number of inputs (--eval-n) must be >= 1, got {self.limit}")


def translate(settings: TranslateSettings) -> dict:
    """Render each input face with the target AUs; one PNG strip per face. Returns the written paths."""
    from ccyclegan.au import apply_au_deltas, format_aus, parse_au_deltas, parse_aus
    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.viz import mask_panel, rows_grid, save_png

    generator = load_generator(settings.model, settings.keep_above)
    faces = read_faces(settings.input, generator.img_size, generator.channels, detect=settings.detect,
                       limit=settings.limit)
    sources = unit_range_array(faces.images)
    if settings.aus_delta is not None and faces.aus is None and not settings.judge and generator.critic is None:
        raise UsageError(f"--aus-delta changes the faces' own AUs, which {settings.input} does not give and nothing "
                         f"here can read (no --judge, no critic beside the generator); pass a GANimation AU file as "
                         f"--input, --judge (an AU regressor), or an absolute --aus")
    own = own_aus_of(generator, faces, sources, settings.judge,
                     needed=generator.needs_own_aus or settings.aus_delta is not None)
    if settings.aus is not None:
        targets = np.repeat(parse_aus(settings.aus)[None], len(faces.images), 0)
    else:
        targets = apply_au_deltas(own, parse_au_deltas(settings.aus_delta))
    targets = _check_aus_width(targets, generator, "--aus")
    composites, attention, colour = generator.render(sources, targets, own)
    out = _output_dir(settings.output, Path(settings.model), "translations")
    written = []
    for i, name in enumerate(faces.names):
        panels = [[sources[i], composites[i], mask_panel(attention[i]), colour[i]]]
        titles = [["input", "rendered", "attention (white: kept)", "colour"]]
        grid = rows_grid(panels, panel_titles=titles, panel_inches=1.6, title=format_aus(targets[i]))
        written.append(save_png(grid, out / f"{name}_translated.png"))
    print(f"Wrote {len(written)} pictures to {out}")
    return {"written": [str(p) for p in written], "mean_attention": float(attention.mean())}


def translate_command(args: argparse.Namespace) -> dict:
    if not args.model or not args.input:
        raise UsageError("--mode translate needs --model (a run folder or generator.keras) and --input")
    return translate(TranslateSettings(model=args.model, input=args.input, aus=args.aus, aus_delta=args.aus_delta,
                                       judge=args.judge, output=args.output, detect=not args.no_detect,
                                       limit=args.eval_n, keep_above=args.keep_above))


# -- animate --------------------------------------------------------------------------------------------------------
@dataclass
class AnimateSettings:
    model: str
    input: str  # the face: a photo (its largest face is cropped), a face crop, or an AU file (its first face)
    aus_file: str | None = None  # a GANimation AU file: one frame per line
    reference: str | None = None  # a folder of reference faces whose AUs (by judge or critic) drive the frames
    from_aus: str | None = None  # interpolation start: AU vector or expression name (default: the face's own AUs)
    to_aus: str | None = None  # interpolation end
    frames: int = 12
    fps: float = 8.0
    judge: str | None = None
    output: str | None = None
    detect: bool = True
    keep_above: float | None = None

    def __post_init__(self):
        check_keep_above(self.keep_above)
        chosen = [name for name, value in (("--aus-file", self.aus_file), ("--reference", self.reference),
                                           ("--to-aus", self.to_aus)) if value]
        if len(chosen) != 1:
            raise UsageError("--mode animate needs exactly one AU sequence: --aus-file (a GANimation AU file), "
                             "--reference (a folder of faces), or --to-aus (with optional --from-aus) for an "
                             f"interpolation; got {', '.join(chosen) or 'none'}")
        if self.from_aus and not self.to_aus:
            raise UsageError("--from-aus needs --to-aus (the interpolation's end)")
        if self.frames < 2:
            raise UsageError(f"--frames must be >= 2, got {self.frames}")
        if not self.fps > 0:
            raise UsageError(f"--fps must be positive, got {self.fps}")


def _aus_of_text(text: str, what: str) -> np.ndarray:
    """An AU vector ('AU12=3,...' or 17 values) or an expression name ('happy')."""
    from ccyclegan.au import EXPRESSION_AUS, expression_aus, parse_aus

    if "=" not in text and "," not in text and text.strip().lower() in (*EXPRESSION_AUS, "joy", "sadness", "anger"):
        return expression_aus(text)
    return parse_aus(text, what=what)


def read_au_sequence(path) -> tuple[np.ndarray, list[str]]:
    """The AU vectors of a GANimation AU file in file order (its images are not needed), and their file names."""
    from ccyclegan.data.au_file import read_au_file

    data = read_au_file(path, load_images=False, check_images=False)
    return data.aus, data.filenames


def animation_sequence(settings: AnimateSettings, generator: GANimationGenerator, own: np.ndarray | None):
    """(AU vectors (F, A), frame titles, reference faces or None) of the animation the settings ask for; `own`: the
    face's own AUs when known (the interpolation starts there unless --from-aus says otherwise)."""
    from ccyclegan.au import interpolate_aus

    if settings.aus_file:
        aus, names = read_au_sequence(settings.aus_file)
        return aus, [Path(n).stem for n in names], None
    if settings.reference:
        references = read_faces(settings.reference, generator.img_size, generator.channels, detect=settings.detect)
        from ccyclegan.data.pipeline import unit_range_array

        images = unit_range_array(references.images)
        aus, reader = read_aus(generator, images, settings.judge)
        print(f"the reference faces' AUs are read by {reader}")
        return aus, references.names, images
    if settings.from_aus:
        start = _aus_of_text(settings.from_aus, "--from-aus")
    elif own is not None:
        start = own[0]
    else:
        start = np.zeros(generator.num_aus, np.float32)
    end = _aus_of_text(settings.to_aus, "--to-aus")
    aus = interpolate_aus(start, end, settings.frames)
    return aus, [f"{k}/{settings.frames - 1}" for k in range(settings.frames)], None


def mask_sheet(composites, attention, colour, titles, references=None, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Frames (at most `columns`, evenly spaced) over their attention masks and colour maps, as a PNG array."""
    from ccyclegan.viz import mask_panel, rows_grid

    shown = np.unique(np.linspace(0, len(composites) - 1, min(columns, len(composites))).round().astype(int))
    rows = [[composites[i] for i in shown], [mask_panel(attention[i]) for i in shown], [colour[i] for i in shown]]
    row_titles = ["frame", "attention", "colour"]
    if references is not None:
        rows.insert(0, [references[i] for i in shown])
        row_titles.insert(0, "reference")
    return rows_grid(rows, row_titles=row_titles, column_titles=[titles[i] for i in shown], panel_inches=1.2,
                     title="attention: white keeps the input pixel, black takes the colour map")


def animate(settings: AnimateSettings) -> dict:
    """Render one face through a sequence of AU vectors: frames/, animation.gif and masks.png in the output."""
    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.viz import save_gif, save_png

    generator = load_generator(settings.model, settings.keep_above)
    face = read_faces(settings.input, generator.img_size, generator.channels, detect=settings.detect, limit=1)
    source = unit_range_array(face.images[:1])
    # the face's own AUs: the generator's third input if it takes one, and the interpolation's default start
    own = own_aus_of(generator, face, source, settings.judge, needed=generator.needs_own_aus or face.aus is not None)
    aus, titles, references = animation_sequence(settings, generator, own)
    aus = _check_aus_width(aus, generator, "the AU sequence")
    repeated_own = None if own is None else np.repeat(own[:1], len(aus), 0)
    composites, attention, colour = generator.render(np.repeat(source, len(aus), 0), aus, repeated_own)
    out = _output_dir(settings.output, Path(settings.model), f"animation_{face.names[0]}")
    for stale in sorted((out / "frames").glob("frame_*.png")):  # frames of an earlier, longer animation
        stale.unlink()
    for index, frame in enumerate(composites):
        save_png(np.round((frame * 0.5 + 0.5).clip(0, 1) * 255).astype(np.uint8).squeeze(),
                 out / "frames" / f"frame_{index:03d}.png")
    gif = save_gif(composites, out / "animation.gif", fps=settings.fps)
    sheet = save_png(mask_sheet(composites, attention, colour, titles, references), out / "masks.png")
    print(f"Wrote {len(composites)} frames, {gif} and {sheet} (mean attention {attention.mean():.3f})")
    return {"frames": len(composites), "gif": str(gif), "sheet": str(sheet), "mean_attention": float(attention.mean()),
            "folder": str(out)}


def animate_command(args: argparse.Namespace) -> dict:
    if not args.model or not args.input:
        raise UsageError("--mode animate needs --model (a run folder or generator.keras) and --input (the face)")
    return animate(AnimateSettings(model=args.model, input=args.input, aus_file=args.aus_file,
                                   reference=args.reference, from_aus=args.from_aus, to_aus=args.to_aus,
                                   frames=args.frames, fps=args.fps, judge=args.judge, output=args.output,
                                   detect=not args.no_detect, keep_above=args.keep_above))


# -- evaluate -------------------------------------------------------------------------------------------------------
@dataclass
class EvaluateSettings:
    model: str
    dataset: str = "synthetic-ganimation"
    data: str | None = None
    synthetic_n: int | None = None
    seed: int = 0
    split: str = "test"
    eval_n: int = 500
    judge: str | None = None
    output: str | None = None
    keep_above: float | None = None

    def __post_init__(self):
        check_keep_above(self.keep_above)
        if self.eval_n < 2:
            raise UsageError(f"--eval-n must be >= 2 (the targets are other faces' AUs), got {self.eval_n}")
        if self.split not in ("test", "train"):
            raise UsageError(f"--split must be test (held out) or train, got {self.split!r}")


def nearest_au_faces(train_images: np.ndarray, train_aus: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """For each target, the training face whose AU vector is nearest (Euclidean): the retrieval baseline."""
    distances = ((targets[:, None, :] - train_aus[None, :, :]) ** 2).sum(-1)
    return train_images[np.argmin(distances, axis=1)]


def evaluate(settings: EvaluateSettings) -> dict:
    """Render held-out faces with other held-out faces' AUs and report (JSON, picture, console)."""
    from ccyclegan import metrics
    from ccyclegan.data.pipeline import unit_range_array
    from ccyclegan.viz import mask_panel, rows_grid, save_png
    from train.ganimation import load_au_source

    generator = load_generator(settings.model, settings.keep_above)
    source = load_au_source(settings.dataset, settings.data, image_size=generator.img_size,
                            synthetic_n=settings.synthetic_n, seed=settings.seed)
    split = source.splits[settings.split]
    if split.images.shape[-1] != generator.channels:
        raise UsageError(f"{source.path}: {split.images.shape[-1]}-channel faces, the generator takes "
                         f"{generator.channels}")
    rng = np.random.default_rng(settings.seed)
    chosen = np.sort(rng.choice(len(split), min(settings.eval_n, len(split)), replace=False))
    if len(chosen) < 2:
        raise UsageError(f"{source.path}: the {settings.split} split has {len(split)} face(s); evaluation needs 2")
    # each face gets the AUs of another chosen face (a derangement: a shift of a random order)
    order = rng.permutation(len(chosen))
    partner = np.empty(len(chosen), int)
    partner[order] = order[np.roll(np.arange(len(chosen)), 1)]
    images_uint8, own_aus = split.images[chosen], split.aus[chosen].astype(np.float32)  # the data set's labels
    targets = _check_aus_width(own_aus[partner], generator, "the data set's AUs")
    sources = unit_range_array(images_uint8)
    composites, attention, colour = generator.render(sources, targets, own_aus)

    if settings.judge:
        from models.classifier import load_au_judge

        judge = load_au_judge(settings.judge, "evaluate")
        score, judge_name = judge.scores, f"AU regressor {settings.judge}"
    else:
        score = generator.critic_aus
        judge_name = "the critic's own AU head (not an independent judge; pass --judge)"
    generated_aus, real_aus = score(composites), score(sources)
    read_own = None
    if generator.needs_own_aus:  # what a user without labels gets: the own AUs read by the judge (or the critic)
        read_own = generator.render(sources, targets, np.clip(real_aus, 0.0, 1.0).astype(np.float32))[0]
    report = {
        "judge": judge_name, "faces": int(len(chosen)), "dataset": settings.dataset, "split": settings.split,
        "model": str(settings.model), "au_unit": "AU intensity / 5 (model units, [0, 1])",
        "au_error_generated": metrics.au_regression_error(generated_aus, targets)["mae"],
        "au_error_unchanged": metrics.au_regression_error(real_aus, targets)["mae"],
        "au_error_real": metrics.au_regression_error(real_aus, own_aus)["mae"],
        "target_distance": float(np.abs(targets - own_aus).mean()),
        "mean_attention": float(attention.mean()), "keep_above": settings.keep_above,
    }
    report["au_error_ratio"] = report["au_error_generated"] / report["au_error_unchanged"]
    if settings.judge and generator.critic is not None:
        report["critic"] = metrics.critic_au_report(generator.critic_aus, sources, own_aus, composites, targets)
    if read_own is not None:
        report["own_aus"] = "the data set's labels (conditioned on target - own AUs)"
        error = metrics.au_regression_error(score(read_own), targets)["mae"]
        report["read_own_aus"] = {"reader": judge_name, "au_error_generated": error,
                                  "au_error_ratio": error / report["au_error_unchanged"]}
    truth = None
    from ccyclegan.data.synthetic_render import MIN_SIZE

    if split.records is not None and generator.img_size < MIN_SIZE:
        report["ground_truth_l1"] = None
        print(f"no ground truth: the renderer draws faces of at least {MIN_SIZE} px, the generator takes "
              f"{generator.img_size} px")
    elif split.records is not None:
        from ccyclegan.data import synthetic

        records = [split.records[i] for i in chosen]
        size, channels = generator.img_size, generator.channels
        scale = 5.0  # records hold OpenFace intensities 0..5
        errors = synthetic.ground_truth_errors(composites, records, targets * scale, attention=attention)
        truth = unit_range_array(synthetic.true_translations(records, targets * scale, size=size, channels=channels))
        nearest = unit_range_array(nearest_au_faces(source.train.images, source.train.aus, targets))
        report["ground_truth_l1"] = {
            "generated": errors["translation"], "unchanged": errors["unchanged"],
            "nearest_au_face": float(np.abs(nearest - truth).mean()), "unit": errors["unit"],
            "regions": errors["regions"]}
        if read_own is not None:
            report["read_own_aus"]["ground_truth_l1"] = float(np.abs(read_own - truth).mean())
    out = _output_dir(settings.output, Path(settings.model), "")
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"evaluation_{settings.split}.json"
    json_path.write_text(json.dumps(report, indent=2, default=float))
    rows, titles = [], []
    for i in range(min(4, len(chosen))):
        rows.append([sources[i], unit_range_array(images_uint8[partner[i]][None])[0], composites[i],
                     mask_panel(attention[i]), colour[i]] + ([truth[i]] if truth is not None else []))
        titles.append(["input", "target's face", "rendered", "attention", "colour"]
                      + (["truth"] if truth is not None else []))
    save_png(rows_grid(rows, panel_titles=titles, panel_inches=1.3), out / f"evaluation_{settings.split}.png")
    print(format_report(report))
    print(f"report in {json_path}")
    return report


def format_report(report: dict) -> str:
    lines = [f"judge: {report['judge']} ({report['faces']} faces, AUs in {report['au_unit']})",
             f"AU error of the renderings {report['au_error_generated']:.4f} vs the input unchanged "
             f"{report['au_error_unchanged']:.4f} (ratio {report['au_error_ratio']:.2f}); the judge on real faces "
             f"{report['au_error_real']:.4f} (its floor); mean |target - own AUs| {report['target_distance']:.4f}",
             f"mean attention {report['mean_attention']:.3f} (1 = every input pixel kept)"
             + (f", pixels above {report['keep_above']} kept exactly (--keep-above)" if report.get("keep_above")
                else "")]
    truth = report.get("ground_truth_l1")
    if truth:
        lines.append(f"ground-truth L1: rendered {truth['generated']:.4f}, baselines: input unchanged "
                     f"{truth['unchanged']:.4f}, nearest-AU training face {truth['nearest_au_face']:.4f}")
    if report.get("critic"):
        from ccyclegan import metrics

        lines.append(metrics.format_critic_au_report(report["critic"]))
    read = report.get("read_own_aus")
    if read:
        gt = f", ground-truth L1 {read['ground_truth_l1']:.4f}" if "ground_truth_l1" in read else ""
        lines.append(f"with the own AUs read by {read['reader']} instead of the labels: AU error "
                     f"{read['au_error_generated']:.4f} (ratio {read['au_error_ratio']:.2f}){gt}")
    return "\n".join(lines)


def evaluate_command(args: argparse.Namespace) -> dict:
    if not args.model:
        raise UsageError("--mode evaluate needs --model (a run folder or generator.keras)")
    return evaluate(EvaluateSettings(model=args.model, dataset=args.dataset, data=args.data,
                                     synthetic_n=args.synthetic_n, seed=args.seed, split=args.split or "test",
                                     eval_n=args.eval_n, judge=args.judge, output=args.output,
                                     keep_above=args.keep_above))
